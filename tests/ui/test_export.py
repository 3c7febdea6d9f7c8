"""CSV export of the entries grid's current view, and its round trip through
the import."""

import csv
import io

from django.http import StreamingHttpResponse
from django.utils import timezone
from hypothesis import given
from hypothesis import strategies as st

from core.jobs import jobs_run_pending
from gathergrid import imports
from gathergrid.models import Entry, FieldEntry
from gathergrid.selectors import entries_filtered, entry_query_parse
from tests.factories import grid_make, in_tenant, item_make
from tests.ui.test_imports import prepared

ALL_TYPES = [
    {"name": "Name", "data_type": "text", "required_for_initialization": True},
    {"name": "Notes", "data_type": "long_text"},
    {"name": "Count", "data_type": "integer"},
    {"name": "Price", "data_type": "decimal"},
    {"name": "Vip", "data_type": "boolean"},
    {"name": "Born", "data_type": "date"},
    {"name": "Seen", "data_type": "datetime"},
    {"name": "Email", "data_type": "email"},
    {"name": "Site", "data_type": "url"},
    {"name": "Size", "data_type": "choice", "options": {"choices": ["S", "M", "L"]}},
    {"name": "Tags", "data_type": "multi_choice", "options": ["a", "b", "c"]},
    {"name": "Meta", "data_type": "json"},
]


def export(client, thing, query: str = ""):
    response = client.get(f"/t/tenant_a/things/{thing.id}/export.csv{query}")
    assert response.status_code == 200
    assert isinstance(response, StreamingHttpResponse)
    text = b"".join(response.streaming_content).decode("utf-8-sig")
    return response, list(csv.reader(io.StringIO(text, newline="")))


def values_by_name(tenant, thing) -> list[dict[str, str]]:
    with in_tenant(tenant):
        rows: dict[int, dict[str, str]] = {}
        for fe in (
            FieldEntry.objects.filter(entry__thing=thing, active=True)
            .select_related("field")
            .order_by("entry_id")
        ):
            rows.setdefault(fe.entry_id, {})[fe.field.name] = fe.entered_value
        return [rows.get(e) or {} for e in sorted(rows)]


def test_export_then_import_into_another_thing_gives_the_same_values(
    client_a, tenant_a
):
    item = item_make(tenant_a, "Europe")
    source = grid_make(
        tenant_a,
        name="Source",
        fields=ALL_TYPES,
        entries=[
            {
                "values": {
                    "Name": 'Ada, "the" first',
                    "Notes": "line one\nline two; with semicolon",
                    "Count": "0042",
                    "Price": "12.50",
                    "Vip": "yes",
                    "Born": "1815-12-10",
                    "Seen": "2024-05-01T10:30:00+02:00",
                    "Email": "Ada@Example.COM",
                    "Site": "https://example.com/a?b=c",
                    "Size": "M",
                    "Tags": ["c", "a"],
                    "Meta": {"z": 1, "a": [1, 2]},
                },
                "classification_item_id": item.id,
                "validity_start_date": "2024-01-01",
            },
            {"values": {"Name": "Bob"}, "validity_end_date": "2030-12-31"},
        ],
    ).thing
    target = grid_make(tenant_a, name="Target", fields=ALL_TYPES).thing
    _, rows = export(client_a, source)
    assert rows[0] == [
        "id",
        *(f["name"] for f in ALL_TYPES),
        "classification_item_id",
        "validity_start_date",
        "validity_end_date",
    ]
    assert len(rows) == 3
    buffer = io.StringIO()
    csv.writer(buffer).writerows(rows)
    job = prepared(client_a, tenant_a, target, buffer.getvalue())
    assert (job.valid_rows, job.rejected_rows) == (2, 0)
    response = client_a.post(
        f"/t/tenant_a/things/{target.id}/import/{job.id}/apply/", {"mode": "all"}
    )
    assert response.status_code == 302
    jobs_run_pending()
    assert values_by_name(tenant_a, target) == values_by_name(tenant_a, source)
    with in_tenant(tenant_a):
        copied = list(
            Entry.objects.filter(thing=target)
            .order_by("id")
            .values_list(
                "classification_item_id", "validity_start_date", "validity_end_date"
            )
        )
    assert [(c, str(s), str(e)) for c, s, e in copied] == [
        (item.id, "2024-01-01", "None"),
        (None, "None", "2030-12-31"),
    ]


def test_export_follows_the_grids_filters_search_and_order(client_a, tenant_a):
    made = grid_make(
        tenant_a,
        name="People",
        fields=[{"name": "Name"}, {"name": "Age", "data_type": "integer"}],
        entries=[
            {"values": {"Name": name, "Age": age}}
            for name, age in [("Ada", 36), ("Bob", 9), ("Cy", 41), ("Dee", 10)]
        ],
    )
    with in_tenant(tenant_a):
        age = made.thing.fields.get(name="Age").id
        Entry.objects.filter(pk=made.entry_ids[2]).update(active=False)  # in trash
    _, everyone = export(client_a, made.thing)
    assert [row[1] for row in everyone[1:]] == ["Ada", "Bob", "Dee"]
    _, older = export(client_a, made.thing, f"?f={age}:gte:10&sort=-f{age}")
    assert [row[1:3] for row in older[1:]] == [["Ada", "36"], ["Dee", "10"]]
    _, searched = export(client_a, made.thing, "?q=bo")
    assert [row[1] for row in searched[1:]] == ["Bob"]
    item = item_make(tenant_a, "Kids")
    with in_tenant(tenant_a):
        Entry.objects.filter(pk=made.entry_ids[1]).update(classification_item=item)
    _, classified = export(client_a, made.thing, f"?class={item.id}")
    assert [(row[1], row[-3]) for row in classified[1:]] == [("Bob", str(item.id))]
    _, unclassified = export(client_a, made.thing, "?class=none")
    assert [row[1] for row in unclassified[1:]] == ["Ada", "Dee"]


