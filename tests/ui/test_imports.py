"""CSV import: upload and parsing, mapping, preview, chunked validation with
reasons per row, both apply modes, one transaction, roles and tenant isolation."""

import csv
import io
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.db import connection
from django.db.models import Count
from django.utils import timezone
from hypothesis import given
from hypothesis import strategies as st

from core.jobs import defer, jobs_retry_stalled, jobs_run_pending
from gathergrid import imports
from gathergrid.models import (
    Entry,
    EntryHistory,
    FieldEntry,
    ImportJob,
    ImportRow,
    ImportStatus,
)
from gathergrid.services.entries import EntryWriter
from gathergrid.tasks import import_apply_job
from tenants.commands import TenantGone
from tests.factories import DEFAULT_FIELDS, grid_make, in_tenant, item_make

# The grid tests' fields, with long notes instead of the VIP flag.
PEOPLE = [
    *(spec for spec in DEFAULT_FIELDS if spec["name"] != "Vip"),
    {"name": "Notes", "data_type": "long_text"},
]


def base(thing, tail: str = "") -> str:
    thing_id = thing if isinstance(thing, int) else thing.id
    return f"/t/tenant_a/things/{thing_id}/import/{tail}"


def upload(client, thing, content: bytes | str, name: str = "people.csv"):
    data = content.encode() if isinstance(content, str) else content
    file = io.BytesIO(data)
    file.name = name
    return client.post(base(thing), {"file": file})


def job_of(tenant, response) -> ImportJob:
    job_id = int(response["Location"].rstrip("/").rsplit("/", 1)[1])
    with in_tenant(tenant):
        return ImportJob.objects.get(pk=job_id)


def mapping_post(client, job, mapping: list[str]):
    data = {f"col_{i}": target for i, target in enumerate(mapping)}
    return client.post(base(job.thing_id, f"{job.id}/mapping/"), data)


def validate_all(client, job) -> None:
    for _ in range(1000):
        response = client.post(
            base(job.thing_id, f"{job.id}/validate/"), headers={"HX-Request": "true"}
        )
        assert response.status_code == 200
        if "report" in response.content.decode():
            return
    raise AssertionError("validation did not finish")


def prepared(client, tenant, thing, content, mapping=None) -> ImportJob:
    """Upload, keep the default mapping (or ``mapping``), validate."""
    job = job_of(tenant, upload(client, thing, content))
    assert mapping_post(client, job, mapping or job.mapping).status_code == 302
    validate_all(client, job)
    with in_tenant(tenant):
        return ImportJob.objects.get(pk=job.pk)


GOOD_AND_BAD = (
    "name;AGE;born;Status;Extra\n"
    "Ada;36;1815-12-10;Open;x\n"
    "Bob;old;1990-01-01;Open;x\n"
    ";40;;Closed;x\n"
    "Cy;41;1990-02-30;Maybe;x\n"
    'Dee;;;Closed;"two\nlines"\n'
)


@pytest.fixture
def people(tenant_a):
    return grid_make(tenant_a, name="People", fields=PEOPLE).thing


# --- Parsing -----------------------------------------------------------------------


@pytest.mark.parametrize("in_memory", [True, False])
def test_upload_reads_bom_semicolons_and_quoted_newlines(
    client_a, tenant_a, people, settings, in_memory
):
    if not in_memory:  # a bigger upload is a temporary file: read the same
        settings.FILE_UPLOAD_MAX_MEMORY_SIZE = 10
    text = '\ufeffName;Notes\nAda;"first line\nsecond; line"\nBob;plain\n'
    job = job_of(tenant_a, upload(client_a, people, text))
    assert job.delimiter == ";"
    assert job.header == ["Name", "Notes"]  # no BOM left in the first name
    with in_tenant(tenant_a):
        rows = list(ImportRow.objects.filter(job=job).values_list("number", "raw"))
    assert rows == [(2, ["Ada", "first line\nsecond; line"]), (3, ["Bob", "plain"])]


CELL = st.text(
    st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00\r")
)


