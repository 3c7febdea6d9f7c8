"""What the benchmarks share: scratch databases, server subprocesses and the load.

Each script puts the repository root first on ``sys.path`` (and drops ``bench/``,
where ``bench/tenants.py`` would shadow the project's ``tenants`` package), then
imports this module as ``bench._common``.

- :func:`run_in_scratch_database` is every script's ``main`` after its arguments.
- :func:`scratch_database` creates a database beside the usual one and drops it
  on the way out, on failure and on a signal too (with :func:`exit_on_sigterm`).
- :class:`Server` runs a server in its own session on a :func:`free_port` of
  127.0.0.1 and stops it by its own process group.
- :func:`drive` runs a fixed number of calls over a fixed number of threads, each
  with its own client (a keep-alive :class:`HttpClient`, a database connection),
  bounded by a time limit, and collects the latencies in a :class:`LoadResult`.
"""

import contextlib
import http.client
import json
import math
import os
import secrets
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent
HOST = "127.0.0.1"
HEALTH_PATH = "/healthz"


def percentile(values: list[float], fraction: float) -> float:
    """The nearest-rank percentile of ``values`` (``fraction`` in 0..1), NaN if none."""
    if not values:
        return math.nan
    ordered = sorted(values)
    rank = math.ceil(fraction * len(ordered))
    return ordered[min(max(rank, 1), len(ordered)) - 1]


def progress(message: str, *, done: bool = False) -> None:
    """Overwrite the current stderr line (``done`` ends it)."""
    sys.stderr.write("\r" + message + ("\n" if done else ""))
    sys.stderr.flush()


# --- Scratch databases and signals ------------------------------------------------


def with_database(url: str, dbname: str) -> str:
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path="/" + dbname))


def admin_execute(url: str, sql: str) -> None:
    """Run ``sql`` outside a transaction (CREATE/DROP DATABASE) on ``url``."""
    import psycopg

    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(sql)


