"""The replay cache on the service database — 防重放缓存, shared by every worker and host.

:class:`SqlReplayCache` implements :class:`ezhengzhao.replay.ReplayCache` on table
``ezz_replay``: a claim is one ``INSERT`` in its own committed transaction, and the primary key
on ``jti`` makes every INSERT but the first fail — that failure is the "already used" answer,
whichever process or host made the first. A claim that cannot be recorded raises
:class:`ReplayCacheError` (fail closed).
"""

from __future__ import annotations

import contextlib
import threading
from datetime import datetime
from typing import TYPE_CHECKING, Final

from sqlalchemy import delete, func, insert, select
from sqlalchemy.exc import SQLAlchemyError

from ezhengzhao.errors import ReplayCacheError

# The library's argument checks, so that both caches refuse the same inputs.
from ezhengzhao.replay import _check_jti, _micros
from verifier_service.db import tables
from verifier_service.db.common import StorageConflict, StorageError

if TYPE_CHECKING:
    from verifier_service.db.engine import Transactions

__all__ = ["SqlReplayCache"]

_PURGE_EVERY: Final = 1000


class SqlReplayCache:
    """A replay cache in the service database (SQLite or PostgreSQL)."""

    __slots__ = ("_claims", "_lock", "_purge_every", "_tx")

    def __init__(self, transactions: Transactions, *, purge_every: int = _PURGE_EVERY) -> None:
        self._tx = transactions
        self._purge_every = purge_every
        self._claims = 0
        self._lock = threading.Lock()

    def claim(self, jti: bytes, expires_at: datetime) -> bool:
        """Record ``jti`` until ``expires_at``; True on first use, False if already recorded."""
        key = _check_jti(jti)
        expiry = _micros(expires_at, "expires_at")
        try:
            with self._tx.write() as conn:
                conn.execute(insert(tables.replay).values(jti=key, expires_us=expiry))
        except StorageConflict:  # the primary key: the jti is recorded already
            return False
        except (SQLAlchemyError, StorageError) as exc:  # cannot tell: fail closed
            raise ReplayCacheError(f"the replay cache cannot record the token: {exc}") from exc
        with self._lock:
            self._claims += 1
            due = self._claims % self._purge_every == 0
        if due:
            # Housekeeping only: the claim is recorded, so a failure here refuses nothing.
            with contextlib.suppress(ReplayCacheError):
                self.purge(self._tx.now())
        return True

    def purge(self, now: datetime) -> int:
        """Delete entries whose ``expires_at`` is before ``now``; return how many."""
        moment = _micros(now, "now")
        try:
            with self._tx.write() as conn:
                result = conn.execute(
                    delete(tables.replay).where(tables.replay.c.expires_us < moment)
                )
                return int(result.rowcount)
        except (SQLAlchemyError, StorageError) as exc:
            raise ReplayCacheError(f"the replay cache cannot purge: {exc}") from exc

    def __len__(self) -> int:
        with self._tx.read() as conn:
            return int(conn.execute(select(func.count()).select_from(tables.replay)).scalar_one())
