"""Bucket feedback that later calls update by ``feedbackId``: the browser SDK's
feedback widget sends the score, then (with the ``feedbackId`` our answer
gave) the comment. One feedback, counted once in the account's usage."""

import importlib
import threading
import time

import pytest
from django.db import connection
from django.db.models import Sum

from tests.clients import api_for
from tests.tracking.test_bucket_api import browser_sdk_post, post
from tracking.models import AccountUsage, Feedback

pytestmark = pytest.mark.django_db

WIDGET = {
    "userId": "42",
    "companyId": "99",
    "source": "widget",
    "key": "huddle",
    "timestamp": "2026-11-01T12:00:00Z",
}


def usage(tenant) -> tuple[int, int, int]:
    with tenant.tenant:
        totals = AccountUsage.objects.aggregate(
            count=Sum("feedback_count"),
            scored=Sum("feedback_scored"),
            score_sum=Sum("feedback_score_sum"),
        )
    return totals["count"] or 0, totals["scored"] or 0, totals["score_sum"] or 0


def widget_step(tenant, **fields) -> dict:
    response = browser_sdk_post("/feedback", tenant.tracking_key, {**WIDGET, **fields})
    assert response.status_code == 200, response.content
    return response.json()


def test_the_widgets_score_then_comment_is_one_feedback(tenant_a):
    first = widget_step(tenant_a, score=3, question="How satisfied are you?")
    feedback_id = first["feedbackId"]
    # The user changes the score, then writes a comment: both name the id.
    again = widget_step(tenant_a, score=4, feedbackId=feedback_id)
    last = widget_step(
        tenant_a, score=4, comment="Love the huddles", feedbackId=feedback_id
    )
    assert again["feedbackId"] == last["feedbackId"] == feedback_id
    with tenant_a.tenant:
        feedback = Feedback.objects.get()
        assert (feedback.score, feedback.comment, feedback.question) == (
            4,
            "Love the huddles",
            "How satisfied are you?",  # kept: the later calls did not send it
        )
        assert feedback.message_id == feedback_id
        assert feedback.account.external_id == "99"
    assert usage(tenant_a) == (1, 1, 4)  # counted once, with its latest score


def test_a_comment_alone_counts_as_feedback_but_not_in_the_average(tenant_a):
    widget_step(tenant_a, comment="No score from me")
    widget_step(tenant_a, score=5, timestamp="2026-11-01T12:01:00Z")
    assert usage(tenant_a) == (2, 1, 5)  # average 5 / 1, not 5 / 2


def test_an_unknown_feedback_id_starts_feedback_with_that_id(tenant_a):
    answer = widget_step(tenant_a, score=2, feedbackId="fb-from-elsewhere")
    assert answer["feedbackId"] == "fb-from-elsewhere"
    widget_step(tenant_a, comment="Better now", score=5, feedbackId="fb-from-elsewhere")
    with tenant_a.tenant:
        assert list(Feedback.objects.values_list("message_id", "score")) == [
            ("fb-from-elsewhere", 5)
        ]
    assert usage(tenant_a) == (1, 1, 5)


def test_numeric_feedback_ids_are_text_and_bad_ones_are_400(tenant_a):
    assert widget_step(tenant_a, score=1, feedbackId=1234)["feedbackId"] == "1234"
    response = browser_sdk_post(
        "/feedback", tenant_a.tracking_key, {**WIDGET, "score": 2, "feedbackId": {}}
    )
    assert response.status_code == 400
    assert [d["path"] for d in response.json()["details"]] == ["feedbackId"]
    with tenant_a.tenant:
        assert list(Feedback.objects.values_list("message_id", "score")) == [
            ("1234", 1)
        ]


def test_moving_feedback_to_another_company_moves_its_count(tenant_a):
    feedback_id = widget_step(tenant_a, score=2)["feedbackId"]
    widget_step(tenant_a, score=5, companyId="77", feedbackId=feedback_id)
    with tenant_a.tenant:
        per_account = {
            row.account.external_id: (
                row.feedback_count,
                row.feedback_scored,
                row.feedback_score_sum,
            )
            for row in AccountUsage.objects.select_related("account")
        }
    assert per_account == {"99": (0, 0, 0), "77": (1, 1, 5)}


