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

from core.errors import ApplicationError
from tenants.models import KEY_PREFIXES, KeyKind
from tracking.capture import (
    Endpoint,
    KeyCheck,
    Refusal,
    Route,
    capture,
    parse_json,
    post_endpoint,
    read_body,
)
from tracking.dialects import gather
from tracking.messages import Kind, Message

FORM = "application/x-www-form-urlencoded"
_UNAUTHORIZED = {"WWW-Authenticate": "Token"}


def token(request: HttpRequest) -> str:
    """The key of ``Authorization: Token <key>`` (scheme in any case), or ``""``."""
    scheme, _, value = request.headers.get("Authorization", "").strip().partition(" ")
    if scheme.lower() != "token":
        return ""
    return value.strip()


def token_keys(request: HttpRequest, body: Any, route: Route) -> list[str]:
    """The Token key; a publishable tracking key is refused before any lookup."""
    key = token(request)
    if key.startswith(KEY_PREFIXES[KeyKind.TRACKING]):
        raise ApplicationError(
            "Tracking keys (gg_pk_…) are not accepted here: Gather's API takes a "
            "secret API key (gg_sk_…).",
            code="invalid_token",
            status=401,
            headers=_UNAUTHORIZED,
        )
    return [key]


API_KEY = KeyCheck(
    find=token_keys,
    kinds=(KeyKind.API,),
    missing=Refusal(
        "No API key: send it as `Authorization: Token <API key>`.",
        code="missing_token",
        headers=_UNAUTHORIZED,
    ),
    invalid=Refusal("Invalid API key.", code="invalid_token", headers=_UNAUTHORIZED),
)


def body_decode(request: HttpRequest, limit: int) -> Any:
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
    raw = read_body(request, limit=limit)
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


def stored_id(messages: list[Message]) -> dict[str, Any]:
    """``{"success": true, "id": …}``: the record's id, or the event's message id."""
    (message,) = messages
    answer = {
        Kind.ACCOUNT: message.account_id,
        Kind.USER: message.user_id,
    }.get(message.kind, message.message_id)
    return {"success": True, "id": answer}


RECORDS = Endpoint(
    key=API_KEY,
    body_limit=gather.BODY_LIMIT,
    decode=body_decode,
    translate=lambda body, received_at, route: gather.TRANSLATORS[route["model"]](
        body, received_at=received_at
    ),
    answer=stored_id,
)
EVENTS = Endpoint(
    key=API_KEY,
    body_limit=gather.BODY_LIMIT,
    decode=body_decode,
    translate=lambda body, received_at, route: gather.translate_event(
        body, received_at=received_at
    ),
    answer=stored_id,
)


@post_endpoint
def gather_records(request: HttpRequest, model: str) -> JsonResponse:
    return capture(request, endpoint=RECORDS, route={"model": model})


@post_endpoint
def gather_events(request: HttpRequest) -> JsonResponse:
    return capture(request, endpoint=EVENTS, route={})


urlpatterns = [
    re_path(
        r"^models/(?P<model>account|user)/records/?$",
        gather_records,
        name="gather-records",
    ),
    re_path(r"^events/?$", gather_events, name="gather-events"),
]
