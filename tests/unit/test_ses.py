"""GB/T 38540 / GM/T 0031 seal codec: round trips, exact signed bytes, v1, and malformed DER."""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import random
from dataclasses import replace
from datetime import UTC, datetime, timedelta, timezone

import pytest
from pyasn1.type import char, univ, useful

from ezhengzhao.errors import DecodeError, SealError
from ezhengzhao.sign import _ses_asn1 as asn1
from ezhengzhao.sign.ses import (
    OID_SM2_WITH_SM3,
    ExtData,
    Seal,
    SealInfo,
    SealPicture,
    SESSignature,
    make_seal,
    make_signature,
    parse_seal,
    parse_ses_signature,
    sm3,
)

T0 = datetime(2025, 1, 1, tzinfo=UTC)
T_SIGN = datetime(2026, 6, 1, 8, 0, 0, tzinfo=UTC)
MAKER_CERT = b"\x30\x03maker-cert-der"
SIGNER_CERT = b"\x30\x03signer-cert-der"
OTHER_CERT = b"\x30\x03other-cert-der"


class RecordingSigner:
    """A stand-in for SM2: HMAC-SHA256 of what it is given, remembering every input."""

    def __init__(self, key: bytes = b"k") -> None:
        self.key = key
        self.seen: list[bytes] = []

    def __call__(self, data: bytes) -> bytes:
        self.seen.append(data)
        return hmac.new(self.key, data, hashlib.sha256).digest()


def tlv(tag: int, *parts: bytes) -> bytes:
    """A DER element built by hand (definite, minimal length)."""
    body = b"".join(parts)
    n = len(body)
    if n < 0x80:
        length = bytes([n])
    else:
        octets = n.to_bytes((n.bit_length() + 7) // 8, "big")
        length = bytes([0x80 | len(octets)]) + octets
    return bytes([tag]) + length + body


def oid_der(dotted: str) -> bytes:
    return asn1.encode(univ.ObjectIdentifier(dotted))


def seal_info(**changes: object) -> SealInfo:
    base = SealInfo(
        es_id="33010000000000012345",
        name="杭州市市场监督管理局",
        seal_type=1,
        cert_list_type=1,
        certs=(SIGNER_CERT, OTHER_CERT),
        cert_digests=(),
        create_date=T0,
        valid_start=T0,
        valid_end=T0 + timedelta(days=5 * 365),
        picture=SealPicture(type="png", data=b"\x89PNG\r\n\x1a\nfake", width_mm=42, height_mm=42),
        vendor_id="EZZ",
    )
    return replace(base, **changes)  # type: ignore[arg-type]


def build_seal(info: SealInfo | None = None) -> tuple[Seal, RecordingSigner]:
    signer = RecordingSigner(b"maker")
    seal = make_seal(
        info or seal_info(), maker_cert=MAKER_CERT, sign_alg_oid=OID_SM2_WITH_SM3, sign=signer
    )
    return seal, signer


def build_signature(seal: Seal | None = None) -> tuple[SESSignature, RecordingSigner]:
    signer = RecordingSigner(b"signer")
    sig = make_signature(
        seal=seal or build_seal()[0],
        data_hash=sm3(b"the document"),
        time_info=T_SIGN,
        property_info="licence.json;range=all",
        signer_cert=SIGNER_CERT,
        sign_alg_oid=OID_SM2_WITH_SM3,
        sign=signer,
    )
    return sig, signer


# --- v4 round trips ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "changes",
    [
        {},
        {"cert_list_type": 2, "certs": (), "cert_digests": (("sm3", sm3(SIGNER_CERT)),)},
        {"ext_datas": (ExtData("1.2.3.4", True, b"\x01\x02"), ExtData("1.2.3.5", False, b""))},
    ],
    ids=["cert-list-type-1", "cert-list-type-2", "ext-datas"],
)
def test_make_seal_round_trip(changes: dict[str, object]) -> None:
    info = seal_info(**changes)
    seal, signer = build_seal(info)
    assert seal.info == info
    assert seal.version == 4
    assert signer.seen == [seal.info_der]
    assert seal.signed_content == seal.info_der
    assert seal.signed_value == hmac.new(b"maker", seal.info_der, hashlib.sha256).digest()
    assert seal.maker_cert == MAKER_CERT
    assert seal.sign_alg_oid == OID_SM2_WITH_SM3
    assert parse_seal(seal.der) == seal
    # The signed esealInfo is the seal's first element, byte for byte.
    assert asn1.children(asn1.parse_der(seal.der, "s"), "s")[0].raw == seal.info_der


