"""The sealed-licence document ``ezz/sealed/1`` — 签章后的电子证照.

``{"format": "ezz/sealed/1", "licence": {…ezz/licence/1…}, "ses_signature": "<base64 DER>"}``:
the licence JSON object and a GB/T 38540 ``SES_Signature`` whose ``dataHash`` is SM3 over the
licence's RFC 8785 canonical bytes.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
import threading
from dataclasses import dataclass
from typing import Final

from ezhengzhao.errors import DecodeError
from ezhengzhao.formats.jsonio import loads
from ezhengzhao.formats.licence_json import (
    licence_canonical_bytes,
    licence_from_dict,
    licence_to_dict,
)
from ezhengzhao.model import Licence

__all__ = ["SEALED_FORMAT", "SealedDocument", "SealedLicence", "parse_sealed_document"]

SEALED_FORMAT: Final = "ezz/sealed/1"
_MAX_SEALED_BYTES: Final = 4 << 20


@dataclass(frozen=True, slots=True)
class SealedDocument:
    """A sealed document split into its parts, before the licence itself is validated."""

    licence_object: dict[str, object]
    ses_signature: bytes


def parse_sealed_document(data: bytes | str) -> SealedDocument:
    """Split ``ezz/sealed/1`` JSON into the licence object and the DER signature.

    Raises DecodeError for malformed JSON, an unknown format, or bad base64.
    """
    # Documents as SealedLicence.to_json writes them take the fast path; anything it does not
    # accept, good or bad, is read by the full path, so results and errors are the full path's.
    # Both paths call loads at the same stack depth, so nesting limits agree as well.
    doc = _parse_fast(data)
    return doc if doc is not None else _parse_full(data)


def _parse_full(data: bytes | str) -> SealedDocument:
    """Read a sealed document the plain way: the whole text through the strict JSON reader."""
    value = loads(data, max_bytes=_MAX_SEALED_BYTES, what="sealed licence")
    if not isinstance(value, dict):
        raise DecodeError("sealed licence must be a JSON object")
    fmt = value.get("format")
    if fmt != SEALED_FORMAT:
        raise DecodeError(f"unknown sealed-licence format {fmt!r}, expected {SEALED_FORMAT!r}")
    unknown = sorted(value.keys() - {"format", "licence", "ses_signature"})
    if unknown:
        raise DecodeError(f"unknown member {unknown[0]!r} in {SEALED_FORMAT}")
    licence = value.get("licence")
    if not isinstance(licence, dict):
        raise DecodeError("member 'licence' must be a JSON object")
    encoded = value.get("ses_signature")
    if not isinstance(encoded, str):
        raise DecodeError("member 'ses_signature' must be a base64 string")
    try:
        der = binascii.a2b_base64(encoded, strict_mode=True)
    except (binascii.Error, ValueError):
        raise DecodeError("member 'ses_signature' is not valid base64") from None
    if not der:
        raise DecodeError("member 'ses_signature' is empty")
    # Padding bits must be zero, or two texts would carry one signature (RFC 4648 §3.5).
    tail = len(der) % 3
    if tail and not encoded.endswith(base64.b64encode(der[-tail:]).decode("ascii")):
        raise DecodeError("member 'ses_signature' is not canonical base64")
    return SealedDocument(licence, der)


# The fast path. A sealed document is ~14 KB, of which ~11 KB is the base64 signature, and
# ~8 KB of that is the authority's seal — the same bytes in every licence it issues. Reading
# the whole text as JSON walks the base64 character by character (as a two-byte-per-character
# string once the licence's Chinese text is in it), and decoding it redoes the seal every time.
# So when the document ends the way SealedLicence.to_json writes it,
#
#     HEAD , "ses_signature" : "B" }        (JSON whitespace allowed between tokens)
#
# only HEAD + "}" goes through the strict reader and B is decoded straight from the input bytes,
# with the seal's part of it taken from a cache of segments already decoded.
#
# Why this is the full parse: if HEAD + "}" is a JSON object, HEAD is "{", its members and
# whitespace; B strict-decodes as base64, so it holds only A–Z a–z 0–9 + / =, no quote, no
# backslash and no control character, and "B" is a JSON string whose value is B. The document
# is therefore one JSON object: HEAD's members followed by ses_signature = B, and a JSON reader
# reads HEAD's members the same whether "}" or "," follows them. HEAD's keys must be exactly
# format and licence, so ses_signature is not a duplicate. The fast path accepts only when the
# result has the expected shape, and the same checks as the full path then pass, in substance:
# format, licence an object, base64 strict, non-empty, canonical padding. UTF-8: HEAD is decoded
# strictly by loads, and everything after it is ASCII checked byte by byte or by the base64
# decode, so the whole input is UTF-8 exactly when the full path finds it so. The size limit is
# checked on the whole input first. A leading byte order mark is stripped by loads from HEAD as
# it would be from the whole document. HEAD + "}" nests exactly as deep as the document.
_WS: Final = b" \t\n\r"  # JSON whitespace, nothing else
_CLOSE: Final = re.compile(rb'"[ \t\n\r]*\}[ \t\n\r]*')  # the base64's closing quote to the end
_KEY: Final = re.compile(rb'"ses_signature"[ \t\n\r]*:[ \t\n\r]*"')
_HEAD_KEYS: Final = frozenset({"format", "licence"})


def _parse_fast(data: bytes | str) -> SealedDocument | None:
    """Read a document laid out as SealedLicence.to_json writes it, or None to use the full path.

    None for anything unusual, valid or not: the full path then gives the answer or the error.
    """
    if isinstance(data, str):
        # Rare (the service and the CLI pass bytes); as UTF-8 the full path reads it the same.
        try:
            data = data.encode("utf-8")
        except UnicodeEncodeError:
            return None
    if len(data) > _MAX_SEALED_BYTES:
        return None
    layout = _layout(data)
    if layout is None:
        return None
    head_end, start, end = layout
    try:
        head = loads(data[:head_end] + b"}", max_bytes=_MAX_SEALED_BYTES, what="sealed licence")
    except DecodeError:
        return None
    if not isinstance(head, dict) or head.keys() != _HEAD_KEYS:
        return None
    licence = head["licence"]
    if head["format"] != SEALED_FORMAT or not isinstance(licence, dict):
        return None
    der = _SEGMENTS.decode(data, start, end)
    if not der:
        return None
    tail = len(der) % 3
    if tail and not data.endswith(base64.b64encode(der[-tail:]), start, end):
        return None
    return SealedDocument(licence, der)


def _layout(data: bytes) -> tuple[int, int, int] | None:
    """Where HEAD ends (at its ",") and the base64 text starts and ends, or None."""
    close = data.rfind(b'"')
    if close < 0 or not _CLOSE.fullmatch(data, close):
        return None
    open_ = data.rfind(b'"', 0, close)
    if open_ < 0:
        return None
    key = data.rfind(b'"ses_signature"', 0, open_)
    if key < 0 or not _KEY.fullmatch(data, key, open_ + 1):
        return None
    comma = key
    while comma and data[comma - 1] in _WS:
        comma -= 1
    if not comma or data[comma - 1] != ord(","):
        return None
    return comma - 1, open_ + 1, close


@dataclass(frozen=True, slots=True)
class _Segment:
    """A run of base64 text already decoded, at a fixed offset in a signature's text."""

    offset: int  # in characters from the start of the base64 text; a multiple of 4
    text: bytes  # whole 4-character groups of the base64 alphabet, no "=" padding
    decoded: bytes


