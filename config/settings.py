"""Django settings, read from the environment (12-factor).

Every variable is listed, with its default, in the README ("Configuration").
"""

import os
from datetime import timedelta
from pathlib import Path

import dj_database_url

from core.embedded_db import data_dir, ensure_database_url

BASE_DIR = Path(__file__).resolve().parent.parent


def env_bool(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def env_list(name: str, default: str) -> list[str]:
    return [item.strip() for item in os.environ.get(name, default).split(",") if item]


def _secret_key() -> str:
    """``SECRET_KEY`` from the environment, else one generated once per data dir.

    The generated key is shared by every process of one installation; a deployment
    on several machines must set ``SECRET_KEY`` (and ``JWT_SECRET``) itself.
    """
    key = os.environ.get("SECRET_KEY")
    if key:
        return key
    from django.core.management.utils import get_random_secret_key

    path = data_dir() / "secret_key"
    path.parent.mkdir(parents=True, exist_ok=True)
    if not path.exists():
        path.write_text(get_random_secret_key())
        path.chmod(0o600)
    return path.read_text().strip()


SECRET_KEY = _secret_key()
DEBUG = env_bool("DEBUG", False)
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", "localhost,127.0.0.1,[::1],testserver")
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", "")

SHARED_APPS = [
    # Before django_tenants: our create_tenant and migrate_schemas replace its.
    "tenants",
    "django_tenants",
    "django.contrib.contenttypes",
    "django.contrib.auth",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "tenants.admin_apps.GatherGridAdminConfig",  # django.contrib.admin, our site
    "django_filters",
    "corsheaders",
    "django_htmx",
    "ui",
    # The background worker's job tables (public schema: one queue for every
    # tenant; a tenant job carries its schema name).
    "procrastinate.contrib.django",
    "config",  # the project's own commands (serve, worker, jobs)
]
TENANT_APPS = [
    "gathergrid",
    "tracking",
]
INSTALLED_APPS = SHARED_APPS + [app for app in TENANT_APPS if app not in SHARED_APPS]

MIDDLEWARE = [
    "corsheaders.middleware.CorsMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "core.edge.ErrorMiddleware",
    "tenants.middleware.TenantResolutionMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "tenants.middleware.BrowserTenantMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "ui.context_processors.tenant",
            ],
        },
    },
]

# --- Database ---------------------------------------------------------------
DATABASES = {
    "default": dj_database_url.parse(
        ensure_database_url(),
        conn_max_age=int(os.environ.get("CONN_MAX_AGE", "60")),
        # A health check is a `SELECT 1` round trip before each request; without
        # it a connection broken by a database restart fails one request (503)
        # and is then replaced.
        conn_health_checks=env_bool("CONN_HEALTH_CHECKS", False),
    )
}
DATABASES["default"]["ENGINE"] = "django_tenants.postgresql_backend"
# One test database per test run, so that two runs on one machine (two
# terminals, an editor's test runner) cannot drop each other's database.
DATABASES["default"]["TEST"] = {"NAME": f"test_gathergrid_{os.getpid()}"}
DATABASE_ROUTERS = ["django_tenants.routers.TenantSyncRouter"]
# A connection that bypasses any transaction-mode pooler (PgBouncer) in
# DATABASE_URL: the worker LISTENs for new jobs on it, which a pooled
# connection cannot do. Defaults to DATABASE_URL (the embedded PostgreSQL).
DATABASE_DIRECT_URL = os.environ.get("DATABASE_DIRECT_URL") or ensure_database_url()
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Tenancy (django-tenants) -----------------------------------------------
TENANT_MODEL = "tenants.Tenant"
PUBLIC_SCHEMA_NAME = "public"
# New tenants are cloned from this migrated schema instead of replaying migrations.
TENANT_BASE_SCHEMA = "tenant_template"
TENANT_CREATION_FAKES_MIGRATIONS = True
# Skip "SET search_path" when the schema did not change between queries.
TENANT_LIMIT_SET_CALLS = True
TENANT_MULTIPROCESSING_MAX_PROCESSES = int(
    os.environ.get("TENANT_MIGRATION_PROCESSES", str(max(2, os.cpu_count() or 2)))
)

# --- Users and passwords ------------------------------------------------------
AUTH_USER_MODEL = "tenants.User"
PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
    "django.contrib.auth.hashers.ScryptPasswordHasher",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
]
# The sign-in throttle (tenants/throttle.py, docs/auth.md): failures per email
# and address (x4 per address) within the window; from as many failures of one
# email from anywhere within the email window, a doubling back-off up to its
# maximum, which addresses the user signed in from are spared.
LOGIN_THROTTLE_MAX_FAILURES = int(os.environ.get("LOGIN_THROTTLE_MAX_FAILURES", "5"))
LOGIN_THROTTLE_WINDOW = timedelta(
    seconds=int(os.environ.get("LOGIN_THROTTLE_WINDOW_SECONDS", "900"))
)
LOGIN_THROTTLE_EMAIL_WINDOW = timedelta(
    seconds=int(os.environ.get("LOGIN_THROTTLE_EMAIL_WINDOW_SECONDS", "86400"))
)
LOGIN_THROTTLE_BACKOFF_MAX = timedelta(
    seconds=int(os.environ.get("LOGIN_THROTTLE_BACKOFF_MAX_SECONDS", "900"))
)

