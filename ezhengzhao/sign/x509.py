"""X.509 certificates (RFC 5280) for SM2, ECDSA P-256 and Ed25519: build, parse, check chains.

``cryptography`` has no SM2, so this small layer works on pyasn1-modules' RFC 5280 types and
signs through the signature suites; the same code builds P-256 and Ed25519 certificates.
SM2 certificates follow GM/T 0015 (SPKI id-ecPublicKey + SM2 curve, signatureAlgorithm
SM2-with-SM3 ``1.2.156.10197.1.501`` without parameters, signature DER SEQUENCE{r, s} computed
with the default GM/T 0009 identity); OpenSSL 3 verifies them with
``openssl verify -vfyopt distid:1234567812345678``. (OpenSSL attaches that identity to the
target certificate only, so a chain with an SM2 intermediate fails in one command; every
link verifies on its own.)

Parsing (``Certificate.from_der``) knows no policy: it rejects only what is malformed.
``check_chain`` decides, raising ``CertificateError`` with one of these stable reasons:

``certificate_untrusted``            no path from the certificate to a given root
``certificate_signature_invalid``    a signature in the path does not verify
``certificate_not_yet_valid``        a certificate in the path is not valid yet at ``at``
``certificate_expired``              a certificate in the path has expired at ``at``
``certificate_not_ca``               an issuer lacks CA basicConstraints or keyCertSign
``certificate_key_usage``            the leaf lacks the required key usage
``certificate_path_length``          an issuer's pathLenConstraint is exceeded
``certificate_unhandled_critical_extension``  a critical extension this layer cannot process

and parsing raises ``certificate_malformed`` (bytes that are not a certificate) or
``certificate_unsupported_algorithm`` (a key type no suite supports, e.g. RSA).
"""

from __future__ import annotations

import hashlib
import re
import secrets
from collections.abc import Iterable, MutableSet
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import cast

from pyasn1.codec.der import decoder as der_decoder
from pyasn1.type import char, univ, useful
from pyasn1_modules import rfc5280

from ezhengzhao.errors import (
    CertificateError,
    CryptoError,
    DecodeError,
    UnsupportedAlgorithmError,
)
from ezhengzhao.sign import _der
from ezhengzhao.sign.keys import PublicKey, Signer

__all__ = [
    "KEY_USAGES",
    "REASON_CODES",
    "Certificate",
    "Name",
    "build_certificate",
    "check_chain",
    "load_certificates",
    "subject_key_identifier",
]

MALFORMED = "certificate_malformed"
UNSUPPORTED_ALGORITHM = "certificate_unsupported_algorithm"
UNTRUSTED = "certificate_untrusted"
SIGNATURE_INVALID = "certificate_signature_invalid"
NOT_YET_VALID = "certificate_not_yet_valid"
EXPIRED = "certificate_expired"
NOT_CA = "certificate_not_ca"
KEY_USAGE = "certificate_key_usage"
PATH_LENGTH = "certificate_path_length"
UNHANDLED_CRITICAL_EXTENSION = "certificate_unhandled_critical_extension"

REASON_CODES: tuple[str, ...] = (
    MALFORMED,
    UNSUPPORTED_ALGORITHM,
    UNTRUSTED,
    SIGNATURE_INVALID,
    NOT_YET_VALID,
    EXPIRED,
    NOT_CA,
    KEY_USAGE,
    PATH_LENGTH,
    UNHANDLED_CRITICAL_EXTENSION,
)
"""Every ``CertificateError.reason`` this module raises."""

# RFC 5280 §4.2.1.3, in bit order.
KEY_USAGES: tuple[str, ...] = (
    "digitalSignature",
    "nonRepudiation",  # a.k.a. contentCommitment
    "keyEncipherment",
    "dataEncipherment",
    "keyAgreement",
    "keyCertSign",
    "cRLSign",
    "encipherOnly",
    "decipherOnly",
)

_MAX_PATH = 8  # certificates in a path, leaf and root included; more is an attack or a loop

# -- names ------------------------------------------------------------------------------------

_OID_CN = "2.5.4.3"
_OID_SERIAL = "2.5.4.5"
_OID_C = "2.5.4.6"
_OID_L = "2.5.4.7"
_OID_ST = "2.5.4.8"
_OID_O = "2.5.4.10"
_OID_OU = "2.5.4.11"

