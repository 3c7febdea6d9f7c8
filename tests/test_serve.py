"""`make run` as a user runs it: `manage.py serve` on a fresh embedded PostgreSQL,
exercised over real HTTP, stopped with Ctrl-C, then run again on the same data."""

import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

import psutil
import pytest

ROOT = Path(__file__).resolve().parent.parent

pytestmark = pytest.mark.slow


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Served:
    def __init__(self, data_dir: Path, port: int) -> None:
        env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
        env.pop("GATHERGRID_EMBEDDED_DB", None)
        env.update(GATHERGRID_DATA_DIR=str(data_dir), PYTHONUNBUFFERED="1")
        self.url = f"http://127.0.0.1:{port}"
        self.lines: list[str] = []
        self.process = subprocess.Popen(
            [sys.executable, "manage.py", "serve", "--port", str(port), "--workers", "2"],
            cwd=ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            start_new_session=True,  # its own process group, as in a terminal
        )
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        for line in self.process.stdout:
            self.lines.append(line.rstrip("\n"))

    def wait_healthy(self, timeout: float = 120) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            assert self.process.poll() is None, "\n".join(self.lines)
            try:
                with urllib.request.urlopen(self.url + "/healthz", timeout=2) as r:
                    if r.status == 200:
                        return
            except (urllib.error.URLError, ConnectionError):
                time.sleep(0.3)
        raise AssertionError("server did not become healthy:\n" + "\n".join(self.lines))

    def banner(self, label: str) -> str:
        for line in self.lines:
            if line.strip().startswith(label):
                return line.split(":", 1)[1].strip()
        raise AssertionError(f"{label} not printed:\n" + "\n".join(self.lines))

    def ctrl_c(self, timeout: float = 60) -> int:
        os.killpg(self.process.pid, signal.SIGINT)
        return self.process.wait(timeout=timeout)

    def kill(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)


def request(method: str, url: str, body: dict | None = None, **headers: str):
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(url, data=data, method=method)
    req.add_header("Content-Type", "application/json")
    for name, value in headers.items():
        req.add_header(name.replace("_", "-"), value)
    try:
        with urllib.request.urlopen(req, timeout=10) as response:
            return response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), error.read()


def postgres_running_in(data_dir: Path) -> bool:
    for proc in psutil.process_iter(["name", "cmdline"]):
        if proc.info["name"] == "postgres" and str(data_dir) in " ".join(
            proc.info["cmdline"] or []
        ):
            return True
    return False


def login(served: Served, api_key: str, email: str, password: str) -> dict:
    status, _, body = request(
        "POST",
        served.url + "/auth/v1/token?grant_type=password",
        {"email": email, "password": password},
        apikey=api_key,
    )
    assert status == 200, body
    return json.loads(body)


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

        session = login(served, api_key, email, password)
        token = session["access_token"]
        status, _, body = request(
            "GET", served.url + "/auth/v1/user", apikey=api_key,
            Authorization=f"Bearer {token}",
        )
        assert status == 200 and json.loads(body)["email"] == email

        # Over real HTTP too: another profile is refused, a bad token is refused.
        status, _, body = request(
            "GET", served.url + "/rest/v1/things", apikey=api_key,
            Authorization=f"Bearer {token}", Accept_Profile="someone_else",
        )
        assert status == 406 and json.loads(body)["code"] == "PGRST106"
        status, headers, body = request(
            "GET", served.url + "/rest/v1/things", apikey=api_key,
            Authorization="Bearer forged.jwt.value",
        )
        assert status == 401 and json.loads(body)["code"] == "PGRST301"
        assert "WWW-Authenticate" in headers

        assert postgres_running_in(data_dir)
        assert served.ctrl_c() == 0, "\n".join(served.lines)
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
        assert again.ctrl_c() == 0
    finally:
        again.kill()
