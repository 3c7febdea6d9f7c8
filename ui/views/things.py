"""Things and their fields: list, create, rename, deactivate and restore things;
add, edit, reorder, deactivate and restore fields; add and rename the tenant's
classification items (which every thing's entries pick from).

Every page works as plain HTML forms (post, then redirect); with htmx the same
URLs answer with the page's body fragment (``#things-body``/``#fields-body``),
errors included (status 400, which htmx swaps too). Writes go through the
API's writers (``ui/forms_things.py``); reads through ``gathergrid/selectors.py``.
"""

from typing import Any

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.core.paginator import Page
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import path, reverse
from django.views.decorators.http import require_http_methods, require_POST

from core.writes import WriteContext
from gathergrid.models import ClassificationItem, Field, FieldDataType, Thing
from gathergrid.selectors import (
    classification_items,
    field_list,
    thing_list,
    thing_names,
)
from gathergrid.services.fields import field_move
from ui.forms_things import (
    ClassificationItemForm,
    FieldForm,
    ThingFilter,
    ThingForm,
    field_set_active,
    thing_set_active,
)
from ui.paging import page_of
from ui.permissions import can_write, write_required

GET_POST = require_http_methods(["GET", "HEAD", "POST"])


def _write_context(request: HttpRequest) -> WriteContext:
    return WriteContext(user_id=str(request.user.pk))


def _fragment_only(request: HttpRequest) -> bool:
    """An htmx request swapping the body (not restoring a page from history)."""
    return bool(request.htmx) and not request.htmx.history_restore_request


def _query(request: HttpRequest) -> str:
    """The list's query string (page, filters), kept across actions."""
    query = request.GET.urlencode()
    return f"?{query}" if query else ""


def _page_links(request: HttpRequest, page: Page, param: str = "page") -> dict:
    """Query strings of the previous and next pages, other parameters kept."""

    def link(number: int) -> str:
        query = request.GET.copy()
        query[param] = str(number)
        return "?" + query.urlencode()

    return {
        "page": page,
        "previous": link(page.previous_page_number()) if page.has_previous() else "",
        "next": link(page.next_page_number()) if page.has_next() else "",
    }


def _require_write(request: HttpRequest) -> None:
    """Edit forms are for editors and admins, even to look at."""
    if not can_write(request):
        raise PermissionDenied("Viewers cannot change data.")


# --- Things -----------------------------------------------------------------------


def _render_things(
    request: HttpRequest,
    *,
    create_form: ThingForm | None = None,
    editing: Thing | None = None,
    edit_form: ThingForm | None = None,
    row_errors: dict[int, str] | None = None,
    status: int = 200,
) -> HttpResponse:
    filters = ThingFilter(request.GET, queryset=Thing.objects.none())
    page = page_of(request, thing_list(**filters.selected()))
    things = list(page.object_list)
    for thing in things:
        thing.row_error = (row_errors or {}).get(thing.pk, "")
    if edit_form is not None:
        edit_form.fields["name"].widget.attrs["autofocus"] = True
    context: dict[str, Any] = {
        "filters": filters.form,
        "pager": _page_links(request, page),
        "things": things,
        "create_form": create_form or ThingForm(prefix="new"),
        "editing_id": editing.pk if editing else None,
        "edit_form": edit_form,
        "query": _query(request),
        "status_filter": filters.selected()["status"],
    }
    template = (
        "ui/things/_thing_body.html"
        if _fragment_only(request)
        else "ui/things/list.html"
    )
    return render(request, template, context, status=status)


def _things_done(request: HttpRequest) -> HttpResponse:
    """After a write: the fresh list (htmx) or a redirect to it (plain form)."""
    if _fragment_only(request):
        return _render_things(request)
    return redirect(
        reverse("ui:things", kwargs={"schema": request.tenant.schema_name})
        + _query(request)
    )