# (OID, label in str(), Name field), in the order written into a certificate: broad to narrow.
_NAME_FIELDS: tuple[tuple[str, str, str], ...] = (
    (_OID_C, "C", "country"),
    (_OID_ST, "ST", "province"),
    (_OID_L, "L", "locality"),
    (_OID_O, "O", "organization"),
    (_OID_OU, "OU", "organizational_unit"),
    (_OID_CN, "CN", "common_name"),
    (_OID_SERIAL, "serialNumber", "serial_number"),
)
_FIELD_BY_OID = {oid: attr for oid, _, attr in _NAME_FIELDS}

_OTHER_LABELS: dict[str, str] = {
    "2.5.4.4": "SN",
    "2.5.4.9": "street",
    "2.5.4.12": "title",
    "2.5.4.15": "businessCategory",
    "2.5.4.17": "postalCode",
    "2.5.4.42": "GN",
    "2.5.4.46": "dnQualifier",
    "2.5.4.65": "pseudonym",
    "2.5.4.97": "organizationIdentifier",
    "1.2.840.113549.1.9.1": "emailAddress",
    "0.9.2342.19200300.100.1.1": "UID",
    "0.9.2342.19200300.100.1.25": "DC",
}
_LABELS: dict[str, str] = {oid: label for oid, label, _ in _NAME_FIELDS} | _OTHER_LABELS
_OID_BY_LABEL: dict[str, str] = {label: oid for oid, label in _LABELS.items()}
_IA5_OIDS = frozenset({"1.2.840.113549.1.9.1", "0.9.2342.19200300.100.1.25"})
_PRINTABLE_OIDS = frozenset({_OID_C, _OID_SERIAL, "2.5.4.46"})

_PRINTABLE_RE = re.compile(r"[A-Za-z0-9 '()+,\-./:=?]*")
_OID_RE = re.compile(r"[0-2](\.(0|[1-9][0-9]*))+")


@dataclass(frozen=True, slots=True)
class Name:
    """An X.501 distinguished name with the attributes licences use.

    ``serial_number`` carries the holder's 统一社会信用代码 (USCC). CN, O, OU, ST and L are
    written as UTF8String, C and serialNumber as PrintableString (RFC 5280 §4.1.2.4,
    Appendix A). Attributes without a field are kept in ``other`` as (label or dotted OID,
    value). A Name parsed from a certificate remembers its exact DER, so a certificate built
    with it as issuer matches the issuer certificate byte for byte.
    """

    common_name: str
    organization: str | None = None
    organizational_unit: str | None = None
    country: str | None = "CN"
    province: str | None = None
    locality: str | None = None
    serial_number: str | None = None
    other: tuple[tuple[str, str], ...] = ()
    _der: bytes | None = field(default=None, init=False, repr=False, compare=False)

    def __str__(self) -> str:
        parts = [
            ("CN", self.common_name),
            ("serialNumber", self.serial_number),
            ("OU", self.organizational_unit),
            ("O", self.organization),
            ("L", self.locality),
            ("ST", self.province),
            ("C", self.country),
            *self.other,
        ]
        return ", ".join(f"{label}={_escape(value)}" for label, value in parts if value)

    def to_der(self) -> bytes:
        """The DER Name: the bytes it was parsed from, or a fresh encoding."""
        if self._der is not None:
            return self._der
        return _der.encode(self._to_asn1())

    @classmethod
    def from_der(cls, der: bytes) -> Name:
        """Parse a DER Name; DecodeError if malformed."""
        der = bytes(der)
        try:
            asn1 = _der.decode(der, rfc5280.Name())
            return _name_from_asn1(asn1, der)
        except _der.PARSE_ERRORS as exc:
            raise DecodeError(f"not a DER Name: {exc}") from exc

    def _to_asn1(self) -> rfc5280.Name:
        attributes: list[tuple[str, str]] = []
        for oid, _, attr in _NAME_FIELDS:
            value = cast("str | None", getattr(self, attr))
            if value:
                attributes.append((oid, value))
        for label, value in self.other:
            oid = _OID_BY_LABEL.get(label, label)
            if not _OID_RE.fullmatch(oid):
                raise ValueError(f"unknown name attribute {label!r}: use a dotted OID")
            attributes.append((oid, value))
        rdns = rfc5280.RDNSequence()
        for oid, value in attributes:
            atv = rfc5280.AttributeTypeAndValue()
            atv["type"] = univ.ObjectIdentifier(oid)
            atv["value"] = univ.Any(_der.encode(_directory_string(oid, value)))
            rdn = rfc5280.RelativeDistinguishedName()
            rdn.append(atv)
            rdns.append(rdn)
        name = rfc5280.Name()
        name["rdnSequence"] = rdns
        return name


