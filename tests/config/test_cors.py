"""Browsers may call the APIs from any origin (auth is by header, not cookie)."""

import pytest
from django.test import Client

pytestmark = pytest.mark.django_db

ALLOWED = (
    "apikey, authorization, x-client-info, content-type, accept-profile, "
    "content-profile, prefer, range, x-retry-count"
)


@pytest.mark.parametrize("path", ["/rest/v1/things", "/auth/v1/token"])
def test_preflight_allows_supabase_headers(path):
    response = Client().options(
        path,
        headers={
            "Origin": "https://app.example.com",
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": ALLOWED,
        },
    )
    assert response.status_code == 200
    assert response["Access-Control-Allow-Origin"] == "*"
    allowed = {h.strip() for h in response["Access-Control-Allow-Headers"].split(",")}
    assert {h.strip() for h in ALLOWED.split(",")} <= allowed
    assert "PATCH" in response["Access-Control-Allow-Methods"]


def test_responses_expose_content_range(tenant_a):
    response = Client().get(
        "/rest/v1/things", headers={"Origin": "https://app.example.com"}
    )
    assert response["Access-Control-Allow-Origin"] == "*"
    assert "Content-Range" in response["Access-Control-Expose-Headers"]


def test_browser_ui_paths_get_no_cors_headers():
    response = Client().get("/healthz", headers={"Origin": "https://evil.example.com"})
    assert "Access-Control-Allow-Origin" not in response
