"""The entries grid of a thing: typed cells saving one at a time through the
API's writers, create with the required-for-initialization values, filters,
sort, search and paging in the query string, roles and tenant isolation."""

import re
from datetime import date
from decimal import Decimal

import pytest
from django.db import connection
from django.http import QueryDict
from django.test.utils import CaptureQueriesContext
from hypothesis import given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from gathergrid.models import Entry, EntryHistory, Field, Thing
from gathergrid.selectors import (
    FILTER_OPERATORS,
    FilterOperator,
    entries_filtered,
    entries_page,
    entry_query_parse,
)
from tests.clients import ui_client
from tests.factories import (
    entry_values,
    grid_make,
    in_tenant,
    item_make,
    person,
)

PEOPLE = [
    person("Ann", age=30, born="1990-01-02", vip=True),
    person("Bob", age=9, status="Closed"),
    person("Cid", age=10, born="2001-05-06"),
]


def grid_url(made, query: str = "") -> str:
    """The server-rendered table (the grid without JavaScript)."""
    return f"/t/tenant_a/things/{made.thing.id}/?plain=1" + (
        f"&{query}" if query else ""
    )


def cell_url(made, entry_id: int, column: str) -> str:
    return f"/t/tenant_a/things/{made.thing.id}/entries/{entry_id}/cell/{column}/"


def row_ids(html: str) -> list[int]:
    return [int(i) for i in re.findall(r'<tr id="entry-(\d+)"', html)]


@pytest.fixture
def people(tenant_a):
    return grid_make(tenant_a, entries=PEOPLE)


def test_grid_shows_one_row_per_entry_with_typed_inputs(client_a, people):
    response = client_a.get(grid_url(people))
    assert response.status_code == 200
    html = response.content.decode()
    assert row_ids(html) == people.entry_ids
    ann = people.entry_ids[0]
    status = people.fields["Status"].id
    # Dates as date pickers, choices as selects with the field's options,
    # booleans as Yes/No selects that can be empty, numbers as text with a
    # numeric keyboard.
    assert '<input type="date" value="1990-01-02" name="value"' in html
    assert re.search(
        rf'<select name="value" aria-label="Status of entry {ann}"[^>]*>'
        r'<option value="">—</option><option value="Open" selected>Open</option>'
        r"<option value=\"Closed\">Closed</option></select>",
        html,
    )
    vip = people.fields["Vip"].id
    assert re.search(
        rf'<select name="value" aria-label="Vip of entry {ann}" '
        rf'hx-post="[^"]*/cell/f{vip}/"[^>]*><option value="">—</option>'
        r'<option value="true" selected>Yes</option><option value="false">No</option>',
        html,
    )
    assert '<input type="text" inputmode="decimal" value="30" name="value"' in html
    assert f"/entries/{ann}/cell/f{status}/" in html
    assert "initialized</span>" in html and "complete</span>" in html
    # The create form asks for the required-for-initialization field first.
    assert f'id="id_f{people.fields["Name"].id}"' in html
    assert "Export CSV" in html


def test_grid_query_count_does_not_grow_with_entries_or_fields(client_a, tenant_a):
    def queries(made) -> int:
        with CaptureQueriesContext(connection) as captured:
            assert client_a.get(grid_url(made)).status_code == 200
        return len(captured)

    one = queries(grid_make(tenant_a, name="One", entries=[person("Ann")]))
    thirty = queries(
        grid_make(
            tenant_a,
            name="Thirty",
            entries=[person(f"P{i}", age=i, born="2020-01-01") for i in range(30)],
        )
    )
    ten_fields = [
        {"name": f"F{i}", "data_type": "integer" if i % 2 else "text"}
        for i in range(10)
    ]
    three = queries(
        grid_make(
            tenant_a,
            name="Three",
            fields=ten_fields[:3],
            entries=[{"values": {"F0": "x", "F1": "1"}}] * 5,
        )
    )
    ten = queries(
        grid_make(
            tenant_a,
            name="Ten",
            fields=ten_fields,
            entries=[{"values": {f"F{i}": str(i) for i in range(10)}}] * 5,
        )
    )
    assert one == thirty == three == ten
    assert one <= 12, one
    # Sorted by a field, a page that runs past the entries with a value asks
    # for those without one too: at most two more queries, whatever the size.
    for size in (1, 30):
        made = grid_make(
            tenant_a, name=f"Sorted {size}", entries=[person("Ann", age=3)] * size
        )
        age = made.fields["Age"].id
        with CaptureQueriesContext(connection) as captured:
            response = client_a.get(grid_url(made, f"sort=-f{age}&f={age}:gt:1"))
            assert response.status_code == 200
        assert len(captured) == one + 1


