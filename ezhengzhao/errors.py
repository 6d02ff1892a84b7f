"""Exceptions raised by ezhengzhao.

Problems with a licence being verified are *results*, not exceptions: ``Verifier.verify``
returns a ``VerificationResult`` for any document, however broken. Exceptions are for callers
and configuration: malformed input handed to a codec, a wrong passphrase, an issuance that
violates the catalogue, a verifier built without trust.

The tree::

    EzhengzhaoError
    ├── InputError (also ValueError)     malformed input to a codec or loader
    │   ├── LicenceFormatError            a licence document; ``.path`` names the field
    │   ├── CodeError                     a 证照标识 / USCC / ID number / region code
    │   ├── DecodeError                   JSON, DER, PEM, base64 that does not parse
    │   │   └── PayloadError                  a QR text or token; ``.stage`` says which layer
    │   ├── ImageError                        an image that cannot be read or holds no code
    │   └── KeyLoadError                  a key file that cannot be loaded
    │       └── WrongPassphraseError
    ├── CatalogueError                    a catalogue file or an unknown licence type
    ├── CryptoError
    │   ├── InvalidSignatureError         a signature does not verify
    │   ├── AlgorithmMismatchError        a signature claims another algorithm than its key's
    │   └── UnsupportedAlgorithmError     an algorithm or key type ezhengzhao does not know
    ├── CertificateError                  a certificate or chain fails a check; ``.reason``
    ├── SealError                         a GB/T 38540 seal cannot be made or fails a check
    │   └── FontNotFoundError             no CJK font to draw the seal picture
    ├── IssuanceError                     a draft cannot be issued as given
    ├── CertLogicError                    a CertLogic expression is invalid or failed to evaluate
    ├── RegistryError                     the issuer registry refuses an operation; ``.reason``
    ├── TrustListError                    a signed trust list is refused; ``.reason``
    ├── RuleSetError                      a rule set is malformed or refused; ``.reason``
    ├── StatusUnavailable                 no trustworthy, current status list for a URI
    ├── FetchError                        a list cannot be fetched from a URL; ``.reason``
    ├── ReplayCacheError                  a replay cache cannot say whether a token was used
    │   └── ReplayCacheFullError
    └── ConfigurationError                e.g. a Verifier without a trust store
"""

from __future__ import annotations

__all__ = [
    "AlgorithmMismatchError",
    "CatalogueError",
    "CertLogicError",
    "CertificateError",
    "CodeError",
    "ConfigurationError",
    "CryptoError",
    "DecodeError",
    "EzhengzhaoError",
    "FetchError",
    "FontNotFoundError",
    "ImageError",
    "InputError",
    "InvalidSignatureError",
    "IssuanceError",
    "KeyLoadError",
    "LicenceFormatError",
    "PayloadError",
    "RegistryError",
    "ReplayCacheError",
    "ReplayCacheFullError",
    "RuleSetError",
    "SealError",
    "StatusUnavailable",
    "TrustListError",
    "UnsupportedAlgorithmError",
    "WrongPassphraseError",
]


class EzhengzhaoError(Exception):
    """Base of every exception ezhengzhao raises on purpose."""


class InputError(EzhengzhaoError, ValueError):
    """Input handed to a codec or loader is malformed."""


class LicenceFormatError(InputError):
    """A licence document violates ``ezz/licence/1``; ``path`` names the offending field."""

    def __init__(self, path: str, problem: str) -> None:
        self.path = path
        self.problem = problem
        super().__init__(f"{path}: {problem}" if path else problem)


class CodeError(InputError):
    """A 证照标识, 统一社会信用代码, 公民身份号码 or 行政区划代码 is malformed."""


class DecodeError(InputError):
    """Bytes or text (JSON, DER, PEM, base64) do not parse."""


class PayloadError(DecodeError):
    """A QR text or token fails to decode; ``stage`` names the layer.

    Stages: ``prefix``, ``base45``, ``zlib``, ``cbor``, ``cose``, ``claims``.
    """

    def __init__(self, stage: str, message: str) -> None:
        self.stage = stage
        super().__init__(message)


class ImageError(InputError):
    """An image cannot be read (format, size limits) or holds no readable code; ``reason``
    is one of ``not_an_image``, ``image_too_large``, ``no_code_found``."""

    def __init__(self, reason: str, message: str) -> None:
        self.reason = reason
        super().__init__(message)


class KeyLoadError(InputError):
    """A key cannot be loaded (not PEM/DER, wrong type, unsupported curve)."""


class WrongPassphraseError(KeyLoadError):
    """An encrypted private key was given a wrong or missing passphrase."""


class CatalogueError(EzhengzhaoError):
    """A catalogue file is invalid, or a licence type is not in the catalogue."""


class CryptoError(EzhengzhaoError):
    """A cryptographic operation failed."""


