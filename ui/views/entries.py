"""The entries grid of a thing, its trash, and an entry's history.

The grid's state (filters, search, sort, page) is in the query string, parsed
by ``gathergrid.selectors.entry_query_parse``; a page is two queries however
many rows and fields (``entries_page``). Each cell is an input saving itself
with htmx (``hx-post`` on change) and answering with the re-rendered cell, or
the cell with its error in words (status 422). Without JavaScript each row's
id links to a plain form page for the entry. Writes go through the API's
writers (``ui/forms_entries.py``).
"""

import json
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

from django import forms
from django.conf import settings
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse, QueryDict
from django.middleware.csrf import get_token
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import path, reverse
from django.utils.html import escape
from django.utils.safestring import mark_safe
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from core.errors import ApplicationError, Conflict, NotFound
from core.http import next_url
from core.writes import WriteContext
from gathergrid.models import (
    ClassificationItem,
    Entry,
    EntryHistory,
    Field,
    FieldDataType,
    HistoryAction,
    Thing,
)
from gathergrid.selectors import (
    ENTRY_COUNT_CAP,
    FILTER_OPERATORS,
    Deletion,
    EntriesPage,
    EntryQuery,
    FilterOperator,
    classification_items,
    classification_names,
    entries_page,
    entry_deletions,
    entry_history_list,
    entry_ids_matching,
    entry_query_parse,
    entry_referrers_count,
    entry_row,
    reference_labels,
    thing_fields,
    user_emails,
)
from gathergrid.services.bulk import entries_bulk_change
from gathergrid.services.entries import entry_set_active
from gathergrid.services.undo import entry_revert_to, history_revert
from gathergrid.values import choices_of
from ui.forms_entries import (
    ENTRY_COLUMNS,
    NUMERIC_TYPES,
    EntryForm,
    cell_save,
    display_value,
    error_words,
    input_value,
)
from ui.paging import page_of
from ui.permissions import can_write, write_required

GET_POST = require_http_methods(["GET", "HEAD", "POST"])


def _ctx(request: HttpRequest) -> WriteContext:
    return WriteContext(user_id=str(request.user.pk))


def _thing_fields(thing_id: int) -> tuple[Thing, list[Field]]:
    thing = get_object_or_404(Thing, pk=thing_id)
    return thing, thing_fields(thing_id=thing.id)


def _entry_of(thing: Thing, entry_id: int) -> Entry:
    """An entry of this thing (404 for another thing's entry)."""
    return get_object_or_404(Entry, pk=entry_id, thing_id=thing.id)


# --- Presentation of rows and cells ---------------------------------------------


@dataclass
class Cell:
    """One grid cell: ``key`` is ``f<field id>`` or an entry column's key."""

    key: str
    label: str
    kind: str  # text, number, date, datetime, checkbox, select, textarea
    value: str
    display: str
    choices: list[tuple[str, str]] = field(default_factory=list)
    error: str = ""
    saved: bool = False
    # The stored value as text when the cell was drawn: sent back with a save,
    # so that a change someone made meanwhile is not silently overwritten.
    seen: str = ""
    # A reference: the linked entry's page (``display`` is its name).
    link: str = ""


