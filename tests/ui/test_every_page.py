"""Every ``ui:`` URL, enumerated from the resolver, so that a view added later
is checked too: non-members get 404, a viewer's POST is refused, every POST
needs the CSRF token, and each page renders (as admin and as viewer, with
data) with one ``<h1>``, a ``<title>``, labelled inputs and nothing unrendered.
"""

import io
import re
from dataclasses import dataclass
from html.parser import HTMLParser
from urllib.parse import urlencode, urlsplit

import pytest
from django.db import transaction
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, reverse
from django.urls.converters import UUIDConverter

from gathergrid import imports
from gathergrid.models import EntryHistory, Field, GridView
from tenants.models import KeyKind, Role
from tenants.services import key_issue
from tests.clients import ui_client
from tests.factories import grid_make, in_tenant, item_make, member_make, person
from tests.ui.test_tracking_views import (
    account_id,
    identify,
    ingest_feedback,
    ingest_segment,
    page_view,
    track,
    user_id,
)

# User data that must reach every page escaped.
HOSTILE = {
    "thing": "<i>Thing</i>",
    "value": "<script>value</script>",
    "trait": "<img src=x onerror=trait>",
    "comment": "<script>comment</script>",
    "cell": "<b>cell</b>",
}

# Pages outside a tenant: sign in and out, the tenant switcher, one's password.
PUBLIC = {"login", "logout", "home", "password_change"}


def _patterns(patterns, prefix: str = "", converters=None):
    """(name, route, {kwarg: converter}) of every named pattern, includes walked."""
    for entry in patterns:
        found = {**(converters or {}), **entry.pattern.converters}
        route = prefix + str(entry.pattern)
        if isinstance(entry, URLResolver):
            yield from _patterns(entry.url_patterns, route, found)
        elif isinstance(entry, URLPattern) and entry.name:
            yield entry.name, route, found


def ui_patterns() -> list[tuple[str, str, dict]]:
    _, resolver = get_resolver().namespace_dict["ui"]
    return sorted(_patterns(resolver.url_patterns))


TENANT_PATTERNS = [p for p in ui_patterns() if p[0] not in PUBLIC]


@dataclass
class Sample:
    """A URL of each pattern, naming objects that exist in tenant_a."""

    kwargs: dict
    member_id: str

    def url(self, name: str, converters: dict) -> str:
        kwargs = {}
        for key, converter in converters.items():
            if isinstance(converter, UUIDConverter):
                kwargs[key] = self.member_id
            else:
                kwargs[key] = (
                    self.kwargs[f"{name}:{key}"]
                    if (f"{name}:{key}" in self.kwargs)
                    else self.kwargs[key]
                )
        return reverse(f"ui:{name}", kwargs=kwargs)


@pytest.fixture
def sample(tenant_a, admin_a) -> Sample:
    made = grid_make(
        tenant_a, name=HOSTILE["thing"], entries=[person(HOSTILE["value"], age=3)]
    )
    with in_tenant(tenant_a):
        job = imports.import_job_create(
            thing=made.thing,
            filename="people.csv",
            file=io.BytesIO(f"Name,Age\n{HOSTILE['cell']},4\n".encode()),
            user_id=admin_a.pk,
        )
    ingest_segment(
        tenant_a,
        *identify("ann", "acme", nick=HOSTILE["trait"]),
        page_view("ann", "acme", day=0),
        track("ann", "acme", "Report Exported", day=0, format="csv"),
    )
    ingest_feedback(
        tenant_a,
        featureId="export",
        userId="ann",
        companyId="acme",
        score=4,
        comment=HOSTILE["comment"],
    )
    with in_tenant(tenant_a):
        history_id = EntryHistory.objects.filter(entry_id=made.entry_ids[0]).values(
            "id"
        )[0]["id"]
        view = GridView.objects.create(thing=made.thing, name=HOSTILE["thing"])
        reference = Field.objects.create(
            thing=made.thing,
            name="Referee",
            position=9,
            data_type="reference",
            options={"thing_id": made.thing.id},
        )
    key, _ = key_issue(tenant=tenant_a.tenant, kind=KeyKind.API, label="ci")
    member = member_make(tenant_a.tenant, Role.EDITOR, email="member@example.com")
    item = item_make(tenant_a, HOSTILE["value"])
    return Sample(
        kwargs={
            "schema": "tenant_a",
            "thing_id": made.thing.id,
            "field_id": made.fields["Name"].id,
            "entry_id": made.entry_ids[0],
            "column": f"f{made.fields['Age'].id}",
            "job_id": job.id,
            "prefix": key.prefix,
            "account_id": account_id(tenant_a, "acme"),
            "user_id": user_id(tenant_a, "ann"),
            "history_id": history_id,
            "view_id": view.id,
            "grid_options:field_id": reference.id,
            "item_id": item.pk,
        },
        member_id=str(member.pk),
    )