def test_editing_a_cell_saves_it_and_records_history(
    client_a, people, admin_a, tenant_a
):
    ann = people.entry_ids[0]
    name, status, born = (people.fields[n].id for n in ("Name", "Status", "Born"))
    response = client_a.post(cell_url(people, ann, f"f{name}"), {"value": "Anna"})
    assert response.status_code == 200
    html = response.content.decode()
    assert 'class="text saved"' in html and 'value="Anna"' in html
    assert 'hx-swap-oob="true"' in html  # the row's status follows
    client_a.post(cell_url(people, ann, f"f{status}"), {"value": "Closed"})
    client_a.post(cell_url(people, ann, f"f{born}"), {"value": "1991-02-03"})
    values = entry_values(tenant_a, ann)
    assert values["Name"] == "Anna"
    assert values["Status"] == "Closed"
    assert values["Born"] == "1991-02-03"
    with in_tenant(tenant_a):
        changes = EntryHistory.objects.filter(entry_id=ann, action="update")
        assert {(h.field_id, h.after["entered_value"]) for h in changes} == {
            (name, "Anna"),
            (status, "Closed"),
            (born, "1991-02-03"),
        }
        assert {str(h.changed_by) for h in changes} == {str(admin_a.pk)}


def test_an_invalid_number_is_refused_next_to_the_cell_in_words(
    client_a, people, tenant_a
):
    ann = people.entry_ids[0]
    age = people.fields["Age"].id
    response = client_a.post(cell_url(people, ann, f"f{age}"), {"value": "1.5"})
    assert response.status_code == 422
    html = response.content.decode()
    assert 'class="number invalid"' in html
    assert 'value="1.5"' in html  # what was typed stays, to correct it
    assert re.search(
        r'class="cell-error"[^>]*>&#x27;1.5&#x27; is not a whole number<', html
    )
    assert 'aria-invalid="true"' in html
    assert entry_values(tenant_a, ann)["Age"] == "30"


def test_clearing_a_mandatory_value_is_refused_in_words(client_a, people, tenant_a):
    ann = people.entry_ids[0]
    status = people.fields["Status"].id
    response = client_a.post(cell_url(people, ann, f"f{status}"), {"value": ""})
    assert response.status_code == 422
    assert "&#x27;Status&#x27; is mandatory" in response.content.decode()
    assert entry_values(tenant_a, ann)["Status"] == "Open"


def test_a_cell_changed_by_someone_else_meanwhile_is_not_overwritten(
    client_a, people, tenant_a
):
    ann = people.entry_ids[0]
    name = people.fields["Name"].id
    url = cell_url(people, ann, f"f{name}")
    html = client_a.get(grid_url(people)).content.decode()
    assert f'hx-post="{url}" hx-vals="{{&quot;seen&quot;: &quot;Ann&quot;}}"' in html
    # Someone else renames Ann; this page still shows "Ann".
    assert client_a.post(url, {"value": "Anna", "seen": "Ann"}).status_code == 200
    response = client_a.post(url, {"value": "Annie", "seen": "Ann"})
    assert response.status_code == 409
    body = response.content.decode()
    assert "Changed meanwhile by someone else: it is now “Anna”" in body
    assert 'value="Annie"' in body  # the edit is kept in the cell
    assert "&quot;seen&quot;: &quot;Anna&quot;" in body  # saving again replaces
    assert entry_values(tenant_a, ann)["Name"] == "Anna"
    assert client_a.post(url, {"value": "Annie", "seen": "Anna"}).status_code == 200
    assert entry_values(tenant_a, ann)["Name"] == "Annie"


def test_a_yes_no_cell_can_be_cleared_and_tells_empty_from_no(
    client_a, people, tenant_a
):
    ann = people.entry_ids[0]
    vip = people.fields["Vip"].id
    url = cell_url(people, ann, f"f{vip}")
    assert client_a.post(url, {"value": "false"}).status_code == 200
    assert entry_values(tenant_a, ann)["Vip"] == "false"
    response = client_a.post(url, {"value": ""})
    assert response.status_code == 200
    assert entry_values(tenant_a, ann).get("Vip") is None
    assert '<option value="" selected>—</option>' in response.content.decode()


