"""Issue and verify end to end: every check of the verifier produced by a real licence."""

from __future__ import annotations

import base64
import json
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta

import pytest

from ezhengzhao.catalogue import Catalogue
from ezhengzhao.demo import DemoDomain
from ezhengzhao.errors import (
    CatalogueError,
    ConfigurationError,
    IssuanceError,
    LicenceFormatError,
)
from ezhengzhao.formats.licence_json import licence_canonical_bytes
from ezhengzhao.formats.sealed import SealedLicence
from ezhengzhao.issue import IssuingAuthority, build_licence
from ezhengzhao.model import Holder, LicenceDraft, Validity
from ezhengzhao.result import CheckStatus, Status
from ezhengzhao.sign._sm2_prefix import Sm2Prefix
from ezhengzhao.sign.ses import make_signature, sm3
from ezhengzhao.sign.suites import SM2_SM3, get_suite
from ezhengzhao.trust.store import TrustStore
from ezhengzhao.verify import Verifier

CATALOGUE = Catalogue.builtin()
FOOD = CATALOGUE.by_name("食品经营许可证")


def _verifier(domain: DemoDomain, **kwargs: object) -> Verifier:
    trust = domain.trust_store()
    at = domain.created + timedelta(hours=1)
    return Verifier(trust_store=trust, clock=lambda: at, **kwargs)  # type: ignore[arg-type]


def _authority(domain: DemoDomain) -> IssuingAuthority:
    return domain.regions[0].authorities[0].credentials()


def _draft(number: str = "JY13101150000001", **changes: object) -> LicenceDraft:
    surface = FOOD.example_surface()
    holder = Holder(str(surface["KZ_JYZMC"]), str(surface["KZ_SHXYDM"]), "001")
    draft = LicenceDraft(type_code=FOOD.code, number=number, holder=holder, surface=surface)
    return replace(draft, **changes)  # type: ignore[arg-type]


def _issue(domain: DemoDomain, draft: LicenceDraft | None = None) -> SealedLicence:
    return _authority(domain).issue(draft or _draft(), catalogue=CATALOGUE, now=domain.created)


def test_every_demo_sample_gets_its_expected_verdict(demo_domain: DemoDomain) -> None:
    """With the domain's trust lists, the normal configuration."""
    at = demo_domain.created + timedelta(hours=1)
    verifier = Verifier(
        trust_lists=demo_domain.trust_list_loader(lambda: at), clock=lambda: at, region="340000"
    )
    assert len(demo_domain.samples) >= len(CATALOGUE) + 6
    for sample in demo_domain.samples:
        result = verifier.verify(demo_domain.documents[sample.file])
        assert (result.status.value, result.reasons) == (
            sample.expected_status,
            sample.expected_reasons,
        ), sample.demonstrates
        assert result.verifying_region == "340000"


def test_valid_licence_has_every_check_in_order(demo_domain: DemoDomain) -> None:
    result = _verifier(demo_domain).verify(_issue(demo_domain).to_json())
    assert result.status is Status.PASSED
    assert [c.name for c in result.checks] == [
        "format",
        "signature",
        "seal.signer_listed",
        "seal.maker_signature",
        "seal.maker_chain",
        "seal.validity",
        "signer.chain",
        "data_hash",
        "sealing",
        "trust.issuer",
        "identifier",
        "validity",
    ]
    assert all(c.status is CheckStatus.PASSED for c in result.checks)
    assert result.licence is not None and result.licence.type_name == "食品经营许可证"
    assert result.issuer == _authority(demo_domain).issuer
    assert result.suite == SM2_SM3
    as_json = json.loads(json.dumps(result.to_dict(), ensure_ascii=False))
    assert as_json["status_zh"] == "有效"
    assert as_json["licence"]["licence_id"] == result.licence.licence_id


def test_sealed_licence_object_verifies_like_its_json(demo_domain: DemoDomain) -> None:
    sealed = _issue(demo_domain)
    verifier = _verifier(demo_domain)
    assert verifier.verify(sealed).checks == verifier.verify(sealed.to_json()).checks


def test_no_verifier_without_trust() -> None:
    with pytest.raises(ConfigurationError):
        Verifier(trust_store=None)  # type: ignore[arg-type]
    with pytest.raises(ConfigurationError):
        TrustStore(roots=())


def test_untrusted_root_gives_issuer_untrusted_and_no_exception(demo_domain: DemoDomain) -> None:
    other_region_only = TrustStore.from_certificates(
        [demo_domain.regions[1].root], seal_makers=[demo_domain.regions[1].maker]
    )
    verifier = Verifier(trust_store=other_region_only, clock=lambda: demo_domain.created)
    result = verifier.verify(_issue(demo_domain).to_json())
    assert result.status is Status.FAILED
    assert result.reasons == ("seal_maker_untrusted", "issuer_untrusted")


