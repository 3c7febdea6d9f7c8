from django.http import HttpRequest

from tenants.models import Role
from tenants.selectors import user_memberships


def tenant(request: HttpRequest) -> dict:
    """The tenant of a ``/t/<tenant>/`` page, what the user may do there, and
    (queried only when a template uses it) the user's tenants for the switcher."""
    context: dict = {}
    if request.user.is_authenticated:
        user_id = str(request.user.pk)
        context["my_memberships"] = lambda: user_memberships(user_id=user_id)
    membership = getattr(request, "membership", None)
    if membership is not None:
        context.update(
            tenant=membership.tenant,
            schema=membership.tenant.schema_name,
            role=membership.role,
            can_write=membership.can_write,
            is_admin=membership.role == Role.ADMIN,
        )
    return context
