"""Electronic seal codec — 电子印章 / 电子签章 (GB/T 38540-2020 v4, GM/T 0031-2014 v1).

A codec only: it builds and parses the DER structures, keeps the exact bytes that were signed,
and rejects what is malformed with :class:`~ezhengzhao.errors.DecodeError`. It knows no policy
and verifies nothing cryptographic; signing is a callable handed in, verification belongs to
the checkers, which get the signed bytes from :attr:`Seal.signed_content` and
:attr:`SESSignature.tbs_der`.

Writes v4 only. Reads v4 and v1; the v1 layout differs in that the seal is
``{sealInfo, signInfo{cert, signatureAlgorithm, signData}}`` with UTCTime dates and the maker
signs ``SEQUENCE{sealInfo, cert, signatureAlgorithm}``, and the signer's certificate and
algorithm sit inside ``TBS_Sign`` next to a ``timeInfo`` BIT STRING.
"""

from __future__ import annotations

import functools
import hashlib
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, timezone

from cryptography.hazmat.primitives import hashes
from pyasn1.type import char, univ, useful

from ezhengzhao.errors import DecodeError, SealError
from ezhengzhao.sign import _ses_asn1 as asn1

__all__ = [
    "OID_SM2_WITH_SM3",
    "ExtData",
    "SESSignature",
    "Seal",
    "SealInfo",
    "SealPicture",
    "make_seal",
    "make_signature",
    "parse_seal",
    "parse_ses_signature",
    "sm3",
]

OID_SM2_WITH_SM3 = "1.2.156.10197.1.501"
"""SM2 signature with SM3 (GB/T 33560), the algorithm GB/T 38540 seals use."""

SEAL_VERSION_V4 = 4
SEAL_VERSION_V1 = 1
# Version numbers carried by GM/T 0031 data. ofdrw writes 1; gm_0031_38540_verifier names its
# GM/T 0031 types "v2". Neither is confirmed from the standard's text, so both are read.
_V1_NUMBERS = frozenset({1, 2})

CERT_LIST_CERTS = 1
CERT_LIST_DIGESTS = 2

# ofdrw's v1 writer puts local wall-clock text "yyyy-MM-dd HH:mm:ss" in timeInfo; read it as
# China Standard Time, where such seals are made (unconfirmed: the text carries no zone).
_CHINA_STANDARD_TIME = timezone(timedelta(hours=8), "CST")


@dataclass(frozen=True, slots=True)
class SealPicture:
    """The seal picture — 印章图像 (SES_ESPictrueInfo): image type, bytes, display size in mm."""

    type: str
    data: bytes = field(repr=False)
    width_mm: int
    height_mm: int


@dataclass(frozen=True, slots=True)
class ExtData:
    """One vendor extension — 厂商自定义数据 (ExtData): OID, criticality, raw value."""

    ext_id: str
    critical: bool
    value: bytes


@dataclass(frozen=True, slots=True)
class SealInfo:
    """What a seal says — 印章信息 (SES_SealInfo, GB/T 38540 §6).

    ``seal_type`` is 1 for an organisation's seal (单位印章). ``cert_list_type`` 1 lists the
    signers' DER certificates in ``certs``; 2 lists ``(digest type, value)`` pairs in
    ``cert_digests``. Dates are aware UTC datetimes. ``version`` is the header's number as
    written (4 for GB/T 38540; 1 or 2 in GM/T 0031 data); ``vendor_id`` is the header's vid.
    """

    es_id: str
    name: str
    seal_type: int
    cert_list_type: int
    certs: tuple[bytes, ...]
    cert_digests: tuple[tuple[str, bytes], ...]
    create_date: datetime
    valid_start: datetime
    valid_end: datetime
    picture: SealPicture
    vendor_id: str
    version: int = SEAL_VERSION_V4
    ext_datas: tuple[ExtData, ...] = ()


@dataclass(frozen=True, slots=True)
class Seal:
    """An electronic seal — 电子印章 (SESeal): the seal info signed by the seal maker (制章者).

    ``info_der`` is the exact DER of ``esealInfo`` as found (or as handed to ``sign``), ``der``
    the exact DER of the whole seal. ``version`` is the layout: 4 (GB/T 38540) or 1 (GM/T 0031).
    """

    info: SealInfo
    info_der: bytes = field(repr=False)
    maker_cert: bytes = field(repr=False)
    sign_alg_oid: str
    signed_value: bytes
    der: bytes = field(repr=False)
    version: int

    @property
    def signed_content(self) -> bytes:
        """The exact bytes the maker's ``signed_value`` covers.

        v4: DER(esealInfo), i.e. ``info_der``. v1: DER of SEQUENCE{sealInfo, cert,
        signatureAlgorithm}, built around the original ``info_der``.
        """
        if self.version == SEAL_VERSION_V4:
            return self.info_der
        content = asn1.SESealV1SignedContent()
        content["sealInfo"] = univ.Any(self.info_der)
        content["cert"] = univ.OctetString(self.maker_cert)
        content["signatureAlgorithm"] = univ.ObjectIdentifier(self.sign_alg_oid)
        return asn1.encode(content)


