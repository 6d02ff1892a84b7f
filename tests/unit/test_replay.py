"""Replay caches: first claim wins, entries live until their expiry, failures fail closed."""

from __future__ import annotations

import multiprocessing
import pickle
import sqlite3
import threading
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from ezhengzhao.errors import ConfigurationError
from ezhengzhao.replay import (
    MemoryReplayCache,
    ReplayCache,
    ReplayCacheError,
    ReplayCacheFullError,
    SQLiteReplayCache,
)

T0 = datetime(2026, 6, 1, 8, 0, 0, tzinfo=UTC)


class MovableClock:
    """A clock the test moves by hand."""

    def __init__(self, now: datetime = T0) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


def jti(n: int) -> bytes:
    return n.to_bytes(16, "big")


# -- both implementations ---------------------------------------------------------------------


@pytest.fixture(params=["memory", "sqlite"])
def make_cache(
    request: pytest.FixtureRequest, tmp_path: Path
) -> Iterator[Callable[..., ReplayCache]]:
    opened: list[SQLiteReplayCache] = []

    def make(clock: Callable[[], datetime] | None = None) -> ReplayCache:
        clock = clock or MovableClock()
        if request.param == "memory":
            return MemoryReplayCache(100, clock=clock)
        cache = SQLiteReplayCache(tmp_path / "replay.sqlite3", clock=clock)
        opened.append(cache)
        return cache

    yield make
    for cache in opened:
        cache.close()


def test_first_claim_wins(make_cache: Callable[..., ReplayCache]) -> None:
    cache = make_cache()
    assert isinstance(cache, ReplayCache)
    until = T0 + timedelta(seconds=90)
    assert cache.claim(jti(1), until) is True
    assert cache.claim(jti(1), until) is False
    assert cache.claim(jti(1), until + timedelta(hours=1)) is False
    assert cache.claim(jti(2), until) is True


def test_entry_lives_until_its_expiry(make_cache: Callable[..., ReplayCache]) -> None:
    clock = MovableClock()
    cache = make_cache(clock)
    until = T0 + timedelta(seconds=90)
    assert cache.claim(jti(1), until)
    assert cache.purge(until) == 0  # still held at exactly expires_at
    assert cache.claim(jti(1), until) is False
    assert cache.purge(until + timedelta(microseconds=1)) == 1
    # Forgotten: the verifier refuses such a token as expired before it reaches the cache.
    assert cache.claim(jti(1), until + timedelta(seconds=90)) is True


def test_purge_keeps_unexpired(make_cache: Callable[..., ReplayCache]) -> None:
    cache = make_cache()
    for i in range(10):
        assert cache.claim(jti(i), T0 + timedelta(seconds=i))
    assert cache.purge(T0 + timedelta(seconds=5)) == 5  # 0..4 are before 5 s
    for i in range(5, 10):
        assert cache.claim(jti(i), T0 + timedelta(seconds=60)) is False
    for i in range(5):
        assert cache.claim(jti(i), T0 + timedelta(seconds=60)) is True


def test_aware_times_are_compared_as_instants(make_cache: Callable[..., ReplayCache]) -> None:
    from ezhengzhao.verify import CHINA_STANDARD_TIME

    cache = make_cache()
    assert cache.claim(jti(1), T0.astimezone(CHINA_STANDARD_TIME))
    assert cache.purge(T0) == 0
    assert cache.purge(T0 + timedelta(seconds=1)) == 1


@pytest.mark.parametrize(
    ("key", "until", "error"),
    [
        ("abc", T0, TypeError),
        (b"", T0, ValueError),
        (b"x" * 65, T0, ValueError),
        (jti(1), T0.replace(tzinfo=None), ValueError),
        (jti(1), "2026-06-01", TypeError),
    ],
)
def test_bad_arguments_raise(
    make_cache: Callable[..., ReplayCache], key: object, until: object, error: type[Exception]
) -> None:
    cache = make_cache()
    with pytest.raises(error):
        cache.claim(key, until)  # type: ignore[arg-type]