def _directory_string(oid: str, value: str) -> object:
    if not isinstance(value, str):
        raise TypeError(f"name attribute {oid} must be a str")
    if oid in _IA5_OIDS:
        if not value.isascii():
            raise ValueError(f"name attribute {_LABELS.get(oid, oid)} must be ASCII")
        return char.IA5String(value)
    if oid in _PRINTABLE_OIDS:
        if not _PRINTABLE_RE.fullmatch(value):
            raise ValueError(
                f"name attribute {_LABELS.get(oid, oid)} must use PrintableString characters"
            )
        if oid == _OID_C and len(value) != 2:
            raise ValueError("country must be a two-letter ISO 3166 code")
        return char.PrintableString(value)
    return char.UTF8String(value)


def _escape(value: str) -> str:
    """RFC 4514 §2.4 escaping, enough to keep str(Name) unambiguous."""
    out = "".join("\\" + c if c in ',+"\\<>;=' else c for c in value)
    if out.startswith(("#", " ")):
        out = "\\" + out
    if out.endswith(" "):
        out = out[:-1] + "\\ "
    return out


def _attribute_text(raw: bytes) -> str:
    """The text of an AttributeValue; non-string values as RFC 4514 ``#hex``."""
    value, rest = der_decoder.decode(raw)
    if rest:
        raise DecodeError("trailing bytes in a name attribute")
    if isinstance(value, char.AbstractCharacterString):
        return str(value)
    return "#" + raw.hex()


def _name_from_asn1(asn1: rfc5280.Name, der: bytes) -> Name:
    fields: dict[str, str | None] = {attr: None for _, _, attr in _NAME_FIELDS}
    other: list[tuple[str, str]] = []
    for rdn in asn1["rdnSequence"]:
        for atv in rdn:
            oid = str(atv["type"])
            text = _attribute_text(bytes(atv["value"]))
            attr = _FIELD_BY_OID.get(oid)
            if attr is not None and fields[attr] is None:
                fields[attr] = text
            else:
                other.append((_LABELS.get(oid, oid), text))
    name = Name(
        common_name=fields["common_name"] or "",
        organization=fields["organization"],
        organizational_unit=fields["organizational_unit"],
        country=fields["country"],
        province=fields["province"],
        locality=fields["locality"],
        serial_number=fields["serial_number"],
        other=tuple(other),
    )
    object.__setattr__(name, "_der", der)
    return name


# -- times ------------------------------------------------------------------------------------

_UTC_TIME_RE = re.compile(r"(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})Z")
_GENERALIZED_TIME_RE = re.compile(r"(\d{4})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})Z")


def _utc(moment: datetime, what: str) -> datetime:
    if not isinstance(moment, datetime):
        raise TypeError(f"{what} must be a datetime")
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"{what} must be timezone-aware (naive datetimes are ambiguous)")
    return moment.astimezone(UTC)


def _encode_time(moment: datetime) -> rfc5280.Time:
    """RFC 5280 §4.1.2.5: UTCTime for 1950–2049, GeneralizedTime otherwise; whole seconds."""
    m = moment.replace(microsecond=0)
    time = rfc5280.Time()
    if 1950 <= m.year < 2050:
        time["utcTime"] = useful.UTCTime(f"{m.year % 100:02d}{m:%m%d%H%M%S}Z")
    else:
        time["generalTime"] = useful.GeneralizedTime(f"{m.year:04d}{m:%m%d%H%M%S}Z")
    return time


