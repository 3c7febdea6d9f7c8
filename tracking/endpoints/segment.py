"""Segment's HTTP Tracking API: what Dreamdata, RudderStack and Segment SDKs send."""

from collections.abc import Callable
from typing import Any

from django.http import HttpRequest, JsonResponse
from django.urls import path, re_path
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from core.errors import ApplicationError
from core.http import request_bearer
from tracking.dialects import segment
from tracking.endpoints.common import (
    ANY_KEY,
    basic_auth_username,
    dialect_error,
    ingest_or_error,
    parse_json,
    read_body,
    tracking_tenant_activate,
)
from tracking.messages import DialectError, Message


def segment_endpoint(translate: Callable[[Any, Any], list[Message]]):
    @csrf_exempt
    @require_POST
    def view(request: HttpRequest, **kwargs) -> JsonResponse:
        received_at = timezone.now()
        raw = read_body(request, limit=segment.BATCH_LIMIT)
        body = parse_json(raw)
        key = (
            segment.write_key(body)
            or basic_auth_username(request)
            or request_bearer(request)
        )
        if not key:
            raise ApplicationError(
                "No write key: send it as the Basic auth username, a Bearer token "
                "or `writeKey` in the body.",
                code="missing_write_key",
                status=401,
            )
        if not tracking_tenant_activate(key, kinds=ANY_KEY):
            raise ApplicationError(
                "Invalid write key.", code="invalid_write_key", status=401
            )
        try:
            messages = translate(body, received_at, **kwargs)
        except DialectError as error:
            raise dialect_error(error) from None
        ingest_or_error(messages, received_at=received_at)
        return JsonResponse({"success": True})

    return view


segment_batch = segment_endpoint(
    lambda body, received_at: segment.translate_batch(body, received_at=received_at)
)
segment_single = segment_endpoint(
    lambda body, received_at, kind: segment.translate_single(
        kind, body, received_at=received_at
    )
)


urlpatterns = [
    path("v1/batch", segment_batch, name="segment-batch"),
    re_path(
        r"^v1/(?P<kind>identify|track|page|screen|group|alias)$",
        segment_single,
        name="segment-single",
    ),
]
