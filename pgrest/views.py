"""``/rest/v1``: PostgREST's HTTP behaviour over the registered resources.

The tenant, the user and their role were resolved by the middleware
(``request.rest_auth``); each handler here reads the request
(:mod:`pgrest.request`), plans (:mod:`pgrest.planner`), runs one transaction
and answers (:mod:`pgrest.response`), with PostgREST's status codes and headers.
"""

import json
from typing import Any

import orjson
from django.db import DatabaseError, connection, transaction
from django.http import HttpRequest, HttpResponse
from django.views.decorators.csrf import csrf_exempt

from pgrest import grammar
from pgrest.ast import Condition, Preferences, Query
from pgrest.errors import PostgrestError, postgrest_error_from_database
from pgrest.planner import plan_read, plan_target_ids
from pgrest.registry import Resource, Upsert, WriteContext, get_resource
from pgrest.request import (
    OPENAPI,
    WRITE_METHODS,
    Negotiated,
    json_body,
    negotiate,
    parse_request,
)
from pgrest.response import (
    content_location,
    content_range,
    preference_applied,
    render_rows,
    respond,
    singular_error,
)

# --- Reads -------------------------------------------------------------------------


def _run_read(plan) -> tuple[int, str, int | None]:
    with connection.cursor() as cursor:
        cursor.execute(plan.sql, plan.params)
        count, text = cursor.fetchone()
        total = None
        if plan.count_sql is not None:
            cursor.execute(plan.count_sql, plan.count_params)
            total = cursor.fetchone()[0]
    return count, text, total


def planned_count(resource: Resource, query: Query) -> int:
    plan = plan_read(resource, query, limit=None, offset=0, exact_count=True)
    with connection.cursor() as cursor:
        cursor.execute("EXPLAIN (FORMAT JSON) " + plan.count_sql, plan.count_params)
        explained = cursor.fetchone()[0]
    if isinstance(explained, str):
        explained = json.loads(explained)
    node = explained[0]["Plan"]
    while node.get("Plans") and node.get("Node Type") == "Aggregate":
        node = node["Plans"][0]
    return int(node.get("Plan Rows", 0))


ESTIMATED_EXACT_LIMIT = 10_000


def read(request: HttpRequest, resource: Resource, query: Query, prefs: Preferences):
    negotiated = negotiate(request)
    offset = query.root.offset or 0
    limit = query.root.limit
    range_header = request.headers.get("Range", "")
    if request.method == "GET" and range_header:
        requested = grammar.parse_range(range_header)
        if requested is not None:
            offset = offset + requested.offset
            if requested.limit is not None:
                limit = (
                    requested.limit if limit is None else min(limit, requested.limit)
                )
    total: int | None = None
    exact = prefs.count == "exact"
    if prefs.count in {"planned", "estimated"}:
        total = planned_count(resource, query)
        exact = prefs.count == "estimated" and total <= ESTIMATED_EXACT_LIMIT
    plan = plan_read(
        resource,
        query,
        limit=limit,
        offset=offset,
        exact_count=exact,
        strip_nulls=negotiated.strip_nulls,
    )
    count, text, exact_total = _run_read(plan)
    if exact_total is not None:
        total = exact_total
    if (
        total is not None
        and offset > 0
        and offset >= total
        and total >= 0
        and count == 0
    ):
        raise PostgrestError(
            "Requested range not satisfiable",
            code="PGRST103",
            status=416,
            details=f"An offset of {offset} was requested, but there are only "
            f"{total} rows.",
            headers={"Content-Range": f"*/{total}"},
        )
    body = render_rows(text, count, negotiated)
    status = 200
    if total is not None and count < total:
        status = 206
    return respond(
        status,
        body,
        media_type=negotiated.content_type,
        headers={
            "Content-Range": content_range(offset, count, total),
            "Content-Location": content_location(request, resource.name),
            "Preference-Applied": preference_applied(prefs),
        },
        request=request,
    )


# --- Writes ------------------------------------------------------------------------


def require_writer(request: HttpRequest, resource: Resource) -> None:
    auth = request.rest_auth
    if not auth.can_write:
        raise PostgrestError(
            f"permission denied for table {resource.table}",
            code="42501",
            status=403,
            hint="Your role in this tenant may only read.",
        )
    if resource.writer is None:
        raise PostgrestError(
            f'cannot change relation "{resource.table}"',
            code="25006",
            status=405,
            hint=f"'{resource.name}' is read-only.",
            headers={"Allow": allowed_methods(resource)},
        )