def test_seal_name_is_utf8_and_dates_are_generalized_time() -> None:
    seal, _ = build_seal()
    assert "杭州市市场监督管理局".encode() in seal.info_der
    assert b"\x18\x0f20250101000000Z" in seal.info_der
    assert seal.info.create_date.tzinfo is UTC


def test_make_seal_normalises_time_to_whole_utc_seconds() -> None:
    cst = timezone(timedelta(hours=8))
    seal, _ = build_seal(seal_info(create_date=datetime(2025, 1, 1, 8, 0, 0, 999, tzinfo=cst)))
    assert seal.info.create_date == T0
    assert seal.info.create_date.microsecond == 0


def test_make_signature_round_trip() -> None:
    seal, _ = build_seal()
    sig, signer = build_signature(seal)
    assert signer.seen == [sig.tbs_der]
    assert sig.signature == hmac.new(b"signer", sig.tbs_der, hashlib.sha256).digest()
    assert sig.version == 4
    assert sig.seal == seal
    assert sig.seal.der == seal.der  # the seal is embedded byte for byte
    assert sig.time_info == T_SIGN
    assert sig.data_hash == sm3(b"the document")
    assert sig.property_info == "licence.json;range=all"
    assert sig.signer_cert == SIGNER_CERT
    assert sig.signature_alg_oid == OID_SM2_WITH_SM3
    assert sig.timestamp is None
    assert sig.ext_datas == ()
    assert parse_ses_signature(sig.der) == sig


def test_tbs_sign_layout() -> None:
    sig, _ = build_signature()
    tbs = asn1.children(asn1.parse_der(sig.tbs_der, "t"), "t")
    assert [t.tag for t in tbs] == [
        asn1.INTEGER,
        asn1.SEQUENCE,
        asn1.GENERALIZED_TIME,
        asn1.BIT_STRING,
        asn1.IA5_STRING,
    ]
    assert tbs[2].content == b"20260601080000Z"
    top = asn1.children(asn1.parse_der(sig.der, "s"), "s")
    assert [t.tag for t in top] == [asn1.SEQUENCE, asn1.OCTET_STRING, asn1.OID, asn1.BIT_STRING]
    assert top[0].raw == sig.tbs_der