def test_export_of_no_entries_is_the_header_alone_named_after_the_thing(
    client_a, tenant_a
):
    thing = grid_make(tenant_a, name="Empty / thing", fields=[{"name": "Name"}]).thing
    response, rows = export(client_a, thing)
    assert rows == [
        [
            "id",
            "Name",
            "classification_item_id",
            "validity_start_date",
            "validity_end_date",
        ]
    ]
    today = timezone.localdate().isoformat()
    assert response["Content-Disposition"] == (
        f'attachment; filename="Empty - thing-{today}.csv"'
    )
    assert response["Content-Type"] == "text/csv; charset=utf-8"


def test_viewers_may_export_and_other_tenants_may_not(
    viewer_client_a, client_b, tenant_a
):
    thing = grid_make(
        tenant_a,
        name="People",
        fields=[{"name": "Name"}],
        entries=[{"values": {"Name": "Ada"}}],
    ).thing
    _, rows = export(viewer_client_a, thing)
    assert rows[1][1] == "Ada"
    assert client_b.get(f"/t/tenant_a/things/{thing.id}/export.csv").status_code == 404
    assert client_b.get(f"/t/tenant_b/things/{thing.id}/export.csv").status_code == 404


def test_export_rows_cross_cursor_batches_in_order(tenant_a):
    made = grid_make(
        tenant_a,
        name="Many",
        fields=[{"name": "N", "data_type": "integer"}],
        entries=[{"values": {"N": i}} for i in range(7)],
    )
    with in_tenant(tenant_a):
        fields = list(made.thing.fields.all())
        query = entry_query_parse(params={"sort": f"-f{fields[0].id}"}, fields=fields)
        entries = entries_filtered(thing=made.thing, fields=fields, query=query)
        rows = list(imports.export_rows(entries=entries, fields=fields, batch=3))
    assert [row[1] for row in rows[1:]] == [str(i) for i in range(6, -1, -1)]
    assert [int(row[0]) for row in rows[1:]] == made.entry_ids[::-1]


@given(st.text())
def test_escaped_cells_read_back_exactly(cell):
    assert imports.csv_cell_unescape(imports.csv_cell_escape(cell)) == cell


def test_cells_a_spreadsheet_would_run_are_exported_as_text_and_import_back(
    client_a, tenant_a
):
    formulas = [
        '=HYPERLINK("https://evil.example","x")',
        "+1+2",
        "-2+3",
        "@SUM(A1)",
        "'=already quoted",
    ]
    fields = [
        {"name": "=Name", "data_type": "text", "required_for_initialization": True},
        {"name": "Count", "data_type": "integer"},
    ]
    source = grid_make(
        tenant_a,
        name="Source",
        fields=fields,
        entries=[{"values": {"=Name": text, "Count": "-5"}} for text in formulas],
    ).thing
    _, rows = export(client_a, source)
    assert rows[0][1] == "'=Name"
    assert [row[1] for row in rows[1:]] == ["'" + text for text in formulas]
    assert {row[2] for row in rows[1:]} == {"-5"}  # a number stays a number
    buffer = io.StringIO()
    csv.writer(buffer).writerows(rows)
    target = grid_make(tenant_a, name="Target", fields=fields).thing
    job = prepared(client_a, tenant_a, target, buffer.getvalue())
    assert (job.valid_rows, job.rejected_rows) == (len(formulas), 0)
    client_a.post(
        f"/t/tenant_a/things/{target.id}/import/{job.id}/apply/", {"mode": "all"}
    )
    jobs_run_pending()
    assert values_by_name(tenant_a, target) == values_by_name(tenant_a, source)


def test_the_template_and_rejected_rows_escape_formulas_too(client_a, tenant_a):
    thing = grid_make(
        tenant_a, name="T", fields=[{"name": "=cmd", "data_type": "integer"}]
    ).thing
    template = client_a.get(f"/t/tenant_a/things/{thing.id}/import/template.csv")
    assert b"".join(template.streaming_content).decode("utf-8-sig").startswith("'=cmd,")
    job = prepared(client_a, tenant_a, thing, "=cmd\n=1+1\n")
    assert job.rejected_rows == 1
    rejected = client_a.get(
        f"/t/tenant_a/things/{thing.id}/import/{job.id}/rejected.csv"
    )
    text = b"".join(rejected.streaming_content).decode("utf-8-sig")
    assert list(csv.reader(io.StringIO(text)))[1][2] == "'=1+1"
