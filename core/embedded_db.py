"""The embedded PostgreSQL (pgserver) used when ``DATABASE_URL`` is not set.

Every process that needs the database without a ``DATABASE_URL`` (the server
runner, ``manage.py`` commands, the test suite) calls :func:`ensure_database_url`.
pgserver keeps one PostgreSQL per data directory and counts the processes that use
it, so a command run while the server is up attaches to the same PostgreSQL, and
the last process to exit stops it.
"""

import logging
import os
import warnings
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent

_server = None


def data_dir() -> Path:
    """Where local state lives: ``$GATHERGRID_DATA_DIR`` or ``.data/``."""
    return Path(os.environ.get("GATHERGRID_DATA_DIR", BASE_DIR / ".data")).resolve()


def ensure_database_url() -> str:
    """Return ``DATABASE_URL``, starting the embedded PostgreSQL if it is unset.

    The URL is also exported into the environment so that child processes (the
    WSGI workers) connect to the same server without starting one themselves.
    """
    global _server
    url = os.environ.get("DATABASE_URL")
    if url:
        return url
    # pgserver logs every step at INFO and warns about XDG_RUNTIME_DIR; neither
    # tells a user anything.
    logging.getLogger("pgserver").setLevel(logging.WARNING)
    warnings.filterwarnings("ignore", module="platformdirs")
    import pgserver

    pgdata = data_dir() / "pg"
    pgdata.parent.mkdir(parents=True, exist_ok=True)
    _server = pgserver.get_server(pgdata, cleanup_mode="stop")
    url = _server.get_uri()
    os.environ["DATABASE_URL"] = url
    os.environ["GATHERGRID_EMBEDDED_DB"] = str(pgdata)
    return url


def is_embedded() -> bool:
    return "GATHERGRID_EMBEDDED_DB" in os.environ