def test_allow_list_restricts_issuers(demo_domain: DemoDomain) -> None:
    roots = [r.root for r in demo_domain.regions]
    other = demo_domain.regions[1].authorities[0].issuer.code
    makers = [r.maker for r in demo_domain.regions]
    trust = TrustStore.from_certificates(roots, allowed_issuers=[other], seal_makers=makers)
    result = Verifier(trust_store=trust, clock=lambda: demo_domain.created).verify(
        _issue(demo_domain).to_json()
    )
    assert result.reasons == ("issuer_untrusted",)
    assert result.check("trust.issuer").status is CheckStatus.FAILED


def test_tampered_licence_is_not_returned(demo_domain: DemoDomain) -> None:
    doc = _issue(demo_domain).to_dict()
    doc["licence"]["surface"]["KZ_JYXM"] = "预包装食品销售"  # type: ignore[index]
    result = _verifier(demo_domain).verify(json.dumps(doc, ensure_ascii=False))
    assert result.status is Status.FAILED
    assert result.reasons == ("data_hash_mismatch",)
    assert result.licence is None and result.issuer is None
    assert result.checks[-1].name == "data_hash"  # nothing after it is believed


def test_validity_uses_china_civil_date(demo_domain: DemoDomain) -> None:
    start = date(2026, 3, 1)
    sealed = _issue(demo_domain, _draft(validity=Validity(start, date(2026, 3, 31))))
    trust = demo_domain.trust_store()
    # 2026-03-31T16:30Z is already 1 April in China: expired.
    late = Verifier(trust_store=trust, clock=lambda: datetime(2026, 3, 31, 16, 30, tzinfo=UTC))
    assert "licence_expired" in late.verify(sealed).reasons
    # 2026-02-28T16:30Z is 1 March in China: valid from that day.
    early = Verifier(trust_store=trust, clock=lambda: datetime(2026, 2, 28, 16, 30, tzinfo=UTC))
    assert early.verify(sealed).check("validity").status is CheckStatus.PASSED


def test_signing_time_in_the_future(demo_domain: DemoDomain) -> None:
    sealed = _issue(demo_domain)
    trust = demo_domain.trust_store()
    verifier = Verifier(trust_store=trust, clock=lambda: demo_domain.created - timedelta(hours=1))
    assert "signing_time_in_future" in verifier.verify(sealed).reasons


def _seal_as_given(
    domain: DemoDomain,
    draft: LicenceDraft,
    *,
    licence_id: str | None = None,
    alg_oid: str | None = None,
) -> bytes:
    """Seal a licence built by hand, the way a faulty issuing system might."""
    authority = _authority(domain)
    licence = build_licence(
        draft,
        catalogue=CATALOGUE,
        issuer=authority.issuer,
        seal_name=authority.seal.info.name,
        now=domain.created,
    )
    if licence_id is not None:
        licence = replace(licence, licence_id=licence_id)
    signature = make_signature(
        seal=authority.seal,
        data_hash=sm3(licence_canonical_bytes(licence)),
        time_info=domain.created,
        property_info="test",
        signer_cert=authority.certificate.der,
        sign_alg_oid=alg_oid or authority.signer.suite.signature_oid,
        sign=authority.signer.sign,
    )
    return SealedLicence(licence, signature.der).to_json()


def test_bad_check_character_is_a_warning_when_verifying(demo_domain: DemoDomain) -> None:
    good = _issue(demo_domain).licence.licence_id
    wrong = good[:-1] + ("0" if good[-1] != "0" else "1")
    result = _verifier(demo_domain).verify(_seal_as_given(demo_domain, _draft(), licence_id=wrong))
    assert result.status is Status.PASSED
    assert result.warnings == ("licence_id_check_failed",)
    assert result.check("identifier").status is CheckStatus.WARNING


def test_identifier_naming_another_issuer_fails(demo_domain: DemoDomain) -> None:
    good = _issue(demo_domain).licence.licence_id
    other = demo_domain.regions[1].authorities[0].issuer.code
    from ezhengzhao import codes

    parsed = codes.parse_licence_id(good)
    foreign = str(codes.build_licence_id(parsed.type_code, other, parsed.serial, parsed.version))
    result = _verifier(demo_domain).verify(
        _seal_as_given(demo_domain, _draft(), licence_id=foreign)
    )
    assert result.reasons == ("licence_id_mismatch",)