# --- JWT (GoTrue-compatible /auth/v1) ----------------------------------------
JWT_ACCESS_TOKEN_LIFETIME = timedelta(
    seconds=int(os.environ.get("JWT_ACCESS_TOKEN_LIFETIME", "3600"))
)
JWT_REFRESH_TOKEN_LIFETIME = timedelta(
    seconds=int(os.environ.get("JWT_REFRESH_TOKEN_LIFETIME", str(30 * 24 * 3600)))
)
# A used refresh token presented again within this many seconds of its first
# use gets the session's current token (GoTrue's reuse interval); 0 turns it off.
JWT_REFRESH_TOKEN_REUSE_INTERVAL = timedelta(
    seconds=int(os.environ.get("JWT_REFRESH_TOKEN_REUSE_INTERVAL", "10"))
)
SIMPLE_JWT = {
    "ACCESS_TOKEN_LIFETIME": JWT_ACCESS_TOKEN_LIFETIME,
    "ALGORITHM": "HS256",
    "SIGNING_KEY": os.environ.get("JWT_SECRET", SECRET_KEY),
    "AUDIENCE": "authenticated",
    "ISSUER": os.environ.get("JWT_ISSUER", "gathergrid"),
    "USER_ID_FIELD": "id",
    "USER_ID_CLAIM": "sub",
    "JTI_CLAIM": "jti",
    "LEEWAY": 5,
}

# --- CORS: the APIs authenticate by header (apikey, bearer), never by cookie,
# so any origin may call them, as with PostgREST/Supabase. ----------------------
# Bucket's endpoints answer CORS themselves (its SDKs send their own headers).
CORS_URLS_REGEX = r"^/(rest/v1|auth/v1|v1)(/.*)?$"
CORS_ALLOW_ALL_ORIGINS = True
CORS_ALLOW_CREDENTIALS = False
CORS_ALLOW_HEADERS = [
    "apikey",
    "authorization",
    "x-client-info",
    "content-type",
    "accept",
    "accept-profile",
    "content-profile",
    "prefer",
    "range",
    "range-unit",
    "x-retry-count",
    "x-supabase-api-version",
]
CORS_EXPOSE_HEADERS = [
    "Content-Range",
    "Content-Location",
    "Content-Profile",
    "Preference-Applied",
    "Location",
    "X-Supabase-Api-Version",
]
CORS_PREFLIGHT_MAX_AGE = 86400

# --- Browser UI -----------------------------------------------------------------
LOGIN_URL = "/login/"
LOGIN_REDIRECT_URL = "/"
LOGOUT_REDIRECT_URL = "/login/"
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
# Rows per page of every list and grid in the browser UI.
UI_PAGE_SIZE = int(os.environ.get("UI_PAGE_SIZE", "50"))
# Largest CSV the import accepts (bytes); it is staged in the tenant's schema.
UI_IMPORT_MAX_BYTES = int(os.environ.get("UI_IMPORT_MAX_BYTES", str(50 * 1024 * 1024)))

# --- Background worker (manage.py worker; serve starts one) ------------------
# Jobs (core/jobs.py) come from the *tasks modules of the apps.
PROCRASTINATE_AUTODISCOVER_MODULE_NAME = "tasks"
# Dotted paths of ``run(stop: threading.Event) -> None`` loops the worker runs
# beside the jobs, each in a thread of its own, until ``stop`` is set.
WORKER_LOOPS = env_list("WORKER_LOOPS", "")
# Jobs the worker runs at once (``worker --concurrency`` overrides it).
WORKER_CONCURRENCY = int(os.environ.get("WORKER_CONCURRENCY", "2"))

# --- Misc ---------------------------------------------------------------------
LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = False
USE_TZ = True
STATIC_URL = "static/"
STATIC_ROOT = None  # no collectstatic: WhiteNoise serves from the finders
STATICFILES_DIRS = [BASE_DIR / "static"]
# WhiteNoise serves static files straight from the app's folders (no
# collectstatic step); the admin's and htmx's files come from their packages.
WHITENOISE_USE_FINDERS = True

CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}
    },
    "filters": {"no_4xx_traceback": {"()": "core.log.ClientErrorsWithoutTraceback"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "INFO")},
    "loggers": {
        "django.request": {"filters": ["no_4xx_traceback"]},
        "django.db.backends": {"level": "WARNING"},
        "pgserver": {"level": "WARNING"},
        # Its INFO lines (every task registered, every job deferred) say
        # nothing an operator needs; the worker logs what it runs and fails.
        "procrastinate": {"level": "WARNING"},
    },
}

# The demo tenant `make run` ensures; its credentials are kept under the data dir.
DEMO_TENANT = os.environ.get("DEMO_TENANT", "demo")
DEMO_ADMIN_EMAIL = os.environ.get("DEMO_ADMIN_EMAIL", "admin@example.com")