def _decode_time(time: rfc5280.Time) -> datetime:
    """A Time as an aware UTC datetime; only the RFC 5280 forms (seconds, ``Z``) are accepted."""
    text = str(time.getComponent())
    if time.getName() == "utcTime":
        match = _UTC_TIME_RE.fullmatch(text)
        if not match:
            raise DecodeError(f"UTCTime {text!r} is not YYMMDDHHMMSSZ")
        year, month, day, hour, minute, second = (int(g) for g in match.groups())
        year += 1900 if year >= 50 else 2000  # RFC 5280 §4.1.2.5.1
    else:
        match = _GENERALIZED_TIME_RE.fullmatch(text)
        if not match:
            raise DecodeError(f"GeneralizedTime {text!r} is not YYYYMMDDHHMMSSZ")
        year, month, day, hour, minute, second = (int(g) for g in match.groups())
    return datetime(year, month, day, hour, minute, second, tzinfo=UTC)


# -- certificates -----------------------------------------------------------------------------

_OID_BASIC_CONSTRAINTS = "2.5.29.19"
_OID_KEY_USAGE = "2.5.29.15"
_OID_SKI = "2.5.29.14"
_OID_AKI = "2.5.29.35"
_OID_SAN = "2.5.29.17"
# Critical extensions whose meaning is handled (SAN only names the subject: nothing to enforce).
_HANDLED_EXTENSIONS = frozenset(
    {_OID_BASIC_CONSTRAINTS, _OID_KEY_USAGE, _OID_SKI, _OID_AKI, _OID_SAN}
)
_NULL = b"\x05\x00"


@dataclass(frozen=True, slots=True, eq=False)
class Certificate:
    """A parsed X.509 v3 certificate. Make one with ``from_der``/``from_pem``; equal by DER.

    Times are aware UTC datetimes. ``key_usage`` is empty when the extension is absent (this
    library then treats every usage as missing: it fails closed). ``unhandled_critical_
    extensions`` lists critical extensions this layer does not process; ``check_chain``
    rejects a path containing any.
    """

    der: bytes = field(repr=False)
    tbs_der: bytes = field(repr=False)
    subject: Name
    issuer: Name
    serial_number: int
    not_before: datetime
    not_after: datetime
    public_key: PublicKey = field(repr=False)
    is_ca: bool
    path_length: int | None
    key_usage: frozenset[str]
    signature_oid: str
    signature: bytes = field(repr=False)
    subject_key_id: bytes | None = field(repr=False)
    authority_key_id: bytes | None = field(repr=False)
    unhandled_critical_extensions: tuple[str, ...] = field(default=(), repr=False)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Certificate):
            return NotImplemented
        return self.der == other.der

    def __hash__(self) -> int:
        return hash(self.der)

    @classmethod
    def from_der(cls, der: bytes) -> Certificate:
        """Parse one DER certificate; CertificateError (``certificate_malformed``) if it is not.

        Trailing bytes are rejected. The signature is not checked here (see ``check_chain``).
        """
        if not isinstance(der, bytes | bytearray | memoryview):
            raise CertificateError(MALFORMED, "a certificate must be bytes")
        der = bytes(der)
        try:
            return _parse_certificate(der)
        except CertificateError:
            raise
        except UnsupportedAlgorithmError as exc:
            raise CertificateError(UNSUPPORTED_ALGORITHM, f"certificate key: {exc}") from exc
        except _der.PARSE_ERRORS as exc:  # DecodeError and KeyLoadError are ValueErrors
            raise CertificateError(MALFORMED, f"not a DER X.509 certificate: {exc}") from exc

    @classmethod
    def from_pem(cls, data: bytes) -> Certificate:
        """Parse exactly one PEM ``CERTIFICATE`` block."""
        certificates = _pem_certificates(data)
        if len(certificates) != 1:
            raise CertificateError(
                MALFORMED, f"expected one PEM certificate, found {len(certificates)}"
            )
        return certificates[0]

    def to_pem(self) -> bytes:
        """The certificate as PEM."""
        return _der.pem_encode("CERTIFICATE", self.der)

    @property
    def sha256(self) -> bytes:
        """SHA-256 of the DER certificate."""
        return hashlib.sha256(self.der).digest()

    @property
    def kid(self) -> bytes:
        """Key id as the EU DCC defines it: the first 8 bytes of SHA-256 of the DER."""
        return self.sha256[:8]

    @property
    def is_self_issued(self) -> bool:
        """Whether subject and issuer are the same name (RFC 5280 §3.2)."""
        return self.subject.to_der() == self.issuer.to_der()

    def is_valid_at(self, at: datetime) -> bool:
        """Whether ``not_before ≤ at ≤ not_after``."""
        moment = _utc(at, "at")
        return self.not_before <= moment <= self.not_after

    def verify_issued_by(self, issuer: Certificate) -> None:
        """Check this certificate's signature with ``issuer``'s key (nothing else).

        CertificateError ``certificate_signature_invalid`` when it does not verify, including
        when the signature algorithm is not the issuer key's.
        """
        try:
            issuer.public_key.verify(
                self.signature,
                self.tbs_der,
                algorithm=self.signature_oid,
                form=issuer.public_key.suite.signature_form,
            )
        except CryptoError as exc:
            raise CertificateError(
                SIGNATURE_INVALID,
                f"signature of {self.subject} does not verify with the key of {issuer.subject}",
            ) from exc