def test_signature_claiming_another_algorithm_is_rejected(demo_domain: DemoDomain) -> None:
    p256_oid = "1.2.840.10045.4.3.2"
    result = _verifier(demo_domain).verify(_seal_as_given(demo_domain, _draft(), alg_oid=p256_oid))
    assert result.status is Status.FAILED
    assert result.reasons == ("algorithm_mismatch",)


def test_steady_state_costs_one_signature_check(
    demo_domain: DemoDomain, monkeypatch: pytest.MonkeyPatch
) -> None:
    verifier = _verifier(demo_domain)
    first, second = (_issue(demo_domain, _draft(number=n)) for n in ("JY1", "JY2"))
    assert verifier.verify(first).ok
    calls: list[str] = []

    def counting(owner: type, name: str) -> None:
        original = getattr(owner, name)

        def count(self, *args, **kwargs):  # type: ignore[no-untyped-def]
            calls.append(name)
            return original(self, *args, **kwargs)

        monkeypatch.setattr(owner, name, count)

    # An SM2 check is either a whole message or the rest after the seal's kept hash state.
    counting(type(get_suite(SM2_SM3)), "_verify")
    counting(Sm2Prefix, "verify")
    assert verifier.verify(second).ok
    assert calls == ["verify"]  # one check, and the seal was not hashed again


def test_a_changed_seal_is_not_taken_for_the_one_seen_before(demo_domain: DemoDomain) -> None:
    """The kept hash state belongs to one seal: the same layout with one byte of the seal
    picture changed must fail the signature, even right after the genuine licence passed."""
    verifier = _verifier(demo_domain)
    sealed = _issue(demo_domain)
    assert verifier.verify(sealed).ok
    picture = sealed.ses_signature.index(b"\x89PNG")
    der = bytearray(sealed.ses_signature)
    der[picture + 200] ^= 0x01
    document = json.loads(sealed.to_json())
    document["ses_signature"] = base64.b64encode(bytes(der)).decode()
    result = verifier.verify(json.dumps(document))
    assert result.status is Status.FAILED
    assert result.reasons[0] == "signature_invalid"
    assert verifier.verify(sealed).ok


# ---------------------------------------------------------------- issuing refuses bad drafts


def test_unknown_type(demo_domain: DemoDomain) -> None:
    with pytest.raises(CatalogueError, match="unknown licence type"):
        _issue(demo_domain, _draft(type_code="11100000MB0143028R999"))


def test_bad_surface_value_names_the_field(demo_domain: DemoDomain) -> None:
    surface = {**FOOD.example_surface(), "KZ_SHXYDM": "91310115MA7CK9P112"}
    with pytest.raises(LicenceFormatError, match=r"surface\.KZ_SHXYDM"):
        _issue(demo_domain, _draft(surface=surface))


def test_holder_category_must_match_type(demo_domain: DemoDomain) -> None:
    person = Holder("张伟", "11010519491231002X", "111")
    with pytest.raises(IssuanceError, match="held by a 法人"):
        _issue(demo_domain, _draft(holder=person))


def test_reissue_must_name_previous(demo_domain: DemoDomain) -> None:
    with pytest.raises(IssuanceError, match="previous"):
        _issue(demo_domain, _draft(version=2))
    first = _issue(demo_domain).licence
    second = _issue(demo_domain, _draft(version=2, previous=first.licence_id)).licence
    assert second.licence_id.split(".")[-2] == "002"
    assert second.previous == first.licence_id


def test_issuer_level_must_be_allowed(demo_domain: DemoDomain) -> None:
    provincial = demo_domain.regions[0].authorities[1]  # 上海市公安局, 省级
    credentials = IssuingAuthority(
        provincial.issuer,
        provincial.keys[SM2_SM3],
        provincial.certificates[SM2_SM3],
        provincial.seal,
    )
    with pytest.raises(IssuanceError, match="not by a 省级 authority"):
        credentials.issue(_draft(), catalogue=CATALOGUE, now=demo_domain.created)


def test_signer_must_be_listed_in_seal(demo_domain: DemoDomain) -> None:
    a, b = demo_domain.regions[0].authorities[:2]
    mixed = IssuingAuthority(a.issuer, b.keys[SM2_SM3], b.certificates[SM2_SM3], a.seal)
    with pytest.raises(IssuanceError):
        mixed.issue(_draft(), catalogue=CATALOGUE, now=demo_domain.created)


def test_key_must_match_certificate(demo_domain: DemoDomain) -> None:
    a, b = demo_domain.regions[0].authorities[:2]
    wrong_key = IssuingAuthority(a.issuer, b.keys[SM2_SM3], a.certificates[SM2_SM3], a.seal)
    with pytest.raises(IssuanceError, match="does not match"):
        wrong_key.issue(_draft(), catalogue=CATALOGUE, now=demo_domain.created)


