"""The worker's own periodic jobs (core/jobs.py)."""

from core.jobs import jobs_retry_stalled, periodic


@periodic("jobs_retry_stalled", cron="* * * * *")
def retry_stalled() -> list[int]:
    """Every minute: queue again the jobs of workers that died."""
    return jobs_retry_stalled()