@pytest.mark.parametrize(
    ("property_length", "cert_length"),
    [(5, 10), (127, 100), (128, 300), (300, 70_000)],
    ids=["short", "127", "128", "three-length-octets"],
)
def test_signature_der_is_what_pyasn1_encodes(property_length: int, cert_length: int) -> None:
    """make_signature writes TBS_Sign and SES_Signature itself; pyasn1 gives the same DER."""
    seal, _ = build_seal()
    signer_cert = bytes(range(256)) * (cert_length // 256) + b"c" * (cert_length % 256)
    sig = make_signature(
        seal=seal,
        data_hash=sm3(b"the document"),
        time_info=T_SIGN,
        property_info="p" * property_length,
        signer_cert=signer_cert,
        sign_alg_oid=OID_SM2_WITH_SM3,
        sign=RecordingSigner(b"signer"),
    )
    tbs = asn1.TBSSignV4()
    tbs["version"] = univ.Integer(4)
    tbs["eseal"] = univ.Any(seal.der)
    tbs["timeInfo"] = useful.GeneralizedTime("20260601080000Z")
    tbs["dataHash"] = asn1.bit_string_value(sm3(b"the document"))
    tbs["propertyInfo"] = char.IA5String("p" * property_length)
    assert sig.tbs_der == asn1.encode(tbs)
    value = asn1.SESSignatureV4()
    value["toSign"] = univ.Any(sig.tbs_der)
    value["cert"] = univ.OctetString(signer_cert)
    value["signatureAlgID"] = univ.ObjectIdentifier(OID_SM2_WITH_SM3)
    value["signature"] = asn1.bit_string_value(sig.signature)
    assert sig.der == asn1.encode(value)


def test_bad_algorithm_is_refused_before_signing() -> None:
    signer = RecordingSigner()
    with pytest.raises(SealError, match="sign_alg_oid"):
        make_signature(
            seal=build_seal()[0],
            data_hash=sm3(b"x"),
            time_info=T_SIGN,
            property_info="x",
            signer_cert=SIGNER_CERT,
            sign_alg_oid="1.2.x",
            sign=signer,
        )
    assert signer.seen == []


def test_sm3_known_answer() -> None:
    # GB/T 32905 example 1.
    assert sm3(b"abc").hex() == "66c7f0f462eeedd9d1f2d46bdc10e4e24167c4875cf2f7a2297da02b8f4ba8e0"


def test_real_sm2_round_trip_with_tongsuopy() -> None:
    from tongsuopy.crypto import hashes
    from tongsuopy.crypto.asymciphers import ec

    maker = ec.generate_private_key(ec.SM2())
    signer = ec.generate_private_key(ec.SM2())
    seal = make_seal(
        seal_info(),
        maker_cert=MAKER_CERT,
        sign_alg_oid=OID_SM2_WITH_SM3,
        sign=lambda data: maker.sign(data, ec.ECDSA(hashes.SM3())),
    )
    sig = make_signature(
        seal=seal,
        data_hash=sm3(b"doc"),
        time_info=T_SIGN,
        property_info="doc",
        signer_cert=SIGNER_CERT,
        sign_alg_oid=OID_SM2_WITH_SM3,
        sign=lambda data: signer.sign(data, ec.ECDSA(hashes.SM3())),
    )
    parsed = parse_ses_signature(sig.der)
    maker.public_key().verify(
        parsed.seal.signed_value, parsed.seal.signed_content, ec.ECDSA(hashes.SM3())
    )
    signer.public_key().verify(parsed.signature, parsed.tbs_der, ec.ECDSA(hashes.SM3()))


# --- timeStamp tagging ------------------------------------------------------------------------

TOKEN = b"\x30\x05\x02\x01\x01\x05\x00"  # stands in for a TimeStampToken


def _with_timestamp(sig: SESSignature, element: bytes) -> bytes:
    top = asn1.children(asn1.parse_der(sig.der, "s"), "s")
    return tlv(0x30, *(t.raw for t in top), element)


def test_timestamp_explicit_built_with_pyasn1() -> None:
    sig, _ = build_signature()
    value = asn1.SESSignatureV4()
    value["toSign"] = univ.Any(sig.tbs_der)
    value["cert"] = univ.OctetString(sig.signer_cert)
    value["signatureAlgID"] = univ.ObjectIdentifier(sig.signature_alg_oid)
    value["signature"] = asn1.bit_string_value(sig.signature)
    value["timeStamp"] = asn1.bit_string_value(TOKEN).subtype(explicitTag=asn1._CTX0_EXPLICIT)
    der = asn1.encode(value)
    assert der.endswith(tlv(0xA0, tlv(0x03, b"\x00" + TOKEN)))
    parsed = parse_ses_signature(der)
    assert parsed.timestamp == TOKEN
    assert parsed.tbs_der == sig.tbs_der


@pytest.mark.parametrize(
    "element",
    [
        tlv(0xA0, tlv(0x03, b"\x00" + TOKEN)),  # [0] EXPLICIT (ofdrw)
        tlv(0x80, b"\x00" + TOKEN),  # [0] IMPLICIT
        tlv(0x03, b"\x00" + TOKEN),  # untagged (gm_0031_38540_verifier)
    ],
    ids=["explicit", "implicit", "untagged"],
)
def test_timestamp_tagging_variants(element: bytes) -> None:
    sig, _ = build_signature()
    parsed = parse_ses_signature(_with_timestamp(sig, element))
    assert parsed.timestamp == TOKEN
    assert replace(parsed, timestamp=None, der=sig.der) == sig


@pytest.mark.parametrize(
    "element",
    [
        tlv(0xA0, tlv(0x04, TOKEN)),  # explicit but OCTET STRING inside
        tlv(0xA0, tlv(0x03, b"\x00"), tlv(0x03, b"\x00")),  # two elements in [0]
        tlv(0x80, b"\x03" + TOKEN),  # implicit with unused bits
        tlv(0xA1, tlv(0x03, b"\x00" + TOKEN)),  # [1]
    ],
)
def test_timestamp_malformed(element: bytes) -> None:
    sig, _ = build_signature()
    with pytest.raises(DecodeError):
        parse_ses_signature(_with_timestamp(sig, element))


def test_tbs_ext_datas_explicit_and_untagged() -> None:
    sig, _ = build_signature()
    ext = tlv(0x30, tlv(0x30, oid_der("1.2.3"), tlv(0x01, b"\xff"), tlv(0x04, b"v")))
    for element in (tlv(0xA0, ext), ext):
        tbs_items = asn1.children(asn1.parse_der(sig.tbs_der, "t"), "t")
        tbs = tlv(0x30, *(t.raw for t in tbs_items), element)
        der = tlv(0x30, tbs, tlv(0x04, SIGNER_CERT), oid_der(OID_SM2_WITH_SM3), tlv(0x03, b"\x00"))
        parsed = parse_ses_signature(der)
        assert parsed.ext_datas == (ExtData("1.2.3", True, b"v"),)
        assert parsed.tbs_der == tbs


# --- exact bytes ------------------------------------------------------------------------------


def test_info_der_is_the_original_slice_not_a_reencoding() -> None:
    # ExtData.critical DEFAULT FALSE left out: legal, and not what pyasn1 would re-encode.
    seal, _ = build_seal()
    info_items = asn1.children(asn1.parse_der(seal.info_der, "i"), "i")
    ext = tlv(0x30, tlv(0x30, oid_der("1.2.156.1"), tlv(0x04, b"value")))
    info = tlv(0x30, *(t.raw for t in info_items), ext)
    der = tlv(0x30, info, tlv(0x04, MAKER_CERT), oid_der(OID_SM2_WITH_SM3), tlv(0x03, b"\x00sig"))
    parsed = parse_seal(der)
    assert parsed.info_der == info
    assert parsed.signed_content == info
    assert parsed.info.ext_datas == (ExtData("1.2.156.1", False, b"value"),)
    assert parsed.der == der


# --- GM/T 0031 (v1) ---------------------------------------------------------------------------


def build_v1_seal(*, header_version: int = 1) -> tuple[bytes, bytes, RecordingSigner]:
    """A GM/T 0031 SESeal from the v1 specs; returns (seal DER, sealInfo DER, maker signer)."""
    header = asn1.SESHeader()
    header["id"] = "ES"
    header["version"] = header_version
    header["vid"] = "OFDRW"
    prop = asn1.SESESPropertyInfoV1()
    prop["type"] = 1
    prop["name"] = char.UTF8String("测试单位")
    certs = asn1.CertInfoList()
    certs.append(univ.OctetString(SIGNER_CERT))
    prop["certList"] = certs
    prop["createDate"] = useful.UTCTime("250101000000Z")
    prop["validStart"] = useful.UTCTime("250101000000Z")
    prop["validEnd"] = useful.UTCTime("491231235959Z")
    pic = asn1.SESESPictureInfo()
    pic["type"] = "png"
    pic["data"] = b"png-bytes"
    pic["width"] = 40
    pic["height"] = 40
    info = asn1.SESSealInfoV1()
    info["header"] = header
    info["esID"] = "v1-seal-1"
    info["property"] = prop
    info["picture"] = pic
    info_der = asn1.encode(info)

    to_sign = asn1.SESealV1SignedContent()
    to_sign["sealInfo"] = univ.Any(info_der)
    to_sign["cert"] = MAKER_CERT
    to_sign["signatureAlgorithm"] = univ.ObjectIdentifier(OID_SM2_WITH_SM3)
    maker = RecordingSigner(b"maker")
    sign_info = asn1.SESSignInfoV1()
    sign_info["cert"] = MAKER_CERT
    sign_info["signatureAlgorithm"] = univ.ObjectIdentifier(OID_SM2_WITH_SM3)
    sign_info["signData"] = asn1.bit_string_value(maker(asn1.encode(to_sign)))
    seal = asn1.SESealV1()
    seal["sealInfo"] = univ.Any(info_der)
    seal["signInfo"] = sign_info
    return asn1.encode(seal), info_der, maker


def build_v1_signature(
    time_info: bytes, *, octet_strings: bool = False, version: int = 1
) -> tuple[bytes, RecordingSigner]:
    seal_der, _, _ = build_v1_seal()
    signer = RecordingSigner(b"signer")
    if octet_strings:  # the non-standard form ofdrw also reads
        tbs_der = tlv(
            0x30,
            tlv(0x02, bytes([version])),
            seal_der,
            tlv(0x04, time_info),
            tlv(0x04, sm3(b"doc")),
            tlv(0x16, b"doc.ofd"),
            tlv(0x04, SIGNER_CERT),
            oid_der(OID_SM2_WITH_SM3),
        )
    else:
        tbs = asn1.TBSSignV1()
        tbs["version"] = version
        tbs["eseal"] = univ.Any(seal_der)
        tbs["timeInfo"] = asn1.bit_string_value(time_info)
        tbs["dataHash"] = asn1.bit_string_value(sm3(b"doc"))
        tbs["propertyInfo"] = "doc.ofd"
        tbs["cert"] = SIGNER_CERT
        tbs["signatureAlgorithm"] = univ.ObjectIdentifier(OID_SM2_WITH_SM3)
        tbs_der = asn1.encode(tbs)
    value = asn1.SESSignatureV1()
    value["toSign"] = univ.Any(tbs_der)
    value["signature"] = asn1.bit_string_value(signer(tbs_der))
    return asn1.encode(value), signer


def test_v1_seal_parses() -> None:
    der, info_der, maker = build_v1_seal()
    seal = parse_seal(der)
    assert seal.version == 1
    assert seal.info.version == 1
    assert seal.info_der == info_der
    assert seal.der == der
    assert seal.maker_cert == MAKER_CERT
    assert seal.sign_alg_oid == OID_SM2_WITH_SM3
    # The v1 maker signs SEQUENCE{sealInfo, cert, signatureAlgorithm}, not sealInfo alone.
    assert seal.signed_content == maker.seen[0]
    assert seal.signed_value == hmac.new(b"maker", maker.seen[0], hashlib.sha256).digest()
    info = seal.info
    assert (info.name, info.es_id, info.vendor_id) == ("测试单位", "v1-seal-1", "OFDRW")
    assert (info.cert_list_type, info.certs, info.cert_digests) == (1, (SIGNER_CERT,), ())
    assert info.create_date == T0
    assert info.valid_end == datetime(2049, 12, 31, 23, 59, 59, tzinfo=UTC)
    assert info.picture == SealPicture("png", b"png-bytes", 40, 40)


def test_v1_seal_header_version_2_is_read() -> None:
    seal = parse_seal(build_v1_seal(header_version=2)[0])
    assert (seal.version, seal.info.version) == (1, 2)


def _fake_timestamp_token(gen_time: bytes) -> bytes:
    tst_info = tlv(
        0x30,
        tlv(0x02, b"\x01"),
        oid_der("1.2.3.4"),
        tlv(0x30, tlv(0x30, oid_der("1.2.156.10197.1.401")), tlv(0x04, b"\x00" * 32)),
        tlv(0x02, b"\x2a"),
        tlv(0x18, gen_time),
    )
    signed_data = tlv(
        0x30,
        tlv(0x02, b"\x03"),
        tlv(0x31),
        tlv(0x30, oid_der("1.2.840.113549.1.9.16.1.4"), tlv(0xA0, tlv(0x04, tst_info))),
        tlv(0x31),
    )
    return tlv(0x30, oid_der("1.2.840.113549.1.7.2"), tlv(0xA0, signed_data))


V1_SIGN_TIME = datetime(2025, 3, 4, 5, 6, 7, tzinfo=UTC)
TOKEN_V1 = _fake_timestamp_token(b"20250304050607.5Z")


@pytest.mark.parametrize(
    ("time_info", "expected", "token"),
    [
        (b"250304050607Z", V1_SIGN_TIME, None),  # UTCTime text
        (b"20250304050607Z", V1_SIGN_TIME, None),  # GeneralizedTime text
        (tlv(0x17, b"250304050607Z"), V1_SIGN_TIME, None),  # a DER UTCTime element
        (b"2025-03-04 13:06:07", V1_SIGN_TIME, None),  # ofdrw's local text, UTC+8
        (TOKEN_V1, V1_SIGN_TIME + timedelta(microseconds=500000), TOKEN_V1),
    ],
    ids=["utctime-text", "generalized-text", "utctime-der", "ofdrw-text", "timestamp-token"],
)
def test_v1_signature_parses(time_info: bytes, expected: datetime, token: bytes | None) -> None:
    der, signer = build_v1_signature(time_info)
    sig = parse_ses_signature(der)
    assert sig.version == 1
    assert sig.seal.version == 1
    assert sig.tbs_der == signer.seen[0]
    assert sig.signature == hmac.new(b"signer", sig.tbs_der, hashlib.sha256).digest()
    assert sig.time_info == expected
    assert sig.timestamp == token
    assert sig.data_hash == sm3(b"doc")
    assert sig.property_info == "doc.ofd"
    assert sig.signer_cert == SIGNER_CERT
    assert sig.signature_alg_oid == OID_SM2_WITH_SM3
    assert sig.der == der


def test_v1_octet_string_time_and_hash_are_tolerated() -> None:
    der, signer = build_v1_signature(b"250304050607Z", octet_strings=True)
    sig = parse_ses_signature(der)
    assert (sig.time_info, sig.data_hash, sig.tbs_der) == (
        V1_SIGN_TIME,
        sm3(b"doc"),
        signer.seen[0],
    )


@pytest.mark.parametrize(
    "time_info",
    [b"", b"yesterday", b"251304050607Z", b"2025-02-30 00:00:00", b"\x30\x00", b"\x17\x01Z"],
)
def test_v1_bad_time_info(time_info: bytes) -> None:
    der, _ = build_v1_signature(time_info)
    with pytest.raises(DecodeError, match="timeInfo"):
        parse_ses_signature(der)


def test_v1_seal_cannot_make_a_v4_signature() -> None:
    seal = parse_seal(build_v1_seal()[0])
    with pytest.raises(SealError, match="v4 seal"):
        build_signature(seal)


def test_v4_signature_with_v1_seal_is_rejected() -> None:
    sig, _ = build_signature()
    tbs = asn1.children(asn1.parse_der(sig.tbs_der, "t"), "t")
    v1_seal = build_v1_seal()[0]
    tbs_der = tlv(0x30, tbs[0].raw, v1_seal, *(t.raw for t in tbs[2:]))
    der = tlv(0x30, tbs_der, tlv(0x04, b"c"), oid_der(OID_SM2_WITH_SM3), tlv(0x03, b"\x00s"))
    with pytest.raises(DecodeError, match="v4 seal"):
        parse_ses_signature(der)


# --- versions ---------------------------------------------------------------------------------


@pytest.mark.parametrize("version", [0, 3, 5, 99, -1])
def test_unknown_signature_version(version: int) -> None:
    sig, _ = build_signature()
    tbs = asn1.children(asn1.parse_der(sig.tbs_der, "t"), "t")
    version_der = asn1.encode(univ.Integer(version))
    tbs_der = tlv(0x30, version_der, *(t.raw for t in tbs[1:]))
    der = tlv(0x30, tbs_der, tlv(0x04, b"c"), oid_der(OID_SM2_WITH_SM3), tlv(0x03, b"\x00s"))
    with pytest.raises(DecodeError, match=f"version {version} is not supported"):
        parse_ses_signature(der)


@pytest.mark.parametrize("version", [0, 3, 5])
def test_unknown_seal_version(version: int) -> None:
    seal, _ = build_seal()
    needle = b"\x16\x02ES\x02\x01\x04"
    assert seal.der.count(needle) == 1
    der = seal.der.replace(needle, b"\x16\x02ES\x02\x01" + bytes([version]))
    with pytest.raises(DecodeError, match=f"seal version {version} is not supported"):
        parse_seal(der)


def test_seal_header_id_must_be_es() -> None:
    seal, _ = build_seal()
    with pytest.raises(DecodeError, match="'ES'"):
        parse_seal(seal.der.replace(b"\x16\x02ES", b"\x16\x02EZ"))


# --- malformed input --------------------------------------------------------------------------


def test_truncated_signature_at_every_length() -> None:
    sig, _ = build_signature()
    for n in range(len(sig.der)):
        with pytest.raises(DecodeError):
            parse_ses_signature(sig.der[:n])


def test_truncated_seal_at_every_length() -> None:
    seal, _ = build_seal()
    for n in range(len(seal.der)):
        with pytest.raises(DecodeError):
            parse_seal(seal.der[:n])


@pytest.mark.parametrize("garbage", [b"\x00", b"\x00\x00", b"\x30\x00", b"trailing"])
def test_trailing_garbage(garbage: bytes) -> None:
    sig, _ = build_signature()
    with pytest.raises(DecodeError, match="trailing"):
        parse_ses_signature(sig.der + garbage)
    with pytest.raises(DecodeError, match="trailing"):
        parse_seal(sig.seal.der + garbage)


def _small_signature() -> bytes:
    info = seal_info(
        name="局",
        certs=(b"c",),
        picture=SealPicture("png", b"p", 40, 40),
        es_id="1",
    )
    sig, _ = build_signature(build_seal(info)[0])
    return sig.der


@pytest.mark.slow
def test_every_single_byte_change_decodes_or_raises_decode_error() -> None:
    der = _small_signature()
    parsed = 0
    for i in range(len(der)):
        for value in range(256):
            if value == der[i]:
                continue
            mutated = der[:i] + bytes([value]) + der[i + 1 :]
            try:
                sig = parse_ses_signature(mutated)
            except DecodeError:
                continue
            parsed += 1
            assert sig.der == mutated
    assert parsed > 0  # changes inside values (hash, signature, certificates) still parse


def test_single_byte_changes_of_a_v1_signature() -> None:
    der, _ = build_v1_signature(b"250304050607Z")
    for i in range(len(der)):
        for value in {der[i] ^ 0x01, der[i] ^ 0x80, 0x00, 0xFF} - {der[i]}:
            mutated = der[:i] + bytes([value]) + der[i + 1 :]
            with contextlib.suppress(DecodeError):
                parse_ses_signature(mutated)


def test_random_bytes() -> None:
    rng = random.Random(38540)
    for n in [*range(40), 100, 1000]:
        for _ in range(20):
            data = bytes(rng.randrange(256) for _ in range(n))
            for parse in (parse_seal, parse_ses_signature):
                try:
                    parse(data)
                except DecodeError:
                    pass
                else:  # pragma: no cover - random bytes forming a seal would be astonishing
                    pytest.fail(f"random bytes parsed: {data.hex()}")


@pytest.mark.parametrize(
    "data",
    [
        b"",
        b"\x30\x80\x00\x00",  # indefinite length (BER)
        b"\x30\x81\x03\x02\x01\x04",  # long form for a short length
        b"\x30\x82\x00\x03\x02\x01\x04",  # length with a leading zero
        b"\x30\x85\x01\x00\x00\x00\x00",  # absurd length
        b"\x1f\x81\x01\x00",  # high-number tag
        b"\x04\x03abc",  # not a SEQUENCE
    ],
)
def test_not_der(data: bytes) -> None:
    with pytest.raises(DecodeError):
        parse_ses_signature(data)
    with pytest.raises(DecodeError):
        parse_seal(data)


def test_wrong_structure_passed() -> None:
    sig, _ = build_signature()
    with pytest.raises(DecodeError):
        parse_seal(sig.der)
    with pytest.raises(DecodeError):
        parse_ses_signature(sig.seal.der)
    with pytest.raises(DecodeError):
        parse_ses_signature("not bytes")  # type: ignore[arg-type]


def test_non_ascii_ia5_string_is_rejected() -> None:
    sig, _ = build_signature()
    needle = b"\x16\x16licence.json;range=all"
    assert sig.der.count(needle) == 1
    bad = sig.der.replace(needle, b"\x16\x16licence.json;range=al\xe4")
    with pytest.raises(DecodeError, match="IA5String"):
        parse_ses_signature(bad)


def test_bad_utf8_name_is_rejected() -> None:
    seal, _ = build_seal()
    name = "杭州市市场监督管理局".encode()
    bad = seal.der.replace(name, b"\xff" + name[1:])
    with pytest.raises(DecodeError, match="UTF-8"):
        parse_seal(bad)


@pytest.mark.parametrize(
    "text",
    [
        b"20261301080000Z",
        b"20260631080000Z",
        b"20260601250000Z",
        b"20260601080000+",
        b"2026060108000Z0",
    ],
)
def test_absurd_dates_are_rejected(text: bytes) -> None:
    sig, _ = build_signature()
    bad = sig.der.replace(b"\x18\x0f20260601080000Z", b"\x18\x0f" + text)
    with pytest.raises(DecodeError, match="timeInfo"):
        parse_ses_signature(bad)


def test_generalized_time_with_fraction_is_read() -> None:
    sig, _ = build_signature()
    tbs = asn1.children(asn1.parse_der(sig.tbs_der, "t"), "t")
    time_der = tlv(0x18, b"20260601080000.25Z")
    tbs_der = tlv(0x30, tbs[0].raw, tbs[1].raw, time_der, tbs[3].raw, tbs[4].raw)
    der = tlv(0x30, tbs_der, tlv(0x04, b"c"), oid_der(OID_SM2_WITH_SM3), tlv(0x03, b"\x00s"))
    assert parse_ses_signature(der).time_info == T_SIGN + timedelta(milliseconds=250)


def test_bit_string_with_unused_bits_is_rejected() -> None:
    sig, _ = build_signature()
    top = asn1.children(asn1.parse_der(sig.der, "s"), "s")
    bits = asn1.encode(univ.BitString("'0101'B"))  # 4 unused bits
    der = tlv(0x30, top[0].raw, top[1].raw, top[2].raw, bits)
    with pytest.raises(DecodeError, match="unused bits"):
        parse_ses_signature(der)


def test_cert_list_type_out_of_range_is_rejected() -> None:
    seal, _ = build_seal()
    needle = "杭州市市场监督管理局".encode() + b"\x02\x01\x01"
    assert seal.der.count(needle) == 1
    with pytest.raises(DecodeError, match="certListType 3"):
        parse_seal(seal.der.replace(needle, needle[:-1] + b"\x03"))


def test_negative_picture_size_is_rejected() -> None:
    seal, _ = build_seal()
    needle = b"\x02\x01\x2a\x02\x01\x2a"  # width 42, height 42
    with pytest.raises(DecodeError, match="negative"):
        parse_seal(seal.der.replace(needle, b"\x02\x01\xd6\x02\x01\x2a"))


# --- making: refusals ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("changes", "match"),
    [
        ({"es_id": "印章1"}, "es_id"),
        ({"vendor_id": "厂商"}, "vendor_id"),
        ({"picture": SealPicture("图片", b"x", 1, 1)}, "picture.type"),
        ({"picture": SealPicture("png", b"x", -1, 1)}, "width_mm"),
        ({"create_date": datetime(2025, 1, 1)}, "aware"),
        ({"certs": ()}, "cert_list_type 1"),
        ({"cert_list_type": 2}, "cert_list_type 2"),
        ({"cert_list_type": 3}, "cert_list_type must be"),
        (
            {"cert_list_type": 2, "certs": (), "cert_digests": (("sm3 摘要", b"d"),)},
            "PrintableString",
        ),
        ({"version": 1}, "only v4"),
        ({"name": ""}, "name"),
        ({"ext_datas": (ExtData("not-an-oid", False, b""),)}, "ext_id"),
    ],
)
def test_make_seal_refuses(changes: dict[str, object], match: str) -> None:
    with pytest.raises(SealError, match=match):
        build_seal(seal_info(**changes))


