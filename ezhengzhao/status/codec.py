"""Status lists of the IETF OAuth Token Status List draft: packing, CBOR form, signed CWT.

A status list is a byte array holding one ``bits``-wide status per licence (``bits`` ∈ {1, 2,
4, 8}). Entry ``i`` sits in byte ``i * bits // 8`` at bit offset ``i * bits % 8``, counted from
the least significant bit (draft §4.1; the W3C Bitstring Status List uses the opposite order).
The array travels ZLIB-compressed (RFC 1950) in the CBOR map ``{"bits": n, "lst": bstr}``
(draft §4.3), signed as a CWT in a COSE_Sign1 (draft §5.2):

=====================  =========================================================
protected header       ``{1: alg, 4: kid, 16: "application/statuslist+cwt"}``
claim 2 ``sub``        the URI the list is published at (a licence's ``uri``)
claim 6 ``iat``        issued at, integer NumericDate
claim 4 ``exp``        expires at, optional
claim 65534 ``ttl``    seconds a copy may be cached, optional when read
claim 65533            the status list map
=====================  =========================================================

A licence points at its entry with claim 65535 ``{"status_list": {"idx": n, "uri": …}}``
(:func:`status_claim`). This module is a codec: it decodes and verifies signatures with the
key it is given; whether a list is fresh enough, or a status acceptable, is the verifier's
business.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from types import MappingProxyType
from typing import Final

from ezhengzhao.errors import InputError, PayloadError
from ezhengzhao.formats import cbor, cose, qrtext
from ezhengzhao.sign.keys import PublicKey
from ezhengzhao.sign.suites import Signer, signature_to_raw
from ezhengzhao.sign.x509 import Certificate

__all__ = [
    "CWT_STATUS_LIST",
    "CWT_TTL",
    "DEFAULT_MAX_SIZE",
    "HDR_TYP",
    "INVALID",
    "STATUS_LIST_CWT_TYPE",
    "SUSPENDED",
    "VALID",
    "StatusList",
    "StatusListBuilder",
    "StatusListToken",
    "read_status_list_token",
    "sign_status_list",
    "status_claim",
    "verify_status_list_token",
]

VALID: Final = 0
INVALID: Final = 1
SUSPENDED: Final = 2
# 3 is reserved by the draft (§7.1) for application-specific use; 4–255 likewise, with wider bits.

CWT_STATUS_LIST: Final = 65533
CWT_TTL: Final = 65534
HDR_TYP: Final = 16  # COSE "typ" header parameter (RFC 9596)
STATUS_LIST_CWT_TYPE: Final = "application/statuslist+cwt"

DEFAULT_MAX_SIZE: Final = 16 * 1024 * 1024
"""Largest decompressed status list accepted, in bytes: 2^27 one-bit entries, 2^24 at 8 bits."""

_BITS: Final = frozenset({1, 2, 4, 8})
_MAX_NUMERIC_DATE: Final = 2**40  # far beyond any real date; refuses absurd values early


@dataclass(frozen=True, slots=True)
class StatusList:
    """A Token Status List: ``size`` statuses of ``bits`` bits each, packed LSB first.

    Immutable: :meth:`set` returns a new list; use :class:`StatusListBuilder` to change many
    entries at once. A list decoded from bytes has ``len(packed) * 8 // bits`` entries — the
    wire form does not record a size, so a list made with ``new(5, bits=2)`` comes back with 8
    (the padding entries are VALID).
    """

    bits: int
    size: int
    packed: bytes = field(repr=False)
    _mask: int = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        _check_bits(self.bits)
        if type(self.size) is not int or self.size < 1:
            raise InputError("a status list needs a size of at least 1")
        if not isinstance(self.packed, bytes):
            raise InputError("packed must be bytes")
        if len(self.packed) != _byte_length(self.size, self.bits):
            raise InputError(
                f"{self.size} entries of {self.bits} bit(s) take "
                f"{_byte_length(self.size, self.bits)} bytes, not {len(self.packed)}"
            )
        object.__setattr__(self, "_mask", (1 << self.bits) - 1)

    @classmethod
    def new(cls, size: int, bits: int = 2) -> StatusList:
        """A list of ``size`` entries, all VALID."""
        _check_bits(bits)
        if type(size) is not int or size < 1:
            raise InputError("a status list needs a size of at least 1")
        return cls(bits, size, bytes(_byte_length(size, bits)))

    def get(self, idx: int) -> int:
        """The status of entry ``idx``; InputError if ``idx`` is outside ``[0, size)``."""
        if type(idx) is not int or not 0 <= idx < self.size:
            raise InputError(f"index {idx!r} is outside the status list [0, {self.size})")
        pos = idx * self.bits
        return (self.packed[pos >> 3] >> (pos & 7)) & self._mask

    def set(self, idx: int, status: int) -> StatusList:
        """A copy of this list with entry ``idx`` set to ``status`` (O(size): it copies)."""
        builder = StatusListBuilder(self)
        builder.set(idx, status)
        return builder.build()

    def builder(self) -> StatusListBuilder:
        """A mutable copy of this list, for changing many entries."""
        return StatusListBuilder(self)

    def unpacked(self) -> bytes:
        """Every status, one byte per entry: the fast path for bulk lookups.

        ``list.unpacked()[idx]`` is plain indexing, an order of magnitude faster than
        :meth:`get` when a verifier checks many licences against one list.
        """
        if self.bits == 8:
            return self.packed
        table = _UNPACK_TABLES[self.bits]
        return b"".join(map(table.__getitem__, self.packed))[: self.size]

    def to_bytes(self) -> bytes:
        """The packed status array (uncompressed)."""
        return self.packed

    def encode_lst(self) -> bytes:
        """The packed array ZLIB-compressed at level 9: the ``lst`` of the CBOR form."""
        return qrtext.compress(self.packed)

    @classmethod
    def decode(cls, lst: bytes, bits: int, *, max_size: int = DEFAULT_MAX_SIZE) -> StatusList:
        """The list in ZLIB-compressed ``lst``; PayloadError if it does not inflate.

        Stage ``zlib`` for a bad stream or one inflating beyond ``max_size`` bytes (inflation
        stops there, so a "zip bomb" costs no more memory); stage ``claims`` for an empty list.
        """
        _check_bits(bits)
        if not isinstance(lst, bytes | bytearray | memoryview):
            raise InputError("lst must be bytes")
        packed = qrtext.decompress(lst, max_size=max_size)
        if not packed:
            raise PayloadError("claims", "the status list is empty")
        return cls(bits, len(packed) * 8 // bits, packed)

    def to_cbor_map(self) -> dict[str, object]:
        """The CBOR form of draft §4.3: ``{"bits": n, "lst": <zlib bytes>}``."""
        return {"bits": self.bits, "lst": self.encode_lst()}

    @classmethod
    def from_cbor_map(cls, value: object, *, max_size: int = DEFAULT_MAX_SIZE) -> StatusList:
        """The list in a decoded CBOR status list map; PayloadError stage ``claims`` or ``zlib``.

        ``aggregation_uri`` (draft §9) is allowed and ignored; other keys are refused.
        """
        if not isinstance(value, dict):
            raise PayloadError("claims", "the status list is not a map")
        unknown = set(value) - {"bits", "lst", "aggregation_uri"}
        if unknown:
            raise PayloadError(
                "claims", f"unknown status list key(s): {sorted(map(repr, unknown))}"
            )
        bits, lst = value.get("bits"), value.get("lst")
        if type(bits) is not int or bits not in _BITS:
            raise PayloadError("claims", f"status list bits must be 1, 2, 4 or 8, not {bits!r}")
        if not isinstance(lst, bytes):
            raise PayloadError("claims", "status list lst must be a byte string")
        if "aggregation_uri" in value and not isinstance(value["aggregation_uri"], str):
            raise PayloadError("claims", "status list aggregation_uri must be text")
        return cls.decode(lst, bits, max_size=max_size)


class StatusListBuilder:
    """A mutable status list over a bytearray, for bulk updates; :meth:`build` freezes it."""

    __slots__ = ("_data", "_mask", "bits", "size")

    def __init__(self, base: StatusList) -> None:
        self.bits = base.bits
        self.size = base.size
        self._mask = (1 << base.bits) - 1
        self._data = bytearray(base.packed)

    def get(self, idx: int) -> int:
        """The status of entry ``idx``; InputError if out of range."""
        self._check_index(idx)
        pos = idx * self.bits
        return (self._data[pos >> 3] >> (pos & 7)) & self._mask

    def set(self, idx: int, status: int) -> StatusListBuilder:
        """Set entry ``idx`` to ``status`` in place, O(1); returns the builder for chaining."""
        self._check_index(idx)
        if type(status) is not int or not 0 <= status <= self._mask:
            raise InputError(f"status {status!r} does not fit in {self.bits} bit(s)")
        pos = idx * self.bits
        shift = pos & 7
        byte = pos >> 3
        self._data[byte] = (self._data[byte] & ~(self._mask << shift)) | (status << shift)
        return self

    def build(self) -> StatusList:
        """An immutable copy of the current state."""
        return StatusList(self.bits, self.size, bytes(self._data))

    def _check_index(self, idx: int) -> None:
        if type(idx) is not int or not 0 <= idx < self.size:
            raise InputError(f"index {idx!r} is outside the status list [0, {self.size})")


@dataclass(frozen=True, slots=True)
class StatusListToken:
    """A decoded Status List Token (CWT form); the signature is not yet verified.

    Verify with :func:`verify_status_list_token` before trusting any field.
    """

    uri: str
    issued_at: datetime
    expires_at: datetime | None
    ttl: timedelta | None
    status_list: StatusList
    message: cose.CoseSign1 = field(repr=False)


def sign_status_list(
    status_list: StatusList,
    *,
    uri: str,
    signer: Signer,
    certificate: Certificate,
    issued_at: datetime,
    ttl: timedelta,
    expires_at: datetime | None = None,
) -> bytes:
    """Sign ``status_list`` as a Status List Token in CWT form; the tagged COSE_Sign1 bytes.

    The protected header is ``{1: alg, 4: certificate.kid, 16: "application/statuslist+cwt"}``.
    Times are truncated to whole seconds. InputError if the signer's key is not the
    certificate's, a time is naive, ``ttl`` is not a positive whole number of seconds, or
    ``expires_at`` is not after ``issued_at``.
    """
    if not isinstance(status_list, StatusList):
        raise InputError("status_list must be a StatusList")
    _check_uri(uri)
    if certificate.public_key.spki_der() != signer.public_key.spki_der():
        raise InputError("the signer's key does not match the certificate")
    iat = _numeric_date(issued_at, "issued_at")
    if not isinstance(ttl, timedelta) or ttl <= timedelta(0) or ttl % timedelta(seconds=1):
        raise InputError("ttl must be a positive whole number of seconds")
    claims: dict[int, object] = {
        cose.CWT_SUB: uri,
        cose.CWT_IAT: iat,
        CWT_TTL: ttl // timedelta(seconds=1),
        CWT_STATUS_LIST: status_list.to_cbor_map(),
    }
    if expires_at is not None:
        exp = _numeric_date(expires_at, "expires_at")
        if exp <= iat:
            raise InputError("expires_at must be after issued_at")
        claims[cose.CWT_EXP] = exp

    alg = cose.alg_for_suite(signer.suite.id)
    header: dict[int | str, object] = {
        cose.HDR_ALG: alg,
        cose.HDR_KID: certificate.kid,
        HDR_TYP: STATUS_LIST_CWT_TYPE,
    }
    # cose.sign1 writes only {alg, kid}; the typ the draft requires (§5.2) must be protected
    # too, so the message is assembled here and signed over its own Sig_structure.
    unsigned = cose.CoseSign1(
        protected=cbor.dumps(header),
        protected_header=MappingProxyType(header),
        unprotected_header=MappingProxyType({}),
        payload=cbor.dumps(claims),
        signature=b"",
    )
    # SM2 and ECDSA signers return DER; COSE wants raw r ‖ s. Ed25519 passes unchanged.
    signature = signature_to_raw(signer.sign(unsigned.sig_structure()), signer.suite)
    return dataclasses.replace(unsigned, signature=signature).encode()


def read_status_list_token(data: bytes, *, max_size: int = DEFAULT_MAX_SIZE) -> StatusListToken:
    """Decode a Status List Token (CWT) without verifying it; PayloadError if malformed.

    Stages: ``cbor``/``cose`` for the envelope (tag 18 required, optionally inside CWT tag 61),
    ``claims`` for a wrong or missing ``typ`` or claim, ``zlib`` for the list itself. Claims
    must be: ``sub`` non-empty text, ``iat`` and ``exp`` integer NumericDates, ``ttl`` a
    positive integer, the status list a valid map.
    """
    if not isinstance(data, bytes | bytearray | memoryview):
        raise InputError("a status list token is bytes")
    message = cose.decode_sign1(bytes(data), allow_cwt_tag=True)
    typ = message.protected_header.get(HDR_TYP)
    if typ != STATUS_LIST_CWT_TYPE:
        raise PayloadError("claims", f"protected typ must be {STATUS_LIST_CWT_TYPE!r}, not {typ!r}")
    claims = cbor.loads_strict(message.payload)
    if not isinstance(claims, dict):
        raise PayloadError("claims", "the CWT claims are not a map")
    uri = claims.get(cose.CWT_SUB)
    if not isinstance(uri, str) or not uri:
        raise PayloadError("claims", "claim 2 (sub) must be the status list URI")
    issued_at = _read_date(claims, cose.CWT_IAT, "claim 6 (iat)")
    if issued_at is None:
        raise PayloadError("claims", "claim 6 (iat) is missing")
    ttl = claims.get(CWT_TTL)
    if ttl is not None and (type(ttl) is not int or not 0 < ttl < _MAX_NUMERIC_DATE):
        raise PayloadError("claims", "claim 65534 (ttl) must be a positive integer")
    if CWT_STATUS_LIST not in claims:
        raise PayloadError("claims", "claim 65533 (status_list) is missing")
    return StatusListToken(
        uri=uri,
        issued_at=issued_at,
        expires_at=_read_date(claims, cose.CWT_EXP, "claim 4 (exp)"),
        ttl=None if ttl is None else timedelta(seconds=ttl),
        status_list=StatusList.from_cbor_map(claims[CWT_STATUS_LIST], max_size=max_size),
        message=message,
    )


def verify_status_list_token(token: StatusListToken, public_key: PublicKey) -> None:
    """Return if ``token`` is signed by ``public_key``; raise otherwise (cose.verify_sign1).

    InvalidSignatureError for a bad signature, AlgorithmMismatchError or
    UnsupportedAlgorithmError for an algorithm that is not the key's.
    """
    cose.verify_sign1(token.message, public_key)


def status_claim(uri: str, idx: int) -> dict[str, dict[str, object]]:
    """The value of claim 65535 pointing a licence at entry ``idx`` of the list at ``uri``."""
    _check_uri(uri)
    if type(idx) is not int or idx < 0:
        raise InputError("a status list index must be a non-negative int")
    return {"status_list": {"idx": idx, "uri": uri}}


# -- internals ---------------------------------------------------------------------------------


def _check_bits(bits: int) -> None:
    if type(bits) is not int or bits not in _BITS:
        raise InputError(f"bits must be 1, 2, 4 or 8, not {bits!r}")


def _check_uri(uri: str) -> None:
    if not isinstance(uri, str) or not uri or uri != uri.strip():
        raise InputError("the status list URI must be non-empty text without outer spaces")


def _byte_length(size: int, bits: int) -> int:
    return (size * bits + 7) // 8


def _numeric_date(moment: datetime, what: str) -> int:
    if not isinstance(moment, datetime) or moment.utcoffset() is None:
        raise InputError(f"{what} must be a timezone-aware datetime")
    return int(moment.astimezone(UTC).replace(microsecond=0).timestamp())


def _read_date(claims: Mapping[object, object], key: int, what: str) -> datetime | None:
    if key not in claims:
        return None
    value = claims[key]
    # Integers only: RFC 8392 allows float NumericDates, but no producer of status lists uses
    # them and a float would round differently on each side.
    if type(value) is not int or not 0 <= value < _MAX_NUMERIC_DATE:
        raise PayloadError("claims", f"{what} must be an integer NumericDate")
    return datetime.fromtimestamp(value, UTC)


def _unpack_table(bits: int) -> tuple[bytes, ...]:
    """For each byte value, its ``8 // bits`` statuses in entry order (LSB first)."""
    mask = (1 << bits) - 1
    return tuple(
        bytes((byte >> shift) & mask for shift in range(0, 8, bits)) for byte in range(256)
    )


_UNPACK_TABLES: Final = {bits: _unpack_table(bits) for bits in (1, 2, 4)}
