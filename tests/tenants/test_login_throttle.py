"""The sign-in throttle through both sign-ins (/auth/v1/token and /login/),
from several client addresses: guessing is slowed, and nobody can lock a user
out from elsewhere."""

import json
from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from tenants.models import LoginFailure, SignInAddress
from tests.factories import PASSWORD, member_make

pytestmark = pytest.mark.django_db

HOME = "198.51.100.10"  # where the user signs in from
ATTACKER = "203.0.113.66"


def api_sign_in(api_key: str, email: str, password: str, ip: str):
    return Client().post(
        "/auth/v1/token?grant_type=password",
        data=json.dumps({"email": email, "password": password}),
        content_type="application/json",
        headers={"apikey": api_key},
        REMOTE_ADDR=ip,
    )


def browser_sign_in(email: str, password: str, ip: str):
    return Client().post(
        "/login/", {"email": email, "password": password}, REMOTE_ADDR=ip
    )


def backdate_failures(seconds: float) -> None:
    for failure in LoginFailure.objects.all():
        failure.created_at -= timedelta(seconds=seconds)
        failure.save()


@pytest.fixture
def user(tenant_a):
    user = member_make(tenant_a.tenant)
    assert api_sign_in(tenant_a.api_key, user.email, PASSWORD, HOME).status_code == 200
    return user


def test_an_attacker_from_another_address_cannot_lock_the_user_out(
    tenant_a, user, settings
):
    for _ in range(settings.LOGIN_THROTTLE_MAX_FAILURES):
        response = api_sign_in(tenant_a.api_key, user.email, "guess", ATTACKER)
        assert response.status_code == 400
    for _ in range(3):
        response = api_sign_in(tenant_a.api_key, user.email, "guess", ATTACKER)
        assert response.status_code == 429
        assert response.json()["code"] == "over_request_rate_limit"
    # Even the right password is refused there: the guesser learns nothing.
    refused = api_sign_in(tenant_a.api_key, user.email, PASSWORD, ATTACKER)
    assert refused.status_code == 429
    assert 0 < int(refused["Retry-After"]) <= 900
    # The user, from where they sign in, is not held back, in either sign-in.
    home = api_sign_in(tenant_a.api_key, user.email, PASSWORD, HOME)
    assert home.status_code == 200
    browser = browser_sign_in(user.email, PASSWORD, HOME)
    assert browser.status_code == 302
    # A typo at home is a typo, not a lockout.
    typo = api_sign_in(tenant_a.api_key, user.email, "typo", HOME)
    assert typo.status_code == 400
    assert typo.json()["code"] == "invalid_credentials"


def retry_after(response) -> int:
    assert response.status_code == 429, response.content
    return int(response["Retry-After"])


def test_guessing_from_many_addresses_is_slowed(tenant_a, user, settings):
    limit = settings.LOGIN_THROTTLE_MAX_FAILURES
    addresses = iter(f"192.0.2.{n}" for n in range(1, 250))
    for _ in range(limit):  # one guess from each address, each counted
        response = api_sign_in(tenant_a.api_key, user.email, "g", next(addresses))
        assert response.status_code == 400
    assert LoginFailure.objects.filter(email=user.email).count() == limit
    # Two more (the back-off is 1 s, then 2 s; a slow machine may wait those
    # out between two requests): 4 s after the last failure.
    LoginFailure.objects.bulk_create(
        LoginFailure(email=user.email, ip=next(addresses)) for _ in range(2)
    )
    # The next guess from a new address waits, even with the right password.
    new = next(addresses)
    refused = api_sign_in(tenant_a.api_key, user.email, PASSWORD, new)
    assert retry_after(refused) in {3, 4}
    assert browser_sign_in(user.email, PASSWORD, new).status_code == 400
    # Refused attempts are not counted; once the wait is over, one more guess,
    # and the wait doubles with each failure.
    for expected in (8, 16, 32, 64):
        backdate_failures(120)
        response = api_sign_in(tenant_a.api_key, user.email, "g", next(addresses))
        assert response.status_code == 400
        response = api_sign_in(tenant_a.api_key, user.email, "g", next(addresses))
        assert retry_after(response) in {expected - 1, expected}
    assert LoginFailure.objects.filter(email=user.email).count() == limit + 2 + 4
    # Meanwhile the user signs in from home.
    home = api_sign_in(tenant_a.api_key, user.email, PASSWORD, HOME)
    assert home.status_code == 200


