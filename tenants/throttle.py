"""The sign-in throttle of both sign-ins (``/login/`` and ``/auth/v1/token``).

It must slow password guessing without letting anyone lock a user out (OWASP
Authentication Cheat Sheet, "Protect Against Automated Attacks": count failures
against the account, not only the address, and take care that the lockout
cannot be used to deny others service). Three counters, of failed attempts only:

- **this email from this address**: after ``LOGIN_THROTTLE_MAX_FAILURES``
  failures within ``LOGIN_THROTTLE_WINDOW``, that address may not try that email
  again until the window has passed, whatever the password. Someone guessing
  from one address gets 5 guesses per 15 minutes, and blocks only themselves.
- **this address, any email**: 4 times the maximum within the window (offices share
  an address), against one address trying many accounts.
- **this email, any address** (guessing from many addresses): from the maximum
  on, within ``LOGIN_THROTTLE_EMAIL_WINDOW``, each further attempt waits
  2^(failures - maximum) seconds after the last failure, at most
  ``LOGIN_THROTTLE_BACKOFF_MAX``. An address the user has signed in from
  successfully (in the last ``KNOWN_ADDRESS_DAYS``) is not held back by this
  one: a correct password from there still passes, so failures from elsewhere
  cannot lock the user out.

A refused attempt is not checked and not counted. A successful sign-in clears
the failures of its own address for that email (the user's typos), never those
from other addresses.
"""

import math
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db.models import Count, Max, Min
from django.db.models.functions import Lower
from django.utils import timezone

from tenants.models import LoginFailure, SignInAddress, User

KNOWN_ADDRESS_DAYS = 30
ADDRESS_FACTOR = 4


@dataclass(frozen=True)
class Policy:
    max_failures: int
    window: timedelta
    email_window: timedelta
    backoff_max: timedelta

    @classmethod
    def from_settings(cls) -> "Policy":
        return cls(
            max_failures=settings.LOGIN_THROTTLE_MAX_FAILURES,
            window=settings.LOGIN_THROTTLE_WINDOW,
            email_window=settings.LOGIN_THROTTLE_EMAIL_WINDOW,
            backoff_max=settings.LOGIN_THROTTLE_BACKOFF_MAX,
        )


@dataclass(frozen=True)
class Tally:
    """Failures of one counter within its window: how many, first and last."""

    count: int = 0
    first: datetime | None = None
    last: datetime | None = None


def email_backoff(failures: int, policy: Policy) -> timedelta:
    """How long after its last failure an email may be tried again from an
    address it is not known at: nothing below the maximum, then 1 s, 2 s, 4 s…
    doubling with each failure, at most ``backoff_max``."""
    if failures < policy.max_failures:
        return timedelta(0)
    exponent = min(failures - policy.max_failures, 40)
    return min(timedelta(seconds=2**exponent), policy.backoff_max)


def sign_in_wait(
    *,
    pair: Tally,
    address: Tally,
    email: Tally,
    known_address: bool,
    now: datetime,
    policy: Policy,
) -> int:
    """Seconds before this attempt may be checked (0: check it now).

    ``pair`` counts this email from this address and ``address`` this address
    with any email, within ``policy.window``; ``email`` this email from any
    address, within ``policy.email_window``."""
    waits = [timedelta(0)]
    if pair.count >= policy.max_failures and pair.first is not None:
        waits.append(pair.first + policy.window - now)
    limit = policy.max_failures * ADDRESS_FACTOR
    if address.count >= limit and address.first is not None:
        waits.append(address.first + policy.window - now)
    if not known_address and email.last is not None:
        waits.append(email.last + email_backoff(email.count, policy) - now)
    wait = max(waits)
    return math.ceil(wait.total_seconds()) if wait > timedelta(0) else 0


def _tally(failures) -> Tally:
    found = failures.aggregate(
        count=Count("id"), first=Min("created_at"), last=Max("created_at")
    )
    return Tally(**found)


def _by_email(failures, email: str):
    return failures.annotate(lower_email=Lower("email")).filter(lower_email=email)


def _by_address(failures, ip: str | None):
    return failures.filter(ip=ip) if ip else failures.filter(ip__isnull=True)


def is_known_address(*, email: str, ip: str | None, now: datetime) -> bool:
    """Whether the user with ``email`` signed in successfully from ``ip``
    lately (False for an unknown email or address)."""
    if not ip:
        return False
    since = now - timedelta(days=KNOWN_ADDRESS_DAYS)
    return SignInAddress.objects.filter(
        user__email=email, ip=ip, last_at__gte=since
    ).exists()


def login_wait(*, email: str, ip: str | None) -> int:
    """Seconds before a sign-in as ``email`` from ``ip`` may be checked."""
    policy = Policy.from_settings()
    now = timezone.now()
    recent = LoginFailure.objects.filter(created_at__gte=now - policy.window)
    email_recent = LoginFailure.objects.filter(
        created_at__gte=now - policy.email_window
    )
    return sign_in_wait(
        pair=_tally(_by_address(_by_email(recent, email), ip)),
        address=_tally(_by_address(recent, ip)) if ip else Tally(),
        email=_tally(_by_email(email_recent, email)),
        known_address=is_known_address(email=email, ip=ip, now=now),
        now=now,
        policy=policy,
    )


def login_failed(*, email: str, ip: str | None) -> None:
    """Count a failed sign-in; forget failures older than every window."""
    now = timezone.now()
    policy = Policy.from_settings()
    LoginFailure.objects.create(email=email, ip=ip)
    oldest = now - max(policy.window, policy.email_window)
    LoginFailure.objects.filter(created_at__lt=oldest).delete()


def login_succeeded(*, user: User, email: str, ip: str | None) -> None:
    """Clear this address's failures for ``email``; remember the address as
    one the user signs in from."""
    now = timezone.now()
    _by_address(_by_email(LoginFailure.objects.all(), email), ip).delete()
    if not ip:
        return
    SignInAddress.objects.bulk_create(
        [SignInAddress(user=user, ip=ip, first_at=now, last_at=now)],
        update_conflicts=True,
        unique_fields=["user", "ip"],
        update_fields=["last_at"],
    )
    since = now - timedelta(days=KNOWN_ADDRESS_DAYS)
    SignInAddress.objects.filter(user=user, last_at__lt=since).delete()