def _parse_certificate(der: bytes) -> Certificate:
    parts = _der.sequence_children(der)
    if len(parts) != 3:
        raise DecodeError("a Certificate is SEQUENCE { tbsCertificate, algorithm, signature }")
    asn1 = _der.decode(der, rfc5280.Certificate())
    tbs = asn1["tbsCertificate"]
    # The exact encodings of the TBS fields: names are matched and keys read as received,
    # never as pyasn1 would re-encode them. pyasn1 has already checked the structure.
    fields = _der.sequence_children(parts[0])
    first = 1 if fields[0][:1] == b"\xa0" else 0  # [0] EXPLICIT version is optional
    algorithm_der, issuer_der, subject_der, spki_der = (
        fields[first + 1],
        fields[first + 2],
        fields[first + 4],
        fields[first + 5],
    )

    version = int(tbs["version"])
    if version not in (0, 1, 2):
        raise DecodeError(f"unknown certificate version {version + 1}")
    outer_algorithm = asn1["signatureAlgorithm"]
    if parts[1] != algorithm_der:
        raise DecodeError("signatureAlgorithm differs from tbsCertificate.signature")
    parameters = outer_algorithm["parameters"]
    if parameters.isValue and bytes(parameters) != _NULL:
        raise DecodeError("signature algorithm parameters must be absent (or NULL)")
    signature_bits = asn1["signature"]
    if len(signature_bits) % 8:
        raise DecodeError("signature is not a whole number of octets")

    is_ca = False
    path_length: int | None = None
    key_usage: frozenset[str] = frozenset()
    subject_key_id: bytes | None = None
    authority_key_id: bytes | None = None
    unhandled: list[str] = []
    extensions = tbs["extensions"]
    if extensions.isValue:
        if version != 2:
            raise DecodeError("extensions need a v3 certificate")
        seen: set[str] = set()
        for extension in extensions:
            oid = str(extension["extnID"])
            if oid in seen:
                raise DecodeError(f"extension {oid} appears twice (RFC 5280 §4.2)")
            seen.add(oid)
            value = bytes(extension["extnValue"])
            if oid == _OID_BASIC_CONSTRAINTS:
                constraints = _der.decode(value, rfc5280.BasicConstraints())
                is_ca = bool(constraints["cA"])
                if constraints["pathLenConstraint"].isValue:
                    path_length = int(constraints["pathLenConstraint"])
            elif oid == _OID_KEY_USAGE:
                bits = _der.decode(value, rfc5280.KeyUsage())
                key_usage = frozenset(
                    name for name, bit in zip(KEY_USAGES, bits, strict=False) if bit
                )
            elif oid == _OID_SKI:
                subject_key_id = bytes(_der.decode(value, rfc5280.SubjectKeyIdentifier()))
            elif oid == _OID_AKI:
                aki = _der.decode(value, rfc5280.AuthorityKeyIdentifier())
                if aki["keyIdentifier"].isValue:
                    authority_key_id = bytes(aki["keyIdentifier"])
            elif bool(extension["critical"]) and oid not in _HANDLED_EXTENSIONS:
                unhandled.append(oid)

    public_key = PublicKey.from_spki_der(spki_der)
    not_before = _decode_time(tbs["validity"]["notBefore"])
    not_after = _decode_time(tbs["validity"]["notAfter"])
    return Certificate(
        der=der,
        tbs_der=parts[0],
        subject=_name_from_asn1(tbs["subject"], subject_der),
        issuer=_name_from_asn1(tbs["issuer"], issuer_der),
        serial_number=int(tbs["serialNumber"]),
        not_before=not_before,
        not_after=not_after,
        public_key=public_key,
        is_ca=is_ca,
        path_length=path_length if is_ca else None,
        key_usage=key_usage,
        signature_oid=str(outer_algorithm["algorithm"]),
        signature=bytes(signature_bits.asOctets()),
        subject_key_id=subject_key_id,
        authority_key_id=authority_key_id,
        unhandled_critical_extensions=tuple(unhandled),
    )


