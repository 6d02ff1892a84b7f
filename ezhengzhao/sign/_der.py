"""DER and PEM plumbing shared by the key and certificate code (no policy, no cryptography).

pyasn1 raises a family of its own exceptions, and occasionally plain ``ValueError`` or
``IndexError`` on hostile input; everything here turns them into ``DecodeError`` so that the
public layers can map one exception to their own error (``KeyLoadError``, ``CertificateError``).
"""

from __future__ import annotations

import base64
import binascii
import re
from typing import TypeVar, cast

from pyasn1.codec.der import decoder as der_decoder
from pyasn1.codec.der import encoder as der_encoder
from pyasn1.error import PyAsn1Error

from ezhengzhao.errors import DecodeError

__all__ = [
    "PARSE_ERRORS",
    "decode",
    "encode",
    "looks_like_pem",
    "pem_blocks",
    "pem_encode",
    "sequence_children",
]

_T = TypeVar("_T")

# What a pyasn1 decode (or reading a decoded value) may raise on hostile bytes. RecursionError
# covers deeply nested constructed encodings; UnicodeError is a ValueError.
PARSE_ERRORS: tuple[type[BaseException], ...] = (
    PyAsn1Error,
    ValueError,
    TypeError,
    IndexError,
    KeyError,
    OverflowError,
    RecursionError,
)

_PEM_RE = re.compile(
    rb"-----BEGIN ([A-Z0-9 ]+)-----\r?\n(.*?)-----END \1-----",
    re.DOTALL,
)


def decode(data: bytes, spec: _T) -> _T:
    """Decode ``data`` as exactly one DER value of type ``spec``; trailing bytes are an error."""
    try:
        value, rest = der_decoder.decode(bytes(data), asn1Spec=spec)
    except PARSE_ERRORS as exc:
        raise DecodeError(f"DER does not parse: {exc}") from exc
    if rest:
        raise DecodeError(f"{len(rest)} trailing byte(s) after the DER value")
    return cast(_T, value)


def encode(value: object) -> bytes:
    """DER-encode a pyasn1 value."""
    return cast(bytes, der_encoder.encode(value))


def _header(data: bytes, offset: int) -> tuple[int, int, int]:
    """Read one DER tag+length at ``offset``: (tag byte, content start, content end)."""
    if offset + 2 > len(data):
        raise DecodeError("DER truncated in a header")
    tag = data[offset]
    if tag & 0x1F == 0x1F:
        raise DecodeError("high-tag-number form is not expected here")
    first = data[offset + 1]
    pos = offset + 2
    if first < 0x80:
        length = first
    else:
        count = first & 0x7F
        # 0x80 is BER's indefinite length; DER forbids it, as it forbids non-minimal lengths.
        if count == 0 or count > 4 or pos + count > len(data):
            raise DecodeError("DER length is indefinite, too long or truncated")
        length = int.from_bytes(data[pos : pos + count], "big")
        if length < 0x80 or data[pos] == 0:
            raise DecodeError("DER length is not minimal")
        pos += count
    end = pos + length
    if end > len(data):
        raise DecodeError("DER value runs past the end of the input")
    return tag, pos, end


def sequence_children(data: bytes) -> list[bytes]:
    """Split a DER SEQUENCE into the exact encodings of its children.

    Used where a signature covers the bytes as received (a certificate's TBSCertificate):
    re-encoding a decoded value could differ from what was signed.
    """
    tag, start, end = _header(data, 0)
    if tag != 0x30:
        raise DecodeError("expected a DER SEQUENCE")
    if end != len(data):
        raise DecodeError(f"{len(data) - end} trailing byte(s) after the DER value")
    children = []
    pos = start
    while pos < end:
        _, _, child_end = _header(data, pos)
        if child_end > end:
            raise DecodeError("DER child runs past its parent")
        children.append(data[pos:child_end])
        pos = child_end
    return children


def looks_like_pem(data: bytes) -> bool:
    """Whether ``data`` contains PEM armour (RFC 7468)."""
    return b"-----BEGIN " in data


def pem_blocks(data: bytes) -> list[tuple[str, bytes, bytes]]:
    """All PEM blocks in ``data`` as (label, decoded body, raw block text), in order.

    Encapsulated headers (``Proc-Type: 4,ENCRYPTED`` of legacy OpenSSL keys) make the body
    undecodable here; such blocks are returned with an empty body and kept in the raw text
    so that a key loader can hand them on whole.
    """
    blocks = []
    for match in _PEM_RE.finditer(data):
        label = match.group(1).decode("ascii")
        body = match.group(2)
        if b":" in body:
            blocks.append((label, b"", match.group(0)))
            continue
        text = b"".join(body.split())
        try:
            decoded = base64.b64decode(text, validate=True)
        except (binascii.Error, ValueError) as exc:
            raise DecodeError(f"PEM block {label!r} is not valid base64") from exc
        blocks.append((label, decoded, match.group(0)))
    return blocks


def pem_encode(label: str, der: bytes) -> bytes:
    """Armour DER as PEM with 64-character lines (RFC 7468 §2)."""
    b64 = base64.b64encode(der)
    lines = [b64[i : i + 64] for i in range(0, len(b64), 64)]
    head = f"-----BEGIN {label}-----\n".encode("ascii")
    tail = f"-----END {label}-----\n".encode("ascii")
    return head + b"\n".join(lines) + b"\n" + tail