@GET_POST
@write_required
def things_list(request: HttpRequest, schema: str) -> HttpResponse:
    """The things table (GET); POST creates a thing from the form at its top."""
    if request.method != "POST":
        return _render_things(request)
    form = ThingForm(request.POST, prefix="new")
    thing_id = form.create(ctx=_write_context(request))
    if thing_id is None:
        return _render_things(request, create_form=form, status=400)
    messages.success(request, f"Created “{form.cleaned_data['name']}”.")
    return _things_done(request)


@GET_POST
def thing_edit(request: HttpRequest, schema: str, thing_id: int) -> HttpResponse:
    """Rename a thing or change its description, in its row of the list."""
    _require_write(request)
    thing = get_object_or_404(Thing, pk=thing_id)
    if request.method != "POST":
        form = ThingForm(
            prefix="edit",
            initial={"name": thing.name, "description": thing.description},
        )
        return _render_things(request, editing=thing, edit_form=form)
    form = ThingForm(request.POST, prefix="edit")
    if not form.update(thing=thing, ctx=_write_context(request)):
        return _render_things(request, editing=thing, edit_form=form, status=400)
    messages.success(request, f"Saved “{form.cleaned_data['name']}”.")
    return _things_done(request)


def _thing_set_active(request: HttpRequest, thing_id: int, *, active: bool):
    _require_write(request)
    thing = get_object_or_404(Thing, pk=thing_id)
    problem = thing_set_active(thing=thing, active=active, ctx=_write_context(request))
    if problem:
        return _render_things(request, row_errors={thing.pk: problem}, status=400)
    if active:
        messages.success(request, f"Restored “{thing.name}”.")
    else:
        messages.success(
            request,
            f"Deactivated “{thing.name}”; its fields and entries are kept. "
            "Show deactivated things to restore it.",
        )
    return _things_done(request)


@require_POST
def thing_deactivate(request: HttpRequest, schema: str, thing_id: int) -> HttpResponse:
    return _thing_set_active(request, thing_id, active=False)


@require_POST
def thing_restore(request: HttpRequest, schema: str, thing_id: int) -> HttpResponse:
    return _thing_set_active(request, thing_id, active=True)


# --- Fields -----------------------------------------------------------------------


def _render_fields(
    request: HttpRequest,
    thing: Thing,
    *,
    add_form: FieldForm | None = None,
    editing: Field | None = None,
    edit_form: FieldForm | None = None,
    row_errors: dict[int, str] | None = None,
    moved: tuple[int, str] | None = None,
    status: int = 200,
) -> HttpResponse:
    names = thing_names()
    label_of = {thing_id: name for thing_id, name, _ in names}
    targets = [(thing_id, name) for thing_id, name, active in names if active]
    active_page = page_of(request, field_list(thing_id=thing.pk, active=True))
    inactive_page = page_of(
        request,
        field_list(thing_id=thing.pk, active=False),
        param="deactivated_page",
    )
    active_fields = list(active_page.object_list)
    inactive_fields = list(inactive_page.object_list)
    for field in active_fields + inactive_fields:
        field.options_summary = _options_summary(field, label_of)
        field.row_error = (row_errors or {}).get(field.pk, "")
    if edit_form is not None:
        edit_form.fields["name"].widget.attrs["autofocus"] = True
        # The page's copy knows whether it has values (its type is then fixed).
        edit_form.instance.has_values = any(
            f.has_values for f in active_fields if f.pk == edit_form.instance.pk
        )
    context: dict[str, Any] = {
        "thing": thing,
        "fields": active_fields,
        "pager": _page_links(request, active_page),
        "deactivated_fields": inactive_fields,
        "deactivated_pager": _page_links(request, inactive_page, "deactivated_page"),
        "add_form": add_form or FieldForm(prefix="new", things=targets),
        "editing_id": editing.pk if editing else None,
        "edit_form": edit_form,
        "moved_id": moved[0] if moved else None,
        "moved_direction": moved[1] if moved else "",
        "query": _query(request),
    }
    template = (
        "ui/things/_field_body.html"
        if _fragment_only(request)
        else "ui/things/fields.html"
    )
    return render(request, template, context, status=status)


