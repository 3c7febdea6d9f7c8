"""The rules of tenants.tokens, without a database: the refresh token reuse
interval and the sealing of a child token with its parent."""

from datetime import UTC, datetime, timedelta

import pytest

from tenants.tokens import (
    refresh_reuse_allowed,
    refresh_token_generate,
    refresh_token_open,
    refresh_token_seal,
)

USED = datetime(2026, 11, 1, 12, 0, tzinfo=UTC)
TEN = timedelta(seconds=10)


@pytest.mark.parametrize(
    ("elapsed", "allowed"),
    [
        (timedelta(0), True),
        (timedelta(milliseconds=300), True),
        (TEN, True),
        (TEN + timedelta(microseconds=1), False),
        (timedelta(hours=1), False),
        # Another worker's clock a little behind: still the same refresh.
        (-timedelta(seconds=1), True),
    ],
)
def test_reuse_is_allowed_within_the_interval_of_the_first_use(elapsed, allowed):
    assert (
        refresh_reuse_allowed(used_at=USED, now=USED + elapsed, interval=TEN) is allowed
    )


def test_an_interval_of_zero_allows_no_reuse():
    assert not refresh_reuse_allowed(used_at=USED, now=USED, interval=timedelta(0))


def test_a_sealed_child_opens_with_its_parent_only():
    parent, child = refresh_token_generate(), refresh_token_generate()
    sealed = refresh_token_seal(child, parent=parent)
    assert child not in sealed and parent not in sealed
    assert refresh_token_open(sealed, parent=parent) == child
    assert refresh_token_open(sealed, parent=refresh_token_generate()) != child


def test_each_parent_seals_with_its_own_key():
    child = refresh_token_generate()
    first = refresh_token_seal(child, parent=refresh_token_generate())
    second = refresh_token_seal(child, parent=refresh_token_generate())
    assert first != second


@pytest.mark.parametrize("sealed", ["", "zz", "ff" * 100])
def test_what_is_not_a_sealed_token_opens_to_nothing_usable(sealed):
    assert not refresh_token_open(sealed, parent=refresh_token_generate())
