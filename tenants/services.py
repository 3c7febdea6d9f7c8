"""Writes of the public schema: tenant lifecycle, keys, memberships, auth sessions."""

import secrets
import string
from dataclasses import dataclass
from datetime import datetime

from django.conf import settings
from django.contrib.auth import authenticate
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from django_tenants.utils import schema_exists

from core.errors import INVALID, ApplicationError, ValidationFailed
from tenants.models import (
    KEY_PREFIXES,
    AuthSession,
    KeyKind,
    Membership,
    RefreshToken,
    Role,
    Tenant,
    TenantKey,
    User,
    hash_secret,
    validate_schema_name,
)
from tenants.schemas import schema_clone_from_template
from tenants.selectors import user_memberships
from tenants.throttle import login_failed, login_succeeded, login_wait
from tenants.tokens import (
    access_token_issue,
    refresh_reuse_allowed,
    refresh_token_generate,
    refresh_token_open,
    refresh_token_seal,
)

# --- Tenants -------------------------------------------------------------------


@dataclass(frozen=True)
class CreatedTenant:
    tenant: Tenant
    api_key: str
    tracking_key: str


@transaction.atomic
def tenant_create(*, schema_name: str, name: str) -> CreatedTenant:
    """Create a tenant: its row, its schema (a clone of the template) and keys.

    All or nothing: a failure leaves neither row nor schema behind.
    """
    try:
        validate_schema_name(schema_name)
    except ValidationError as error:
        raise ApplicationError(error.messages[0], code="invalid_tenant_id") from None
    if not name or not name.strip():
        raise ApplicationError("A tenant needs a name.", code="invalid_tenant_name")
    if Tenant.objects.filter(schema_name=schema_name).exists() or schema_exists(
        schema_name
    ):
        raise ApplicationError(
            f"Tenant {schema_name!r} already exists.", code="tenant_exists"
        )
    try:
        with transaction.atomic():
            tenant = Tenant.objects.create(schema_name=schema_name, name=name.strip())
    except IntegrityError:
        raise ApplicationError(
            f"Tenant {schema_name!r} already exists.", code="tenant_exists"
        ) from None
    schema_clone_from_template(schema_name)
    _, api_key = key_issue(tenant=tenant, kind=KeyKind.API, label="initial")
    _, tracking_key = key_issue(tenant=tenant, kind=KeyKind.TRACKING, label="initial")
    return CreatedTenant(tenant=tenant, api_key=api_key, tracking_key=tracking_key)


# --- Keys ----------------------------------------------------------------------

# "gg_sk_" or "gg_pk_" and 8 random characters: shown in lists, used to revoke.
PREFIX_LENGTH = 14
KEY_ALPHABET = string.ascii_letters + string.digits


def key_issue(*, tenant: Tenant, kind: str, label: str = "") -> tuple[TenantKey, str]:
    """Issue a new key; returns it and its secret, which is never shown again."""
    if kind not in KeyKind.values:
        raise ApplicationError(f"Unknown key kind {kind!r}.", code="invalid_key_kind")
    # Letters and digits only: selectable with a double click, safe in a URL path.
    raw = KEY_PREFIXES[kind] + "".join(secrets.choice(KEY_ALPHABET) for _ in range(40))
    key = TenantKey.objects.create(
        tenant=tenant,
        kind=kind,
        prefix=raw[:PREFIX_LENGTH],
        key_hash=hash_secret(raw),
        label=label,
    )
    return key, raw


def key_revoke(*, prefix: str) -> TenantKey:
    """Revoke the key starting with ``prefix`` (its shown prefix, or the whole key).

    Effective at once: keys are checked on every request, never cached.
    """
    prefix = prefix.strip()
    if len(prefix) < 10:
        raise ApplicationError(
            "Give at least the first 10 characters of the key.", code="key_not_found"
        )
    if len(prefix) > PREFIX_LENGTH:
        keys = TenantKey.objects.filter(prefix=prefix[:PREFIX_LENGTH])
    else:
        keys = TenantKey.objects.filter(prefix__startswith=prefix)
    matches = list(keys.select_related("tenant")[:2])
    if not matches:
        raise ApplicationError(f"No key starts with {prefix!r}.", code="key_not_found")
    if len(matches) > 1:
        raise ApplicationError(
            f"Several keys start with {prefix!r}; give more characters.",
            code="key_ambiguous",
        )
    key = matches[0]
    if key.revoked_at is None:
        key.revoked_at = timezone.now()
        key.save(update_fields=["revoked_at"])
    return key


# --- Users and memberships -------------------------------------------------------


