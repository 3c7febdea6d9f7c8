"""Gather's own API: account and user records, and events.

- ``POST /models/account/records``, ``POST /models/user/records``: idempotent
  upserts (traits merge, the request wins).
- ``POST /events``: one event.

Credential: ``Authorization: Token <API key>`` - a secret API key
(``gg_sk_…``) only, as the reference says ``API_KEY``; a publishable tracking
key (``gg_pk_…``) is refused with 401. Body: form-encoded (what ``curl -d``
sends; bracket keys like ``properties[title]`` nest) or JSON
(``application/json`` or ``…+json``), UTF-8, gzip accepted, at most 500 KB;
any other Content-Type is 415. Answers: ``200 {"success": true, "id": …}``
(the record's id, or the event's message id); errors ``{code, message}`` plus
``details`` (every bad field) on 400, 401 for a missing or refused key, 503
(with ``Retry-After``) when nothing could be stored. The dialect's decisions
are in :mod:`tracking.dialects.gather`.
"""

from typing import Any
from urllib.parse import parse_qsl

from django.http import HttpRequest, JsonResponse
from django.urls import re_path
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from core.errors import ApplicationError
from tenants.models import KEY_PREFIXES, KeyKind
from tracking.dialects import gather
from tracking.endpoints.common import (
    dialect_error,
    ingest_or_error,
    parse_json,
    read_body,
    tracking_tenant_activate,
)
from tracking.messages import DialectError, Kind, Message

FORM = "application/x-www-form-urlencoded"
_UNAUTHORIZED = {"WWW-Authenticate": "Token"}


def token(request: HttpRequest) -> str:
    """The key of ``Authorization: Token <key>`` (scheme in any case), or ``""``."""
    scheme, _, value = request.headers.get("Authorization", "").strip().partition(" ")
    if scheme.lower() != "token":
        return ""
    return value.strip()


def authenticate(request: HttpRequest) -> None:
    """Activate the tenant of the request's API key, or raise a 401."""
    key = token(request)
    if not key:
        raise ApplicationError(
            "No API key: send it as `Authorization: Token <API key>`.",
            code="missing_token",
            status=401,
            headers=_UNAUTHORIZED,
        )
    if key.startswith(KEY_PREFIXES[KeyKind.TRACKING]):
        raise ApplicationError(
            "Tracking keys (gg_pk_…) are not accepted here: Gather's API takes a "
            "secret API key (gg_sk_…).",
            code="invalid_token",
            status=401,
            headers=_UNAUTHORIZED,
        )
    if not tracking_tenant_activate(key, kinds=(KeyKind.API,)):
        raise ApplicationError(
            "Invalid API key.", code="invalid_token", status=401, headers=_UNAUTHORIZED
        )


def body_decode(request: HttpRequest) -> Any:
    """The body as the dialect's dict: a decoded form, or parsed JSON."""
    content_type = (request.content_type or "").strip().lower()
    is_json = content_type == "application/json" or content_type.endswith("+json")
    if content_type != FORM and not is_json:
        raise ApplicationError(
            f"Content-Type {content_type or '(none)'!r} is not supported: send "
            f"{FORM} (what curl -d sends) or application/json.",
            code="unsupported_media_type",
            status=415,
        )
    raw = read_body(request, limit=gather.BODY_LIMIT)
    if is_json:
        return parse_json(raw)
    charset = request.content_params.get("charset", "utf-8").strip().lower()
    if charset not in {"utf-8", "utf8"}:
        raise ApplicationError(
            f"Charset {charset!r} is not supported: send UTF-8.",
            code="unsupported_media_type",
            status=415,
        )
    try:
        pairs = parse_qsl(raw.decode(), keep_blank_values=True, errors="strict")
    except (UnicodeDecodeError, ValueError):
        raise ApplicationError(
            "The form body is not valid UTF-8.", code="invalid_form"
        ) from None
    return gather.decode_form(pairs)


def _answer(request: HttpRequest, translate) -> JsonResponse:
    received_at = timezone.now()
    authenticate(request)
    body = body_decode(request)
    try:
        messages: list[Message] = translate(body, received_at=received_at)
    except DialectError as error:
        raise dialect_error(error) from None
    ingest_or_error(messages, received_at=received_at)
    (message,) = messages
    stored_id = {
        Kind.ACCOUNT: message.account_id,
        Kind.USER: message.user_id,
    }.get(message.kind, message.message_id)
    return JsonResponse({"success": True, "id": stored_id})


@csrf_exempt
@require_POST
def gather_records(request: HttpRequest, model: str) -> JsonResponse:
    return _answer(request, gather.TRANSLATORS[model])


@csrf_exempt
@require_POST
def gather_events(request: HttpRequest) -> JsonResponse:
    return _answer(request, gather.translate_event)


urlpatterns = [
    re_path(
        r"^models/(?P<model>account|user)/records/?$",
        gather_records,
        name="gather-records",
    ),
    re_path(r"^events/?$", gather_events, name="gather-events"),
]
