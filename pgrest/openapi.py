"""``GET /rest/v1/``: an OpenAPI 3 description of every registered resource."""

from typing import Any

from pgrest.registry import ColumnSpec, Resource, all_resources

JSON_SCHEMA_TYPES = {
    "bigint": {"type": "integer", "format": "int64"},
    "integer": {"type": "integer", "format": "int32"},
    "text": {"type": "string"},
    "boolean": {"type": "boolean"},
    "date": {"type": "string", "format": "date"},
    "timestamp with time zone": {"type": "string", "format": "date-time"},
    "uuid": {"type": "string", "format": "uuid"},
    "jsonb": {},
    "numeric": {"type": "number"},
}

FILTER_DESCRIPTION = (
    "PostgREST filter: `op.value` with op one of eq, neq, gt, gte, lt, lte, like, "
    "ilike, match, imatch, in, is, isdistinct, fts, plfts, phfts, wfts, cs, cd, ov; "
    "prefix `not.` to negate."
)


def _column_schema(spec: ColumnSpec) -> dict[str, Any]:
    schema = dict(JSON_SCHEMA_TYPES.get(spec.pg_type, {"type": "string"}))
    schema["description"] = spec.description or spec.pg_type
    if spec.readonly:
        schema["readOnly"] = True
    return schema


def _parameters(resource: Resource) -> list[dict[str, Any]]:
    shared = [
        {"$ref": "#/components/parameters/select"},
        {"$ref": "#/components/parameters/order"},
        {"$ref": "#/components/parameters/limit"},
        {"$ref": "#/components/parameters/offset"},
        {"$ref": "#/components/parameters/range"},
        {"$ref": "#/components/parameters/prefer"},
        {"$ref": "#/components/parameters/profile"},
    ]
    filters = [
        {
            "name": name,
            "in": "query",
            "required": False,
            "description": FILTER_DESCRIPTION,
            "schema": {"type": "string"},
        }
        for name in resource.columns
    ]
    return shared + filters


def _responses(resource: Resource, ok: str) -> dict[str, Any]:
    ref = {"$ref": f"#/components/schemas/{resource.name}"}
    return {
        ok: {
            "description": "OK",
            "content": {
                "application/json": {"schema": {"type": "array", "items": ref}}
            },
        },
        "default": {"$ref": "#/components/responses/error"},
    }


def openapi_document(base_url: str) -> dict[str, Any]:
    paths: dict[str, Any] = {}
    schemas: dict[str, Any] = {
        "error": {
            "type": "object",
            "properties": {
                key: {"type": "string", "nullable": True}
                for key in ("code", "message", "details", "hint")
            },
        }
    }
    for resource in all_resources():
        schemas[resource.name] = {
            "type": "object",
            "description": resource.description,
            "properties": {
                name: _column_schema(spec) for name, spec in resource.columns.items()
            },
        }
        body = {
            "required": True,
            "content": {
                "application/json": {
                    "schema": {
                        "oneOf": [
                            {"$ref": f"#/components/schemas/{resource.name}"},
                            {
                                "type": "array",
                                "items": {
                                    "$ref": f"#/components/schemas/{resource.name}"
                                },
                            },
                        ]
                    }
                }
            },
        }
        operations: dict[str, Any] = {
            "get": {
                "summary": f"Read {resource.name}",
                "parameters": _parameters(resource),
                "responses": _responses(resource, "200"),
            }
        }
        if resource.writer is not None:
            operations["post"] = {
                "summary": f"Create {resource.name}",
                "parameters": [{"$ref": "#/components/parameters/prefer"}],
                "requestBody": body,
                "responses": _responses(resource, "201"),
            }
            operations["patch"] = {
                "summary": f"Update the {resource.name} the filters match",
                "parameters": _parameters(resource),
                "requestBody": body,
                "responses": _responses(resource, "200"),
            }
            delete_what = "Soft-delete" if resource.soft_delete_column else "Delete"
            operations["delete"] = {
                "summary": f"{delete_what} the {resource.name} the filters match",
                "parameters": _parameters(resource),
                "responses": _responses(resource, "200"),
            }
        paths[f"/{resource.name}"] = operations
    header = {"in": "header", "required": False, "schema": {"type": "string"}}
    query = {"in": "query", "required": False, "schema": {"type": "string"}}
    return {
        "openapi": "3.0.3",
        "info": {
            "title": "Gather Grid REST API",
            "version": "1",
            "description": "PostgREST-compatible. Send `apikey`, `Authorization: "
            "Bearer <token>` and the tenant in `Accept-Profile` (reads) or "
            "`Content-Profile` (writes).",
        },
        "servers": [{"url": base_url}],
        "paths": paths,
        "components": {
            "schemas": schemas,
            "parameters": {
                "select": {
                    "name": "select",
                    **query,
                    "description": "Columns and embeds.",
                },
                "order": {
                    "name": "order",
                    **query,
                    "description": "col.asc|desc.nullsfirst|nullslast,...",
                },
                "limit": {"name": "limit", **query},
                "offset": {"name": "offset", **query},
                "range": {"name": "Range", **header, "description": "0-24"},
                "prefer": {
                    "name": "Prefer",
                    **header,
                    "description": "return=, count=, resolution=, missing=, handling=, "
                    "max-affected=, tx=",
                },
                "profile": {
                    "name": "Accept-Profile",
                    **header,
                    "description": "Tenant id.",
                },
            },
            "responses": {
                "error": {
                    "description": "PostgREST error",
                    "content": {
                        "application/json": {
                            "schema": {"$ref": "#/components/schemas/error"}
                        }
                    },
                }
            },
            "securitySchemes": {
                "apikey": {"type": "apiKey", "in": "header", "name": "apikey"},
                "bearer": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"},
            },
        },
        "security": [{"apikey": [], "bearer": []}],
    }
