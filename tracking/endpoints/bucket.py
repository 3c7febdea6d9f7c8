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
  accepted. Bodies above 512 KB (as sent or decompressed) are a 413.
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
- ``GET /features`` (node-sdk's ``initialize()``, and its periodic refresh)
  answers ``{"success": true, "features": []}`` and ``GET
  /features/evaluated`` (remote evaluation, the browser SDKs)
  ``{"success": true, "features": {}}``: feature flags are not offered here
  (no flag is defined), and the SDKs then evaluate every flag as off, at
  once, instead of retrying a 404 for seconds and logging an error. The key
  is checked as for tracking calls.
- CORS: the browser SDKs call these from any origin, with an
  ``Authorization`` and a ``bucket-sdk-version`` header, so every answer here
  (preflight included) allows any origin; auth is the key, never a cookie.
"""

from typing import Any

from django.http import HttpRequest, HttpResponse
from django.urls import path, re_path

from core.errors import ApplicationError
from core.http import request_bearer
from tracking.capture import (
    Endpoint,
    KeyCheck,
    Refusal,
    Route,
    capture,
    cors_endpoint,
    json_body,
)
from tracking.dialects import bucket
from tracking.messages import Kind, Message

# A key as we issue them: safe to route on, never a word another route uses.
KEY = r"(?P<key>gg_(?:pk|sk)_[A-Za-z0-9]+)"
CORS_ALLOW_HEADERS = (
    "authorization, content-type, content-encoding, bucket-sdk-version, "
    "reflag-sdk-version"
)


def bucket_keys(request: HttpRequest, body: Any, route: Route) -> list[str]:
    """The key: in the path, else the Bearer token, else ``?publishableKey=``."""
    return [
        route.get("key")
        or request_bearer(request)
        or request.GET.get("publishableKey", "").strip()
    ]


TRACKING_KEY = KeyCheck(
    find=bucket_keys,
    retry_when_down=True,
    missing=Refusal(
        "No tracking key: put it in the path (/<key>/event) or send "
        "Authorization: Bearer <key>.",
        code="missing_key",
    ),
    invalid=Refusal("Invalid tracking key.", code="invalid_key"),
)


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


def read_json(request: HttpRequest, limit: int) -> Any:
    """The JSON body; a bad one is a 400 whose ``details`` name ``body``."""
    check_content_type(request)
    try:
        return json_body(request, limit)
    except ApplicationError as error:
        error.details = [{"path": "body", "message": error.message}]
        raise


def call_answer(messages: list[Message]) -> dict[str, Any]:
    """``{"success": true}``, and a feedback call's ``feedbackId`` (the
    feedback's id, which the SDKs' widget sends back with the comment)."""
    answer: dict[str, Any] = {"success": True}
    if messages and messages[0].kind == Kind.FEEDBACK:
        answer["feedbackId"] = messages[0].external_id or messages[0].message_id
    return answer


CALL = Endpoint(
    key=TRACKING_KEY,
    body_limit=bucket.BODY_LIMIT,
    decode=read_json,
    translate=lambda body, received_at, route: bucket.translate(
        route["method"], body, received_at=received_at
    ),
    answer=call_answer,
)
BULK = Endpoint(
    key=TRACKING_KEY,
    body_limit=bucket.BODY_LIMIT,
    decode=read_json,
    translate=lambda body, received_at, route: bucket.translate_bulk(
        body, received_at=received_at
    ),
    answer=lambda messages: {"success": True},
)
# Automated feedback surveys are not offered: the SDKs then skip them.
PROMPTING_INIT = Endpoint(key=TRACKING_KEY, answer=lambda messages: {"success": False})
# Feature flags are not offered: no flag is defined, in the shapes the SDKs
# parse (node-sdk: a list of definitions; remote evaluation: a map by key).
FEATURES = Endpoint(
    key=TRACKING_KEY, answer=lambda messages: {"success": True, "features": []}
)
FEATURES_EVALUATED = Endpoint(
    key=TRACKING_KEY, answer=lambda messages: {"success": True, "features": {}}
)


@cors_endpoint(allow_headers=CORS_ALLOW_HEADERS)
def bucket_call(request: HttpRequest, **route: str) -> HttpResponse:
    return capture(request, endpoint=CALL, route=route)


@cors_endpoint(allow_headers=CORS_ALLOW_HEADERS)
def bucket_bulk(request: HttpRequest, **route: str) -> HttpResponse:
    return capture(request, endpoint=BULK, route=route)


@cors_endpoint(allow_headers=CORS_ALLOW_HEADERS)
def bucket_prompting_init(request: HttpRequest, **route: str) -> HttpResponse:
    return capture(request, endpoint=PROMPTING_INIT, route=route)


@cors_endpoint(allow_headers=CORS_ALLOW_HEADERS, method="GET")
def bucket_features(request: HttpRequest, **route: str) -> HttpResponse:
    return capture(request, endpoint=FEATURES, route=route)


@cors_endpoint(allow_headers=CORS_ALLOW_HEADERS, method="GET")
def bucket_features_evaluated(request: HttpRequest, **route: str) -> HttpResponse:
    return capture(request, endpoint=FEATURES_EVALUATED, route=route)


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
    path("features", bucket_features, name="bucket-features"),
    path(
        "features/evaluated",
        bucket_features_evaluated,
        name="bucket-features-evaluated",
    ),
]