@given(
    table=st.lists(
        st.lists(CELL, min_size=2, max_size=2).filter(
            lambda r: any(c.strip() for c in r)
        ),
        min_size=1,
        max_size=6,
    ),
    delimiter=st.sampled_from(imports.DELIMITERS),
    bom=st.booleans(),
)
def test_any_table_written_as_csv_reads_back_cell_for_cell(table, delimiter, bom):
    buffer = io.StringIO()
    csv.writer(buffer, delimiter=delimiter).writerows(table)
    data = ("\ufeff" if bom else "") + buffer.getvalue()
    text, _ = imports.csv_open(io.BytesIO(data.encode()))
    assert [cells for _, cells in imports.csv_records(text, delimiter)] == table


def test_tabs_are_sniffed_and_blank_lines_skipped(tenant_a, people):
    with in_tenant(tenant_a):
        job = imports.import_job_create(
            thing=people,
            filename="t.tsv",
            file=io.BytesIO(b"Name\tAge\n\nAda\t3\n\n"),
            user_id=None,
        )
        assert job.delimiter == "\t"
        assert job.total_rows == 1
        assert list(job.rows.values_list("number", flat=True)) == [3]


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        (b"", "The file is empty."),
        (b"Name,Age\n", "The file has a header but no rows."),
        (
            "Name\nJos\xe9\n".encode("latin-1"),
            "not UTF-8 text (an invalid byte on line 2)",
        ),
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "This is not a CSV file"),
        # Past the first 64 KB the head check reads.
        (b"Name\n" + b"a\n" * 40_000 + b"b\x00c\n", "binary data (on line 40002)"),
        ("Name\nA\n".encode("utf-16"), "The file is UTF-16 text"),
        (b"PK\x03\x04\x14\x00\x06\x00", "a spreadsheet workbook (.xlsx)"),
    ],
)
def test_unreadable_files_are_refused_in_words(
    client_a, tenant_a, people, content, reason
):
    response = upload(client_a, people, content)
    assert response.status_code == 400
    assert reason in response.content.decode()
    with in_tenant(tenant_a):
        assert not ImportJob.objects.exists()


def test_a_bad_byte_deep_in_a_big_file_is_named_by_line_and_stages_nothing(
    tenant_a, people
):
    lines = [b"Name"] + [b"person %06d" % i for i in range(80_000)]
    lines[70_000] = b"Jos\xe9"  # line 70,001, past the first megabyte
    with in_tenant(tenant_a):
        with pytest.raises(imports.ImportFileError, match="on line 70001"):
            imports.import_job_create(
                thing=people,
                filename="big.csv",
                file=io.BytesIO(b"\n".join(lines)),
                user_id=None,
            )
        assert not ImportRow.objects.exists()


def test_upload_through_htmx_answers_with_a_redirect_or_the_form_and_its_error(
    client_a, tenant_a, people
):
    def post(content: bytes):
        file = io.BytesIO(content)
        file.name = "x.csv"
        return client_a.post(
            base(people), {"file": file}, headers={"HX-Request": "true"}
        )

    refused = post(b"   ")
    assert refused.status_code == 400
    body = refused.content.decode()
    assert body.startswith('<section id="upload"') and "The file is empty." in body
    accepted = post(b"Name\nAda\n")
    assert accepted["HX-Redirect"].startswith(base(people))


def test_file_over_the_limit_is_refused(client_a, tenant_a, people, settings):
    settings.UI_IMPORT_MAX_BYTES = 100
    response = upload(client_a, people, "Name\n" + "x\n" * 100)
    assert response.status_code == 400
    assert "the limit is" in response.content.decode()


# --- Mapping and preview -------------------------------------------------------------


def test_columns_map_by_name_ignoring_case(client_a, tenant_a, people):
    job = job_of(tenant_a, upload(client_a, people, GOOD_AND_BAD))
    with in_tenant(tenant_a):
        ids = {f.name: f.id for f in people.fields.all()}
    assert job.mapping == [
        f"field:{ids['Name']}",
        f"field:{ids['Age']}",
        f"field:{ids['Born']}",
        f"field:{ids['Status']}",
        "",
    ]
    page = client_a.get(base(people, f"{job.id}/")).content.decode()
    assert '<label for="col_4">Extra</label>' in page
    assert f'<option value="field:{ids["Age"]}" selected>' in page


