"""``serve``: what `make run` does after installing.

Migrates every schema, ensures the demo tenant, prints how to use it, then runs
the production WSGI server and the background worker (``manage.py worker``,
restarted with backoff if it dies; not with ``--no-worker`` or
``SERVE_WORKER=0``) until Ctrl-C or SIGTERM, and stops the web server, the
worker, then the embedded PostgreSQL (if it started it).

The server is granian (Rust HTTP, WSGI interface): bench/wsgi_servers.py
measured it at 1.6x gunicorn's requests/s on /healthz with the same workers and
threads. ``--server gunicorn`` is kept as the conservative alternative.
"""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from django.core.management import call_command
from django.core.management.base import BaseCommand
from django.db import connections

from config.processes import Child
from core.embedded_db import is_embedded
from tenants.demo import demo_credentials_path, demo_tenant_ensure


def default_workers() -> int:
    return int(os.environ.get("WEB_CONCURRENCY", os.cpu_count() or 1))


def worker_wanted() -> bool:
    """``SERVE_WORKER=0`` starts no worker (as ``--no-worker``)."""
    return os.environ.get("SERVE_WORKER", "1").strip().lower() not in {
        "0",
        "false",
        "no",
        "off",
    }


def worker_child() -> Child:
    manage = Path(__file__).resolve().parents[3] / "manage.py"
    return Child("Background worker", [sys.executable, str(manage), "worker"])


def access_log_enabled() -> bool:
    """``WEB_ACCESS_LOG=0`` turns the access log off (on by default)."""
    return os.environ.get("WEB_ACCESS_LOG", "1").strip().lower() not in {
        "0",
        "false",
        "no",
        "off",
    }


def server_command(server: str, host: str, port: int, workers: int) -> list[str]:
    threads = os.environ.get("WEB_THREADS", "4")
    log = access_log_enabled()
    if server == "granian":
        return [
            sys.executable, "-m", "granian",
            "--interface", "wsgi",
            "--host", host,
            "--port", str(port),
            "--workers", str(workers),
            "--blocking-threads", threads,
            "--no-ws",
            *(["--access-log"] if log else []),
            "--workers-kill-timeout", "20",
            "config.wsgi:application",
        ]  # fmt: skip
    return [
        sys.executable, "-m", "gunicorn",
        "config.wsgi:application",
        "--bind", f"{host}:{port}",
        "--workers", str(workers),
        "--worker-class", "gthread",
        "--threads", threads,
        *(["--access-logfile", "-"] if log else []),
        "--graceful-timeout", "20",
        "--no-control-socket",
    ]  # fmt: skip


class Command(BaseCommand):
    help = "Migrate, ensure the demo tenant, print credentials and serve."

    def add_arguments(self, parser):
        parser.add_argument("--host", default=os.environ.get("HOST", "127.0.0.1"))
        parser.add_argument(
            "--port", type=int, default=int(os.environ.get("PORT", "8000"))
        )
        parser.add_argument("--workers", type=int, default=default_workers())
        parser.add_argument(
            "--server",
            choices=["granian", "gunicorn"],
            default=os.environ.get("WEB_SERVER", "granian"),
        )
        parser.add_argument(
            "--no-worker",
            action="store_true",
            help="Run no background worker beside the web server (SERVE_WORKER=0).",
        )
        parser.add_argument(
            "--no-demo",
            action="store_true",
            help="Do not create or print the demo tenant.",
        )

    def handle(self, *args, **options):
        call_command("migrate_schemas", interactive=False, verbosity=0)
        credentials = None if options["no_demo"] else demo_tenant_ensure()
        connections.close_all()

        url = f"http://{options['host']}:{options['port']}"
        worker = None if options["no_worker"] or not worker_wanted() else worker_child()
        self._banner(url, credentials, worker=worker is not None)
        command = server_command(
            options["server"], options["host"], options["port"], options["workers"]
        )
        server = subprocess.Popen(command, env=os.environ.copy())
        if worker:
            worker.start()
        # SIGTERM (docker stop, systemd) is forwarded; Ctrl-C reaches the
        # server and the worker directly as they share our process group.
        signal.signal(signal.SIGTERM, lambda *_: server.terminate())
        try:
            while (code := server.poll()) is None:
                if worker:
                    worker.check()  # restarted if it died
                time.sleep(0.5)
        except KeyboardInterrupt:
            # From a terminal the server got the same Ctrl-C; from `kill -INT`
            # on this process alone it did not: pass it on either way.
            if server.poll() is None:
                server.send_signal(signal.SIGINT)
            try:
                code = server.wait(timeout=30)
            except subprocess.TimeoutExpired:
                server.kill()
                code = server.wait()
        if worker:
            self.stdout.write("Server stopped; stopping the background worker.")
            self.stdout.flush()
            worker.stop()
        if is_embedded():
            self.stdout.write("Server stopped; stopping the embedded PostgreSQL.")
        if code not in (0, -signal.SIGINT, -signal.SIGTERM):
            sys.exit(code)

    def _banner(
        self, url: str, credentials: dict[str, str] | None, *, worker: bool
    ) -> None:
        lines = ["", f"Gather Grid is starting on {url}", ""]
        if credentials:
            lines += [
                f"  Browser UI:    {url}/t/{credentials['tenant']}/ "
                "(sign in with the admin email and password)",
                f"  Tenant:        {credentials['tenant']}",
                f"  Admin email:   {credentials['email']}",
                f"  Admin password: {credentials['password']}",
                f"  API key:       {credentials['api_key']}",
                f"  Tracking key:  {credentials['tracking_key']}",
                f"  (kept in {demo_credentials_path()}, for the demo tenant only)",
                "",
                "  Try it:",
                f"    curl -s -X POST '{url}/auth/v1/token?grant_type=password' \\",
                f"      -H 'apikey: {credentials['api_key']}' "
                "-H 'Content-Type: application/json' \\",
                f'      -d \'{{"email": "{credentials["email"]}", '
                f'"password": "{credentials["password"]}"}}\'',
                "",
            ]
        if is_embedded():
            pgdata = os.environ["GATHERGRID_EMBEDDED_DB"]
            lines.append(f"  Database: embedded PostgreSQL in {pgdata}")
        else:
            lines.append("  Database: DATABASE_URL")
        lines.append(
            "  Background worker: manage.py worker (imports, periodic jobs)"
            if worker
            else "  Background worker: not started (--no-worker); run manage.py worker"
        )
        lines.append("  Stop with Ctrl-C.")
        self.stdout.write("\n".join(lines) + "\n")
        self.stdout.flush()
