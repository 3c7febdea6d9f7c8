"""The sign-in throttle's rule alone (tenants.throttle.sign_in_wait), without
a database: which counters refuse an attempt, and for how long."""

from datetime import UTC, datetime, timedelta

import pytest

from tenants.throttle import Policy, Tally, email_backoff, sign_in_wait

NOW = datetime(2026, 11, 1, 12, 0, tzinfo=UTC)
POLICY = Policy(
    max_failures=5,
    window=timedelta(minutes=15),
    email_window=timedelta(hours=24),
    backoff_max=timedelta(minutes=15),
)


def ago(seconds: float) -> datetime:
    return NOW - timedelta(seconds=seconds)


def wait(pair=None, address=None, email=None, known=False) -> int:
    return sign_in_wait(
        pair=pair or Tally(),
        address=address or Tally(),
        email=email or Tally(),
        known_address=known,
        now=NOW,
        policy=POLICY,
    )


def test_no_failures_no_wait():
    assert wait() == 0


def test_a_few_failures_are_not_held_back():
    four = Tally(4, ago(60), ago(1))
    assert wait(pair=four, address=four, email=four) == 0


def test_this_email_from_this_address_waits_out_the_window():
    five = Tally(5, ago(100), ago(1))
    # Refused at its own address too, known or not: that is the guesser's.
    assert wait(pair=five, address=five, email=five, known=True) == 900 - 100


def test_an_address_trying_many_emails_is_refused_after_four_times_as_many():
    assert wait(address=Tally(19, ago(10), ago(1))) == 0
    assert wait(address=Tally(20, ago(10), ago(1))) == 890


@pytest.mark.parametrize(
    ("failures", "seconds"),
    [(4, 0), (5, 1), (6, 2), (7, 4), (10, 32), (14, 512), (15, 900), (99, 900)],
)
def test_the_email_back_off_doubles_up_to_its_maximum(failures, seconds):
    assert email_backoff(failures, POLICY) == timedelta(seconds=seconds)


def test_failures_of_an_email_from_many_addresses_hold_back_unknown_addresses():
    email = Tally(8, ago(3600), ago(3))  # 8 failures: wait 8 s after the last
    assert wait(email=email) == 5
    assert wait(email=email, known=True) == 0
    assert wait(email=Tally(8, ago(3600), ago(8))) == 0


def test_the_longest_wait_of_the_counters_is_answered():
    assert (
        wait(
            pair=Tally(5, ago(800), ago(5)),
            email=Tally(15, ago(3600), ago(5)),
        )
        == 895
    )