def unknown_column(resource: Resource, name: str) -> PostgrestError:
    return PostgrestError(
        f"Could not find the '{name}' column of '{resource.name}' in the schema cache",
        code="PGRST204",
        status=400,
    )


def body_columns(resource: Resource, row: dict[str, Any], *, for_update: bool) -> None:
    for key in row:
        spec = resource.column(key)
        if spec is None and key in resource.nested_inputs:
            continue
        if spec is None:
            raise unknown_column(resource, key)
        if spec.readonly:
            raise PostgrestError(
                f'column "{key}" can only be updated to DEFAULT',
                code="428C9",
                status=400,
                details=f"'{key}' is set by the server.",
            )
        if for_update and spec.immutable:
            raise PostgrestError(
                f'column "{key}" of {resource.name} cannot be changed',
                code="428C9",
                status=400,
                details=f"'{key}' is immutable once the row exists.",
            )


def insert_rows(resource: Resource, body: Any, query: Query) -> list[dict[str, Any]]:
    rows = body if isinstance(body, list) else [body]
    if not all(isinstance(row, dict) for row in rows):
        raise PostgrestError(
            "Empty or invalid json",
            code="PGRST102",
            status=400,
            details="Expected a JSON object or an array of objects.",
        )
    if query.columns is not None:
        for name in query.columns:
            if resource.column(name) is None and name not in resource.nested_inputs:
                raise unknown_column(resource, name)
        allowed = set(query.columns)
        rows = [{k: v for k, v in row.items() if k in allowed} for row in rows]
    elif len(rows) > 1:
        keys = set(rows[0])
        if any(set(row) != keys for row in rows[1:]):
            raise PostgrestError(
                "All object keys must match", code="PGRST102", status=400
            )
    for row in rows:
        body_columns(resource, row, for_update=False)
    return rows


def check_max_affected(prefs: Preferences, affected: int) -> None:
    if (
        prefs.handling == "strict"
        and prefs.max_affected is not None
        and affected > prefs.max_affected
    ):
        raise PostgrestError(
            "Query result exceeds max-affected preference constraint",
            code="PGRST124",
            status=400,
            details=f"The query affects {affected} rows",
        )


def require_filter(request: HttpRequest, query: Query, prefs: Preferences) -> None:
    """PATCH and DELETE without a filter must say how many rows they may touch."""
    if query.root.filters or query.root.limit is not None:
        return
    if prefs.handling == "strict" and prefs.max_affected is not None:
        return
    verb = "UPDATE" if request.method == "PATCH" else "DELETE"
    raise PostgrestError(
        f"{verb} requires a WHERE clause",
        code="21000",
        status=400,
        hint="Add a filter, or send `Prefer: handling=strict, max-affected=<n>` "
        "to act on every row.",
    )


def write_response(
    request: HttpRequest,
    resource: Resource,
    query: Query,
    prefs: Preferences,
    ids: list[int],
    negotiated: Negotiated,
    *,
    created: bool,
    inserted: int = 0,
) -> HttpResponse:
    """201/200/204 with PostgREST's headers for a write that touched ``ids``.

    ``Content-Range`` is as PostgREST sends it: ``*/total`` for POST and
    DELETE, ``0-(n-1)/total`` for PATCH, the total only with ``count=``.
    """
    returning = prefs.return_ or "minimal"
    if negotiated.singular and len(ids) != 1:
        raise singular_error(len(ids))
    total = str(len(ids)) if prefs.count else "*"
    if request.method == "PATCH" and ids:
        content_range_value = f"0-{len(ids) - 1}/{total}"
    else:
        content_range_value = f"*/{total}"
    headers = {
        "Preference-Applied": preference_applied(prefs),
        "Content-Range": content_range_value,
    }
    # An upsert that only merged into existing rows created nothing: 200;
    # ignore-duplicates answers 201 even when every row was a duplicate.
    status = (
        201
        if created and (inserted or prefs.resolution in {None, "ignore-duplicates"})
        else 200
    )
    if created and len(ids) == 1 and returning != "representation":
        headers["Location"] = f"/{resource.name}?{resource.primary_key}=eq.{ids[0]}"
    if returning == "representation":
        plan = plan_read(
            resource,
            query,
            limit=None,
            offset=0,
            ids=ids,
            strip_nulls=negotiated.strip_nulls,
        )
        count, text, _ = _run_read(plan)
        body = render_rows(text, count, negotiated)
        return respond(
            status,
            body,
            media_type=negotiated.content_type,
            headers=headers,
            request=request,
        )
    return respond(status if created else 204, None, headers=headers, request=request)


