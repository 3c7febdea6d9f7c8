"""Public-schema models: users, tenants, memberships, keys and auth sessions.

Nothing in a tenant schema points here with a foreign key: tenant tables store
user ids as plain values, so each tenant schema can be dumped and moved alone.
"""

import hashlib
import re
import uuid

from django.contrib.auth.base_user import AbstractBaseUser, BaseUserManager
from django.contrib.auth.models import PermissionsMixin
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models.functions import Lower
from django.utils import timezone
from django_tenants.models import TenantMixin

# Lowercase letters, digits and underscore, starting with a letter; at most 63
# characters (PostgreSQL's identifier limit). `public` and `pg_*` are reserved.
SCHEMA_NAME_RE = re.compile(r"^[a-z][a-z0-9_]{0,62}\Z")
RESERVED_SCHEMA_NAMES = frozenset({"public", "information_schema", "tenant_template"})


def is_valid_schema_name(name: str) -> bool:
    """True when ``name`` may be used as a tenant id / PostgreSQL schema name."""
    return (
        isinstance(name, str)
        and bool(SCHEMA_NAME_RE.match(name))
        and not name.startswith("pg_")
        and name not in RESERVED_SCHEMA_NAMES
    )


def validate_schema_name(name: str) -> None:
    if not is_valid_schema_name(name):
        raise ValidationError(
            "A tenant id is 1-63 lowercase letters, digits or underscores, starts "
            "with a letter, and is not 'public', 'tenant_template' or 'pg_*'.",
            code="invalid_schema_name",
        )


class UserManager(BaseUserManager):
    use_in_migrations = True

    def _create_user(self, email: str, password: str | None, **extra):
        if not email:
            raise ValueError("An email address is required.")
        user = self.model(email=self.normalize_email(email).lower(), **extra)
        user.set_password(password)
        user.save(using=self._db)
        return user

    def create_user(self, email: str, password: str | None = None, **extra):
        extra.setdefault("is_staff", False)
        extra.setdefault("is_superuser", False)
        return self._create_user(email, password, **extra)

    def create_superuser(self, email: str, password: str | None = None, **extra):
        extra.setdefault("is_staff", True)
        extra.setdefault("is_superuser", True)
        return self._create_user(email, password, **extra)


