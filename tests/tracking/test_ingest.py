"""The one tracking writer: dedupe, trait merge, links, events, feedback."""

from datetime import UTC, datetime, timedelta

import pytest
from django.db import connection

from tracking.ingest import IngestResult, messages_ingest, requests_ingest
from tracking.messages import PAGE_VIEWED, Kind, Message
from tracking.models import (
    Account,
    AccountUser,
    CustomerUser,
    CustomObjectInstance,
    Event,
    Feedback,
    MessageReceipt,
    Organization,
)

pytestmark = pytest.mark.django_db

T0 = datetime(2026, 11, 1, 12, 0, tzinfo=UTC)
RECEIVED = datetime(2026, 11, 1, 12, 5, tzinfo=UTC)


def msg(kind: Kind, message_id: str, at: datetime = T0, **fields) -> Message:
    return Message(
        kind=kind, source="segment", message_id=message_id, timestamp=at, **fields
    )


@pytest.fixture
def in_a(tenant_a):
    with tenant_a.tenant:
        yield tenant_a


def ingest(*messages: Message):
    return messages_ingest(list(messages), received_at=RECEIVED)


def test_identify_creates_user_with_traits_and_account_link(in_a):
    result = ingest(
        msg(
            Kind.USER,
            "m1",
            user_id="u1",
            account_id="a1",
            traits={"email": "ada@acme.com", "firstName": "Ada", "plan": "pro"},
        ),
    )
    assert result.accepted == 1 and result.duplicates == 0
    user = CustomerUser.objects.get(external_id="u1")
    assert (user.email, user.first_name, user.traits["plan"]) == (
        "ada@acme.com",
        "Ada",
        "pro",
    )
    assert AccountUser.objects.filter(user=user, account__external_id="a1").exists()
    assert user.first_seen_at == user.last_seen_at == T0


def test_traits_merge_and_the_request_wins(in_a):
    ingest(msg(Kind.ACCOUNT, "m1", account_id="a1", traits={"name": "Acme", "size": 5}))
    ingest(msg(Kind.ACCOUNT, "m2", account_id="a1", traits={"size": 9, "tier": "gold"}))
    account = Account.objects.get(external_id="a1")
    assert account.traits == {"name": "Acme", "size": 9, "tier": "gold"}
    assert account.name == "Acme"


def test_same_message_id_is_written_once_however_late(in_a):
    first = msg(Kind.EVENT, "e1", user_id="u1", event="Clicked")
    assert ingest(first).accepted == 1
    retried = ingest(first, msg(Kind.EVENT, "e2", user_id="u1", event="Clicked"))
    assert (retried.accepted, retried.duplicates) == (1, 1)
    assert Event.objects.count() == 2


def test_duplicates_inside_one_batch_count_once(in_a):
    event = msg(Kind.EVENT, "e1", user_id="u1", event="Clicked")
    result = ingest(event, event)
    assert (result.accepted, result.duplicates) == (1, 1)
    assert Event.objects.count() == 1


def test_a_message_without_a_client_id_is_always_new_and_keeps_no_receipt(in_a):
    # Its id was made here (deduplicate=False): even the same one twice (which
    # a dialect never makes) is written each time, and no receipt is kept.
    made = msg(Kind.EVENT, "made-1", user_id="u1", event="Clicked", deduplicate=False)
    assert ingest(made, made).accepted == 2
    assert (
        requests_ingest([([made], RECEIVED), ([made], RECEIVED)])
        == [IngestResult(accepted=1, duplicates=0)] * 2
    )
    assert Event.objects.count() == 4
    assert MessageReceipt.objects.count() == 0
    # Beside messages that do deduplicate, in their order.
    sent = msg(Kind.EVENT, "e1", user_id="u1", event="Sent")
    assert (ingest(made, sent, made, sent).accepted, ingest(sent).accepted) == (3, 0)
    assert MessageReceipt.objects.count() == 1


def test_events_refer_to_users_and_accounts_created_on_the_fly(in_a):
    ingest(
        msg(
            Kind.EVENT,
            "e1",
            user_id="u9",
            account_id="a9",
            event=PAGE_VIEWED,
            properties={"url": "https://x.test"},
            context={"ip": "1.2.3.4"},
        )
    )
    event = Event.objects.get()
    assert event.name == PAGE_VIEWED
    assert event.user_id == CustomerUser.objects.get(external_id="u9").id
    assert event.account_id == Account.objects.get(external_id="a9").id
    assert event.properties == {"url": "https://x.test"}
    assert event.received_at == RECEIVED


def test_inactive_messages_leave_last_seen_alone(in_a):
    ingest(msg(Kind.EVENT, "e1", user_id="u1", event="a"))
    later = T0 + timedelta(hours=1)
    ingest(msg(Kind.EVENT, "e2", at=later, user_id="u1", event="b", active=False))
    assert CustomerUser.objects.get(external_id="u1").last_seen_at == T0
    ingest(msg(Kind.EVENT, "e3", at=later, user_id="u1", event="c"))
    assert CustomerUser.objects.get(external_id="u1").last_seen_at == later


def test_first_and_last_seen_only_widen(in_a):
    ingest(msg(Kind.EVENT, "e1", at=T0, account_id="a1", event="x"))
    ingest(msg(Kind.EVENT, "e2", at=T0 - timedelta(days=1), account_id="a1", event="x"))
    account = Account.objects.get(external_id="a1")
    assert account.first_seen_at == T0 - timedelta(days=1)
    assert account.last_seen_at == T0


