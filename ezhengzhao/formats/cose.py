"""COSE_Sign1 (RFC 9052 §4.2) — one signer, one signature — and CWT claim keys (RFC 8392).

This module is a codec: :func:`decode_sign1` turns bytes into a :class:`CoseSign1` and rejects
what is malformed; :func:`verify_sign1` checks the signature with a key the caller chose. It
does not pick keys by ``kid`` nor judge claims; that is the verifier's business.

Algorithms (RFC 9053 and the IANA COSE registry, plus one private-use value):

==========  ========  ==========================  ==========================================
constant    value     suite                       signature in COSE
==========  ========  ==========================  ==========================================
ES256       −7        ``ECDSA-P256-SHA256``       raw r ‖ s, 64 bytes (RFC 9053 §2.1)
EdDSA       −8        ``Ed25519``                 64 bytes (RFC 9053 §2.2)
SM2-SM3     −70001    ``SM2-SM3``                 raw r ‖ s, 64 bytes, like ES256
PS256       −37       (none: known for the EU DCC test vectors only)
==========  ========  ==========================  ==========================================

SM2 has no registered COSE algorithm. −70001 lies in the private-use range (below −65536,
RFC 9052 §16.4 / IANA "COSE Algorithms"); it means SM2 signing (GM/T 0003) of SM3(Z ‖ M) with
Z computed over the default identity ``1234567812345678`` (GM/T 0009), where M is the
Sig_structure.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from types import MappingProxyType
from typing import TYPE_CHECKING, Final

import cbor2

from ezhengzhao.errors import InvalidSignatureError, PayloadError, UnsupportedAlgorithmError
from ezhengzhao.formats.cbor import dumps, loads_strict
from ezhengzhao.sign.suites import (
    ECDSA_P256_SHA256,
    ED25519,
    SM2_SM3,
    signature_to_raw,
)

if TYPE_CHECKING:
    from ezhengzhao.sign.keys import PublicKey

__all__ = [
    "ALG_EDDSA",
    "ALG_ES256",
    "ALG_PS256",
    "ALG_SM2_SM3",
    "COSE_ALG_SUITES",
    "CWT_AUD",
    "CWT_CTI",
    "CWT_EXP",
    "CWT_IAT",
    "CWT_ISS",
    "CWT_NBF",
    "CWT_STATUS",
    "CWT_SUB",
    "HDR_ALG",
    "HDR_CRIT",
    "HDR_KID",
    "TAG_COSE_SIGN1",
    "TAG_CWT",
    "CoseSign1",
    "alg_for_suite",
    "decode_sign1",
    "sign1",
    "verify_sign1",
]

ALG_ES256: Final = -7
ALG_EDDSA: Final = -8
ALG_PS256: Final = -37
ALG_SM2_SM3: Final = -70001

COSE_ALG_SUITES: Mapping[int, str] = MappingProxyType(
    {ALG_ES256: ECDSA_P256_SHA256, ALG_EDDSA: ED25519, ALG_SM2_SM3: SM2_SM3}
)
"""COSE algorithm → signature suite id, for the algorithms ezhengzhao signs and verifies."""

# Algorithms whose COSE signature is the fixed-width r ‖ s (RFC 9053 §2.1), while our
# PrivateKey.sign and X.509 use DER.
_RAW_RS_ALGS: Final = frozenset({ALG_ES256, ALG_SM2_SM3})

HDR_ALG: Final = 1
HDR_CRIT: Final = 2
HDR_KID: Final = 4

TAG_COSE_SIGN1: Final = 18  # RFC 9052 §2
TAG_CWT: Final = 61  # RFC 8392 §6

# CWT claim keys (RFC 8392 §4) and the status claim of the IETF Token Status List draft.
CWT_ISS: Final = 1
CWT_SUB: Final = 2
CWT_AUD: Final = 3
CWT_EXP: Final = 4
CWT_NBF: Final = 5
CWT_IAT: Final = 6
CWT_CTI: Final = 7
CWT_STATUS: Final = 65535

_EMPTY: Mapping[int | str, object] = MappingProxyType({})


def alg_for_suite(suite_id: str) -> int:
    """The COSE algorithm of signature suite ``suite_id``; UnsupportedAlgorithmError if none."""
    for alg, suite in COSE_ALG_SUITES.items():
        if suite == suite_id:
            return alg
    raise UnsupportedAlgorithmError(f"no COSE algorithm for signature suite {suite_id!r}")


@dataclass(frozen=True, slots=True)
class CoseSign1:
    """A COSE_Sign1 message (RFC 9052 §4.2).

    ``protected`` is the protected header exactly as serialized inside its bstr (what the
    signature covers); ``protected_header`` is its decoded map. Headers are read-only mappings.
    """

    protected: bytes
    protected_header: Mapping[int | str, object]
    unprotected_header: Mapping[int | str, object]
    payload: bytes
    signature: bytes

    @property
    def alg(self) -> int | None:
        """The ``alg`` header parameter (label 1), read from the protected header only.

        RFC 9052 §3.1 lets ``alg`` sit unprotected, but an unprotected algorithm could be
        swapped by anyone; it is ignored.
        """
        alg = self.protected_header.get(HDR_ALG)
        return alg if isinstance(alg, int) and not isinstance(alg, bool) else None

    @property
    def kid(self) -> bytes | None:
        """The ``kid`` (label 4): the protected one when present, else the unprotected one.

        RFC 9052 §3 forbids a label in both buckets; the EU DCC vectors carry such messages
        and expect the protected value to win, which is also the safe choice.
        """
        for header in (self.protected_header, self.unprotected_header):
            kid = header.get(HDR_KID)
            if isinstance(kid, bytes):
                return kid
        return None

    def sig_structure(self, external_aad: bytes = b"") -> bytes:
        """The signed bytes (RFC 9052 §4.4): ``["Signature1", protected, aad, payload]``."""
        return _sig_structure(self.protected, external_aad, self.payload)

    def encode(self, *, tag: bool = True) -> bytes:
        """The message as CBOR, tagged 18 unless ``tag=False``; the unprotected map canonical."""
        body = [self.protected, dict(self.unprotected_header), self.payload, self.signature]
        return dumps(cbor2.CBORTag(TAG_COSE_SIGN1, body) if tag else body)


def sign1(
    payload: bytes,
    *,
    alg: int,
    kid: bytes | None,
    sign: Callable[[bytes], bytes],
) -> CoseSign1:
    """Sign ``payload`` as COSE_Sign1 with protected header ``{1: alg, 4: kid}`` (canonical).

    ``sign`` receives the Sig_structure and returns the signature. For ES256 and SM2-SM3 its
    result may be DER (as ``PrivateKey.sign`` returns) or raw: sign1 converts it to the raw
    r ‖ s COSE requires, keyed by ``alg`` — so ``sign=private_key.sign`` is the usual call.
    Ed25519 signatures must be 64 bytes; other algorithms' signatures are used as returned.
    The unprotected header is empty.
    """
    if not isinstance(payload, bytes | bytearray | memoryview):
        raise TypeError("payload must be bytes")
    if isinstance(alg, bool) or not isinstance(alg, int):
        raise TypeError("alg must be a COSE algorithm integer")
    if kid is not None and not isinstance(kid, bytes):
        raise TypeError("kid must be bytes or None")
    header: dict[int | str, object] = {HDR_ALG: alg}
    if kid is not None:
        header[HDR_KID] = kid
    protected = dumps(header)
    payload = bytes(payload)
    signature = sign(_sig_structure(protected, b"", payload))
    if not isinstance(signature, bytes | bytearray | memoryview):
        raise TypeError("the sign callable must return bytes")
    signature = bytes(signature)
    if alg in _RAW_RS_ALGS:
        signature = signature_to_raw(signature, COSE_ALG_SUITES[alg])
    elif alg == ALG_EDDSA and len(signature) != 64:
        raise InvalidSignatureError(f"an Ed25519 signature is 64 bytes, not {len(signature)}")
    return CoseSign1(
        protected=protected,
        protected_header=MappingProxyType(header),
        unprotected_header=_EMPTY,
        payload=payload,
        signature=signature,
    )


def decode_sign1(
    data: bytes, *, allow_untagged: bool = False, allow_cwt_tag: bool = False
) -> CoseSign1:
    """Decode a COSE_Sign1 message strictly; PayloadError stage ``cbor`` or ``cose`` if bad.

    Tag 18 is required unless ``allow_untagged``; a CWT tag 61 around tag 18 (RFC 8392 §6) is
    accepted only with ``allow_cwt_tag``. The body must be ``[protected bstr, unprotected map,
    payload bstr, signature bstr]`` (RFC 9052 §4.2); a detached (nil) payload is refused. The
    protected bstr is empty or holds one CBOR map. Header labels must be int or text; ``alg``,
    when present, an int; ``kid`` a bstr. ``crit`` (label 2) is refused: this codec understands
    no extension header, and RFC 9052 §3.1 requires failing on one not understood. An unknown
    ``alg`` is not an error here; :func:`verify_sign1` refuses it.
    """
    item = loads_strict(data)
    if isinstance(item, cbor2.CBORTag) and item.tag == TAG_CWT:
        if not allow_cwt_tag:
            raise PayloadError("cose", "CWT tag 61 is not accepted here")
        item = item.value
        if not (isinstance(item, cbor2.CBORTag) and item.tag == TAG_COSE_SIGN1):
            raise PayloadError("cose", "CWT tag 61 must wrap a COSE_Sign1 (tag 18)")
    if isinstance(item, cbor2.CBORTag):
        if item.tag != TAG_COSE_SIGN1:
            raise PayloadError("cose", f"CBOR tag {item.tag} is not COSE_Sign1 (18)")
        item = item.value
    elif not allow_untagged:
        raise PayloadError("cose", "not a tagged COSE_Sign1 (tag 18 missing)")
    if not isinstance(item, list) or len(item) != 4:
        raise PayloadError("cose", "COSE_Sign1 must be an array of 4 elements")
    protected, unprotected, payload, signature = item
    if not isinstance(protected, bytes):
        raise PayloadError("cose", "the protected header must be a byte string")
    if not isinstance(unprotected, dict):
        raise PayloadError("cose", "the unprotected header must be a map")
    if payload is None:
        raise PayloadError("cose", "detached payloads are not supported")
    if not isinstance(payload, bytes):
        raise PayloadError("cose", "the payload must be a byte string")
    if not isinstance(signature, bytes):
        raise PayloadError("cose", "the signature must be a byte string")

    protected_header = _PROTECTED_HEADERS.get(protected)
    fresh = protected_header is None
    if protected_header is None:
        protected_header = _protected_header(protected)
    if unprotected:  # an empty map has nothing to check
        _check_header(unprotected, "unprotected")
    if fresh:
        alg = protected_header.get(HDR_ALG)
        if HDR_ALG in protected_header and (isinstance(alg, bool) or not isinstance(alg, int)):
            raise PayloadError("cose", "the alg header parameter must be an integer")
        if len(protected) <= _PROTECTED_HEADER_KEPT_SIZE and all(
            type(value) in _IMMUTABLE for value in protected_header.values()
        ):
            if len(_PROTECTED_HEADERS) >= _PROTECTED_HEADERS_MAX:
                _PROTECTED_HEADERS.clear()
            _PROTECTED_HEADERS[protected] = protected_header
    return CoseSign1(
        protected=protected,
        protected_header=protected_header,
        unprotected_header=MappingProxyType(unprotected) if unprotected else _EMPTY,
        payload=payload,
        signature=signature,
    )


# Every message of one signer has the same protected header ({alg, kid}): its decoded, checked
# and read-only form is kept by its bytes, sparing a CBOR read per message. Only headers that
# passed every check are kept (so errors come out as before, in order), and only those whose
# values cannot be changed in place (a list in one message's header must not show another's
# changes); a full table is emptied.
_PROTECTED_HEADERS: dict[bytes, Mapping[int | str, object]] = {}
_PROTECTED_HEADERS_MAX: Final = 1024
_IMMUTABLE: Final = frozenset({int, str, bytes, bool, float, type(None)})
_PROTECTED_HEADER_KEPT_SIZE: Final = 128  # ours are 17 bytes; large ones are not worth keeping


def _protected_header(protected: bytes) -> Mapping[int | str, object]:
    """The protected header bstr's map with its labels checked (``alg`` is the caller's)."""
    if protected:
        header = loads_strict(protected)
        if not isinstance(header, dict):
            raise PayloadError("cose", "the protected header is not a CBOR map")
    else:
        header = {}  # RFC 9052 §3: the zero-length bstr means "no parameters"
    _check_header(header, "protected")
    return MappingProxyType(header)


def verify_sign1(message: CoseSign1, public_key: PublicKey, *, external_aad: bytes = b"") -> None:
    """Return if ``message`` verifies under ``public_key``; raise otherwise.

    The protected ``alg`` names the suite (UnsupportedAlgorithmError when absent or not in
    :data:`COSE_ALG_SUITES`); the key's own suite must be that one (AlgorithmMismatchError);
    a bad signature raises InvalidSignatureError. ES256 and SM2-SM3 signatures must be raw
    r ‖ s (RFC 9053 §2.1): DER is refused.
    """
    alg = message.alg
    if alg is None:
        raise UnsupportedAlgorithmError("the COSE message has no alg in its protected header")
    suite_id = COSE_ALG_SUITES.get(alg)
    if suite_id is None:
        raise UnsupportedAlgorithmError(f"unsupported COSE algorithm {alg}")
    public_key.verify(
        message.signature,
        message.sig_structure(external_aad),
        algorithm=suite_id,
        form="raw" if alg in _RAW_RS_ALGS else None,
    )


#: The latest NumericDate accepted: far beyond any licence, yet inside ``datetime``'s range
#: even after a clock skew is added (the year 9999 ends at 253402300799).
NUMERIC_DATE_MAX: Final = 32503680000  # 3000-01-01T00:00:00Z


def numeric_date(value: object, what: str) -> datetime:
    """A CWT NumericDate (RFC 8392: integer seconds since 1970) as an aware UTC datetime."""
    if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value < NUMERIC_DATE_MAX:
        raise PayloadError("claims", f"{what} must be a NumericDate before the year 3000")
    return datetime.fromtimestamp(value, UTC)


# -- internals ---------------------------------------------------------------------------------


def _check_header(header: dict[object, object], bucket: str) -> None:
    for label in header:
        if isinstance(label, bool) or not isinstance(label, int | str):
            raise PayloadError("cose", f"{bucket} header label {label!r} is not an int or text")
    if HDR_CRIT in header:
        raise PayloadError("cose", f"{bucket} header has crit (label 2): not supported")
    if HDR_KID in header and not isinstance(header[HDR_KID], bytes):
        raise PayloadError("cose", f"{bucket} kid must be a byte string")


def _head(major: int, length: int) -> bytes:
    """A definite-length CBOR head in preferred (shortest) form (RFC 8949 §4.2.1)."""
    if length < 24:
        return bytes((major << 5 | length,))
    if length < 0x100:
        return bytes((major << 5 | 24, length))
    if length < 0x10000:
        return bytes((major << 5 | 25,)) + length.to_bytes(2, "big")
    if length < 0x100000000:
        return bytes((major << 5 | 26,)) + length.to_bytes(4, "big")
    return bytes((major << 5 | 27,)) + length.to_bytes(8, "big")


# 0x84: array(4); 0x6a "Signature1": text(10) — the fixed start of every Sig_structure.
_SIG1_PREFIX: Final = b"\x84\x6aSignature1"


def _sig_structure(protected: bytes, external_aad: bytes, payload: bytes) -> bytes:
    if not isinstance(external_aad, bytes | bytearray | memoryview):
        raise TypeError("external_aad must be bytes")
    # The empty external_aad (always, for QR codes) is the byte string head 0x40 alone.
    aad = _head(2, len(external_aad)) + external_aad if external_aad else b"\x40"
    return b"".join(
        (_SIG1_PREFIX, _head(2, len(protected)), protected, aad, _head(2, len(payload)), payload)
    )
