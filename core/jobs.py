"""Background jobs: what the rest of the project uses of the job library.

The library is procrastinate (jobs in PostgreSQL tables of the public schema,
workers woken by LISTEN/NOTIFY, claimed with SKIP LOCKED, retries, periodic
jobs). It was picked over django-tasks + django-tasks-db by measurement on the
embedded PostgreSQL (1,000 no-op jobs, same run): enqueue 2,599 vs 2,377
jobs/s, enqueue->start p50 3.3 ms vs 516 ms (the other polls every second, no
LISTEN), 1,000 queued jobs done at 684 vs 115 jobs/s; and by fit: periodic
jobs, retries and a stalled-worker heartbeat are built in (django-tasks has
none of them).

Nothing here knows tenants: a tenant's job takes the tenant's ``schema_name``
as an argument and activates the tenant itself (gathergrid/tasks.py,
tracking/tasks.py). Jobs are deferred on the request's own connection, so a
job deferred inside a transaction exists only if that transaction commits.

Jobs are declared in the ``tasks`` module of an app (found when Django
starts) with :func:`job` and :func:`periodic`; :func:`defer` queues one.
``manage.py worker`` runs them; ``manage.py jobs`` shows the counts. Tests run
the queued jobs in-process with :func:`jobs_run_pending`.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.db import connection, transaction
from procrastinate import RetryStrategy
from procrastinate.contrib.django import app

logger = logging.getLogger(__name__)

DEFAULT_QUEUE = "default"

# Every job function declared with job(), by name (what jobs_run_pending runs).
_registered: dict[str, Callable[..., Any]] = {}
# Periodic jobs: name -> cron line (what the worker's start line lists).
_periodic: dict[str, str] = {}


def job(
    name: str,
    *,
    queue: str = DEFAULT_QUEUE,
    retries: int = 0,
    retry_wait: int = 5,
) -> Callable[[Callable[..., Any]], Any]:
    """Declare ``func`` a job called ``name`` (keep it stable: queued jobs
    name it). ``retries``: how many times a job that raised is run again, after
    ``retry_wait`` seconds doubling each time. Its arguments must be JSON."""

    def register(func: Callable[..., Any]) -> Any:
        _registered[name] = func
        retry = (
            RetryStrategy(max_attempts=retries, exponential_wait=retry_wait)
            if retries
            else False
        )
        return app.task(name=name, queue=queue, retry=retry, pass_context=False)(func)

    return register


def periodic(
    name: str, *, cron: str, queue: str = DEFAULT_QUEUE
) -> Callable[[Callable[[], Any]], Any]:
    """Declare ``func`` (no arguments) a job run on the ``cron`` schedule
    (five fields, a sixth for seconds) by whichever worker gets it first:
    one run per tick however many workers there are."""

    def register(func: Callable[[], Any]) -> Any:
        def run(timestamp: int) -> Any:
            return func()

        run.__name__ = run.__qualname__ = func.__name__
        run.__module__ = func.__module__
        task = job(name, queue=queue)(run)
        _periodic[name] = cron
        return app.periodic(cron=cron, periodic_id="")(task)

    return register


def periodic_jobs() -> dict[str, str]:
    """The periodic jobs declared: name -> cron line."""
    return dict(_periodic)


def job_names() -> list[str]:
    return sorted(_registered)


def defer(task: Any, *, lock: str | None = None, **kwargs: Any) -> int:
    """Queue ``task`` (a :func:`job`) with ``kwargs``; its id.

    ``lock``: jobs with the same lock never run at the same time and only one
    of them can be waiting (a second defer raises :class:`AlreadyQueued`)."""
    from procrastinate import exceptions

    try:
        with transaction.atomic():  # a refused defer leaves the caller's usable
            return task.configure(lock=lock, queueing_lock=lock).defer(**kwargs)
    except exceptions.AlreadyEnqueued as error:
        raise AlreadyQueued(lock or "") from error


class AlreadyQueued(Exception):
    """A job with this lock is already waiting to run."""


def job_status(*, lock: str) -> str | None:
    """The status of the newest job with ``lock``: ``todo`` (queued),
    ``doing``, ``succeeded``, ``failed``...; None if there is none."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT status FROM public.procrastinate_jobs WHERE lock = %s "
            "ORDER BY id DESC LIMIT 1",
            [lock],
        )
        row = cursor.fetchone()
    return row[0] if row else None


@dataclass(frozen=True)
class JobCount:
    task: str
    status: str
    jobs: int


def job_counts() -> list[JobCount]:
    """How many jobs there are per task and status."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT task_name, status::text, count(*) FROM public.procrastinate_jobs "
            "GROUP BY 1, 2 ORDER BY 1, 2"
        )
        return [JobCount(*row) for row in cursor.fetchall()]


@dataclass(frozen=True)
class FailedJob:
    id: int
    task: str
    args: dict[str, Any]
    attempts: int
    at: Any


def jobs_failed(*, limit: int = 20) -> list[FailedJob]:
    """The latest failed jobs, newest first (the worker logs each failure
    with its traceback)."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT j.id, j.task_name, j.args, j.attempts, "
            "(SELECT max(e.at) FROM public.procrastinate_events e "
            " WHERE e.job_id = j.id) "
            "FROM public.procrastinate_jobs j WHERE j.status = 'failed' "
            "ORDER BY j.id DESC LIMIT %s",
            [limit],
        )
        rows = cursor.fetchall()
    return [
        FailedJob(
            id=job_id,
            task=task,
            args=json.loads(args) if isinstance(args, str) else args,
            attempts=attempts,
            at=at,
        )
        for job_id, task, args, attempts, at in rows
    ]