def test_preview_shows_stored_values_and_reasons_and_unmapped_required(
    client_a, tenant_a, people
):
    job = job_of(tenant_a, upload(client_a, people, "Age;Status\n007;Open\nx;Nope\n"))
    preview = client_a.get(base(people, f"{job.id}/preview/")).content.decode()
    assert "<strong>Name</strong>" in preview  # required, unmapped: said up front
    assert "<td>7</td>" in preview  # normalised as the API stores it
    assert "Age: &#x27;x&#x27; is not a whole number" in preview
    assert "Status: &#x27;Nope&#x27; is not one of the choices: Open, Closed" in preview
    # The preview follows an unsaved mapping given in the query.
    skipped = client_a.get(
        base(people, f"{job.id}/preview/"), {"col_0": "", "col_1": job.mapping[1]}
    ).content.decode()
    assert "whole number" not in skipped
    forged = client_a.get(base(people, f"{job.id}/preview/"), {"col_0": "field:0"})
    assert forged.status_code == 200  # an unknown target maps nothing


def test_a_field_chosen_twice_is_refused_next_to_the_column(client_a, tenant_a, people):
    job = job_of(tenant_a, upload(client_a, people, "Name,Name again\nA,B\n"))
    response = mapping_post(client_a, job, [job.mapping[0], job.mapping[0]])
    assert response.status_code == 400
    assert "Already chosen for column “Name”" in response.content.decode()


# --- Validation and report -----------------------------------------------------------


def test_validation_gives_each_rejected_row_its_reasons(client_a, tenant_a, people):
    job = prepared(client_a, tenant_a, people, GOOD_AND_BAD)
    assert (job.status, job.total_rows, job.valid_rows, job.rejected_rows) == (
        ImportStatus.VALIDATED,
        5,
        2,
        3,
    )
    with in_tenant(tenant_a):
        errors = dict(
            job.rows.filter(error__isnull=False).values_list("number", "error")
        )
    assert errors == {
        3: "Age: 'old' is not a whole number",
        4: "missing required-for-initialization value(s): Name",
        5: "Born: '1990-02-30' is not a date (YYYY-MM-DD); "
        "Status: 'Maybe' is not one of the choices: Open, Closed",
    }
    with in_tenant(tenant_a):  # rejected rows carry no entry to write
        assert job.rows.filter(values__isnull=True).count() == 3
    report = client_a.get(base(people, f"{job.id}/")).content.decode()
    assert 'max="5" value="5"' in report
    assert "Age: &#x27;old&#x27; is not a whole number" in report


def test_validation_runs_in_chunks_with_progress(client_a, tenant_a, people):
    content = "Name;Age\n" + "".join(f"P{i};{i}\n" for i in range(25))
    job = job_of(tenant_a, upload(client_a, people, content))
    mapping_post(client_a, job, job.mapping)
    page = client_a.get(base(people, f"{job.id}/")).content.decode()
    assert '<progress id="validation-progress" max="25" value="0">' in page
    assert 'hx-trigger="load"' in page  # the page drives the steps
    with in_tenant(tenant_a):
        step = imports.import_validate_step(job=job, chunk=10)
        assert (step.validated_rows, step.status) == (10, ImportStatus.VALIDATING)
    page = client_a.get(base(people, f"{job.id}/")).content.decode()
    assert 'max="25" value="10"' in page and "10 of 25 rows checked (40%)" in page
    response = client_a.post(
        base(people, f"{job.id}/validate/"), headers={"HX-Request": "true"}
    )
    body = response.content.decode()
    assert 'max="25" value="25"' in body and "Validated 25 rows" in body
    assert 'hx-trigger="load"' not in body  # done: the chain stops