def create(request, resource, query, prefs):
    require_writer(request, resource)
    negotiated = negotiate(request)
    rows = insert_rows(resource, json_body(request), query)
    upsert = None
    if prefs.resolution:
        on_conflict = query.on_conflict or (resource.primary_key,)
        for name in on_conflict:
            if resource.column(name) is None:
                raise PostgrestError(
                    f"column {resource.table}.{name} does not exist",
                    code="42703",
                    status=400,
                )
        upsert = Upsert(
            on_conflict=on_conflict,
            ignore_duplicates=prefs.resolution == "ignore-duplicates",
        )
    ctx = WriteContext(
        user_id=request.rest_auth.user_id, missing_default=prefs.missing == "default"
    )
    result = resource.writer.insert(rows, ctx=ctx, upsert=upsert) if rows else None
    ids = result.ids if result else []
    inserted = result.inserted if result else 0
    return write_response(
        request,
        resource,
        query,
        prefs,
        ids,
        negotiated,
        created=True,
        inserted=inserted,
    )


def update(request, resource, query, prefs):
    require_writer(request, resource)
    negotiated = negotiate(request)
    body = json_body(request)
    if not isinstance(body, dict):
        raise PostgrestError(
            "Empty or invalid json",
            code="PGRST102",
            status=400,
            details="PATCH takes one JSON object.",
        )
    if query.columns is not None:
        body = {k: v for k, v in body.items() if k in set(query.columns)}
    body_columns(resource, body, for_update=True)
    require_filter(request, query, prefs)
    ids = _locked_ids(resource, query, soft_delete=False)
    check_max_affected(prefs, len(ids))
    ctx = WriteContext(user_id=request.rest_auth.user_id)
    # The body is checked even when no row matches (PostgreSQL reads it into
    # the table's types before the UPDATE finds nothing): a bad one is a 400.
    changed = resource.writer.update(ids, body, ctx=ctx) if body else []
    return write_response(
        request, resource, query, prefs, changed, negotiated, created=False
    )


def delete(request, resource, query, prefs):
    require_writer(request, resource)
    negotiated = negotiate(request)
    require_filter(request, query, prefs)
    ids = _locked_ids(resource, query)
    check_max_affected(prefs, len(ids))
    ctx = WriteContext(user_id=request.rest_auth.user_id)
    deleted = resource.writer.delete(ids, ctx=ctx) if ids else []
    # With return=representation: the rows as they are now (soft-deleted).
    return write_response(
        request, resource, query, prefs, deleted, negotiated, created=False
    )


def _put_target(resource: Resource, query: Query) -> str:
    """The primary key value a PUT names: its one filter must be ``pk=eq.<v>``."""
    if query.root.limit is not None or query.root.offset:
        raise PostgrestError(
            "limit/offset querystring parameters are not allowed for PUT",
            code="PGRST114",
            status=400,
        )
    filters = query.root.filters
    only = filters[0] if len(filters) == 1 else None
    if not (
        isinstance(only, Condition)
        and only.path.column == resource.primary_key
        and not only.path.json_path
        and only.operator == "eq"
        and not (only.negated or only.quantifier)
        and not query.embedded
    ):
        raise PostgrestError(
            "Filters must include all and only primary key columns with 'eq' operators",
            code="PGRST105",
            status=405,
            headers={"Allow": allowed_methods(resource)},
        )
    return str(only.value)