def test_the_enumeration_sees_every_area():
    names = {name for name, _, _ in TENANT_PATTERNS}
    assert {"things", "entries", "entry_cell", "import_apply", "accounts"} <= names
    assert {"member_role", "key_revoke", "export", "feedback"} <= names


def test_non_members_get_404_on_every_tenant_url(sample, client_b):
    wrong = []
    for name, _, converters in TENANT_PATTERNS:
        url = sample.url(name, converters)
        for method in (client_b.get, client_b.post):
            status = method(url).status_code
            if status != 404:
                wrong.append((method.__name__, url, status))
    assert not wrong, "\n".join(map(str, wrong))


def test_a_viewers_post_is_refused_on_every_tenant_url(sample, viewer_client_a):
    wrong = []
    for name, _, converters in TENANT_PATTERNS:
        url = sample.url(name, converters)
        status = viewer_client_a.post(url, {"value": "x", "name": "x"}).status_code
        if status not in (403, 405):
            wrong.append((url, status))
    assert not wrong, "\n".join(map(str, wrong))


def test_every_post_needs_the_csrf_token(sample, admin_a):
    client = Client(enforce_csrf_checks=True)
    client.force_login(admin_a)
    wrong = []
    for name, _, converters in ui_patterns():
        url = sample.url(name, converters) if converters else reverse(f"ui:{name}")
        status = client.post(url, {"value": "x"}).status_code
        if status not in (403, 405):
            wrong.append((url, status))
    assert not wrong, "\n".join(map(str, wrong))


class PageCheck(HTMLParser):
    """Collects a page's headings, title and form controls without a label."""

    def __init__(self) -> None:
        super().__init__()
        self.h1 = 0
        self.title = ""
        self.in_title = False
        self.label_for: set[str] = set()
        self.label_depth = 0
        self.controls: list[tuple[str, dict]] = []

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "h1":
            self.h1 += 1
        elif tag == "title" and not self.title:
            self.in_title = True
        elif tag == "label":
            self.label_depth += 1
            if attrs.get("for"):
                self.label_for.add(attrs["for"])
        elif tag in ("input", "select", "textarea"):
            kind = attrs.get("type", "text")
            if kind not in ("hidden", "submit", "button", "reset", "image"):
                labelled = self.label_depth > 0 or any(
                    attrs.get(a) for a in ("aria-label", "aria-labelledby", "title")
                )
                if not labelled:
                    self.controls.append((tag, attrs))

    def handle_endtag(self, tag):
        if tag == "label":
            self.label_depth = max(0, self.label_depth - 1)
        elif tag == "title":
            self.in_title = False

    def handle_data(self, data):
        if self.in_title:
            self.title += data

    def unlabelled(self) -> list[dict]:
        return [a for _, a in self.controls if a.get("id") not in self.label_for]


# Template syntax left in the output (JSON in snippets has bare braces).
UNRENDERED = re.compile(r"\{\{\s*[\w.]+\s*(\||\}\})|\{%\s*\w+")


def page_problems(url: str, response) -> list[str]:
    """What is wrong with a rendered page (empty when nothing)."""
    if response.status_code in (302, 403, 405):
        return []
    if response.status_code != 200:
        return [f"{url}: status {response.status_code}"]
    if not response["Content-Type"].startswith("text/html"):
        return []
    html = response.content.decode()
    problems = []
    if UNRENDERED.search(html):
        problems.append(f"{url}: unrendered template syntax")
    for what, text in HOSTILE.items():
        if text in html:
            problems.append(f"{url}: the {what} is not escaped")
    # "None" is a choice of the classification filter; anywhere else it is a
    # Python None that reached the page.
    if re.search(r"\bNone\b", html.replace('value="none">None<', "")):
        problems.append(f"{url}: 'None' on the page")
    check = PageCheck()
    check.feed(html)
    for attrs in check.unlabelled():
        problems.append(f"{url}: control without a label {attrs}")
    if "<html" in html:  # full pages, not htmx fragments
        if check.h1 != 1:
            problems.append(f"{url}: {check.h1} <h1>")
        if not check.title.strip():
            problems.append(f"{url}: no <title>")
    return problems


