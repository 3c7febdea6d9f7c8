"""Django test clients for the three faces, in-process: the browser UI and the
admin (signed in by session), /auth/v1 (password sign-in, GoTrue tokens) and
/rest/v1 (a PostgREST client for one tenant). The real servers' clients are in
tests/live.py."""

import json
from dataclasses import dataclass

from django.test import Client

from tenants.models import User
from tests.factories import PASSWORD, member_make


def ui_client(user: User) -> Client:
    """A client signed in as ``user`` by session, as a browser is."""
    client = Client()
    client.force_login(user)
    return client


@dataclass
class Session:
    """A signed-in API client: its key, tokens and a Django test client."""

    client: Client
    api_key: str
    access_token: str
    refresh_token: str
    body: dict

    def headers(self, **extra: str) -> dict[str, str]:
        headers = {
            "apikey": self.api_key,
            "Authorization": f"Bearer {self.access_token}",
        }
        headers.update(extra)
        return headers

    def get(self, path: str, **headers: str):
        return self.client.get(path, headers=self.headers(**headers))

    def post(self, path: str, data: dict | None = None, **headers: str):
        return self.client.post(
            path,
            data=json.dumps(data or {}),
            content_type="application/json",
            headers=self.headers(**headers),
        )


def password_login(client: Client, api_key: str, email: str, password: str = PASSWORD):
    return client.post(
        "/auth/v1/token?grant_type=password",
        data=json.dumps({"email": email, "password": password}),
        content_type="application/json",
        headers={"apikey": api_key},
    )


def sign_in(api_key: str, user: User, password: str = PASSWORD) -> Session:
    client = Client()
    response = password_login(client, api_key, user.email, password)
    assert response.status_code == 200, response.content
    body = response.json()
    return Session(
        client=client,
        api_key=api_key,
        access_token=body["access_token"],
        refresh_token=body["refresh_token"],
        body=body,
    )


@dataclass
class Api:
    """A PostgREST client over Django's test client, for one tenant."""

    session: Session
    profile: str

    def _headers(self, method: str, prefer: str | None, headers: dict) -> dict:
        base = self.session.headers()
        key = "Accept-Profile" if method in {"GET", "HEAD"} else "Content-Profile"
        base[key] = self.profile
        if prefer:
            base["Prefer"] = prefer
        base.update(headers)
        return base

    def get(self, path: str, *, prefer: str | None = None, **headers):
        return self.session.client.get(
            "/rest/v1/" + path, headers=self._headers("GET", prefer, headers)
        )

    def head(self, path: str, **headers):
        return self.session.client.head(
            "/rest/v1/" + path, headers=self._headers("HEAD", None, headers)
        )

    def _send(self, method, path, body, prefer, headers):
        data = body if isinstance(body, str | bytes) else json.dumps(body)
        return self.session.client.generic(
            method,
            "/rest/v1/" + path,
            data=data,
            content_type=headers.pop("content_type", "application/json"),
            headers=self._headers(method, prefer, headers),
        )

    def post(self, path: str, body, *, prefer: str | None = None, **headers):
        return self._send("POST", path, body, prefer, headers)

    def put(self, path: str, body, *, prefer: str | None = None, **headers):
        return self._send("PUT", path, body, prefer, headers)

    def patch(self, path: str, body, *, prefer: str | None = None, **headers):
        return self._send("PATCH", path, body, prefer, headers)

    def delete(self, path: str, *, prefer: str | None = None, **headers):
        return self.session.client.delete(
            "/rest/v1/" + path, headers=self._headers("DELETE", prefer, headers)
        )


def api_for(tenant, role: str, email: str | None = None) -> Api:
    """A member of ``tenant`` (a CreatedTenant) in ``role``, signed in."""
    user = member_make(tenant.tenant, role, email=email)
    return Api(session=sign_in(tenant.api_key, user), profile=tenant.tenant.schema_name)
