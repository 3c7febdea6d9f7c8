"""The Django admin at /admin/ (tenants/admin_site.py): staff only,
tenant-aware, history per tenant, every model registered, no unbounded counts.

The domain's admins are tested in tests/gathergrid/test_admin.py; the tracking
admins' own tests (search, read-only derived tables, query counts) are still
here, until tests/tracking/ can take them."""

import uuid
from datetime import timedelta

import pytest
from django.apps import apps
from django.contrib import admin
from django.contrib.admin.models import LogEntry
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from gathergrid.models import (
    ClassificationItem,
    Entry,
    EntryHistory,
    Field,
    FieldEntry,
    Thing,
)
from tenants.admin_site import SESSION_KEY, TENANT_FORM_FIELD, TenantAdminMixin
from tenants.models import Role, User
from tests.admin_pages import (
    PICKER,
    change_url,
    changelist_queries,
    changelist_url,
    form_data,
    pick,
)
from tests.clients import ui_client
from tests.factories import PASSWORD, in_tenant, member_make
from tracking.models import (
    Account,
    AccountDayUser,
    AccountUsage,
    AccountUser,
    CustomerUser,
    CustomObject,
    CustomObjectInstance,
    Event,
    Feedback,
    MessageReceipt,
    Organization,
    Session,
)

# Browsers drop the newline right after <textarea>.


# -- who may use it ------------------------------------------------------------------


def test_anonymous_visitor_is_sent_to_the_sign_in_page(db):
    client = Client()
    first = client.get("/admin/")
    assert first.status_code == 302
    assert first["Location"].startswith("/admin/login/")
    second = client.get(first["Location"])
    assert second.status_code == 302
    assert second["Location"] == "/login/?next=/admin/"


def test_signed_in_user_who_is_not_staff_is_refused(tenant_a):
    member = member_make(tenant_a.tenant, Role.ADMIN)
    client = ui_client(member)
    response = client.get("/admin/", follow=True)
    assert response.status_code == 403
    assert client.get(changelist_url(Thing)).status_code == 302
    assert client.post(PICKER, {"schema": "tenant_a"}).status_code == 302
    assert SESSION_KEY not in client.session


def test_staff_user_sees_only_the_tenants_they_administer(tenant_a, tenant_b):
    staff = member_make(tenant_a.tenant, Role.ADMIN, email="staff@example.com")
    member_make(tenant_b.tenant, Role.VIEWER, email="staff@example.com")
    staff.is_staff = True
    staff.save()
    client = ui_client(staff)
    page = client.get(PICKER)
    assert b"tenant_a" in page.content
    assert b"tenant_b" not in page.content
    client.post(PICKER, {"schema": "tenant_b"})
    assert SESSION_KEY not in client.session


def test_superuser_can_pick_any_tenant_and_search_for_it(root, tenant_a, tenant_b):
    page = root.get(PICKER, {"q": "Tenant B"})
    assert b"tenant_b" in page.content
    assert b"tenant_a" not in page.content
    pick(root, "tenant_b")
    banner = root.get("/admin/").content.decode()
    assert "Working on tenant <strong>Tenant B</strong>" in banner


def test_superuser_adds_a_user_who_can_then_sign_in(root):
    data = form_data(root, "/admin/tenants/user/add/", "user_form")
    response = root.post(
        "/admin/tenants/user/add/",
        {
            **data,
            "email": "new@example.com",
            "password1": PASSWORD,
            "password2": PASSWORD,
        },
    )
    assert response.status_code == 302, response.content
    assert User.objects.get(email="new@example.com").check_password(PASSWORD)


# -- tenant awareness --------------------------------------------------------------


def test_tenant_model_page_without_a_tenant_redirects_to_the_picker(root, tenant_a):
    response = root.get(changelist_url(Entry))
    assert response.status_code == 302
    assert response["Location"] == f"{PICKER}?next=%2Fadmin%2Fgathergrid%2Fentry%2F"
    # Public models need no tenant.
    assert root.get(changelist_url(User)).status_code == 200


def test_picked_tenant_shows_its_own_things_only(root, tenant_a, tenant_b):
    with in_tenant(tenant_a):
        Thing.objects.create(name="Alpha")
    with in_tenant(tenant_b):
        Thing.objects.create(name="Beta")
    pick(root, "tenant_a")
    page = root.get(changelist_url(Thing)).content.decode()
    assert "Alpha" in page
    assert "Beta" not in page
    pick(root, "tenant_b")
    page = root.get(changelist_url(Thing)).content.decode()
    assert "Beta" in page
    assert "Alpha" not in page