def test_entry_columns_are_checked_like_the_api(client_a, tenant_a, people):
    item = item_make(tenant_a, "Europe")
    content = (
        "Name,classification_item,valid from,valid to\n"
        f"A,{item.id},2024-01-01,2024-12-31\n"
        "B,Europe,,\n"
        "C,Atlantis,,\n"
        "D,,2024-05-01,2024-01-01\n"
    )
    job = prepared(client_a, tenant_a, people, content)
    with in_tenant(tenant_a):
        rows = {r.number: r for r in job.rows.all()}
    assert rows[2].values == {
        "classification_item_id": item.id,
        "validity_start_date": "2024-01-01",
        "validity_end_date": "2024-12-31",
        "field_entries": [
            {
                "field_id": rows[2].values["field_entries"][0]["field_id"],
                "entered_value": "A",
            }
        ],
    }
    assert rows[3].values["classification_item_id"] == item.id
    assert (
        rows[4].error == "classification item “Atlantis” does not exist or is inactive"
    )
    assert rows[5].error == (
        "validity_end_date: must not be before validity_start_date"
    )


def test_references_must_name_an_entry_of_the_target_thing(client_a, tenant_a):
    target = grid_make(
        tenant_a,
        name="Teams",
        fields=[{"name": "Team"}],
        entries=[{"values": {"Team": "Red"}}],
    )
    thing = grid_make(
        tenant_a,
        name="Players",
        fields=[
            {"name": "Name"},
            {
                "name": "Team",
                "data_type": "reference",
                "options": {"thing_id": target.thing.id},
            },
        ],
    ).thing
    job = prepared(
        client_a, tenant_a, thing, f"Name,Team\nA,{target.entry_ids[0]}\nB,999999\n"
    )
    assert (job.valid_rows, job.rejected_rows) == (1, 1)
    with in_tenant(tenant_a):
        error = job.rows.get(number=3).error
    assert error == (
        f"Team: entry 999999 is not an active entry of thing {target.thing.id}"
    )


def test_references_may_name_the_entry_by_its_name(client_a, tenant_a):
    target = grid_make(
        tenant_a,
        name="Teams",
        fields=[{"name": "Team"}],
        entries=[{"values": {"Team": t}} for t in ("Red", "Blue", "Blue")],
    )
    thing = grid_make(
        tenant_a,
        name="Players",
        fields=[
            {"name": "Name"},
            {
                "name": "Team",
                "data_type": "reference",
                "options": {"thing_id": target.thing.id},
            },
        ],
    ).thing
    red = target.entry_ids[0]
    job = prepared(
        client_a,
        tenant_a,
        thing,
        f"Name,Team\nA,red\nB,#{red}\nC,Blue\nD,Green\n",
    )
    assert (job.valid_rows, job.rejected_rows) == (2, 2)
    with in_tenant(tenant_a):
        errors = {r.number: r.error for r in job.rows.all()}
    assert errors[2] is None and errors[3] is None
    assert errors[4].startswith("Team: 2 entries are named “Blue”")
    assert errors[5] == "Team: no entry is named “Green”"
    client_a.post(base(thing, f"{job.id}/apply/"), {"mode": "valid"})
    jobs_run_pending()
    with in_tenant(tenant_a):
        teams = sorted(
            FieldEntry.objects.filter(
                field__name="Team", field__thing=thing
            ).values_list("entered_value", flat=True)
        )
    assert teams == [str(red), str(red)]


def test_report_query_count_does_not_grow_with_rejected_rows(
    client_a, tenant_a, people, django_assert_max_num_queries
):
    few = prepared(client_a, tenant_a, people, "Name,Age\nA,x\nB,2\n")
    many = prepared(
        client_a,
        tenant_a,
        people,
        "Name,Age\n" + "".join(f"A{i},x\n" for i in range(30)),
    )
    for job in (few, many):
        with django_assert_max_num_queries(9):
            response = client_a.get(base(people, f"{job.id}/"))
        assert response.status_code == 200
    assert response.content.decode().count("is not a whole number") == 30


def test_import_list_and_mapping_pages_cost_a_fixed_number_of_queries(
    client_a, tenant_a, people, django_assert_max_num_queries
):
    first = job_of(tenant_a, upload(client_a, people, "Name\nA\n"))
    for size in (1, 30):
        while True:
            with in_tenant(tenant_a):
                if ImportJob.objects.count() >= size:
                    break
            upload(client_a, people, "Name\nA\n")
        with django_assert_max_num_queries(9):
            listing = client_a.get(base(people))
        assert listing.content.decode().count("people.csv") == size
    wide = ",".join(f"C{i}" for i in range(40))
    many = job_of(tenant_a, upload(client_a, people, f"{wide}\n{wide}\n"))
    for job in (first, many):
        with django_assert_max_num_queries(9):
            assert client_a.get(base(people, f"{job.id}/")).status_code == 200
        with django_assert_max_num_queries(9):
            assert client_a.get(base(people, f"{job.id}/preview/")).status_code == 200