def test_make_seal_refuses_bad_arguments() -> None:
    with pytest.raises(SealError, match="maker_cert"):
        make_seal(
            seal_info(), maker_cert=b"", sign_alg_oid=OID_SM2_WITH_SM3, sign=RecordingSigner()
        )
    with pytest.raises(SealError, match="sign_alg_oid"):
        make_seal(seal_info(), maker_cert=b"c", sign_alg_oid="sm2", sign=RecordingSigner())
    with pytest.raises(SealError, match="sign"):
        make_seal(
            seal_info(),
            maker_cert=b"c",
            sign_alg_oid=OID_SM2_WITH_SM3,
            sign=lambda data: "signature",  # type: ignore[arg-type,return-value]
        )


def test_make_signature_refuses() -> None:
    seal, _ = build_seal()
    ok: dict[str, object] = {
        "seal": seal,
        "data_hash": sm3(b"d"),
        "time_info": T_SIGN,
        "property_info": "p",
        "signer_cert": SIGNER_CERT,
        "sign_alg_oid": OID_SM2_WITH_SM3,
        "sign": RecordingSigner(),
    }
    for key, value, match in [
        ("property_info", "文档", "property_info"),
        ("time_info", datetime(2026, 1, 1), "aware"),
        ("signer_cert", b"", "signer_cert"),
        ("data_hash", b"", "data_hash"),
        ("sign", lambda data: b"", "sign"),
    ]:
        with pytest.raises(SealError, match=match):
            make_signature(**{**ok, key: value})  # type: ignore[arg-type]
