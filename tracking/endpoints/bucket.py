"""Bucket's Tracking HTTP API, at the URLs Bucket's official JS SDKs build.

Only the SDK's host option changes; each SDK builds its URLs as follows:

- The reference and ``@bucketco/tracking-sdk`` (``host``, default
  ``https://tracking.bucket.co``): ``POST {host}/{key}/user|company|event|
  feedback``, the key in the path and no auth header. The reference also
  names the event method ``events``: ``/{key}/events`` is accepted.
- ``@bucketco/browser-sdk`` and ``@bucketco/react-sdk`` (``apiBaseUrl``,
  default ``https://front.bucket.co``): ``POST {apiBaseUrl}/user|company|
  event|feedback`` with ``Authorization: Bearer <publishableKey>``.
- ``@bucketco/node-sdk`` (``apiBaseUrl`` or ``host``): ``POST {apiBaseUrl}/bulk``,
  a JSON array of typed calls, with ``Authorization: Bearer <secretKey>``; it
  reads ``{"success": true}`` from the answer.
- All send ``Content-Type: application/json`` and a ``bucket-sdk-version``
  header (ignored here). Their ``GET`` calls (feature flags) carry the key as
  the ``publishableKey`` query parameter, which is accepted here too.

The key is the tenant's tracking key (``gg_pk_``, publishable) or an API key
(``gg_sk_``); in the path it must look like one (``gg_pk_`` or ``gg_sk_`` and
letters and digits), so these routes never shadow another. ``/events`` without
a key is not Bucket's (it is Gather's), so only ``/{key}/events`` is routed.

- JSON only: another ``Content-Type`` is a 400. ``Content-Encoding: gzip`` is
  accepted. Bodies above 512 KB (decompressed) are refused.
- Answers: ``200 {"success": true}`` (what Bucket answers and the node SDK
  checks); a feedback call also gets its ``feedbackId`` (the feedback's id:
  the one the call named, else its message id), which the SDKs' feedback
  widget sends back with the comment. Errors are JSON ``{code, message}``, plus
  ``details`` (``[{path, message}]``) for bad input: 400 for bad input, 401 for
  a missing or unknown key, 405 for another method, 503 (``Retry-After``) when
  the database is unavailable (nothing was written; retry).
- ``/feedback/prompting-init`` (browser SDKs, on start) answers
  ``{"success": false}``: Bucket's automated feedback surveys are not offered,
  and the SDKs then skip them (the older tracking SDK would otherwise fail
  before sending the user).
- CORS: the browser SDKs call these from any origin, with an
  ``Authorization`` and a ``bucket-sdk-version`` header, so every answer here
  (preflight included) allows any origin; auth is the key, never a cookie.
"""

from collections.abc import Callable
from typing import Any

from django.db import DatabaseError
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.urls import path, re_path
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt

from core.edge import error_response
from core.errors import ApplicationError
from core.http import request_bearer
from tracking.dialects import bucket
from tracking.endpoints.common import (
    ANY_KEY,
    dialect_error,
    ingest_or_error,
    parse_json,
    read_body,
    tracking_tenant_activate,
)
from tracking.messages import DialectError, Kind, Message

# A key as we issue them: safe to route on, never a word another route uses.
KEY = r"(?P<key>gg_(?:pk|sk)_[A-Za-z0-9]+)"
CORS_ALLOW_HEADERS = (
    "authorization, content-type, content-encoding, bucket-sdk-version, "
    "reflag-sdk-version"
)


def request_key(request: HttpRequest, path_key: str | None) -> str:
    """The key: in the path, else the Bearer token, else ``?publishableKey=``."""
    return (
        path_key
        or request_bearer(request)
        or request.GET.get("publishableKey", "").strip()
    )


def check_key(request: HttpRequest, path_key: str | None) -> None:
    """Activate the key's tenant, or raise a 401 (503 if the database is down)."""
    key = request_key(request, path_key)
    if not key:
        raise ApplicationError(
            "No tracking key: put it in the path (/<key>/event) or send "
            "Authorization: Bearer <key>.",
            code="missing_key",
            status=401,
        )
    try:
        active = tracking_tenant_activate(key, kinds=ANY_KEY)
    except DatabaseError:
        raise ApplicationError(
            "Temporarily unable to check the key; retry.",
            code="unavailable",
            status=503,
            headers={"Retry-After": "2"},
        ) from None
    if not active:
        raise ApplicationError("Invalid tracking key.", code="invalid_key", status=401)