def job_retry_failed(*, job_id: int) -> bool:
    """Queue failed job ``job_id`` again; False if there is no such failed
    job."""
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            "SELECT 1 FROM public.procrastinate_jobs WHERE id = %s "
            "AND status = 'failed' FOR UPDATE",
            [job_id],
        )
        if cursor.fetchone() is None:
            return False
        cursor.execute(
            "SELECT procrastinate_retry_job_v2(%s, now(), NULL, NULL, NULL)", [job_id]
        )
    return True


# A worker beats its heart every 10 seconds (the library's default); one
# silent for this long was killed (kill -9, a lost machine).
STALLED_AFTER_SECONDS = 30


def jobs_retry_stalled(*, seconds: float = STALLED_AFTER_SECONDS) -> list[int]:
    """Queue again the jobs that were running in a worker that died; their
    ids. A job's transaction died with its worker, so running it again is
    safe for a job that writes in one transaction (all of ours)."""
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            "SELECT j.id FROM public.procrastinate_jobs j "
            "LEFT JOIN public.procrastinate_workers w ON w.id = j.worker_id "
            "WHERE j.status = 'doing' AND (j.worker_id IS NULL OR "
            "w.last_heartbeat < now() - make_interval(secs => %s)) "
            "ORDER BY j.id FOR UPDATE OF j SKIP LOCKED",
            [seconds],
        )
        ids = [row[0] for row in cursor.fetchall()]
        for job_id in ids:
            cursor.execute(
                "SELECT procrastinate_retry_job_v2(%s, now(), NULL, NULL, NULL)",
                [job_id],
            )
    for job_id in ids:
        logger.warning("Job %s was running in a worker that died: queued again", job_id)
    return ids


# --- Running queued jobs in this process (tests, scripts) ----------------------


@dataclass(frozen=True)
class JobRun:
    id: int
    task: str
    args: dict[str, Any]
    status: str  # succeeded or failed
    error: BaseException | None
    seconds: float


def jobs_run_pending(
    *, raise_errors: bool = True, queues: list[str] | None = None, limit: int = 1000
) -> list[JobRun]:
    """Run the queued jobs that are due, one after another, here and now, on
    this thread's database connection (inside a test's transaction: the rows
    the test wrote are seen), until none is left; what ran, in order.

    The jobs are claimed from and finished in the real queue (the library's
    SQL functions), as a worker would, so a test sees what a worker does;
    retries are not waited for (a job that raised is ``failed``). With
    ``raise_errors`` the first error is raised after its job is marked failed.
    The connection's schema is restored after each job.
    """
    runs: list[JobRun] = []
    with connection.cursor() as cursor:
        cursor.execute("SELECT worker_id FROM procrastinate_register_worker_v1()")
        worker_id = cursor.fetchone()[0]
    try:
        while len(runs) < limit:
            with connection.cursor() as cursor:
                cursor.execute(
                    "SELECT id, task_name, args FROM "
                    "procrastinate_fetch_job_v2(%s::varchar[], %s)",
                    [queues, worker_id],
                )
                row = cursor.fetchone()
            if row is None or row[0] is None:
                break
            job_id, task_name, args = row
            if isinstance(args, str):  # Django reads jsonb as text
                args = json.loads(args)
            run = _run_one(job_id, task_name, args)
            runs.append(run)
            if run.error is not None and raise_errors:
                raise run.error
    finally:
        with connection.cursor() as cursor:
            cursor.execute("SELECT procrastinate_unregister_worker_v1(%s)", [worker_id])
    return runs


def _run_one(job_id: int, task_name: str, args: dict[str, Any]) -> JobRun:
    func = _registered.get(task_name)
    tenant = getattr(connection, "tenant", None)
    started = time.perf_counter()
    error: BaseException | None = None
    try:
        if func is None:
            raise LookupError(f"No job called {task_name!r} is declared.")
        with transaction.atomic():  # a savepoint: a failed job leaves nothing
            func(**args)
    except Exception as exc:
        error = exc
        logger.warning("Job %s (%s) failed: %r", job_id, task_name, exc)
    finally:
        if tenant is not None:
            connection.set_tenant(tenant)
        else:
            connection.set_schema_to_public()
    status = "failed" if error is not None else "succeeded"
    with connection.cursor() as cursor:  # succeeded jobs go, as in the worker
        cursor.execute(
            "SELECT procrastinate_finish_job_v1(%s, %s, %s)",
            [job_id, status, error is None],
        )
    return JobRun(
        id=job_id,
        task=task_name,
        args=args,
        status=status,
        error=error,
        seconds=time.perf_counter() - started,
    )
