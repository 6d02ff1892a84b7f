"""Keys — public and private keys bound to their signature suite; load, save, generate.

Private keys are written as PKCS#8 PEM (RFC 5958), encrypted with PBES2 (RFC 8018) when a
passphrase is given. Public keys are SubjectPublicKeyInfo (RFC 5280 §4.1.2.7); the suite is
read from the algorithm identifier, so a key can only ever verify with its own algorithm.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import cast

from cryptography.exceptions import UnsupportedAlgorithm as _CgUnsupported
from cryptography.hazmat.primitives import serialization as cg_serialization
from pyasn1.type import univ
from pyasn1_modules import rfc5280
from tongsuopy.crypto import exceptions as ts_exceptions
from tongsuopy.crypto import serialization as ts_serialization

from ezhengzhao.errors import (
    AlgorithmMismatchError,
    DecodeError,
    KeyLoadError,
    UnsupportedAlgorithmError,
    WrongPassphraseError,
)
from ezhengzhao.sign import _der
from ezhengzhao.sign.suites import (
    SUITES,
    PreparedCheck,
    SignatureForm,
    SignatureSuite,
    Signer,
    get_suite,
    suite_for_key_algorithm,
)

__all__ = [
    "PreparedVerifier",
    "PrivateKey",
    "PublicKey",
    "Signer",
    "generate_private_key",
    "load_private_key",
    "load_public_key",
    "save_private_key",
]


@dataclass(frozen=True, slots=True)
class PublicKey:
    """A verifying key and the suite it belongs to.

    Equal keys have equal suites and equal SubjectPublicKeyInfo DER.
    """

    suite: SignatureSuite
    _handle: object = field(repr=False, compare=False)
    _spki: bytes = field(repr=False)

    @classmethod
    def _from_handle(cls, suite: SignatureSuite, handle: object) -> PublicKey:
        return cls(suite, handle, _encode_spki(suite, suite._public_bits(handle)))

    @classmethod
    def from_spki_der(cls, der: bytes) -> PublicKey:
        """Load a DER SubjectPublicKeyInfo, taking the suite from its algorithm identifier.

        KeyLoadError if malformed, UnsupportedAlgorithmError for a key type no suite has.
        """
        algorithm_oid, parameters_oid, bits = _parse_spki(der)
        suite = suite_for_key_algorithm(algorithm_oid, parameters_oid)
        try:
            handle = suite._public_from_bits(bits)
        except ValueError as exc:
            raise KeyLoadError(f"invalid {suite.id} public key: {exc}") from exc
        return cls._from_handle(suite, handle)

    def verify(
        self,
        signature: bytes,
        data: bytes,
        *,
        algorithm: str | None = None,
        form: SignatureForm | None = None,
    ) -> None:
        """Return if ``signature`` over ``data`` verifies under this key; raise otherwise.

        ``algorithm`` is what the message claims (a suite id or a signatureAlgorithm OID); it
        is only compared with this key's suite — AlgorithmMismatchError if it differs — never
        used to choose the algorithm. ``form`` is ``"der"`` or ``"raw"`` (r ‖ s); None accepts
        either (strict DER first, then 64-byte raw). A bad or malformed signature raises
        InvalidSignatureError.
        """
        self._check_claim(algorithm)
        if not isinstance(data, bytes | bytearray | memoryview):
            raise TypeError("data must be bytes")
        self.suite._verify(self._handle, signature, bytes(data), form)

    def prepare(self, prefix: bytes) -> PreparedVerifier:
        """A verifier for messages that all begin with ``prefix``.

        ``prepare(p).verify(sig, rest)`` is ``verify(sig, p + rest)``. For SM2 the prefix is
        hashed once here instead of in every check, which is what a seal is to the TBS_Sign of
        every licence sealed with it; other suites verify the joined message.
        """
        return PreparedVerifier(self, prefix)

    def _check_claim(self, algorithm: str | None) -> None:
        if algorithm is not None and algorithm not in (self.suite.id, self.suite.signature_oid):
            raise AlgorithmMismatchError(
                f"signature claims {algorithm!r} but the key is {self.suite.id}"
            )

    def spki_der(self) -> bytes:
        """The DER SubjectPublicKeyInfo (EC points uncompressed)."""
        return self._spki

    def public_bytes(self) -> bytes:
        """The subjectPublicKey bits: ``04 ‖ x ‖ y`` for SM2/P-256, 32 bytes for Ed25519."""
        return self.suite._public_bits(self._handle)

    def to_pem(self) -> bytes:
        """The SubjectPublicKeyInfo as PEM (``PUBLIC KEY``)."""
        return _der.pem_encode("PUBLIC KEY", self._spki)

    def __reduce__(self) -> tuple[object, tuple[bytes]]:
        # The backend handle cannot be pickled; the SPKI rebuilds it (process pools).
        return PublicKey.from_spki_der, (self._spki,)


class PreparedVerifier:
    """A public key made ready for messages that begin with ``prefix`` (see
    :meth:`PublicKey.prepare`, which is the same as calling this class).

    Immutable: the key, the prefix and the hash state kept after it are fixed together when it
    is made, so one instance serves any number of threads.
    """

    __slots__ = ("_check", "_key", "_prefix")

    def __init__(self, key: PublicKey, prefix: bytes) -> None:
        if not isinstance(key, PublicKey):
            raise TypeError("key must be a PublicKey")
        if not isinstance(prefix, bytes | bytearray | memoryview):
            raise TypeError("prefix must be bytes")
        prefix = bytes(prefix)
        self._key = key
        self._prefix = prefix
        self._check: PreparedCheck | None = key.suite._prepare(key._handle, prefix)

    @property
    def key(self) -> PublicKey:
        return self._key

    @property
    def prefix(self) -> bytes:
        return self._prefix

    @property
    def streaming(self) -> bool:
        """Whether the prefix was hashed once (SM2 on a capable tongsuopy) rather than joined
        to every message."""
        return self._check is not None

    def verify(
        self,
        signature: bytes,
        rest: bytes,
        *,
        algorithm: str | None = None,
        form: SignatureForm | None = None,
    ) -> None:
        """What ``key.verify(signature, prefix + rest, ...)`` does, with the same errors."""
        if self._check is None:
            if not isinstance(rest, bytes | bytearray | memoryview):
                raise TypeError("data must be bytes")
            self._key.verify(signature, self._prefix + rest, algorithm=algorithm, form=form)
            return
        self._key._check_claim(algorithm)
        if not isinstance(rest, bytes | bytearray | memoryview):
            raise TypeError("data must be bytes")
        self._check(signature, bytes(rest), form)

    def __repr__(self) -> str:
        return f"PreparedVerifier(key={self._key!r}, prefix={len(self._prefix)} bytes)"

    def __setattr__(self, name: str, value: object) -> None:
        if hasattr(self, name):
            raise AttributeError(f"PreparedVerifier is immutable: cannot set {name}")
        object.__setattr__(self, name, value)


@dataclass(frozen=True, slots=True, eq=False)
class PrivateKey:
    """A signing key and the suite it belongs to. Compares by identity."""

    suite: SignatureSuite
    _handle: object = field(repr=False)
    _public: PublicKey = field(repr=False)

    @classmethod
    def _from_handle(cls, suite: SignatureSuite, handle: object) -> PrivateKey:
        return cls(suite, handle, PublicKey._from_handle(suite, suite._public_of(handle)))

    @property
    def public_key(self) -> PublicKey:
        """The matching public key."""
        return self._public

    def sign(self, data: bytes) -> bytes:
        """Sign ``data``: DER SEQUENCE { r, s } for SM2 and ECDSA, 64 bytes for Ed25519."""
        if not isinstance(data, bytes | bytearray | memoryview):
            raise TypeError("data must be bytes")
        return self.suite._sign(self._handle, bytes(data))

    def __reduce__(self) -> tuple[object, ...]:
        # Secrets leave the process only on purpose, through to_pem.
        raise TypeError("a PrivateKey cannot be pickled: export it with to_pem(passphrase)")

    def to_pem(self, passphrase: bytes | None = None) -> bytes:
        """PKCS#8 PEM; encrypted with PBES2 when ``passphrase`` is given (never empty)."""
        if passphrase is not None:
            if not isinstance(passphrase, bytes):
                raise TypeError("passphrase must be bytes")
            if not passphrase:
                raise ValueError("an empty passphrase would not protect the key")
        return self.suite._private_pem(self._handle, passphrase)