def check_content_type(request: HttpRequest) -> None:
    if (request.content_type or "").strip().lower() != "application/json":
        sent = request.META.get("CONTENT_TYPE") or "none"
        message = (
            "The API only accepts JSON: send Content-Type: application/json, "
            f"not {sent[:60]}."
        )
        raise ApplicationError(
            message,
            code="invalid_content_type",
            details=[{"path": "Content-Type", "message": message}],
        )


def read_json(request: HttpRequest) -> Any:
    """The JSON body; a bad one is a 400 whose ``details`` name ``body``."""
    try:
        return parse_json(read_body(request, limit=bucket.BODY_LIMIT))
    except ApplicationError as error:
        error.details = [{"path": "body", "message": error.message}]
        raise


def with_cors(response: HttpResponse) -> HttpResponse:
    response["Access-Control-Allow-Origin"] = "*"
    return response


def preflight(request: HttpRequest) -> HttpResponse:
    response = HttpResponse(status=200)
    response["Access-Control-Allow-Methods"] = "POST, OPTIONS"
    response["Access-Control-Allow-Headers"] = request.headers.get(
        "Access-Control-Request-Headers", CORS_ALLOW_HEADERS
    )
    response["Access-Control-Max-Age"] = "86400"
    return with_cors(response)


def bucket_endpoint(handle: Callable[..., dict[str, Any]]):
    """A POST-only view answering JSON, CORS-enabled, errors included."""

    @csrf_exempt
    def view(request: HttpRequest, key: str | None = None, **kwargs) -> HttpResponse:
        if request.method == "OPTIONS":
            return preflight(request)
        try:
            if request.method != "POST":
                raise ApplicationError(
                    "Method not allowed: use POST.",
                    code="method_not_allowed",
                    status=405,
                    headers={"Allow": "POST, OPTIONS"},
                )
            response: HttpResponse = JsonResponse(handle(request, key, **kwargs))
        except ApplicationError as error:
            response = error_response(request.path, error)
        return with_cors(response)

    return view


def _ingest(request: HttpRequest, key: str | None, translate) -> list[Message]:
    received_at = timezone.now()
    check_key(request, key)
    check_content_type(request)
    body = read_json(request)
    try:
        messages = translate(body, received_at)
    except DialectError as error:
        raise dialect_error(error) from None
    ingest_or_error(messages, received_at=received_at)
    return messages


def _call(request: HttpRequest, key: str | None, method: str) -> dict[str, Any]:
    messages = _ingest(
        request,
        key,
        lambda body, received_at: bucket.translate(
            method, body, received_at=received_at
        ),
    )
    answer: dict[str, Any] = {"success": True}
    if messages and messages[0].kind == Kind.FEEDBACK:
        answer["feedbackId"] = messages[0].external_id or messages[0].message_id
    return answer


def _bulk(request: HttpRequest, key: str | None) -> dict[str, Any]:
    _ingest(
        request,
        key,
        lambda body, received_at: bucket.translate_bulk(body, received_at=received_at),
    )
    return {"success": True}


def _prompting_init(request: HttpRequest, key: str | None) -> dict[str, Any]:
    check_key(request, key)
    return {"success": False}


bucket_call = bucket_endpoint(_call)
bucket_bulk = bucket_endpoint(_bulk)
bucket_prompting_init = bucket_endpoint(_prompting_init)


urlpatterns = [
    # The reference and @bucketco/tracking-sdk: the key in the path.
    re_path(
        rf"^{KEY}/(?P<method>user|company|event|events|feedback)$",
        bucket_call,
        name="bucket-call",
    ),
    re_path(rf"^{KEY}/bulk$", bucket_bulk, name="bucket-bulk-keyed"),
    re_path(
        rf"^{KEY}/feedback/prompting-init$",
        bucket_prompting_init,
        name="bucket-prompting-init-keyed",
    ),
    # @bucketco/browser-sdk, react-sdk and node-sdk: the key as a Bearer token.
    re_path(
        r"^(?P<method>user|company|event|feedback)$",
        bucket_call,
        name="bucket-call-bearer",
    ),
    path("bulk", bucket_bulk, name="bucket-bulk"),
    path(
        "feedback/prompting-init",
        bucket_prompting_init,
        name="bucket-prompting-init",
    ),
]