def _pem_certificates(data: bytes) -> list[Certificate]:
    if isinstance(data, str):
        data = data.encode("utf-8")
    if not isinstance(data, bytes | bytearray | memoryview):
        raise CertificateError(MALFORMED, "certificate data must be bytes")
    try:
        blocks = _der.pem_blocks(bytes(data))
    except DecodeError as exc:
        raise CertificateError(MALFORMED, str(exc)) from exc
    return [
        Certificate.from_der(body)
        for label, body, _ in blocks
        if label in ("CERTIFICATE", "X509 CERTIFICATE")
    ]


def load_certificates(data: bytes) -> list[Certificate]:
    """Every certificate in ``data``: one or more PEM blocks, or a single DER certificate."""
    if isinstance(data, bytes | bytearray | memoryview) and _der.looks_like_pem(bytes(data)):
        certificates = _pem_certificates(data)
        if not certificates:
            raise CertificateError(MALFORMED, "no PEM CERTIFICATE block found")
        return certificates
    if isinstance(data, str):
        return load_certificates(data.encode("utf-8"))
    return [Certificate.from_der(data)]


# -- building ---------------------------------------------------------------------------------


def subject_key_identifier(public_key: PublicKey) -> bytes:
    """Key identifier of RFC 7093 §2 method 1: SHA-256 of subjectPublicKey, first 160 bits."""
    return hashlib.sha256(public_key.public_bytes()).digest()[:20]


def _algorithm_identifier(oid: str) -> rfc5280.AlgorithmIdentifier:
    # RFC 5758 §3.2 (ECDSA), RFC 8410 §3 (Ed25519) and GM/T 0015 (SM2): parameters absent.
    algorithm = rfc5280.AlgorithmIdentifier()
    algorithm["algorithm"] = univ.ObjectIdentifier(oid)
    return algorithm


def _extension(oid: str, critical: bool, value: object) -> rfc5280.Extension:
    extension = rfc5280.Extension()
    extension["extnID"] = univ.ObjectIdentifier(oid)
    extension["critical"] = critical
    extension["extnValue"] = univ.OctetString(_der.encode(value))
    return extension


