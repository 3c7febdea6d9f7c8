"""``GET /rest/v1/``: an OpenAPI 3.0 description of every registered resource,
as the server answers it.

What it states is what the server does: the columns' types, nullability,
lengths and allowed values (from the registry's ``ColumnSpec`` facts); the
filters as ``op.value`` strings typed by their column; which bodies are
accepted on insert (required columns) and update; which statuses, media types
and headers each answer carries (``Prefer: return=minimal``, the default, is a
201/204 without a body); every error in PostgREST's ``{code, message,
details, hint}``.

The document is the same for every tenant (resources are registered, not read
from a schema) except the profile headers, which name the caller's own tenant
and no other. It is built once per base URL and rendered per request.
"""

import functools
import re
from typing import Any

from pgrest.registry import ColumnSpec, Resource, all_resources

OPENAPI_VERSION = "3.0.3"

JSON = "application/json"
SINGULAR = "application/vnd.pgrst.object+json"
CSV = "text/csv"

# -- Column types -------------------------------------------------------------------

_INTEGER_RANGES = {
    "smallint": (-(2**15), 2**15 - 1, "int32"),
    "integer": (-(2**31), 2**31 - 1, "int32"),
    "bigint": (-(2**63), 2**63 - 1, "int64"),
}

# What a value of each type looks like inside a filter (`col=op.<value>`), as
# an ECMA regex without anchors; kept to forms PostgreSQL reads back the same.
_DATE = r"(?:19|20)[0-9]{2}-(?:0[1-9]|1[0-2])-(?:0[1-9]|1[0-9]|2[0-8])"
_FILTER_VALUES = {
    "smallint": r"-?[0-9]{1,4}",
    "integer": r"-?[0-9]{1,9}",
    "bigint": r"-?[0-9]{1,18}",
    "numeric": r"-?[0-9]{1,9}(?:\.[0-9]{1,6})?",
    "boolean": r"(?:true|false)",
    "date": _DATE,
    "timestamp with time zone": _DATE
    + r"(?:T(?:[01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9]Z)?",
    "uuid": r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}",
    # No NUL (no PostgreSQL text holds it), no `\` (LIKE's escape), no `,`
    # or parentheses (they delimit `in.(...)` lists).
    "text": r"[^\u0000\\,()]*",
}
_COMPARISONS = "(?:eq|neq|gt|gte|lt|lte)"


def _value_schema(spec: ColumnSpec) -> dict[str, Any]:
    """A column's value as JSON: its type and the facts the registry states."""
    schema: dict[str, Any]
    if spec.pg_type in _INTEGER_RANGES:
        low, high, fmt = _INTEGER_RANGES[spec.pg_type]
        schema = {"type": "integer", "format": fmt, "minimum": low, "maximum": high}
        if spec.minimum is not None:
            schema["minimum"] = spec.minimum
    elif spec.pg_type == "numeric":
        schema = {"type": "number"}
    elif spec.pg_type == "boolean":
        schema = {"type": "boolean"}
    elif spec.pg_type == "date":
        schema = {"type": "string", "format": "date"}
    elif spec.pg_type == "timestamp with time zone":
        schema = {"type": "string", "format": "date-time"}
    elif spec.pg_type == "uuid":
        schema = {"type": "string", "format": "uuid"}
    elif spec.pg_type == "jsonb":
        schema = {"type": spec.json_type} if spec.json_type else {}
    else:
        schema = {"type": "string"}
        if spec.max_length is not None:
            schema["maxLength"] = spec.max_length
    if spec.enum is not None:
        schema = {"type": "string", "enum": list(spec.enum)}
    if spec.nullable:
        schema["nullable"] = True
    return schema


def _column_schema(spec: ColumnSpec) -> dict[str, Any]:
    """A column as a response row holds it."""
    schema = _value_schema(spec)
    schema["description"] = spec.description or spec.pg_type
    if spec.readonly:
        schema["readOnly"] = True
    return schema


def _input_schema(spec: ColumnSpec) -> dict[str, Any]:
    """A column as a request body may give it."""
    if spec.any_json_input:
        return {"nullable": True, "description": spec.description}
    schema = _value_schema(spec)
    if spec.pg_type == "jsonb" and spec.json_type == "object":
        # An array is taken too (options: the list of choices).
        schema = {"anyOf": [{"type": "object"}, {"type": "array"}]}
    if spec.not_blank and schema.get("type") == "string" and "enum" not in schema:
        schema["minLength"] = 1
        schema["pattern"] = r"\S"
    if spec.description:
        schema["description"] = spec.description
    return schema


