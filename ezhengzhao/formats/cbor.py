"""Strict CBOR (RFC 8949) reading, and canonical writing with cbor2.

``loads_strict`` is a small decoder of its own rather than ``cbor2.loads``: cbor2 keeps the last
of duplicate map keys, accepts indefinite lengths, and gives semantic tags meaning (tag 35
compiles a regular expression, tags 28/29 build shared and even cyclic references). Signed
payloads from a QR code are attacker-controlled, so reading them is kept to the well-formed,
definite-length subset with no surprises. What it returns:

========================  ==============================================
CBOR                      Python
========================  ==============================================
unsigned / negative int   ``int``
byte string               ``bytes``
text string               ``str`` (strict UTF-8)
array                     ``list``
map                       ``dict`` (keys: int, str, bytes, float, bool, None)
tag                       ``cbor2.CBORTag(tag, value)`` — never interpreted
false, true, null         ``False``, ``True``, ``None``
float16/32/64             ``float``
========================  ==============================================

Rejected, all as :class:`~ezhengzhao.errors.PayloadError` stage ``cbor``: trailing bytes,
truncation, reserved additional information (28–30), indefinite lengths and stray "break"
(RFC 8949 §3.2), duplicate map keys (§5.6; keys that Python compares equal, such as ``1``,
``1.0`` and ``true``, count as duplicates because a ``dict`` cannot hold both), array or map
keys, ``undefined`` and unassigned simple values (§3.3), and nesting deeper than ``max_depth``.
Non-preferred ("non-shortest") heads and unsorted map keys are accepted: signed bytes are
verified as received and never re-encoded, and real producers (the EU DCC ones among them)
emit both.
"""

from __future__ import annotations

import struct
from collections.abc import Callable
from typing import Final

import cbor2

from ezhengzhao.errors import PayloadError

__all__ = ["DEFAULT_MAX_DEPTH", "dumps", "loads_canonical", "loads_strict"]

DEFAULT_MAX_DEPTH = 16
"""Containers (arrays, maps, tags) nested deeper than this are refused."""

_HASHABLE_KEY_TYPES = (int, str, bytes, float, bool, type(None))


class _Malformed(Exception):
    """Internal: the input is not acceptable; carries the message for PayloadError."""


def loads_strict(data: bytes, *, max_depth: int = DEFAULT_MAX_DEPTH) -> object:
    """Decode exactly one CBOR data item from ``data``; PayloadError (stage ``cbor``) if not.

    See the module docstring for what is accepted and what each type becomes.
    """
    if not isinstance(data, bytes | bytearray | memoryview):
        raise TypeError("loads_strict takes bytes")
    if isinstance(max_depth, bool) or not isinstance(max_depth, int) or max_depth < 0:
        raise ValueError("max_depth must be a non-negative int")
    buffer = bytes(data)
    value = _read_common(buffer, max_depth, tags=True)
    if value is not _UNUSUAL:
        return value
    if not buffer:
        raise PayloadError("cbor", "empty input: no CBOR data item")
    try:
        value, end = _Reader(buffer, max_depth).item(0, 0)
    except _Malformed as exc:
        raise PayloadError("cbor", str(exc)) from None
    except RecursionError:  # unreachable with a sane max_depth; never let it escape as is
        raise PayloadError("cbor", "CBOR nesting too deep") from None
    if end != len(buffer):
        raise PayloadError(
            "cbor", f"{len(buffer) - end} trailing byte(s) after the CBOR data item at {end}"
        )
    return value


