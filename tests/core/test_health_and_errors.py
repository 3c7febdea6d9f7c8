"""/healthz for load balancers, and JSON-only errors on API paths."""

import json

import pytest
from django.core.exceptions import RequestDataTooBig
from django.db import OperationalError
from django.test import Client, RequestFactory

from core import health
from tests.clients import sign_in
from tests.factories import member_make


@pytest.mark.django_db
def test_healthz_is_200_when_the_database_answers():
    response = Client().get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "database": "up"}


class _DownConnection:
    def cursor(self):
        raise OperationalError("connection refused")


@pytest.mark.django_db
def test_healthz_is_503_when_the_database_is_down(monkeypatch):
    monkeypatch.setattr("core.health.connection", _DownConnection())
    response = Client().get("/healthz")
    assert response.status_code == 503
    assert response.json()["database"] == "down"


@pytest.mark.django_db
def test_rest_request_while_database_is_down_is_503_json(tenant_a, monkeypatch):
    session = sign_in(tenant_a.api_key, member_make(tenant_a.tenant))

    def down(**kwargs):
        raise OperationalError("connection refused")

    monkeypatch.setattr("tenants.middleware.rest_access_get", down)
    response = session.get("/rest/v1/things")
    assert response.status_code == 503
    assert response.json()["code"] == "PGRST001"
    assert response["Retry-After"]


@pytest.mark.django_db
@pytest.mark.parametrize("path", ["/auth/v1/nope", "/rest/v1", "/v1/nope", "/models/x"])
def test_unknown_api_paths_answer_json_not_html(path):
    response = Client().get(path)
    # /rest/v1 declares its charset, as PostgREST does.
    assert response["Content-Type"].split(";")[0] == "application/json"
    assert response.status_code in (401, 404)


@pytest.mark.django_db
def test_browser_paths_keep_html_errors():
    response = Client().get("/no-such-page")
    assert response.status_code == 404
    assert response["Content-Type"].startswith("text/html")


@pytest.mark.parametrize(
    ("path", "code"),
    [("/rest/v1/things", "PGRST102"), ("/auth/v1/user", "payload_too_large")],
)
def test_a_body_too_big_for_django_is_a_413_in_the_faces_shape(path, code):
    # Only a body read by Django itself (not core.http.request_body) gets here.
    request = RequestFactory().post(path)
    response = health.bad_request(request, RequestDataTooBig("too big"))
    answer = json.loads(response.content)
    assert response.status_code == 413
    assert answer["code"] == code and "2621440 bytes" in answer["message"]
