"""Signature suites — one signature algorithm bound to one key type, registered by a stable id.

Three suites are built in:

========================  ====================  ==========================================
id                        signatureAlgorithm    key (SubjectPublicKeyInfo algorithm)
========================  ====================  ==========================================
``SM2-SM3``               1.2.156.10197.1.501   id-ecPublicKey + SM2 curve 1.2.156.10197.1.301
``ECDSA-P256-SHA256``     1.2.840.10045.4.3.2   id-ecPublicKey + prime256v1
``Ed25519``               1.3.101.112           1.3.101.112 (RFC 8410)
========================  ====================  ==========================================

SM2 (GM/T 0003) signs e = SM3(Z ‖ M), where Z hashes the signer's identity and public key
(GM/T 0009, default identity ``1234567812345678``); ``tongsuopy`` computes Z, so signatures here
interoperate with OpenSSL (``-pkeyopt distid:1234567812345678``) and other GM/T implementations.
ECDSA P-256 and Ed25519 come from ``cryptography``.

A key always carries its suite; a verifier never takes the algorithm from a message alone
(see ``PublicKey.verify``).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import TYPE_CHECKING, Literal, Protocol, cast, runtime_checkable

from cryptography.exceptions import InvalidSignature as _CgInvalidSignature
from cryptography.hazmat.primitives import hashes as cg_hashes
from cryptography.hazmat.primitives import serialization as cg_serialization
from cryptography.hazmat.primitives.asymmetric import ec as cg_ec
from cryptography.hazmat.primitives.asymmetric import ed25519 as cg_ed25519
from cryptography.hazmat.primitives.asymmetric.utils import (
    decode_dss_signature,
    encode_dss_signature,
)
from tongsuopy.crypto import exceptions as ts_exceptions
from tongsuopy.crypto import hashes as ts_hashes
from tongsuopy.crypto import serialization as ts_serialization
from tongsuopy.crypto.asymciphers import ec as ts_ec

from ezhengzhao.errors import InvalidSignatureError, UnsupportedAlgorithmError
from ezhengzhao.sign import _sm2_prefix

if TYPE_CHECKING:
    from ezhengzhao.sign.keys import PrivateKey, PublicKey

__all__ = [
    "ECDSA_P256_SHA256",
    "ED25519",
    "OID_ECDSA_WITH_SHA256",
    "OID_EC_PUBLIC_KEY",
    "OID_ED25519",
    "OID_PRIME256V1",
    "OID_SM2_CURVE",
    "OID_SM2_WITH_SM3",
    "SM2_DEFAULT_ID",
    "SM2_SM3",
    "SUITES",
    "SignatureForm",
    "SignatureSuite",
    "Signer",
    "get_suite",
    "register_suite",
    "signature_to_der",
    "signature_to_raw",
    "suite_for_key_algorithm",
    "suite_for_signature_oid",
]

SM2_SM3 = "SM2-SM3"
ECDSA_P256_SHA256 = "ECDSA-P256-SHA256"
ED25519 = "Ed25519"

OID_SM2_WITH_SM3 = "1.2.156.10197.1.501"  # GM/T 0006: SM2 signature with SM3
OID_SM2_CURVE = "1.2.156.10197.1.301"  # GM/T 0006: the SM2 curve (sm2p256v1)
OID_EC_PUBLIC_KEY = "1.2.840.10045.2.1"  # RFC 5480 id-ecPublicKey
OID_PRIME256V1 = "1.2.840.10045.3.1.7"  # RFC 5480 secp256r1
OID_ECDSA_WITH_SHA256 = "1.2.840.10045.4.3.2"  # RFC 5758
OID_ED25519 = "1.3.101.112"  # RFC 8410 id-Ed25519 (key and signature)

# GM/T 0009-2012 §10: the user identity hashed into Z when the parties agreed on none.
SM2_DEFAULT_ID = b"1234567812345678"

SignatureForm = Literal["der", "raw"]
"""``der``: SEQUENCE { r INTEGER, s INTEGER }; ``raw``: fixed-width r ‖ s (or Ed25519's R ‖ S)."""

PreparedCheck = Callable[[bytes, bytes, "SignatureForm | None"], None]
"""``check(signature, rest, form)``: verify over a prepared prefix ‖ ``rest``, raising
InvalidSignatureError as ``_verify`` does."""


@dataclass(frozen=True, slots=True)
class SignatureSuite(ABC):
    """A signature algorithm bound to one key type.

    ``id`` is the stable name used in configuration and formats; ``signature_oid`` is the
    X.509 / GB/T 38540 signatureAlgorithm; ``key_algorithm`` is the SubjectPublicKeyInfo
    (algorithm OID, named-curve OID or None) this suite's keys are written with, and
    ``key_algorithm_aliases`` other spellings accepted when reading; ``signature_form`` is the
    form ``PrivateKey.sign`` returns and certificates and seals carry.

    Callers use ``generate()`` and the key objects. The underscore methods are the backend
    hooks a new suite implements before ``register_suite``; their key handles are opaque.
    """

    id: str
    signature_oid: str
    key_algorithm: tuple[str, str | None]
    signature_form: SignatureForm
    key_algorithm_aliases: tuple[tuple[str, str | None], ...] = ()

    def generate(self) -> PrivateKey:
        """A new random private key of this suite."""
        # keys.py imports this module; importing it back at call time keeps the layering
        # (suites know algorithms, keys wrap them) without a cycle at import time.
        from ezhengzhao.sign.keys import PrivateKey

        return PrivateKey._from_handle(self, self._generate())

    def __repr__(self) -> str:
        return f"SignatureSuite({self.id!r})"

    def __reduce__(self) -> tuple[object, tuple[str]]:
        # Unpickle (e.g. in a worker process) to the registered suite, not a copy of it.
        return get_suite, (self.id,)

    # -- backend hooks -----------------------------------------------------------------------

    @abstractmethod
    def _generate(self) -> object:
        """A new private-key handle."""

    @abstractmethod
    def _adopt(self, backend_key: object) -> object | None:
        """The private-key handle for a key object a backend loaded, or None if not ours."""

    @abstractmethod
    def _public_of(self, private: object) -> object:
        """The public-key handle of a private-key handle."""

    @abstractmethod
    def _public_from_bits(self, bits: bytes) -> object:
        """A public-key handle from SPKI subjectPublicKey bits; ValueError if invalid."""

    @abstractmethod
    def _public_bits(self, public: object) -> bytes:
        """The subjectPublicKey bits: uncompressed point 04‖x‖y, or the raw key."""

    @abstractmethod
    def _sign(self, private: object, data: bytes) -> bytes:
        """Sign ``data``; the result is in ``signature_form``."""

    @abstractmethod
    def _verify(
        self, public: object, signature: bytes, data: bytes, form: SignatureForm | None
    ) -> None:
        """Verify, raising InvalidSignatureError for any bad or malformed signature."""

    def _prepare(self, public: object, prefix: bytes) -> PreparedCheck | None:
        """A check of messages that begin with ``prefix``, having hashed it once; None (the
        default) when the backend only verifies whole messages."""
        return None

    @abstractmethod
    def _private_pem(self, private: object, passphrase: bytes | None) -> bytes:
        """PKCS#8 PEM, encrypted (PBES2) when a passphrase is given."""

    @abstractmethod
    def _to_raw(self, signature: bytes) -> bytes:
        """The raw form of a signature in any accepted form."""

    @abstractmethod
    def _to_der(self, signature: bytes) -> bytes:
        """The DER form of a signature in any accepted form (raw for suites without one)."""


@runtime_checkable
class Signer(Protocol):
    """Anything that signs for one public key: a PrivateKey here, an HSM or 密码机 later."""

    @property
    def suite(self) -> SignatureSuite:
        """The suite of the key."""
        ...

    @property
    def public_key(self) -> PublicKey:
        """The public key that verifies this signer's signatures."""
        ...

    def sign(self, data: bytes) -> bytes:
        """Sign ``data`` in the suite's ``signature_form`` (raw r‖s is tolerated for EC)."""
        ...


# -- SM2 and ECDSA: DER SEQUENCE{r, s} or raw r‖s -------------------------------------------------

_SCALAR_BYTES = 32  # both SM2 and P-256 have 256-bit group orders


def _strict_der_rs(signature: bytes) -> tuple[int, int] | None:
    """(r, s) if ``signature`` is exactly the DER encoding of a positive ECDSA-Sig-Value."""
    try:
        r, s = decode_dss_signature(signature)
    except ValueError:
        return None
    # Re-encoding catches BER leniencies (long-form lengths, padded integers) so that one
    # signature has exactly one accepted DER encoding.
    if encode_dss_signature(r, s) != signature:
        return None
    if not (0 < r < 1 << (8 * _SCALAR_BYTES) and 0 < s < 1 << (8 * _SCALAR_BYTES)):
        return None
    return r, s


def _ec_rs(signature: bytes, form: SignatureForm | None) -> tuple[int, int]:
    """(r, s) from a signature in ``form``; with no form, strict DER first, then 64-byte raw."""
    if form not in (None, "der", "raw"):
        raise ValueError(f"form must be 'der', 'raw' or None, not {form!r}")
    if not isinstance(signature, bytes | bytearray | memoryview):
        raise InvalidSignatureError("a signature must be bytes")
    signature = bytes(signature)
    if form in (None, "der"):
        rs = _strict_der_rs(signature)
        if rs is not None:
            return rs
        if form == "der":
            raise InvalidSignatureError("signature is not a DER SEQUENCE { r, s }")
    if form in (None, "raw") and len(signature) == 2 * _SCALAR_BYTES:
        return (
            int.from_bytes(signature[:_SCALAR_BYTES], "big"),
            int.from_bytes(signature[_SCALAR_BYTES:], "big"),
        )
    raise InvalidSignatureError(
        f"signature is neither DER nor {2 * _SCALAR_BYTES}-byte r‖s ({len(signature)} bytes)"
    )


def _der_of(signature: bytes, form: SignatureForm | None) -> bytes:
    """The canonical DER of an EC signature given in ``form`` (see :func:`_ec_rs`)."""
    if form == "raw" and type(signature) is bytes and len(signature) == 2 * _SCALAR_BYTES:
        # COSE's r ‖ s, as every QR code carries: straight to DER (what _ec_rs would do,
        # without its checks for the other forms and types).
        r = int.from_bytes(signature[:_SCALAR_BYTES], "big")
        s = int.from_bytes(signature[_SCALAR_BYTES:], "big")
        return encode_dss_signature(r, s)
    der_ok = form is None or form == "der"
    if der_ok and type(signature) is bytes and _strict_der_rs(signature) is not None:
        # Already the one DER encoding of (r, s): re-encoding would give the same bytes.
        return signature
    r, s = _ec_rs(signature, form)
    return encode_dss_signature(r, s)


@dataclass(frozen=True, slots=True, repr=False)
class _EcSuite(SignatureSuite, ABC):
    """Shared signature handling of the two ECDSA-shaped suites (SM2 and ECDSA P-256)."""

    @abstractmethod
    def _verify_der(self, public: object, der: bytes, data: bytes) -> None:
        """Verify a canonical DER signature (backend call)."""

    def _verify(
        self, public: object, signature: bytes, data: bytes, form: SignatureForm | None
    ) -> None:
        self._verify_der(public, _der_of(signature, form), data)

    def _to_raw(self, signature: bytes) -> bytes:
        r, s = _ec_rs(signature, None)
        return r.to_bytes(_SCALAR_BYTES, "big") + s.to_bytes(_SCALAR_BYTES, "big")

    def _to_der(self, signature: bytes) -> bytes:
        r, s = _ec_rs(signature, None)
        return encode_dss_signature(r, s)


@dataclass(frozen=True, slots=True, repr=False)
class _Sm2Suite(_EcSuite):
    """SM2 with SM3 (GM/T 0003, GM/T 0009 Z value, default identity), via tongsuopy."""

    def _generate(self) -> object:
        return ts_ec.generate_private_key(ts_ec.SM2())

    def _adopt(self, backend_key: object) -> object | None:
        if isinstance(backend_key, ts_ec.EllipticCurvePrivateKey) and isinstance(
            backend_key.curve, ts_ec.SM2
        ):
            return cast(object, backend_key)
        return None

    def _public_of(self, private: object) -> object:
        return cast(object, cast(ts_ec.EllipticCurvePrivateKey, private).public_key())

    def _public_from_bits(self, bits: bytes) -> object:
        try:
            return cast(object, ts_ec.EllipticCurvePublicKey.from_encoded_point(ts_ec.SM2(), bits))
        except (ValueError, ts_exceptions.InternalError) as exc:
            raise ValueError(f"not a point on the SM2 curve: {exc}") from exc

    def _public_bits(self, public: object) -> bytes:
        key = cast(ts_ec.EllipticCurvePublicKey, public)
        return cast(
            bytes,
            key.public_bytes(
                ts_serialization.Encoding.X962, ts_serialization.PublicFormat.UncompressedPoint
            ),
        )

    def _sign(self, private: object, data: bytes) -> bytes:
        key = cast(ts_ec.EllipticCurvePrivateKey, private)
        return bytes(key.sign(bytes(data), ts_ec.ECDSA(ts_hashes.SM3())))

    def _verify_der(self, public: object, der: bytes, data: bytes) -> None:
        key = cast(ts_ec.EllipticCurvePublicKey, public)
        try:
            key.verify(der, bytes(data), ts_ec.ECDSA(ts_hashes.SM3()))
        except (ts_exceptions.InvalidSignature, ts_exceptions.InternalError, ValueError) as exc:
            # InternalError is how tongsuopy reports an OpenSSL-level rejection (e.g. r ≥ n).
            raise InvalidSignatureError("SM2 signature does not verify") from exc

    def _prepare(self, public: object, prefix: bytes) -> PreparedCheck | None:
        state = _sm2_prefix.prepare(public, prefix)
        if state is None:
            return None

        def check(signature: bytes, rest: bytes, form: SignatureForm | None) -> None:
            der = _der_of(signature, form)
            ok = state.verify(der, rest)
            if ok is None:  # no context to be had just now: the whole message, as ever
                self._verify_der(public, der, prefix + rest)
            elif not ok:
                raise InvalidSignatureError("SM2 signature does not verify")

        return check

    def _private_pem(self, private: object, passphrase: bytes | None) -> bytes:
        key = cast(ts_ec.EllipticCurvePrivateKey, private)
        encryption = (
            ts_serialization.BestAvailableEncryption(passphrase)
            if passphrase is not None
            else ts_serialization.NoEncryption()
        )
        return cast(
            bytes,
            key.private_bytes(
                ts_serialization.Encoding.PEM, ts_serialization.PrivateFormat.PKCS8, encryption
            ),
        )


@dataclass(frozen=True, slots=True, repr=False)
class _P256Suite(_EcSuite):
    """ECDSA on P-256 with SHA-256 (FIPS 186-4, RFC 5480), via cryptography."""

    def _generate(self) -> object:
        return cg_ec.generate_private_key(cg_ec.SECP256R1())

    def _adopt(self, backend_key: object) -> object | None:
        if isinstance(backend_key, cg_ec.EllipticCurvePrivateKey) and isinstance(
            backend_key.curve, cg_ec.SECP256R1
        ):
            return backend_key
        return None

    def _public_of(self, private: object) -> object:
        return cast(cg_ec.EllipticCurvePrivateKey, private).public_key()

    def _public_from_bits(self, bits: bytes) -> object:
        return cg_ec.EllipticCurvePublicKey.from_encoded_point(cg_ec.SECP256R1(), bits)

    def _public_bits(self, public: object) -> bytes:
        return cast(cg_ec.EllipticCurvePublicKey, public).public_bytes(
            cg_serialization.Encoding.X962, cg_serialization.PublicFormat.UncompressedPoint
        )

    def _sign(self, private: object, data: bytes) -> bytes:
        key = cast(cg_ec.EllipticCurvePrivateKey, private)
        return key.sign(bytes(data), cg_ec.ECDSA(cg_hashes.SHA256()))

    def _verify_der(self, public: object, der: bytes, data: bytes) -> None:
        key = cast(cg_ec.EllipticCurvePublicKey, public)
        try:
            key.verify(der, bytes(data), cg_ec.ECDSA(cg_hashes.SHA256()))
        except _CgInvalidSignature as exc:
            raise InvalidSignatureError("ECDSA signature does not verify") from exc

    def _private_pem(self, private: object, passphrase: bytes | None) -> bytes:
        return _cg_private_pem(cast(cg_ec.EllipticCurvePrivateKey, private), passphrase)


@dataclass(frozen=True, slots=True, repr=False)
class _Ed25519Suite(SignatureSuite):
    """Ed25519 (RFC 8032, keys per RFC 8410), via cryptography; signatures are always raw."""

    def _generate(self) -> object:
        return cg_ed25519.Ed25519PrivateKey.generate()

    def _adopt(self, backend_key: object) -> object | None:
        return backend_key if isinstance(backend_key, cg_ed25519.Ed25519PrivateKey) else None

    def _public_of(self, private: object) -> object:
        return cast(cg_ed25519.Ed25519PrivateKey, private).public_key()

    def _public_from_bits(self, bits: bytes) -> object:
        return cg_ed25519.Ed25519PublicKey.from_public_bytes(bits)

    def _public_bits(self, public: object) -> bytes:
        return cast(cg_ed25519.Ed25519PublicKey, public).public_bytes(
            cg_serialization.Encoding.Raw, cg_serialization.PublicFormat.Raw
        )

    def _sign(self, private: object, data: bytes) -> bytes:
        return cast(cg_ed25519.Ed25519PrivateKey, private).sign(bytes(data))

    def _verify(
        self, public: object, signature: bytes, data: bytes, form: SignatureForm | None
    ) -> None:
        if form not in (None, "der", "raw"):
            raise ValueError(f"form must be 'der', 'raw' or None, not {form!r}")
        if form == "der":
            raise InvalidSignatureError("Ed25519 signatures have no DER form")
        signature = self._to_raw(signature)
        try:
            cast(cg_ed25519.Ed25519PublicKey, public).verify(signature, bytes(data))
        except _CgInvalidSignature as exc:
            raise InvalidSignatureError("Ed25519 signature does not verify") from exc

    def _private_pem(self, private: object, passphrase: bytes | None) -> bytes:
        return _cg_private_pem(cast(cg_ed25519.Ed25519PrivateKey, private), passphrase)

    def _to_raw(self, signature: bytes) -> bytes:
        if not isinstance(signature, bytes | bytearray | memoryview) or len(signature) != 64:
            raise InvalidSignatureError("an Ed25519 signature is exactly 64 bytes")
        return bytes(signature)

    def _to_der(self, signature: bytes) -> bytes:
        # RFC 8410 §6: X.509 carries the 64 raw bytes; there is no other form.
        return self._to_raw(signature)


def _cg_private_pem(
    key: cg_ec.EllipticCurvePrivateKey | cg_ed25519.Ed25519PrivateKey, passphrase: bytes | None
) -> bytes:
    encryption: cg_serialization.KeySerializationEncryption = (
        cg_serialization.BestAvailableEncryption(passphrase)
        if passphrase is not None
        else cg_serialization.NoEncryption()
    )
    return key.private_bytes(
        cg_serialization.Encoding.PEM, cg_serialization.PrivateFormat.PKCS8, encryption
    )


# -- registry ---------------------------------------------------------------------------------

_REGISTRY: dict[str, SignatureSuite] = {}

SUITES: Mapping[str, SignatureSuite] = MappingProxyType(_REGISTRY)
"""Every registered suite by id (read-only view)."""


def register_suite(suite: SignatureSuite) -> SignatureSuite:
    """Register ``suite`` under its id; ids, signature OIDs and key algorithms must be new."""
    for other in _REGISTRY.values():
        if other == suite:
            return other
        if other.id == suite.id:
            raise ValueError(f"a suite with id {suite.id!r} is already registered")
        if other.signature_oid == suite.signature_oid:
            raise ValueError(f"signature OID {suite.signature_oid} already belongs to {other.id}")
        mine = {suite.key_algorithm, *suite.key_algorithm_aliases}
        theirs = {other.key_algorithm, *other.key_algorithm_aliases}
        if mine & theirs:
            raise ValueError(f"key algorithm of {suite.id} already belongs to {other.id}")
    _REGISTRY[suite.id] = suite
    return suite


def get_suite(suite_id: str) -> SignatureSuite:
    """The suite registered as ``suite_id``; UnsupportedAlgorithmError if none."""
    try:
        return _REGISTRY[suite_id]
    except (KeyError, TypeError):
        raise UnsupportedAlgorithmError(f"unknown signature suite {suite_id!r}") from None


def suite_for_signature_oid(oid: str) -> SignatureSuite:
    """The suite whose signatureAlgorithm OID is ``oid``; UnsupportedAlgorithmError if none."""
    for suite in _REGISTRY.values():
        if suite.signature_oid == oid:
            return suite
    raise UnsupportedAlgorithmError(f"unknown signature algorithm OID {oid}")


def suite_for_key_algorithm(algorithm_oid: str, parameters_oid: str | None) -> SignatureSuite:
    """The suite of a SubjectPublicKeyInfo algorithm (and named curve, for EC keys)."""
    wanted = (algorithm_oid, parameters_oid)
    for suite in _REGISTRY.values():
        if wanted == suite.key_algorithm or wanted in suite.key_algorithm_aliases:
            return suite
    curve = f" on curve {parameters_oid}" if parameters_oid else ""
    raise UnsupportedAlgorithmError(f"unsupported public key algorithm {algorithm_oid}{curve}")


def _as_suite(suite: SignatureSuite | str) -> SignatureSuite:
    return suite if isinstance(suite, SignatureSuite) else get_suite(suite)


def signature_to_raw(der: bytes, suite: SignatureSuite | str) -> bytes:
    """A signature as fixed-width r ‖ s (64 bytes); InvalidSignatureError if malformed.

    Accepts either form, so it is safe to call on signatures of unknown origin. Ed25519
    signatures are returned unchanged (they are raw already).
    """
    return _as_suite(suite)._to_raw(der)


def signature_to_der(raw: bytes, suite: SignatureSuite | str) -> bytes:
    """A signature as DER SEQUENCE { r, s }; InvalidSignatureError if malformed.

    Accepts either form. Ed25519 has no DER form: its 64 bytes are returned unchanged.
    """
    return _as_suite(suite)._to_der(raw)


register_suite(
    _Sm2Suite(
        id=SM2_SM3,
        signature_oid=OID_SM2_WITH_SM3,
        key_algorithm=(OID_EC_PUBLIC_KEY, OID_SM2_CURVE),
        signature_form="der",
        # Some GM/T implementations name the key by the SM2 OID itself, with no curve.
        key_algorithm_aliases=((OID_SM2_CURVE, None), (OID_SM2_CURVE, OID_SM2_CURVE)),
    )
)
register_suite(
    _P256Suite(
        id=ECDSA_P256_SHA256,
        signature_oid=OID_ECDSA_WITH_SHA256,
        key_algorithm=(OID_EC_PUBLIC_KEY, OID_PRIME256V1),
        signature_form="der",
    )
)
register_suite(
    _Ed25519Suite(
        id=ED25519,
        signature_oid=OID_ED25519,
        key_algorithm=(OID_ED25519, None),
        signature_form="raw",
    )
)
