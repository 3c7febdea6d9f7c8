"""The curl commands the README and docs/rest.md give for a ``values->>Name``
filter, run exactly as written (the shell and curl, against the real server):
curl's ``--data-urlencode 'name=content'`` encodes only the content, so the
key's ``->>`` must be written encoded already."""

import json
import os
import re
import subprocess
import uuid

import pytest

from tests.live import ROOT, login, request

pytestmark = pytest.mark.slow

DOCS_URL = "http://127.0.0.1:8000"


def readme_filter_command() -> str:
    """The README's curl command that filters entries by a value (its lines
    joined as the shell joins them)."""
    text = (ROOT / "README.md").read_text()
    joined = text.replace("\\\n", " ")
    [command] = [
        line.strip()
        for line in joined.splitlines()
        if line.strip().startswith("curl") and "/rest/v1/entries" in line
    ]
    return command


def rest_md_curl_options() -> str:
    """The curl options docs/rest.md gives for a query string (inline code)."""
    text = (ROOT / "docs" / "rest.md").read_text().replace("\n", " ")
    [options] = re.findall(r"with curl use `([^`]+)`", text)
    return options


@pytest.fixture(scope="module")
def done_entry(served):
    """An entry whose Status is Done in the demo tenant, and the credentials."""
    demo = served.demo()
    token = login(served, demo["api_key"], demo["email"], demo["password"])
    headers = {
        "apikey": demo["api_key"],
        "Authorization": f"Bearer {token['access_token']}",
        "Content-Profile": "demo",
        "Accept-Profile": "demo",
        "Prefer": "return=representation",
    }
    rest = served.url + "/rest/v1/"

    def post(table: str, body: dict) -> dict:
        status, _, raw = request("POST", rest + table, body, **headers)
        assert status == 201, raw
        return json.loads(raw)[0]

    thing = post("things", {"name": f"Docs {uuid.uuid4().hex[:8]}"})
    post("fields", {"thing_id": thing["id"], "name": "Status", "data_type": "text"})
    entry = post("entries", {"thing_id": thing["id"], "values": {"Status": "Done"}})
    env = {
        **os.environ,
        "API_KEY": demo["api_key"],
        "ACCESS_TOKEN": token["access_token"],
    }
    return entry["id"], env


def run(command: str, env: dict) -> tuple[int, str]:
    result = subprocess.run(
        ["bash", "-c", command + " -w '\\n%{http_code}'"],
        env=env,
        capture_output=True,
        text=True,
        timeout=30,
    )
    body, _, status = result.stdout.rpartition("\n")
    return int(status), body


def test_the_readme_filter_command_works_as_written(served, done_entry):
    entry_id, env = done_entry
    command = readme_filter_command()
    assert command.startswith(f"curl -s -G '{DOCS_URL}/rest/v1/entries'")
    status, body = run(command.replace(DOCS_URL, served.url), env)
    assert status == 200, body
    assert entry_id in [row["id"] for row in json.loads(body)]


def test_the_rest_md_curl_options_work_as_written(served, done_entry):
    entry_id, env = done_entry
    command = (
        f"curl -s '{served.url}/rest/v1/entries' {rest_md_curl_options()}"
        ' -H "apikey: $API_KEY" -H "Authorization: Bearer $ACCESS_TOKEN"'
        " -H 'Accept-Profile: demo'"
    )
    status, body = run(command, env)
    assert status == 200, body
    assert entry_id in [row["id"] for row in json.loads(body)]
