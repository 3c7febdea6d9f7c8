"""A thing's fields page: add, edit, reorder, deactivate/restore, roles, isolation."""

import pytest

from gathergrid.models import Field, FieldEntry
from tests.clients import ui_client
from tests.factories import field_make, in_tenant, thing_make, value_make


def _html(response) -> str:
    return response.content.decode()


def _url(thing, tail: str = "") -> str:
    return f"/t/tenant_a/things/{thing.pk}/fields/{tail}"


def _add(client, thing, name: str, data_type: str = "text", **extra):
    data = {"new-name": name, "new-data_type": data_type}
    data.update({f"new-{key}": value for key, value in extra.items()})
    return client.post(_url(thing), data)


def _edit(client, field, **changes):
    data = {
        "edit-name": field.name,
        "edit-data_type": field.data_type,
        "edit-choices": "\n".join(field.options.get("choices", [])),
    }
    if field.mandatory:
        data["edit-mandatory"] = "on"
    if field.required_for_initialization:
        data["edit-required_for_initialization"] = "on"
    data.update({f"edit-{key}": value for key, value in changes.items()})
    data = {key: value for key, value in data.items() if value is not False}
    thing_url = f"/t/tenant_a/things/{field.thing_id}/fields/"
    return client.post(f"{thing_url}{field.pk}/edit/", data)


def _fields(tenant, thing, **conditions) -> list[Field]:
    with in_tenant(tenant):
        return list(
            Field.objects.filter(thing=thing, **conditions).order_by("position", "id")
        )


@pytest.fixture
def customers(tenant_a):
    return thing_make(tenant_a, "Customers")


def test_page_lists_fields_in_position_order_with_their_settings(
    tenant_a, client_a, customers
):
    field_make(tenant_a, customers, "Email", data_type="email", position=2)
    field_make(
        tenant_a,
        customers,
        "Plan",
        data_type="choice",
        options={"choices": ["Free", "Pro"]},
        mandatory=True,
        position=1,
    )
    field_make(
        tenant_a, customers, "Name", required_for_initialization=True, position=0
    )

    page = _html(client_a.get(_url(customers)))

    assert page.index("<strong>Name") < page.index("<strong>Plan")
    assert page.index("<strong>Plan") < page.index("<strong>Email")
    assert "Free, Pro" in page and "Multiple choice" in page  # the type select
    assert '<span class="badge ok">Mandatory</span>' in page
    assert '<span class="badge ok">Required</span>' in page


def test_adding_a_text_field_puts_it_after_the_others(tenant_a, client_a, customers):
    field_make(tenant_a, customers, "Name", position=4)

    response = _add(client_a, customers, " Email ", "email", mandatory="on")

    assert response.status_code == 302
    email = _fields(tenant_a, customers)[-1]
    assert (email.name, email.data_type, email.position) == ("Email", "email", 5)
    assert email.mandatory and not email.required_for_initialization


def test_a_choice_field_takes_one_choice_per_line(tenant_a, client_a, customers):
    response = _add(
        client_a,
        customers,
        "Plan",
        "choice",
        choices="Free\r\n  Pro \r\n\r\nEnterprise\r\n",
        required_for_initialization="on",
    )

    assert response.status_code == 302
    [plan] = _fields(tenant_a, customers)
    assert plan.options == {"choices": ["Free", "Pro", "Enterprise"]}
    assert plan.required_for_initialization


def test_a_choice_field_without_choices_is_refused_next_to_the_choices(
    tenant_a, client_a, customers
):
    response = _add(client_a, customers, "Plan", "multi_choice", choices=" \n ")

    page = _html(response)
    assert response.status_code == 400
    choices = page.index('id="id_new-choices"')
    error = page.index("List at least one choice, one per line.")
    assert 0 < error - choices < 400
    assert _fields(tenant_a, customers) == []


def test_repeated_choices_are_refused(tenant_a, client_a, customers):
    response = _add(client_a, customers, "Plan", "choice", choices="Pro\nFree\nPro")

    assert response.status_code == 400
    assert "Each choice may appear once: Pro" in _html(response)


def test_a_reference_field_stores_the_referenced_thing(tenant_a, client_a, customers):
    plans = thing_make(tenant_a, "Plans")

    response = _add(client_a, customers, "Plan", "reference", reference_thing=plans.pk)

    assert response.status_code == 302
    [plan] = _fields(tenant_a, customers)
    assert plan.options == {"thing_id": plans.pk}
    assert "→ Plans" in _html(client_a.get(_url(customers)))


def test_a_second_active_field_with_the_same_name_is_refused_in_words(
    tenant_a, client_a, customers
):
    field_make(tenant_a, customers, "Email")

    response = _add(client_a, customers, "Email")

    assert response.status_code == 400
    assert "This thing already has an active field named “Email”." in _html(response)