@dataclass(frozen=True, slots=True)
class SESSignature:
    """Electronic signature data made with a seal — 电子签章数据 (SES_Signature, GB/T 38540).

    ``tbs_der`` is the exact DER of ``toSign`` (TBS_Sign), which ``signature`` covers in both
    v4 and v1. ``data_hash`` is the hash of the signed document as written (SM3 in practice).
    ``timestamp`` is v4's optional ``timeStamp``, or the RFC 3161 token a v1 ``timeInfo`` holds.
    ``version`` is the layout: 4 or 1. ``ext_datas`` are TBS_Sign's extensions, if any.
    ``seal_end`` is where the embedded seal ends in ``tbs_der`` (0 when not known): what comes
    before it is the same in every signature made with that seal, up to TBS_Sign's length.
    """

    version: int
    seal: Seal
    time_info: datetime
    data_hash: bytes
    property_info: str
    signer_cert: bytes
    signature_alg_oid: str
    signature: bytes
    timestamp: bytes | None
    tbs_der: bytes = field(repr=False)
    der: bytes = field(repr=False)
    ext_datas: tuple[ExtData, ...] = ()
    seal_end: int = field(default=0, repr=False)


def _sm3_hashlib(data: bytes) -> bytes:
    return hashlib.new("sm3", data).digest()


def _sm3_cryptography(data: bytes) -> bytes:
    digest = hashes.Hash(hashes.SM3())
    digest.update(data)
    return digest.finalize()


def _pick_sm3() -> Callable[[bytes], bytes]:
    # The standard library's OpenSSL binding hashes with less overhead per call than a Hash
    # object; OpenSSL builds without SM3 leave it out, and cryptography's SM3 serves instead.
    try:
        if _sm3_hashlib(b"abc") == _SM3_ABC:
            return _sm3_hashlib
    except ValueError:
        pass
    return _sm3_cryptography


# GB/T 32905 Appendix A example 1: SM3("abc").
_SM3_ABC = bytes.fromhex("66c7f0f462eeedd9d1f2d46bdc10e4e24167c4875cf2f7a2297da02b8f4ba8e0")
_sm3 = _pick_sm3()


def sm3(data: bytes) -> bytes:
    """SM3 digest (GB/T 32905) of ``data``, 32 bytes — what ``dataHash`` holds."""
    return _sm3(data)


# --- making (v4 only) ------------------------------------------------------------------------


_OID_TEXT = re.compile(r"[0-2](\.(0|[1-9]\d*))+")
_PRINTABLE_TEXT = re.compile(r"[A-Za-z0-9 '()+,\-./:=?]+")


def _check_oid(oid: str, what: str) -> str:
    if not isinstance(oid, str) or _OID_TEXT.fullmatch(oid) is None:
        raise SealError(f"{what}: {oid!r} is not a dotted object identifier")
    first, second = (int(a) for a in oid.split(".")[:2])
    if first < 2 and second >= 40:
        raise SealError(f"{what}: {oid!r} is not a valid object identifier")
    return oid


def _check_ia5(text: str, what: str) -> str:
    if not isinstance(text, str) or not text.isascii():
        raise SealError(f"{what} must be ASCII (an IA5String), got {text!r}")
    return text


def _check_bytes(value: bytes, what: str, *, allow_empty: bool = False) -> bytes:
    if not isinstance(value, bytes | bytearray | memoryview):
        raise SealError(f"{what} must be bytes, got {type(value).__name__}")
    value = bytes(value)
    if not value and not allow_empty:
        raise SealError(f"{what} must not be empty")
    return value


def _check_time(dt: datetime, what: str) -> str:
    if not isinstance(dt, datetime) or dt.tzinfo is None or dt.utcoffset() is None:
        raise SealError(f"{what} must be an aware datetime (UTC), got {dt!r}")
    return asn1.format_generalized_time(dt)


def _check_int(value: int, what: str) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        raise SealError(f"{what} must be a non-negative integer, got {value!r}")
    return value