class User(AbstractBaseUser, PermissionsMixin):
    """A person who signs in (browser or /auth/v1). Identified by email."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    email = models.EmailField(unique=True)
    is_active = models.BooleanField(default=True)
    is_staff = models.BooleanField(
        default=False, help_text="May sign in to the Django admin."
    )
    user_metadata = models.JSONField(default=dict, blank=True)
    password_temporary = models.BooleanField(
        default=False,
        help_text="Signed in with a password an admin passed on: asked to choose "
        "their own until they do.",
    )
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)

    objects = UserManager()

    USERNAME_FIELD = "email"
    EMAIL_FIELD = "email"

    class Meta:
        ordering = ["email"]

    def __str__(self) -> str:
        return self.email


class Tenant(TenantMixin):
    """A tenant: its id is its PostgreSQL schema name."""

    name = models.CharField(max_length=200)
    created_at = models.DateTimeField(auto_now_add=True)

    # Schemas are cloned from the template by `tenant_create`, never implicitly
    # on save, and never dropped by deleting a row.
    auto_create_schema = False
    auto_drop_schema = False

    class Meta:
        ordering = ["schema_name"]

    def __str__(self) -> str:
        return self.schema_name

    def clean(self) -> None:
        validate_schema_name(self.schema_name)


class Role(models.TextChoices):
    ADMIN = "admin", "Admin"
    EDITOR = "editor", "Editor"
    VIEWER = "viewer", "Viewer"


WRITE_ROLES = frozenset({Role.ADMIN, Role.EDITOR})


def role_can_write(role: str) -> bool:
    """The one write rule of every face: editors and admins change data,
    viewers only read."""
    return role in WRITE_ROLES


class Membership(models.Model):
    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="memberships")
    tenant = models.ForeignKey(
        Tenant, on_delete=models.CASCADE, related_name="memberships"
    )
    role = models.CharField(max_length=10, choices=Role.choices, default=Role.VIEWER)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["user", "tenant"], name="membership_user_tenant_unique"
            )
        ]
        ordering = ["tenant__schema_name", "user__email"]

    def __str__(self) -> str:
        return f"{self.user} @ {self.tenant} ({self.role})"

    @property
    def can_write(self) -> bool:
        return role_can_write(self.role)


class KeyKind(models.TextChoices):
    API = "api", "API key (secret)"
    TRACKING = "tracking", "Tracking key (publishable)"


KEY_PREFIXES = {KeyKind.API: "gg_sk_", KeyKind.TRACKING: "gg_pk_"}


def hash_secret(secret: str) -> str:
    """SHA-256 of a high-entropy secret (keys, refresh tokens).

    A slow hash is for guessable passwords; these are 240-bit random strings.
    """
    return hashlib.sha256(secret.encode()).hexdigest()


class TenantKey(models.Model):
    """An API or tracking key of a tenant. Only its hash is stored."""

    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="keys")
    kind = models.CharField(max_length=10, choices=KeyKind.choices)
    prefix = models.CharField(
        max_length=24, unique=True, help_text="The key's first characters, shown."
    )
    key_hash = models.CharField(max_length=64, unique=True)
    label = models.CharField(max_length=100, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["tenant__schema_name", "-created_at"]

    def __str__(self) -> str:
        return f"{self.prefix}… ({self.kind}, {self.tenant})"

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None


class AuthSession(models.Model):
    """A sign-in via /auth/v1: the `session_id` of its access tokens."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    user = models.ForeignKey(
        User, on_delete=models.CASCADE, related_name="auth_sessions"
    )
    tenant = models.ForeignKey(
        Tenant,
        on_delete=models.CASCADE,
        related_name="auth_sessions",
        help_text="The default tenant: the one whose API key signed in.",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    refreshed_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    user_agent = models.CharField(max_length=300, blank=True)
    ip = models.GenericIPAddressField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"session {self.id} of {self.user}"


class RefreshToken(models.Model):
    """One refresh token of a session; each is exchanged once (rotation) for its
    child, the session's next token.

    A session has at most one unused token (its current one), and a token at
    most one child: the family never forks. ``sealed`` is this token's text
    sealed with its parent's (``tenants.tokens.refresh_token_seal``), so that a
    client presenting the parent again within the reuse interval gets this
    token back; the database alone cannot open it.
    """

    session = models.ForeignKey(
        AuthSession, on_delete=models.CASCADE, related_name="refresh_tokens"
    )
    token_hash = models.CharField(max_length=64, unique=True)
    parent = models.OneToOneField(
        "self",
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="child",
        help_text="The token this one replaced (none for a sign-in's first).",
    )
    sealed = models.CharField(max_length=128, blank=True, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    used_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["session"],
                condition=models.Q(used_at__isnull=True),
                name="refreshtoken_one_current_per_session",
            )
        ]

    def __str__(self) -> str:
        return f"refresh token of {self.session_id}"


class LoginFailure(models.Model):
    """A failed password sign-in, for the throttle (``tenants.throttle``): by
    email and address, by address, by email."""

    email = models.CharField(max_length=254)
    ip = models.GenericIPAddressField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        indexes = [
            models.Index(Lower("email"), "created_at", name="loginfailure_email_time"),
            models.Index(fields=["ip", "created_at"], name="loginfailure_ip_time"),
        ]

    def __str__(self) -> str:
        return f"{self.email} from {self.ip} at {self.created_at:%Y-%m-%d %H:%M:%S}"


class SignInAddress(models.Model):
    """A client address a user signed in from successfully (either sign-in).

    The sign-in throttle does not hold a user back at such an address when
    failures from elsewhere pile up on their email (``tenants.throttle``)."""

    user = models.ForeignKey(
        User, on_delete=models.CASCADE, related_name="sign_in_addresses"
    )
    ip = models.GenericIPAddressField()
    first_at = models.DateTimeField(default=timezone.now)
    last_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["user", "ip"], name="signinaddress_user_ip_unique"
            )
        ]
        ordering = ["-last_at"]

    def __str__(self) -> str:
        return f"{self.user} from {self.ip}"


class AdminLogTenant(models.Model):
    """The tenant whose object an admin log entry is about.

    Django's ``LogEntry`` (public) names an object by content type and id only,
    which is ambiguous across tenant schemas (entry 5 of A, entry 5 of B); the
    admin's history of a tenant object shows only entries linked to its tenant.
    """

    log_entry = models.OneToOneField(
        "admin.LogEntry",
        on_delete=models.CASCADE,
        primary_key=True,
        related_name="tenant_link",
    )
    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="+")

    def __str__(self) -> str:
        return f"log entry {self.log_entry_id} in {self.tenant_id}"