def test_an_unchecked_checkbox_saves_false(client_a, people, tenant_a):
    ann = people.entry_ids[0]
    vip = people.fields["Vip"].id
    assert client_a.post(cell_url(people, ann, f"f{vip}"), {}).status_code == 200
    assert entry_values(tenant_a, ann)["Vip"] == "false"


def test_classification_and_validity_cells_save_on_the_entry(
    client_a, people, tenant_a
):
    gold = item_make(tenant_a, "Gold")
    ann = people.entry_ids[0]
    assert (
        client_a.post(
            cell_url(people, ann, "classification"), {"value": str(gold.id)}
        ).status_code
        == 200
    )
    assert (
        client_a.post(
            cell_url(people, ann, "valid_from"), {"value": "2024-01-01"}
        ).status_code
        == 200
    )
    response = client_a.post(cell_url(people, ann, "valid_to"), {"value": "2023-01-01"})
    assert response.status_code == 422
    assert "Must not be before the valid-from date" in response.content.decode()
    with in_tenant(tenant_a):
        entry = Entry.objects.get(pk=ann)
        assert entry.classification_item_id == gold.id
        assert str(entry.validity_start_date) == "2024-01-01"
        assert entry.validity_end_date is None


def test_create_entry_with_its_required_values_in_one_step(client_a, people, tenant_a):
    f = people.fields
    response = client_a.post(
        f"/t/tenant_a/things/{people.thing.id}/entries/new/",
        {
            f"f{f['Name'].id}": "Dee",
            f"f{f['Status'].id}": "Open",
            f"f{f['Age'].id}": "41",
            f"f{f['Vip'].id}": "true",
            "valid_from": "2024-02-01",
        },
    )
    assert response.status_code == 302
    with in_tenant(tenant_a):
        entry = Entry.objects.filter(thing=people.thing).latest("id")
        assert str(entry.validity_start_date) == "2024-02-01"
        assert EntryHistory.objects.filter(entry=entry).count() == 5  # entry + 4
    assert entry_values(tenant_a, entry.id) == {
        "Name": "Dee",
        "Status": "Open",
        "Age": "41",
        "Vip": "true",
    }
    page = client_a.get(response["Location"]).content.decode()
    assert f"Entry #{entry.id} created." in page


def test_create_without_required_values_says_which_next_to_each_input(
    client_a, people, tenant_a
):
    f = people.fields
    with in_tenant(tenant_a):
        before = Entry.objects.count()
    response = client_a.post(
        f"/t/tenant_a/things/{people.thing.id}/entries/new/",
        {f"f{f['Age'].id}": "old", f"f{f['Status'].id}": ""},
    )
    assert response.status_code == 400
    html = response.content.decode()
    assert re.search(rf'id="id_f{f["Name"].id}-error">This field is required', html)
    assert re.search(
        rf'id="id_f{f["Age"].id}-error">&#x27;old&#x27; is not a whole', html
    )
    with in_tenant(tenant_a):
        assert Entry.objects.count() == before


def test_filters_sort_and_search_live_in_the_query_string(client_a, people, tenant_a):
    ann, bob, cid = people.entry_ids
    age, status = people.fields["Age"].id, people.fields["Status"].id
    ids = lambda q: row_ids(client_a.get(grid_url(people, q)).content.decode())  # noqa: E731
    # Numbers sort as numbers (9 < 10 < 30), not as text.
    assert ids(f"sort=f{age}") == [bob, cid, ann]
    assert ids(f"sort=-f{age}") == [ann, cid, bob]
    assert ids(f"f={age}:gt:9") == [ann, cid]
    assert ids(f"f={status}:eq:Closed") == [bob]
    assert ids(f"f={status}:neq:Closed&sort=-id") == [cid, ann]
    assert ids(f"f={people.fields['Born'].id}:empty:") == [bob]
    assert ids(f"f={people.fields['Born'].id}:lt:2000-01-01") == [ann]
    assert ids("q=ci") == [cid]
    gold = item_make(tenant_a, "Gold")
    client_a.post(cell_url(people, bob, "classification"), {"value": str(gold.id)})
    assert ids(f"class={gold.id}") == [bob]
    assert ids("class=none") == [ann, cid]
    html = client_a.get(grid_url(people, f"f={age}:gt:9&q=a")).content.decode()
    assert 'aria-label="Remove filter: Age &gt; 9"' in html
    assert "Search “a”" in html
    sorted_html = client_a.get(grid_url(people, f"sort=f{age}")).content.decode()
    assert 'aria-sort="ascending"' in sorted_html