def test_the_template_has_the_things_columns_and_imports_back(
    client_a, tenant_a, people
):
    response = client_a.get(base(people, "template.csv"))
    assert (
        response["Content-Disposition"] == 'attachment; filename="People-template.csv"'
    )
    text = b"".join(response.streaming_content).decode("utf-8-sig")
    header = text.splitlines()[0].split(",")
    assert header[:5] == ["Name", "Age", "Born", "Status", "Notes"]
    job = job_of(tenant_a, upload(client_a, people, text + "Ada,1,,Open,\n"))
    assert "" not in job.mapping  # every column maps back by its name


def test_rejected_rows_download_as_csv(client_a, tenant_a, people):
    job = prepared(client_a, tenant_a, people, GOOD_AND_BAD)
    response = client_a.get(base(people, f"{job.id}/rejected.csv"))
    assert (
        response["Content-Disposition"] == 'attachment; filename="people-rejected.csv"'
    )
    rows = list(
        csv.reader(
            io.StringIO(b"".join(response.streaming_content).decode("utf-8-sig"))
        )
    )
    assert rows[0] == ["row", "reason", "name", "AGE", "born", "Status", "Extra"]
    assert [r[0] for r in rows[1:]] == ["3", "4", "5"]
    assert rows[1][2:] == ["Bob", "old", "1990-01-01", "Open", "x"]


# --- Apply ---------------------------------------------------------------------------


def test_apply_valid_rows_writes_entries_values_and_history(
    client_a, tenant_a, people, admin_a
):
    job = prepared(client_a, tenant_a, people, GOOD_AND_BAD)
    response = client_a.post(base(people, f"{job.id}/apply/"), {"mode": "valid"})
    assert response.status_code == 302
    assert [run.task for run in jobs_run_pending()] == ["import_apply"]
    with in_tenant(tenant_a):
        entries = list(Entry.objects.filter(thing=people).order_by("id"))
        values = {
            (fe.entry_id, fe.field.name): fe.entered_value
            for fe in FieldEntry.objects.filter(entry__thing=people).select_related(
                "field"
            )
        }
        history = EntryHistory.objects.filter(entry__thing=people).count()
        job.refresh_from_db()
        staged = ImportRow.objects.filter(job=job).count()
    assert len(entries) == 2 and {e.created_by for e in entries} == {admin_a.pk}
    ada, dee = entries
    assert values[(ada.id, "Age")] == "36" and values[(ada.id, "Born")] == "1815-12-10"
    assert values[(dee.id, "Status")] == "Closed"
    assert history == 2 + len(values)  # one per entry, one per value
    assert (job.status, job.created_entries, job.mode, staged) == (
        "applied",
        2,
        "valid",
        0,
    )
    page = client_a.get(base(people, f"{job.id}/")).content.decode()
    assert "Applied: 2 entries created" in page
    assert f'href="/t/tenant_a/things/{people.id}/"' in page


def test_all_or_nothing_with_one_bad_row_writes_nothing(client_a, tenant_a, people):
    job = prepared(client_a, tenant_a, people, "Name,Age\nA,1\nB,x\nC,3\n")
    response = client_a.post(base(people, f"{job.id}/apply/"), {"mode": "all"})
    assert response.status_code == 422
    assert "All or nothing: 1 row(s) are rejected" in response.content.decode()
    with in_tenant(tenant_a):
        assert not Entry.objects.filter(thing=people).exists()
        assert ImportJob.objects.get(pk=job.pk).status == ImportStatus.VALIDATED


def test_all_or_nothing_applies_a_clean_file(client_a, tenant_a, people):
    job = prepared(client_a, tenant_a, people, "Name,Age\nA,1\nB,2\n")
    response = client_a.post(
        base(people, f"{job.id}/apply/"),
        {"mode": "all"},
        headers={"HX-Request": "true"},
    )
    assert response["HX-Redirect"] == base(people, f"{job.id}/")
    jobs_run_pending()
    with in_tenant(tenant_a):
        assert Entry.objects.filter(thing=people).count() == 2


