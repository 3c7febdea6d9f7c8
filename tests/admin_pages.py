"""Helpers for the /admin/ tests: pick a tenant, read a form as a browser would
submit it, the URLs of an object's pages, the queries a changelist costs."""

from html.parser import HTMLParser

from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from tenants.admin_site import SESSION_KEY

PICKER = "/admin/pick-tenant/"


def pick(client: Client, schema: str) -> None:
    response = client.post(PICKER, {"schema": schema})
    assert response.status_code == 302, response.content
    assert client.session[SESSION_KEY] == schema


class _FormFields(HTMLParser):
    """The values a browser would submit from the form with ``form_id``."""

    def __init__(self, form_id: str | None) -> None:
        super().__init__()
        self.form_id = form_id
        self.inside = False
        self.data: dict[str, str] = {}
        self._select: str | None = None
        self._textarea: str | None = None

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "form":
            # Without an id: the page's first POST form other than "log out".
            self.inside = attrs.get("id") == self.form_id or (
                self.form_id is None
                and not self.data
                and attrs.get("method") == "post"
                and attrs.get("id") != "logout-form"
            )
        if not self.inside or ("name" not in attrs and tag != "option"):
            return
        if tag == "input":
            kind = attrs.get("type", "text")
            if kind in {"submit", "button"}:
                return
            if kind == "checkbox" and "checked" not in attrs:
                return
            self.data[attrs["name"]] = attrs.get("value") or (
                "on" if kind == "checkbox" else ""
            )
        elif tag == "select":
            self._select = attrs["name"]
            self.data.setdefault(self._select, "")
        elif tag == "option" and self._select and "selected" in attrs:
            self.data[self._select] = attrs.get("value", "")
        elif tag == "textarea":
            self._textarea = attrs["name"]
            self.data[self._textarea] = ""

    def handle_data(self, data):
        if self._textarea:
            self.data[self._textarea] += data

    def handle_endtag(self, tag):
        if tag == "form":
            self.inside = False
        elif tag == "select":
            self._select = None
        elif tag == "textarea":
            self._textarea = None


def form_data(client: Client, url: str, form_id: str | None) -> dict[str, str]:
    page = client.get(url)
    assert page.status_code == 200, page.content
    parser = _FormFields(form_id)
    parser.feed(page.content.decode())
    return {k: v.lstrip("\n") for k, v in parser.data.items()}


def change_url(obj) -> str:
    opts = obj._meta
    return reverse(f"admin:{opts.app_label}_{opts.model_name}_change", args=[obj.pk])


def changelist_url(model) -> str:
    opts = model._meta
    return reverse(f"admin:{opts.app_label}_{opts.model_name}_changelist")


def changelist_queries(client: Client, url: str) -> int:
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url)
    assert response.status_code == 200
    return len(queries)
