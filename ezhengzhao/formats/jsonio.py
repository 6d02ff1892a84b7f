"""Strict JSON reading and RFC 8785 canonical bytes.

Every JSON document ezhengzhao reads goes through :func:`loads`: a size limit, no duplicate
keys, no NaN/Infinity, nesting bounded by the parser's recursion guard, no lone surrogates.
Canonical bytes (RFC 8785, the JSON Canonicalization Scheme) are what signatures cover.
"""

from __future__ import annotations

import json
import re
from typing import Final

import rfc8785

from ezhengzhao.errors import DecodeError

__all__ = ["MAX_DOCUMENT_BYTES", "canonical_bytes", "canonical_bytes_simple", "loads"]

#: Default upper bound for one JSON document (a sealed licence with its seal picture is ~20 KB).
MAX_DOCUMENT_BYTES: Final = 1 << 20
_SURROGATE = re.compile("[\ud800-\udfff]")
# Decoded text holds a lone surrogate only if the JSON wrote one as a \uD8xx–\uDFxx escape.
_ESCAPED_SURROGATE_UTF8 = re.compile(rb"\\u[dD][89a-fA-F]")


def _pairs(pairs: list[tuple[str, object]]) -> dict[str, object]:
    out = dict(pairs)
    if len(out) != len(pairs):  # a key came twice: name the first repeated one
        seen: set[str] = set()
        for key, _ in pairs:
            if key in seen:
                raise DecodeError(f"duplicate JSON key {key!r}")
            seen.add(key)
    return out


def _constant(name: str) -> object:
    raise DecodeError(f"JSON constant {name} is not allowed")


# One decoder for every call: json.loads with hooks would build a decoder and its scanner
# each time. The scanner's only state is a key-interning memo, so sharing it across threads
# is safe.
_DECODER: Final = json.JSONDecoder(object_pairs_hook=_pairs, parse_constant=_constant)


def _check_strings(value: object) -> None:
    """Reject lone surrogates anywhere in a parsed value (walked without recursion)."""
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            if _SURROGATE.search(item):
                raise DecodeError("JSON string contains a lone surrogate")
        elif isinstance(item, dict):
            for key, child in item.items():
                if _SURROGATE.search(key):
                    raise DecodeError("JSON key contains a lone surrogate")
                stack.append(child)
        elif isinstance(item, list):
            stack.extend(item)


def loads(data: bytes | str, *, max_bytes: int = MAX_DOCUMENT_BYTES, what: str = "JSON") -> object:
    """Parse one JSON document strictly, or raise :class:`DecodeError` saying why."""
    if isinstance(data, bytes):
        raw = data
        try:
            text = data.decode("utf-8")  # strict UTF-8 never yields a surrogate
        except UnicodeDecodeError as exc:
            raise DecodeError(f"{what} is not UTF-8: {exc.reason} at byte {exc.start}") from None
    else:
        text = data
        try:
            raw = data.encode("utf-8")
        except UnicodeEncodeError:
            raise DecodeError(f"{what} contains a lone surrogate") from None
    if len(raw) > max_bytes:
        raise DecodeError(f"{what} is {len(raw)} bytes, more than the limit of {max_bytes}")
    text = text.removeprefix("\ufeff")
    try:
        if text.startswith("\ufeff"):  # what json.loads says of a (second) byte order mark
            raise json.JSONDecodeError("Unexpected UTF-8 BOM (decode using utf-8-sig)", text, 0)
        value = _DECODER.decode(text)
    except json.JSONDecodeError as exc:
        raise DecodeError(
            f"{what} is malformed: {exc.msg} (line {exc.lineno}, column {exc.colno})"
        ) from None
    except RecursionError:
        raise DecodeError(f"{what} is nested too deeply") from None
    # Strict UTF-8 carries no surrogates: only a \uD8xx–\uDFxx escape can make one. The
    # escape is ASCII, so the UTF-8 bytes show it as well; most documents hold no backslash
    # at all, which one memchr over the bytes tells.
    if b"\\" in raw and _ESCAPED_SURROGATE_UTF8.search(raw):
        _check_strings(value)
    return value


def canonical_bytes(value: object) -> bytes:
    """RFC 8785 canonical form of any JSON value."""
    try:
        return bytes(rfc8785.dumps(value))  # type: ignore[arg-type]
    except (rfc8785.CanonicalizationError, TypeError, ValueError) as exc:
        raise DecodeError(f"value cannot be canonicalised: {exc}") from None


def canonical_bytes_simple(value: object) -> bytes:
    """RFC 8785 canonical form of a value holding only ASCII keys, strings, safe integers,
    booleans, null, objects and arrays — the shape of every ``ezz/licence/1`` document.

    For such values the standard library's sorted, compact, non-ASCII-preserving output is
    byte-identical to RFC 8785 (the tests check this against the reference implementation), at
    a fifth of the cost; callers must have validated the shape first.
    """
    return _SIMPLE_ENCODER.encode(value).encode()


# Built once: json.dumps with options would build an equivalent encoder on every call.
_SIMPLE_ENCODER: Final = json.JSONEncoder(sort_keys=True, separators=(",", ":"), ensure_ascii=False)