class _SegmentCache:
    """Decodes ``ses_signature`` text, reusing segments that recur at the same offset.

    An authority's seal (with its picture) sits at the same place in each of its signatures,
    behind only the outer DER headers, so after two of its licences the cache holds the seal's
    base64 and its bytes, and a later licence decodes only the few hundred characters around
    it. Found by comparing a miss with the previous miss; bounded to a few segments.
    """

    def __init__(self, size: int = 16, min_run: int = 512, max_text: int = 1 << 16) -> None:
        self._size = size
        self._min_run = min_run  # characters; shorter runs save too little to be worth a check
        self._max_text = max_text  # a longer text is not kept as the previous miss
        self._segments: tuple[_Segment, ...] = ()  # replaced whole, so readers need no lock
        self._previous: bytes | None = None
        self._lock = threading.Lock()

    def decode(self, data: bytes, start: int, end: int) -> bytes | None:
        """Strictly decode ``data[start:end]`` as base64; None when it is not strict base64."""
        for seg in self._segments:
            run_start = start + seg.offset
            if data.startswith(seg.text, run_start, end):
                return self._decode_around(data, start, end, seg)
        text = data[start:end]
        try:
            der = binascii.a2b_base64(text, strict_mode=True)
        except (binascii.Error, ValueError):
            return None
        self._learn(text, der)
        return der

    @staticmethod
    def _decode_around(data: bytes, start: int, end: int, seg: _Segment) -> bytes | None:
        """Decode the text before and after a cached segment, and join.

        The same as a strict decode of the whole: the part before must give three bytes per four
        characters, so it is whole groups without padding, and the decoder, at a group boundary
        and not in padding, is then in the state it starts in; the segment is whole unpadded
        groups cut from a text that decoded strictly; the part after is decoded strictly on its
        own. (A "=" first in the part after is an error either way, under another message,
        which we do not use.)
        """
        run_start = start + seg.offset
        run_end = run_start + len(seg.text)
        try:
            before = binascii.a2b_base64(data[start:run_start], strict_mode=True)
            after = binascii.a2b_base64(data[run_end:end], strict_mode=True)
        except (binascii.Error, ValueError):
            return None
        if len(before) != seg.offset // 4 * 3:
            return None
        return b"".join((before, seg.decoded, after))  # one copy of the ~8 KB, not two

    def _learn(self, text: bytes, der: bytes) -> None:
        """Compare a newly decoded text with the previous one, and keep a long shared run."""
        with self._lock:
            previous = self._previous
            self._previous = text if len(text) <= self._max_text else None
        if previous is None or previous == text:  # the same signature twice shares nothing new
            return
        seg = self._shared_segment(previous, text, der)
        if seg is not None:
            with self._lock:
                self._segments = (seg, *self._segments[: self._size - 1])

    def _shared_segment(self, a: bytes, b: bytes, der: bytes) -> _Segment | None:
        """The first long run that texts ``a`` and ``b`` share at the same offset, in whole groups.

        The first two groups (six bytes) hold the outer SEQUENCE's tag and length, which change
        with the length of the signature value, so a run starts at offset 8 at the earliest —
        two signatures of equal length must not teach a run that the others miss. The run is
        looked for from there and from the group after each difference, a few times at most.
        """
        # Whole groups of b that carry no padding: b is strict base64, so "=" is only at its end.
        limit = len(b) - 4 if b.endswith(b"=") else len(b)
        offset = 8
        for _ in range(4):
            shared = _shared_length(a, b, offset)
            stop = min(offset + shared, limit) // 4 * 4
            if stop - offset >= self._min_run:
                decoded = der[offset // 4 * 3 : stop // 4 * 3]
                return _Segment(offset, b[offset:stop], decoded)
            offset = (offset + shared) // 4 * 4 + 4  # the group after the difference
            if offset >= limit:
                return None
        return None


def _shared_length(a: bytes, b: bytes, start: int) -> int:
    """How many bytes ``a`` and ``b`` have in common from ``start`` on.

    Bisects on slice equality: each step is a memcmp, and this runs only on a cache miss.
    """
    low, high = 0, max(0, min(len(a), len(b)) - start)
    while low < high:  # the first low bytes agree; the first high + 1 do not, or run out
        mid = (low + high + 1) // 2
        if a[start : start + mid] == b[start : start + mid]:
            low = mid
        else:
            high = mid - 1
    return low


_SEGMENTS: Final = _SegmentCache()


@dataclass(frozen=True, slots=True)
class SealedLicence:
    """A licence with its electronic seal signature (DER ``SES_Signature``)."""

    licence: Licence
    ses_signature: bytes

    @property
    def canonical_bytes(self) -> bytes:
        """The bytes the seal's ``dataHash`` covers."""
        return licence_canonical_bytes(self.licence)

    def to_dict(self) -> dict[str, object]:
        return {
            "format": SEALED_FORMAT,
            "licence": licence_to_dict(self.licence),
            "ses_signature": base64.b64encode(self.ses_signature).decode("ascii"),
        }

    def to_json(self, *, indent: int | None = 2) -> bytes:
        return json.dumps(self.to_dict(), ensure_ascii=False, indent=indent).encode() + b"\n"

    @classmethod
    def from_json(cls, data: bytes | str) -> SealedLicence:
        """Load a sealed licence; raises DecodeError or LicenceFormatError when malformed.

        This only reads the document; use ``Verifier.verify`` to decide whether it is valid.
        """
        doc = parse_sealed_document(data)
        return cls(licence_from_dict(doc.licence_object), doc.ses_signature)
