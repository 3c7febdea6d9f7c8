"""API and tracking keys: random, hashed, several active, revocable by prefix."""

import pytest

from core.errors import ApplicationError
from tenants.models import KeyKind, TenantKey, hash_secret
from tenants.selectors import tenant_key_resolve
from tenants.services import key_issue, key_revoke

pytestmark = pytest.mark.django_db


def test_keys_are_random_and_only_their_hash_is_stored(tenant_a):
    key, raw = key_issue(tenant=tenant_a.tenant, kind=KeyKind.API)
    _, other = key_issue(tenant=tenant_a.tenant, kind=KeyKind.API)
    assert raw != other
    assert len(raw) == 46 and raw.startswith("gg_sk_") and raw[6:].isalnum()
    stored = TenantKey.objects.get(pk=key.pk)
    assert stored.key_hash == hash_secret(raw)
    assert raw not in {stored.key_hash, stored.prefix, stored.label}
    assert raw.startswith(stored.prefix)


def test_several_keys_are_active_at_once(tenant_a):
    _, first = key_issue(tenant=tenant_a.tenant, kind=KeyKind.API)
    _, second = key_issue(tenant=tenant_a.tenant, kind=KeyKind.API)
    for raw in (first, second, tenant_a.api_key):
        assert tenant_key_resolve(raw_key=raw, kinds=(KeyKind.API,)).tenant == (
            tenant_a.tenant
        )


def test_kinds_do_not_mix(tenant_a):
    assert (
        tenant_key_resolve(raw_key=tenant_a.tracking_key, kinds=(KeyKind.API,)) is None
    )
    assert (
        tenant_key_resolve(raw_key=tenant_a.api_key, kinds=(KeyKind.TRACKING,)) is None
    )
    both = (KeyKind.API, KeyKind.TRACKING)
    assert tenant_key_resolve(raw_key=tenant_a.tracking_key, kinds=both) is not None


def test_revoke_by_prefix_or_whole_key(tenant_a):
    key, raw = key_issue(tenant=tenant_a.tenant, kind=KeyKind.TRACKING)
    key_revoke(prefix=key.prefix)
    assert tenant_key_resolve(raw_key=raw, kinds=(KeyKind.TRACKING,)) is None
    _, raw2 = key_issue(tenant=tenant_a.tenant, kind=KeyKind.TRACKING)
    key_revoke(prefix=raw2)
    assert tenant_key_resolve(raw_key=raw2, kinds=(KeyKind.TRACKING,)) is None


@pytest.mark.parametrize("prefix", ["gg_sk", "gg_sk_zzzzzzzz", "nothing-like-it"])
def test_revoke_unknown_or_too_short_prefix_is_an_error(tenant_a, prefix):
    with pytest.raises(ApplicationError):
        key_revoke(prefix=prefix)


def test_revoke_ambiguous_prefix_is_an_error_and_revokes_nothing(tenant_a):
    for suffix in ("1111", "2222"):
        TenantKey.objects.create(
            tenant=tenant_a.tenant,
            kind=KeyKind.API,
            prefix=f"gg_sk_AAAA{suffix}",
            key_hash=suffix * 16,
        )
    with pytest.raises(ApplicationError, match="Several keys"):
        key_revoke(prefix="gg_sk_AAAA")
    assert not TenantKey.objects.filter(revoked_at__isnull=False).exists()
