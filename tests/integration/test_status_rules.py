"""Revocation status lists and mutual-recognition rules in the Verifier (DESIGN §5–6)."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from ezhengzhao import demo
from ezhengzhao.catalogue import Catalogue
from ezhengzhao.demo import DemoDomain
from ezhengzhao.errors import ConfigurationError
from ezhengzhao.formats.sealed import SealedLicence
from ezhengzhao.issue import IssuingAuthority
from ezhengzhao.model import Holder, LicenceDraft, StatusReference
from ezhengzhao.result import CheckStatus, Status, VerificationResult
from ezhengzhao.rules.rulesets import RuleSetLoader, builtin_rule_sets, sign_rule_set
from ezhengzhao.status.codec import INVALID, SUSPENDED, StatusList, sign_status_list
from ezhengzhao.status.source import FileStatusSource, StatusSource, StatusUnavailable
from ezhengzhao.trust.store import TrustStore
from ezhengzhao.verify import Verifier

CATALOGUE = Catalogue.builtin()
FOOD = CATALOGUE.by_name("食品经营许可证")
PROPERTY = CATALOGUE.by_name("不动产权证书")
URI = "https://zz.gov.cn/s/1"
REVOKED, SUSPENDED_IDX, OUT_OF_RANGE = 7, 8, 5000


# -- helpers ----------------------------------------------------------------------------------


def _authority(domain: DemoDomain) -> IssuingAuthority:
    """上海市浦东新区市场监督管理局 (310115, 区县级): issues 食品经营许可证."""
    return domain.regions[0].authorities[0].credentials()


def _now(domain: DemoDomain) -> datetime:
    return domain.created + timedelta(minutes=1)


def _token(
    domain: DemoDomain,
    *,
    uri: str = URI,
    issued_at: datetime | None = None,
    ttl: timedelta = timedelta(hours=1),
    expires_at: datetime | None = None,
    status_list: StatusList | None = None,
) -> bytes:
    auth = _authority(domain)
    lst = (
        status_list
        or StatusList.new(1024)
        .builder()
        .set(REVOKED, INVALID)
        .set(SUSPENDED_IDX, SUSPENDED)
        .build()
    )
    return sign_status_list(
        lst,
        uri=uri,
        signer=auth.signer,
        certificate=auth.certificate,
        issued_at=issued_at or domain.created,
        ttl=ttl,
        expires_at=expires_at,
    )


def _source(domain: DemoDomain, token: bytes | None = None) -> FileStatusSource:
    return FileStatusSource(
        {URI: _token(domain) if token is None else token},
        certificates=[_authority(domain).certificate],
    )


def _verifier(
    domain: DemoDomain,
    *,
    trust: TrustStore | None = None,
    status_source: StatusSource | None = None,
    rules: RuleSetLoader | None = None,
    region: str | None = None,
) -> Verifier:
    now = _now(domain)
    return Verifier(
        trust_store=trust or domain.trust_store(),
        clock=lambda: now,
        region=region,
        status_source=status_source,
        rules=rules,
    )


def _food_draft(holder: Holder, number: str, auth: IssuingAuthority) -> LicenceDraft:
    return LicenceDraft(
        type_code=FOOD.code,
        number=number,
        holder=holder,
        surface=demo._personalise(FOOD, holder, auth.issuer),
    )


def _issue(domain: DemoDomain, idx: int | None, number: str) -> tuple[SealedLicence, str]:
    """A 食品经营许可证 pointing at entry ``idx`` of URI (none if None); its doc and QR text."""
    auth = _authority(domain)
    holder = demo._People().company("310115", "上海浦江餐饮管理有限公司")
    draft = replace(
        _food_draft(holder, number, auth),
        status=None if idx is None else StatusReference(URI, idx),
    )
    doc = auth.issue(draft, catalogue=CATALOGUE, now=domain.created)
    return doc, auth.qr_text(doc.licence, catalogue=CATALOGUE, now=domain.created)


def _both(verifier: Verifier, doc: SealedLicence, qr: str) -> list[VerificationResult]:
    return [verifier.verify(doc.to_json()), verifier.verify(qr)]


# -- status -----------------------------------------------------------------------------------


def test_valid_entry_passes_with_a_status_check(demo_domain: DemoDomain) -> None:
    doc, qr = _issue(demo_domain, 3, "SH2026STATUS0003")
    verifier = _verifier(demo_domain, status_source=_source(demo_domain))
    for result in _both(verifier, doc, qr):
        assert result.status is Status.PASSED, result.reasons
        assert result.check("status").status is CheckStatus.PASSED
        names = [c.name for c in result.checks]
        assert names.index("status") == names.index("validity") + 1


@pytest.mark.parametrize(
    ("idx", "reason"),
    [
        (REVOKED, "licence_revoked"),
        (SUSPENDED_IDX, "licence_suspended"),
        (OUT_OF_RANGE, "status_index_invalid"),
    ],
)
def test_bad_entries_fail(demo_domain: DemoDomain, idx: int, reason: str) -> None:
    doc, qr = _issue(demo_domain, idx, f"SH2026STATUS{idx:04d}")
    verifier = _verifier(demo_domain, status_source=_source(demo_domain))
    for result in _both(verifier, doc, qr):
        assert result.status is Status.FAILED
        assert result.reasons == (reason,)
        assert result.check("status").status is CheckStatus.FAILED


def test_no_status_reference_passes(demo_domain: DemoDomain) -> None:
    doc, qr = _issue(demo_domain, None, "SH2026STATUSNONE")
    verifier = _verifier(demo_domain, status_source=_source(demo_domain))
    for result in _both(verifier, doc, qr):
        assert result.status is Status.PASSED
        assert result.check("status").detail == "no status reference"


def test_without_a_status_source_revocation_is_not_checked(demo_domain: DemoDomain) -> None:
    doc, qr = _issue(demo_domain, REVOKED, "SH2026STATUS0007")
    for result in _both(_verifier(demo_domain), doc, qr):
        assert result.status is Status.PASSED
        assert "status" not in [c.name for c in result.checks]


def _unavailable(demo_domain: DemoDomain, source: FileStatusSource) -> None:
    doc, qr = _issue(demo_domain, 3, "SH2026STATUS0003")
    for result in _both(_verifier(demo_domain, status_source=source), doc, qr):
        assert result.status is Status.INDETERMINATE
        assert result.reasons == ("status_unavailable",)
        assert result.check("status").status is CheckStatus.INDETERMINATE


def test_tampered_list_signature_is_unavailable(demo_domain: DemoDomain) -> None:
    token = bytearray(_token(demo_domain))
    token[-1] ^= 0x01
    _unavailable(demo_domain, _source(demo_domain, bytes(token)))


def test_expired_list_is_unavailable(demo_domain: DemoDomain) -> None:
    created = demo_domain.created
    token = _token(
        demo_domain, issued_at=created - timedelta(days=2), expires_at=created - timedelta(days=1)
    )
    _unavailable(demo_domain, _source(demo_domain, token))


def test_list_for_another_uri_is_unavailable(demo_domain: DemoDomain) -> None:
    token = _token(demo_domain, uri="https://status.example.gov.cn/other")
    _unavailable(demo_domain, _source(demo_domain, token))


def test_list_from_an_unknown_signer_is_unavailable(demo_domain: DemoDomain) -> None:
    other = demo_domain.regions[1].authorities[0].certificates["SM2-SM3"]
    _unavailable(demo_domain, FileStatusSource({URI: _token(demo_domain)}, certificates=[other]))


def test_unknown_uri_is_unavailable(demo_domain: DemoDomain) -> None:
    source = _source(demo_domain)
    with pytest.raises(StatusUnavailable):
        source.status_list("https://status.example.gov.cn/nowhere", _now(demo_domain))


def test_file_source_caches_by_ttl(demo_domain: DemoDomain, tmp_path: Path) -> None:
    created = demo_domain.created
    path = tmp_path / "list.cwt"
    path.write_bytes(_token(demo_domain, ttl=timedelta(minutes=10)))
    source = FileStatusSource({URI: path}, certificates=[_authority(demo_domain).certificate])
    assert source.status_list(URI, created).get(REVOKED) == INVALID
    # The publisher reinstates the licence; a cached copy is used until iat + ttl.
    fresh = StatusList.new(1024)
    path.write_bytes(_token(demo_domain, issued_at=created, status_list=fresh))
    assert source.status_list(URI, created + timedelta(minutes=5)).get(REVOKED) == INVALID
    assert source.status_list(URI, created + timedelta(minutes=11)).get(REVOKED) == 0
    path.unlink()
    with pytest.raises(StatusUnavailable):
        source.status_list(URI, created + timedelta(hours=2))


def test_file_source_refuses_a_cached_list_past_exp(demo_domain: DemoDomain) -> None:
    created = demo_domain.created
    token = _token(demo_domain, ttl=timedelta(hours=1), expires_at=created + timedelta(minutes=30))
    source = _source(demo_domain, token)
    source.status_list(URI, created)
    with pytest.raises(StatusUnavailable):
        source.status_list(URI, created + timedelta(minutes=31))


# -- who may speak for a licence's status -----------------------------------------------------


def _signed_by(domain: DemoDomain, auth: IssuingAuthority, status_list: StatusList) -> bytes:
    return sign_status_list(
        status_list,
        uri=URI,
        signer=auth.signer,
        certificate=auth.certificate,
        issued_at=domain.created,
        ttl=timedelta(hours=1),
    )


def test_a_list_signed_in_another_province_cannot_speak_for_a_licence(
    demo_domain: DemoDomain,
) -> None:
    # 安徽's authority is trusted (its certificate is one of the source's signers) and signs
    # a list at the URI a 上海 licence points to, saying its revoked entry is valid.
    anhui = demo_domain.regions[1].authorities[0].credentials()
    shanghai = _authority(demo_domain)
    token = _signed_by(demo_domain, anhui, StatusList.new(1024))
    source = FileStatusSource({URI: token}, certificates=[anhui.certificate, shanghai.certificate])
    doc, qr = _issue(demo_domain, REVOKED, "SH2026STATUS0007")
    for result in _both(_verifier(demo_domain, status_source=source), doc, qr):
        assert result.status is Status.INDETERMINATE, result.reasons
        check = result.check("status")
        assert check.reason == "status_unavailable"
        assert anhui.issuer.code in check.detail and "does not speak for" in check.detail


def test_a_list_signed_by_an_authority_of_the_issuers_province_speaks_for_it(
    demo_domain: DemoDomain,
) -> None:
    # 上海市公安局 (310000) keeps the list for a 浦东新区 authority's licences: same province.
    publisher = demo_domain.regions[0].authorities[1].credentials()
    assert publisher.issuer.code != _authority(demo_domain).issuer.code
    listed = StatusList.new(1024).builder().set(REVOKED, INVALID).build()
    source = FileStatusSource(
        {URI: _signed_by(demo_domain, publisher, listed)}, certificates=[publisher.certificate]
    )
    verifier = _verifier(demo_domain, status_source=source)
    revoked, revoked_qr = _issue(demo_domain, REVOKED, "SH2026STATUS0007")
    valid, valid_qr = _issue(demo_domain, 3, "SH2026STATUS0003")
    assert [r.reasons for r in _both(verifier, revoked, revoked_qr)] == [("licence_revoked",)] * 2
    assert [r.status for r in _both(verifier, valid, valid_qr)] == [Status.PASSED] * 2


def test_the_binding_holds_for_a_cached_list(demo_domain: DemoDomain) -> None:
    shanghai = _authority(demo_domain)
    source = _source(demo_domain)
    now = _now(demo_domain)
    assert source.status_list(URI, now, issuer=shanghai.issuer.code).get(REVOKED) == INVALID
    anhui_code = demo_domain.regions[1].authorities[0].issuer.code
    with pytest.raises(StatusUnavailable, match="does not speak for"):
        source.status_list(URI, now, issuer=anhui_code)
    # Without an issuer (publishing tools, a registry checking its own list) no binding applies.
    assert source.status_list(URI, now).get(REVOKED) == INVALID


class _UnboundSource:
    def status_list(self, uri: str, now: datetime) -> StatusList:
        return StatusList.new(8)


class _PositionalSource:
    def status_list(self, uri: str, now: datetime, issuer: str | None = None, /) -> StatusList:
        return StatusList.new(8)


class _KeywordSource:
    def status_list(self, uri: str, now: datetime, **options: object) -> StatusList:
        return StatusList.new(8)


def test_a_status_source_must_be_told_the_issuer(demo_domain: DemoDomain) -> None:
    with pytest.raises(ConfigurationError, match="issuer= keyword"):
        _verifier(demo_domain, status_source=_UnboundSource())  # type: ignore[arg-type]
    with pytest.raises(ConfigurationError, match="issuer= keyword"):
        _verifier(demo_domain, status_source=_PositionalSource())  # type: ignore[arg-type]
    with pytest.raises(ConfigurationError, match="status_list"):
        _verifier(demo_domain, status_source=object())  # type: ignore[arg-type]
    _verifier(demo_domain, status_source=_KeywordSource())


# -- mutual-recognition rules -----------------------------------------------------------------


def _anhui_rules(domain: DemoDomain) -> RuleSetLoader:
    """The shipped 340000 rule set, signed by an 安徽 authority and loaded."""
    anhui = domain.regions[1].authorities[0].credentials()
    loader = RuleSetLoader(authorities={"340000": [anhui.certificate]})
    (rule_set,) = [r for r in builtin_rule_sets() if r.region == "340000"]
    loader.load(sign_rule_set(rule_set, signer=anhui.signer, certificate=anhui.certificate))
    return loader


def test_shanghai_food_licence_is_recognised_in_anhui(demo_domain: DemoDomain) -> None:
    doc, _ = _issue(demo_domain, None, "SH2026RULES0001")
    verifier = _verifier(demo_domain, rules=_anhui_rules(demo_domain), region="340000")
    result = verifier.verify(doc.to_json())
    assert result.status is Status.PASSED, result.reasons
    rule_checks = [c for c in result.checks if c.name.startswith("rule:")]
    assert {c.name for c in rule_checks} == {
        "rule:MR-340000-0001",
        "rule:MR-340000-0002",
        "rule:IR-340000-0001",
    }
    assert all(c.status is CheckStatus.PASSED for c in rule_checks)


def test_qr_codes_carry_no_issuer_level(demo_domain: DemoDomain) -> None:
    """Without trust lists a QR code names no issuer level: a rule asking for one refuses it
    (with them, test_verify_trust_lists shows the level coming from the list)."""
    _, qr = _issue(demo_domain, None, "SH2026RULES0001")
    verifier = _verifier(demo_domain, rules=_anhui_rules(demo_domain), region="340000")
    result = verifier.verify(qr)
    assert result.check("rule:MR-340000-0001").status is CheckStatus.PASSED
    assert result.check("rule:MR-340000-0002").reason == "not_recognised_in_region"


def test_zhejiang_property_certificate_is_not_recognised_in_anhui(
    demo_domain: DemoDomain,
) -> None:
    spec = demo.RegionSpec(
        "330000",
        "浙江省",
        "浙",
        (
            demo.AuthoritySpec(
                "杭州市规划和资源局", "00330011", "330100", "地市级", ("不动产权证书",)
            ),
        ),
    )
    zhejiang = demo._region(spec, demo_domain.created)
    auth = zhejiang.authorities[0].credentials()
    holder = demo._People().person("330100", "张伟")
    draft = LicenceDraft(
        type_code=PROPERTY.code,
        number="ZJ2026PROPERTY01",
        holder=holder,
        surface=demo._personalise(PROPERTY, holder, auth.issuer),
    )
    doc = auth.issue(draft, catalogue=CATALOGUE, now=demo_domain.created)
    trust = TrustStore.from_certificates(
        [zhejiang.root],
        signers=[auth.certificate],
        seal_makers=[zhejiang.maker],
    )
    verifier = _verifier(demo_domain, trust=trust, rules=_anhui_rules(demo_domain), region="340000")
    result = verifier.verify(doc.to_json())
    assert result.status is Status.FAILED
    assert result.reasons == ("not_recognised_in_region",)
    check = result.check("rule:MR-340000-0004")
    assert check.status is CheckStatus.FAILED
    assert check.detail.startswith("MR-340000-0004 浙江省（330000）颁发的不动产权证书")


def test_no_rules_for_the_region(demo_domain: DemoDomain) -> None:
    doc, _ = _issue(demo_domain, None, "SH2026RULES0001")
    verifier = _verifier(demo_domain, rules=_anhui_rules(demo_domain), region="310000")
    result = verifier.verify(doc.to_json())
    assert result.status is Status.PASSED
    assert result.check("rules").detail == "no rules apply"


def test_rules_need_a_region(demo_domain: DemoDomain) -> None:
    doc, _ = _issue(demo_domain, None, "SH2026RULES0001")
    result = _verifier(demo_domain, rules=_anhui_rules(demo_domain)).verify(doc.to_json())
    assert result.status is Status.PASSED
    assert not [c for c in result.checks if c.name.startswith("rule")]
