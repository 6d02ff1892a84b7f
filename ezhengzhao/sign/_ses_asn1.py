# mypy: allow-subclassing-any
"""ASN.1 of electronic seals: pyasn1 specs to encode, a strict DER reader to decode. Private.

Structures of GB/T 38540-2020 (v4) and GM/T 0031-2014 (v1). The standards' texts are not
public; the structures were reconstructed from two working implementations that agree on
every field: ofdrw (Java, ``ofdrw-gm/src/main/java/org/ofdrw/gm/ses/v1`` and ``.../v4``) and
gm_0031_38540_verifier (C/OpenSSL, ``38540.cpp``).

Encoding goes through pyasn1's DER encoder, except for the signature made for every
licence: ``ses.make_signature`` writes TBS_Sign and SES_Signature itself, in the layout of
the specs below. Decoding does *not* use pyasn1: pyasn1 accepts BER and hides
offsets, while a verifier needs the exact bytes that were signed (``esealInfo``, ``toSign``)
and must reject what is not DER. :func:`parse_der` and :func:`children` walk the TLVs
themselves and raise :class:`~ezhengzhao.errors.DecodeError` for anything malformed.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import NamedTuple, cast

from pyasn1.codec.der import encoder as _der_encoder
from pyasn1.type import char, namedtype, tag, univ, useful

from ezhengzhao.errors import DecodeError

# --- pyasn1 specs (encoding) -----------------------------------------------------------------
#
# Places where already-encoded DER must be embedded byte for byte (the signed esealInfo inside
# SESeal, a parsed seal inside TBS_Sign, the signed TBS_Sign inside SES_Signature) are typed
# ``Any``: re-encoding them would not be guaranteed to reproduce the signed bytes.

_CTX0_EXPLICIT = tag.Tag(tag.tagClassContext, tag.tagFormatConstructed, 0)


class SESHeader(univ.Sequence):
    """SES_Header ::= SEQUENCE { id IA5String ("ES"), version INTEGER, vid IA5String }."""

    componentType = namedtype.NamedTypes(
        namedtype.NamedType("id", char.IA5String()),
        namedtype.NamedType("version", univ.Integer()),
        namedtype.NamedType("vid", char.IA5String()),
    )


class SESESPictureInfo(univ.Sequence):
    """SES_ESPictrueInfo ::= SEQUENCE { type IA5String, data OCTET STRING, width, height INTEGER }.

    Width and height are the display size in millimetres. (The standard spells it "Pictrue".)
    """

    componentType = namedtype.NamedTypes(
        namedtype.NamedType("type", char.IA5String()),
        namedtype.NamedType("data", univ.OctetString()),
        namedtype.NamedType("width", univ.Integer()),
        namedtype.NamedType("height", univ.Integer()),
    )


class CertInfoList(univ.SequenceOf):
    """CertInfoList ::= SEQUENCE OF OCTET STRING (DER certificates); certListType 1."""

    componentType = univ.OctetString()


class CertDigestObj(univ.Sequence):
    """CertDigestObj ::= SEQUENCE { type PrintableString, value OCTET STRING }."""

    componentType = namedtype.NamedTypes(
        namedtype.NamedType("type", char.PrintableString()),
        namedtype.NamedType("value", univ.OctetString()),
    )


class CertDigestList(univ.SequenceOf):
    """CertDigestList ::= SEQUENCE OF CertDigestObj; certListType 2."""

    componentType = CertDigestObj()


class ExtData(univ.Sequence):
    """ExtData ::= SEQUENCE { extnID OID, critical BOOLEAN DEFAULT FALSE, extnValue OCTET STRING }.

    ``critical`` is always written, even when FALSE (strict DER would omit it): both reference
    implementations read it as a required field and fail without it.
    """

    componentType = namedtype.NamedTypes(
        namedtype.NamedType("extnID", univ.ObjectIdentifier()),
        namedtype.NamedType("critical", univ.Boolean()),
        namedtype.NamedType("extnValue", univ.OctetString()),
    )


class ExtensionDatas(univ.SequenceOf):
    """ExtensionDatas ::= SEQUENCE OF ExtData."""

    componentType = ExtData()


class SESESPropertyInfoV4(univ.Sequence):
    """SES_ESPropertyInfo (v4): type, name UTF8String, certListType, certList, three dates.

    ``certList`` is a CHOICE selected by ``certListType`` (CertInfoList or CertDigestList, both
    untagged SEQUENCE OF), so it is embedded as ``Any``.
    """

    componentType = namedtype.NamedTypes(
        namedtype.NamedType("type", univ.Integer()),
        namedtype.NamedType("name", char.UTF8String()),
        namedtype.NamedType("certListType", univ.Integer()),
        namedtype.NamedType("certList", univ.Any()),
        namedtype.NamedType("createDate", useful.GeneralizedTime()),
        namedtype.NamedType("validStart", useful.GeneralizedTime()),
        namedtype.NamedType("validEnd", useful.GeneralizedTime()),
    )


class SESSealInfoV4(univ.Sequence):
    """SES_SealInfo (v4) ::= SEQUENCE { header, esID IA5String, property, picture, extDatas }.

    ``extDatas`` (ExtensionDatas, untagged) is optional.
    """

    componentType = namedtype.NamedTypes(
        namedtype.NamedType("header", SESHeader()),
        namedtype.NamedType("esID", char.IA5String()),
        namedtype.NamedType("property", SESESPropertyInfoV4()),
        namedtype.NamedType("picture", SESESPictureInfo()),
        namedtype.OptionalNamedType("extDatas", ExtensionDatas()),
    )


class SESealV4(univ.Sequence):
    """SESeal (v4) ::= SEQUENCE { esealInfo, cert, signAlgID, signedValue }.

    ``cert`` is the seal maker's DER certificate in an OCTET STRING, ``signAlgID`` an OID, and
    ``signedValue`` (BIT STRING) the maker's signature over DER(esealInfo).
    """

    componentType = namedtype.NamedTypes(
        namedtype.NamedType("esealInfo", univ.Any()),
        namedtype.NamedType("cert", univ.OctetString()),
        namedtype.NamedType("signAlgID", univ.ObjectIdentifier()),
        namedtype.NamedType("signedValue", univ.BitString()),
    )


class TBSSignV4(univ.Sequence):
    """TBS_Sign (v4): version 4, eseal, timeInfo GeneralizedTime, dataHash, propertyInfo, extDatas.

    ``extDatas`` is ``[0] EXPLICIT`` as ofdrw writes it; the C verifier reads it untagged, so the
    decoder accepts both. ezhengzhao never writes it.
    """

    componentType = namedtype.NamedTypes(
        namedtype.NamedType("version", univ.Integer()),
        namedtype.NamedType("eseal", univ.Any()),
        namedtype.NamedType("timeInfo", useful.GeneralizedTime()),
        namedtype.NamedType("dataHash", univ.BitString()),
        namedtype.NamedType("propertyInfo", char.IA5String()),
        namedtype.OptionalNamedType(
            "extDatas", ExtensionDatas().subtype(explicitTag=_CTX0_EXPLICIT)
        ),
    )


class SESSignatureV4(univ.Sequence):
    """SES_Signature (v4): toSign, cert, signatureAlgID, signature BIT STRING, timeStamp [0] OPT.

    ``signature`` is over DER(toSign). ``timeStamp`` is written ``[0] EXPLICIT`` by ofdrw; other
    implementations use IMPLICIT or no tag, and the decoder reads all three.
    """

    componentType = namedtype.NamedTypes(
        namedtype.NamedType("toSign", univ.Any()),
        namedtype.NamedType("cert", univ.OctetString()),
        namedtype.NamedType("signatureAlgID", univ.ObjectIdentifier()),
        namedtype.NamedType("signature", univ.BitString()),
        namedtype.OptionalNamedType(
            "timeStamp", univ.BitString().subtype(explicitTag=_CTX0_EXPLICIT)
        ),
    )


# GM/T 0031-2014 (v1). Read by ezhengzhao, never written; the specs document the layout and
# let tests build v1 data.


class SESESPropertyInfoV1(univ.Sequence):
    """SES_ESPropertyInfo (v1): type, name, certList (SEQUENCE OF OCTET STRING), UTCTime dates."""

    componentType = namedtype.NamedTypes(
        namedtype.NamedType("type", univ.Integer()),
        namedtype.NamedType("name", char.UTF8String()),
        namedtype.NamedType("certList", CertInfoList()),
        namedtype.NamedType("createDate", useful.UTCTime()),
        namedtype.NamedType("validStart", useful.UTCTime()),
        namedtype.NamedType("validEnd", useful.UTCTime()),
    )


class SESSealInfoV1(univ.Sequence):
    """SES_SealInfo (v1): same shape as v4, with the v1 property info."""

    componentType = namedtype.NamedTypes(
        namedtype.NamedType("header", SESHeader()),
        namedtype.NamedType("esID", char.IA5String()),
        namedtype.NamedType("property", SESESPropertyInfoV1()),
        namedtype.NamedType("picture", SESESPictureInfo()),
        namedtype.OptionalNamedType("extDatas", ExtensionDatas()),
    )


class SESSignInfoV1(univ.Sequence):
    """SES_SignInfo (v1) ::= SEQUENCE { cert OCTET STRING, signatureAlgorithm OID, signData }.

    ``signData`` (BIT STRING) is the maker's signature over :class:`SESealV1SignedContent`.
    """

    componentType = namedtype.NamedTypes(
        namedtype.NamedType("cert", univ.OctetString()),
        namedtype.NamedType("signatureAlgorithm", univ.ObjectIdentifier()),
        namedtype.NamedType("signData", univ.BitString()),
    )


class SESealV1(univ.Sequence):
    """SESeal (v1) ::= SEQUENCE { sealInfo SES_SealInfo, signInfo SES_SignInfo }."""

    componentType = namedtype.NamedTypes(
        namedtype.NamedType("sealInfo", univ.Any()),
        namedtype.NamedType("signInfo", SESSignInfoV1()),
    )


class SESealV1SignedContent(univ.Sequence):
    """What a v1 seal maker signs: SEQUENCE { sealInfo, cert, signatureAlgorithm }.

    Not a named type of the standard; ofdrw documents it on ``SES_SignInfo.signData`` and
    gm_0031_38540_verifier verifies against it (``SESv2_SealSignRange``).
    """

    componentType = namedtype.NamedTypes(
        namedtype.NamedType("sealInfo", univ.Any()),
        namedtype.NamedType("cert", univ.OctetString()),
        namedtype.NamedType("signatureAlgorithm", univ.ObjectIdentifier()),
    )


class TBSSignV1(univ.Sequence):
    """TBS_Sign (v1): version, eseal, timeInfo BIT STRING, dataHash, propertyInfo, cert, alg.

    ``timeInfo`` carries either a time or an RFC 3161 time-stamp token; the bytes inside are
    not fixed by the structure (see ``ses._v1_time``).
    """

    componentType = namedtype.NamedTypes(
        namedtype.NamedType("version", univ.Integer()),
        namedtype.NamedType("eseal", univ.Any()),
        namedtype.NamedType("timeInfo", univ.BitString()),
        namedtype.NamedType("dataHash", univ.BitString()),
        namedtype.NamedType("propertyInfo", char.IA5String()),
        namedtype.NamedType("cert", univ.OctetString()),
        namedtype.NamedType("signatureAlgorithm", univ.ObjectIdentifier()),
    )


class SESSignatureV1(univ.Sequence):
    """SES_Signature (v1) ::= SEQUENCE { toSign TBS_Sign, signature BIT STRING over toSign }."""

    componentType = namedtype.NamedTypes(
        namedtype.NamedType("toSign", univ.Any()),
        namedtype.NamedType("signature", univ.BitString()),
    )


def encode(value: object) -> bytes:
    """DER-encode a pyasn1 value."""
    return cast(bytes, _der_encoder.encode(value))


def bit_string_value(data: bytes) -> univ.BitString:
    """A BIT STRING of whole bytes (no unused bits)."""
    return univ.BitString.fromOctetString(data)


def format_generalized_time(dt: datetime) -> str:
    """DER GeneralizedTime text, whole seconds, ``Z``: ``YYYYMMDDHHMMSSZ``."""
    u = dt.astimezone(UTC)
    return f"{u.year:04d}{u.month:02d}{u.day:02d}{u.hour:02d}{u.minute:02d}{u.second:02d}Z"


def format_utc_time(dt: datetime) -> str:
    """DER UTCTime text ``YYMMDDHHMMSSZ`` (years 1950–2049, RFC 5280 §4.1.2.5.1)."""
    u = dt.astimezone(UTC)
    if not 1950 <= u.year <= 2049:
        raise ValueError(f"UTCTime cannot express the year {u.year}")
    return f"{u.year % 100:02d}{u.month:02d}{u.day:02d}{u.hour:02d}{u.minute:02d}{u.second:02d}Z"


# --- strict DER reader (decoding) ------------------------------------------------------------

BOOLEAN = 0x01
INTEGER = 0x02
BIT_STRING = 0x03
OCTET_STRING = 0x04
OID = 0x06
UTF8_STRING = 0x0C
PRINTABLE_STRING = 0x13
IA5_STRING = 0x16
UTC_TIME = 0x17
GENERALIZED_TIME = 0x18
SEQUENCE = 0x30
SET = 0x31
CONTEXT_0_PRIMITIVE = 0x80
CONTEXT_0_CONSTRUCTED = 0xA0

_TAG_NAMES = {
    BOOLEAN: "BOOLEAN",
    INTEGER: "INTEGER",
    BIT_STRING: "BIT STRING",
    OCTET_STRING: "OCTET STRING",
    OID: "OBJECT IDENTIFIER",
    UTF8_STRING: "UTF8String",
    PRINTABLE_STRING: "PrintableString",
    IA5_STRING: "IA5String",
    UTC_TIME: "UTCTime",
    GENERALIZED_TIME: "GeneralizedTime",
    SEQUENCE: "SEQUENCE",
    SET: "SET",
    CONTEXT_0_PRIMITIVE: "[0] (primitive)",
    CONTEXT_0_CONSTRUCTED: "[0] (constructed)",
}

_MAX_LENGTH_OCTETS = 4  # 4 GiB of content is far beyond any seal; longer lengths are garbage


def tag_name(identifier: int) -> str:
    """Readable name of an identifier octet, for error messages."""
    return _TAG_NAMES.get(identifier, f"tag 0x{identifier:02x}")


class Tlv(NamedTuple):
    """One DER element located in ``buf``: identifier octet, and where header and contents lie.

    A named tuple rather than a frozen dataclass: a seal signature has dozens of elements,
    and a tuple is built several times faster — as immutable, and read the same way.
    """

    buf: bytes
    tag: int
    start: int
    body: int
    end: int

    @property
    def raw(self) -> bytes:
        """The whole element, identifier to last content octet, exactly as in the input."""
        return self.buf[self.start : self.end]

    @property
    def content(self) -> bytes:
        return self.buf[self.body : self.end]

    @property
    def constructed(self) -> bool:
        return bool(self.tag & 0x20)


def read_tlv(buf: bytes, pos: int, limit: int, what: str) -> Tlv:
    """Read one DER element at ``pos`` that must end by ``limit``."""
    if pos >= limit:
        raise DecodeError(f"{what}: missing (data ends at offset {pos})")
    identifier = buf[pos]
    if identifier & 0x1F == 0x1F:
        raise DecodeError(f"{what}: high-number tag at offset {pos} (not used by seal structures)")
    if pos + 1 >= limit:
        raise DecodeError(f"{what}: truncated length at offset {pos + 1}")
    first = buf[pos + 1]
    body = pos + 2
    if first < 0x80:
        length = first
    elif first == 0x80:
        raise DecodeError(f"{what}: indefinite length at offset {pos + 1} (BER, not DER)")
    else:
        count = first & 0x7F
        if count > _MAX_LENGTH_OCTETS:
            raise DecodeError(f"{what}: length of {count} octets at offset {pos + 1}")
        if body + count > limit:
            raise DecodeError(f"{what}: truncated length at offset {pos + 1}")
        length_octets = buf[body : body + count]
        if length_octets[0] == 0:
            raise DecodeError(f"{what}: length with leading zero at offset {pos + 1} (not DER)")
        length = int.from_bytes(length_octets, "big")
        if length < 0x80:
            raise DecodeError(f"{what}: long-form length below 128 at offset {pos + 1} (not DER)")
        body += count
    end = body + length
    if end > limit:
        raise DecodeError(
            f"{what}: {tag_name(identifier)} at offset {pos} claims {length} octets, "
            f"only {limit - body} remain"
        )
    return Tlv(buf, identifier, pos, body, end)


def _try_tlv(buf: bytes, pos: int, limit: int) -> Tlv | None:
    """What :func:`read_tlv` reads, or None where it would raise — without building the
    element's name for an error message that is almost never needed."""
    if pos + 1 >= limit:
        return None
    identifier = buf[pos]
    if identifier & 0x1F == 0x1F:
        return None
    first = buf[pos + 1]
    if first < 0x80:
        body = pos + 2
        end = body + first
    else:
        count = first & 0x7F
        body = pos + 2 + count
        if count == 0 or count > _MAX_LENGTH_OCTETS or body > limit or buf[pos + 2] == 0:
            return None
        length = int.from_bytes(buf[pos + 2 : body], "big")
        if length < 0x80:
            return None
        end = body + length
    if end > limit:
        return None
    return Tlv(buf, identifier, pos, body, end)