def loads_canonical(data: bytes, *, max_depth: int = DEFAULT_MAX_DEPTH) -> object:
    """Decode one CBOR item that must be in canonical form, e.g. a payload ezhengzhao signed.

    The C decoder reads it and the value is encoded again: equal bytes prove the input had no
    duplicate keys, indefinite lengths or trailing bytes. Anything else goes to
    :func:`loads_strict`, which accepts non-canonical but well-formed input and names the
    problem otherwise. For authenticated data only: cbor2 acts on semantic tags before the
    comparison, which :func:`loads_strict` never does.

    Input made of the common items only (no tags, no simple values but false/true/null) is
    read by the strict fast reader instead: for it both routes give the same value, and the
    re-encoding costs more than the reading.
    """
    if type(data) is bytes and type(max_depth) is int:
        value = _read_common(data, max_depth, tags=False)
        if value is not _UNUSUAL:
            return value
    try:
        value = cbor2.loads(data)
        if cbor2.dumps(value, canonical=True) == data:
            return value
    except (cbor2.CBORError, ValueError, TypeError, OverflowError, RecursionError):
        pass
    return loads_strict(data, max_depth=max_depth)


def dumps(value: object) -> bytes:
    """Encode ``value`` with cbor2 in canonical form (sorted map keys, shortest heads/floats).

    Canonical encoding makes the bytes we sign reproducible; this is cbor2's ``canonical=True``
    (length-first key order of RFC 7049 §3.9 as implemented by cbor2).
    """
    try:
        return cbor2.dumps(value, canonical=True)
    except cbor2.CBOREncodeError as exc:
        raise TypeError(f"cannot encode as CBOR: {exc}") from exc


class _Unusual(Exception):
    """Internal: the fast reader met an error or a rare item; the full reader takes over."""


_UNUSUAL: Final = object()
# Bound unpack_from methods: reading a multi-byte head this way costs half a slice + from_bytes.
_HALF, _SINGLE, _DOUBLE = (struct.Struct(f).unpack_from for f in (">e", ">f", ">d"))
_U16, _U32, _U64 = (struct.Struct(f).unpack_from for f in (">H", ">I", ">Q"))


def _read_common(data: bytes, max_depth: int, *, tags: bool) -> object:
    """``data`` as one item read by the fast reader, or :data:`_UNUSUAL` when it cannot say.

    The fast reader accepts a subset of what :class:`_Reader` accepts and returns the same
    value for it: integers, strings, arrays, maps with int or text keys, false/true/null,
    floats, and (with ``tags``) tags. Anything else — every error included — makes it give up,
    and the caller asks :class:`_Reader`, whose answer (value or precise error) is the one that
    counts. So the fast reader decides nothing; it only spares the common case the full
    reader's per-item calls.
    """
    try:
        value, end = _fast_item(data, 0, max_depth, tags)
    except (_Unusual, IndexError, ValueError, RecursionError, struct.error):
        # IndexError: truncated input; ValueError: invalid UTF-8 — the full reader names both.
        return _UNUSUAL
    # A string running past the end leaves ``end`` beyond the input: also refused here.
    return value if end == len(data) else _UNUSUAL