def row_schema(resource: Resource) -> dict[str, Any]:
    return {
        "type": "object",
        "description": resource.description,
        "properties": {
            name: _column_schema(spec) for name, spec in resource.columns.items()
        },
        "additionalProperties": False,
    }


def _writable(resource: Resource) -> dict[str, ColumnSpec]:
    return {
        name: spec
        for name, spec in resource.columns.items()
        if not spec.readonly and spec.is_real
    }


def body_schema(resource: Resource, *, insert: bool) -> dict[str, Any]:
    """What a POST (``insert``) or PATCH/PUT body may hold: the writable
    columns (immutable ones on insert only); on insert the required ones."""
    columns = {
        name: spec
        for name, spec in _writable(resource).items()
        if insert or not spec.immutable
    }
    schema: dict[str, Any] = {
        "type": "object",
        "properties": {name: _input_schema(spec) for name, spec in columns.items()},
        "additionalProperties": False,
    }
    required = [name for name, spec in columns.items() if spec.required]
    if insert and required:
        schema["required"] = required
    if resource.nested_inputs:
        schema["description"] = (
            "Also accepted (not described here: what they hold depends on the "
            "tenant's fields): " + ", ".join(sorted(resource.nested_inputs)) + "."
        )
    return schema


# -- Parameters ---------------------------------------------------------------------


def _alternatives(*patterns: str) -> str:
    return "^(?:" + "|".join(patterns) + ")$"


def filter_pattern(spec: ColumnSpec) -> str | None:
    """``op.value`` strings a filter on this column takes (None: no filter is
    described, e.g. on virtual JSON columns, filtered by ``col->>key``)."""
    if spec.virtual_json:
        return None
    nulls = r"is\.(?:null|not_null)"
    if spec.pg_type == "jsonb":
        return _alternatives(rf"(?:not\.)?{nulls}")
    value = _FILTER_VALUES.get(spec.pg_type, _FILTER_VALUES["text"])
    if spec.enum is not None:
        value = "(?:" + "|".join(re.escape(v) for v in spec.enum) + ")"
    forms = [
        rf"{_COMPARISONS}\.{value}",
        rf"in\.\((?:{value}(?:,{value})*)?\)",
        nulls,
    ]
    if spec.pg_type == "boolean":
        forms.append(r"is\.(?:true|false|unknown)")
    if spec.pg_type == "text" and spec.enum is None:
        forms.append(rf"i?like\.{value}")
    return _alternatives(r"(?:not\.)?(?:" + "|".join(forms) + ")")


def _filters(resource: Resource) -> list[dict[str, Any]]:
    filters = []
    for name, spec in resource.columns.items():
        pattern = filter_pattern(spec)
        if pattern is None:
            continue
        filters.append(
            {
                "name": name,
                "in": "query",
                "required": False,
                "description": f"Filter on {name}: `op.value` (eq, neq, gt, gte, "
                "lt, lte, in.(a,b), is.null, like, ...; `not.` negates). The "
                "whole grammar (or=, and=, embedded filters) is in docs/rest.md.",
                "schema": {"type": "string", "pattern": pattern},
            }
        )
    return filters


def _column_list(names: list[str]) -> str:
    name = "(?:" + "|".join(re.escape(n) for n in names) + ")"
    return name


def _select(resource: Resource) -> dict[str, Any]:
    names = ["*", *resource.columns]
    item = _column_list(names)
    return {
        "name": "select",
        "in": "query",
        "required": False,
        "description": "The columns to return (default `*`; `values` only by "
        "name). Renames, casts and embeds (`*,fields(*)`) are in docs/rest.md.",
        # Blank: every column.
        "schema": {"type": "string", "pattern": rf"^(?:\s*|{item}(?:,{item})*)$"},
    }


def _order(resource: Resource) -> dict[str, Any]:
    names = [n for n, spec in resource.columns.items() if not spec.virtual_json]
    term = _column_list(names) + r"(?:\.(?:asc|desc))?(?:\.(?:nullsfirst|nullslast))?"
    return {
        "name": "order",
        "in": "query",
        "required": False,
        "description": "`col[.asc|.desc][.nullsfirst|.nullslast],...`",
        "schema": {"type": "string", "pattern": f"^{term}(?:,{term})*$"},
    }


