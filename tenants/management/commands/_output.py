"""Helpers shared by the tenant lifecycle commands."""

import json
from typing import Any

from django.core.management.base import CommandError

from core.errors import ApplicationError
from tenants.models import Tenant


def tenant_or_error(schema_name: str) -> Tenant:
    tenant = Tenant.objects.filter(schema_name=schema_name).first()
    if tenant is None:
        raise CommandError(f"No tenant {schema_name!r}.")
    return tenant


def as_command_error(error: ApplicationError) -> CommandError:
    return CommandError(error.message)


def dump_json(data: dict[str, Any]) -> str:
    return json.dumps(data, indent=None, sort_keys=False)