def test_filter_form_adds_a_filter_to_the_url(client_a, people):
    age = people.fields["Age"].id
    response = client_a.get(
        grid_url(people, f"add_field={age}&add_op=gte&add_value=10&q=&sort=id")
    )
    assert response.status_code == 302
    assert response["Location"].endswith(f"?plain=1&sort=id&f={age}%3Agte%3A10")


def test_a_filter_that_does_not_fit_is_ignored_and_explained(client_a, people):
    age = people.fields["Age"].id
    response = client_a.get(grid_url(people, f"f={age}:gt:abc&f={age}:contains:1"))
    html = response.content.decode()
    assert "Filter on Age ignored: &#x27;abc&#x27; is not a whole number." in html
    assert "Filter on Age ignored: &#x27;contains&#x27; does not apply" in html
    assert len(row_ids(html)) == 3
    # Digits int() refuses ("²" is a digit to str.isdigit) are no id, no page.
    odd = client_a.get(grid_url(people, "page=²&class=²&sort=f²&f=²:eq:1"))
    assert odd.status_code == 200 and len(row_ids(odd.content.decode())) == 3


def test_pages_of_ui_page_size_with_previous_and_next(client_a, people, settings):
    settings.UI_PAGE_SIZE = 2
    first = client_a.get(grid_url(people)).content.decode()
    assert row_ids(first) == people.entry_ids[:2]
    assert "Page 1 of 2" in first and 'rel="next"' in first
    second = client_a.get(grid_url(people, "page=2")).content.decode()
    assert row_ids(second) == people.entry_ids[2:]
    assert 'rel="prev"' in second and 'rel="next"' not in second


def test_a_page_past_the_end_goes_to_the_last_page(client_a, people, settings):
    settings.UI_PAGE_SIZE = 2
    response = client_a.get(grid_url(people, "sort=-id&page=999"))
    assert response.status_code == 302
    assert response["Location"].endswith("?plain=1&sort=-id&page=2")
    last = client_a.get(response["Location"]).content.decode()
    assert row_ids(last) == sorted(people.entry_ids, reverse=True)[2:]


def test_the_history_of_an_entry_that_does_not_exist_is_404(client_a, people):
    base = f"/t/tenant_a/things/{people.thing.id}/entries"
    assert client_a.get(f"{base}/987654/history/").status_code == 404
    assert client_a.get(f"{base}/{people.entry_ids[0]}/history/").status_code == 200


def teams_led_by(tenant, people, lead: int):
    """A thing "Teams" whose two entries (Red, Blue) reference ``lead``."""
    return grid_make(
        tenant,
        name="Teams",
        fields=[
            {"name": "Title", "data_type": "text"},
            {
                "name": "Lead",
                "data_type": "reference",
                "options": {"thing_id": people.thing.id},
            },
        ],
        entries=[{"values": {"Title": t, "Lead": str(lead)}} for t in ("Red", "Blue")],
    )


def test_trashing_a_referenced_entry_warns_how_many_values_name_it(
    client_a, people, tenant_a
):
    ann = people.entry_ids[0]
    teams = teams_led_by(tenant_a, people, ann)
    assert len(teams.entry_ids) == 2
    base = f"/t/tenant_a/things/{people.thing.id}/entries"
    response = client_a.post(f"{base}/{ann}/delete/", follow=True)
    html = response.content.decode()
    assert f"Entry #{ann} moved to the trash" in html
    assert f"2 values of other entries still refer to entry #{ann}" in html
    other = people.entry_ids[1]
    html = client_a.post(f"{base}/{other}/delete/", follow=True).content.decode()
    assert "still refer" not in html


def test_viewers_see_plain_values_and_cannot_write(viewer_client_a, people):
    html = viewer_client_a.get(grid_url(people)).content.decode()
    assert row_ids(html) == people.entry_ids
    assert "hx-post" not in html and 'name="value"' not in html
    assert "/entries/new/" not in html and "Delete" not in html
    assert '<div class="cell">Closed</div>' in html
    ann = people.entry_ids[0]
    name = people.fields["Name"].id
    base = f"/t/tenant_a/things/{people.thing.id}/entries"
    assert (
        viewer_client_a.post(
            cell_url(people, ann, f"f{name}"), {"value": "x"}
        ).status_code
        == 403
    )
    assert viewer_client_a.post(f"{base}/new/", {}).status_code == 403
    assert viewer_client_a.post(f"{base}/{ann}/delete/").status_code == 403
    assert viewer_client_a.get(f"{base}/{ann}/").status_code == 403