class InvalidSignatureError(CryptoError):
    """A signature does not verify under the given key."""


class AlgorithmMismatchError(CryptoError):
    """A signature names another algorithm than the one bound to the verifying key."""


class UnsupportedAlgorithmError(CryptoError):
    """An algorithm identifier, key type or curve that ezhengzhao does not support."""


class CertificateError(EzhengzhaoError):
    """A certificate is malformed or fails a check; ``reason`` is a stable reason code."""

    def __init__(self, reason: str, message: str) -> None:
        self.reason = reason
        super().__init__(message)


class SealError(EzhengzhaoError):
    """An electronic seal (GB/T 38540) cannot be made, or fails a check."""


class FontNotFoundError(SealError):
    """No font with Chinese glyphs was found to draw a seal picture or card."""


class IssuanceError(EzhengzhaoError):
    """A licence draft cannot be issued (catalogue violation, bad identifier, key mismatch)."""


class CertLogicError(EzhengzhaoError):
    """A CertLogic expression is invalid, or failed while being evaluated."""


class RegistryError(EzhengzhaoError):
    """The registry's state refuses an operation; ``reason`` is a stable code.

    Reasons: ``not_found`` (unknown licence or status list), ``request_id_reused`` (another
    draft under a used request id), ``duplicate_licence`` (the 证照标识 is already stored),
    ``revoked`` (the licence is INVALID: revocation is final), ``superseded`` (a newer version
    exists), ``not_suspended`` (reinstating a licence that is not suspended),
    ``already_suspended``, ``wrong_issuer`` / ``wrong_type`` (a re-issue that does not continue
    the old licence), ``version_limit`` (version 999 cannot be re-issued), ``schema_version``
    (a database written by an unknown version), ``closed`` (the registry was closed),
    ``list_full`` and ``corrupt`` (database states the registry never writes).
    """

    def __init__(self, reason: str, message: str | None = None) -> None:
        self.reason = reason
        super().__init__(message or reason)


class TrustListError(EzhengzhaoError):
    """A trust list was refused; ``reason`` is one of ``ezhengzhao.trust.lists.REASON_CODES``.

    ``trust_list_signature_invalid``  no anchor with the list's kid verifies its signature
    ``trust_list_untrusted_anchor``   no configured anchor has the kid, the anchor is not valid
                                      now, or ``issuer`` does not name the signing anchor
    ``trust_list_rollback``           a lower sequence than the one held for the same issuer
                                      and region, or another list under the same sequence
    ``trust_list_stale``              past ``next_update`` plus the grace period
    ``trust_list_malformed``          the bytes are not a well-formed trust list
    """

    def __init__(self, reason: str, message: str) -> None:
        self.reason = reason
        super().__init__(message)


class RuleSetError(EzhengzhaoError):
    """A rule or rule set is malformed or refused; ``reason`` is one of these.

    ``rule_set_malformed``          a rule or rule set breaks the format; ``path`` names the field
    ``rule_set_untrusted_signer``   no certificate registered for the rule set's region has its
                                    kid, or that certificate is not valid now
    ``rule_set_signature_invalid``  the signature does not verify with the registered certificate
    ``rule_set_rollback``           a lower version than the one held for the region, or another
                                    rule set under the same version
    """

    def __init__(self, reason: str, message: str, *, path: str = "") -> None:
        self.reason = reason
        self.path = path
        super().__init__(f"{path}: {message}" if path else message)


class StatusUnavailable(EzhengzhaoError):
    """No trustworthy, current status list can be had for a URI; ``uri`` names it."""

    def __init__(self, uri: str, problem: str) -> None:
        self.uri = uri
        self.problem = problem
        super().__init__(f"status list {uri}: {problem}")


class FetchError(EzhengzhaoError):
    """A trust list, status list or rule set cannot be fetched from ``url``; ``reason`` says why.

    ``url``          the URL is malformed or names no host
    ``scheme``       not an http, https or file URL
    ``redirect``     a redirect to another scheme, from https to http, or too many redirects
    ``http_status``  the server answered something other than 200
    ``too_large``    the body is (or announces itself) larger than the limit
    ``timeout``      the server did not answer, or the transfer did not end, in time
    ``connection``   the server or file cannot be reached or read, or the body was cut short
    ``encoding``     the body came with a Content-Encoding other than identity
    """

    def __init__(self, reason: str, url: str, message: str) -> None:
        self.reason = reason
        self.url = url
        super().__init__(f"{url}: {message}")


class ReplayCacheError(EzhengzhaoError):
    """A replay cache cannot record a claim; whether the token was used is unknown."""


class ReplayCacheFullError(ReplayCacheError):
    """A bounded replay cache is full of entries that have not expired yet."""


class ConfigurationError(EzhengzhaoError):
    """ezhengzhao was configured in a way that cannot work (e.g. no trust store)."""