def test_a_new_address_of_the_user_waits_like_any_other_during_guessing(
    tenant_a, user, settings
):
    """The trade-off: during guessing from many addresses, an address the user
    never signed in from gets the back-off too (seconds, at most
    LOGIN_THROTTLE_BACKOFF_MAX), never the lockout."""
    LoginFailure.objects.bulk_create(
        LoginFailure(email=user.email, ip=f"192.0.2.{n}")
        for n in range(settings.LOGIN_THROTTLE_MAX_FAILURES + 3)
    )
    travelling = "100.64.0.1"
    refused = api_sign_in(tenant_a.api_key, user.email, PASSWORD, travelling)
    assert retry_after(refused) in {7, 8}
    backdate_failures(8)
    response = api_sign_in(tenant_a.api_key, user.email, PASSWORD, travelling)
    assert response.status_code == 200
    # Now it is an address the user signs in from: guessing goes on elsewhere,
    # and the user is not held back there.
    assert SignInAddress.objects.filter(user=user, ip=travelling).exists()
    guess = api_sign_in(tenant_a.api_key, user.email, "g", "192.0.2.200")
    assert guess.status_code == 400
    elsewhere = api_sign_in(tenant_a.api_key, user.email, PASSWORD, "192.0.2.201")
    assert elsewhere.status_code == 429
    again = api_sign_in(tenant_a.api_key, user.email, PASSWORD, travelling)
    assert again.status_code == 200


def test_one_address_trying_many_emails_is_refused(tenant_a, settings):
    settings.LOGIN_THROTTLE_MAX_FAILURES = 2
    for n in range(8):  # 4 times the maximum, each email failed once
        response = api_sign_in(tenant_a.api_key, f"u{n}@example.com", "g", ATTACKER)
        assert response.status_code == 400
    victim = member_make(tenant_a.tenant)
    response = api_sign_in(tenant_a.api_key, victim.email, PASSWORD, ATTACKER)
    assert response.status_code == 429
    assert (
        api_sign_in(tenant_a.api_key, victim.email, PASSWORD, HOME).status_code == 200
    )


def test_both_sign_ins_share_one_count(tenant_a, user, settings):
    settings.LOGIN_THROTTLE_MAX_FAILURES = 4
    for _ in range(2):
        assert browser_sign_in(user.email, "g", ATTACKER).status_code == 400
        assert (
            api_sign_in(tenant_a.api_key, user.email, "g", ATTACKER).status_code == 400
        )
    assert (
        api_sign_in(tenant_a.api_key, user.email, PASSWORD, ATTACKER).status_code == 429
    )
    refused = browser_sign_in(user.email, PASSWORD, ATTACKER)
    assert refused.status_code == 400
    assert b"Too many failed sign-in attempts" in refused.content


def test_success_clears_only_its_own_addresss_failures(tenant_a, user, settings):
    limit = settings.LOGIN_THROTTLE_MAX_FAILURES
    guesses = limit + 3  # from as many addresses: a back-off of 8 s
    LoginFailure.objects.bulk_create(
        LoginFailure(email=user.email, ip=f"192.0.2.{n}") for n in range(guesses)
    )
    for _ in range(limit - 1):
        typo = api_sign_in(tenant_a.api_key, user.email, "typo", HOME)
        assert typo.status_code == 400
    assert api_sign_in(tenant_a.api_key, user.email, PASSWORD, HOME).status_code == 200
    assert not LoginFailure.objects.filter(ip=HOME).exists()
    assert LoginFailure.objects.filter(email=user.email).count() == guesses
    # The guessing still holds back unknown addresses.
    assert (
        api_sign_in(tenant_a.api_key, user.email, "g", "192.0.2.99").status_code == 429
    )


def test_an_unknown_email_is_answered_like_a_known_one(tenant_a, user, settings):
    answers = {}
    for email in (user.email, "nobody@example.com"):
        answers[email] = [
            api_sign_in(tenant_a.api_key, email, "g", ATTACKER).status_code
            for _ in range(settings.LOGIN_THROTTLE_MAX_FAILURES + 1)
        ]
    assert answers[user.email] == answers["nobody@example.com"]
    assert answers[user.email][-1] == 429


def test_signing_in_to_another_tenant_makes_no_address_known(
    tenant_a, tenant_b, settings
):
    """A member of tenant A with the right password and tenant B's key is
    refused as a wrong password is, counted, and gains nothing."""
    user = member_make(tenant_a.tenant, email="only-a@example.com")
    response = api_sign_in(tenant_b.api_key, user.email, PASSWORD, HOME)
    assert response.status_code == 400
    assert response.json()["code"] == "invalid_credentials"
    assert not SignInAddress.objects.filter(user=user).exists()
    assert LoginFailure.objects.filter(email=user.email, ip=HOME).count() == 1


def test_old_failures_are_forgotten(tenant_a, user, settings):
    for n in range(3):
        api_sign_in(tenant_a.api_key, user.email, "g", f"192.0.2.{n}")
    backdate_failures(settings.LOGIN_THROTTLE_EMAIL_WINDOW.total_seconds() + 1)
    api_sign_in(tenant_a.api_key, user.email, "g", ATTACKER)
    assert list(LoginFailure.objects.values_list("ip", flat=True)) == [ATTACKER]
    assert timezone.now() - LoginFailure.objects.get().created_at < timedelta(minutes=1)
