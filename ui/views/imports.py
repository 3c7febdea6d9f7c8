"""CSV import into a thing (upload, map, preview, validate, apply) and CSV export
of an entries view. The work happens in ``gathergrid.imports``; these views
parse the request, call it and render the step the job is at."""

import csv
from collections.abc import Callable, Iterable, Iterator
from functools import wraps

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.db import connection
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import path, reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_POST
from django_htmx.http import HttpResponseClientRedirect

from gathergrid import imports
from gathergrid.models import ImportJob, ImportStatus, Thing
from gathergrid.selectors import entries_filtered, entry_query_parse, thing_fields
from gathergrid.tasks import import_apply_queue, import_apply_waiting
from ui.paging import page_of
from ui.permissions import can_write


def writer_only(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """Imports change data: viewers get 403 on every import page, even GET."""

    @wraps(view)
    def wrapped(request: HttpRequest, *args, **kwargs) -> HttpResponse:
        if not can_write(request):
            raise PermissionDenied("Viewers cannot import.")
        return view(request, *args, **kwargs)

    return wrapped


def _job(thing_id: int, job_id: int) -> ImportJob:
    """The job, only under its own thing (another thing's job id is a 404)."""
    return get_object_or_404(
        ImportJob.objects.select_related("thing"), pk=job_id, thing_id=thing_id
    )


def _job_url(request: HttpRequest, job: ImportJob, name: str = "import_job") -> str:
    return reverse(
        f"ui:{name}",
        kwargs={
            "schema": request.tenant.schema_name,
            "thing_id": job.thing_id,
            "job_id": job.pk,
        },
    )


def _go(request: HttpRequest, url: str) -> HttpResponse:
    """Redirect, as a full-page navigation also for htmx requests."""
    if request.htmx:
        return HttpResponseClientRedirect(url)
    return redirect(url)


# --- Upload ------------------------------------------------------------------------


@writer_only
def import_start(request: HttpRequest, schema: str, thing_id: int) -> HttpResponse:
    """The upload form and the thing's past imports; POST uploads a file."""
    thing = get_object_or_404(Thing, pk=thing_id)
    error = ""
    if request.method == "POST":
        upload = request.FILES.get("file")
        if upload is None:
            error = "Choose a CSV file to upload."
        else:
            try:
                job = imports.import_job_create(
                    thing=thing,
                    filename=upload.name or "upload.csv",
                    file=upload,
                    user_id=request.user.pk,
                )
            except imports.ImportRefused as refused:
                error = refused.message
            else:
                return _go(request, _job_url(request, job))
    context = {
        "thing": thing,
        "error": error,
        "max_bytes": imports.max_bytes(),
    }
    if request.htmx and request.method == "POST":
        return render(request, "ui/imports/_upload.html", context, status=400)
    page = page_of(request, imports.import_jobs_of(thing_id=thing.id))
    return render(
        request,
        "ui/imports/start.html",
        {**context, "page": page},
        status=400 if error else 200,
    )


# --- Mapping and preview -------------------------------------------------------------


def _posted_mapping(request: HttpRequest, job: ImportJob) -> list[str]:
    data = request.POST if request.method == "POST" else request.GET
    return [data.get(f"col_{index}", "") for index in range(len(job.header))]


def _mapping_context(
    job: ImportJob, mapping: list[str], errors: dict[int, str] | None = None
) -> dict:
    fields = thing_fields(thing_id=job.thing_id)
    samples = list(job.rows.order_by("number").values_list("raw", flat=True)[:3])
    columns = [
        {
            "index": index,
            "name": name,
            "target": mapping[index] if index < len(mapping) else "",
            "samples": [raw[index] for raw in samples if index < len(raw)],
            "error": (errors or {}).get(index, ""),
        }
        for index, name in enumerate(job.header)
    ]
    return {
        "job": job,
        "thing": job.thing,
        "columns": columns,
        "targets": imports.import_targets(fields=fields),
        "field_targets": [(f"field:{f.id}", f) for f in fields],
        "entry_targets": list(imports.ENTRY_COLUMNS.items()),
        "delimiter": imports.DELIMITER_NAMES.get(job.delimiter, job.delimiter),
    }


@writer_only
def import_mapping(
    request: HttpRequest, schema: str, thing_id: int, job_id: int
) -> HttpResponse:
    """Choose a target for every CSV column; POST saves it and starts validation."""
    job = _job(thing_id, job_id)
    if job.status in (ImportStatus.APPLIED, ImportStatus.DISCARDED):
        return redirect(_job_url(request, job))
    if request.method == "POST":
        mapping = _posted_mapping(request, job)
        try:
            job = imports.import_mapping_set(job=job, mapping=mapping)
        except imports.MappingErrors as problems:
            context = _mapping_context(job, mapping, problems.columns)
            return render(request, "ui/imports/mapping.html", context, status=400)
        except imports.ImportRefused as refused:
            messages.error(request, refused.message)
        return redirect(_job_url(request, job))
    return render(
        request, "ui/imports/mapping.html", _mapping_context(job, job.mapping)
    )


@writer_only
@require_GET
def import_preview(
    request: HttpRequest, schema: str, thing_id: int, job_id: int
) -> HttpResponse:
    """The first rows as they would be stored under the mapping in the query."""
    job = _job(thing_id, job_id)
    mapping = _posted_mapping(request, job) if "col_0" in request.GET else job.mapping
    checker, rows = imports.import_preview(job=job, mapping=mapping)
    fields = checker.fields.values()
    return render(
        request,
        "ui/imports/_preview.html",
        {
            "job": job,
            "mapped": checker.mapped(),
            "rows": rows,
            "unmapped": imports.import_unmapped_fields(fields=fields, mapping=mapping),
        },
    )


# --- Validation, report, apply -----------------------------------------------------


def _report_context(request: HttpRequest, job: ImportJob) -> dict:
    page = page_of(
        request, imports.import_rejected_rows(job=job).only("number", "error", "raw")
    )
    return {
        "job": job,
        "thing": job.thing,
        "rejected": page,
        "rate": imports.import_rows_per_second(job),
        "elapsed": imports.import_elapsed(job),
        # Why the last apply did not happen, if it failed or was interrupted.
        "apply_error": job.error or None,
    }


def _progress_context(job: ImportJob) -> dict:
    return {
        "job": job,
        "rate": imports.import_rows_per_second(job),
        "percent": int(100 * job.validated_rows / job.total_rows)
        if job.total_rows
        else 100,
    }


@writer_only
@require_GET
def import_job(
    request: HttpRequest, schema: str, thing_id: int, job_id: int
) -> HttpResponse:
    """The job at its current step: mapping, validation progress, report, result."""
    job = _job(thing_id, job_id)
    if job.status == ImportStatus.MAPPING:
        return render(
            request, "ui/imports/mapping.html", _mapping_context(job, job.mapping)
        )
    context: dict = {"job": job, "thing": job.thing}
    if job.status == ImportStatus.APPLYING:
        context |= _applying_context(job)
    elif job.status == ImportStatus.VALIDATING:
        context |= _progress_context(job)
    elif job.status == ImportStatus.VALIDATED:
        context |= _report_context(request, job)
    elif job.status == ImportStatus.APPLIED:
        seconds = job.apply_seconds or 0
        context["apply_rate"] = int(job.created_entries / seconds) if seconds else 0
    return render(request, "ui/imports/job.html", context)


@writer_only
@require_POST
def import_validate(
    request: HttpRequest, schema: str, thing_id: int, job_id: int
) -> HttpResponse:
    """Validate the next chunk; htmx chains the calls until the job is done."""
    job = imports.import_validate_step(job=_job(thing_id, job_id))
    if not request.htmx:
        return redirect(_job_url(request, job))
    if job.status == ImportStatus.VALIDATING:
        return render(request, "ui/imports/_progress.html", _progress_context(job))
    if job.status == ImportStatus.VALIDATED:
        return render(request, "ui/imports/_report.html", _report_context(request, job))
    return HttpResponseClientRedirect(_job_url(request, job))


@writer_only
@require_POST
def import_apply(
    request: HttpRequest, schema: str, thing_id: int, job_id: int
) -> HttpResponse:
    """Queue the writing of the chosen rows (one transaction, by the
    background worker), then show the job: queued, its progress, its result."""
    job = _job(thing_id, job_id)
    try:
        job = import_apply_queue(
            job=job, mode=request.POST.get("mode", ""), user_id=request.user.pk
        )
    except imports.ImportRefused as refused:
        job = _job(thing_id, job_id)
        if job.status != ImportStatus.VALIDATED:
            messages.error(request, refused.message)
            return _go(request, _job_url(request, job))
        context = _report_context(request, job) | {"apply_error": refused.message}
        template = "ui/imports/_report.html" if request.htmx else "ui/imports/job.html"
        return render(request, template, context, status=422)
    return _go(request, _job_url(request, job))


def _applying_context(job: ImportJob) -> dict:
    seconds = (
        (timezone.now() - job.apply_started_at).total_seconds()
        if job.apply_started_at
        else 0
    )
    return {
        "job": job,
        "thing": job.thing,
        "percent": int(100 * job.applied_rows / job.valid_rows)
        if job.valid_rows
        else 100,
        "apply_rate": int(job.applied_rows / seconds) if seconds >= 1 else 0,
        "queued": import_apply_waiting(job),
    }


@writer_only
@require_GET
def import_apply_progress(
    request: HttpRequest, schema: str, thing_id: int, job_id: int
) -> HttpResponse:
    """The apply's progress (htmx polls it); the job's page once it is done."""
    job = _job(thing_id, job_id)
    if job.status == ImportStatus.APPLYING and request.htmx:
        return render(request, "ui/imports/_applying.html", _applying_context(job))
    return _go(request, _job_url(request, job))


@writer_only
@require_POST
def import_discard(
    request: HttpRequest, schema: str, thing_id: int, job_id: int
) -> HttpResponse:
    job = _job(thing_id, job_id)
    try:
        imports.import_discard(job=job)
    except imports.ImportRefused as refused:
        messages.error(request, refused.message)
    else:
        messages.success(request, f"Discarded the import of {job.filename}.")
    return _go(
        request, reverse("ui:import", kwargs={"schema": schema, "thing_id": thing_id})
    )


# --- CSV downloads -------------------------------------------------------------------


class _Echo:
    """A file-like object whose write returns the line: csv.writer feeds a stream."""

    def write(self, value: str) -> str:
        return value


def _csv_stream(rows: Iterable[list[str]], schema_tenant) -> Iterator[str]:
    """CSV lines of ``rows``, read under the tenant's schema: the middleware has
    reset the connection by the time the server consumes a streaming body.
    Cells a spreadsheet would run as formulas are escaped (imports undo it)."""
    writer = csv.writer(_Echo())
    connection.set_tenant(schema_tenant)
    try:
        yield "\ufeff"  # spreadsheets read the file as UTF-8 with the mark
        for row in rows:
            yield writer.writerow([imports.csv_cell_escape(cell) for cell in row])
    finally:
        connection.set_schema_to_public()


def _csv_response(
    rows: Iterable[list[str]], filename: str, request: HttpRequest
) -> StreamingHttpResponse:
    response = StreamingHttpResponse(
        _csv_stream(rows, request.tenant), content_type="text/csv; charset=utf-8"
    )
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


@writer_only
@require_GET
def import_rejected_csv(
    request: HttpRequest, schema: str, thing_id: int, job_id: int
) -> HttpResponse:
    job = _job(thing_id, job_id)
    name = job.filename.rsplit(".", 1)[0] or "import"
    return _csv_response(
        imports.import_rejected_csv(job=job), f"{_safe(name)}-rejected.csv", request
    )


def _safe(name: str) -> str:
    """A file name without quotes, slashes or control characters."""
    kept = "".join(c if c.isalnum() or c in "-_. " else "-" for c in name).strip()
    return kept or "export"


@writer_only
@require_GET
def import_template_csv(
    request: HttpRequest, schema: str, thing_id: int
) -> HttpResponse:
    """A CSV with the thing's columns and no rows: a sheet to fill in."""
    thing = get_object_or_404(Thing, pk=thing_id)
    fields = thing_fields(thing_id=thing.id)
    header = imports.export_header(fields=fields)[1:]  # no entry id to give
    return _csv_response([header], f"{_safe(thing.name)}-template.csv", request)


@require_GET
def export_csv(request: HttpRequest, schema: str, thing_id: int) -> HttpResponse:
    """CSV of the grid's current view: its query string (filters, search, sort,
    classification, valid on) passes through. Viewers may export."""
    thing = get_object_or_404(Thing, pk=thing_id)
    fields = thing_fields(thing_id=thing.id)
    query = entry_query_parse(params=request.GET, fields=fields)
    entries = entries_filtered(thing=thing, fields=fields, query=query)
    rows = imports.export_rows(entries=entries, fields=fields)
    filename = f"{_safe(thing.name)}-{timezone.localdate().isoformat()}.csv"
    return _csv_response(rows, filename, request)


urlpatterns = [
    path("things/<int:thing_id>/import/", import_start, name="import"),
    path("things/<int:thing_id>/import/<int:job_id>/", import_job, name="import_job"),
    path(
        "things/<int:thing_id>/import/<int:job_id>/mapping/",
        import_mapping,
        name="import_mapping",
    ),
    path(
        "things/<int:thing_id>/import/<int:job_id>/preview/",
        import_preview,
        name="import_preview",
    ),
    path(
        "things/<int:thing_id>/import/<int:job_id>/validate/",
        import_validate,
        name="import_validate",
    ),
    path(
        "things/<int:thing_id>/import/<int:job_id>/apply/",
        import_apply,
        name="import_apply",
    ),
    path(
        "things/<int:thing_id>/import/<int:job_id>/apply/progress/",
        import_apply_progress,
        name="import_apply_progress",
    ),
    path(
        "things/<int:thing_id>/import/<int:job_id>/discard/",
        import_discard,
        name="import_discard",
    ),
    path(
        "things/<int:thing_id>/import/<int:job_id>/rejected.csv",
        import_rejected_csv,
        name="import_rejected_csv",
    ),
    path(
        "things/<int:thing_id>/import/template.csv",
        import_template_csv,
        name="import_template",
    ),
    path("things/<int:thing_id>/export.csv", export_csv, name="export"),
]
