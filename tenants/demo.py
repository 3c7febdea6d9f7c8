"""The demo tenant that `make run` ensures, with credentials that keep working.

For this tenant only, the admin's password and the keys are kept in a local
file (``.data/demo-credentials.json``, mode 600) so that every run can print
working credentials. No other tenant's secrets are ever stored.
"""

import json
import secrets
from pathlib import Path

from django.conf import settings
from django.db import transaction

from core.embedded_db import data_dir
from tenants.models import KeyKind, Role, Tenant
from tenants.selectors import tenant_key_resolve
from tenants.services import key_issue, membership_set, tenant_create, user_ensure


def demo_credentials_path() -> Path:
    return data_dir() / "demo-credentials.json"


@transaction.atomic
def demo_tenant_ensure() -> dict[str, str]:
    """Ensure the demo tenant, its admin and its keys; return working credentials."""
    path = demo_credentials_path()
    stored: dict[str, str] = {}
    if path.exists():
        try:
            stored = json.loads(path.read_text())
        except ValueError:
            stored = {}
    schema = settings.DEMO_TENANT
    email = settings.DEMO_ADMIN_EMAIL
    tenant = Tenant.objects.filter(schema_name=schema).first()
    if tenant is None:
        created = tenant_create(schema_name=schema, name="Demo")
        tenant = created.tenant
        api_key, tracking_key = created.api_key, created.tracking_key
    else:
        api_key = _valid_key_or_new(tenant, KeyKind.API, stored.get("api_key", ""))
        tracking_key = _valid_key_or_new(
            tenant, KeyKind.TRACKING, stored.get("tracking_key", "")
        )
    user, _ = user_ensure(email=email)
    password = stored.get("password", "")
    if (
        stored.get("email") != email
        or not password
        or not user.check_password(password)
    ):
        password = secrets.token_urlsafe(12)
        user.set_password(password)
    user.is_staff = True
    user.is_superuser = True
    user.save()
    membership_set(user=user, tenant=tenant, role=Role.ADMIN)
    credentials = {
        "tenant": tenant.schema_name,
        "email": user.email,
        "password": password,
        "api_key": api_key,
        "tracking_key": tracking_key,
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    path.touch(mode=0o600, exist_ok=True)
    path.chmod(0o600)
    path.write_text(json.dumps(credentials, indent=2) + "\n")
    return credentials


def _valid_key_or_new(tenant: Tenant, kind: str, raw: str) -> str:
    key = tenant_key_resolve(raw_key=raw, kinds=(kind,)) if raw else None
    if key is not None and key.tenant_id == tenant.id:
        return raw
    return key_issue(tenant=tenant, kind=kind, label="demo")[1]