@dataclass
class Row:
    entry: Entry
    cells: list[Cell]
    url: str  # the entry's URL; its actions and cells are below it
    editable: bool = False
    # In the trash: when it was deleted and by whom (words).
    deleted: Deletion | None = None
    deleted_by: str = ""

    def html(self, *, actions: "RowActions") -> str:
        """The whole ``<tr>``: id (a link to the entry's form), cells, status,
        actions. Python, not a template, for the same reason as cell_html."""
        entry_id = self.entry.id
        ident = (
            f'<a href="{self.url}?next={actions.here_quoted}" '
            f'title="Edit entry {entry_id} in a form">{entry_id}</a>'
            if self.editable
            else str(entry_id)
        )
        links = (
            f'<a href="{self.url}history/" aria-label="History of entry {entry_id}">'
            "History</a>"
        )
        if actions.can_write:
            hidden = (
                '<input type="hidden" name="csrfmiddlewaretoken" '
                f'value="{actions.csrf_token}"><input type="hidden" name="next" '
                f'value="{escape(actions.here)}">'
            )
            if actions.trash:
                links = (
                    f'<input type="checkbox" name="ids" value="{entry_id}" '
                    f'form="trash-bulk" aria-label="Select entry {entry_id}"> '
                ) + links
                links += (
                    f'<form method="post" action="{self.url}restore/" '
                    f'class="inline">{hidden}<button type="submit" class="link" '
                    f'aria-label="Restore entry {entry_id}">Restore</button></form>'
                )
            else:
                links += (
                    f'<form method="post" action="{self.url}delete/" class="inline" '
                    f'data-confirm="Move entry #{entry_id} to the trash?">{hidden}'
                    '<button type="submit" class="link danger" '
                    f'aria-label="Delete entry {entry_id}">Delete</button></form>'
                )
        if actions.trash:
            return self._trash_html(ident, links)
        return mark_safe(
            f'<tr id="entry-{entry_id}"><td class="num"><div class="cell">{ident}'
            f"</div></td>{self.cells_html}{self.status_html}"
            f'<td><div class="cell row-actions">{links}</div></td></tr>'
        )

    def _trash_html(self, ident: str, links: str) -> str:
        """A trash row: its actions first (Restore stays in view however many
        fields the thing has), then id, when deleted and by whom, the values."""
        if self.deleted is None:
            when = who = '<span class="muted">—</span>'
        else:
            at = self.deleted.at
            when = f'<time datetime="{at.isoformat()}">{at:%Y-%m-%d %H:%M}</time>'
            who = escape(self.deleted_by)
        return mark_safe(
            f'<tr id="entry-{self.entry.id}"><td class="actions-first"><div '
            f'class="cell row-actions">{links}</div></td><td class="num"><div '
            f'class="cell">{ident}</div></td><td><div class="cell small">{when}'
            f'</div></td><td><div class="cell small">{who}</div></td>'
            f"{self.cells_html}{self.status_html}</tr>"
        )

    @property
    def cells_html(self) -> str:
        return mark_safe("".join(cell_html(c, self) for c in self.cells))

    @property
    def status_html(self) -> str:
        return status_html(self.entry)

    @property
    def status_oob_html(self) -> str:
        return status_html(self.entry, oob=True)


@dataclass(frozen=True)
class RowActions:
    """What a row's actions need from the request."""

    can_write: bool
    trash: bool
    csrf_token: str
    here: str  # this page's URL, to come back to

    @property
    def here_quoted(self) -> str:
        return quote(self.here, safe="")


def _badge(ok: bool, yes: str, no: str, why_yes: str, why_no: str) -> str:
    kind, text, why = ("ok", yes, why_yes) if ok else ("warn", no, why_no)
    return f'<span class="badge {kind}" title="{why}">{text}</span>'


def status_html(entry: Entry, *, oob: bool = False) -> str:
    """The initialized/complete badges and last change of a row (two cells;
    ``oob`` swaps them in with a cell save, as the save may change them)."""
    swap = ' hx-swap-oob="true"' if oob else ""
    initialized = _badge(
        entry.initialized,
        "initialized",
        "not initialized",
        "Every required-for-initialization field has a value",
        "A required-for-initialization field has no value",
    )
    complete = _badge(
        entry.complete,
        "complete",
        "incomplete",
        "Every mandatory field has a value",
        "A mandatory field has no value",
    )
    updated = entry.updated_at
    return mark_safe(
        f'<td id="status-{entry.id}"{swap}><div class="cell">{initialized} '
        f"{complete}</div></td>"
        f'<td id="updated-{entry.id}"{swap}><div class="cell muted small">'
        f'<time datetime="{updated.isoformat()}">{updated:%Y-%m-%d %H:%M}</time>'
        "</div></td>"
    )