def _options_summary(field: Field, label_of: dict[int, str]) -> str:
    options = field.options or {}
    if field.data_type in (FieldDataType.CHOICE, FieldDataType.MULTI_CHOICE):
        return ", ".join(str(choice) for choice in options.get("choices", []))
    if field.data_type == FieldDataType.REFERENCE and "thing_id" in options:
        target = options["thing_id"]
        return f"→ {label_of.get(target, f'thing #{target}')}"
    return ""


def _reference_targets() -> list[tuple[int, str]]:
    return [(thing_id, name) for thing_id, name, active in thing_names() if active]


def _fields_done(
    request: HttpRequest, thing: Thing, *, moved: tuple[int, str] | None = None
) -> HttpResponse:
    if _fragment_only(request):
        return _render_fields(request, thing, moved=moved)
    url = reverse(
        "ui:fields",
        kwargs={"schema": request.tenant.schema_name, "thing_id": thing.pk},
    )
    return redirect(url + _query(request))


def _thing_and_field(
    thing_id: int, field_id: int, **conditions: Any
) -> tuple[Thing, Field]:
    thing = get_object_or_404(Thing, pk=thing_id)
    return thing, get_object_or_404(Field, pk=field_id, thing=thing, **conditions)


@GET_POST
@write_required
def fields_page(request: HttpRequest, schema: str, thing_id: int) -> HttpResponse:
    """A thing's fields in order (GET); POST adds a field at the end."""
    thing = get_object_or_404(Thing, pk=thing_id)
    if request.method != "POST":
        return _render_fields(request, thing)
    form = FieldForm(request.POST, prefix="new", things=_reference_targets())
    if not form.create(thing=thing, ctx=_write_context(request)):
        return _render_fields(request, thing, add_form=form, status=400)
    messages.success(request, f"Added the field “{form.cleaned_data['name']}”.")
    return _fields_done(request, thing)


@GET_POST
def field_edit(
    request: HttpRequest, schema: str, thing_id: int, field_id: int
) -> HttpResponse:
    """Edit a field in its row: name, data type, options, flags."""
    _require_write(request)
    thing, field = _thing_and_field(thing_id, field_id, active=True)
    if request.method != "POST":
        form = FieldForm(prefix="edit", field=field, things=_reference_targets())
        return _render_fields(request, thing, editing=field, edit_form=form)
    form = FieldForm(
        request.POST, prefix="edit", field=field, things=_reference_targets()
    )
    if not form.update(ctx=_write_context(request)):
        return _render_fields(request, thing, editing=field, edit_form=form, status=400)
    messages.success(request, f"Saved the field “{form.cleaned_data['name']}”.")
    return _fields_done(request, thing)


@require_POST
def field_move_view(
    request: HttpRequest, schema: str, thing_id: int, field_id: int
) -> HttpResponse:
    """Move a field one place up or down (``direction``)."""
    _require_write(request)
    thing, field = _thing_and_field(thing_id, field_id, active=True)
    direction = request.POST.get("direction")
    if direction not in ("up", "down"):
        return HttpResponse("direction must be up or down", status=400)
    field_move(field=field, direction=direction, by=_write_context(request))
    return _fields_done(request, thing, moved=(field.pk, direction))


def _field_set_active(
    request: HttpRequest, thing_id: int, field_id: int, *, active: bool
) -> HttpResponse:
    _require_write(request)
    thing, field = _thing_and_field(thing_id, field_id)
    problem = field_set_active(field=field, active=active, ctx=_write_context(request))
    if problem:
        return _render_fields(
            request, thing, row_errors={field.pk: problem}, status=400
        )
    if active:
        messages.success(request, f"Restored the field “{field.name}” with its values.")
    else:
        messages.success(
            request,
            f"Deactivated the field “{field.name}”; its values are kept and come "
            "back if you restore it.",
        )
    return _fields_done(request, thing)