def test_applying_twice_is_refused_and_writes_once(client_a, tenant_a, people):
    job = prepared(client_a, tenant_a, people, "Name\nA\nB\n")
    client_a.post(base(people, f"{job.id}/apply/"), {"mode": "valid"})
    jobs_run_pending()
    again = client_a.post(
        base(people, f"{job.id}/apply/"), {"mode": "valid"}, follow=True
    )
    assert "already applied: it created 2 entries" in again.content.decode()
    with in_tenant(tenant_a):
        assert Entry.objects.filter(thing=people).count() == 2
        with pytest.raises(imports.ImportRefused, match="already applied"):
            imports.import_apply(job=job, mode="valid", user_id=None)


def test_a_crash_mid_apply_leaves_no_rows(tenant_a, people, monkeypatch):
    with in_tenant(tenant_a):
        job = imports.import_job_create(
            thing=people,
            filename="big.csv",
            file=io.BytesIO(
                ("Name\n" + "".join(f"P{i}\n" for i in range(12))).encode()
            ),
            user_id=None,
        )
        imports.import_mapping_set(job=job, mapping=job.mapping)
        imports.import_validate_step(job=job)
        monkeypatch.setattr(imports.apply, "APPLY_CHUNK", 5)
        insert = EntryWriter.insert
        calls = []

        def crash_on_second_chunk(self, rows, **kwargs):
            calls.append(len(rows))
            if len(calls) == 2:
                assert Entry.objects.filter(thing=people).count() == 5  # written...
                raise RuntimeError("worker killed")
            return insert(self, rows, **kwargs)

        monkeypatch.setattr(EntryWriter, "insert", crash_on_second_chunk)
        with pytest.raises(RuntimeError):
            imports.import_apply(job=job, mode="valid", user_id=None)
        assert Entry.objects.filter(thing=people).count() == 0  # ...and rolled back
        assert EntryHistory.objects.filter(entry__thing=people).count() == 0
        job.refresh_from_db()
        assert job.status == ImportStatus.VALIDATED and job.rows.count() == 12
        monkeypatch.setattr(EntryWriter, "insert", insert)
        assert (
            imports.import_apply(job=job, mode="valid", user_id=None).created_entries
            == 12
        )


def test_a_change_since_validation_fails_the_apply_naming_the_file_row(
    client_a, tenant_a, people
):
    job = prepared(client_a, tenant_a, people, "Name,Age\nA,1\nB,2\n")
    with in_tenant(tenant_a):  # as if Name became required after validation
        ImportRow.objects.filter(job=job, number=3).update(values={"field_entries": []})
    response = client_a.post(base(people, f"{job.id}/apply/"), {"mode": "valid"})
    # The worker's apply runs after the request has queued it: the job's page,
    # back at its report, says why nothing was imported.
    assert response["Location"] == base(people, f"{job.id}/")
    assert [run.status for run in jobs_run_pending()] == ["succeeded"]
    page = client_a.get(response["Location"]).content.decode()
    assert "Nothing was imported: row 3: field_entries: missing" in page
    with in_tenant(tenant_a):
        assert not Entry.objects.filter(thing=people).exists()
        assert ImportJob.objects.get(pk=job.pk).status == ImportStatus.VALIDATED


def test_discard_drops_the_staging_rows(client_a, tenant_a, people):
    job = job_of(tenant_a, upload(client_a, people, GOOD_AND_BAD))
    response = client_a.post(base(people, f"{job.id}/discard/"))
    assert response["Location"] == base(people)
    with in_tenant(tenant_a):
        job.refresh_from_db()
        assert job.status == ImportStatus.DISCARDED and not job.rows.exists()
    listing = client_a.get(base(people)).content.decode()
    assert "people.csv" in listing and "Discarded" in listing


# --- Roles and tenants ---------------------------------------------------------------