def parse_der(data: bytes, what: str) -> Tlv:
    """The single DER element that ``data`` must consist of, with no trailing bytes."""
    if not data:
        raise DecodeError(f"{what}: empty input")
    tlv = _try_tlv(data, 0, len(data)) or read_tlv(data, 0, len(data), what)
    if tlv.end != len(data):
        raise DecodeError(f"{what}: {len(data) - tlv.end} trailing bytes after the DER element")
    return tlv


def children(tlv: Tlv, what: str) -> list[Tlv]:
    """The elements inside a constructed element."""
    if not tlv.tag & 0x20:
        raise DecodeError(f"{what}: expected a constructed element, got {tag_name(tlv.tag)}")
    items: list[Tlv] = []
    buf, pos, end = tlv.buf, tlv.body, tlv.end
    while pos < end:
        item = _try_tlv(buf, pos, end) or read_tlv(buf, pos, end, f"{what}[{len(items)}]")
        items.append(item)
        pos = item.end
    return items


def expect(tlv: Tlv, identifier: int, what: str) -> None:
    """Raise unless ``tlv`` has the identifier octet ``identifier``."""
    if tlv.tag != identifier:
        raise DecodeError(f"{what}: expected {tag_name(identifier)}, got {tag_name(tlv.tag)}")