@contextlib.contextmanager
def scratch_database(server_url: str, name: str) -> Iterator[str]:
    """Create database ``name`` on the server of ``server_url``; yield its URL.

    On the way out (on failure too) Django's connections, if Django is loaded,
    are closed and the database is dropped, whoever is still connected.
    """
    admin_execute(server_url, f'CREATE DATABASE "{name}"')
    try:
        yield with_database(server_url, name)
    finally:
        if "django.db" in sys.modules:
            from django.db import connections

            connections.close_all()
        admin_execute(server_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        print(f"\n(scratch database {name} dropped)", file=sys.stderr)


def exit_on_sigterm() -> None:
    """Turn SIGTERM into SystemExit in this process, so that cleanup runs.

    Processes forked from this one (django-tenants' migration workers) keep the
    default behaviour: they die at once.
    """
    main_pid = os.getpid()

    def handler(signum, frame):
        if os.getpid() != main_pid:
            signal.signal(signum, signal.SIG_DFL)
            os.kill(os.getpid(), signum)
            return
        raise SystemExit(128 + signum)

    signal.signal(signal.SIGTERM, handler)


def run_in_scratch_database(prefix: str, run: Callable[[str], None]) -> None:
    """The benchmarks' ``main``: the database server first (embedded unless
    DATABASE_URL is set), then a scratch database ``<prefix>_<pid>`` beside the
    usual one, then Django on it, then ``run(url)``; the database is dropped
    however it ends (Ctrl-C and SIGTERM included)."""
    exit_on_sigterm()
    # Ctrl-C raises KeyboardInterrupt even if SIGINT came in ignored (`cmd &`).
    signal.signal(signal.SIGINT, signal.default_int_handler)
    from core.embedded_db import ensure_database_url

    server_url = ensure_database_url()
    # One key per run, shared with any server started: keys and tokens verify.
    os.environ["SECRET_KEY"] = secrets.token_urlsafe(50)
    try:
        with scratch_database(server_url, f"{prefix}_{os.getpid()}") as url:
            os.environ["DATABASE_URL"] = url
            os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
            import django

            django.setup()
            run(url)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        sys.exit(128 + signal.SIGINT)


# --- Server subprocesses --------------------------------------------------------------


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        return sock.getsockname()[1]


class Server:
    """A server subprocess in its own session, stopped by its own process id.

    It inherits this process's environment plus ``env`` (``None`` values remove
    a variable), with the repository root first on ``PYTHONPATH``.
    """

    def __init__(
        self,
        name: str,
        port: int,
        command: list[str],
        log_dir: Path,
        env: dict[str, str | None] | None = None,
        stop_timeout: float = 20.0,
    ):
        self.name = name
        self.port = port
        self.stop_timeout = stop_timeout
        self.log_path = log_dir / f"{name}-{port}.log"
        self._log = self.log_path.open("wb")
        child_env = os.environ.copy()
        for key, value in (env or {}).items():
            if value is None:
                child_env.pop(key, None)
            else:
                child_env[key] = value
        child_env["PYTHONPATH"] = os.pathsep.join(
            [str(ROOT), *filter(None, [child_env.get("PYTHONPATH")])]
        )
        self.process = subprocess.Popen(
            command,
            cwd=ROOT,
            env=child_env,
            stdin=subprocess.DEVNULL,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    def wait_healthy(self, timeout: float) -> float:
        """Seconds until ``GET /healthz`` answered 200; raises if it never does."""
        started = time.perf_counter()
        deadline = started + timeout
        last_error = "no answer"
        while time.perf_counter() < deadline:
            if self.process.poll() is not None:
                code = self.process.returncode
                raise RuntimeError(
                    f"{self.name} exited with {code}:\n{self.log_tail()}"
                )
            conn = http.client.HTTPConnection(HOST, self.port, timeout=2)
            try:
                conn.request("GET", HEALTH_PATH)
                response = conn.getresponse()
                body = response.read()
                if response.status == 200:
                    answer = json.loads(body)
                    if answer.get("database") != "up":
                        raise RuntimeError(f"unexpected health answer {answer!r}")
                    return time.perf_counter() - started
                last_error = f"HTTP {response.status}: {body[:200]!r}"
            except (OSError, http.client.HTTPException) as error:
                last_error = repr(error)
            finally:
                conn.close()
            time.sleep(0.1)
        raise RuntimeError(
            f"{self.name} not healthy after {timeout:.0f} s ({last_error}):\n"
            f"{self.log_tail()}"
        )

    def stop(self) -> int | None:
        """SIGTERM (graceful), then SIGKILL to the server's own process group."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(self.stop_timeout)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(5)
        # Workers a master left behind (its session is ours alone).
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGKILL)
        self._log.close()
        return self.process.returncode

    def log_tail(self, lines: int = 20) -> str:
        self._log.flush()
        text = self.log_path.read_text(errors="replace").splitlines()
        return "\n".join("    " + line for line in text[-lines:])


# --- The load -----------------------------------------------------------------------


@dataclass
class LoadResult:
    requests: int = 0
    errors: int = 0
    connects: int = 0
    seconds: float = 0.0
    latencies: list[float] = field(default_factory=list)
    first_error: str = ""

    @property
    def rps(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0

    def latency_ms(self, fraction: float) -> float:
        """The nearest-rank percentile of the successful requests' latencies."""
        return percentile(self.latencies, fraction) * 1000


def drive(
    total: int,
    concurrency: int,
    time_limit: float,
    *,
    connect: Callable[[int], Any],
    call: Callable[[Any, int], str | None],
) -> LoadResult:
    """``total`` calls over ``concurrency`` threads, each with its own client.

    ``connect(thread_index)`` makes a thread's client (with a ``close()``, and
    optionally a ``connects`` count) before the clock starts; ``call(client, k)``
    makes call number ``k`` (0 <= k < total, each made once) and returns None
    on success, else a short description of the failure. Bounded twice: by the
    call count and by ``time_limit`` seconds.
    """
    shares = [
        total // concurrency + (i < total % concurrency) for i in range(concurrency)
    ]
    starts = [sum(shares[:i]) for i in range(concurrency)]
    result = LoadResult()
    lock = threading.Lock()
    barrier = threading.Barrier(concurrency + 1)
    deadline = [0.0]

    def worker(index: int) -> None:
        client = None
        latencies: list[float] = []
        errors = 0
        first_error = ""
        try:
            client = connect(index)
        except Exception as error:
            first_error = f"connect: {error!r}"
            errors = shares[index]
        barrier.wait()
        try:
            for k in range(starts[index], starts[index] + shares[index]):
                if client is None or time.perf_counter() > deadline[0]:
                    break
                started = time.perf_counter()
                try:
                    failure = call(client, k)
                except Exception as error:
                    failure = repr(error)
                elapsed = time.perf_counter() - started
                if failure is None:
                    latencies.append(elapsed)
                else:
                    errors += 1
                    first_error = first_error or failure
        finally:
            if client is not None:
                with contextlib.suppress(Exception):
                    client.close()
            with lock:
                result.latencies.extend(latencies)
                result.errors += errors
                result.connects += getattr(client, "connects", 0)
                result.first_error = result.first_error or first_error

    threads = [
        threading.Thread(target=worker, args=(i,), daemon=True)
        for i in range(concurrency)
    ]
    for thread in threads:
        thread.start()
    started = time.perf_counter()
    deadline[0] = started + time_limit
    barrier.wait()
    for thread in threads:
        thread.join(time_limit + 30)
    result.seconds = time.perf_counter() - started
    result.requests = len(result.latencies)
    return result


@dataclass(frozen=True)
class Request:
    method: str
    path: str
    body: bytes | None = None
    headers: dict[str, str] = field(default_factory=dict)
    expect: int = 200


class HttpClient:
    """One keep-alive connection to 127.0.0.1; reconnects after a failure."""

    def __init__(self, port: int, timeout: float = 10.0):
        self.conn = http.client.HTTPConnection(HOST, port, timeout=timeout)
        self.connects = 0

    def __call__(self, request: Request) -> str | None:
        if self.conn.sock is None:
            self.connects += 1
        try:
            self.conn.request(
                request.method, request.path, body=request.body, headers=request.headers
            )
            response = self.conn.getresponse()
            body = response.read()
        except (OSError, http.client.HTTPException) as error:
            self.conn.close()
            return repr(error)
        if response.status != request.expect:
            return f"HTTP {response.status}: {body[:300]!r}"
        return None

    def close(self) -> None:
        self.conn.close()


def http_load(
    port: int,
    requests: Request | list[Request],
    total: int,
    connections: int,
    time_limit: float,
) -> LoadResult:
    """``total`` requests over ``connections`` keep-alive connections, one per thread.

    ``requests`` is one request sent ``total`` times, or the list of the
    ``total`` requests, in order.
    """

    def call(client: HttpClient, k: int) -> str | None:
        return client(requests if isinstance(requests, Request) else requests[k])

    return drive(
        total,
        connections,
        time_limit,
        connect=lambda index: HttpClient(port),
        call=call,
    )
