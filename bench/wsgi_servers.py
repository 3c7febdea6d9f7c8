"""Pick the production WSGI server by measurement: gunicorn (gthread) vs granian.

Each server is started as a subprocess on a free 127.0.0.1 port with the same
concurrency (2 worker processes x 4 threads: gunicorn ``--worker-class gthread
--threads 4``, granian ``--interface wsgi --blocking-threads 4``), with the
``DATABASE_URL`` of ``gathergrid.embedded_db.ensure_database_url()`` (the
embedded PostgreSQL unless ``DATABASE_URL`` is set). Once ``GET /healthz``
answers 200 and a warm-up has run, a client in this script sends a fixed number
of ``GET /healthz`` requests (one database query each) over a fixed number of
keep-alive connections (one thread and one ``http.client.HTTPConnection`` per
connection), and reports requests/s and p50/p99 latency.

The servers run alternately, A B A B (``--rounds``), so the spread between the
runs of one server shows the noise. Baseline: gunicorn, the server ``serve``
uses today; the granian/gunicorn ratios are printed per round and overall.

The client is Python and shares the machine (2 cores) with the server, so the
absolute requests/s are a floor; the ratios are what to read.

Run from the repository root::

    .venv/bin/python bench/wsgi_servers.py
    .venv/bin/python bench/wsgi_servers.py --requests 1000 --rounds 1
"""

import argparse
import contextlib
import http.client
import json
import math
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != BENCH]
sys.path.insert(0, str(ROOT))

HOST = "127.0.0.1"
PATH = "/healthz"
START_TIMEOUT_S = 60.0
STOP_TIMEOUT_S = 20.0


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        return sock.getsockname()[1]


def server_command(name: str, port: int | str, workers: int, threads: int) -> list[str]:
    app = "gathergrid.wsgi:application"
    if name == "gunicorn":
        return [
            sys.executable, "-m", "gunicorn", app,
            "--bind", f"{HOST}:{port}",
            "--workers", str(workers),
            "--worker-class", "gthread",
            "--threads", str(threads),
            "--no-control-socket",
            "--log-level", "warning",
        ]  # fmt: skip
    if name == "granian":
        return [
            sys.executable, "-m", "granian",
            "--interface", "wsgi",
            "--host", HOST,
            "--port", str(port),
            "--workers", str(workers),
            "--blocking-threads", str(threads),
            "--no-ws",
            "--log-level", "warning",
            app,
        ]  # fmt: skip
    raise ValueError(name)


# --- Running a server -----------------------------------------------------------


