"""``jobs``: what the background worker has to do, is doing and failed.

Prints, per job, how many are queued, running and failed (the worker deletes
the jobs that succeed), then the latest failures with ``--failed``.
``--retry ID`` queues a failed job again. Exits 0; reading only, except
``--retry``.
"""

from django.core.management.base import BaseCommand, CommandError

from core.jobs import job_counts, job_names, job_retry_failed, jobs_failed

COLUMNS = (("todo", "queued"), ("doing", "running"), ("failed", "failed"))


class Command(BaseCommand):
    help = "Queued, running and failed background jobs, per job."

    def add_arguments(self, parser):
        parser.add_argument(
            "--failed", action="store_true", help="List the latest failed jobs."
        )
        parser.add_argument(
            "--retry", type=int, metavar="ID", help="Queue failed job ID again."
        )

    def handle(self, *args, **options):
        if options["retry"] is not None:
            if not job_retry_failed(job_id=options["retry"]):
                raise CommandError(f"No failed job {options['retry']}.")
            self.stdout.write(f"Job {options['retry']} queued again.")
            return
        counts: dict[str, dict[str, int]] = {name: {} for name in job_names()}
        for count in job_counts():
            counts.setdefault(count.task, {})[count.status] = count.jobs
        width = max([len("job"), *(len(name) for name in counts)])
        self.stdout.write(
            f"{'job':<{width}}  " + "  ".join(f"{word:>7}" for _, word in COLUMNS)
        )
        for name, by_status in sorted(counts.items()):
            self.stdout.write(
                f"{name:<{width}}  "
                + "  ".join(f"{by_status.get(status, 0):>7}" for status, _ in COLUMNS)
            )
        if options["failed"]:
            failed = jobs_failed()
            self.stdout.write("")
            self.stdout.write(
                "Latest failed jobs (the worker's log has each traceback):"
                if failed
                else "No failed jobs."
            )
            for job in failed:
                at = f"  at {job.at:%Y-%m-%d %H:%M:%S}" if job.at else ""
                self.stdout.write(
                    f"  {job.id}  {job.task}  {job.args}  attempts {job.attempts}{at}"
                )