@require_POST
def field_deactivate(
    request: HttpRequest, schema: str, thing_id: int, field_id: int
) -> HttpResponse:
    return _field_set_active(request, thing_id, field_id, active=False)


@require_POST
def field_restore(
    request: HttpRequest, schema: str, thing_id: int, field_id: int
) -> HttpResponse:
    return _field_set_active(request, thing_id, field_id, active=True)


# --- Classification items ---------------------------------------------------------


def _render_items(
    request: HttpRequest,
    *,
    add_form: ClassificationItemForm | None = None,
    editing: ClassificationItem | None = None,
    edit_form: ClassificationItemForm | None = None,
    status: int = 200,
) -> HttpResponse:
    items = classification_items()
    names = {item.pk: item.name for item in items}
    page = page_of(request, items)
    rows = list(page.object_list)
    for item in rows:
        item.parent_name = names.get(item.parent_id, "")
    choices = [(item.pk, item.name) for item in items]
    if edit_form is not None:
        edit_form.fields["name"].widget.attrs["autofocus"] = True
    context = {
        "items": rows,
        "pager": _page_links(request, page),
        "add_form": add_form or ClassificationItemForm(prefix="new", items=choices),
        "editing_id": editing.pk if editing else None,
        "edit_form": edit_form,
        "back": request.GET.get("thing", ""),
    }
    return render(request, "ui/things/classification.html", context, status=status)


def _items_done(request: HttpRequest) -> HttpResponse:
    return redirect(
        reverse("ui:classification", kwargs={"schema": request.tenant.schema_name})
        + _query(request)
    )


def _item_choices(*, without: int | None = None) -> list[tuple[int, str]]:
    return [(i.pk, i.name) for i in classification_items() if i.pk != without]


@GET_POST
@write_required
def classification_page(request: HttpRequest, schema: str) -> HttpResponse:
    """The tenant's classification items (GET, every role); POST adds one."""
    if request.method != "POST":
        return _render_items(request)
    form = ClassificationItemForm(request.POST, prefix="new", items=_item_choices())
    if form.create(ctx=_write_context(request)) is None:
        return _render_items(request, add_form=form, status=400)
    messages.success(request, f"Added the item “{form.cleaned_data['name']}”.")
    return _items_done(request)


@GET_POST
def classification_item_edit(
    request: HttpRequest, schema: str, item_id: int
) -> HttpResponse:
    """Rename an item (or move it under another), in its row of the list."""
    _require_write(request)
    item = get_object_or_404(ClassificationItem, pk=item_id, active=True)
    choices = _item_choices(without=item.pk)
    if request.method != "POST":
        form = ClassificationItemForm(
            prefix="edit",
            items=choices,
            initial={"name": item.name, "parent": item.parent_id},
        )
        return _render_items(request, editing=item, edit_form=form)
    form = ClassificationItemForm(request.POST, prefix="edit", items=choices)
    if not form.update(item=item, ctx=_write_context(request)):
        return _render_items(request, editing=item, edit_form=form, status=400)
    messages.success(request, f"Saved the item “{form.cleaned_data['name']}”.")
    return _items_done(request)


FIELD = "things/<int:thing_id>/fields/<int:field_id>/"

urlpatterns = [
    path("things/", things_list, name="things"),
    path("things/<int:thing_id>/edit/", thing_edit, name="thing_edit"),
    path(
        "things/<int:thing_id>/deactivate/", thing_deactivate, name="thing_deactivate"
    ),
    path("things/<int:thing_id>/restore/", thing_restore, name="thing_restore"),
    path("things/<int:thing_id>/fields/", fields_page, name="fields"),
    path(FIELD + "edit/", field_edit, name="field_edit"),
    path(FIELD + "move/", field_move_view, name="field_move"),
    path(FIELD + "deactivate/", field_deactivate, name="field_deactivate"),
    path(FIELD + "restore/", field_restore, name="field_restore"),
    path("classification/", classification_page, name="classification"),
    path(
        "classification/<int:item_id>/edit/",
        classification_item_edit,
        name="classification_item_edit",
    ),
]
