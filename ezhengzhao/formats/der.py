"""A minimal strict DER reader (X.690) for splitting structures on the verification hot path.

It reads tag-length-value triples and nothing else: no schema, no value decoding beyond the
few primitive types the seal verifier needs. Full parsing with schemas stays with pyasn1 in
``ezhengzhao.sign``; this exists because one SM2 verification costs about 370 µs and a full
pyasn1 decode of a seal signature costs several times that.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from ezhengzhao.errors import DecodeError

__all__ = ["TLV", "read_children", "read_generalized_time", "read_tlv"]


@dataclass(frozen=True, slots=True)
class TLV:
    """One DER element: its tag byte and the offsets of its whole encoding and of its value."""

    tag: int
    start: int
    value_start: int
    end: int


def read_tlv(buf: bytes, pos: int, limit: int | None = None) -> TLV:
    """Read the element at ``pos``; single-byte tags and minimal definite lengths only."""
    end_limit = len(buf) if limit is None else limit
    if pos + 2 > end_limit:
        raise DecodeError("DER truncated")
    tag = buf[pos]
    if tag & 0x1F == 0x1F:
        raise DecodeError("DER multi-byte tags are not used in these structures")
    first = buf[pos + 1]
    cursor = pos + 2
    if first < 0x80:
        length = first
    elif first == 0x80:
        raise DecodeError("DER forbids indefinite lengths")
    else:
        count = first & 0x7F
        if count > 4 or cursor + count > end_limit:
            raise DecodeError("DER length field truncated or too long")
        length = int.from_bytes(buf[cursor : cursor + count], "big")
        if buf[cursor] == 0 or length < 0x80:
            raise DecodeError("DER length is not minimal")
        cursor += count
    end = cursor + length
    if end > end_limit:
        raise DecodeError("DER value runs past its container")
    return TLV(tag, pos, cursor, end)


def read_children(buf: bytes, parent: TLV) -> list[TLV]:
    """The elements inside a constructed element, which must fill it exactly."""
    if not parent.tag & 0x20:
        raise DecodeError("DER element is not constructed")
    children = []
    pos = parent.value_start
    while pos < parent.end:
        child = read_tlv(buf, pos, parent.end)
        children.append(child)
        pos = child.end
    return children


def read_generalized_time(value: bytes) -> datetime:
    """A DER GeneralizedTime ``YYYYMMDDHHMMSSZ`` (no fraction) as an aware UTC datetime."""
    if len(value) != 15 or value[-1:] != b"Z" or not value[:14].isdigit():
        raise DecodeError("GeneralizedTime is not of the form YYYYMMDDHHMMSSZ")
    text = value.decode("ascii")
    try:
        return datetime(
            int(text[0:4]),
            int(text[4:6]),
            int(text[6:8]),
            int(text[8:10]),
            int(text[10:12]),
            int(text[12:14]),
            tzinfo=UTC,
        )
    except ValueError:
        raise DecodeError(f"GeneralizedTime {text} is not a valid time") from None
