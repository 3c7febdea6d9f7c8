"""`make run` as a user runs it: `manage.py serve` on a fresh embedded PostgreSQL,
exercised over real HTTP, stopped with Ctrl-C, then run again on the same data."""

import json
import signal
import time

import pytest

from tests.live import Served, free_port, login, postgres_running_in, request

pytestmark = pytest.mark.slow


def test_serve_prints_working_credentials_stops_cleanly_and_reuses_data(tmp_path):
    data_dir = tmp_path / "data"
    served = Served(data_dir, free_port())
    try:
        served.wait_healthy()
        api_key = served.banner("API key")
        tracking_key = served.banner("Tracking key")
        email = served.banner("Admin email")
        password = served.banner("Admin password")
        assert served.banner("Tenant") == "demo"
        assert tracking_key.startswith("gg_pk_")
        ui_url = served.banner("Browser UI").split()[0]
        assert ui_url == served.url + "/t/demo/"
        status, _, body = request("GET", served.url + "/login/")
        assert status == 200 and b'name="password"' in body
        status, _, body = request("GET", served.url + "/static/ui/app.css")
        assert status == 200 and b"--accent" in body

        session = login(served, api_key, email, password)
        token = session["access_token"]
        status, _, body = request(
            "GET",
            served.url + "/auth/v1/user",
            apikey=api_key,
            Authorization=f"Bearer {token}",
        )
        assert status == 200 and json.loads(body)["email"] == email

        # Over real HTTP too: another profile is refused, a bad token is refused.
        status, _, body = request(
            "GET",
            served.url + "/rest/v1/things",
            apikey=api_key,
            Authorization=f"Bearer {token}",
            Accept_Profile="someone_else",
        )
        assert status == 406 and json.loads(body)["code"] == "PGRST106"
        status, headers, body = request(
            "GET",
            served.url + "/rest/v1/things",
            apikey=api_key,
            Authorization="Bearer forged.jwt.value",
        )
        assert status == 401 and json.loads(body)["code"] == "PGRST301"
        assert "www-authenticate" in headers

        assert postgres_running_in(data_dir)
        assert served.ctrl_c() == 0, "\n".join(served.lines)
        # The access log is on by default: one line per request.
        assert any('"GET /login/ ' in line for line in served.lines), served.lines
        time.sleep(0.5)
        assert not postgres_running_in(data_dir), "embedded PostgreSQL left running"
    finally:
        served.kill()

    again = Served(data_dir, free_port())
    try:
        again.wait_healthy()
        assert again.banner("API key") == api_key
        assert again.banner("Admin password") == password
        login(again, api_key, email, password)
        assert again.ctrl_c() == 0, "\n".join(again.lines)
    finally:
        again.kill()


def test_sigint_to_the_serve_process_alone_stops_everything(tmp_path):
    """A process manager may signal only the main process, not its group."""
    data_dir = tmp_path / "data"
    served = Served(data_dir, free_port())
    try:
        served.wait_healthy()
        served.process.send_signal(signal.SIGINT)
        assert served.process.wait(timeout=60) == 0, "\n".join(served.lines)
        time.sleep(0.5)
        assert not postgres_running_in(data_dir)
        with pytest.raises(OSError):
            request("GET", served.url + "/healthz")
    finally:
        served.kill()


@pytest.mark.parametrize("server", ["granian", "gunicorn"])
@pytest.mark.parametrize(
    ("value", "logged"),
    [(None, True), ("1", True), ("0", False), ("off", False), ("false", False)],
)
def test_web_access_log_turns_the_access_log_on_or_off(
    monkeypatch, server, value, logged
):
    from config.management.commands.serve import server_command

    if value is None:
        monkeypatch.delenv("WEB_ACCESS_LOG", raising=False)
    else:
        monkeypatch.setenv("WEB_ACCESS_LOG", value)
    command = server_command(server, "127.0.0.1", 8000, 2)
    flag = "--access-log" if server == "granian" else "--access-logfile"
    assert (flag in command) is logged


def test_healthz_is_503_as_soon_as_postgresql_refuses_new_connections(tmp_path):
    """A smart shutdown leaves the pooled connections working (for as long as
    they stay open) while every new one is refused: /healthz says so at once,
    so a load balancer stops sending traffic."""
    import os
    import signal
    import time

    data_dir = tmp_path / "data"
    served = Served(data_dir, free_port())
    try:
        served.wait_healthy()
        assert request("GET", served.url + "/healthz")[0] == 200
        # SIGTERM to the postmaster is PostgreSQL's smart shutdown.
        postmaster = int((data_dir / "pg" / "postmaster.pid").read_text().split()[0])
        os.kill(postmaster, signal.SIGTERM)
        started, statuses = time.monotonic(), []
        while time.monotonic() - started < 5:
            statuses.append(request("GET", served.url + "/healthz")[0])
            if statuses[-1] == 503:
                break
            time.sleep(0.2)
        assert statuses[-1] == 503, statuses
        assert time.monotonic() - started < 2.5, statuses
    finally:
        served.kill()