def cell_html(cell: Cell, row: Row) -> str:
    """One grid cell as HTML. Built in Python, not a template: a page has
    hundreds of cells, and this is several times faster than an include each.
    Inputs sit outside any form: app.js turns Enter into "change", and htmx
    posts the input's own value to the cell's URL."""
    classes = cell.kind
    if cell.error:
        classes += " invalid"
    if cell.saved:
        classes += " saved"
    # The linked entry: its form for editors, its history (readable by all)
    # otherwise.
    href = cell.link if row.editable else cell.link + "history/"
    link = (
        f'<a class="ref-link" href="{escape(href)}">{escape(cell.display)}</a>'
        if cell.link
        else ""
    )
    if not row.editable:
        shown = link or escape(cell.display)
        return f'<td class="{classes}"><div class="cell">{shown}</div></td>'
    entry_id = row.entry.id
    seen = escape(json.dumps({"seen": cell.seen}))
    attrs = (
        f'name="value" aria-label="{escape(cell.label)} of entry {entry_id}" '
        f'hx-post="{row.url}cell/{cell.key}/" hx-vals="{seen}"'
    )
    error = ""
    if cell.error:
        error_id = f"e{entry_id}-{cell.key}"
        attrs += f' aria-invalid="true" aria-describedby="{error_id}"'
        error = (
            f'<span class="cell-error" id="{error_id}" role="alert">'
            f"{escape(cell.error)}</span>"
        )
    value = escape(cell.value)
    match cell.kind:
        case "select":
            options = "".join(
                f'<option value="{escape(v)}"'
                + (" selected" if v == cell.value else "")
                + f">{escape(text)}</option>"
                for v, text in cell.choices
            )
            control = f"<select {attrs}>{options}</select>"
        case "checkbox":
            checked = " checked" if cell.value == "true" else ""
            control = f'<input type="checkbox" value="true"{checked} {attrs}>'
        case "textarea":
            control = f'<textarea rows="1" {attrs}>{value}</textarea>'
        case _:
            kind = INPUT_TYPES.get(cell.kind, "text")
            extra = ' inputmode="decimal"' if cell.kind == "number" else ""
            control = f'<input type="{kind}"{extra} value="{value}" {attrs}>'
    return f'<td class="{classes}">{control}{link}{error}</td>'


INPUT_TYPES = {"date": "date", "datetime": "datetime-local"}


def _kind(data_type: str) -> str:
    if data_type in NUMERIC_TYPES:
        return "number"
    return {
        FieldDataType.DATE: "date",
        FieldDataType.DATETIME: "datetime",
        # A select, not a checkbox: empty, Yes and No look different, and
        # a value can be cleared.
        FieldDataType.BOOLEAN: "select",
        FieldDataType.CHOICE: "select",
        FieldDataType.LONG_TEXT: "textarea",
        FieldDataType.JSON: "textarea",
    }.get(data_type, "text")


YES_NO = [("", "—"), ("true", "Yes"), ("false", "No")]


def _choices(field: Field) -> list[tuple[str, str]]:
    """The options of a select cell (empty first: a value can be cleared)."""
    if field.data_type == FieldDataType.BOOLEAN:
        return YES_NO
    if field.data_type == FieldDataType.CHOICE:
        return [("", "—"), *((c, c) for c in choices_of(field.options))]
    return []


class Columns:
    """What the grid's columns need, computed once per page (not per cell)."""

    def __init__(
        self,
        fields: list[Field],
        items: list[ClassificationItem] | None,
        *,
        labels: dict[int, str] | None = None,
        schema: str = "",
    ) -> None:
        self.fields = fields
        self.labels = labels or {}
        self.schema = schema
        self.kinds = [_kind(f.data_type) for f in fields]
        self.choices = [_choices(f) for f in fields]
        self.item_choices = [("", "—"), *((str(i.id), i.name) for i in items or [])]

    def _link(self, cell: Cell, field: Field, entry_id: int) -> None:
        """A reference cell names and links the entry its id points at."""
        target = (field.options or {}).get("thing_id")
        cell.display = self.labels.get(entry_id) or f"#{entry_id}"
        if self.schema and target:
            cell.link = _entries_url(self.schema, target) + f"{entry_id}/"

    def cells(self, entry: Entry) -> list[Cell]:
        values = entry.values or {}
        cells = []
        for f, kind, choices in zip(self.fields, self.kinds, self.choices, strict=True):
            text = values.get(str(f.id))
            value = input_value(f, text)
            if choices and value and (value, value) not in choices:
                choices = [*choices, (value, value)]  # a choice since removed
            cell = Cell(
                key=f"f{f.id}",
                label=f.name,
                kind=kind,
                value=value,
                display=display_value(f, text),
                choices=choices,
                seen=text or "",
            )
            if f.data_type == FieldDataType.REFERENCE and text and text.isdigit():
                self._link(cell, f, int(text))
            cells.append(cell)
        item = str(entry.classification_item_id or "")
        item_choices = self.item_choices
        if item and not any(v == item for v, _ in item_choices):
            item_choices = [*item_choices, (item, entry.classification_name or item)]
        start = (
            entry.validity_start_date.isoformat() if entry.validity_start_date else ""
        )
        end = entry.validity_end_date.isoformat() if entry.validity_end_date else ""
        cells += [
            Cell(
                "classification",
                "Classification",
                "select",
                item,
                entry.classification_name or "",
                item_choices,
                seen=item,
            ),
            Cell("valid_from", "Valid from", "date", start, start, seen=start),
            Cell("valid_to", "Valid to", "date", end, end, seen=end),
        ]
        return cells