def sequence(tlv: Tlv, what: str, sizes: tuple[int, ...]) -> list[Tlv]:
    """The elements of a SEQUENCE that must have one of ``sizes`` elements."""
    expect(tlv, SEQUENCE, what)
    items = children(tlv, what)
    if len(items) not in sizes:
        wanted = " or ".join(str(s) for s in sizes)
        raise DecodeError(f"{what}: SEQUENCE has {len(items)} elements, expected {wanted}")
    return items


def integer(tlv: Tlv, what: str) -> int:
    expect(tlv, INTEGER, what)
    c = tlv.content
    if not c:
        raise DecodeError(f"{what}: empty INTEGER")
    if len(c) > 1 and ((c[0] == 0 and c[1] < 0x80) or (c[0] == 0xFF and c[1] >= 0x80)):
        raise DecodeError(f"{what}: INTEGER not minimally encoded (not DER)")
    if len(c) > 16:
        raise DecodeError(f"{what}: INTEGER of {len(c)} octets is out of range")
    return int.from_bytes(c, "big", signed=True)


def boolean(tlv: Tlv, what: str) -> bool:
    expect(tlv, BOOLEAN, what)
    if tlv.content == b"\x00":
        return False
    if tlv.content == b"\xff":
        return True
    raise DecodeError(f"{what}: BOOLEAN must be one octet 0x00 or 0xFF in DER")