class Server:
    """A server subprocess in its own session, stopped by its own process id."""

    def __init__(self, name: str, port: int, command: list[str], log_dir: Path):
        self.name = name
        self.port = port
        self.log_path = log_dir / f"{name}-{port}.log"
        self._log = self.log_path.open("wb")
        env = os.environ.copy()
        env["PYTHONPATH"] = os.pathsep.join(
            [str(ROOT), *filter(None, [env.get("PYTHONPATH")])]
        )
        self.process = subprocess.Popen(
            command,
            cwd=ROOT,
            env=env,
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
                conn.request("GET", PATH)
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
                self.process.wait(STOP_TIMEOUT_S)
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
        if not self.latencies:
            return math.nan
        ordered = sorted(self.latencies)
        rank = min(len(ordered), max(1, math.ceil(fraction * len(ordered))))
        return ordered[rank - 1] * 1000


def load(port: int, total: int, connections: int, time_limit: float) -> LoadResult:
    """``total`` GETs over ``connections`` keep-alive connections, one per thread.

    Bounded twice: by the request count and by ``time_limit`` seconds.
    """
    shares = [
        total // connections + (i < total % connections) for i in range(connections)
    ]
    result = LoadResult()
    lock = threading.Lock()
    barrier = threading.Barrier(connections + 1)
    deadline = [0.0]

    def worker(count: int) -> None:
        conn = http.client.HTTPConnection(HOST, port, timeout=10)
        latencies: list[float] = []
        errors = connects = 0
        first_error = ""
        barrier.wait()
        try:
            for _ in range(count):
                if time.perf_counter() > deadline[0]:
                    break
                if conn.sock is None:
                    connects += 1
                started = time.perf_counter()
                try:
                    conn.request("GET", PATH)
                    response = conn.getresponse()
                    response.read()
                    ok = response.status == 200
                    if not ok and not first_error:
                        first_error = f"HTTP {response.status}"
                except (OSError, http.client.HTTPException) as error:
                    ok = False
                    first_error = first_error or repr(error)
                    conn.close()
                elapsed = time.perf_counter() - started
                if ok:
                    latencies.append(elapsed)
                else:
                    errors += 1
        finally:
            conn.close()
            with lock:
                result.latencies.extend(latencies)
                result.errors += errors
                result.connects += connects
                result.first_error = result.first_error or first_error

    threads = [threading.Thread(target=worker, args=(n,), daemon=True) for n in shares]
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


# --- The run -----------------------------------------------------------------------


@dataclass
class Run:
    server: str
    round: int
    startup_s: float
    result: LoadResult


def measure(name: str, round_: int, args: argparse.Namespace, log_dir: Path) -> Run:
    port = free_port()
    command = server_command(name, port, args.workers, args.threads)
    server = Server(name, port, command, log_dir)
    try:
        startup = server.wait_healthy(START_TIMEOUT_S)
        # Warm-up: every worker and thread loads Django and opens its connection.
        warm = load(port, args.warmup, args.connections, args.time_limit)
        if warm.errors:
            raise RuntimeError(
                f"{name}: {warm.errors} errors in the warm-up: "
                f"{warm.first_error}\n{server.log_tail()}"
            )
        result = load(port, args.requests, args.connections, args.time_limit)
    finally:
        code = server.stop()
    if code not in (0, -signal.SIGTERM):
        print(
            f"  note: {name} exited with {code}\n{server.log_tail()}", file=sys.stderr
        )
    return Run(name, round_, startup, result)


def describe(run: Run) -> str:
    r = run.result
    return (
        f"  {run.server:9} round {run.round}: {r.rps:7.0f} req/s   "
        f"p50 {r.latency_ms(0.50):6.2f} ms   p99 {r.latency_ms(0.99):6.2f} ms   "
        f"{r.requests} ok, {r.errors} errors, {r.connects} connections, "
        f"{r.seconds:.1f} s (healthy after {run.startup_s:.1f} s)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=5000)
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--warmup", type=int, default=400)
    parser.add_argument("--rounds", type=int, default=2, help="A B pairs to run")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--threads", type=int, default=4, help="threads per worker")
    parser.add_argument(
        "--time-limit", type=float, default=120.0, help="max seconds per load run"
    )
    args = parser.parse_args()
    if min(args.requests, args.connections, args.warmup, args.rounds) < 1:
        parser.error("--requests, --connections, --warmup and --rounds must be >= 1")

    # SIGTERM as SystemExit, so that the servers are stopped on the way out.
    signal.signal(signal.SIGTERM, lambda signum, frame: sys.exit(128 + signum))
    from gathergrid.embedded_db import ensure_database_url

    url = ensure_database_url()  # exported: the servers inherit it
    os.environ["DATABASE_URL"] = url
    servers = ["gunicorn", "granian"]
    print(
        f"WSGI servers: GET {PATH}, {args.requests} requests over "
        f"{args.connections} keep-alive connections, {args.workers} workers x "
        f"{args.threads} threads, {args.rounds} rounds (A B A B ...)"
    )
    embedded = "GATHERGRID_EMBEDDED_DB" in os.environ
    print(f"  database: {'embedded PostgreSQL' if embedded else 'DATABASE_URL'}")
    for name in servers:
        command = server_command(name, "PORT", args.workers, args.threads)
        print(f"  {name}: {' '.join(command[1:])}")

    runs: list[Run] = []
    with tempfile.TemporaryDirectory(prefix="gg_wsgi_bench_") as log_dir:
        total = args.rounds * len(servers)
        for round_ in range(1, args.rounds + 1):
            for name in servers:
                print(
                    f"\r  [{len(runs) + 1}/{total}] {name}, round {round_}...",
                    end="",
                    file=sys.stderr,
                    flush=True,
                )
                runs.append(measure(name, round_, args, Path(log_dir)))
        print("\r" + " " * 60 + "\r", end="", file=sys.stderr, flush=True)

    print()
    for run in runs:
        print(describe(run))

    def of(name: str) -> list[LoadResult]:
        return [run.result for run in runs if run.server == name]

    print()
    print(
        "Per round, granian / gunicorn (req/s ratio > 1 and latency ratio < 1 favour "
        "granian)"
    )
    for round_ in range(1, args.rounds + 1):
        a = next(r.result for r in runs if r.server == "gunicorn" and r.round == round_)
        b = next(r.result for r in runs if r.server == "granian" and r.round == round_)
        print(
            f"  round {round_}: req/s {b.rps / a.rps:.3f}   "
            f"p50 {b.latency_ms(0.5) / a.latency_ms(0.5):.3f}   "
            f"p99 {b.latency_ms(0.99) / a.latency_ms(0.99):.3f}"
        )

    summary = {}
    for name in servers:
        results = of(name)
        rps = [r.rps for r in results]
        summary[name] = {
            "rps": statistics.mean(rps),
            "spread": (max(rps) - min(rps)) / statistics.mean(rps),
            "p50": statistics.median(r.latency_ms(0.5) for r in results),
            "p99": statistics.median(r.latency_ms(0.99) for r in results),
            "errors": sum(r.errors for r in results),
        }
    base, other = summary["gunicorn"], summary["granian"]
    print()
    print(
        "Overall (mean req/s, median of the rounds' p50/p99; spread = (max-min)/mean "
        "req/s between a server's rounds)"
    )
    print("| Server | req/s | spread | p50 | p99 | errors |")
    print("|---|---|---|---|---|---|")
    for name in servers:
        s = summary[name]
        print(
            f"| {name} | {s['rps']:.0f} | {s['spread']:.1%} | {s['p50']:.2f} ms | "
            f"{s['p99']:.2f} ms | {s['errors']} |"
        )
    print(
        f"| **granian / gunicorn** | **{other['rps'] / base['rps']:.3f}** | | "
        f"**{other['p50'] / base['p50']:.3f}** | **{other['p99'] / base['p99']:.3f}** "
        "| |"
    )


if __name__ == "__main__":
    main()