@transaction.atomic
def user_ensure(*, email: str, password: str | None = None) -> tuple[User, bool]:
    """The user with this email, created if needed; sets the password if given."""
    email = User.objects.normalize_email(email.strip()).lower()
    try:
        User._meta.get_field("email").run_validators(email)
    except ValidationError:
        raise ApplicationError(
            f"{email!r} is not an email address.", code="email_address_invalid"
        ) from None
    user = User.objects.filter(email=email).first()
    created = user is None
    if created:
        user = User.objects.create_user(email=email, password=password)
    elif password is not None:
        user.set_password(password)
        user.save(update_fields=["password", "updated_at"])
    return user, created


def user_update(
    *, user: User, email: object = None, password: object = None, data: object = None
) -> User:
    """Change a user's own password and/or ``user_metadata`` (``PUT /auth/v1/user``)."""
    if email is not None and email != user.email:
        raise ApplicationError(
            "Changing the email address is done by a tenant admin.",
            code="email_change_not_allowed",
            status=422,
        )
    fields = ["updated_at"]
    if password is not None:
        if not isinstance(password, str):
            raise ApplicationError(
                "password must be a string.", code="validation_failed"
            )
        try:
            validate_password(password, user)
        except ValidationError as error:
            raise ApplicationError(
                " ".join(error.messages), code="weak_password", status=422
            ) from None
        user.set_password(password)
        user.password_temporary = False
        fields += ["password", "password_temporary"]
    if data is not None:
        if not isinstance(data, dict):
            raise ApplicationError(
                "data must be a JSON object.", code="validation_failed"
            )
        user.user_metadata = {**(user.user_metadata or {}), **data}
        fields.append("user_metadata")
    user.save(update_fields=fields)
    return user


def user_password_change(*, user: User, password: str) -> User:
    """Set ``user``'s own new password (Django's password validators decide if
    it is good enough); it is no longer a temporary one."""
    try:
        validate_password(password, user)
    except ValidationError as error:
        raise ValidationFailed(
            "new_password", " ".join(error.messages), code=INVALID
        ) from None
    user.set_password(password)
    user.password_temporary = False
    user.save(update_fields=["password", "password_temporary", "updated_at"])
    return user


def membership_set(*, user: User, tenant: Tenant, role: str) -> Membership:
    if role not in Role.values:
        raise ApplicationError(
            f"Role must be one of {', '.join(Role.values)}.", code="invalid_role"
        )
    membership, _ = Membership.objects.update_or_create(
        user=user, tenant=tenant, defaults={"role": role}
    )
    return membership


def membership_remove(*, user: User, tenant: Tenant) -> None:
    """Remove a member; their tokens stop working for this tenant at once."""
    Membership.objects.filter(user=user, tenant=tenant).delete()


# The member management of the browser UI's settings: same writes as above, plus
# the rule that a tenant always keeps an admin.


@transaction.atomic
def member_add(
    *, tenant: Tenant, email: str, role: str
) -> tuple[Membership, str | None]:
    """Make the user with ``email`` a member of ``tenant`` with ``role``.

    A user who does not exist yet is created with a random temporary password,
    returned (it is shown once to the admin, who passes it on); an existing
    user keeps their password, so one tenant's admin never sets the password
    of someone else's account.
    """
    user, created = user_ensure(email=email)
    if Membership.objects.filter(user=user, tenant=tenant).exists():
        raise ApplicationError(
            f"{user.email} is already a member: change their role in the list.",
            code="member_exists",
        )
    temporary_password = None
    if created:
        temporary_password = secrets.token_urlsafe(12)
        user.set_password(temporary_password)
        user.password_temporary = True
        user.save(update_fields=["password", "password_temporary", "updated_at"])
    return membership_set(user=user, tenant=tenant, role=role), temporary_password


def _keep_an_admin(*, tenant: Tenant, user: User) -> None:
    """Refuse a change that would leave ``tenant`` without an admin.

    The tenant's admin memberships are locked, so two admins demoting each
    other at the same moment cannot both succeed.
    """
    admins = list(
        Membership.objects.select_for_update()
        .filter(tenant=tenant, role=Role.ADMIN)
        .values_list("user_id", flat=True)
    )
    if admins == [user.id]:
        raise ApplicationError(
            f"{user.email} is the last admin of this tenant: make another member "
            "an admin first.",
            code="last_admin",
        )


@transaction.atomic
def member_role_change(*, tenant: Tenant, user: User, role: str) -> Membership:
    """Change a member's role; the last admin cannot be demoted."""
    if role != Role.ADMIN:
        _keep_an_admin(tenant=tenant, user=user)
    return membership_set(user=user, tenant=tenant, role=role)


@transaction.atomic
def member_remove(*, tenant: Tenant, user: User) -> None:
    """Remove a member (access ends at once); the last admin cannot be removed."""
    _keep_an_admin(tenant=tenant, user=user)
    membership_remove(user=user, tenant=tenant)