def test_an_editor_can_edit_cells(tenant_a, editor_a, people):
    client = ui_client(editor_a)
    name = people.fields["Name"].id
    response = client.post(
        cell_url(people, people.entry_ids[0], f"f{name}"), {"value": "Ed"}
    )
    assert response.status_code == 200


def test_other_tenants_things_and_other_things_entries_are_not_found(
    client_a, client_b, tenant_a, tenant_b, people
):
    other = grid_make(tenant_a, name="Other", entries=[person("Oz")])
    oz = other.entry_ids[0]
    name = people.fields["Name"].id
    # An entry of another thing, under this thing's URLs.
    response = client_a.post(cell_url(people, oz, f"f{name}"), {"value": "x"})
    assert response.status_code == 404
    base = f"/t/tenant_a/things/{people.thing.id}/entries/{oz}"
    assert client_a.get(f"{base}/").status_code == 404
    assert client_a.get(f"{base}/history/").status_code == 404
    assert client_a.post(f"{base}/delete/").status_code == 404
    assert entry_values(tenant_a, oz)["Name"] == "Oz"
    # A member of B only cannot open A's grid at all.
    assert client_b.get(grid_url(people)).status_code == 404
    # B's thing (an id A's schema does not have) under A's URL.
    with in_tenant(tenant_b):
        theirs = grid_make(tenant_b, name="Secret", entries=[person("Zed")])
    with in_tenant(tenant_a):
        assert not Thing.objects.filter(pk=theirs.thing.id).exists()
    assert client_a.get(f"/t/tenant_a/things/{theirs.thing.id}/").status_code == 404
    zed = theirs.entry_ids[0]
    path = f"/t/tenant_a/things/{theirs.thing.id}/entries/{zed}/history/"
    assert client_a.get(path).status_code == 404


def test_the_edit_form_is_the_grid_without_javascript(client_a, people, tenant_a):
    ann = people.entry_ids[0]
    f = people.fields
    url = f"/t/tenant_a/things/{people.thing.id}/entries/{ann}/"
    form = client_a.get(url).content.decode()
    assert 'value="Ann"' in form and 'type="date"' in form
    response = client_a.post(
        url,
        {
            f"f{f['Name'].id}": "Ann B",
            f"f{f['Status'].id}": "Open",
            f"f{f['Age'].id}": "thirty",
            f"f{f['Born'].id}": "1990-01-02",
        },
    )
    assert response.status_code == 400
    assert "&#x27;thirty&#x27; is not a whole number" in response.content.decode()
    response = client_a.post(
        url,
        {
            f"f{f['Name'].id}": "Ann B",
            f"f{f['Status'].id}": "Open",
            f"f{f['Age'].id}": "31",
            f"f{f['Born'].id}": "1990-01-02",
            f"f{f['Vip'].id}": "true",
            "next": grid_url(people, "sort=-id"),
        },
    )
    assert response.status_code == 302
    assert response["Location"] == grid_url(people, "sort=-id")
    assert entry_values(tenant_a, ann) == {
        "Name": "Ann B",
        "Age": "31",
        "Born": "1990-01-02",
        "Status": "Open",
        "Vip": "true",
    }
    with in_tenant(tenant_a):
        # Only what changed is written (and recorded).
        assert EntryHistory.objects.filter(entry_id=ann, action="update").count() == 2


# --- The query-string parser (pure: unsaved fields, no database) -----------------

PARSER_FIELDS = [
    Field(id=1, name="Name", data_type="text"),
    Field(id=2, name="Age", data_type="integer"),
    Field(id=3, name="Born", data_type="date"),
    Field(id=4, name="Plan", data_type="choice", options={"choices": ["A", "B"]}),
    Field(id=5, name="Vip", data_type="boolean"),
    Field(id=6, name="Tags", data_type="multi_choice", options={"choices": ["x"]}),
]
FILTER_TEXT = st.one_of(
    st.text(max_size=30),
    st.builds(
        "{}:{}:{}".format,
        st.sampled_from(["1", "2", "3", "4", "5", "6", "7", "x", "", "²"]),
        st.sampled_from([*FilterOperator.values, "nope", ""]),
        st.one_of(st.text(max_size=12), st.sampled_from(["12", "2024-02-30", "A"])),
    ),
)