def _ext_datas_value(exts: tuple[ExtData, ...], what: str) -> asn1.ExtensionDatas:
    value = asn1.ExtensionDatas()
    for i, ext in enumerate(exts):
        item = asn1.ExtData()
        item["extnID"] = univ.ObjectIdentifier(_check_oid(ext.ext_id, f"{what}[{i}].ext_id"))
        item["critical"] = univ.Boolean(bool(ext.critical))
        item["extnValue"] = univ.OctetString(
            _check_bytes(ext.value, f"{what}[{i}].value", allow_empty=True)
        )
        value.append(item)
    return value


def _encode_cert_list(info: SealInfo) -> bytes:
    if info.cert_list_type == CERT_LIST_CERTS:
        if not info.certs or info.cert_digests:
            raise SealError("cert_list_type 1 needs certs and no cert_digests")
        certs = asn1.CertInfoList()
        for i, cert in enumerate(info.certs):
            certs.append(univ.OctetString(_check_bytes(cert, f"certs[{i}]")))
        return asn1.encode(certs)
    if info.cert_list_type == CERT_LIST_DIGESTS:
        if not info.cert_digests or info.certs:
            raise SealError("cert_list_type 2 needs cert_digests and no certs")
        digests = asn1.CertDigestList()
        for i, (kind, value) in enumerate(info.cert_digests):
            if not isinstance(kind, str) or _PRINTABLE_TEXT.fullmatch(kind) is None:
                raise SealError(f"cert_digests[{i}] type must be a PrintableString, got {kind!r}")
            obj = asn1.CertDigestObj()
            obj["type"] = char.PrintableString(kind)
            obj["value"] = univ.OctetString(_check_bytes(value, f"cert_digests[{i}] value"))
            digests.append(obj)
        return asn1.encode(digests)
    raise SealError(
        f"cert_list_type must be 1 (certificates) or 2 (digests), got {info.cert_list_type!r}"
    )


def _encode_seal_info(info: SealInfo) -> bytes:
    """DER of SES_SealInfo v4 (GB/T 38540 §6)."""
    if info.version != SEAL_VERSION_V4:
        raise SealError(f"only v4 seals are written, SealInfo.version is {info.version!r}")
    if not isinstance(info.name, str) or not info.name:
        raise SealError("seal name must be a non-empty string")
    header = asn1.SESHeader()
    header["id"] = char.IA5String("ES")
    header["version"] = univ.Integer(SEAL_VERSION_V4)
    header["vid"] = char.IA5String(_check_ia5(info.vendor_id, "vendor_id"))

    prop = asn1.SESESPropertyInfoV4()
    prop["type"] = univ.Integer(_check_int(info.seal_type, "seal_type"))
    prop["name"] = char.UTF8String(info.name)
    prop["certListType"] = univ.Integer(info.cert_list_type)
    prop["certList"] = univ.Any(_encode_cert_list(info))
    prop["createDate"] = useful.GeneralizedTime(_check_time(info.create_date, "create_date"))
    prop["validStart"] = useful.GeneralizedTime(_check_time(info.valid_start, "valid_start"))
    prop["validEnd"] = useful.GeneralizedTime(_check_time(info.valid_end, "valid_end"))

    pic = asn1.SESESPictureInfo()
    pic["type"] = char.IA5String(_check_ia5(info.picture.type, "picture.type"))
    pic["data"] = univ.OctetString(_check_bytes(info.picture.data, "picture.data"))
    pic["width"] = univ.Integer(_check_int(info.picture.width_mm, "picture.width_mm"))
    pic["height"] = univ.Integer(_check_int(info.picture.height_mm, "picture.height_mm"))

    value = asn1.SESSealInfoV4()
    value["header"] = header
    value["esID"] = char.IA5String(_check_ia5(info.es_id, "es_id"))
    value["property"] = prop
    value["picture"] = pic
    if info.ext_datas:
        value["extDatas"] = _ext_datas_value(info.ext_datas, "ext_datas")
    return asn1.encode(value)


def _call_sign(sign: Callable[[bytes], bytes], tbs: bytes) -> bytes:
    result = sign(tbs)
    if not isinstance(result, bytes | bytearray) or not result:
        raise SealError(f"sign() must return non-empty bytes, returned {type(result).__name__}")
    return bytes(result)