def test_picked_tenant_does_not_outlive_the_request(root, superuser, tenant_a):
    with in_tenant(tenant_a):
        Thing.objects.create(name="Alpha")
    pick(root, "tenant_a")
    assert root.get(changelist_url(Thing)).status_code == 200
    assert connection.schema_name == "public"
    # Another staff session has picked nothing.
    other = User.objects.create_superuser("other@example.com", PASSWORD)
    assert ui_client(other).get(changelist_url(Thing)).status_code == 302


def test_picked_tenant_is_dropped_when_the_user_loses_access(tenant_a):
    staff = member_make(tenant_a.tenant, Role.ADMIN, email="staff@example.com")
    staff.is_staff = True
    staff.save()
    client = ui_client(staff)
    pick(client, "tenant_a")
    staff.memberships.update(role=Role.VIEWER)
    assert client.get(changelist_url(Thing)).status_code == 302


def test_form_opened_for_another_tenant_saves_nothing(root, tenant_a, tenant_b):
    with in_tenant(tenant_b):
        thing = Thing.objects.create(name="Beta")
    pick(root, "tenant_b")
    data = form_data(root, change_url(thing), "thing_form")
    assert data[TENANT_FORM_FIELD] == "tenant_b"
    pick(root, "tenant_a")  # in another tab
    with in_tenant(tenant_a):
        same_id = Thing.objects.create(id=thing.id, name="Alpha")
    response = root.post(change_url(thing), {**data, "name": "Renamed"}, follow=True)
    assert "This form was opened for tenant tenant_b" in response.content.decode()
    with in_tenant(tenant_a):
        assert Thing.objects.get(pk=same_id.pk).name == "Alpha"
    with in_tenant(tenant_b):
        assert Thing.objects.get(pk=thing.pk).name == "Beta"


def test_autocomplete_of_tenant_data_needs_a_picked_tenant(root, tenant_a):
    params = {"app_label": "gathergrid", "model_name": "entry", "field_name": "thing"}
    assert root.get("/admin/autocomplete/", params).status_code == 403
    pick(root, "tenant_a")
    assert root.get("/admin/autocomplete/", params).status_code == 200


# -- every model, every changelist ---------------------------------------------------


def test_every_model_of_our_apps_is_registered():
    for label in ("tenants", "gathergrid", "tracking"):
        for model in apps.get_app_config(label).get_models():
            assert admin.site.is_registered(model), model


def test_tenant_models_get_the_tenant_behaviour_whatever_their_admin():
    for model, model_admin in admin.site._registry.items():
        if model._meta.app_label in {"gathergrid", "tracking"}:
            assert isinstance(model_admin, TenantAdminMixin), model


def test_a_model_nobody_registered_gets_a_valid_generic_admin():
    from tenants.admin_site import GatherGridAdminSite

    site = GatherGridAdminSite(name="probe")
    site.register_unregistered(["tenants", "gathergrid", "tracking"])
    assert site.is_registered(Event) and site.is_registered(User)
    for model, model_admin in site._registry.items():
        assert model_admin.check() == [], model
        assert isinstance(model_admin, TenantAdminMixin) == (
            model._meta.app_label in {"gathergrid", "tracking"}
        )
        assert model_admin.show_full_result_count is False


def seed_tenant(created) -> dict:
    """One row of each tenant model, for pages that show rows."""
    now = timezone.now()
    with in_tenant(created):
        thing = Thing.objects.create(name="Company")
        field = Field.objects.create(thing=thing, name="Size", data_type="integer")
        entry = Entry.objects.create(thing=thing)
        value = FieldEntry.objects.create(
            entry=entry, field=field, entered_value="5", value_number=5
        )
        EntryHistory.objects.create(entry=entry, action="create", after={})
        org = Organization.objects.create(external_id="org-1", name="Org")
        account = Account.objects.create(
            external_id="acc-1", name="Acme", organization=org, last_seen_at=now
        )
        user = CustomerUser.objects.create(external_id="u-1", email="u@example.com")
        AccountUser.objects.create(user=user, account=account)
        Feedback.objects.create(
            feature_id="export", user=user, account=account, score=4, source="bucket"
        )
        Session.objects.create(
            user=user, account_id=account.id, started_at=now, ended_at=now
        )
        AccountUsage.objects.create(account=account, day=now.date(), events=1)
        AccountDayUser.objects.create(account_id=account.id, day=now.date(), user_id=1)
        MessageReceipt.objects.create(key=uuid.uuid4(), received_at=now)
        kind = CustomObject.objects.create(external_id="project")
        CustomObjectInstance.objects.create(
            custom_object=kind, external_id="p-1", account=account
        )
        ClassificationItem.objects.create(name="Gold")
        event = Event.objects.create(
            id=1,
            event_time=now,
            received_at=now,
            name="page.viewed",
            message_id="m-1",
            source="segment",
            account_id=account.id,
        )
    return {"thing": thing, "entry": entry, "value": value, "event": event}


