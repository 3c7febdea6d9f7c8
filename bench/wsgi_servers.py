"""Pick the production WSGI server by measurement: gunicorn (gthread) vs granian.

Each server is started as a subprocess on a free 127.0.0.1 port with the same
concurrency (2 worker processes x 4 threads: gunicorn ``--worker-class gthread
--threads 4``, granian ``--interface wsgi --blocking-threads 4``), with the
``DATABASE_URL`` of ``core.embedded_db.ensure_database_url()`` (the
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
import os
import signal
import statistics
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != BENCH]
sys.path.insert(0, str(ROOT))

from bench._common import (  # noqa: E402
    HEALTH_PATH,
    HOST,
    LoadResult,
    Request,
    Server,
    free_port,
    http_load,
)

PATH = HEALTH_PATH
START_TIMEOUT_S = 60.0
STOP_TIMEOUT_S = 20.0


def server_command(name: str, port: int | str, workers: int, threads: int) -> list[str]:
    app = "config.wsgi:application"
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


# --- The load -----------------------------------------------------------------------


def load(port: int, total: int, connections: int, time_limit: float) -> LoadResult:
    """``total`` GETs over ``connections`` keep-alive connections, one per thread.

    Bounded twice: by the request count and by ``time_limit`` seconds.
    """
    return http_load(port, Request("GET", PATH), total, connections, time_limit)


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
    server = Server(name, port, command, log_dir, stop_timeout=STOP_TIMEOUT_S)
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
    from core.embedded_db import ensure_database_url

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
