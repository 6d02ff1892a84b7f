"""A licence sealed with a GM/T 0031 (v1) electronic seal verifies through the same Verifier.

The v1 structures are built here from the codec's ASN.1 specifications with real SM2 keys and
certificates of the demo PKI, as an older issuing system would have produced them.
"""

from __future__ import annotations

from datetime import timedelta

from pyasn1.type import char, univ, useful

from ezhengzhao.catalogue import Catalogue
from ezhengzhao.demo import DemoDomain
from ezhengzhao.formats.licence_json import licence_canonical_bytes
from ezhengzhao.formats.sealed import SealedLicence
from ezhengzhao.issue import build_licence
from ezhengzhao.model import Holder, LicenceDraft
from ezhengzhao.result import Status
from ezhengzhao.sign import _ses_asn1 as asn1
from ezhengzhao.sign.ses import OID_SM2_WITH_SM3, parse_ses_signature, sm3
from ezhengzhao.sign.suites import SM2_SM3
from ezhengzhao.verify import Verifier

SEAL_NAME = "上海市浦东新区市场监督管理局"


def _utc(moment) -> str:  # type: ignore[no-untyped-def]
    return moment.strftime("%y%m%d%H%M%SZ")


def _v1_sealed(domain: DemoDomain, *, tamper_seal: bool = False) -> bytes:
    region = domain.regions[0]
    authority = region.authorities[0]
    signer_key, signer_cert = authority.keys[SM2_SM3], authority.certificates[SM2_SM3]
    now = domain.created
    header = asn1.SESHeader()
    header["id"] = "ES"
    header["version"] = 1
    header["vid"] = "LEGACY"
    prop = asn1.SESESPropertyInfoV1()
    prop["type"] = 1
    prop["name"] = char.UTF8String(SEAL_NAME)
    certs = asn1.CertInfoList()
    certs.append(univ.OctetString(signer_cert.der))
    prop["certList"] = certs
    prop["createDate"] = useful.UTCTime(_utc(now - timedelta(hours=1)))
    prop["validStart"] = useful.UTCTime(_utc(now - timedelta(hours=1)))
    prop["validEnd"] = useful.UTCTime(_utc(now + timedelta(days=365)))
    picture = asn1.SESESPictureInfo()
    picture["type"] = "png"
    picture["data"] = authority.seal.info.picture.data
    picture["width"] = 42
    picture["height"] = 42
    info = asn1.SESSealInfoV1()
    info["header"] = header
    info["esID"] = "310115990000000001"
    info["property"] = prop
    info["picture"] = picture
    info_der = asn1.encode(info)
    # GM/T 0031: the maker signs SEQUENCE{sealInfo, cert, signatureAlgorithm}.
    content = asn1.SESealV1SignedContent()
    content["sealInfo"] = univ.Any(info_der)
    content["cert"] = region.maker.der
    content["signatureAlgorithm"] = univ.ObjectIdentifier(OID_SM2_WITH_SM3)
    sign_info = asn1.SESSignInfoV1()
    sign_info["cert"] = region.maker.der
    sign_info["signatureAlgorithm"] = univ.ObjectIdentifier(OID_SM2_WITH_SM3)
    maker_signature = region.maker_key.sign(asn1.encode(content))
    if tamper_seal:
        maker_signature = region.maker_key.sign(b"something else")
    sign_info["signData"] = asn1.bit_string_value(maker_signature)
    seal = asn1.SESealV1()
    seal["sealInfo"] = univ.Any(info_der)
    seal["signInfo"] = sign_info

    catalogue = Catalogue.builtin()
    food = catalogue.by_name("食品经营许可证")
    surface = food.example_surface()
    draft = LicenceDraft(
        type_code=food.code,
        number="JY13101150009999",
        holder=Holder(str(surface["KZ_JYZMC"]), str(surface["KZ_SHXYDM"]), "001"),
        surface=surface,
    )
    licence = build_licence(
        draft, catalogue=catalogue, issuer=authority.issuer, seal_name=SEAL_NAME, now=now
    )
    tbs = asn1.TBSSignV1()
    tbs["version"] = 1
    tbs["eseal"] = univ.Any(asn1.encode(seal))
    tbs["timeInfo"] = asn1.bit_string_value(_utc(now).encode())
    tbs["dataHash"] = asn1.bit_string_value(sm3(licence_canonical_bytes(licence)))
    tbs["propertyInfo"] = licence.licence_id
    tbs["cert"] = signer_cert.der
    tbs["signatureAlgorithm"] = univ.ObjectIdentifier(OID_SM2_WITH_SM3)
    tbs_der = asn1.encode(tbs)
    value = asn1.SESSignatureV1()
    value["toSign"] = univ.Any(tbs_der)
    value["signature"] = asn1.bit_string_value(signer_key.sign(tbs_der))
    der = asn1.encode(value)
    assert parse_ses_signature(der).version == 1
    return SealedLicence(licence, der).to_json()


def _verifier(domain: DemoDomain) -> Verifier:
    trust = domain.trust_store()
    return Verifier(trust_store=trust, clock=lambda: domain.created + timedelta(minutes=5))


def test_v1_sealed_licence_passes(demo_domain: DemoDomain) -> None:
    result = _verifier(demo_domain).verify(_v1_sealed(demo_domain))
    assert result.status is Status.PASSED, result.reasons
    assert result.licence is not None and result.licence.sealing is not None
    assert result.licence.sealing.seal_name == SEAL_NAME


def test_v1_seal_maker_signature_is_checked(demo_domain: DemoDomain) -> None:
    result = _verifier(demo_domain).verify(_v1_sealed(demo_domain, tamper_seal=True))
    assert result.status is Status.FAILED
    assert "seal_signature_invalid" in result.reasons
