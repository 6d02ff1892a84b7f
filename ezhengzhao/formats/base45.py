"""Base45 (RFC 9285): bytes as text in the 45-character QR alphanumeric alphabet.

Every two bytes ``a, b`` become the three digits ``c, d, e`` of ``n = a·256 + b = c + 45·d +
45²·e`` (least significant first); a trailing single byte becomes two digits (RFC 9285 §4).
Decoding rejects, with :class:`~ezhengzhao.errors.PayloadError` stage ``base45``: characters
outside the alphabet (lower case included), a length ≡ 1 (mod 3), and groups whose value does
not fit (a triple above 65535 such as ``GGW``, a final pair above 255) — RFC 9285 §4 and §6.
"""

from __future__ import annotations

import functools
import struct

from ezhengzhao.errors import PayloadError

__all__ = ["ALPHABET", "b45decode", "b45encode"]

ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:"
"""The 45 digits in value order (RFC 9285 §4.2, Table 1)."""

_INVALID = 0xFF
# bytes.translate table: ASCII digit character → its value, anything else → 0xFF. Translating
# the whole text at C speed and then looking for 0xFF is much faster than a per-character dict.
_DECODE_TABLE = bytes(
    ALPHABET.index(chr(code)) if chr(code) in ALPHABET else _INVALID for code in range(256)
)
# For encoding, n = c + 45·q with q = d + 45·e < 1457: one table lookup gives the digits d e.
_HIGH_PAIRS = tuple(ALPHABET[q % 45] + ALPHABET[q // 45] for q in range(65536 // 45 + 1))


# Masks are as long as the text: only those of QR-sized texts (at most 4,296 characters) are
# kept, so that decoding long input never pins its size in memory.
_KEPT_MASK_GROUPS = 1432


def _mask(groups: int) -> int:
    """The integer whose ``groups`` 3-byte lanes are each ``00 00 FF``."""
    return int.from_bytes(b"\x00\x00\xff" * groups, "big")


_kept_mask = functools.lru_cache(maxsize=64)(_mask)


def _low_bytes_mask(groups: int) -> int:
    return _kept_mask(groups) if groups <= _KEPT_MASK_GROUPS else _mask(groups)


def b45encode(data: bytes) -> str:
    """Encode ``data`` as base45 text (RFC 9285 §4)."""
    if not isinstance(data, bytes | bytearray | memoryview):
        raise TypeError("b45encode takes bytes")
    data = bytes(data)
    pairs = len(data) // 2
    alphabet, high = ALPHABET, _HIGH_PAIRS
    parts = [
        alphabet[n % 45] + high[n // 45] for n in struct.unpack(f">{pairs}H", data[: 2 * pairs])
    ]
    if len(data) % 2:
        last = data[-1]
        parts.append(alphabet[last % 45] + alphabet[last // 45])
    return "".join(parts)


def b45decode(text: str) -> bytes:
    """Decode base45 ``text``; PayloadError (stage ``base45``) if it is not valid base45."""
    if not isinstance(text, str):
        raise TypeError("b45decode takes str")
    try:
        raw = text.encode("ascii")
    except UnicodeEncodeError:
        raise PayloadError("base45", "base45 text contains a non-ASCII character") from None
    digits = raw.translate(_DECODE_TABLE)
    bad = digits.find(_INVALID)
    if bad >= 0:
        raise PayloadError(
            "base45", f"character {text[bad]!r} at offset {bad} is not in the base45 alphabet"
        )
    size = len(digits)
    if size % 3 == 1:
        raise PayloadError("base45", f"base45 text of {size} characters: length ≡ 1 (mod 3)")
    full = size - size % 3
    groups = full // 3
    # Lane-wise arithmetic in one big integer ("SWAR"): read as one big-endian integer, the
    # digits of each group c d e already sit in a 3-byte lane, c on top. Masking out each
    # digit gives three integers with one digit per lane, and n = c + 45·d + 2025·e ≤ 91124 <
    # 2**24 never carries into the next lane: a handful of big-int operations decode every
    # group at C speed.
    lanes = int.from_bytes(digits[:full], "big")
    low = _low_bytes_mask(groups)
    c, d, e = lanes >> 16 & low, lanes >> 8 & low, lanes & low
    values = (c + 45 * d + 2025 * e).to_bytes(full, "big")
    overflow = values[0::3]  # the lane's top byte is non-zero exactly when n > 65535
    if overflow.count(0) != groups:
        index = next(i for i, high in enumerate(overflow) if high)
        raise PayloadError(
            "base45", f"base45 group {text[3 * index : 3 * index + 3]!r} exceeds 65535"
        )
    out = bytearray(2 * groups)
    out[0::2] = values[1::3]
    out[1::2] = values[2::3]
    if size % 3 == 2:
        n = digits[full] + 45 * digits[full + 1]
        if n > 0xFF:
            raise PayloadError("base45", f"final base45 pair {text[full:]!r} exceeds 255")
        out.append(n)
    return bytes(out)