def build_certificate(
    *,
    subject: Name,
    subject_key: PublicKey,
    issuer: Name,
    issuer_signer: Signer,
    not_before: datetime,
    not_after: datetime,
    serial_number: int | None = None,
    is_ca: bool = False,
    path_length: int | None = None,
    key_usage: Iterable[str] = ("digitalSignature",),
    issuer_key_id: bytes | None = None,
) -> Certificate:
    """Build and sign an X.509 v3 certificate.

    Extensions: basicConstraints (critical), keyUsage (critical; omitted if ``key_usage`` is
    empty), subjectKeyIdentifier (RFC 7093 method 1) and authorityKeyIdentifier —
    ``issuer_key_id``, or the identifier of ``issuer_signer``'s key computed the same way.
    Pass ``issuer_key_id=issuer_cert.subject_key_id`` when the issuer's certificate was made
    elsewhere. The signature algorithm is the signer's suite. A random positive 127-bit
    serial is drawn when none is given. Self-signed: ``issuer=subject`` and a signer whose
    public key is ``subject_key``.
    """
    start = _utc(not_before, "not_before")
    end = _utc(not_after, "not_after")
    if end < start:
        raise ValueError("not_after is before not_before")
    if serial_number is None:
        serial_number = secrets.randbits(127) or 1
    if not isinstance(serial_number, int) or not 0 < serial_number < 1 << 159:
        raise ValueError("serial_number must be a positive integer of at most 20 octets")
    usages = frozenset([key_usage] if isinstance(key_usage, str) else key_usage)
    unknown = usages - set(KEY_USAGES)
    if unknown:
        raise ValueError(f"unknown key usage(s): {sorted(unknown)}")
    if path_length is not None and (not is_ca or path_length < 0):
        raise ValueError("path_length needs is_ca=True and must not be negative")
    if usages & {"keyCertSign"} and not is_ca:
        raise ValueError("keyCertSign needs is_ca=True (RFC 5280 §4.2.1.9)")

    suite = issuer_signer.suite
    algorithm = _algorithm_identifier(suite.signature_oid)
    tbs = rfc5280.TBSCertificate()
    tbs["version"] = 2  # v3
    tbs["serialNumber"] = serial_number
    tbs["signature"] = algorithm
    tbs["issuer"] = _der.decode(issuer.to_der(), rfc5280.Name())
    tbs["validity"]["notBefore"] = _encode_time(start)
    tbs["validity"]["notAfter"] = _encode_time(end)
    tbs["subject"] = _der.decode(subject.to_der(), rfc5280.Name())
    tbs["subjectPublicKeyInfo"] = _der.decode(
        subject_key.spki_der(), rfc5280.SubjectPublicKeyInfo()
    )

    constraints = rfc5280.BasicConstraints()
    if is_ca:
        constraints["cA"] = True
        if path_length is not None:
            constraints["pathLenConstraint"] = path_length
    extensions = tbs["extensions"]
    extensions.append(_extension(_OID_BASIC_CONSTRAINTS, True, constraints))
    if usages:
        # A tuple gives pyasn1 the bits themselves; stopping at the last set bit is the DER
        # rule for named bit strings (X.690 §11.2.2).
        last = max(KEY_USAGES.index(name) for name in usages)
        bits = tuple(int(KEY_USAGES[i] in usages) for i in range(last + 1))
        extensions.append(_extension(_OID_KEY_USAGE, True, rfc5280.KeyUsage(bits)))
    extensions.append(
        _extension(
            _OID_SKI, False, rfc5280.SubjectKeyIdentifier(subject_key_identifier(subject_key))
        )
    )
    aki = rfc5280.AuthorityKeyIdentifier()
    aki["keyIdentifier"] = (
        issuer_key_id
        if issuer_key_id is not None
        else subject_key_identifier(issuer_signer.public_key)
    )
    extensions.append(_extension(_OID_AKI, False, aki))

    tbs_der = _der.encode(tbs)
    # Normalise what the signer returned (an HSM may give raw r‖s) to the form X.509 carries,
    # and check it: a certificate that does not verify must never leave this function.
    raw_signature = issuer_signer.sign(tbs_der)
    signature = (
        suite._to_der(raw_signature)
        if suite.signature_form == "der"
        else suite._to_raw(raw_signature)
    )
    issuer_signer.public_key.verify(signature, tbs_der, algorithm=suite.id)

    certificate = rfc5280.Certificate()
    certificate["tbsCertificate"] = tbs
    certificate["signatureAlgorithm"] = algorithm
    certificate["signature"] = univ.BitString.fromOctetString(signature)
    return Certificate.from_der(_der.encode(certificate))


# -- chains -----------------------------------------------------------------------------------


def _signature_digest(issuer: Certificate, certificate: Certificate) -> bytes:
    """Cache key for "``certificate``'s signature verifies under ``issuer``'s key"."""
    spki = issuer.public_key.spki_der()
    return hashlib.sha256(
        b"ezz-cert-sig\x00" + len(spki).to_bytes(4, "big") + spki + certificate.der
    ).digest()


def _check_validity(certificate: Certificate, at: datetime) -> None:
    if at < certificate.not_before:
        raise CertificateError(
            NOT_YET_VALID, f"{certificate.subject} is not valid before {certificate.not_before}"
        )
    if at > certificate.not_after:
        raise CertificateError(EXPIRED, f"{certificate.subject} expired at {certificate.not_after}")


def _check_critical(certificate: Certificate) -> None:
    if certificate.unhandled_critical_extensions:
        raise CertificateError(
            UNHANDLED_CRITICAL_EXTENSION,
            f"{certificate.subject} has critical extension(s) "
            f"{', '.join(certificate.unhandled_critical_extensions)} that cannot be processed",
        )


