"""``worker``: the background worker, alone (``serve`` starts one beside the
web server; run as many as you like, on as many machines).

It runs the queued jobs (core/jobs.py: the import applies, the periodic
jobs) ``--concurrency`` at a time, woken by LISTEN/NOTIFY on a connection of
its own to ``DATABASE_DIRECT_URL`` (a transaction-mode pooler cannot LISTEN),
and every loop listed in ``WORKER_LOOPS`` in a thread of its own. SIGINT or
SIGTERM stop it: no new job is taken, the running ones get
``--graceful-seconds`` to finish (one still running then is aborted and its
transaction rolled back; a job whose worker was killed outright is queued
again by the ``jobs_retry_stalled`` periodic job), the loops are asked to stop,
and the process exits 0.
"""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import threading
import time
from collections.abc import Callable

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import connections
from django.utils.module_loading import import_string
from procrastinate import PsycopgConnector
from procrastinate.contrib.django import app

from core.jobs import job_counts, job_names, periodic_jobs

logger = logging.getLogger("gathergrid.worker")

# How often the worker logs the queue's counts (when they changed).
COUNTS_EVERY_SECONDS = 60


def loops_load(paths: list[str]) -> list[tuple[str, Callable[[threading.Event], None]]]:
    loops = []
    for path in paths:
        try:
            loops.append((path, import_string(path)))
        except ImportError as error:
            raise CommandError(
                f"WORKER_LOOPS: cannot import {path!r}: {error}"
            ) from None
    return loops


def loop_thread(
    path: str, run: Callable[[threading.Event], None], stop: threading.Event
) -> threading.Thread:
    """``run(stop)`` in a thread; if it raises (or returns) before ``stop``
    is set it is logged and started again, waiting 1 s, 2 s, ... up to 60 s."""

    def keep_running() -> None:
        backoff = 1.0
        while not stop.is_set():
            started = time.monotonic()
            try:
                run(stop)
            except Exception:
                logger.exception("Loop %s failed", path)
            finally:
                connections.close_all()
            if stop.is_set():
                return
            if time.monotonic() - started > 60:
                backoff = 1.0
            logger.warning(
                "Loop %s stopped; starting it again in %.0f s", path, backoff
            )
            stop.wait(backoff)
            backoff = min(backoff * 2, 60.0)

    return threading.Thread(target=keep_running, name=f"loop:{path}", daemon=True)


def counts_line() -> str:
    counts = job_counts()
    by_status: dict[str, int] = {}
    for count in counts:
        by_status[count.status] = by_status.get(count.status, 0) + count.jobs
    return ", ".join(
        f"{by_status.get(status, 0)} {word}"
        for status, word in (
            ("todo", "queued"),
            ("doing", "running"),
            ("failed", "failed"),
        )
    )


def counts_thread(stop: threading.Event) -> threading.Thread:
    def report() -> None:
        last = None
        while not stop.wait(COUNTS_EVERY_SECONDS):
            try:
                line = counts_line()
            except Exception:
                logger.warning("Could not count the jobs", exc_info=True)
                continue
            finally:
                connections.close_all()
            if line != last:
                logger.info("Jobs: %s", line)
                last = line

    return threading.Thread(target=report, name="job-counts", daemon=True)


class Command(BaseCommand):
    help = "Run the background jobs (and WORKER_LOOPS) until SIGINT/SIGTERM."

    def add_arguments(self, parser):
        parser.add_argument(
            "--concurrency",
            type=int,
            default=settings.WORKER_CONCURRENCY,
            help="Jobs run at once (default: WORKER_CONCURRENCY, 2).",
        )
        parser.add_argument(
            "--graceful-seconds",
            type=float,
            default=30.0,
            help="On SIGINT/SIGTERM, how long running jobs get to finish.",
        )

    def handle(self, *args, **options):
        if options["concurrency"] < 1:
            raise CommandError("--concurrency must be at least 1.")
        loops = loops_load(list(settings.WORKER_LOOPS))
        stop = threading.Event()
        logger.info(
            "Worker started (pid %s): %d job(s) at once; jobs: %s; periodic: %s; "
            "loops: %s",
            os.getpid(),
            options["concurrency"],
            ", ".join(job_names()),
            ", ".join(f"{name} ({cron})" for name, cron in periodic_jobs().items()),
            ", ".join(path for path, _ in loops) or "none",
        )
        threads = [loop_thread(path, run, stop) for path, run in loops]
        threads.append(counts_thread(stop))
        for thread in threads:
            thread.start()
        try:
            asyncio.run(self._jobs(options, stop))
        finally:
            stop.set()
            for thread in threads:
                thread.join(timeout=options["graceful_seconds"])
            connections.close_all()
        logger.info("Worker stopped.")

    async def _jobs(self, options, stop: threading.Event) -> None:
        concurrency = options["concurrency"]
        connector = PsycopgConnector(
            conninfo=settings.DATABASE_DIRECT_URL,
            min_size=1,
            max_size=concurrency + 2,
        )
        loop = asyncio.get_running_loop()
        with app.replace_connector(connector) as worker_app:
            async with worker_app.open_async():
                jobs = asyncio.create_task(
                    worker_app.run_worker_async(
                        concurrency=concurrency,
                        install_signal_handlers=False,
                        delete_jobs="successful",
                        shutdown_graceful_timeout=options["graceful_seconds"],
                    )
                )

                def on_signal(signum: int) -> None:
                    if stop.is_set():
                        return  # already stopping (Ctrl-C reaches serve and us)
                    logger.info(
                        "%s: stopping (running jobs get %.0f s to finish)",
                        signal.Signals(signum).name,
                        options["graceful_seconds"],
                    )
                    stop.set()
                    jobs.cancel()

                for signum in (signal.SIGINT, signal.SIGTERM):
                    loop.add_signal_handler(signum, on_signal, signum)
                try:
                    await jobs
                except asyncio.CancelledError:
                    if not stop.is_set():
                        raise