def test_every_registered_admin_renders_its_list_and_forms(root, tenant_a):
    seed_tenant(tenant_a)
    pick(root, "tenant_a")
    for model, model_admin in admin.site._registry.items():
        url = changelist_url(model)
        response = root.get(url)
        assert response.status_code == 200, (url, response.content[:500])
        with in_tenant(tenant_a):
            first = model_admin.get_queryset(_request(root)).first()
        if first is not None:
            response = root.get(change_url(first))
            assert response.status_code == 200, (change_url(first), response)
            history = root.get(change_url(first).replace("/change/", "/history/"))
            assert history.status_code == 200
        opts = model._meta
        add = reverse(f"admin:{opts.app_label}_{opts.model_name}_add")
        response = root.get(add)
        assert response.status_code in (200, 403), add


def _request(client: Client):
    """A request of the signed-in user, for admin methods called directly."""
    from django.test import RequestFactory

    request = RequestFactory().get("/admin/")
    request.user = User.objects.get(pk=client.session["_auth_user_id"])
    return request


# -- search and filters ----------------------------------------------------------------


def test_accounts_are_found_by_name_and_filtered_by_organization(root, tenant_a):
    with in_tenant(tenant_a):
        org = Organization.objects.create(external_id="org-1")
        acme = Account.objects.create(external_id="a-1", name="Acme", organization=org)
        loner = Account.objects.create(external_id="a-2", name="Loner")
    pick(root, "tenant_a")
    found = root.get(changelist_url(Account), {"q": "acm"}).context["cl"].result_list
    assert [a.pk for a in found] == [acme.pk]
    no_org = root.get(changelist_url(Account), {"organization__isempty": "1"})
    assert [a.pk for a in no_org.context["cl"].result_list] == [loner.pk]


def test_events_are_found_by_exact_name_or_account_id(root, tenant_a):
    now = timezone.now()
    with in_tenant(tenant_a):
        Event.objects.bulk_create(
            Event(
                id=i,
                event_time=now - timedelta(minutes=i),
                received_at=now,
                name="signup" if i == 2 else "page.viewed",
                message_id=f"m-{i}",
                source="segment",
                account_id=100 + i,
            )
            for i in range(1, 4)
        )
    pick(root, "tenant_a")
    url = changelist_url(Event)
    by_name = root.get(url, {"q": "signup"}).context["cl"].result_list
    assert [e.pk for e in by_name] == [2]
    by_account = root.get(url, {"q": "103"}).context["cl"].result_list
    assert [e.pk for e in by_account] == [3]
    newest_first = root.get(url).context["cl"].result_list
    assert [e.pk for e in newest_first] == [3, 2, 1]


# -- history -------------------------------------------------------------------------


def test_history_of_an_object_shows_its_own_tenants_changes_only(
    root, tenant_a, tenant_b
):
    with in_tenant(tenant_a):
        alpha = Thing.objects.create(id=9001, name="Alpha")
    with in_tenant(tenant_b):
        Thing.objects.create(id=9001, name="Beta")
    for schema, new_name in (("tenant_a", "Alpha 2"), ("tenant_b", "Beta 2")):
        pick(root, schema)
        data = form_data(root, change_url(alpha), "thing_form")
        response = root.post(change_url(alpha), {**data, "name": new_name})
        assert response.status_code == 302, response.content
    assert LogEntry.objects.filter(object_id="9001").count() == 2

    history_url = change_url(alpha).replace("/change/", "/history/")
    for schema, expected in (("tenant_a", ["Alpha 2"]), ("tenant_b", ["Beta 2"])):
        pick(root, schema)
        actions = root.get(history_url).context["action_list"]
        assert [entry.object_repr for entry in actions] == expected