def test_viewers_cannot_import(viewer_client_a, client_a, tenant_a, people):
    job = job_of(tenant_a, upload(client_a, people, "Name\nA\n"))
    assert viewer_client_a.get(base(people)).status_code == 403
    assert upload(viewer_client_a, people, "Name\nA\n").status_code == 403
    for tail in ("", "preview/", "rejected.csv"):
        assert viewer_client_a.get(base(people, f"{job.id}/{tail}")).status_code == 403
    assert viewer_client_a.get(base(people, "template.csv")).status_code == 403
    for tail in ("mapping/", "validate/", "apply/", "discard/"):
        assert viewer_client_a.post(base(people, f"{job.id}/{tail}")).status_code == 403
    page = viewer_client_a.get(
        f"/t/tenant_a/things/{people.id}/trash/"
    ).content.decode()
    assert "Import CSV" not in page


def test_editors_can_import(tenant_a, people, editor_a):
    from tests.clients import ui_client

    editor = ui_client(editor_a)
    job = prepared(editor, tenant_a, people, "Name\nA\n")
    assert (
        editor.post(base(people, f"{job.id}/apply/"), {"mode": "valid"}).status_code
        == 302
    )


def test_another_tenants_and_another_things_jobs_are_not_found(
    client_a, client_b, tenant_a, people
):
    job = job_of(tenant_a, upload(client_a, people, "Name\nA\n"))
    other = grid_make(tenant_a, name="Other", fields=[{"name": "Name"}]).thing
    assert client_b.get(base(people, f"{job.id}/")).status_code == 404
    assert (
        client_b.get(f"/t/tenant_b/things/{people.id}/import/{job.id}/").status_code
        == 404
    )
    for tail in ("", "preview/", "rejected.csv"):
        assert client_a.get(base(other, f"{job.id}/{tail}")).status_code == 404
    assert (
        client_a.post(base(other, f"{job.id}/apply/"), {"mode": "valid"}).status_code
        == 404
    )
    assert client_a.get(base(people, "999999/")).status_code == 404


# --- Operators -----------------------------------------------------------------------


def test_import_csv_command_validates_applies_and_reports_progress(
    tenant_a, people, tmp_path
):
    path = tmp_path / "people.csv"
    path.write_text("Name,Age\n" + "".join(f"P{i},{i}\n" for i in range(30)) + "Q,x\n")
    out = io.StringIO()
    call_command(
        "import_csv", "tenant_a", str(people.id), str(path), "--chunk", "10", stdout=out
    )
    text = out.getvalue()
    assert "31 rows staged" in text
    assert "validated 10/31" in text and "rows/s" in text
    assert "row 32: Age: 'x' is not a whole number" in text
    assert "created 30 entries" in text
    with in_tenant(tenant_a):
        counts = dict(
            Entry.objects.filter(thing=people)
            .values_list("thing")
            .annotate(Count("id"))
        )
    assert counts == {people.id: 30}


# --- Applying in the worker: queued, progress, a dead worker ----------------------


def applying(tenant, job, *, rows: int, seconds_ago: float) -> None:
    """Put ``job`` where a running (or stopped) apply leaves it."""
    with in_tenant(tenant):
        ImportJob.objects.filter(pk=job.pk).update(
            status=ImportStatus.APPLYING,
            mode="valid",
            applied_rows=rows,
            apply_started_at=timezone.now() - timedelta(seconds=seconds_ago + 10),
            updated_at=timezone.now() - timedelta(seconds=seconds_ago),
        )


def test_an_apply_in_progress_shows_its_rows_and_polls(client_a, tenant_a, people):
    job = prepared(client_a, tenant_a, people, "Name,Age\nA,1\nB,2\nC,3\n")
    applying(tenant_a, job, rows=2, seconds_ago=1)
    page = client_a.get(base(people, f"{job.id}/")).content.decode()
    assert "Applying 3 rows…" in page
    assert "2 of 3 rows written (66%)" in page
    assert 'hx-get="' + base(people, f"{job.id}/apply/progress/") in page
    progress = client_a.get(
        base(people, f"{job.id}/apply/progress/"), headers={"HX-Request": "true"}
    )
    assert progress.status_code == 200 and "2 of 3 rows written" in progress.text
    # A second apply meanwhile is refused.
    again = client_a.post(base(people, f"{job.id}/apply/"), {"mode": "valid"})
    assert again.status_code == 302
    followed = client_a.get(again["Location"]).content.decode()
    assert "This import is being applied; wait for it to finish." in followed


