"""What the storage modules share: the storage error, value checks, the time format."""

from __future__ import annotations

from datetime import UTC, datetime

from ezhengzhao.errors import InputError

__all__ = [
    "StorageConflict",
    "StorageError",
    "check_optional_text",
    "check_text",
    "parse_time_text",
    "time_text",
]


class StorageError(RuntimeError):
    """The database cannot be reached or written now (locked too long, server down, disk), or
    refused a statement (every other driver error: its message names the driver's class).

    Not a problem with the request: the service answers 503, and nothing was recorded.
    """


class StorageConflict(StorageError):
    """A write the database refused because it breaks a constraint (a duplicate key…)."""


def check_text(value: object, what: str, limit: int) -> str:
    """``value`` if it is text of 1..``limit`` characters without control characters.

    PostgreSQL refuses NUL in text; other control characters have no business in these
    fields either.
    """
    if not isinstance(value, str) or not value or len(value) > limit:
        raise InputError(f"{what} must be text of 1 to {limit} characters")
    if any(ord(c) < 0x20 or ord(c) == 0x7F for c in value):
        raise InputError(f"{what} must not contain control characters")
    return value


def check_optional_text(value: object, what: str, limit: int) -> str | None:
    """None, or text as :func:`check_text` accepts it."""
    return None if value is None else check_text(value, what, limit)


def time_text(moment: datetime) -> str:
    """A moment as the fixed-width UTC text the tables store."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def parse_time_text(value: object) -> datetime:
    """The inverse of :func:`time_text`."""
    return datetime.strptime(str(value), "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=UTC)