def object_identifier(tlv: Tlv, what: str) -> str:
    expect(tlv, OID, what)
    c = tlv.content
    known = _OIDS_READ.get(c)
    if known is not None:
        return known
    oid = _object_identifier(c, what)
    if len(_OIDS_READ) < 256:
        _OIDS_READ[c] = oid
    return oid


# Contents of OBJECT IDENTIFIERs already read well-formed, and their dotted text: the same
# few algorithm OIDs come in every signature.
_OIDS_READ: dict[bytes, str] = {}


def _object_identifier(c: bytes, what: str) -> str:
    if not c or c[-1] & 0x80:
        raise DecodeError(f"{what}: malformed OBJECT IDENTIFIER")
    arcs: list[int] = []
    value = 0
    fresh = True
    for octet in c:
        if fresh and octet == 0x80:
            raise DecodeError(f"{what}: OBJECT IDENTIFIER arc not minimally encoded")
        value = (value << 7) | (octet & 0x7F)
        fresh = not octet & 0x80
        if fresh:
            arcs.append(value)
            value = 0
    first = arcs[0]
    head = [first // 40, first % 40] if first < 80 else [2, first - 80]
    return ".".join(str(a) for a in head + arcs[1:])


def bit_string(tlv: Tlv, what: str) -> bytes:
    """A BIT STRING of whole bytes; non-zero unused bits are rejected."""
    expect(tlv, BIT_STRING, what)
    return bit_string_content(tlv.content, what)


def bit_string_content(content: bytes, what: str) -> bytes:
    """The bytes of BIT STRING contents (unused-bits octet first), whole bytes only."""
    if not content:
        raise DecodeError(f"{what}: BIT STRING without its unused-bits octet")
    if content[0] != 0:
        raise DecodeError(
            f"{what}: BIT STRING with {content[0]} unused bits (whole bytes expected)"
        )
    return content[1:]


def octet_string(tlv: Tlv, what: str) -> bytes:
    expect(tlv, OCTET_STRING, what)
    return tlv.content


def ia5_string(tlv: Tlv, what: str) -> str:
    expect(tlv, IA5_STRING, what)
    if not tlv.content.isascii():
        raise DecodeError(f"{what}: IA5String contains non-ASCII bytes")
    return tlv.content.decode("ascii")


_PRINTABLE = frozenset(
    b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789 '()+,-./:=?"
)


def printable_string(tlv: Tlv, what: str) -> str:
    expect(tlv, PRINTABLE_STRING, what)
    if any(b not in _PRINTABLE for b in tlv.content):
        raise DecodeError(f"{what}: PrintableString contains characters outside its set")
    return tlv.content.decode("ascii")


def utf8_string(tlv: Tlv, what: str) -> str:
    expect(tlv, UTF8_STRING, what)
    try:
        return tlv.content.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise DecodeError(f"{what}: UTF8String is not valid UTF-8") from exc


_GENERALIZED_DER = re.compile(rb"(\d{4})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})(?:\.(\d*[1-9]))?Z")
_UTC_DER = re.compile(rb"(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})Z")


def _make_datetime(parts: list[int], micro: int, what: str) -> datetime:
    year, month, day, hour, minute, second = parts
    try:
        return datetime(year, month, day, hour, minute, second, micro, tzinfo=UTC)
    except ValueError as exc:
        raise DecodeError(f"{what}: impossible date or time ({exc})") from exc


def generalized_time_text(text: bytes, what: str) -> datetime:
    """Parse DER GeneralizedTime contents ``YYYYMMDDHHMMSS[.f]Z`` to an aware UTC datetime."""
    m = _GENERALIZED_DER.fullmatch(text)
    if m is None:
        raise DecodeError(f"{what}: GeneralizedTime {text[:40]!r} is not YYYYMMDDHHMMSS[.f]Z")
    fraction = m.group(7) or b""
    micro = int((fraction + b"000000")[:6]) if fraction else 0
    return _make_datetime([int(g) for g in m.groups()[:6]], micro, what)


def utc_time_text(text: bytes, what: str) -> datetime:
    """Parse DER UTCTime contents ``YYMMDDHHMMSSZ``; YY < 50 is 20YY (RFC 5280)."""
    m = _UTC_DER.fullmatch(text)
    if m is None:
        raise DecodeError(f"{what}: UTCTime {text[:40]!r} is not YYMMDDHHMMSSZ")
    parts = [int(g) for g in m.groups()]
    parts[0] += 2000 if parts[0] < 50 else 1900
    return _make_datetime(parts, 0, what)


def generalized_time(tlv: Tlv, what: str) -> datetime:
    expect(tlv, GENERALIZED_TIME, what)
    return generalized_time_text(tlv.content, what)


def any_time(tlv: Tlv, what: str) -> datetime:
    """A UTCTime or a GeneralizedTime."""
    if tlv.tag == UTC_TIME:
        return utc_time_text(tlv.content, what)
    if tlv.tag == GENERALIZED_TIME:
        return generalized_time_text(tlv.content, what)
    raise DecodeError(f"{what}: expected UTCTime or GeneralizedTime, got {tag_name(tlv.tag)}")
