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

from django.http import HttpRequest, JsonResponse
from django.urls import path
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from core.errors import ApplicationError
from tracking.dialects import vitally
from tracking.endpoints.common import (
    ANY_KEY,
    basic_auth_username,
    dialect_error,
    ingest_or_error,
    parse_json,
    read_body,
    tracking_tenant_activate,
)
from tracking.messages import DialectError

SUCCESS = {"message": "Success."}
_CHALLENGE = {"WWW-Authenticate": 'Basic realm="Gather Grid"'}


def authenticate(request: HttpRequest) -> None:
    """Activate the tenant of the request's Basic key, or raise a 401."""
    scheme, _, value = request.headers.get("Authorization", "").strip().partition(" ")
    value = value.strip()
    if scheme.lower() != "basic" or not value:
        raise ApplicationError(
            "No API key: send it as `Authorization: Basic <key>`.",
            code="missing_api_key",
            status=401,
            headers=_CHALLENGE,
        )
    # The raw key (Vitally's form) first, then the username of standard Basic.
    candidates = dict.fromkeys([value, basic_auth_username(request)])
    for key in candidates:
        if key and tracking_tenant_activate(key, kinds=ANY_KEY):
            return
    raise ApplicationError(
        "Invalid API key.", code="invalid_api_key", status=401, headers=_CHALLENGE
    )


@csrf_exempt
@require_POST
def vitally_batch(request: HttpRequest) -> JsonResponse:
    received_at = timezone.now()
    authenticate(request)
    body = parse_json(read_body(request, limit=vitally.BODY_LIMIT))
    try:
        messages = vitally.translate_batch(body, received_at=received_at)
    except DialectError as error:
        raise dialect_error(error) from None
    ingest_or_error(messages, received_at=received_at)
    return JsonResponse(SUCCESS)


urlpatterns = [
    path("analytics/v1/batch", vitally_batch, name="vitally-batch"),
]