def test_calls_about_one_feedback_in_one_bulk_merge_in_order(tenant_a):
    response = post(
        f"/{tenant_a.tracking_key}/bulk",
        [
            {"type": "feedback", **WIDGET, "score": 2, "feedbackId": "fb-1"},
            {"type": "feedback", **WIDGET, "comment": "Hm", "feedbackId": "fb-1"},
            {"type": "feedback", **WIDGET, "score": 4, "feedbackId": "fb-1"},
        ],
    )
    assert response.status_code == 200, response.content
    with tenant_a.tenant:
        assert list(Feedback.objects.values_list("score", "comment")) == [(4, "Hm")]
    assert usage(tenant_a) == (1, 1, 4)


def test_a_retried_update_changes_nothing_more(tenant_a):
    feedback_id = widget_step(tenant_a, score=3)["feedbackId"]
    update = {"comment": "Nice", "score": 5, "feedbackId": feedback_id}
    widget_step(tenant_a, **update)
    widget_step(tenant_a, **update)  # a retry: the same call, a duplicate
    assert usage(tenant_a) == (1, 1, 5)


def test_another_tenants_feedback_id_updates_nothing_there(tenant_a, tenant_b):
    feedback_id = widget_step(tenant_b, score=1)["feedbackId"]
    widget_step(tenant_a, score=5, comment="Mine", feedbackId=feedback_id)
    with tenant_b.tenant:
        assert list(Feedback.objects.values_list("score", "comment")) == [(1, "")]
    assert usage(tenant_b) == (1, 1, 1)
    with tenant_a.tenant:
        assert list(Feedback.objects.values_list("score", "comment")) == [(5, "Mine")]


def test_account_usage_exposes_the_scored_count_over_rest(tenant_a):
    widget_step(tenant_a, score=4)
    widget_step(tenant_a, comment="Words only", timestamp="2026-11-01T13:00:00Z")
    response = api_for(tenant_a, "viewer").get(
        "account_usage?select=feedback_count,feedback_scored,feedback_score_sum"
        "&feedback_scored=gt.0"
    )
    assert response.status_code == 200, response.content
    assert response.json() == [
        {"feedback_count": 2, "feedback_scored": 1, "feedback_score_sum": 4}
    ]


def test_the_migration_fills_feedback_scored_from_stored_feedback(tenant_a):
    migration = importlib.import_module(
        "tracking.migrations.0004_feedback_ids_and_scored_count"
    )
    widget_step(tenant_a, score=4)
    widget_step(tenant_a, comment="Words", timestamp="2026-11-01T13:00:00Z")
    widget_step(tenant_a, score=2, timestamp="2026-11-02T09:00:00Z")
    with tenant_a.tenant:
        AccountUsage.objects.update(feedback_scored=0)  # as before the migration
        with connection.cursor() as cursor:
            cursor.execute(migration.FEEDBACK_SCORED_BACKFILL)
        per_day = dict(AccountUsage.objects.values_list("day", "feedback_scored"))
    assert {str(day): n for day, n in per_day.items()} == {
        "2026-11-01": 1,
        "2026-11-02": 1,
    }


def test_calls_updating_one_feedback_wait_for_one_another(tenant_a):
    """Two requests naming one feedbackId, in two processes, would both read
    it as it was before either: each takes the feedback's lock first (held
    here by another connection, as a concurrent request would)."""
    other = connection.get_new_connection(connection.get_connection_params())
    other.autocommit = True
    other.execute(
        "SELECT pg_advisory_lock(hashtextextended(%s, 0))",
        ["feedback:bucket:fb-shared"],
    )
    released = threading.Event()

    def release() -> None:
        time.sleep(0.5)
        other.execute(
            "SELECT pg_advisory_unlock(hashtextextended(%s, 0))",
            ["feedback:bucket:fb-shared"],
        )
        released.set()

    threading.Thread(target=release).start()
    try:
        widget_step(tenant_a, score=3, feedbackId="fb-shared")
        assert released.is_set()  # it waited for the other holder
    finally:
        released.wait(5)
        other.close()
    assert usage(tenant_a) == (1, 1, 3)