# --- Auth sessions (/auth/v1) ------------------------------------------------------


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def gotrue_user(user: User, memberships: list[Membership]) -> dict:
    """The user object of GoTrue's responses."""
    tenants = [m.tenant.schema_name for m in memberships]
    return {
        "id": str(user.id),
        "aud": "authenticated",
        "role": "authenticated",
        "email": user.email,
        "email_confirmed_at": _iso(user.created_at),
        "phone": "",
        "confirmed_at": _iso(user.created_at),
        "last_sign_in_at": _iso(user.last_login),
        "app_metadata": {
            "provider": "email",
            "providers": ["email"],
            "tenants": tenants,
            "roles": {m.tenant.schema_name: m.role for m in memberships},
        },
        "user_metadata": user.user_metadata or {},
        "identities": [],
        "created_at": _iso(user.created_at),
        "updated_at": _iso(user.updated_at),
        "is_anonymous": False,
    }


def _session_tokens(
    session: AuthSession, user: User, *, refresh: str | None = None
) -> dict:
    """A new access token for ``session`` and its refresh token ``refresh`` (a
    new first token of the session when None), in GoTrue's shape."""
    memberships = user_memberships(user_id=user.id)
    tenants = [m.tenant.schema_name for m in memberships]
    access, expires_at = access_token_issue(
        user=user,
        session_id=str(session.id),
        tenants=tenants,
        default_tenant=session.tenant.schema_name,
    )
    if refresh is None:
        refresh = refresh_token_generate()
        RefreshToken.objects.create(session=session, token_hash=hash_secret(refresh))
    lifetime = int(settings.JWT_ACCESS_TOKEN_LIFETIME.total_seconds())
    return {
        "access_token": access,
        "token_type": "bearer",
        "expires_in": lifetime,
        "expires_at": expires_at,
        "refresh_token": refresh,
        "user": gotrue_user(user, memberships),
    }


class SignInError(Exception):
    """A browser sign-in refused; the message is safe to show."""


INVALID_CREDENTIALS = ApplicationError(
    "Invalid login credentials", code="invalid_credentials", status=400
)


def _password_sign_in(
    *, email: str, password: str, ip: str | None, tenant: Tenant | None = None
) -> User:
    """The one password check of both sign-ins, throttled (``tenants.throttle``).

    ``email`` is normalised. With ``tenant``, the user must be a member of it;
    a non-member is told, and counted, exactly as a wrong password is. Raises
    ``over_request_rate_limit`` (429, ``Retry-After``) or
    :data:`INVALID_CREDENTIALS`.
    """
    wait = login_wait(email=email, ip=ip)
    if wait:
        raise ApplicationError(
            "Too many failed sign-in attempts. Try again later.",
            code="over_request_rate_limit",
            status=429,
            headers={"Retry-After": str(wait)},
        )
    user = authenticate(username=email, password=password)
    admitted = user is not None and (
        tenant is None or Membership.objects.filter(user=user, tenant=tenant).exists()
    )
    if not admitted:
        login_failed(email=email, ip=ip)
        raise INVALID_CREDENTIALS
    login_succeeded(user=user, email=email, ip=ip)
    return user


def browser_sign_in(*, email: str, password: str, ip: str | None) -> User:
    """Check a browser sign-in with the same users, passwords and throttle as
    ``/auth/v1``; the caller starts the session. Staff without tenants may sign
    in too (for ``/admin/``)."""
    email = (email or "").strip().lower()
    if not email or not password:
        raise SignInError("Enter your email and password.")
    if "\x00" in email + password:  # no user has one; PostgreSQL text cannot
        raise SignInError("Email or password is wrong.")
    try:
        return _password_sign_in(email=email, password=password, ip=ip)
    except ApplicationError as error:
        if error.code == "over_request_rate_limit":
            raise SignInError(
                "Too many failed sign-in attempts. Try again later."
            ) from None
        raise SignInError("Email or password is wrong.") from None


def auth_password_grant(
    *, email: str, password: str, tenant: Tenant, ip: str | None, user_agent: str = ""
) -> dict:
    """Sign in with email and password into ``tenant`` (the API key's tenant)."""
    email = (email or "").strip().lower()
    if not email or not password:
        raise ApplicationError(
            "Email and password are required.", code="validation_failed", status=400
        )
    user = _password_sign_in(email=email, password=password, ip=ip, tenant=tenant)
    with transaction.atomic():
        user.last_login = timezone.now()
        user.save(update_fields=["last_login"])
        session = AuthSession.objects.create(
            user=user, tenant=tenant, ip=ip, user_agent=user_agent[:300]
        )
        return _session_tokens(session, user)