def test_htmx_add_answers_with_the_fields_fragment(tenant_a, client_a, customers):
    response = client_a.post(
        _url(customers),
        {"new-name": "Signed up", "new-data_type": "date"},
        headers={"HX-Request": "true"},
    )

    page = _html(response)
    assert response.status_code == 200
    assert "<html" not in page and "<strong>Signed up</strong>" in page
    assert "Added the field “Signed up”." in page


def test_edit_saves_name_flags_and_choices(tenant_a, client_a, customers):
    plan = field_make(
        tenant_a, customers, "Plan", data_type="choice", options={"choices": ["Free"]}
    )

    form = _html(client_a.get(_url(customers, f"{plan.pk}/edit/")))
    assert 'id="id_edit-name"' in form and "Free</textarea>" in form

    response = _edit(
        client_a,
        plan,
        name="Tier",
        choices="Free\nPro",
        mandatory="on",
        required_for_initialization="on",
    )

    assert response.status_code == 302
    with in_tenant(tenant_a):
        plan.refresh_from_db()
    assert plan.name == "Tier"
    assert plan.options == {"choices": ["Free", "Pro"]}
    assert plan.mandatory and plan.required_for_initialization


def test_data_type_of_a_field_with_values_cannot_change_and_says_why(
    tenant_a, client_a, customers
):
    mrr = field_make(tenant_a, customers, "MRR", data_type="integer")
    value_make(tenant_a, mrr, "42")

    form = _html(client_a.get(_url(customers, f"{mrr.pk}/edit/")))
    assert "Has values: its type stays as it is." in form

    response = _edit(client_a, mrr, data_type="text")

    page = _html(response)
    assert response.status_code == 400
    assert (
        "Cannot change the type of a field that has values; add a new field instead."
        in page
    )
    with in_tenant(tenant_a):
        mrr.refresh_from_db()
    assert mrr.data_type == "integer"


def test_data_type_of_a_field_without_values_can_change(tenant_a, client_a, customers):
    mrr = field_make(tenant_a, customers, "MRR", data_type="integer")

    response = _edit(client_a, mrr, data_type="choice", choices="Low\nHigh")

    assert response.status_code == 302
    with in_tenant(tenant_a):
        mrr.refresh_from_db()
    assert (mrr.data_type, mrr.options) == ("choice", {"choices": ["Low", "High"]})


def test_moving_a_field_swaps_it_with_its_neighbour(tenant_a, client_a, customers):
    # Fields made through the API may share a position; a move renumbers them.
    for name in ["Name", "Email", "Plan"]:
        field_make(tenant_a, customers, name, position=0)
    plan = _fields(tenant_a, customers)[-1]

    response = client_a.post(_url(customers, f"{plan.pk}/move/"), {"direction": "up"})

    assert response.status_code == 302
    order = _fields(tenant_a, customers)
    assert [f.name for f in order] == ["Name", "Plan", "Email"]
    assert [f.position for f in order] == [0, 1, 2]

    client_a.post(_url(customers, f"{plan.pk}/move/"), {"direction": "down"})
    assert [f.name for f in _fields(tenant_a, customers)] == ["Name", "Email", "Plan"]


def test_moving_past_either_end_changes_nothing(tenant_a, client_a, customers):
    first = field_make(tenant_a, customers, "Name", position=0)
    last = field_make(tenant_a, customers, "Email", position=1)

    client_a.post(_url(customers, f"{first.pk}/move/"), {"direction": "up"})
    client_a.post(_url(customers, f"{last.pk}/move/"), {"direction": "down"})

    assert [f.name for f in _fields(tenant_a, customers)] == ["Name", "Email"]
    bad = client_a.post(_url(customers, f"{last.pk}/move/"), {"direction": "left"})
    assert bad.status_code == 400


def test_htmx_move_keeps_focus_on_the_moved_fields_button(
    tenant_a, client_a, customers
):
    field_make(tenant_a, customers, "Name", position=0)
    field_make(tenant_a, customers, "Email", position=1)
    plan = field_make(tenant_a, customers, "Plan", position=2)

    response = client_a.post(
        _url(customers, f"{plan.pk}/move/"),
        {"direction": "up"},
        headers={"HX-Request": "true"},
    )

    page = _html(response)
    assert "<html" not in page
    button = page.index('aria-label="Move Plan up"')
    assert "autofocus" in page[button : page.index(">", button)]
    assert page.index("<strong>Plan") < page.index("<strong>Email")