def generate_private_key(suite_id: str) -> PrivateKey:
    """A new private key of the suite ``suite_id`` (e.g. ``"SM2-SM3"``)."""
    return get_suite(suite_id).generate()


def load_public_key(data: bytes) -> PublicKey:
    """Load a public key from PEM (``PUBLIC KEY``) or DER SubjectPublicKeyInfo."""
    data = _require_bytes(data)
    if _der.looks_like_pem(data):
        try:
            blocks = _der.pem_blocks(data)
        except DecodeError as exc:
            raise KeyLoadError(str(exc)) from exc
        bodies = [body for label, body, _ in blocks if label == "PUBLIC KEY"]
        if not bodies:
            raise KeyLoadError("no PUBLIC KEY block in the PEM")
        data = bodies[0]
    return PublicKey.from_spki_der(data)


def load_private_key(data: bytes, passphrase: bytes | None = None) -> PrivateKey:
    """Load a private key from PEM or DER (PKCS#8, encrypted PKCS#8 or SEC 1 EC keys).

    WrongPassphraseError when the key is encrypted and the passphrase is missing or wrong
    (or a passphrase is given for a key that is not encrypted); UnsupportedAlgorithmError for
    a key type no suite has; KeyLoadError for anything else that is not a key.
    """
    data = _require_bytes(data)
    if passphrase is not None and not isinstance(passphrase, bytes):
        raise TypeError("passphrase must be bytes")
    blob, is_pem, encrypted = _locate_private_key(data)
    if encrypted and not passphrase:
        raise WrongPassphraseError("the private key is encrypted: a passphrase is needed")
    if not encrypted and passphrase is not None:
        raise WrongPassphraseError("a passphrase was given but the private key is not encrypted")

    unsupported = False
    for load in (_load_with_cryptography, _load_with_tongsuopy):
        try:
            backend_key = load(blob, is_pem, passphrase)
        except _Unsupported:
            unsupported = True
            continue
        except _NotLoaded:
            continue
        for suite in SUITES.values():
            handle = suite._adopt(backend_key)
            if handle is not None:
                return PrivateKey._from_handle(suite, handle)
        unsupported = True
    if unsupported:
        raise UnsupportedAlgorithmError("the private key is of a type no signature suite supports")
    if encrypted:
        # Both backends failed to decrypt. A wrong passphrase is by far the likeliest cause;
        # CBC padding makes ~1/256 wrong passphrases decrypt to garbage rather than fail.
        raise WrongPassphraseError("wrong passphrase (or the encrypted key is damaged)")
    raise KeyLoadError("not a private key in PEM or DER (PKCS#8 or SEC 1)")


