"""The clock — 时钟: time is always passed in; this is the default source of it."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta, timezone
from typing import Final

__all__ = ["CHINA_STANDARD_TIME", "Clock", "china_date", "system_clock"]

Clock = Callable[[], datetime]

#: Licence dates are civil dates in China (UTC+8, no daylight saving).
CHINA_STANDARD_TIME: Final = timezone(timedelta(hours=8), "CST")


def china_date(moment: datetime) -> date:
    """The civil date in China at an aware ``moment``."""
    return moment.astimezone(CHINA_STANDARD_TIME).date()


def system_clock() -> datetime:
    """The machine's clock in UTC; pass your own clock to control time (tests, replays)."""
    return datetime.now(UTC)
