"""Segment's HTTP Tracking API: what Dreamdata, RudderStack and Segment SDKs send.

``POST /v1/batch`` and ``POST /v1/identify|track|page|screen|group|alias``.
The write key is the body's ``writeKey``, else the Basic auth username, else
a Bearer token (any of the tenant's API or tracking keys), so the body is
read before the key is checked. Success is ``200 {"success": true}``.
"""

from typing import Any

from django.http import HttpRequest, JsonResponse
from django.urls import path, re_path

from core.http import request_bearer
from tracking.capture import (
    Endpoint,
    KeyCheck,
    Refusal,
    Route,
    basic_auth_username,
    capture,
    post_endpoint,
)
from tracking.dialects import segment
from tracking.messages import Message


def write_keys(request: HttpRequest, body: Any, route: Route) -> list[str]:
    """The first key given: ``writeKey``, Basic username, Bearer token."""
    key = (
        segment.write_key(body)
        or basic_auth_username(request)
        or request_bearer(request)
    )
    return [key]


WRITE_KEY = KeyCheck(
    find=write_keys,
    in_body=True,
    missing=Refusal(
        "No write key: send it as the Basic auth username, a Bearer token "
        "or `writeKey` in the body.",
        code="missing_write_key",
    ),
    invalid=Refusal("Invalid write key.", code="invalid_write_key"),
)


def success(messages: list[Message]) -> dict[str, Any]:
    return {"success": True}


BATCH = Endpoint(
    key=WRITE_KEY,
    body_limit=segment.BATCH_LIMIT,
    translate=lambda body, received_at, route: segment.translate_batch(
        body, received_at=received_at
    ),
    answer=success,
)
SINGLE = Endpoint(
    key=WRITE_KEY,
    body_limit=segment.BATCH_LIMIT,
    translate=lambda body, received_at, route: segment.translate_single(
        route["kind"], body, received_at=received_at
    ),
    answer=success,
)


@post_endpoint
def segment_batch(request: HttpRequest) -> JsonResponse:
    return capture(request, endpoint=BATCH, route={})


@post_endpoint
def segment_single(request: HttpRequest, kind: str) -> JsonResponse:
    return capture(request, endpoint=SINGLE, route={"kind": kind})


urlpatterns = [
    path("v1/batch", segment_batch, name="segment-batch"),
    re_path(
        r"^v1/(?P<kind>identify|track|page|screen|group|alias)$",
        segment_single,
        name="segment-single",
    ),
]