def _put_key(resource: Resource) -> dict[str, Any]:
    spec = resource.columns[resource.primary_key]
    value = _FILTER_VALUES.get(spec.pg_type, _FILTER_VALUES["text"])
    return {
        "name": resource.primary_key,
        "in": "query",
        "required": True,
        "description": "The row to replace: `eq.<id>`, the only filter PUT takes.",
        "schema": {"type": "string", "pattern": rf"^eq\.{value}$"},
    }


def _ref(kind: str, name: str) -> dict[str, str]:
    return {"$ref": f"#/components/{kind}/{name}"}


_READ_PREFERENCES = ["timezone=UTC", "handling=lenient"]
_WRITE_PREFERENCES = [
    "return=minimal",
    "return=headers-only",
    "return=representation",
    "tx=rollback",
    "handling=lenient",
]
_INSERT_PREFERENCES = [
    *_WRITE_PREFERENCES,
    "missing=default",
    "resolution=merge-duplicates",
    "resolution=ignore-duplicates",
]


def _prefer(choices: list[str]) -> dict[str, Any]:
    return {
        "name": "Prefer",
        "in": "header",
        "required": False,
        "description": "Comma-separated preferences: return=minimal (default) | "
        "headers-only | representation, count=exact|planned|estimated, "
        "resolution=merge-duplicates|ignore-duplicates, missing=default, "
        "handling=lenient|strict, max-affected=<n>, tx=commit|rollback, "
        "timezone=<zone>. Unknown ones are ignored, unless handling=strict "
        "(400 PGRST122).",
        # Any text is accepted (unknown preferences are ignored).
        "schema": {"anyOf": [{"type": "string", "enum": choices}, {"type": "string"}]},
    }


# -- Responses ----------------------------------------------------------------------

_ERROR_STATUSES = {
    "400": "Bad request: the query string, the body or a value (PGRST100, "
    "PGRST102, PGRST204, 42703, 22P02, 23502, 23514, 428C9, 21000, ...).",
    "401": "No or invalid API key or access token (PGRST000, PGRST301-303).",
    "403": "The caller's role may not do this (42501).",
    "404": "Not found (PGRST205, PGRST116 for PUT).",
    "405": "Method not allowed here (PGRST117, PGRST105, 25006); `Allow` lists "
    "what is.",
    "406": "Profile not the caller's (PGRST106), unsupported Accept (PGRST107), "
    "singular response with other than one row (PGRST116).",
    "409": "Unique or foreign key violation (23505, 23503).",
    "413": "Body too large.",
    "415": "Content-Type not acceptable (PGRST102).",
    "416": "Range not satisfiable (PGRST103).",
}


def _headers(*names: str) -> dict[str, Any]:
    return {name: _ref("headers", name) for name in names}


def _rows_content(resource: Resource) -> dict[str, Any]:
    row = _ref("schemas", resource.name)
    return {
        JSON: {"schema": {"type": "array", "items": row}},
        SINGULAR: {"schema": row},
        CSV: {"schema": {"type": "string"}},
    }


def _errors(*statuses: str) -> dict[str, Any]:
    responses = {status: _ref("responses", status) for status in statuses}
    responses["default"] = _ref("responses", "default")
    return responses


READ_ERRORS = ("400", "401", "406", "416")
WRITE_ERRORS = ("400", "401", "403", "406", "409", "413", "415")