def test_once_applied_the_progress_poll_goes_to_the_result(client_a, tenant_a, people):
    job = prepared(client_a, tenant_a, people, "Name,Age\nA,1\n")
    client_a.post(base(people, f"{job.id}/apply/"), {"mode": "valid"})
    jobs_run_pending()
    progress = client_a.get(
        base(people, f"{job.id}/apply/progress/"), headers={"HX-Request": "true"}
    )
    assert progress["HX-Redirect"] == base(people, f"{job.id}/")
    with in_tenant(tenant_a):
        job = ImportJob.objects.get(pk=job.pk)
        assert (job.status, job.created_entries, job.applied_rows) == ("applied", 1, 1)


def test_an_apply_is_queued_for_the_worker_and_shown_queued(client_a, tenant_a, people):
    job = prepared(client_a, tenant_a, people, "Name,Age\nA,1\nB,2\n")
    response = client_a.post(base(people, f"{job.id}/apply/"), {"mode": "valid"})
    assert response.status_code == 302
    page = client_a.get(response["Location"]).content.decode()
    assert "Queued" in page and "waiting for the background worker" in page
    with in_tenant(tenant_a):
        assert ImportJob.objects.get(pk=job.pk).status == ImportStatus.APPLYING
        assert not Entry.objects.filter(thing=people).exists()
    # The job names its tenant; the worker applies it there.
    runs = jobs_run_pending()
    assert [(r.task, r.args, r.status) for r in runs] == [
        ("import_apply", {"schema_name": "tenant_a", "import_id": job.pk}, "succeeded")
    ]
    page = client_a.get(response["Location"]).content.decode()
    assert "Applied: 2 entries created" in page
    assert jobs_run_pending() == []  # done once


def test_an_apply_whose_worker_died_is_run_again_and_writes_once(
    client_a, tenant_a, people
):
    job = prepared(client_a, tenant_a, people, "Name,Age\nA,1\nB,2\n")
    client_a.post(base(people, f"{job.id}/apply/"), {"mode": "valid"})
    with connection.cursor() as cursor:  # a worker took it, then was killed
        cursor.execute(
            "UPDATE procrastinate_jobs SET status = 'doing', worker_id = NULL "
            "WHERE task_name = 'import_apply'"
        )
    page = client_a.get(base(people, f"{job.id}/")).content.decode()
    assert "Applying 2 rows" in page  # not queued: taken
    assert jobs_run_pending() == []
    assert len(jobs_retry_stalled()) == 1
    assert [r.status for r in jobs_run_pending()] == ["succeeded"]
    with in_tenant(tenant_a):
        assert Entry.objects.filter(thing=people).count() == 2
        assert ImportJob.objects.get(pk=job.pk).status == ImportStatus.APPLIED
    assert jobs_retry_stalled() == [] and jobs_run_pending() == []


def test_a_job_of_tenant_a_touches_tenant_a_only(client_a, tenant_a, tenant_b, people):
    """The job's schema argument decides where it applies: tenant A's import
    id named with tenant B's schema finds nothing there, and writes nothing."""
    job = prepared(client_a, tenant_a, people, "Name\nA\n")
    with in_tenant(tenant_a):
        imports.import_apply_start(job=job, mode="valid", user_id=None)
    defer(import_apply_job, schema_name="tenant_b", import_id=job.pk)
    with pytest.raises(ImportJob.DoesNotExist):
        jobs_run_pending()
    with in_tenant(tenant_a):
        assert ImportJob.objects.get(pk=job.pk).status == ImportStatus.APPLYING
        assert not Entry.objects.filter(thing=people).exists()
    with in_tenant(tenant_b):
        assert not Entry.objects.exists()
    defer(import_apply_job, schema_name="nobody", import_id=job.pk)
    with pytest.raises(TenantGone):
        jobs_run_pending()
    defer(import_apply_job, schema_name="tenant_a", import_id=job.pk)
    assert [r.status for r in jobs_run_pending()] == ["succeeded"]
    with in_tenant(tenant_a):
        assert ImportJob.objects.get(pk=job.pk).status == ImportStatus.APPLIED