def _entries_url(schema: str, thing_id: int) -> str:
    """The URL entries' URLs start with (reversed once, not per row)."""
    return reverse(
        "ui:entry_edit",
        kwargs={"schema": schema, "thing_id": thing_id, "entry_id": 0},
    ).removesuffix("0/")


def _rows_html(
    entries: list[Entry],
    columns: Columns,
    base: str,
    *,
    editable: bool,
    actions: RowActions,
) -> str:
    deletions: dict[int, Deletion] = {}
    emails: dict[str, str] = {}
    if actions.trash:
        deletions = entry_deletions(entry_ids=[e.id for e in entries])
        emails = user_emails(user_ids=[d.by for d in deletions.values()])

    def row(e: Entry) -> Row:
        deleted = deletions.get(e.id)
        by = ""
        if deleted is not None:
            by = (
                emails.get(str(deleted.by), f"user {deleted.by}")
                if deleted.by
                else "the system"
            )
        return Row(e, columns.cells(e), f"{base}{e.id}/", editable, deleted, by)

    return mark_safe("\n".join(row(e).html(actions=actions) for e in entries))


# --- Query-string helpers ------------------------------------------------------


def _query_string(params: QueryDict, **changes: Any) -> str:
    """``params`` with ``changes`` (None drops a key; a list sets all values)."""
    query = params.copy()
    for key, value in changes.items():
        if value is None:
            query.pop(key, None)
        elif isinstance(value, list):
            query.setlist(key, value)
        else:
            query[key] = str(value)
    encoded = query.urlencode()
    return f"?{encoded}" if encoded else "?"


@dataclass
class Header:
    key: str
    label: str
    url: str
    sort: str  # "", "ascending" or "descending"
    numeric: bool = False


def _headers(params: QueryDict, query: EntryQuery, fields: list[Field]) -> list[Header]:
    """Sortable headers: id, the fields, the entry columns, and last "updated"."""

    def header(key: str, label: str, numeric: bool = False) -> Header:
        sort = ""
        following = key
        if query.order == key:
            sort, following = "ascending", f"-{key}"
        elif query.order == f"-{key}":
            sort = "descending"
        return Header(
            key,
            label,
            _query_string(params, sort=following, page=None),
            sort,
            numeric,
        )

    return [
        header("id", "#", numeric=True),
        *(header(f"f{f.id}", f.name, f.data_type in NUMERIC_TYPES) for f in fields),
        header("classification", "Classification"),
        header("valid_from", "Valid from"),
        header("valid_to", "Valid to"),
        header("updated", "Updated"),
    ]


def _chips(params: QueryDict, query: EntryQuery, items: list[ClassificationItem]):
    """The active filters as (label, URL without it)."""
    chips = []
    for item in query.filters:
        others = [f for f in params.getlist("f") if f != item.param]
        chips.append((item.label, _query_string(params, f=others, page=None)))
    if query.search:
        chips.append(
            (f"Search “{query.search}”", _query_string(params, q=None, page=None))
        )
    if query.classification:
        names = {str(i.id): i.name for i in items}
        name = (
            "none"
            if query.classification == "none"
            else names.get(query.classification, f"#{query.classification}")
        )
        chips.append(
            (
                f"Classification is {name}",
                _query_string(params, page=None, **{"class": None}),
            )
        )
    if query.valid_on:
        chips.append(
            (
                f"Valid on {query.valid_on.isoformat()}",
                _query_string(params, valid_on=None, page=None),
            )
        )
    return chips


def _operator_choices() -> list[tuple[str, str]]:
    return [(op.value, op.label) for op in FilterOperator]


# The value input a filter on each type takes (the filter form's script).
FILTER_VALUE_INPUTS = {
    FieldDataType.DATE: "date",
    FieldDataType.DATETIME: "date",  # datetimes are filtered by day
    FieldDataType.INTEGER: "number",
    FieldDataType.DECIMAL: "number",
    FieldDataType.REFERENCE: "number",
}


