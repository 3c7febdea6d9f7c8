"""Run the real service (`manage.py serve`, gunicorn, embedded PostgreSQL in a
fresh data directory) for tests that talk to it over HTTP."""

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

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Served:
    def __init__(self, data_dir: Path, port: int, *args: str) -> None:
        env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
        env.pop("GATHERGRID_EMBEDDED_DB", None)
        env.update(GATHERGRID_DATA_DIR=str(data_dir), PYTHONUNBUFFERED="1")
        # The suite's settings (pytest-django put them in the environment):
        # passwords set by `manage` here are checked by the server's hasher.
        env.setdefault("DJANGO_SETTINGS_MODULE", "tests.settings")
        self.env = env
        self.url = f"http://127.0.0.1:{port}"
        self.lines: list[str] = []
        self.process = subprocess.Popen(
            [
                sys.executable,
                "manage.py",
                "serve",
                "--port",
                str(port),
                "--workers",
                "2",
                *args,
            ],
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

    def demo(self) -> dict[str, str]:
        """The demo tenant's URL, API key and admin, as the banner prints them."""
        return {
            "url": self.url,
            "api_key": self.banner("API key"),
            "email": self.banner("Admin email"),
            "password": self.banner("Admin password"),
        }

    def manage(self, *args: str, timeout: float = 120) -> str:
        """Run ``manage.py ARGS`` against the served database (same environment as
        the server, so the same embedded PostgreSQL); return its stdout."""
        result = subprocess.run(
            [sys.executable, "manage.py", *args],
            cwd=ROOT,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=timeout,
        )
        assert result.returncode == 0, result.stdout + result.stderr
        return result.stdout

    def worker_pids(self) -> list[int]:
        """The pids of the background workers ``serve`` runs (alive ones)."""
        pids = []
        for child in psutil.Process(self.process.pid).children(recursive=True):
            try:
                if "worker" in child.cmdline()[2:3]:
                    pids.append(child.pid)
            except psutil.Error:  # gone, or a zombie not reaped yet
                pass
        return pids

    def ctrl_c(self, timeout: float = 60) -> int:
        os.killpg(self.process.pid, signal.SIGINT)
        return self.process.wait(timeout=timeout)

    def kill(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)


def lower_keys(headers) -> dict[str, str]:
    """HTTP header names are case-insensitive (granian sends them lower-cased)."""
    return {name.lower(): value for name, value in headers.items()}


def request(method: str, url: str, body: dict | None = None, **headers: str):
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(url, data=data, method=method)
    req.add_header("Content-Type", "application/json")
    for name, value in headers.items():
        req.add_header(name.replace("_", "-"), value)
    try:
        with urllib.request.urlopen(req, timeout=10) as response:
            return response.status, lower_keys(response.headers), response.read()
    except urllib.error.HTTPError as error:
        return error.code, lower_keys(error.headers), error.read()


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