def save_private_key(
    key: PrivateKey, path: str | os.PathLike[str], passphrase: bytes | None = None
) -> None:
    """Write ``key`` as PKCS#8 PEM to ``path`` atomically, readable by the owner only (0600).

    The PEM goes to a temporary file in the same directory, is flushed to disk and then
    renamed over ``path``, so a crash leaves either the old file or the new one, never half.
    """
    pem = key.to_pem(passphrase)
    target = Path(path)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    try:
        if hasattr(os, "fchmod"):
            os.fchmod(fd, 0o600)  # mkstemp already uses 0600; say so explicitly
        with os.fdopen(fd, "wb") as handle:
            handle.write(pem)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp_name, target)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp_name)
        raise
    _fsync_directory(target.parent)


# -- internals ---------------------------------------------------------------------------------


class _NotLoaded(Exception):
    """A backend could not load the key (wrong format, wrong passphrase, garbage)."""


class _Unsupported(Exception):
    """A backend loaded the key but does not support its type."""


def _require_bytes(data: object) -> bytes:
    if isinstance(data, str):
        return data.encode("utf-8")
    if not isinstance(data, bytes | bytearray | memoryview):
        raise TypeError("key data must be bytes")
    return bytes(data)


def _fsync_directory(directory: Path) -> None:
    """Persist a rename (POSIX); a no-op where directories cannot be opened."""
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def _locate_private_key(data: bytes) -> tuple[bytes, bool, bool]:
    """(the key's PEM block or DER, whether PEM, whether encrypted) — KeyLoadError if none."""
    if _der.looks_like_pem(data):
        try:
            blocks = _der.pem_blocks(data)
        except DecodeError as exc:
            raise KeyLoadError(str(exc)) from exc
        for label, _, raw in blocks:
            if label.endswith("PRIVATE KEY"):
                encrypted = label == "ENCRYPTED PRIVATE KEY" or b"Proc-Type: 4,ENCRYPTED" in raw
                return raw, True, encrypted
        raise KeyLoadError("no PRIVATE KEY block in the PEM")
    try:
        children = _der.sequence_children(data)
    except DecodeError as exc:
        raise KeyLoadError(f"not a private key: {exc}") from exc
    if not children:
        raise KeyLoadError("not a private key: empty SEQUENCE")
    # EncryptedPrivateKeyInfo starts with an AlgorithmIdentifier (SEQUENCE); PrivateKeyInfo and
    # SEC 1 ECPrivateKey start with a version INTEGER.
    return data, False, children[0][:1] == b"\x30"