def _filter_fields(fields: list[Field]) -> list[dict[str, Any]]:
    """The fields the filter form offers, each with the conditions its type
    takes and its value input (the form's script offers only those; without
    it, the server says why a condition was ignored)."""
    return [
        {
            "id": f.id,
            "name": f.name,
            "ops": " ".join(FILTER_OPERATORS.get(f.data_type, ())),
            "input": FILTER_VALUE_INPUTS.get(f.data_type, "text"),
        }
        for f in fields
    ]


# Past this a page's offset would overflow PostgreSQL's bigint (and no grid
# has that many pages): such a page number goes to the last page (_past_the_end).
MAX_PAGE = 10**9


def _page_number(params: QueryDict) -> int:
    raw = params.get("page", "1")
    if not (raw.isascii() and raw.isdigit()):
        return 1
    return min(max(int(raw), 1), MAX_PAGE)


def _past_the_end(request: HttpRequest, page: EntriesPage) -> HttpResponse | None:
    """A page number past the last page goes to the last page (the first when
    the matches are not counted), instead of showing an empty grid."""
    if page.rows or page.number == 1:
        return None
    last = 1
    if page.count is not None:
        last = max(1, -(-page.count // page.page_size))
    return redirect(request.path + _query_string(request.GET, page=last))


def _list_context(
    request: HttpRequest, thing: Thing, fields: list[Field], *, active: bool
) -> dict[str, Any]:
    params = request.GET
    query = entry_query_parse(params=params, fields=fields)
    page = entries_page(
        thing=thing,
        fields=fields,
        query=query,
        page=_page_number(params),
        page_size=settings.UI_PAGE_SIZE,
        active=active,
    )
    items = classification_items()
    columns = Columns(
        fields,
        items,
        labels=reference_labels(fields=fields, entries=page.rows),
        schema=request.tenant.schema_name,
    )
    headers = _headers(params, query, fields)
    editable = active and can_write(request)
    return {
        "thing": thing,
        "fields": fields,
        "query": query,
        "page": page,
        "rows_html": _rows_html(
            page.rows,
            columns,
            _entries_url(request.tenant.schema_name, thing.id),
            editable=editable,
            actions=RowActions(
                can_write=can_write(request),
                trash=not active,
                csrf_token=get_token(request),
                here=request.get_full_path(),
            ),
        ),
        "headers": headers[:-1],
        "updated_header": headers[-1],
        "chips": _chips(params, query, items),
        "items": items,
        "operators": _operator_choices(),
        "filter_fields": _filter_fields(fields),
        "count_cap": ENTRY_COUNT_CAP,
        "previous_url": _query_string(params, page=page.number - 1)
        if page.has_previous
        else "",
        "next_url": _query_string(params, page=page.number + 1)
        if page.has_next
        else "",
        "query_string": params.urlencode(),
        "editable": editable,
        "hidden_state": [
            (key, value)
            for key in ("plain", "f", "sort")
            for value in params.getlist(key)
        ],
    }


def _add_filter_redirect(request: HttpRequest) -> HttpResponse | None:
    """The filter form's "add" inputs as one more ``f`` (a canonical URL)."""
    params = request.GET
    if not any(k in params for k in ("add_field", "add_op", "add_value")):
        return None
    query = params.copy()
    field_id = query.pop("add_field", [""])[-1]
    operator = query.pop("add_op", [""])[-1]
    value = query.pop("add_value", [""])[-1]
    if field_id:
        query.appendlist("f", f"{field_id}:{operator}:{value}")
    for key in ("q", "class", "valid_on"):
        if query.get(key) == "":
            query.pop(key)
    query.pop("page", None)
    return redirect(request.path + "?" + query.urlencode())


# --- Pages --------------------------------------------------------------------


@require_GET
def entries_grid(request: HttpRequest, schema: str, thing_id: int) -> HttpResponse:
    """The grid (static/ui/grid.js reads its rows from ui/views/grid.py);
    ``?plain=1`` (the link for browsers without JavaScript, and any state in
    the query string) is the server-rendered table."""
    if "plain" in request.GET:
        return _entries_plain(request, thing_id)
    thing, fields = _thing_fields(thing_id)
    context: dict[str, Any] = {"thing": thing, "fields": fields}
    if can_write(request):
        context["form"] = EntryForm(fields=fields, items=classification_items())
    return render(request, "ui/entries/grid.html", context)


def _entries_plain(request: HttpRequest, thing_id: int) -> HttpResponse:
    redirected = _add_filter_redirect(request)
    if redirected is not None:
        return redirected
    thing, fields = _thing_fields(thing_id)
    context = _list_context(request, thing, fields, active=True)
    if (past := _past_the_end(request, context["page"])) is not None:
        return past
    if context["editable"]:
        context["form"] = EntryForm(fields=fields, items=context["items"])
    return render(request, "ui/entries/grid_plain.html", context)


@require_POST
@write_required
def entry_create(request: HttpRequest, schema: str, thing_id: int) -> HttpResponse:
    thing, fields = _thing_fields(thing_id)
    items = classification_items()
    form = EntryForm(request.POST, fields=fields, items=items)
    entry_id = (
        form.create(thing_id=thing.id, ctx=_ctx(request)) if form.is_valid() else None
    )
    if entry_id is not None:
        messages.success(request, f"Entry #{entry_id} created.")
        return redirect(_back_url(request, _grid_url(schema, thing.id)))
    context = _list_context(request, thing, fields, active=True)
    context["form"] = form
    return render(request, "ui/entries/grid_plain.html", context, status=400)


@GET_POST
@write_required
def entry_edit(
    request: HttpRequest, schema: str, thing_id: int, entry_id: int
) -> HttpResponse:
    """The plain form of one entry (the grid without JavaScript)."""
    if not can_write(request):
        raise PermissionDenied("Viewers cannot change data.")
    thing, fields = _thing_fields(thing_id)
    try:
        entry = entry_row(thing=thing, fields=fields, entry_id=entry_id)
    except Entry.DoesNotExist:
        raise Http404("No such entry.") from None
    items = classification_items()
    form = EntryForm(
        request.POST or None,
        fields=fields,
        items=items,
        entry=entry,
        values=entry.values,
    )
    back = _back_url(request, _grid_url(schema, thing.id))
    if request.method == "POST" and form.is_valid() and form.save(ctx=_ctx(request)):
        messages.success(request, f"Entry #{entry.id} saved.")
        return redirect(back)
    status = 400 if request.method == "POST" else 200
    return render(
        request,
        "ui/entries/edit.html",
        {"thing": thing, "entry": entry, "form": form, "back": back},
        status=status,
    )


def _grid_url(schema: str, thing_id: int) -> str:
    return reverse("ui:entries", kwargs={"schema": schema, "thing_id": thing_id})


def _back_url(request: HttpRequest, default: str) -> str:
    """Where to return after an action: ``next`` if it is on this site."""
    return next_url(request, default=default)


@require_POST
@write_required
def entry_cell(
    request: HttpRequest, schema: str, thing_id: int, entry_id: int, column: str
) -> HttpResponse:
    """Save one cell; answer the re-rendered cell (and the row's status, out of
    band), or the cell with the input kept and the error in words (422), or,
    when someone changed the value since the cell was drawn, what it is now
    (409; saving again replaces it)."""
    thing, fields = _thing_fields(thing_id)
    entry = _entry_of(thing, entry_id)
    if not entry.active:
        raise Http404("The entry is in the trash.")
    by_key = {f"f{f.id}": f for f in fields}
    field = by_key.get(column)
    if field is None and column not in ENTRY_COLUMNS:
        raise Http404("No such column.")
    raw = request.POST.get("value")
    if raw is None:
        # An unchecked checkbox sends nothing.
        raw = "false" if field and field.data_type == FieldDataType.BOOLEAN else ""
    error, status = "", 200
    try:
        cell_save(
            entry=entry,
            column=column,
            field=field,
            raw=raw,
            seen=request.POST.get("seen"),  # absent from the no-JS form
            ctx=_ctx(request),
        )
    except forms.ValidationError as invalid:
        error, status = " ".join(invalid.messages), 422
    except Conflict as stale:
        # Drawn again from what is stored now: saving again replaces it.
        error, status = stale.reason, 409
    row = entry_row(thing=thing, fields=fields, entry_id=entry.id)
    items = classification_items() if column == "classification" else []
    columns = Columns(
        fields,
        items,
        labels=reference_labels(fields=[field] if field else [], entries=[row]),
        schema=schema,
    )
    cell = next(c for c in columns.cells(row) if c.key == column)
    if column == "classification" and not items and cell.value:
        cell.choices = [("", "—"), (cell.value, cell.display)]
    if error:
        cell.error, cell.value = error, raw
    else:
        cell.saved = True
    base = _entries_url(schema, thing.id)
    return render(
        request,
        "ui/entries/cell_response.html",
        {"row": Row(row, [cell], f"{base}{row.id}/", editable=True)},
        status=status,
    )


@require_POST
@write_required
def entry_delete(
    request: HttpRequest, schema: str, thing_id: int, entry_id: int
) -> HttpResponse:
    thing = get_object_or_404(Thing, pk=thing_id)
    entry = _entry_of(thing, entry_id)
    if entry.active:
        entry_set_active(entry=entry, active=False, by=_ctx(request))
    messages.success(
        request, f"Entry #{entry.id} moved to the trash; restore it from there."
    )
    referrers = entry_referrers_count(entry=entry)
    if referrers:
        messages.warning(
            request,
            f"{referrers} value{'s' if referrers != 1 else ''} of other entries "
            f"still refer{'s' if referrers == 1 else ''} to entry #{entry.id}; "
            "new values can no longer name it while it is in the trash.",
        )
    return redirect(_back_url(request, _grid_url(schema, thing.id)))


@require_POST
@write_required
def entry_restore(
    request: HttpRequest, schema: str, thing_id: int, entry_id: int
) -> HttpResponse:
    thing = get_object_or_404(Thing, pk=thing_id)
    entry = _entry_of(thing, entry_id)
    if not entry.active:
        entry_set_active(entry=entry, active=True, by=_ctx(request))
    messages.success(request, f"Entry #{entry.id} restored.")
    trash = reverse("ui:trash", kwargs={"schema": schema, "thing_id": thing.id})
    return redirect(_back_url(request, trash))


@require_GET
def trash(request: HttpRequest, schema: str, thing_id: int) -> HttpResponse:
    thing, fields = _thing_fields(thing_id)
    context = _list_context(request, thing, fields, active=False)
    if (past := _past_the_end(request, context["page"])) is not None:
        return past
    return render(request, "ui/entries/trash.html", context)


@require_POST
@write_required
def trash_restore(request: HttpRequest, schema: str, thing_id: int) -> HttpResponse:
    """Restore the entries ticked on the trash page (``ids``), or every entry
    in the trash matching its filters (``all=1`` with the page's query)."""
    thing, fields = _thing_fields(thing_id)
    back = _back_url(
        request, reverse("ui:trash", kwargs={"schema": schema, "thing_id": thing.id})
    )
    if request.POST.get("all") == "1":
        query = entry_query_parse(params=request.GET, fields=fields)
        ids = entry_ids_matching(thing=thing, fields=fields, query=query, active=False)
    else:
        raw = request.POST.getlist("ids")
        ids = [int(i) for i in raw if i.isascii() and i.isdigit() and len(i) < 19]
    if not ids:
        messages.info(request, "Tick the entries to restore first.")
        return redirect(back)
    try:
        result = entries_bulk_change(
            thing=thing,
            fields=fields,
            entry_ids=ids,
            action="restore",
            by=_ctx(request),
        )
    except ApplicationError as error:
        messages.error(request, f"Nothing was restored: {error_words(error)}")
    else:
        n = result.changed
        messages.success(request, f"{n:,} entr{'y' if n == 1 else 'ies'} restored.")
    return redirect(back)


# --- History --------------------------------------------------------------------


@dataclass
class Change:
    label: str
    before: str
    after: str


@dataclass
class HistoryLine:
    at: Any
    who: str
    action: str
    changes: list[Change]
    id: int = 0
    # Whether "Revert this change" makes sense (not for the entry's creation).
    revertible: bool = True


ENTRY_COLUMN_LABELS = {
    "classification_item_id": "Classification",
    "validity_start_date": "Valid from",
    "validity_end_date": "Valid to",
}


def _history_lines(records: list[EntryHistory]) -> list[HistoryLine]:
    """History rows in words; users and classification names with one query each."""
    emails = user_emails(user_ids=[r.changed_by for r in records])
    item_ids = {
        value
        for r in records
        if r.field_id is None
        for side in (r.before or {}, r.after or {})
        for key, value in side.items()
        if key == "classification_item_id" and value
    }
    names = classification_names(item_ids=item_ids)

    def words(key: str, value: Any) -> str:
        if value is None or value == "":
            return "empty"
        if key == "classification_item_id":
            return names.get(value, f"#{value}")
        return str(value)

    lines = []
    for r in records:
        who = emails.get(str(r.changed_by), "") if r.changed_by else "the system"
        who = who or f"user {r.changed_by}"
        before, after = r.before or {}, r.after or {}
        changes: list[Change] = []
        if r.field_id is not None:
            f = r.field
            name = f.name if f else f"field {r.field_id}"
            b, a = before.get("entered_value"), after.get("entered_value")
            if f is not None:
                b, a = display_value(f, b), display_value(f, a)
            if r.action == HistoryAction.DEACTIVATE:
                changes.append(Change(name, b or "empty", "removed"))
            else:
                changes.append(Change(name, b or "empty", a or "empty"))
        elif r.action in (HistoryAction.UPDATE, HistoryAction.CREATE):
            for key in after:
                if key in ENTRY_COLUMN_LABELS and (
                    r.action == HistoryAction.UPDATE or after[key] not in (None, "")
                ):
                    changes.append(
                        Change(
                            ENTRY_COLUMN_LABELS[key],
                            words(key, before.get(key)),
                            words(key, after[key]),
                        )
                    )
        action = {
            HistoryAction.CREATE: "Created" if r.field_id is None else "Set",
            HistoryAction.UPDATE: "Changed",
            HistoryAction.DEACTIVATE: "Moved to the trash"
            if r.field_id is None
            else "Removed",
            HistoryAction.RESTORE: "Restored from the trash",
        }.get(r.action, r.action)
        revertible = not (r.field_id is None and r.action == HistoryAction.CREATE)
        lines.append(HistoryLine(r.changed_at, who, action, changes, r.id, revertible))
    return lines


@require_GET
def entry_history(
    request: HttpRequest, schema: str, thing_id: int, entry_id: int
) -> HttpResponse:
    thing = get_object_or_404(Thing, pk=thing_id)
    entry = _entry_of(thing, entry_id)
    page = page_of(request, entry_history_list(entry=entry))
    lines = _history_lines(list(page.object_list))
    params = request.GET
    return render(
        request,
        "ui/entries/history.html",
        {
            "thing": thing,
            "entry": entry,
            "page": page,
            "lines": lines,
            "previous_url": _query_string(params, page=page.previous_page_number())
            if page.has_previous()
            else "",
            "next_url": _query_string(params, page=page.next_page_number())
            if page.has_next()
            else "",
        },
    )


@require_POST
@write_required
def entry_history_revert(
    request: HttpRequest, schema: str, thing_id: int, entry_id: int, history_id: int
) -> HttpResponse:
    """Take back one change (``to=1``: every change after it)."""
    thing = get_object_or_404(Thing, pk=thing_id)
    entry = _entry_of(thing, entry_id)
    back_to = request.POST.get("to") == "1"
    revert = entry_revert_to if back_to else history_revert
    try:
        result = revert(entry=entry, history_id=history_id, by=_ctx(request))
    except NotFound as missing:
        raise Http404(missing.message) from None
    except ApplicationError as error:
        messages.error(request, f"Nothing was reverted: {error_words(error)}")
    else:
        n = result.reverted
        if not n:
            messages.info(request, "Nothing to revert: the entry is already so.")
        elif back_to:
            messages.success(
                request,
                f"Entry #{entry.id} is back as it was then "
                f"({n} change{'s' if n != 1 else ''} taken back).",
            )
        else:
            messages.success(request, "The change was reverted.")
    history = reverse(
        "ui:entry_history",
        kwargs={"schema": schema, "thing_id": thing.id, "entry_id": entry.id},
    )
    return redirect(history)


def _entry_url(name: str) -> str:
    return f"things/<int:thing_id>/entries/<int:entry_id>/{name}"


urlpatterns = [
    path("things/<int:thing_id>/", entries_grid, name="entries"),
    path("things/<int:thing_id>/entries/new/", entry_create, name="entry_create"),
    path("things/<int:thing_id>/trash/", trash, name="trash"),
    path("things/<int:thing_id>/trash/restore/", trash_restore, name="trash_restore"),
    path(_entry_url(""), entry_edit, name="entry_edit"),
    path(_entry_url("cell/<str:column>/"), entry_cell, name="entry_cell"),
    path(_entry_url("delete/"), entry_delete, name="entry_delete"),
    path(_entry_url("restore/"), entry_restore, name="entry_restore"),
    path(_entry_url("history/"), entry_history, name="entry_history"),
    path(
        _entry_url("history/<int:history_id>/revert/"),
        entry_history_revert,
        name="entry_history_revert",
    ),
]