def _operations(resource: Resource) -> dict[str, Any]:
    rows = _rows_content(resource)
    shared = [_select(resource), _order(resource)]
    paging = [_ref("parameters", "limit"), _ref("parameters", "offset")]
    read_headers = _headers("Content-Range", "Content-Location", "Content-Profile")
    filters = _filters(resource)
    operations: dict[str, Any] = {
        "get": {
            "summary": f"Read {resource.name}",
            "parameters": [
                *shared,
                *paging,
                _ref("parameters", "Range"),
                _prefer(_READ_PREFERENCES),
                _ref("parameters", "Accept-Profile"),
                *filters,
            ],
            "responses": {
                "200": {
                    "description": "The rows (JSON array; one object with "
                    f"`Accept: {SINGULAR}`; CSV with `Accept: {CSV}`).",
                    "headers": {**read_headers, **_headers("Preference-Applied")},
                    "content": rows,
                },
                "206": {
                    "description": "A page short of the total (with `Prefer: "
                    "count=...`).",
                    "headers": {**read_headers, **_headers("Preference-Applied")},
                    "content": rows,
                },
                **_errors(*READ_ERRORS),
            },
        },
        "options": {
            "summary": f"The methods {resource.name} serves",
            "security": [],
            "responses": {
                "200": {
                    "description": "No body; `Allow` lists the methods.",
                    "headers": _headers("Allow"),
                },
            },
        },
    }
    if resource.writer is None:
        return operations
    write_headers = _headers("Content-Range", "Preference-Applied", "Content-Profile")
    written = {
        "200": {
            "description": "With `Prefer: return=representation`: the rows written.",
            "headers": write_headers,
            "content": rows,
        },
        "204": {
            "description": "Done; no body (`Prefer: return=minimal`, the "
            "default, or headers-only).",
            "headers": write_headers,
        },
    }
    profile = _ref("parameters", "Content-Profile")
    operations["post"] = {
        "summary": f"Create {resource.name} (an object, or an array of objects "
        "with the same keys)",
        "description": "With `Prefer: return=representation`, `?select=` "
        "shapes the rows returned, as on GET. With `Prefer: resolution=...`, "
        "`?on_conflict=a,b` names the unique columns an upsert matches on "
        "(default: the primary key; unknown ones are 400 42703, and it is "
        "ignored without the preference, so no schema describes it below). "
        "`?columns=a,b` writes only those keys of the body and "
        "ignores the others (unchecked), as PostgREST does; it is not among the "
        "parameters below because no schema can say which keys it lets through.",
        "parameters": [
            _prefer(_INSERT_PREFERENCES),
            profile,
        ],
        "requestBody": _ref("requestBodies", f"{resource.name}.insert"),
        "responses": {
            "201": {
                "description": "Created. No body unless `Prefer: "
                "return=representation`, which returns the rows as GET does "
                "(JSON array, or one object with `Accept: "
                f"{SINGULAR}`). `Location` names a single row created "
                "without representation.",
                "headers": {**write_headers, **_headers("Location")},
            },
            "200": {
                "description": "An upsert that only merged into existing rows; "
                "no body unless `Prefer: return=representation`.",
                "headers": write_headers,
            },
            **_errors(*WRITE_ERRORS, "404"),
        },
    }
    update_body = _ref("requestBodies", f"{resource.name}.update")
    operations["patch"] = {
        "summary": f"Update every {resource.name} row the filters match (a filter "
        "or `Prefer: handling=strict, max-affected=<n>` is required)",
        "parameters": [
            _prefer(_WRITE_PREFERENCES),
            profile,
            *filters,
        ],
        "requestBody": update_body,
        "responses": {**written, **_errors(*WRITE_ERRORS)},
    }
    operations["put"] = {
        "summary": f"Replace the given columns of the {resource.name} row "
        f"`{resource.primary_key}=eq.<id>` names (it cannot create one: ids "
        "are the server's)",
        "parameters": [
            _put_key(resource),
            _prefer(_WRITE_PREFERENCES),
            profile,
        ],
        "requestBody": update_body,
        "responses": {**written, **_errors(*WRITE_ERRORS, "404", "405")},
    }
    delete_what = "Soft-delete" if resource.soft_delete_column else "Delete"
    operations["delete"] = {
        "summary": f"{delete_what} every {resource.name} row the filters match (a "
        "filter or `Prefer: handling=strict, max-affected=<n>` is required)",
        "parameters": [
            _prefer(_WRITE_PREFERENCES),
            profile,
            *filters,
        ],
        "responses": {**written, **_errors("400", "401", "403", "406")},
    }
    return operations


def _request_bodies(resource: Resource) -> dict[str, Any]:
    def body(schema: dict[str, Any], description: str) -> dict[str, Any]:
        return {
            "required": True,
            "description": description,
            "content": {JSON: {"schema": schema}},
        }

    insert = _ref("schemas", f"{resource.name}.insert")
    return {
        f"{resource.name}.insert": body(
            {
                "oneOf": [insert, {"type": "array", "items": insert}],
            },
            "One row, or an array of rows with the same keys (written in one "
            "statement; one bad row rejects them all).",
        ),
        f"{resource.name}.update": body(
            _ref("schemas", f"{resource.name}.update"),
            "The columns to change.",
        ),
    }


def _header(schema: dict[str, Any], description: str) -> dict[str, Any]:
    return {"schema": schema, "description": description}


