"""Replay caches — 防重放缓存: each 亮证 token is accepted once.

A ``PresentationVerifier`` claims a token's ``jti`` (CWT ``cti``) only after every other check
passed, with ``expires_at`` = the token's ``exp`` + the verifier's clock skew: once that moment
has passed, the verifier rejects the token as expired anyway, so the entry may be forgotten.

Two implementations:

- :class:`MemoryReplayCache` — one process, thread-safe, bounded.
- :class:`SQLiteReplayCache` — a SQLite file (WAL mode) shared by threads, processes and
  verifier instances on one host; the primary key makes the first ``INSERT`` win.

Failing closed: a cache that cannot record a claim (full, locked beyond its timeout, disk
error) raises :class:`ReplayCacheError` rather than answer True; the verifier then reports
"cannot tell" (``token_replay_unchecked``), never "ok". Another backend (e.g. PostgreSQL
behind the service) implements the same two methods and raises the same error.

Clocks: a cache forgets an entry only when its own clock (or the ``now`` passed to
``purge``) is past the entry's ``expires_at``. Give it the verifier's clock; caches shared
by several hosts need clocks that agree within the verifier's skew.
"""

from __future__ import annotations

import contextlib
import heapq
import sqlite3
import threading
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import TracebackType
from typing import Final, Protocol, runtime_checkable

from ezhengzhao.clock import system_clock
from ezhengzhao.errors import ConfigurationError, ReplayCacheError, ReplayCacheFullError

__all__ = [
    "DEFAULT_MAX_ENTRIES",
    "MemoryReplayCache",
    "ReplayCache",
    "ReplayCacheError",
    "ReplayCacheFullError",
    "SQLiteReplayCache",
]

#: Entries live for at most max_lifetime + skew (330 s by default): a million entries hold
#: ~3,000 tokens a second, more than one core can verify SM2 signatures.
DEFAULT_MAX_ENTRIES: Final = 1_000_000

#: Longest jti accepted; tokens carry 16 bytes.
_MAX_JTI: Final = 64

_EPOCH: Final = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND: Final = timedelta(microseconds=1)


@runtime_checkable
class ReplayCache(Protocol):
    """Records token ids (jti) so that each token is accepted once — 防重放.

    ``claim`` must be atomic: of any number of concurrent claims of one jti, exactly one
    returns True. It raises :class:`ReplayCacheError` when it cannot decide (fail closed).
    """

    def claim(self, jti: bytes, expires_at: datetime) -> bool:
        """Record ``jti`` until ``expires_at``; True on first use, False if already recorded."""
        ...

    def purge(self, now: datetime) -> int:
        """Forget entries whose ``expires_at`` is before ``now``; return how many."""
        ...


def _check_jti(jti: object) -> bytes:
    if not isinstance(jti, bytes | bytearray | memoryview):
        raise TypeError("jti must be bytes")
    jti = bytes(jti)
    if not 0 < len(jti) <= _MAX_JTI:
        raise ValueError(f"jti must be 1 to {_MAX_JTI} bytes, not {len(jti)}")
    return jti


def _micros(moment: object, what: str) -> int:
    """An aware datetime as integer microseconds since the Unix epoch (exact, comparable)."""
    if not isinstance(moment, datetime):
        raise TypeError(f"{what} must be a datetime")
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"{what} must be timezone-aware (naive datetimes are ambiguous)")
    return (moment - _EPOCH) // _MICROSECOND


class MemoryReplayCache:
    """A replay cache in this process's memory; thread-safe and bounded.

    Every claim first forgets the entries that expired by ``clock`` (a heap keeps that cheap).
    When ``max_entries`` unexpired entries are held, a new claim raises
    :class:`ReplayCacheFullError` instead of evicting one: evicting would let that token be
    replayed, and answering False would call an unused token "replayed". A repeated jti is
    still answered False when the cache is full.
    """

    __slots__ = ("_clock", "_entries", "_heap", "_lock", "_max_entries")

    def __init__(
        self,
        max_entries: int = DEFAULT_MAX_ENTRIES,
        *,
        clock: Callable[[], datetime] = system_clock,
    ) -> None:
        if not isinstance(max_entries, int) or isinstance(max_entries, bool) or max_entries < 1:
            raise ConfigurationError("max_entries must be a positive integer")
        self._max_entries = max_entries
        self._clock = clock
        self._entries: dict[bytes, int] = {}
        self._heap: list[tuple[int, bytes]] = []
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._entries)

    def claim(self, jti: bytes, expires_at: datetime) -> bool:
        """Record ``jti`` until ``expires_at``; True on first use, False if already recorded."""
        key = _check_jti(jti)
        expiry = _micros(expires_at, "expires_at")
        now = _micros(self._clock(), "the cache's clock")
        with self._lock:
            self._purge_locked(now)
            if key in self._entries:
                return False
            if len(self._entries) >= self._max_entries:
                raise ReplayCacheFullError(
                    f"the replay cache holds {self._max_entries} unexpired token ids"
                )
            self._entries[key] = expiry
            heapq.heappush(self._heap, (expiry, key))
            return True

    def purge(self, now: datetime) -> int:
        """Forget entries whose ``expires_at`` is before ``now``; return how many."""
        moment = _micros(now, "now")
        with self._lock:
            return self._purge_locked(moment)

    def _purge_locked(self, now: int) -> int:
        # A jti is in the heap exactly once while it is in the dict (a claim never re-adds a
        # held jti), so popping the heap in expiry order keeps both in step.
        removed = 0
        heap = self._heap
        while heap and heap[0][0] < now:
            _, key = heapq.heappop(heap)
            del self._entries[key]
            removed += 1
        return removed