def _fast_item(data: bytes, pos: int, room: int, tags: bool) -> tuple[object, int]:
    """The item at ``pos`` and the offset after it; ``room``: containers that may still nest.

    Raises _Unusual (or IndexError, ValueError) for whatever it leaves to the full reader.
    """
    initial = data[pos]
    major, info = initial >> 5, initial & 0x1F
    pos += 1
    if info < 24:
        argument = info
    elif major == 7:  # floats (their argument bytes are the value); simple values: unusual
        if info == 25:
            return _HALF(data, pos)[0], pos + 2
        if info == 26:
            return _SINGLE(data, pos)[0], pos + 4
        if info == 27:
            return _DOUBLE(data, pos)[0], pos + 8
        raise _Unusual
    elif info == 24:
        argument = data[pos]
        pos += 1
    elif info == 25:  # struct.error when the input ends first
        argument = _U16(data, pos)[0]
        pos += 2
    elif info == 26:
        argument = _U32(data, pos)[0]
        pos += 4
    elif info == 27:
        argument = _U64(data, pos)[0]
        pos += 8
    else:
        raise _Unusual  # indefinite lengths, break, reserved values
    if major == 0:
        return argument, pos
    if major == 1:
        return -1 - argument, pos
    if major == 2 or major == 3:
        end = pos + argument
        if end > len(data):
            raise _Unusual
        return (data[pos:end] if major == 2 else data[pos:end].decode("utf-8")), end
    if major == 7:
        if info == 20 or info == 21:
            return info == 21, pos
        if info == 22:
            return None, pos
        raise _Unusual  # undefined and simple values
    if room <= 0:
        raise _Unusual
    if major == 6:
        if not tags:
            raise _Unusual
        content, pos = _fast_item(data, pos, room - 1, tags)
        return cbor2.CBORTag(argument, content), pos
    # Arrays and maps. Their children are mostly small integers and short text: those are
    # read here inline (three times over, for items, keys and values), since a call per item
    # is most of a reader's cost. Every item takes a byte: a larger count is a lie.
    if major == 4:
        if pos + argument > len(data):
            raise _Unusual
        items: list[object] = []
        for _ in range(argument):
            head = data[pos]
            if head < 0x18:  # unsigned integer 0..23
                items.append(head)
                pos += 1
            elif 0x60 <= head < 0x78:  # text string of 0..23 bytes
                end = pos + head - 0x5F
                items.append(data[pos + 1 : end].decode("utf-8"))
                pos = end
            else:
                item, pos = _fast_item(data, pos, room - 1, tags)
                items.append(item)
        return items, pos
    if pos + 2 * argument > len(data):
        raise _Unusual
    result: dict[object, object] = {}
    for _ in range(argument):
        head = data[pos]
        if head < 0x18:
            key: object = head
            pos += 1
        elif 0x60 <= head < 0x78:
            end = pos + head - 0x5F
            key = data[pos + 1 : end].decode("utf-8")
            pos = end
        else:
            key, pos = _fast_item(data, pos, room - 1, tags)
            if type(key) is not int and type(key) is not str:  # bool, float, bytes…: unusual
                raise _Unusual
        if key in result:  # a duplicate
            raise _Unusual
        head = data[pos]
        if head < 0x18:
            result[key] = head
            pos += 1
        elif 0x60 <= head < 0x78:
            end = pos + head - 0x5F
            result[key] = data[pos + 1 : end].decode("utf-8")
            pos = end
        elif head == 0x78:  # text string of 24..255 bytes
            end = pos + 2 + data[pos + 1]
            result[key] = data[pos + 2 : end].decode("utf-8")
            pos = end
        else:
            result[key], pos = _fast_item(data, pos, room - 1, tags)
    return result, pos