def make_seal(
    info: SealInfo,
    *,
    maker_cert: bytes,
    sign_alg_oid: str,
    sign: Callable[[bytes], bytes],
) -> Seal:
    """Build a v4 electronic seal (SESeal, GB/T 38540 §6).

    Encodes ``info`` as SES_SealInfo v4, calls ``sign(info_der)`` (the seal maker's signature,
    e.g. SM2 with ``sign_alg_oid`` = :data:`OID_SM2_WITH_SM3`) and wraps both with
    ``maker_cert``. Times are written as whole-second UTC GeneralizedTime, so the returned
    ``info`` (parsed back from the result) has microseconds dropped.

    Raises:
        SealError: a field cannot be encoded (non-ASCII IA5String, naive datetime, empty
            certificate list, version other than 4, ...) or ``sign`` returned no bytes.
    """
    maker_cert = _check_bytes(maker_cert, "maker_cert")
    _check_oid(sign_alg_oid, "sign_alg_oid")
    info_der = _encode_seal_info(info)
    signed_value = _call_sign(sign, info_der)
    seal = asn1.SESealV4()
    seal["esealInfo"] = univ.Any(info_der)
    seal["cert"] = univ.OctetString(maker_cert)
    seal["signAlgID"] = univ.ObjectIdentifier(sign_alg_oid)
    seal["signedValue"] = asn1.bit_string_value(signed_value)
    return parse_seal(asn1.encode(seal))


def make_signature(
    *,
    seal: Seal,
    data_hash: bytes,
    time_info: datetime,
    property_info: str,
    signer_cert: bytes,
    sign_alg_oid: str,
    sign: Callable[[bytes], bytes],
) -> SESSignature:
    """Build v4 electronic signature data (SES_Signature, GB/T 38540 电子签章).

    TBS_Sign is {version 4, the seal's exact DER, timeInfo GeneralizedTime, dataHash,
    propertyInfo}; ``sign(DER(TBS_Sign))`` gives the signature, and SES_Signature adds
    ``signer_cert`` and ``sign_alg_oid`` and no timeStamp.

    Raises:
        SealError: ``seal`` is not v4, ``property_info`` is not ASCII, ``time_info`` is naive,
            or ``sign`` returned no bytes.
    """
    if seal.version != SEAL_VERSION_V4:
        raise SealError(f"a v4 signature needs a v4 seal, this seal is v{seal.version}")
    signer_cert = _check_bytes(signer_cert, "signer_cert")
    data_hash = _check_bytes(data_hash, "data_hash")
    algorithm_der = _oid_der(_check_oid(sign_alg_oid, "sign_alg_oid"))
    time_text = _check_time(time_info, "time_info")
    property_text = _check_ia5(property_info, "property_info")
    # Both structures are a fixed row of primitives around DER already made (the seal, then
    # TBS_Sign), so they are written directly: pyasn1's encoder spent 0.2 ms on them, half
    # the time of the SM2 signature. The pyasn1 specs TBSSignV4 and SESSignatureV4 give the
    # layout, and the tests check that both ways give the same bytes.
    tbs_der = _der(
        asn1.SEQUENCE,
        _VERSION_V4_DER,
        seal.der,
        _der(asn1.GENERALIZED_TIME, time_text.encode("ascii")),
        _der_bit_string(data_hash),
        _der(asn1.IA5_STRING, property_text.encode("ascii")),
    )
    signature = _call_sign(sign, tbs_der)
    ses_der = _der(
        asn1.SEQUENCE,
        tbs_der,
        _der(asn1.OCTET_STRING, signer_cert),
        algorithm_der,
        _der_bit_string(signature),
    )
    # Read back what was built, except the seal: it is embedded byte for byte and already
    # parsed, and re-reading it would double the cost of every issuance.
    return parse_ses_signature(
        ses_der, seal_parser=lambda der: seal if der == seal.der else parse_seal(der)
    )