def test_deactivating_a_field_keeps_its_values_and_restore_brings_it_back(
    tenant_a, client_a, customers
):
    fax = field_make(tenant_a, customers, "Fax")
    value_make(tenant_a, fax, "+1 555 0100")

    response = client_a.post(_url(customers, f"{fax.pk}/deactivate/"))

    assert response.status_code == 302
    page = _html(client_a.get(_url(customers)))
    assert "Deactivated fields" in page and 'aria-label="Restore Fax"' in page
    assert 'aria-label="Edit Fax"' not in page
    with in_tenant(tenant_a):
        fax.refresh_from_db()
        value = FieldEntry.objects.get(field=fax)
    assert fax.active is False
    assert (value.entered_value, value.active) == ("+1 555 0100", True)

    client_a.post(_url(customers, f"{fax.pk}/restore/"))

    with in_tenant(tenant_a):
        fax.refresh_from_db()
    assert fax.active is True
    assert 'aria-label="Edit Fax"' in _html(client_a.get(_url(customers)))


def test_restore_is_refused_while_an_active_field_has_its_name(
    tenant_a, client_a, customers
):
    old = field_make(tenant_a, customers, "Email", active=False)
    field_make(tenant_a, customers, "Email")

    response = client_a.post(_url(customers, f"{old.pk}/restore/"))

    assert response.status_code == 400
    assert "This thing already has an active field named “Email”." in _html(response)


@pytest.mark.parametrize("rows", [1, 30])
def test_fields_page_costs_a_fixed_number_of_queries(
    tenant_a, client_a, customers, django_assert_max_num_queries, rows
):
    for number in range(rows):
        field = field_make(
            tenant_a,
            customers,
            f"Field {number}",
            data_type="choice",
            options={"choices": ["A", "B"]},
            position=number,
        )
        field_make(tenant_a, customers, f"Old {number}", active=False)
        value_make(tenant_a, field, "A")

    with django_assert_max_num_queries(12):  # 6 are the shell's
        response = client_a.get(_url(customers))

    assert response.status_code == 200
    assert _html(response).count('aria-label="Restore Old') == rows


def test_fields_list_is_paginated(tenant_a, client_a, customers, settings):
    settings.UI_PAGE_SIZE = 2
    for number, name in enumerate(["Name", "Email", "Plan"]):
        field_make(tenant_a, customers, name, position=number)

    first = _html(client_a.get(_url(customers)))
    second = _html(client_a.get(_url(customers) + "?page=2"))

    assert "<strong>Email" in first and "<strong>Plan" not in first
    assert "<strong>Plan" in second and "<strong>Name" not in second


def test_viewer_sees_fields_without_edit_controls_and_gets_403_on_writes(
    tenant_a, viewer_client_a, customers
):
    name = field_make(tenant_a, customers, "Name")
    old = field_make(tenant_a, customers, "Fax", active=False)

    page = _html(viewer_client_a.get(_url(customers)))

    assert "<strong>Name" in page and "<strong>Fax" in page
    for control in ("Add a field", "/move/", "/edit/", "/deactivate/", "/restore/"):
        assert control not in page
    writes = [
        (_url(customers), {"new-name": "X"}),
        (_url(customers, f"{name.pk}/edit/"), {"edit-name": "X"}),
        (_url(customers, f"{name.pk}/move/"), {"direction": "down"}),
        (_url(customers, f"{name.pk}/deactivate/"), {}),
        (_url(customers, f"{old.pk}/restore/"), {}),
    ]
    for path, data in writes:
        assert viewer_client_a.post(path, data).status_code == 403, path
    assert viewer_client_a.get(_url(customers, f"{name.pk}/edit/")).status_code == 403
    assert [f.name for f in _fields(tenant_a, customers)] == ["Name", "Fax"]


def test_editor_may_add_fields(tenant_a, editor_a, customers):
    response = _add(ui_client(editor_a), customers, "Name")

    assert response.status_code == 302


def test_a_member_of_b_gets_404_on_a_fields_urls(tenant_a, client_b, customers):
    name = field_make(tenant_a, customers, "Name")

    assert client_b.get(_url(customers)).status_code == 404
    assert client_b.get(_url(customers, f"{name.pk}/edit/")).status_code == 404
    assert client_b.post(_url(customers, f"{name.pk}/deactivate/")).status_code == 404


def test_fields_of_tenant_b_or_another_thing_are_not_found(
    tenant_a, tenant_b, client_a, customers
):
    theirs = thing_make(tenant_b, "Theirs")
    their_field = field_make(tenant_b, theirs, "Secret")
    other = thing_make(tenant_a, "Invoices")
    elsewhere = field_make(tenant_a, other, "Total")
    with in_tenant(tenant_a):
        from gathergrid.models import Thing

        assert not Thing.objects.filter(pk=theirs.pk).exists()
        assert not Field.objects.filter(pk=their_field.pk).exists()

    assert client_a.get(f"/t/tenant_a/things/{theirs.pk}/fields/").status_code == 404
    assert client_a.get(_url(customers, f"{their_field.pk}/edit/")).status_code == 404
    # A field is only reachable under its own thing.
    moved = client_a.post(_url(customers, f"{elsewhere.pk}/deactivate/"))
    assert moved.status_code == 404
    with in_tenant(tenant_a):
        elsewhere.refresh_from_db()
    assert elsewhere.active is True