def test_seal_must_be_valid_when_signing(demo_domain: DemoDomain) -> None:
    late = demo_domain.created + timedelta(days=365 * 6)
    with pytest.raises(IssuanceError, match="valid"):
        _authority(demo_domain).issue(_draft(), catalogue=CATALOGUE, now=late)


def test_naive_time_refused(demo_domain: DemoDomain) -> None:
    with pytest.raises(IssuanceError, match="timezone"):
        _authority(demo_domain).issue(_draft(), catalogue=CATALOGUE, now=datetime(2026, 1, 1))


def test_default_validity_from_catalogue(demo_domain: DemoDomain) -> None:
    licence = _issue(demo_domain, _draft(issue_date=date(2024, 2, 29))).licence
    assert licence.validity == Validity(date(2024, 2, 29), date(2029, 2, 28))


# ---------------------------------------------------------------- bad input never escapes


def test_every_single_byte_change_fails_never_raises(demo_domain: DemoDomain) -> None:
    """Each byte of a compact sealed document, changed two ways, gives FAILED."""
    data = bytearray(_issue(demo_domain).to_json(indent=None))
    verifier = _verifier(demo_domain)
    assert verifier.verify(bytes(data)).ok
    unexpected = []
    for i in range(len(data)):
        for new in {data[i] ^ 0x01, (data[i] + 0x35) % 256}:
            changed = bytearray(data)
            changed[i] = new
            result = verifier.verify(bytes(changed))
            if result.status is not Status.FAILED:
                unexpected.append((i, new, result.status))
    assert unexpected == []


@pytest.mark.parametrize(
    "document",
    [
        b"",
        b"null",
        b"{}",
        b'{"format": "ezz/sealed/1"}',
        b'{"format": "ezz/sealed/1", "licence": {}, "ses_signature": "AAAA"}',
        b'{"format": "ezz/sealed/1", "licence": [], "ses_signature": "AAAA"}',
        b"\x00" * 100,
        "证照".encode() * 10,
    ],
)
def test_garbage_documents(demo_domain: DemoDomain, document: bytes) -> None:
    result = _verifier(demo_domain).verify(document)
    assert result.status is Status.FAILED
    assert result.checks[0].name == "format"


def test_truncated_signature_der(demo_domain: DemoDomain) -> None:
    doc = _issue(demo_domain).to_dict()
    der = base64.b64decode(str(doc["ses_signature"]))
    verifier = _verifier(demo_domain)
    for cut in range(0, len(der), 97):
        doc["ses_signature"] = base64.b64encode(der[:cut]).decode()
        result = verifier.verify(json.dumps(doc, ensure_ascii=False))
        assert result.status is Status.FAILED


def test_non_canonical_base64_is_refused(demo_domain: DemoDomain) -> None:
    doc = _issue(demo_domain).to_dict()
    der = base64.b64decode(str(doc["ses_signature"]))
    for keep in (len(der) - len(der) % 3 - 2, len(der) - len(der) % 3 - 1):
        # keep % 3 is 1 or 2: the last base64 quantum then carries padding bits
        text = base64.b64encode(der[:keep]).decode()
        alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
        last = text.rstrip("=")[-1]
        bumped = alphabet[alphabet.index(last) ^ 1]  # the lowest bit is a padding bit
        doc["ses_signature"] = text.rstrip("=")[:-1] + bumped + "=" * text.count("=")
        assert base64.b64decode(doc["ses_signature"]) == der[:keep]
        result = _verifier(demo_domain).verify(json.dumps(doc, ensure_ascii=False))
        assert "canonical base64" in result.checks[0].detail


def test_sealing_details_must_match_the_signature(demo_domain: DemoDomain) -> None:
    authority = _authority(demo_domain)
    licence = build_licence(
        _draft(),
        catalogue=CATALOGUE,
        issuer=authority.issuer,
        seal_name="别的印章",
        now=demo_domain.created,
    )
    signature = make_signature(
        seal=authority.seal,
        data_hash=sm3(licence_canonical_bytes(licence)),
        time_info=demo_domain.created,
        property_info="test",
        signer_cert=authority.certificate.der,
        sign_alg_oid=authority.signer.suite.signature_oid,
        sign=authority.signer.sign,
    )
    result = _verifier(demo_domain).verify(SealedLicence(licence, signature.der))
    assert result.reasons == ("sealing_mismatch",)
    assert "别的印章" in result.check("sealing").detail
