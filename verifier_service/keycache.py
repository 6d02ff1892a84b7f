"""Recently authenticated API keys, kept in process memory for a few seconds.

Looking a key up is a database read on every request, the largest cost of a request after the
signature check itself. A key that authenticated is trusted again, without the read, for at
most ``seconds`` after its lookup: a key revoked with ``ezz apikey revoke`` stops working
within that time on every worker (``EZZ_KEY_CACHE_SECONDS``; 0 looks every request's key up).
Only keys that authenticated are kept, and under the SHA-256 of their secret, never the
secret itself; an unknown key always goes to the database.
"""

from __future__ import annotations

import hashlib
import threading
import time
from collections.abc import Callable
from typing import Final

from verifier_service.db import ApiKey

__all__ = ["KeyCache"]

#: Keys kept at most; the oldest lookup goes first. Far more than one service has callers.
MAX_KEYS: Final = 1024


class KeyCache:
    """Authenticated keys by the SHA-256 of their secret, each for ``seconds`` (see the
    module docstring). Safe to use from the event loop and worker threads at once."""

    __slots__ = ("_entries", "_lock", "_monotonic", "_seconds")

    def __init__(
        self, seconds: float, *, monotonic: Callable[[], float] = time.monotonic
    ) -> None:
        if seconds < 0:
            raise ValueError("the key cache time must not be negative")
        self._seconds = seconds
        self._monotonic = monotonic
        self._entries: dict[bytes, tuple[ApiKey, float]] = {}
        self._lock = threading.Lock()

    def get(self, secret: str) -> ApiKey | None:
        """The key this secret authenticated as within the last ``seconds``, else None."""
        if self._seconds == 0:
            return None
        digest = _digest(secret)
        with self._lock:
            found = self._entries.get(digest)
            if found is None:
                return None
            key, until = found
            if self._monotonic() < until:
                return key
            del self._entries[digest]
        return None

    def now(self) -> float:
        """The cache's clock: read it before looking a key up, and give it to :meth:`put`."""
        return self._monotonic()

    def put(self, secret: str, key: ApiKey, looked_up: float) -> None:
        """Remember that ``secret`` authenticated as ``key`` in a lookup that began at
        ``looked_up`` (:meth:`now`): the key is trusted until ``seconds`` after the database
        was read, not after the answer came back."""
        if self._seconds == 0:
            return
        digest = _digest(secret)
        with self._lock:
            self._entries.pop(digest, None)
            while len(self._entries) >= MAX_KEYS:
                del self._entries[next(iter(self._entries))]
            self._entries[digest] = (key, looked_up + self._seconds)


def _digest(secret: str) -> bytes:
    return hashlib.sha256(secret.encode("utf-8", "surrogatepass")).digest()