def row_version(table: str, external_id: str) -> str:
    """Where the row's current version lives: any UPDATE moves it."""
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT ctid::text FROM {table} WHERE external_id = %s", [external_id]
        )
        return cursor.fetchone()[0]


def test_a_message_that_changes_nothing_leaves_the_row_alone(in_a):
    ingest(msg(Kind.EVENT, "e1", at=T0, user_id="u1", account_id="a1", event="x"))
    ingest(msg(Kind.EVENT, "e2", at=T0 + timedelta(hours=1), user_id="u1", event="x"))
    user = CustomerUser.objects.get(external_id="u1")
    version = row_version("users", "u1")
    # Between first and last seen, no traits: nothing to write.
    ingest(msg(Kind.EVENT, "e3", at=T0 + timedelta(minutes=5), user_id="u1", event="x"))
    assert row_version("users", "u1") == version
    assert Event.objects.filter(user_id=user.id).count() == 3
    ingest(msg(Kind.USER, "m1", at=T0, user_id="u1", traits={"plan": "pro"}))
    assert CustomerUser.objects.get(external_id="u1").traits == {"plan": "pro"}


def test_unlink_removes_the_user_from_the_account(in_a):
    ingest(msg(Kind.USER, "m1", user_id="u1", account_id="a1"))
    ingest(msg(Kind.UNLINK, "m2", user_id="u1", account_id="a1"))
    assert not AccountUser.objects.exists()


def test_organizations_own_accounts(in_a):
    ingest(
        msg(Kind.ORGANIZATION, "o1", organization_id="org", traits={"name": "World"}),
        msg(Kind.ACCOUNT, "a1", account_id="acc", organization_id="org"),
    )
    assert Account.objects.get().organization == Organization.objects.get(name="World")


def test_alias_renames_or_merges_the_previous_user(in_a):
    ingest(msg(Kind.EVENT, "e1", user_id="anon-1", event="x"))
    ingest(msg(Kind.ALIAS, "al1", user_id="u1", previous_id="anon-1"))
    assert list(CustomerUser.objects.values_list("external_id", flat=True)) == ["u1"]
    ingest(msg(Kind.USER, "m1", user_id="u2", traits={"a": 1}))
    ingest(msg(Kind.EVENT, "e2", user_id="u1", account_id="acc", event="y"))
    ingest(msg(Kind.ALIAS, "al2", user_id="u2", previous_id="u1"))
    merged = CustomerUser.objects.get()
    assert merged.external_id == "u2"
    assert Event.objects.filter(user_id=merged.id).count() == 2
    assert AccountUser.objects.filter(user=merged).count() == 1


def test_feedback_is_recorded_with_its_user_and_account(in_a):
    ingest(
        msg(
            Kind.FEEDBACK,
            "f1",
            user_id="u1",
            account_id="a1",
            feature_id="export",
            score=4,
            comment="Nice",
        )
    )
    feedback = Feedback.objects.get()
    assert (feedback.feature_id, feedback.score, feedback.comment) == (
        "export",
        4,
        "Nice",
    )
    assert feedback.user.external_id == "u1" and feedback.account.external_id == "a1"


def test_custom_object_instances_upsert(in_a):
    ingest(
        msg(
            Kind.CUSTOM_OBJECT,
            "c1",
            custom_object_id="deal",
            external_id="d1",
            name="Q1",
            account_id="a1",
            traits={"stage": "open"},
        )
    )
    ingest(
        msg(
            Kind.CUSTOM_OBJECT,
            "c2",
            custom_object_id="deal",
            external_id="d1",
            traits={"value": 10},
        )
    )
    instance = CustomObjectInstance.objects.get()
    assert instance.name == "Q1"
    assert instance.traits == {"stage": "open", "value": 10}
    assert instance.account.external_id == "a1"


def test_data_stays_in_its_tenant(tenant_a, tenant_b):
    with tenant_a.tenant:
        ingest(msg(Kind.EVENT, "e1", user_id="u1", event="x"))
    with tenant_b.tenant:
        assert not Event.objects.exists()
        # The same message id in another tenant is a new message there.
        assert ingest(msg(Kind.EVENT, "e1", user_id="u1", event="x")).accepted == 1


def test_an_alias_applies_in_order_within_one_request(in_a):
    """identify the anonymous visitor, alias it, track the known user: the
    order of one batch is the order they happened in."""
    result = ingest(
        msg(Kind.USER, "i1", user_id="anon-9", traits={"plan": "trial"}),
        msg(Kind.EVENT, "e1", user_id="anon-9", event="Signed up"),
        msg(Kind.ALIAS, "al1", user_id="u9", previous_id="anon-9"),
        msg(Kind.EVENT, "e2", user_id="u9", event="Invited a colleague"),
        msg(Kind.USER, "i2", user_id="u9", traits={"plan": "pro"}),
    )
    assert result.accepted == 5
    user = CustomerUser.objects.get()
    assert (user.external_id, user.traits) == ("u9", {"plan": "pro"})
    assert sorted(
        Event.objects.filter(user_id=user.id).values_list("name", flat=True)
    ) == [
        "Invited a colleague",
        "Signed up",
    ]