_SCHEMA: Final = """
CREATE TABLE IF NOT EXISTS ezz_replay (
    jti BLOB PRIMARY KEY NOT NULL,
    expires_us INTEGER NOT NULL
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS ezz_replay_expiry ON ezz_replay (expires_us);
"""


def _reopen(
    path: str, clock: Callable[[], datetime], timeout: float, purge_every: int
) -> SQLiteReplayCache:
    return SQLiteReplayCache(path, clock=clock, timeout=timeout, purge_every=purge_every)


class SQLiteReplayCache:
    """A replay cache in a SQLite file, shared by threads, processes and verifier instances.

    Table ``ezz_replay(jti BLOB PRIMARY KEY, expires_us INTEGER)``; a claim is one
    ``INSERT`` in its own transaction, and the primary key makes it fail for a jti already
    present: that failure is the replay. The database runs in WAL mode with
    ``synchronous=FULL``, so an accepted claim survives a crash or power loss; writers wait up
    to ``timeout`` seconds for the lock, then :class:`ReplayCacheError` is raised. Every
    ``purge_every`` claims, rows expired by ``clock`` are deleted; call ``purge`` to do it
    on a schedule instead.

    Use a local file system: SQLite's locking is unreliable on network shares (and WAL needs
    shared memory), so a database that will not enter WAL mode is refused. One instance may be
    used by many threads; in another process open the same path (instances pickle by path).
    """

    __slots__ = ("_claims", "_clock", "_conn", "_lock", "_path", "_purge_every", "_timeout")

    def __init__(
        self,
        path: str | Path,
        *,
        clock: Callable[[], datetime] = system_clock,
        timeout: float = 5.0,
        purge_every: int = 1000,
    ) -> None:
        if not isinstance(path, str | Path):
            raise ConfigurationError("path must be a str or a Path")
        if purge_every < 1:
            raise ConfigurationError("purge_every must be at least 1")
        self._path = str(path)
        self._clock = clock
        self._timeout = float(timeout)
        self._purge_every = purge_every
        self._claims = 0
        self._lock = threading.Lock()
        try:
            # Autocommit (isolation_level=None): each statement is its own transaction, so an
            # INSERT is atomic and visible to other connections as soon as it returns.
            conn = sqlite3.connect(
                self._path, timeout=self._timeout, isolation_level=None, check_same_thread=False
            )
        except sqlite3.Error as exc:
            raise ConfigurationError(f"cannot open the replay cache {self._path}: {exc}") from exc
        try:
            conn.execute(f"PRAGMA busy_timeout = {int(self._timeout * 1000)}")
            mode = conn.execute("PRAGMA journal_mode = WAL").fetchone()[0]
            if str(mode).lower() != "wal" and self._path != ":memory:":
                raise ConfigurationError(
                    f"the replay cache {self._path} cannot use WAL mode (journal_mode={mode})"
                )
            conn.execute("PRAGMA synchronous = FULL")
            conn.executescript(_SCHEMA)
        except sqlite3.Error as exc:
            conn.close()
            raise ConfigurationError(f"cannot set up the replay cache {self._path}: {exc}") from exc
        except BaseException:
            conn.close()
            raise
        self._conn = conn

    @property
    def path(self) -> str:
        return self._path

    def claim(self, jti: bytes, expires_at: datetime) -> bool:
        """Record ``jti`` until ``expires_at``; True on first use, False if already recorded."""
        key = _check_jti(jti)
        expiry = _micros(expires_at, "expires_at")
        with self._lock:
            self._claims += 1
            due = self._claims % self._purge_every == 0
            try:
                self._conn.execute(
                    "INSERT INTO ezz_replay (jti, expires_us) VALUES (?, ?)", (key, expiry)
                )
            except sqlite3.IntegrityError:
                return False
            except sqlite3.Error as exc:
                raise ReplayCacheError(f"the replay cache cannot record the token: {exc}") from exc
        if due:
            # Housekeeping only: the claim is already recorded, so a failure here is no reason
            # to refuse the token.
            with contextlib.suppress(ReplayCacheError, ValueError, TypeError):
                self.purge(self._clock())
        return True

    def purge(self, now: datetime) -> int:
        """Delete rows whose ``expires_at`` is before ``now``; return how many."""
        moment = _micros(now, "now")
        with self._lock:
            try:
                cursor = self._conn.execute(
                    "DELETE FROM ezz_replay WHERE expires_us < ?", (moment,)
                )
            except sqlite3.Error as exc:
                raise ReplayCacheError(f"the replay cache cannot purge: {exc}") from exc
            return cursor.rowcount

    def __len__(self) -> int:
        with self._lock:
            row = self._conn.execute("SELECT count(*) FROM ezz_replay").fetchone()
        return int(row[0])

    def close(self) -> None:
        """Close the database connection."""
        with self._lock:
            self._conn.close()

    def __enter__(self) -> SQLiteReplayCache:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    def __reduce__(self) -> tuple[object, tuple[str, Callable[[], datetime], float, int]]:
        # A connection cannot cross processes; the other process opens the same file.
        return _reopen, (self._path, self._clock, self._timeout, self._purge_every)