def _der(tag: int, *contents: bytes) -> bytes:
    """One DER element: ``tag``, the length in its shortest definite form, the contents."""
    content = b"".join(contents)
    size = len(content)
    if size < 0x80:
        return bytes((tag, size)) + content
    octets = size.to_bytes((size.bit_length() + 7) // 8, "big")
    return bytes((tag, 0x80 | len(octets))) + octets + content


def _der_bit_string(data: bytes) -> bytes:
    """A BIT STRING of whole bytes: no unused bits."""
    return _der(asn1.BIT_STRING, b"\x00", data)


@functools.lru_cache(maxsize=16)
def _oid_der(oid: str) -> bytes:
    """DER of an OBJECT IDENTIFIER; a signer uses one algorithm, so it is encoded once."""
    return asn1.encode(univ.ObjectIdentifier(oid))


_VERSION_V4_DER = _der(asn1.INTEGER, bytes((SEAL_VERSION_V4,)))


# --- parsing (v4 and v1) ---------------------------------------------------------------------


def _input_bytes(der: bytes, what: str) -> bytes:
    if isinstance(der, bytearray | memoryview):
        return bytes(der)
    if not isinstance(der, bytes):
        raise DecodeError(f"{what}: expected bytes, got {type(der).__name__}")
    return der


def parse_seal(der: bytes) -> Seal:
    """Parse an electronic seal (SESeal), GB/T 38540 v4 or GM/T 0031 v1.

    Raises:
        DecodeError: not DER, trailing bytes, a field of the wrong type or value, or a version
            other than 4 (v4) or 1/2 (GM/T 0031).
    """
    data = _input_bytes(der, "SESeal")
    return _seal(asn1.parse_der(data, "SESeal"), "SESeal")


def _header_version(seal_tlv: asn1.Tlv, what: str) -> int:
    """The version in esealInfo.header, read before choosing a layout to report it by number."""
    items = asn1.sequence(seal_tlv, what, (2, 4))
    info = asn1.sequence(items[0], f"{what}.esealInfo", (4, 5))
    header = asn1.sequence(info[0], f"{what}.esealInfo.header", (3,))
    return asn1.integer(header[1], f"{what}.esealInfo.header.version")


def _seal(tlv: asn1.Tlv, what: str) -> Seal:
    version = _header_version(tlv, what)
    items = asn1.children(tlv, what)
    if version == SEAL_VERSION_V4:
        if len(items) != 4:
            raise DecodeError(f"{what}: a v4 SESeal has 4 elements, this one {len(items)}")
        info_tlv = items[0]
        maker_cert = asn1.octet_string(items[1], f"{what}.cert")
        alg = asn1.object_identifier(items[2], f"{what}.signAlgID")
        signed_value = asn1.bit_string(items[3], f"{what}.signedValue")
        layout = SEAL_VERSION_V4
    elif version in _V1_NUMBERS:
        if len(items) != 2:
            raise DecodeError(f"{what}: a GM/T 0031 SESeal has 2 elements, this one {len(items)}")
        info_tlv = items[0]
        sign_info = asn1.sequence(items[1], f"{what}.signInfo", (3,))
        maker_cert = asn1.octet_string(sign_info[0], f"{what}.signInfo.cert")
        alg = asn1.object_identifier(sign_info[1], f"{what}.signInfo.signatureAlgorithm")
        signed_value = asn1.bit_string(sign_info[2], f"{what}.signInfo.signData")
        layout = SEAL_VERSION_V1
    else:
        raise DecodeError(
            f"{what}: seal version {version} is not supported "
            "(4 for GB/T 38540, 1 or 2 for GM/T 0031)"
        )
    info = _seal_info(info_tlv, layout, f"{what}.esealInfo")
    return Seal(
        info=info,
        info_der=info_tlv.raw,
        maker_cert=maker_cert,
        sign_alg_oid=alg,
        signed_value=signed_value,
        der=tlv.raw,
        version=layout,
    )


def _seal_info(tlv: asn1.Tlv, layout: int, what: str) -> SealInfo:
    fields = asn1.sequence(tlv, what, (4, 5))
    header = asn1.sequence(fields[0], f"{what}.header", (3,))
    header_id = asn1.ia5_string(header[0], f"{what}.header.id")
    if header_id != "ES":
        raise DecodeError(f"{what}.header.id: expected 'ES', got {header_id!r}")
    version = asn1.integer(header[1], f"{what}.header.version")
    vendor_id = asn1.ia5_string(header[2], f"{what}.header.vid")
    es_id = asn1.ia5_string(fields[1], f"{what}.esID")

    p = f"{what}.property"
    certs: tuple[bytes, ...] = ()
    digests: tuple[tuple[str, bytes], ...] = ()
    if layout == SEAL_VERSION_V4:
        prop = asn1.sequence(fields[2], p, (7,))
        cert_list_type = asn1.integer(prop[2], f"{p}.certListType")
        certs, digests = _cert_list(prop[3], cert_list_type, f"{p}.certList")
        create, start, end = (
            asn1.generalized_time(prop[4], f"{p}.createDate"),
            asn1.generalized_time(prop[5], f"{p}.validStart"),
            asn1.generalized_time(prop[6], f"{p}.validEnd"),
        )
    else:
        prop = asn1.sequence(fields[2], p, (6,))
        cert_list_type = CERT_LIST_CERTS
        certs, digests = _cert_list(prop[2], CERT_LIST_CERTS, f"{p}.certList")
        # GM/T 0031 specifies UTCTime; ofdrw also meets GeneralizedTime there and reads both.
        create, start, end = (
            asn1.any_time(prop[3], f"{p}.createDate"),
            asn1.any_time(prop[4], f"{p}.validStart"),
            asn1.any_time(prop[5], f"{p}.validEnd"),
        )
    seal_type = asn1.integer(prop[0], f"{p}.type")
    name = asn1.utf8_string(prop[1], f"{p}.name")

    pic = asn1.sequence(fields[3], f"{what}.picture", (4,))
    width = asn1.integer(pic[2], f"{what}.picture.width")
    height = asn1.integer(pic[3], f"{what}.picture.height")
    if width < 0 or height < 0:
        raise DecodeError(f"{what}.picture: negative size {width}×{height} mm")
    picture = SealPicture(
        type=asn1.ia5_string(pic[0], f"{what}.picture.type"),
        data=asn1.octet_string(pic[1], f"{what}.picture.data"),
        width_mm=width,
        height_mm=height,
    )
    exts = _ext_datas(fields[4], f"{what}.extDatas") if len(fields) == 5 else ()
    return SealInfo(
        es_id=es_id,
        name=name,
        seal_type=seal_type,
        cert_list_type=cert_list_type,
        certs=certs,
        cert_digests=digests,
        create_date=create,
        valid_start=start,
        valid_end=end,
        picture=picture,
        vendor_id=vendor_id,
        version=version,
        ext_datas=exts,
    )


def _cert_list(
    tlv: asn1.Tlv, cert_list_type: int, what: str
) -> tuple[tuple[bytes, ...], tuple[tuple[str, bytes], ...]]:
    asn1.expect(tlv, asn1.SEQUENCE, what)
    items = asn1.children(tlv, what)
    if cert_list_type == CERT_LIST_CERTS:
        return tuple(asn1.octet_string(t, f"{what}[{i}]") for i, t in enumerate(items)), ()
    if cert_list_type == CERT_LIST_DIGESTS:
        digests: list[tuple[str, bytes]] = []
        for i, t in enumerate(items):
            pair = asn1.sequence(t, f"{what}[{i}]", (2,))
            digests.append(
                (
                    asn1.printable_string(pair[0], f"{what}[{i}].type"),
                    asn1.octet_string(pair[1], f"{what}[{i}].value"),
                )
            )
        return (), tuple(digests)
    raise DecodeError(f"{what}: certListType {cert_list_type} is neither 1 nor 2")


def _ext_datas(tlv: asn1.Tlv, what: str) -> tuple[ExtData, ...]:
    asn1.expect(tlv, asn1.SEQUENCE, what)
    result: list[ExtData] = []
    for i, item in enumerate(asn1.children(tlv, what)):
        w = f"{what}[{i}]"
        parts = asn1.sequence(item, w, (2, 3))
        critical = asn1.boolean(parts[1], f"{w}.critical") if len(parts) == 3 else False
        result.append(
            ExtData(
                ext_id=asn1.object_identifier(parts[0], f"{w}.extnID"),
                critical=critical,
                value=asn1.octet_string(parts[-1], f"{w}.extnValue"),
            )
        )
    return tuple(result)


def parse_ses_signature(
    der: bytes, *, seal_parser: Callable[[bytes], Seal] | None = None
) -> SESSignature:
    """Parse electronic signature data (SES_Signature), GB/T 38540 v4 or GM/T 0031 v1.

    The v4 ``timeStamp`` is read whether tagged ``[0]`` EXPLICIT, ``[0]`` IMPLICIT, or (as
    one C implementation declares it) untagged. ``seal_parser`` turns the embedded seal's
    exact DER into a :class:`Seal` (default :func:`parse_seal`); a verifier passes one that
    remembers seals by digest, since one seal signs every licence of an authority.

    Raises:
        DecodeError: not DER, trailing bytes, a field of the wrong type or value, a seal whose
            layout does not match the signature's, or a version other than 4 or 1/2.
    """
    data = _input_bytes(der, "SES_Signature")
    top = asn1.parse_der(data, "SES_Signature")
    items = asn1.sequence(top, "SES_Signature", (2, 4, 5))
    tbs_items = asn1.sequence(items[0], "SES_Signature.toSign", (5, 6, 7))
    version = asn1.integer(tbs_items[0], "SES_Signature.toSign.version")
    read_seal = seal_parser or parse_seal
    if version == SEAL_VERSION_V4:
        return _signature_v4(top, items, tbs_items, read_seal)
    if version in _V1_NUMBERS:
        return _signature_v1(top, items, tbs_items, read_seal)
    raise DecodeError(
        f"SES_Signature: version {version} is not supported "
        "(4 for GB/T 38540, 1 or 2 for GM/T 0031)"
    )


def _signature_v4(
    top: asn1.Tlv, items: list[asn1.Tlv], tbs: list[asn1.Tlv], read_seal: Callable[[bytes], Seal]
) -> SESSignature:
    w = "SES_Signature"
    t = f"{w}.toSign"
    if len(items) not in (4, 5):
        raise DecodeError(f"{w}: a v4 SES_Signature has 4 or 5 elements, this one {len(items)}")
    if len(tbs) not in (5, 6):
        raise DecodeError(f"{t}: a v4 TBS_Sign has 5 or 6 elements, this one {len(tbs)}")
    seal = _embedded_seal(tbs[1], f"{t}.eseal", read_seal)
    if seal.version != SEAL_VERSION_V4:
        raise DecodeError(f"{t}.eseal: a v4 signature must carry a v4 seal, found v{seal.version}")
    exts: tuple[ExtData, ...] = ()
    if len(tbs) == 6:
        ext = tbs[5]
        if ext.tag == asn1.CONTEXT_0_CONSTRUCTED:  # [0] EXPLICIT, as ofdrw writes it
            inner = asn1.children(ext, f"{t}.extDatas")
            if len(inner) != 1:
                raise DecodeError(f"{t}.extDatas: [0] must wrap exactly one ExtensionDatas")
            ext = inner[0]
        exts = _ext_datas(ext, f"{t}.extDatas")
    return SESSignature(
        version=SEAL_VERSION_V4,
        seal=seal,
        time_info=asn1.generalized_time(tbs[2], f"{t}.timeInfo"),
        data_hash=asn1.bit_string(tbs[3], f"{t}.dataHash"),
        property_info=asn1.ia5_string(tbs[4], f"{t}.propertyInfo"),
        signer_cert=asn1.octet_string(items[1], f"{w}.cert"),
        signature_alg_oid=asn1.object_identifier(items[2], f"{w}.signatureAlgID"),
        signature=asn1.bit_string(items[3], f"{w}.signature"),
        timestamp=_timestamp_v4(items[4], f"{w}.timeStamp") if len(items) == 5 else None,
        tbs_der=items[0].raw,
        der=top.raw,
        ext_datas=exts,
        seal_end=tbs[1].end - items[0].start,
    )


def _embedded_seal(tlv: asn1.Tlv, what: str, read_seal: Callable[[bytes], Seal]) -> Seal:
    if read_seal is parse_seal:
        return _seal(tlv, what)  # the default: name the field path in errors
    return read_seal(tlv.raw)


def _timestamp_v4(tlv: asn1.Tlv, what: str) -> bytes:
    """timeStamp [0] BIT STRING OPTIONAL: EXPLICIT, IMPLICIT or untagged."""
    if tlv.tag == asn1.CONTEXT_0_CONSTRUCTED:
        inner = asn1.children(tlv, what)
        if len(inner) != 1:
            raise DecodeError(f"{what}: [0] EXPLICIT must wrap exactly one BIT STRING")
        return asn1.bit_string(inner[0], what)
    if tlv.tag == asn1.CONTEXT_0_PRIMITIVE:
        return asn1.bit_string_content(tlv.content, what)
    if tlv.tag == asn1.BIT_STRING:
        return asn1.bit_string(tlv, what)
    raise DecodeError(f"{what}: expected [0] or BIT STRING, got {asn1.tag_name(tlv.tag)}")


def _signature_v1(
    top: asn1.Tlv, items: list[asn1.Tlv], tbs: list[asn1.Tlv], read_seal: Callable[[bytes], Seal]
) -> SESSignature:
    w = "SES_Signature"
    t = f"{w}.toSign"
    if len(items) != 2:
        raise DecodeError(f"{w}: a GM/T 0031 SES_Signature has 2 elements, this one {len(items)}")
    if len(tbs) != 7:
        raise DecodeError(f"{t}: a GM/T 0031 TBS_Sign has 7 elements, this one {len(tbs)}")
    seal = _embedded_seal(tbs[1], f"{t}.eseal", read_seal)
    if seal.version != SEAL_VERSION_V1:
        raise DecodeError(f"{t}.eseal: a GM/T 0031 signature must carry a v1 seal, found v4")
    time_info, token = _v1_time(_v1_bits(tbs[2], f"{t}.timeInfo"), f"{t}.timeInfo")
    return SESSignature(
        version=SEAL_VERSION_V1,
        seal=seal,
        time_info=time_info,
        data_hash=_v1_bits(tbs[3], f"{t}.dataHash"),
        property_info=asn1.ia5_string(tbs[4], f"{t}.propertyInfo"),
        signer_cert=asn1.octet_string(tbs[5], f"{t}.cert"),
        signature_alg_oid=asn1.object_identifier(tbs[6], f"{t}.signatureAlgorithm"),
        signature=asn1.bit_string(items[1], f"{w}.signature"),
        timestamp=token,
        tbs_der=items[0].raw,
        der=top.raw,
        seal_end=tbs[1].end - items[0].start,
    )


def _v1_bits(tlv: asn1.Tlv, what: str) -> bytes:
    # GM/T 0031 says BIT STRING; ofdrw also meets OCTET STRING in the wild and reads both.
    if tlv.tag == asn1.OCTET_STRING:
        return tlv.content
    return asn1.bit_string(tlv, what)


_V1_UTC_TEXT = re.compile(rb"\d{12}Z")
_V1_GENERALIZED_TEXT = re.compile(rb"\d{14}(\.\d*[1-9])?Z")
_V1_OFDRW_TEXT = re.compile(rb"(\d{4})-(\d{2})-(\d{2}) (\d{2}):(\d{2}):(\d{2})")


def _v1_time(raw: bytes, what: str) -> tuple[datetime, bytes | None]:
    """The signing time in a GM/T 0031 ``timeInfo``, and the time-stamp token if it is one.

    GM/T 0031 lets timeInfo be "a time stamp or a UTCTime". Seen forms: a DER UTCTime or
    GeneralizedTime element; an RFC 3161 TimeStampToken (its TSTInfo genTime is returned);
    the bare text of a UTCTime or GeneralizedTime; ofdrw's ``yyyy-MM-dd HH:mm:ss`` (read as
    UTC+8).
    """
    if raw[:1] in (bytes([asn1.UTC_TIME]), bytes([asn1.GENERALIZED_TIME])):
        return asn1.any_time(asn1.parse_der(raw, what), what), None
    if raw[:1] == bytes([asn1.SEQUENCE]):
        return _timestamp_gen_time(raw, what), raw
    if _V1_UTC_TEXT.fullmatch(raw):
        return asn1.utc_time_text(raw, what), None
    if _V1_GENERALIZED_TEXT.fullmatch(raw):
        return asn1.generalized_time_text(raw, what), None
    m = _V1_OFDRW_TEXT.fullmatch(raw)
    if m is not None:
        year, month, day, hour, minute, second = (int(g) for g in m.groups())
        try:
            local = datetime(year, month, day, hour, minute, second, tzinfo=_CHINA_STANDARD_TIME)
        except ValueError as exc:
            raise DecodeError(f"{what}: impossible date or time ({exc})") from exc
        return local.astimezone(UTC), None
    raise DecodeError(f"{what}: {raw[:40]!r} is neither a time nor a time-stamp token")


def _timestamp_gen_time(token: bytes, what: str) -> datetime:
    """genTime of an RFC 3161 TimeStampToken (ContentInfo → SignedData → TSTInfo).

    Content-type OIDs are not checked: GB/T 20520 tokens use SM2 OIDs instead of PKCS #7's.
    """
    w = f"{what} (time-stamp token)"
    content_info = asn1.sequence(asn1.parse_der(token, w), w, (2,))
    asn1.object_identifier(content_info[0], f"{w}.contentType")
    asn1.expect(content_info[1], asn1.CONTEXT_0_CONSTRUCTED, f"{w}.content")
    wrapped = asn1.children(content_info[1], f"{w}.content")
    if len(wrapped) != 1:
        raise DecodeError(f"{w}.content: [0] must wrap exactly one SignedData")
    signed_data = asn1.sequence(wrapped[0], f"{w}.SignedData", (4, 5, 6))
    encap = asn1.sequence(signed_data[2], f"{w}.encapContentInfo", (2,))
    asn1.expect(encap[1], asn1.CONTEXT_0_CONSTRUCTED, f"{w}.eContent")
    e_content = asn1.children(encap[1], f"{w}.eContent")
    if len(e_content) != 1:
        raise DecodeError(f"{w}.eContent: [0] must wrap exactly one OCTET STRING")
    tst_der = asn1.octet_string(e_content[0], f"{w}.eContent")
    tst_tlv = asn1.parse_der(tst_der, f"{w}.TSTInfo")
    tst_info = asn1.sequence(tst_tlv, f"{w}.TSTInfo", tuple(range(5, 11)))
    return asn1.generalized_time(tst_info[4], f"{w}.TSTInfo.genTime")
