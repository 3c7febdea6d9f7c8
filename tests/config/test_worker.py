"""The background worker as an operator runs it: ``manage.py worker`` alone
(SIGTERM ends it at once, exit 0), and beside the web server under ``serve``
(started, restarted after ``kill -9``, stopped by Ctrl-C); a job queued from
another process runs in it. Also the worker's loops (``WORKER_LOOPS``)."""

import os
import signal
import subprocess
import sys
import threading
import time

import psutil
import pytest

from config.management.commands.worker import loop_thread
from config.processes import Child
from tests.live import ROOT, Served, free_port


def wait_for(predicate, timeout: float = 30, what: str = "") -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what or predicate}")


def jobs_table(served: Served) -> dict[str, list[int]]:
    lines = served.manage("jobs").splitlines()[1:]
    return {line.split()[0]: [int(n) for n in line.split()[1:]] for line in lines}


@pytest.mark.slow
def test_serve_runs_the_worker_restarts_it_after_kill_9_and_stops_it(tmp_path):
    served = Served(tmp_path / "data", free_port())
    try:
        served.wait_healthy()
        assert "manage.py worker" in served.banner("Background worker")
        wait_for(lambda: len(served.worker_pids()) == 1, what="the worker")
        wait_for(
            lambda: any("Worker started" in line for line in served.lines),
            what="the worker's start line",
        )
        started = next(line for line in served.lines if "Worker started" in line)
        for name in ("import_apply", "event_partitions", "import_sweep"):
            assert name in started
        # A job queued by another process (a web worker) runs in the worker.
        served.manage(
            "shell",
            "-c",
            "from core.jobs import defer; from tracking.tasks import "
            "event_partitions; defer(event_partitions, timestamp=0)",
        )
        wait_for(
            lambda: jobs_table(served)["event_partitions"] == [0, 0, 0],
            what="the job to run",
        )

        (first,) = served.worker_pids()
        os.kill(first, signal.SIGKILL)
        wait_for(
            lambda: served.worker_pids() not in ([], [first]),
            timeout=30,
            what="a new worker",
        )
        assert any("exited with SIGKILL" in line for line in served.lines)
        (second,) = served.worker_pids()
        assert served.ctrl_c() == 0, "\n".join(served.lines)
        for pid in (first, second):
            assert not psutil.pid_exists(pid) or (
                psutil.Process(pid).status() == psutil.STATUS_ZOMBIE
            )
    finally:
        served.kill()


@pytest.mark.slow
def test_no_worker_and_the_worker_command_alone(tmp_path):
    served = Served(tmp_path / "data", free_port(), "--no-worker")
    try:
        served.wait_healthy()
        assert "not started" in served.banner("Background worker")
        time.sleep(1)
        assert served.worker_pids() == []
        # `manage.py worker` on the same database, as on another machine.
        worker = subprocess.Popen(
            [sys.executable, "manage.py", "worker", "--concurrency", "3"],
            cwd=ROOT,
            env=served.env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        lines: list[str] = []
        threading.Thread(
            target=lambda: lines.extend(line.rstrip() for line in worker.stdout),
            daemon=True,
        ).start()
        wait_for(lambda: any("Worker started" in line for line in lines), 60)
        assert "3 job(s) at once" in lines[0]
        served.manage(
            "shell",
            "-c",
            "from core.jobs import defer; from gathergrid.tasks import "
            "import_sweep; defer(import_sweep, timestamp=0)",
        )
        wait_for(lambda: jobs_table(served)["import_sweep"] == [0, 0, 0])
        begun = time.monotonic()
        worker.send_signal(signal.SIGTERM)
        assert worker.wait(timeout=20) == 0, "\n".join(lines)
        assert time.monotonic() - begun < 10
        wait_for(lambda: any("Worker stopped" in line for line in lines), 5)
        assert not any("Traceback" in line for line in lines), "\n".join(lines)
    finally:
        served.kill()


def test_a_loop_that_fails_is_restarted_and_stops_when_asked():
    stop = threading.Event()
    runs: list[int] = []

    def run(stop_event: threading.Event) -> None:
        runs.append(1)
        if len(runs) == 1:
            raise RuntimeError("first run fails")
        stop_event.wait()

    thread = loop_thread("tests.loop", run, stop)
    thread.start()
    wait_for(lambda: len(runs) == 2, timeout=10, what="the restart")
    stop.set()
    thread.join(timeout=5)
    assert not thread.is_alive() and len(runs) == 2


def test_a_child_that_dies_is_restarted_with_a_doubling_backoff():
    child = Child("Quitter", [sys.executable, "-c", "raise SystemExit(3)"], backoff=0.2)
    child.start()
    first = child.pid
    wait_for(lambda: not child.alive(), 10)
    child.check()  # noticed: restart due in 0.2 s
    assert child.pid == first and child.backoff == 0.4
    wait_for(lambda: (child.check(), child.pid != first)[1], 5, "a restart")
    assert child.restarts == 1
    wait_for(lambda: not child.alive(), 10)
    child.check()
    assert child.backoff == 0.8  # it died young again: a longer wait
    assert child.stop(timeout=5) == 3 and child.stopping
    child.check()  # stopped: never started again
    assert child.restarts == 1


def test_stop_terminates_then_kills(tmp_path):
    child = Child("Sleeper", [sys.executable, "-c", "import time; time.sleep(60)"])
    child.start()
    assert child.alive()
    assert child.stop(timeout=5) == -signal.SIGTERM
    ready = tmp_path / "ready"
    stubborn = Child(
        "Stubborn",
        [
            sys.executable,
            "-c",
            "import pathlib, signal, sys, time; "
            "signal.signal(signal.SIGTERM, signal.SIG_IGN); "
            "pathlib.Path(sys.argv[1]).touch(); time.sleep(60)",
            str(ready),
        ],
    )
    stubborn.start()
    wait_for(ready.exists, 20, "the child to ignore SIGTERM")
    assert stubborn.stop(timeout=1) == -signal.SIGKILL