def _may_issue(child: Certificate, candidate: Certificate) -> bool:
    """Name chaining (RFC 5280 §6.1.3 (a)(4)) plus key identifiers where both are present."""
    if candidate.subject.to_der() != child.issuer.to_der():
        return False
    if child.authority_key_id is not None and candidate.subject_key_id is not None:
        return child.authority_key_id == candidate.subject_key_id
    return True


def check_chain(
    leaf: Certificate,
    *,
    roots: Iterable[Certificate],
    intermediates: Iterable[Certificate] = (),
    at: datetime,
    key_usage: str | None = "digitalSignature",
    verified: MutableSet[bytes] | None = None,
) -> tuple[Certificate, ...]:
    """Find and check a path from ``leaf`` to one of ``roots``; return it, leaf first.

    Every certificate in the path must be valid at ``at``; every issuer must be a CA
    (basicConstraints cA and keyCertSign) within its pathLenConstraint; every signature below
    the root must verify; the leaf must have ``key_usage`` (None: no requirement). A root is
    trusted as given: its self-signature is not checked. With no roots nothing is trusted.

    ``verified`` caches signature checks across calls: it holds digests of (issuer key,
    certificate) pairs already verified; those are not verified again and new ones are added.
    Raises CertificateError with a stable reason (see the module docstring).
    """
    moment = _utc(at, "at")
    root_list = tuple(roots)
    if key_usage is not None and key_usage not in KEY_USAGES:
        raise ValueError(f"unknown key usage {key_usage!r}")
    if not root_list:
        raise CertificateError(UNTRUSTED, "no trust roots were given: nothing can be trusted")

    _check_critical(leaf)
    _check_validity(leaf, moment)
    if key_usage is not None and key_usage not in leaf.key_usage:
        raise CertificateError(KEY_USAGE, f"{leaf.subject} lacks the key usage {key_usage}")
    root_ders = {root.der for root in root_list}
    if leaf.der in root_ders:
        return (leaf,)
    candidates: list[tuple[Certificate, bool]] = [(root, True) for root in root_list]
    candidates += [(cert, False) for cert in intermediates if cert.der not in root_ders]

    failures: list[CertificateError] = []

    def extend(path: list[Certificate]) -> tuple[Certificate, ...] | None:
        child = path[-1]
        in_path = {cert.der for cert in path}
        for candidate, is_root in candidates:
            if candidate.der in in_path or not _may_issue(child, candidate):
                continue
            try:
                _check_edge(path, candidate, moment, verified)
            except CertificateError as exc:
                failures.append(exc)
                continue
            if is_root:
                return (*path, candidate)
            if len(path) + 1 < _MAX_PATH:
                found = extend([*path, candidate])
                if found is not None:
                    return found
        return None

    found = extend([leaf])
    if found is not None:
        return found
    if failures:
        raise failures[0]
    raise CertificateError(UNTRUSTED, f"no path from {leaf.subject} to a trusted root")


def _check_edge(
    path: list[Certificate],
    issuer: Certificate,
    at: datetime,
    verified: MutableSet[bytes] | None,
) -> None:
    """Check that ``issuer`` may extend ``path`` upwards; raise the first problem."""
    child = path[-1]
    if not issuer.is_ca or "keyCertSign" not in issuer.key_usage:
        raise CertificateError(
            NOT_CA, f"{issuer.subject} is not a CA (basicConstraints cA and keyCertSign needed)"
        )
    _check_critical(issuer)
    if issuer.path_length is not None:
        # RFC 5280 §6.1.4 (l)/(m): self-issued intermediates do not count.
        below = sum(1 for cert in path[1:] if not cert.is_self_issued)
        if below > issuer.path_length:
            raise CertificateError(
                PATH_LENGTH,
                f"{issuer.subject} allows {issuer.path_length} intermediate CA(s) below it, "
                f"the path has {below}",
            )
    _check_validity(issuer, at)
    if verified is None:
        child.verify_issued_by(issuer)
        return
    digest = _signature_digest(issuer, child)
    if digest not in verified:
        child.verify_issued_by(issuer)
        verified.add(digest)