@pytest.mark.parametrize("role", [Role.ADMIN, Role.EDITOR, Role.VIEWER])
def test_every_page_renders_for_each_role(sample, tenant_a, admin_a, role):
    user = (
        admin_a
        if role == Role.ADMIN
        else member_make(tenant_a.tenant, role, email=f"{role}@example.com")
    )
    client = ui_client(user)
    problems = []
    for name, _, converters in ui_patterns():
        url = sample.url(name, converters) if converters else reverse(f"ui:{name}")
        if name == "home":
            url += "?all=1"
        problems += page_problems(url, client.get(url))
    assert not problems, "\n".join(problems)


OFF_SITE = ["https://evil.example/", "//evil.example/", "/\\evil.example/"]


def off_site(location: str) -> bool:
    """Whether a browser following ``location`` would leave this site."""
    return bool(urlsplit(location).netloc) or location.startswith(("//", "/\\"))


def test_no_url_redirects_off_the_site_through_next(sample, client_a):
    wrong = []
    # Signing out last: the other URLs need the session.
    for name, _, converters in sorted(ui_patterns(), key=lambda p: p[0] == "logout"):
        url = sample.url(name, converters) if converters else reverse(f"ui:{name}")
        for target in OFF_SITE:
            for response in (
                client_a.get(url, {"next": target}),
                client_a.post(
                    url + "?" + urlencode({"next": target}), {"next": target}
                ),
            ):
                location = response.get("Location", "")
                if off_site(location):
                    wrong.append((url, location))
    assert not wrong, "\n".join(map(str, wrong))


JUNK = [
    "abc",
    "-1",
    "0",
    "99999",
    "9" * 30,
    "",
    "1:eq:",
    "x:y:z",
    "\x00",
    "2024-02-30",
    "0001-01-01",
    "9999-12-31",
]
# Every query parameter a UI page reads.
PARAMETERS = [
    "page",
    "deactivated_page",
    "before",
    "sort",
    "f",
    "q",
    "class",
    "valid_on",
    "days",
    "measure",
    "status",
    "last_seen",
    "score",
    "since",
    "until",
    "user",
    "account",
    "name",
    "properties",
    "trait",
    "search",
    "organization",
    "seen_from",
    "seen_to",
    "feature",
    "all",
    "next",
]


def test_no_page_fails_on_junk_in_its_query_string(sample, admin_a):
    client_a = Client(raise_request_exception=False)
    client_a.force_login(admin_a)
    wrong = []
    for name, _, converters in ui_patterns():
        if name == "logout":
            continue
        url = sample.url(name, converters) if converters else reverse(f"ui:{name}")
        for junk in JUNK:
            # A failed query would abort the test's transaction for the rest.
            savepoint = transaction.savepoint()
            status = client_a.get(url, dict.fromkeys(PARAMETERS, junk)).status_code
            transaction.savepoint_rollback(savepoint)
            if status >= 500:
                wrong.append((url, junk, status))
    assert not wrong, "\n".join(map(str, wrong))


# Every form input name a UI page reads from a POST.
POST_NAMES = [
    "value",
    "next",
    "direction",
    "mode",
    "kind",
    "label",
    "email",
    "password",
    "role",
    "col_0",
    "col_1",
    *(
        f"{prefix}-{name}"
        for prefix in ("new", "edit")
        for name in (
            "name",
            "description",
            "data_type",
            "options",
            "choices",
            "thing_id",
        )
    ),
    "classification_item_id",
    "validity_start_date",
    "validity_end_date",
]


def test_no_post_fails_on_a_nul_character(sample, admin_a):
    client = Client(raise_request_exception=False)
    client.force_login(admin_a)
    names = [*POST_NAMES, f"f{sample.kwargs['field_id']}", sample.kwargs["column"]]
    wrong = []
    for name, _, converters in sorted(ui_patterns(), key=lambda p: p[0] == "logout"):
        url = sample.url(name, converters) if converters else reverse(f"ui:{name}")
        savepoint = transaction.savepoint()
        status = client.post(url, dict.fromkeys(names, "a\x00b")).status_code
        transaction.savepoint_rollback(savepoint)
        if status >= 500:
            wrong.append((url, status))
    assert not wrong, "\n".join(map(str, wrong))