@hypothesis_settings(max_examples=300, deadline=None)
@given(
    filters=st.lists(FILTER_TEXT, max_size=4),
    sort=st.one_of(st.text(max_size=8), st.sampled_from(["f²", "-f2", "f99"])),
    cls=st.one_of(st.text(max_size=6), st.sampled_from(["²", "12", "none"])),
    valid_on=st.text(max_size=12),
    q=st.text(max_size=10),
)
def test_any_query_string_parses_into_filters_or_explained_errors(
    filters, sort, cls, valid_on, q
):
    params = QueryDict(mutable=True)
    params.setlist("f", filters)
    params.update({"sort": sort, "class": cls, "valid_on": valid_on, "q": q})
    query = entry_query_parse(params=params, fields=PARSER_FIELDS)
    # Every filter is either applied (typed for its field) or named in errors.
    assert len(query.filters) + sum(
        e.startswith("Filter") for e in query.errors
    ) == len(filters)
    for item in query.filters:
        assert item.operator in FILTER_OPERATORS[item.field.data_type]
    key = query.order.removeprefix("-")
    assert key in {"id", "updated", "classification", "valid_from", "valid_to"} or (
        key in {f"f{f.id}" for f in PARSER_FIELDS}
    )
    assert query.classification in {"", "none"} or query.classification.isdigit()


def test_filters_are_typed_like_their_field():
    params = QueryDict("f=2:gt:10&f=3:lt:2024-01-31&f=5:eq:yes&f=4:eq:C")
    query = entry_query_parse(params=params, fields=PARSER_FIELDS)
    assert [item.value for item in query.filters] == [
        Decimal(10),
        date(2024, 1, 31),
        True,
    ]
    assert query.errors == (
        "Filter on Plan ignored: 'C' is not one of the choices: A, B.",
    )


@pytest.mark.parametrize("field", ["Name", "Age", "Born", "Vip"])
@pytest.mark.parametrize("descending", [False, True])
def test_pages_sorted_by_a_field_follow_the_full_sort_with_empty_values_last(
    tenant_a, field, descending
):
    made = grid_make(
        tenant_a,
        entries=[
            person("Bo", age=10, born="2001-01-01", vip=True),
            person("al", age=9),
            person("Cy", born="1999-12-31", vip=False),
            person("Bo", age=10, born="2001-01-01"),
            person("Éd", age=-3),
            person("Al", age=100, born="2030-06-01", vip=True),
            person("Bo"),
        ],
    )
    order = ("-" if descending else "") + f"f{made.fields[field].id}"
    with in_tenant(tenant_a):
        fields = list(Field.objects.filter(thing=made.thing).order_by("position"))
        query = entry_query_parse(params=QueryDict(f"sort={order}"), fields=fields)
        expected = [
            e.id for e in entries_filtered(thing=made.thing, fields=fields, query=query)
        ]
        paged = []
        for number in range(1, 6):
            page = entries_page(
                thing=made.thing, fields=fields, query=query, page=number, page_size=2
            )
            paged += [e.id for e in page.rows]
            assert page.has_next == (number * 2 < len(expected))
    assert paged == expected


def test_values_and_names_are_escaped_in_the_grid(client_a, tenant_a):
    attack = '"><script>alert(1)</script>'
    made = grid_make(
        tenant_a,
        name=f"Evil {attack}",
        fields=[
            {"name": f"Name {attack}", "data_type": "text"},
            {
                "name": "Pick",
                "data_type": "choice",
                "options": {"choices": [attack, "plain"]},
            },
        ],
        entries=[{"values": {f"Name {attack}": attack, "Pick": attack}}],
    )
    page = client_a.get(grid_url(made)).content.decode()
    assert "<script>alert(1)</script>" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page


def test_a_reference_cell_names_and_links_the_entry_it_points_at(
    client_a, viewer_client_a, people, tenant_a
):
    ann = people.entry_ids[0]
    teams = teams_led_by(tenant_a, people, ann)
    grid = f"/t/tenant_a/things/{teams.thing.id}/?plain=1"
    form = f"/t/tenant_a/things/{people.thing.id}/entries/{ann}/"
    html = client_a.get(grid).content.decode()
    assert html.count(f'<a class="ref-link" href="{form}">Ann</a>') == 2
    viewer = viewer_client_a.get(grid).content.decode()
    assert f'<a class="ref-link" href="{form}history/">Ann</a>' in viewer
    # One query for the names however many rows refer (the grid's count holds).
    with CaptureQueriesContext(connection) as queries:
        client_a.get(grid)
    label_sql = 'SELECT "field_entries"."entry_id" AS "entry_id", '
    names = [q for q in queries if q["sql"].startswith(label_sql)]
    assert len(names) == 1