def _load_with_cryptography(blob: bytes, is_pem: bool, passphrase: bytes | None) -> object:
    loader = (
        cg_serialization.load_pem_private_key if is_pem else cg_serialization.load_der_private_key
    )
    try:
        return loader(blob, passphrase)
    except _CgUnsupported as exc:
        raise _Unsupported(str(exc)) from exc
    except (ValueError, TypeError) as exc:
        raise _NotLoaded(str(exc)) from exc


def _load_with_tongsuopy(blob: bytes, is_pem: bool, passphrase: bytes | None) -> object:
    loader = (
        ts_serialization.load_pem_private_key if is_pem else ts_serialization.load_der_private_key
    )
    try:
        return cast(object, loader(blob, passphrase))
    except ts_exceptions.UnsupportedAlgorithm as exc:
        raise _Unsupported(str(exc)) from exc
    except (ValueError, TypeError, ts_exceptions.InternalError) as exc:
        raise _NotLoaded(str(exc)) from exc


def _parse_spki(der: bytes) -> tuple[str, str | None, bytes]:
    """(algorithm OID, named-curve OID or None, subjectPublicKey bytes) of a DER SPKI."""
    der = _require_bytes(der)
    try:
        spki = _der.decode(der, rfc5280.SubjectPublicKeyInfo())
        algorithm_oid = str(spki["algorithm"]["algorithm"])
        parameters_oid: str | None = None
        parameters = spki["algorithm"]["parameters"]
        if parameters.isValue:
            raw_parameters = bytes(parameters)
            if raw_parameters[:1] == b"\x06":
                parameters_oid = str(_der.decode(raw_parameters, univ.ObjectIdentifier()))
            elif raw_parameters == b"\x05\x00":
                parameters_oid = None  # NULL: treated like absent
            else:
                raise UnsupportedAlgorithmError(
                    "explicit or implicit curve parameters are not supported (RFC 5480 §2.1.1)"
                )
        bit_string = spki["subjectPublicKey"]
        whole_octets = len(bit_string) % 8 == 0
        bits = cast(bytes, bit_string.asOctets())
    except _der.PARSE_ERRORS as exc:  # includes DecodeError (a ValueError)
        raise KeyLoadError(f"not a SubjectPublicKeyInfo: {exc}") from exc
    if not whole_octets:
        raise KeyLoadError("subjectPublicKey is not a whole number of octets")
    return algorithm_oid, parameters_oid, bits


def _encode_spki(suite: SignatureSuite, bits: bytes) -> bytes:
    algorithm_oid, parameters_oid = suite.key_algorithm
    spki = rfc5280.SubjectPublicKeyInfo()
    spki["algorithm"]["algorithm"] = univ.ObjectIdentifier(algorithm_oid)
    if parameters_oid is not None:
        spki["algorithm"]["parameters"] = _der.encode(univ.ObjectIdentifier(parameters_oid))
    spki["subjectPublicKey"] = univ.BitString.fromOctetString(bits)
    return _der.encode(spki)