def _refresh_child(token: RefreshToken, raw: str, *, now: datetime) -> str:
    """Exchange ``token`` (text ``raw``, unused) for its child, the session's
    new current token."""
    child = refresh_token_generate()
    token.used_at = now
    token.save(update_fields=["used_at"])
    RefreshToken.objects.create(
        session_id=token.session_id,
        token_hash=hash_secret(child),
        parent=token,
        sealed=refresh_token_seal(child, parent=raw),
    )
    return child


def _refresh_current(token: RefreshToken, raw: str) -> str | None:
    """The session's current token, reached from the used ``token`` (text
    ``raw``) by opening each child with its parent; None if the chain is broken
    (a token used before children were sealed)."""
    for _ in range(1000):  # a chain is as long as the refreshes of one interval
        child = RefreshToken.objects.filter(parent=token).first()
        if child is None:
            return None
        opened = refresh_token_open(child.sealed, parent=raw)
        if opened is None or hash_secret(opened) != child.token_hash:
            return None
        if child.used_at is None:
            return opened
        token, raw = child, opened
    return None


def auth_refresh_grant(*, refresh_token: str, tenant: Tenant) -> dict:
    """Exchange a refresh token for a new access token and refresh token.

    Each refresh token is exchanged once. Presented again within
    ``JWT_REFRESH_TOKEN_REUSE_INTERVAL`` of that first exchange (two tabs, or
    server-side rendering and middleware refreshing at the same moment), it is
    answered with the session's current refresh token and a new access token,
    as GoTrue does; presented later, it is taken as stolen and the whole session
    ends. A session that has ended is never refreshed, whichever token is shown.
    Refreshes of one session are serialised by a lock on the session's row.
    """
    if not refresh_token:
        raise ApplicationError("Refresh token is required.", code="validation_failed")
    not_found = ApplicationError(
        "Invalid Refresh Token: Refresh Token Not Found",
        code="refresh_token_not_found",
        status=400,
    )
    token_hash = hash_secret(refresh_token)
    found = (
        RefreshToken.objects.filter(token_hash=token_hash)
        .values_list("session_id", "session__tenant_id")
        .first()
    )
    # Another tenant's API key learns nothing and changes nothing.
    if found is None or found[1] != tenant.id:
        raise not_found
    with transaction.atomic():
        session = (
            AuthSession.objects.select_for_update(of=("self",))
            .select_related("user", "tenant")
            .filter(pk=found[0])
            .first()
        )
        # Read after the lock: a refresh that held it has committed.
        token = RefreshToken.objects.filter(token_hash=token_hash).first()
        if session is None or token is None:  # deleted meanwhile
            raise not_found
        now = timezone.now()
        # GoTrue's answers: its sign-out deletes the session and its tokens, and
        # supabase-js turns `session_not_found` into a code-less "Auth session
        # missing!", so an ended session's tokens are not found, as there.
        if session.revoked_at is not None:
            raise not_found
        if not session.user.is_active:
            raise ApplicationError(
                "Invalid Refresh Token: User Banned", code="user_banned", status=400
            )
        if token.created_at + settings.JWT_REFRESH_TOKEN_LIFETIME < now:
            raise ApplicationError(
                "Invalid Refresh Token: expired", code="session_expired", status=400
            )
        if not Membership.objects.filter(
            user_id=session.user_id, tenant_id=session.tenant_id
        ).exists():
            raise ApplicationError(
                "The user is no longer a member of this tenant.",
                code="user_not_found",
                status=400,
            )
        if token.used_at is None:
            refresh = _refresh_child(token, refresh_token, now=now)
        elif refresh_reuse_allowed(
            used_at=token.used_at,
            now=now,
            interval=settings.JWT_REFRESH_TOKEN_REUSE_INTERVAL,
        ):
            refresh = _refresh_current(token, refresh_token)
        else:
            refresh = None
        if refresh is None:
            # Taken as theft: the session ends, for every token of it.
            session.revoked_at = now
            session.save(update_fields=["revoked_at"])
        else:
            session.refreshed_at = now
            session.save(update_fields=["refreshed_at"])
            return _session_tokens(session, session.user, refresh=refresh)
    # Raised after the block so that the revocation above is committed.
    raise ApplicationError(
        "Invalid Refresh Token: Already Used",
        code="refresh_token_already_used",
        status=400,
    )


def auth_logout(*, user_id: str, session_id: str, scope: str = "global") -> None:
    """Revoke sessions: this one (``local``), all (``global``) or the others."""
    sessions = AuthSession.objects.filter(user_id=user_id, revoked_at__isnull=True)
    if scope == "local":
        sessions = sessions.filter(pk=session_id)
    elif scope == "others":
        sessions = sessions.exclude(pk=session_id)
    elif scope != "global":
        raise ApplicationError(
            "scope must be one of global, local, others.", code="validation_failed"
        )
    sessions.update(revoked_at=timezone.now())
