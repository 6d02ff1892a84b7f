"""The clock — 时钟: time is always passed in; this is the default source of it."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

__all__ = ["Clock", "system_clock"]

Clock = Callable[[], datetime]


def system_clock() -> datetime:
    """The machine's clock in UTC; pass your own clock to control time (tests, replays)."""
    return datetime.now(UTC)
