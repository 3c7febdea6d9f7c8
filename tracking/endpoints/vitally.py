"""Vitally's HTTPS Analytics API: ``POST /analytics/v1/batch``.

The credential is ``Authorization: Basic <key>``, any of the tenant's API or
tracking keys. Vitally's docs say ``Basic [YOUR_API_TOKEN]``, the raw token,
and that is what clients written against Vitally send; standard Basic auth,
base64(``key:``) or base64(``key``), is accepted too. Success is
``200 {"message":"Success."}``; errors are ``{code, message}`` plus
``details`` naming every bad field (``[2].userId``): 401 for a missing or
unknown key, 400 for bad input (nothing written), 503 when nothing could be
stored.
"""

from typing import Any

from django.http import HttpRequest, JsonResponse
from django.urls import path

from tracking.capture import (
    Endpoint,
    KeyCheck,
    Refusal,
    Route,
    basic_auth_username,
    capture,
    post_endpoint,
)
from tracking.dialects import vitally

SUCCESS = {"message": "Success."}
_CHALLENGE = {"WWW-Authenticate": 'Basic realm="Gather Grid"'}


def basic_keys(request: HttpRequest, body: Any, route: Route) -> list[str]:
    """The raw key (Vitally's form) first, then the username of standard Basic."""
    scheme, _, value = request.headers.get("Authorization", "").strip().partition(" ")
    value = value.strip()
    if scheme.lower() != "basic" or not value:
        return []
    return [value, basic_auth_username(request)]


BATCH = Endpoint(
    key=KeyCheck(
        find=basic_keys,
        missing=Refusal(
            "No API key: send it as `Authorization: Basic <key>`.",
            code="missing_api_key",
            headers=_CHALLENGE,
        ),
        invalid=Refusal("Invalid API key.", code="invalid_api_key", headers=_CHALLENGE),
    ),
    body_limit=vitally.BODY_LIMIT,
    translate=lambda body, received_at, route: vitally.translate_batch(
        body, received_at=received_at
    ),
    answer=lambda messages: SUCCESS,
)


@post_endpoint
def vitally_batch(request: HttpRequest) -> JsonResponse:
    return capture(request, endpoint=BATCH, route={})


urlpatterns = [
    path("analytics/v1/batch", vitally_batch, name="vitally-batch"),
]
