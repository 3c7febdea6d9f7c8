"""Schemathesis over ``GET /rest/v1/``: every operation the OpenAPI document
describes, called in-process (Django's WSGI app) as a tenant editor, with all
of schemathesis' checks, in all its phases (examples, coverage, fuzzing,
stateful) as ``schemathesis run --checks all`` runs them, bounded and seeded:
a few generated requests per operation, the same ones every run, no
shrinking, no deadline.

A finding is either a server bug (fix it, with a regular test) or the
document describing something the server does not do (fix the document).
The whole run happens inside the test's transaction: nothing it writes stays.
"""

import time
import tomllib
from contextlib import contextmanager
from pathlib import Path

import pytest
import schemathesis
from django.core import signals
from django.core.handlers.wsgi import WSGIHandler
from django.db import close_old_connections, connections, transaction
from psycopg.pq import TransactionStatus
from schemathesis.config import SchemathesisConfig
from schemathesis.engine import events, from_schema
from schemathesis.transport.wsgi import WSGITransport

from tenants.models import Role
from tests.clients import api_for
from tests.factories import grid_make, in_tenant

pytestmark = pytest.mark.django_db

INERROR = TransactionStatus.INERROR
SEED = 20261204
EXAMPLES = 5

# The project's expectations (schemathesis.toml, also read by the CLI), and
# the bounds of this run.
PROJECT_CONFIG = (Path(__file__).parents[2] / "schemathesis.toml").read_text()
CONFIG = f"""
seed = {SEED}
workers = 1
continue-on-failure = true

[generation]
max-examples = {EXAMPLES}
no-shrink = true
deterministic = true
database = "none"

[checks]
enabled = true

[cache]
enabled = false
"""


def merged(base: dict, extra: dict) -> dict:
    out = dict(base)
    for key, value in extra.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = merged(out[key], value)
        elif isinstance(value, list) and isinstance(out.get(key), list):
            out[key] = out[key] + value
        else:
            out[key] = value
    return out


class SharedConnectionApp:
    """Django's WSGI app on the test's own database connection.

    Schemathesis calls the app from its worker threads, one request at a time;
    each would open a connection of its own, outside the test's transaction.
    Like Django's ``LiveServerThread``, hand them the test's connection (and
    keep ``close_old_connections`` from closing it after each request). Each
    request runs in a savepoint, rolled back if a statement failed: served, a
    plain read runs in autocommit, and its error cannot spoil the next one."""

    def __init__(self) -> None:
        self.handler = WSGIHandler()
        self.connection = connections["default"]

    def __call__(self, environ, start_response):
        connections["default"] = self.connection
        with transaction.atomic():
            body = b"".join(self.handler(environ, start_response))
            pg = self.connection.connection
            if pg is not None and pg.info.transaction_status == INERROR:
                transaction.set_rollback(True)
        return [body]


@contextmanager
def shared_connection():
    connection = connections["default"]
    # Foreign keys are checked at COMMIT, which a test never reaches: check
    # them at each statement, so that a request answers as served (409).
    with connection.cursor() as cursor:
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
    connection.inc_thread_sharing()
    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    try:
        yield SharedConnectionApp()
    finally:
        signals.request_started.connect(close_old_connections)
        signals.request_finished.connect(close_old_connections)
        connection.dec_thread_sharing()


def tracking_rows(tenant) -> None:
    """One row in each tracking table the API reads (they are written by the
    tracking endpoints, not through /rest/v1)."""
    from datetime import date

    from django.utils import timezone

    from tracking.models import (
        Account,
        AccountUsage,
        AccountUser,
        CustomerUser,
        CustomObject,
        CustomObjectInstance,
        Feedback,
        Organization,
        Session,
    )

    with in_tenant(tenant):
        org = Organization.objects.create(external_id="org-1", name="Org")
        account = Account.objects.create(
            external_id="acc-1", name="Acme", organization=org
        )
        user = CustomerUser.objects.create(external_id="u-1", email="u@example.com")
        AccountUser.objects.create(user=user, account=account)
        Feedback.objects.create(
            feature_id="f", user=user, account=account, score=4, source="bucket"
        )
        now = timezone.now()
        Session.objects.create(
            user=user, account_id=account.id, started_at=now, ended_at=now
        )
        AccountUsage.objects.create(account=account, day=date(2026, 1, 1))
        kind = CustomObject.objects.create(external_id="co-1")
        CustomObjectInstance.objects.create(
            custom_object=kind, external_id="i-1", account=account
        )


@pytest.fixture(autouse=True)
def wsgi_probes_without_socket_options(monkeypatch):
    """Schemathesis 4.32's ``ignored_auth`` probe hands the in-process (WSGI)
    transport the socket options (``max_redirects``, ...) it only drops along
    with a ``requests`` session; drop them (no socket here)."""
    send = WSGITransport.send

    def without_socket_options(self, case, *, session=None, **kwargs):
        for name in ("max_redirects", "verify", "cert", "proxies"):
            kwargs.pop(name, None)
        return send(self, case, session=session, **kwargs)

    monkeypatch.setattr(WSGITransport, "send", without_socket_options)


def finding(recorder, case_id: str, info) -> str:
    failure = info.failure
    response = recorder.find_response(case_id=case_id)
    answer = ""
    if response is not None:
        answer = f"\n-> {response.status_code} {response.content[:300]!r}"
    return (
        f"{failure.code} {failure.title} [{recorder.label}]: {failure.message}"
        f"\n{info.code_sample}{answer}"
    )


def fuzz(tenant, *, config: str = CONFIG) -> tuple[list[str], int]:
    """Run schemathesis as a tenant editor; the findings (one line each) and
    the number of requests made."""
    editor = api_for(tenant, Role.EDITOR)
    profile = tenant.tenant.schema_name
    headers = {
        **editor.session.headers(),
        "Accept-Profile": profile,
        "Content-Profile": profile,
    }
    loaded = SchemathesisConfig.from_dict(
        merged(tomllib.loads(PROJECT_CONFIG), tomllib.loads(config))
    )
    loaded.projects.override.headers = headers
    findings: list[str] = []
    requests = 0
    with shared_connection() as app:
        schema = schemathesis.openapi.from_wsgi(
            "/rest/v1/", app, headers=headers, config=loaded
        )
        for event in from_schema(schema).execute():
            if isinstance(event, events.ScenarioFinished):
                requests += len(event.recorder.interactions)
                for case_id, checks in event.recorder.checks.items():
                    for check in checks:
                        if check.failure_info is not None:
                            findings.append(
                                finding(event.recorder, case_id, check.failure_info)
                            )
            elif isinstance(event, events.NonFatalError):
                findings.append(f"error [{event.label}]: {event.info.format()}")
            elif isinstance(event, events.FatalError):
                findings.append(f"fatal error: {event.exception!r}")
    return list(dict.fromkeys(findings)), requests


def test_schemathesis_finds_nothing(tenant_a):
    grid_make(tenant_a, name="Task")
    tracking_rows(tenant_a)
    started = time.monotonic()
    findings, requests = fuzz(tenant_a)
    elapsed = time.monotonic() - started
    print(f"schemathesis: {requests} requests in {elapsed:.1f}s")
    assert not findings, f"{len(findings)} findings:\n\n" + "\n\n".join(findings)
    assert requests > 100