@functools.lru_cache(maxsize=16)
def _document(base_url: str) -> dict[str, Any]:
    """Everything but the caller's profile (see :func:`openapi_document`)."""
    paths: dict[str, Any] = {
        "/": {
            "get": {
                "summary": "This document",
                "responses": {
                    "200": {
                        "description": "OpenAPI 3.0",
                        "content": {
                            "application/openapi+json": {"schema": {"type": "object"}}
                        },
                    },
                    **_errors("401", "406"),
                },
            }
        }
    }
    error_schema = {
        "type": "object",
        "required": ["code", "message", "details", "hint"],
        "properties": {
            "code": {"type": "string"},
            "message": {"type": "string"},
            "details": {"type": "string", "nullable": True},
            "hint": {"type": "string", "nullable": True},
        },
        "additionalProperties": False,
    }
    schemas: dict[str, Any] = {"error": error_schema}
    request_bodies: dict[str, Any] = {}
    for resource in all_resources():
        schemas[resource.name] = row_schema(resource)
        if resource.writer is not None:
            schemas[f"{resource.name}.insert"] = body_schema(resource, insert=True)
            schemas[f"{resource.name}.update"] = body_schema(resource, insert=False)
            request_bodies.update(_request_bodies(resource))
        paths[f"/{resource.name}"] = _operations(resource)
    error = {JSON: {"schema": _ref("schemas", "error")}}
    responses = {
        status: {"description": description, "content": error}
        for status, description in _ERROR_STATUSES.items()
    }
    responses["405"]["headers"] = _headers("Allow")
    responses["default"] = {"description": "Server error", "content": error}
    return {
        "openapi": OPENAPI_VERSION,
        "info": {
            "title": "Gather Grid REST API",
            "version": "1",
            "description": "PostgREST 12-compatible (docs/rest.md). Send `apikey`, "
            "`Authorization: Bearer <token>` and the tenant in `Accept-Profile` "
            "(reads) or `Content-Profile` (writes).",
        },
        "servers": [{"url": base_url}],
        "paths": paths,
        "components": {
            "schemas": schemas,
            "requestBodies": request_bodies,
            "parameters": {
                "limit": {
                    "name": "limit",
                    "in": "query",
                    "required": False,
                    "schema": {"type": "integer", "minimum": 0},
                },
                "offset": {
                    "name": "offset",
                    "in": "query",
                    "required": False,
                    "description": "Rows to skip (a negative offset is none).",
                    "schema": {"type": "integer"},
                },
                "Range": {
                    "name": "Range",
                    "in": "header",
                    "required": False,
                    "description": "`<first>-[<last>]` (0-24); any other form is "
                    "ignored; last before first is 416.",
                    "schema": {"type": "string"},
                },
            },
            "headers": {
                "Content-Range": _header(
                    {
                        "type": "string",
                        "pattern": r"^(?:\*|[0-9]+-[0-9]+)/(?:\*|[0-9]+)$",
                    },
                    "`first-last/total` of the rows sent (`*` when none or "
                    "not counted).",
                ),
                "Content-Location": _header(
                    {"type": "string", "pattern": "^/"},
                    "The table and the query string, sorted.",
                ),
                "Location": _header(
                    {"type": "string", "pattern": r"^/[a-z_]+\?[a-z_]+=eq\."},
                    "The row created: `/<table>?id=eq.<id>`.",
                ),
                "Preference-Applied": _header(
                    {"type": "string"}, "The preferences applied."
                ),
                "Allow": _header({"type": "string"}, "The methods served here."),
            },
            "responses": responses,
            "securitySchemes": {
                "apikey": {
                    "type": "apiKey",
                    "in": "header",
                    "name": "apikey",
                    "description": "The tenant's API key.",
                },
                "bearer": {
                    "type": "http",
                    "scheme": "bearer",
                    "bearerFormat": "JWT",
                    "description": "An access token of /auth/v1.",
                },
            },
        },
        "security": [{"apikey": [], "bearer": []}],
    }


def openapi_document(base_url: str, profile: str) -> dict[str, Any]:
    """The document for a caller of tenant ``profile``: the profile headers
    name that tenant only."""
    document = _document(base_url)
    components = dict(document["components"])
    tenant = {"type": "string", "enum": [profile]}
    components["parameters"] = {
        **components["parameters"],
        "Accept-Profile": {
            "name": "Accept-Profile",
            "in": "header",
            "required": False,
            "description": "The tenant to read (default: the token's).",
            "schema": tenant,
        },
        "Content-Profile": {
            "name": "Content-Profile",
            "in": "header",
            "required": False,
            "description": "The tenant to write (default: the token's).",
            "schema": tenant,
        },
    }
    components["headers"] = {
        **components["headers"],
        "Content-Profile": _header(tenant, "The tenant that answered."),
    }
    return {**document, "components": components}


__all__ = ["body_schema", "filter_pattern", "openapi_document", "row_schema"]