def test_threads_racing_on_one_jti(make_cache: Callable[..., ReplayCache]) -> None:
    cache = make_cache()
    barrier = threading.Barrier(16)
    wins: list[bool] = []
    lock = threading.Lock()

    def race() -> None:
        barrier.wait()
        won = cache.claim(jti(7), T0 + timedelta(seconds=60))
        with lock:
            wins.append(won)

    threads = [threading.Thread(target=race) for _ in range(16)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(wins) == [False] * 15 + [True]


# -- memory -----------------------------------------------------------------------------------


def test_memory_cache_full_fails_closed() -> None:
    clock = MovableClock()
    cache = MemoryReplayCache(2, clock=clock)
    assert cache.claim(jti(1), T0 + timedelta(seconds=10))
    assert cache.claim(jti(2), T0 + timedelta(seconds=20))
    with pytest.raises(ReplayCacheFullError):
        cache.claim(jti(3), T0 + timedelta(seconds=30))
    assert isinstance(ReplayCacheFullError("x"), ReplayCacheError)
    # A replay is still recognised as one when the cache is full.
    assert cache.claim(jti(1), T0 + timedelta(seconds=10)) is False
    # Once an entry expires by the cache's clock, there is room again.
    clock.now = T0 + timedelta(seconds=11)
    assert cache.claim(jti(3), T0 + timedelta(seconds=30))
    assert len(cache) == 2


def test_memory_cache_purges_on_claim() -> None:
    clock = MovableClock()
    cache = MemoryReplayCache(clock=clock)
    for i in range(100):
        cache.claim(jti(i), T0 + timedelta(seconds=i))
    clock.now = T0 + timedelta(seconds=50)
    cache.claim(jti(1000), T0 + timedelta(seconds=500))
    assert len(cache) == 51  # 50..99 and the new one


def test_memory_cache_many_threads_distinct_ids() -> None:
    cache = MemoryReplayCache(clock=MovableClock())
    until = T0 + timedelta(seconds=60)

    def claim_range(start: int) -> None:
        for i in range(start, start + 500):
            assert cache.claim(jti(i), until)

    threads = [threading.Thread(target=claim_range, args=(k * 500,)) for k in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(cache) == 4000


@pytest.mark.parametrize("size", [0, -1, True, 1.5])
def test_memory_cache_size_must_be_positive(size: object) -> None:
    with pytest.raises(ConfigurationError):
        MemoryReplayCache(size)  # type: ignore[arg-type]


# -- SQLite -----------------------------------------------------------------------------------


def test_sqlite_two_connections_share_claims(tmp_path: Path) -> None:
    path = tmp_path / "replay.sqlite3"
    with SQLiteReplayCache(path) as first, SQLiteReplayCache(str(path)) as second:
        assert first.claim(jti(1), T0)
        assert second.claim(jti(1), T0) is False
        assert second.claim(jti(2), T0)
        assert first.claim(jti(2), T0) is False
        assert len(first) == len(second) == 2


def test_sqlite_is_wal_and_persistent(tmp_path: Path) -> None:
    path = tmp_path / "replay.sqlite3"
    with SQLiteReplayCache(path) as cache:
        assert cache.claim(jti(1), T0)
    conn = sqlite3.connect(path)
    try:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        rows = conn.execute("SELECT jti, expires_us FROM ezz_replay").fetchall()
    finally:
        conn.close()
    assert rows == [(jti(1), int(T0.timestamp()) * 1_000_000)]
    with SQLiteReplayCache(path) as reopened:
        assert reopened.claim(jti(1), T0) is False


def test_sqlite_purges_every_n_claims(tmp_path: Path) -> None:
    clock = MovableClock()
    with SQLiteReplayCache(tmp_path / "r.sqlite3", clock=clock, purge_every=3) as cache:
        cache.claim(jti(1), T0)
        cache.claim(jti(2), T0 + timedelta(seconds=100))
        clock.now = T0 + timedelta(seconds=1)
        assert len(cache) == 2
        cache.claim(jti(3), T0 + timedelta(seconds=100))  # third claim: purge runs
        assert len(cache) == 2
        assert cache.claim(jti(2), T0) is False


def test_sqlite_locked_database_fails_closed(tmp_path: Path) -> None:
    path = tmp_path / "replay.sqlite3"
    with SQLiteReplayCache(path, timeout=0.1) as cache:
        blocker = sqlite3.connect(path, isolation_level=None)
        try:
            blocker.execute("BEGIN EXCLUSIVE")
            with pytest.raises(ReplayCacheError):
                cache.claim(jti(1), T0)
            blocker.execute("ROLLBACK")
        finally:
            blocker.close()
        assert cache.claim(jti(1), T0)


def test_sqlite_unusable_path_is_a_configuration_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError):
        SQLiteReplayCache(tmp_path / "missing" / "dir" / "replay.sqlite3")
    with pytest.raises(ConfigurationError):
        SQLiteReplayCache(tmp_path / "r.sqlite3", purge_every=0)


def test_sqlite_pickles_by_path(tmp_path: Path) -> None:
    path = tmp_path / "replay.sqlite3"
    with SQLiteReplayCache(path) as cache:
        assert cache.claim(jti(1), T0)
        copy = pickle.loads(pickle.dumps(cache))
        try:
            assert copy.path == str(path)
            assert copy.claim(jti(1), T0) is False
        finally:
            copy.close()


def _claim_in_process(path: str, barrier: threading.Barrier, key: bytes) -> bool:
    with SQLiteReplayCache(path) as cache:
        barrier.wait()
        return cache.claim(key, T0 + timedelta(seconds=60))


def test_sqlite_processes_racing_on_one_jti(tmp_path: Path) -> None:
    path = str(tmp_path / "replay.sqlite3")
    SQLiteReplayCache(path).close()  # create the schema before the race
    ctx = multiprocessing.get_context("spawn")
    workers = 4
    with ctx.Manager() as manager:
        barrier = manager.Barrier(workers)
        with ctx.Pool(workers) as pool:
            wins = pool.starmap(_claim_in_process, [(path, barrier, jti(9))] * workers)
    assert sorted(wins) == [False] * (workers - 1) + [True]