def test_recent_actions_link_only_to_objects_of_the_picked_tenant(
    root, tenant_a, tenant_b
):
    with in_tenant(tenant_a):
        alpha = Thing.objects.create(name="Alpha")
    pick(root, "tenant_a")
    data = form_data(root, change_url(alpha), "thing_form")
    root.post(change_url(alpha), {**data, "name": "Alpha 2"})
    [mine] = root.get("/admin/").context["recent_actions"]
    assert mine["url"] == change_url(alpha)
    pick(root, "tenant_b")
    [mine] = root.get("/admin/").context["recent_actions"]
    assert mine["url"] is None
    assert mine["tenant"].schema_name == "tenant_a"


def test_deletion_is_confirmed_for_the_tenant_and_logged_with_it(root, tenant_a):
    with in_tenant(tenant_a):
        user = CustomerUser.objects.create(external_id="u-1")
        account = Account.objects.create(external_id="a-1")
        link = AccountUser.objects.create(user=user, account=account)
    pick(root, "tenant_a")
    delete = change_url(link).replace("/change/", "/delete/")
    data = form_data(root, delete, None)
    assert data[TENANT_FORM_FIELD] == "tenant_a"
    assert root.post(delete, data).status_code == 302
    with in_tenant(tenant_a):
        assert not AccountUser.objects.filter(pk=link.pk).exists()
    entry = LogEntry.objects.get(object_id=str(link.pk), action_flag=3)
    assert entry.tenant_link.tenant == tenant_a.tenant


# -- writes go through the services --------------------------------------------------


def test_derived_tables_are_read_only(root, tenant_a):
    rows = seed_tenant(tenant_a)
    pick(root, "tenant_a")
    page = root.get(change_url(rows["event"]))
    assert page.status_code == 200
    assert b'name="_save"' not in page.content
    response = root.post(
        change_url(rows["event"]), {"name": "x", TENANT_FORM_FIELD: "tenant_a"}
    )
    assert response.status_code == 403


# -- fixed query counts ------------------------------------------------------------


def test_event_list_costs_the_same_queries_for_one_row_as_for_thirty(root, tenant_a):
    now = timezone.now()

    def events(ids):
        return [
            Event(
                id=i,
                event_time=now,
                received_at=now,
                name="page.viewed",
                message_id=f"m-{i}",
                source="segment",
            )
            for i in ids
        ]

    with in_tenant(tenant_a):
        Event.objects.bulk_create(events([1]))
    pick(root, "tenant_a")
    url = changelist_url(Event)
    one = changelist_queries(root, url)
    with in_tenant(tenant_a):
        Event.objects.bulk_create(events(range(2, 31)))
    assert changelist_queries(root, url) == one
    assert one <= 10


def test_lists_never_count_more_rows_than_the_cap(root, tenant_a, monkeypatch):
    from tenants.admin_site import CappedCountPaginator

    monkeypatch.setattr(CappedCountPaginator, "cap", 3)
    now = timezone.now()
    with in_tenant(tenant_a):
        Event.objects.bulk_create(
            Event(
                id=i,
                event_time=now,
                received_at=now,
                name="e",
                message_id=f"m-{i}",
                source="segment",
            )
            for i in range(1, 11)
        )
    pick(root, "tenant_a")
    with CaptureQueriesContext(connection) as queries:
        response = root.get(changelist_url(Event))
    assert response.context["cl"].result_count == 3
    counts = [q["sql"] for q in queries if "COUNT(" in q["sql"].upper()]
    assert counts and all("LIMIT 3" in sql for sql in counts)
    # The pager says the count stopped there, not that there are 3.
    assert "3+ events" in response.text
    with in_tenant(tenant_a):
        Event.objects.filter(id__gt=2).delete()
    assert "2 events" in root.get(changelist_url(Event)).text


@pytest.mark.parametrize("target", ["abc", "https://evil.example/", "//evil.example/"])
def test_a_next_that_is_not_a_path_here_goes_to_the_admin_index(root, tenant_a, target):
    assert root.get("/admin/login/", {"next": target})["Location"] == "/admin/"
    response = root.post(PICKER, {"schema": "tenant_a", "next": target})
    assert response["Location"] == "/admin/"
