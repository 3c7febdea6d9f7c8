"""Child processes ``serve`` keeps running beside the web server (the
background worker), restarted with backoff when they die."""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import time
from collections.abc import Sequence

logger = logging.getLogger("gathergrid.serve")


class Child:
    """One supervised child process.

    ``start()`` starts it; ``check()``, called regularly, notices that it
    died (logged with its exit code) and starts it again after a backoff
    that doubles from ``backoff`` up to ``backoff_max`` seconds, back to
    ``backoff`` once a run lasted ``healthy_after`` seconds; ``stop()`` asks
    it to stop (SIGTERM), waits, then kills it.
    """

    def __init__(
        self,
        name: str,
        command: Sequence[str],
        *,
        env: dict[str, str] | None = None,
        backoff: float = 1.0,
        backoff_max: float = 30.0,
        healthy_after: float = 60.0,
    ) -> None:
        self.name = name
        self.command = list(command)
        self.env = env
        self.backoff_first = backoff
        self.backoff_max = backoff_max
        self.healthy_after = healthy_after
        self.backoff = backoff
        self.process: subprocess.Popen | None = None
        self.started_at = 0.0
        self.restart_at: float | None = None
        self.restarts = 0
        self.stopping = False

    @property
    def pid(self) -> int | None:
        return self.process.pid if self.process else None

    def start(self) -> None:
        self.process = subprocess.Popen(
            self.command, env=self.env if self.env is not None else os.environ.copy()
        )
        self.started_at = time.monotonic()
        self.restart_at = None

    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def check(self) -> None:
        """Restart the child if it died (once its backoff has passed)."""
        if self.stopping or self.process is None or self.alive():
            return
        now = time.monotonic()
        if self.restart_at is None:
            ran = now - self.started_at
            if ran >= self.healthy_after:
                self.backoff = self.backoff_first
            logger.warning(
                "%s (pid %s) exited with %s after %.0f s; starting it again in %.0f s",
                self.name,
                self.process.pid,
                _exit_words(self.process.returncode),
                ran,
                self.backoff,
            )
            self.restart_at = now + self.backoff
            self.backoff = min(self.backoff * 2, self.backoff_max)
            return
        if now >= self.restart_at:
            self.restarts += 1
            self.start()
            logger.info("%s started again (pid %s)", self.name, self.process.pid)

    def stop(self, timeout: float = 40.0) -> int | None:
        """SIGTERM (unless it already got a signal and is exiting), wait up to
        ``timeout`` seconds, then SIGKILL; its exit code."""
        self.stopping = True
        if self.process is None:
            return None
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        try:
            return self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            logger.warning("%s did not stop within %.0f s: killed", self.name, timeout)
            self.process.kill()
            return self.process.wait()


def _exit_words(code: int | None) -> str:
    if code is not None and code < 0:
        try:
            return signal.Signals(-code).name
        except ValueError:
            pass
    return f"code {code}"