class _Reader:
    """One pass over ``data``, building values; positions are explicit, no hidden state."""

    __slots__ = ("data", "max_depth", "size")

    def __init__(self, data: bytes, max_depth: int) -> None:
        self.data = data
        self.size = len(data)
        self.max_depth = max_depth

    def _need(self, pos: int, count: int, what: str) -> None:
        if pos + count > self.size:
            raise _Malformed(f"truncated CBOR: {what} at offset {pos} needs {count} byte(s)")

    def _argument(self, pos: int, info: int) -> tuple[int, int]:
        """The argument of a head whose additional information is ``info`` (RFC 8949 §3)."""
        if info < 24:
            return info, pos
        if info == 24:
            self._need(pos, 1, "a 1-byte argument")
            return self.data[pos], pos + 1
        if info == 25:
            self._need(pos, 2, "a 2-byte argument")
            return int.from_bytes(self.data[pos : pos + 2], "big"), pos + 2
        if info == 26:
            self._need(pos, 4, "a 4-byte argument")
            return int.from_bytes(self.data[pos : pos + 4], "big"), pos + 4
        if info == 27:
            self._need(pos, 8, "an 8-byte argument")
            return int.from_bytes(self.data[pos : pos + 8], "big"), pos + 8
        if info == 31:
            raise _Malformed(f"indefinite-length item or break at offset {pos - 1}")
        raise _Malformed(f"reserved additional information {info} at offset {pos - 1}")

    def item(self, pos: int, depth: int) -> tuple[object, int]:
        """Decode the item starting at ``pos``; return it and the offset just after it."""
        # Hot path: every COSE message and claim set is decoded item by item, so the common
        # heads (arguments below 24) and bounds checks are inlined rather than called.
        data, size = self.data, self.size
        if pos >= size:
            raise _Malformed(f"truncated CBOR: an item at offset {pos} needs 1 byte(s)")
        initial = data[pos]
        major, info = initial >> 5, initial & 0x1F
        pos += 1
        if major == 7:
            return self._simple_or_float(pos, info)
        if info < 24:
            argument = info
        else:
            argument, pos = self._argument(pos, info)
        if major == 0:
            return argument, pos
        if major == 1:
            return -1 - argument, pos
        if major == 2 or major == 3:
            end = pos + argument
            if end > size:
                raise _Malformed(
                    f"truncated CBOR: a string at offset {pos} needs {argument} byte(s)"
                )
            if major == 2:
                return data[pos:end], end
            try:
                return data[pos:end].decode("utf-8"), end
            except UnicodeDecodeError:
                raise _Malformed(f"text string at offset {pos} is not valid UTF-8") from None
        if depth >= self.max_depth:
            raise _Malformed(f"CBOR nested deeper than {self.max_depth} at offset {pos}")
        depth += 1
        if major == 4:
            # Every item takes at least one byte: a count beyond the remaining input is a lie
            # told to make us allocate; refuse it before building anything.
            if pos + argument > size:
                raise _Malformed(f"truncated CBOR: an array of {argument} items at offset {pos}")
            items = []
            for _ in range(argument):
                value, pos = self.item(pos, depth)
                items.append(value)
            return items, pos
        if major == 5:
            if pos + 2 * argument > size:
                raise _Malformed(f"truncated CBOR: a map of {argument} pairs at offset {pos}")
            result: dict[object, object] = {}
            for _ in range(argument):
                key_at = pos
                key, pos = self.item(pos, depth)
                if type(key) is not int and type(key) is not str:  # the common keys, at once
                    if not isinstance(key, _HASHABLE_KEY_TYPES):
                        raise _Malformed(f"map key at offset {key_at} is an array, map or tag")
                    if key != key:  # NaN: never equal to itself, so duplicates would go unseen
                        raise _Malformed(f"NaN map key at offset {key_at}")
                if key in result:
                    raise _Malformed(f"duplicate map key {key!r} at offset {key_at}")
                result[key], pos = self.item(pos, depth)
            return result, pos
        # major 6: a tag and its single content item, returned uninterpreted.
        content, pos = self.item(pos, depth)
        return cbor2.CBORTag(argument, content), pos

    def _simple_or_float(self, pos: int, info: int) -> tuple[object, int]:
        """Major type 7 (RFC 8949 §3.3)."""
        if info == 20:
            return False, pos
        if info == 21:
            return True, pos
        if info == 22:
            return None, pos
        if info in _FLOATS:
            width, unpack = _FLOATS[info]
            self._need(pos, width, "a float")
            return unpack(self.data[pos : pos + width])[0], pos + width
        if info == 24:
            self._need(pos, 1, "a simple value")
            if self.data[pos] < 32:  # §3.3: two-byte encodings of 0..31 are not well-formed
                raise _Malformed(f"badly encoded simple value at offset {pos - 1}")
            raise _Malformed(f"unassigned simple value {self.data[pos]} at offset {pos - 1}")
        if info == 23:
            raise _Malformed(f"'undefined' at offset {pos - 1} is not accepted")
        if info < 20:
            raise _Malformed(f"unassigned simple value {info} at offset {pos - 1}")
        if info == 31:
            raise _Malformed(f"unexpected break or indefinite length at offset {pos - 1}")
        raise _Malformed(f"reserved additional information {info} at offset {pos - 1}")


_FLOATS: dict[int, tuple[int, Callable[[bytes], tuple[float, ...]]]] = {
    25: (2, struct.Struct(">e").unpack),
    26: (4, struct.Struct(">f").unpack),
    27: (8, struct.Struct(">d").unpack),
}