def put(request, resource, query, prefs):
    """``PUT /table?id=eq.<id>``: replace the given columns of that row.

    As PostgREST: only the primary key filter, no limit/offset, the body's
    primary key (if given) must match the URL's, an array puts its first
    element. Unlike PostgREST, a PUT cannot create the row: ids are assigned by
    the server, so a missing row is 404 (create rows with POST)."""
    require_writer(request, resource)
    negotiated = negotiate(request)
    target = _put_target(resource, query)
    body = json_body(request)
    if isinstance(body, list):
        body = body[0] if body else {}
    if not isinstance(body, dict):
        raise PostgrestError(
            "Empty or invalid json",
            code="PGRST102",
            status=400,
            details="PUT takes one JSON object.",
        )
    pk = resource.primary_key
    if pk in body and str(body.pop(pk)) != target:
        raise PostgrestError(
            "Payload values do not match URL in primary key column(s)",
            code="PGRST115",
            status=400,
        )
    body_columns(resource, body, for_update=True)
    ids = _locked_ids(resource, query, soft_delete=False)
    if not ids:
        raise PostgrestError(
            f"No row of {resource.name} has {pk} {target}",
            code="PGRST116",
            status=404,
            hint="PUT replaces an existing row; create rows with POST "
            "(ids are assigned by the server).",
        )
    ctx = WriteContext(user_id=request.rest_auth.user_id)
    if body:
        resource.writer.update(ids, body, ctx=ctx)
    return write_response(
        request, resource, query, prefs, ids, negotiated, created=False
    )


def _locked_ids(
    resource: Resource, query: Query, *, soft_delete: bool = True
) -> list[int]:
    sql, params = plan_target_ids(resource, query, soft_delete=soft_delete)
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return [row[0] for row in cursor.fetchall()]


HANDLERS = {
    "GET": read,
    "HEAD": read,
    "POST": create,
    "PUT": put,
    "PATCH": update,
    "DELETE": delete,
}
READS = frozenset({"GET", "HEAD"})
READ_ONLY_ALLOWED = "GET, HEAD, OPTIONS"
ALLOWED = ", ".join([*HANDLERS, "OPTIONS"])


def allowed_methods(resource: Resource) -> str:
    """``Allow``: the methods this resource serves (a read-only one: reads)."""
    return ALLOWED if resource.writer is not None else READ_ONLY_ALLOWED


def options(resource: Resource) -> HttpResponse:
    """``OPTIONS``: no body, the methods in ``Allow`` (as PostgREST answers;
    CORS preflights are answered before, by the CORS middleware)."""
    response = HttpResponse(status=200)
    del response["Content-Type"]
    response["Allow"] = allowed_methods(resource)
    return response


@csrf_exempt
def resource_view(request: HttpRequest, name: str) -> HttpResponse:
    resource = get_resource(name)
    if resource is None:
        # OPTIONS is answered without authentication: no tenant to name.
        schema = request.tenant.schema_name if request.tenant else "public"
        raise PostgrestError(
            f"Could not find the table '{schema}.{name}' in the schema cache",
            code="PGRST205",
            status=404,
        )
    if request.method == "OPTIONS":
        return options(resource)
    handler = HANDLERS.get(request.method)
    if handler is None:
        error = PostgrestError(
            f"Method {request.method} is not allowed on /{name}",
            code="PGRST117",
            status=405,
        )
        error.headers["Allow"] = allowed_methods(resource)
        raise error
    query, prefs = parse_request(request)
    try:
        if request.method in WRITE_METHODS or prefs.count or prefs.tx or prefs.timezone:
            # Writes are all or nothing; a count and its page share a snapshot.
            with transaction.atomic():
                if prefs.timezone:
                    # Timestamps are rendered by PostgreSQL in its session zone.
                    with connection.cursor() as cursor:
                        cursor.execute(
                            "SELECT set_config('timezone', %s, true)", [prefs.timezone]
                        )
                response = handler(request, resource, query, prefs)
                if prefs.tx == "rollback":
                    transaction.set_rollback(True)
        else:
            # A plain read is one statement: no BEGIN/COMMIT round trips.
            response = handler(request, resource, query, prefs)
    except DatabaseError as error:
        raise postgrest_error_from_database(error) from error
    return response


ROOT_ALLOWED = "GET, HEAD, OPTIONS"


@csrf_exempt
def root_view(request: HttpRequest) -> HttpResponse:
    """``GET /rest/v1/``: the OpenAPI document."""
    from pgrest.openapi import openapi_document

    if request.method == "OPTIONS":
        response = HttpResponse(status=200)
        del response["Content-Type"]
        response["Allow"] = ROOT_ALLOWED
        return response
    if request.method not in READS:
        error = PostgrestError(
            f"Method {request.method} is not allowed on /", code="PGRST117", status=405
        )
        error.headers["Allow"] = ROOT_ALLOWED
        raise error
    document = openapi_document(
        request.build_absolute_uri("/rest/v1"), request.tenant.schema_name
    )
    return respond(200, orjson.dumps(document), media_type=OPENAPI, request=request)
