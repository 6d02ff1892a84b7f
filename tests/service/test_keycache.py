"""The per-worker cache of authenticated API keys."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from verifier_service import keycache
from verifier_service.db import ApiKey
from verifier_service.keycache import KeyCache


def _key(key_id: str) -> ApiKey:
    return ApiKey(key_id, "window", None, "", datetime(2026, 1, 1, tzinfo=UTC), None)


def test_a_key_is_trusted_for_the_cache_time_only() -> None:
    clock = [0.0]
    cache = KeyCache(2.0, monotonic=lambda: clock[0])
    assert cache.get("ezzk_a_secret") is None
    cache.put("ezzk_a_secret", _key("a"), cache.now())
    clock[0] = 1.99
    assert cache.get("ezzk_a_secret") == _key("a")
    assert cache.get("ezzk_a_other") is None, "only the very secret that authenticated"
    clock[0] = 2.0
    assert cache.get("ezzk_a_secret") is None
    clock[0] = 0.0
    assert cache.get("ezzk_a_secret") is None, "an expired entry is gone, not just hidden"


def test_zero_seconds_keeps_nothing() -> None:
    cache = KeyCache(0)
    cache.put("ezzk_a_secret", _key("a"), cache.now())
    assert cache.get("ezzk_a_secret") is None
    with pytest.raises(ValueError):
        KeyCache(-1)


def test_the_secret_itself_is_never_kept() -> None:
    cache = KeyCache(60)
    secret = "ezzk_a_" + "s3cr3t" * 5
    cache.put(secret, _key("a"), cache.now())
    kept = repr(cache._entries)  # what a memory dump of the cache would show
    assert secret not in kept and "s3cr3t" not in kept


def test_the_oldest_lookups_make_room() -> None:
    cache = KeyCache(60)
    for i in range(keycache.MAX_KEYS + 10):
        cache.put(f"ezzk_{i}_x", _key(str(i)), cache.now())
    assert len(cache._entries) == keycache.MAX_KEYS
    assert cache.get("ezzk_0_x") is None and cache.get("ezzk_9_x") is None
    assert cache.get(f"ezzk_{keycache.MAX_KEYS + 9}_x") == _key(str(keycache.MAX_KEYS + 9))


def test_the_time_counts_from_the_start_of_the_lookup() -> None:
    """A lookup that read the key just before it was revoked, and answered later, does not
    stretch the time the key is trusted."""
    clock = [10.0]
    cache = KeyCache(2.0, monotonic=lambda: clock[0])
    started = cache.now()
    clock[0] = 11.5  # the database answered late
    cache.put("ezzk_a_secret", _key("a"), started)
    clock[0] = 11.99
    assert cache.get("ezzk_a_secret") == _key("a")
    clock[0] = 12.0
    assert cache.get("ezzk_a_secret") is None
