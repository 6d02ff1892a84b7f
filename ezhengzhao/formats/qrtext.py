"""QR text ⇄ COSE bytes: prefix, base45 (RFC 9285) and zlib (RFC 1950), as in the EU DCC.

``wrap`` makes ``PREFIX + base45(zlib(cose))``, the text put into an alphanumeric-mode QR code;
``unwrap`` undoes it one stage at a time, raising :class:`~ezhengzhao.errors.PayloadError`
with the stage that failed: ``prefix``, ``base45`` or ``zlib``. Decompression is bounded
(``max_size``) so a small "zip bomb" is refused before it is inflated.
"""

from __future__ import annotations

import zlib
from typing import Final

from ezhengzhao.errors import PayloadError
from ezhengzhao.formats.base45 import b45decode, b45encode

__all__ = [
    "DEFAULT_MAX_SIZE",
    "DEFAULT_PREFIX",
    "compress",
    "decompress",
    "strip_prefix",
    "unwrap",
    "wrap",
]

DEFAULT_PREFIX: Final = "EZZ1:"
DEFAULT_MAX_SIZE: Final = 64 * 1024
"""Largest decompressed payload accepted; QR codes hold under 3 KB, so this is generous."""

# Leading whitespace of any ASCII kind is dropped. At the end only tab, CR, LF, VT and FF are:
# the space is the base45 digit 36 (RFC 9285 §4.2), so a trailing space may be data.
_LEADING_WHITESPACE: Final = " \t\r\n\x0b\x0c"
_TRAILING_WHITESPACE: Final = "\t\r\n\x0b\x0c"


def compress(data: bytes) -> bytes:
    """zlib-compress ``data`` at level 9 (a zlib stream, RFC 1950, not raw deflate)."""
    return zlib.compress(bytes(data), 9)


def decompress(data: bytes, *, max_size: int = DEFAULT_MAX_SIZE) -> bytes:
    """Inflate one complete zlib stream; PayloadError (stage ``zlib``) if it is not one.

    Refused: anything that is not a zlib stream, a truncated stream, bytes after its end,
    and output beyond ``max_size`` bytes — inflation stops at ``max_size + 1`` bytes, so no
    more memory than that is ever used.
    """
    if isinstance(max_size, bool) or not isinstance(max_size, int) or max_size < 0:
        raise ValueError("max_size must be a non-negative int")
    inflater = zlib.decompressobj()
    try:
        # max_length=0 would mean "unlimited" to zlib; max_size + 1 ≥ 1 always limits.
        out = inflater.decompress(bytes(data), max_size + 1)
    except zlib.error as exc:
        raise PayloadError("zlib", f"not a valid zlib stream: {exc}") from None
    if len(out) > max_size:
        raise PayloadError("zlib", f"the decompressed payload exceeds {max_size} bytes")
    if not inflater.eof:
        raise PayloadError("zlib", "the zlib stream is truncated")
    if inflater.unused_data:
        raise PayloadError(
            "zlib", f"{len(inflater.unused_data)} byte(s) after the end of the zlib stream"
        )
    return out


def wrap(cose: bytes, *, prefix: str = DEFAULT_PREFIX) -> str:
    """QR text for a COSE message: ``prefix + b45encode(compress(cose))``."""
    return prefix + b45encode(compress(cose))


def strip_prefix(text: str, *, prefix: str = DEFAULT_PREFIX) -> str:
    """The base45 part of QR ``text``; PayloadError (stage ``prefix``) without ``prefix``.

    Surrounding whitespace and a trailing CR/LF, as scanner guns send, are tolerated; nothing
    else is. The prefix is case-sensitive.
    """
    if not isinstance(text, str):
        raise TypeError("QR text must be str")
    text = text.lstrip(_LEADING_WHITESPACE).rstrip(_TRAILING_WHITESPACE)
    if not text.startswith(prefix):
        shown = text[: len(prefix)] if text else "empty text"
        raise PayloadError("prefix", f"expected the prefix {prefix!r}, found {shown!r}")
    return text[len(prefix) :]


def unwrap(
    text: str,
    *,
    prefix: str = DEFAULT_PREFIX,
    max_size: int = DEFAULT_MAX_SIZE,
    allow_uncompressed: bool = False,
) -> bytes:
    """The COSE bytes in QR ``text``: strip the prefix, base45-decode, inflate.

    PayloadError names the failing stage (``prefix``, ``base45``, ``zlib``). With
    ``allow_uncompressed`` a payload that is already a tagged COSE message (0xD2, tag 18, or
    0xD8 0x3D, tag 61) is returned without inflating — the EU DCC specification allows that;
    no valid zlib header starts with either byte, so the choice is unambiguous.
    """
    data = b45decode(strip_prefix(text, prefix=prefix))
    if allow_uncompressed and (data[:1] == b"\xd2" or data[:2] == b"\xd8\x3d"):
        if len(data) > max_size:
            raise PayloadError("zlib", f"the uncompressed payload exceeds {max_size} bytes")
        return data
    return decompress(data, max_size=max_size)
