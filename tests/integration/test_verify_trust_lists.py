"""A verifier configured with signed trust lists — the normal way (issue #4 item 1).

The lists say who may issue which licence types with which certificates; stale lists give
"cannot tell"; the verifier follows a loader that takes a newer list; a QR code's issuer level
and region come from the list.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterable
from dataclasses import replace
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from ezhengzhao import demo
from ezhengzhao.catalogue import Catalogue
from ezhengzhao.demo import DemoDomain, Region
from ezhengzhao.errors import ConfigurationError, TrustListError
from ezhengzhao.model import LicenceDraft, StatusReference
from ezhengzhao.result import CheckStatus, Status
from ezhengzhao.rules.rulesets import RuleSetLoader, builtin_rule_sets, sign_rule_set
from ezhengzhao.sign.suites import ECDSA_P256_SHA256, SM2_SM3
from ezhengzhao.trust.directory import load_trust_directory
from ezhengzhao.trust.lists import (
    TrustListEntry,
    TrustListLoader,
    build_trust_list,
    sign_trust_list,
)
from ezhengzhao.verify import Verifier

CATALOGUE = Catalogue.builtin()
FOOD = CATALOGUE.by_name("食品经营许可证")


def _at(domain: DemoDomain, **delta: float) -> datetime:
    return domain.created + timedelta(minutes=1, **delta)


def _entry(
    authority: demo.Authority,
    *,
    types: Iterable[str] | None = None,
    suites: Iterable[str] | None = None,
    valid_until: datetime | None = None,
) -> TrustListEntry:
    certificates = tuple(
        cert for suite, cert in authority.certificates.items() if suites is None or suite in suites
    )
    names = authority.spec.types if types is None else tuple(types)
    return TrustListEntry(
        uscc=authority.issuer.code,
        name=authority.issuer.name,
        region=authority.issuer.region_code,
        level=authority.issuer.level,
        certificates=certificates,
        licence_types=tuple(CATALOGUE.by_name(n).code for n in names),
        valid_from=min(c.not_before for c in certificates),
        valid_until=valid_until or max(c.not_after for c in certificates),
    )


def _signed_list(
    region: Region,
    entries: Iterable[TrustListEntry],
    *,
    issued_at: datetime,
    next_update: datetime,
    sequence: int = 1,
) -> bytes:
    trust_list = build_trust_list(
        issuer=region.root.subject.common_name or "",
        region=region.spec.code,
        sequence=sequence,
        issued_at=issued_at,
        next_update=next_update,
        entries=entries,
        roots=[region.root],
        seal_makers=[region.maker],
    )
    return sign_trust_list(trust_list, signer=region.root_key, certificate=region.root)


def _loader(
    domain: DemoDomain, at: datetime, lists: Iterable[bytes] | None = None
) -> TrustListLoader:
    loader = TrustListLoader(anchors=[r.root for r in domain.regions], clock=lambda: at)
    for data in domain.trust_lists.values() if lists is None else lists:
        loader.load(data, keep_stale=True)
    return loader


def _shanghai_list(domain: DemoDomain, entries: Iterable[TrustListEntry], **kw: object) -> bytes:
    return _signed_list(
        domain.regions[0],
        entries,
        issued_at=kw.pop("issued_at", domain.created),  # type: ignore[arg-type]
        next_update=kw.pop("next_update", domain.created + timedelta(days=1)),  # type: ignore[arg-type]
        **kw,  # type: ignore[arg-type]
    )


def _market(domain: DemoDomain) -> demo.Authority:
    """上海市浦东新区市场监督管理局: 食品经营许可证 and 营业执照, SM2 and P-256 keys."""
    return domain.regions[0].authorities[0]


def _food(domain: DemoDomain, suite: str = SM2_SM3) -> tuple[bytes, str]:
    authority = _market(domain).credentials(suite)
    holder = demo._People().company("310115", "上海浦江餐饮管理有限公司")
    draft = LicenceDraft(
        type_code=FOOD.code,
        number="SH2026TRUST00001",
        holder=holder,
        surface=demo._personalise(FOOD, holder, authority.issuer),
    )
    doc = authority.issue(draft, catalogue=CATALOGUE, now=domain.created)
    return doc.to_json(), authority.qr_text(doc.licence, catalogue=CATALOGUE, now=domain.created)


# -- the normal configuration -----------------------------------------------------------------


def test_demo_samples_and_codes_get_their_verdicts_with_trust_lists(
    demo_domain: DemoDomain,
) -> None:
    at = _at(demo_domain)
    verifier = Verifier(trust_lists=_loader(demo_domain, at), clock=lambda: at, region="340000")
    for sample in demo_domain.samples:
        result = verifier.verify(demo_domain.documents[sample.file])
        assert (result.status.value, result.reasons) == (
            sample.expected_status,
            sample.expected_reasons,
        ), sample.demonstrates
    for qr in demo_domain.qr_samples:
        result = verifier.verify(qr.text)
        assert (result.status.value, result.reasons) == (qr.expected_status, qr.expected_reasons)


def test_trust_checks_appear_in_order(demo_domain: DemoDomain) -> None:
    at = _at(demo_domain)
    verifier = Verifier(trust_lists=_loader(demo_domain, at), clock=lambda: at)
    doc, qr = _food(demo_domain)
    for result in (verifier.verify(doc), verifier.verify(qr)):
        assert result.status is Status.PASSED, result.reasons
        names = [c.name for c in result.checks]
        i = names.index("trust.list")
        assert names[i : i + 3] == ["trust.list", "trust.issuer", "trust.licence_type"]


def test_a_type_the_issuer_is_not_listed_for_fails(demo_domain: DemoDomain) -> None:
    at = _at(demo_domain)
    market = _market(demo_domain)
    others = [_entry(a) for a in demo_domain.regions[0].authorities[1:]]
    lists = [
        _shanghai_list(demo_domain, [_entry(market, types=["营业执照"]), *others]),
    ]
    verifier = Verifier(trust_lists=_loader(demo_domain, at, lists), clock=lambda: at)
    doc, qr = _food(demo_domain)
    for result in (verifier.verify(doc), verifier.verify(qr)):
        assert result.status is Status.FAILED
        assert result.reasons == ("licence_type_not_listed",)
        check = result.check("trust.licence_type")
        assert FOOD.code in check.detail and market.issuer.name in check.detail
        assert "颁发机构无权颁发此类证照" in check.message_zh


def test_a_certificate_the_list_does_not_name_fails(demo_domain: DemoDomain) -> None:
    at = _at(demo_domain)
    market = _market(demo_domain)
    lists = [_shanghai_list(demo_domain, [_entry(market, suites=[SM2_SM3])])]
    verifier = Verifier(trust_lists=_loader(demo_domain, at, lists), clock=lambda: at)
    assert verifier.verify(_food(demo_domain, SM2_SM3)[0]).status is Status.PASSED
    doc, qr = _food(demo_domain, ECDSA_P256_SHA256)
    assert verifier.verify(doc).reasons == ("signer_not_listed",)
    # A QR code signed by an unlisted key is not even found by its kid.
    assert verifier.verify(qr).reasons == ("kid_unknown",)


def test_an_entry_past_its_window_is_untrusted(demo_domain: DemoDomain) -> None:
    at = _at(demo_domain)
    market = _market(demo_domain)
    lists = [
        _shanghai_list(demo_domain, [_entry(market, valid_until=demo_domain.created)]),
    ]
    verifier = Verifier(trust_lists=_loader(demo_domain, at, lists), clock=lambda: at)
    doc, qr = _food(demo_domain)
    for result in (verifier.verify(doc), verifier.verify(qr)):
        assert result.status is Status.FAILED
        assert result.reasons == ("issuer_untrusted",)


# -- freshness --------------------------------------------------------------------------------


def test_stale_lists_give_cannot_tell(demo_domain: DemoDomain) -> None:
    doc, qr = _food(demo_domain)
    lists = [_shanghai_list(demo_domain, [_entry(_market(demo_domain))])]
    # next_update is a day after creation; the default grace is 24 hours.
    fresh_at = _at(demo_domain, hours=47)
    stale_at = _at(demo_domain, hours=49)
    fresh = Verifier(trust_lists=_loader(demo_domain, fresh_at, lists), clock=lambda: fresh_at)
    assert fresh.verify(doc).status is Status.PASSED
    stale = Verifier(trust_lists=_loader(demo_domain, stale_at, lists), clock=lambda: stale_at)
    for result in (stale.verify(doc), stale.verify(qr)):
        assert result.status is Status.INDETERMINATE
        assert result.reasons == ("trust_data_stale",)
        assert result.check("trust.list").status is CheckStatus.INDETERMINATE
        assert "#1" in result.check("trust.list").detail


def test_a_stale_list_does_not_hide_a_failure(demo_domain: DemoDomain) -> None:
    stale_at = _at(demo_domain, days=3)
    lists = [_shanghai_list(demo_domain, [_entry(_market(demo_domain))])]
    verifier = Verifier(trust_lists=_loader(demo_domain, stale_at, lists), clock=lambda: stale_at)
    doc, _ = _food(demo_domain)
    tampered = doc.replace("上海浦江餐饮管理有限公司".encode(), "上海冒名餐饮有限公司".encode())
    assert verifier.verify(tampered).status is Status.FAILED


def test_only_lists_covering_the_issuer_count(demo_domain: DemoDomain) -> None:
    """安徽's list is stale; a 上海 licence, vouched for by a fresh 上海 list, still passes."""
    created = demo_domain.created
    shanghai = _shanghai_list(
        demo_domain, [_entry(_market(demo_domain))], next_update=created + timedelta(days=30)
    )
    anhui_region = demo_domain.regions[1]
    anhui = _signed_list(
        anhui_region,
        [_entry(a) for a in anhui_region.authorities],
        issued_at=created,
        next_update=created + timedelta(hours=1),
    )
    at = _at(demo_domain, days=3)
    verifier = Verifier(trust_lists=_loader(demo_domain, at, [shanghai, anhui]), clock=lambda: at)
    doc, _ = _food(demo_domain)
    assert verifier.verify(doc).status is Status.PASSED
    hefei = next(s for s in demo_domain.samples if "合肥" in s.demonstrates)
    result = verifier.verify(demo_domain.documents[hefei.file])
    assert result.reasons == ("trust_data_stale",)


def test_the_verifier_follows_a_newer_list(demo_domain: DemoDomain) -> None:
    at = _at(demo_domain)
    market = _market(demo_domain)
    loader = _loader(demo_domain, at, [_shanghai_list(demo_domain, [_entry(market)])])
    verifier = Verifier(trust_lists=loader, clock=lambda: at)
    doc, qr = _food(demo_domain)
    assert verifier.verify(doc).status is Status.PASSED
    # The next list drops the market regulator: its licences stop verifying at once.
    other = demo_domain.regions[0].authorities[1]
    loader.load(_shanghai_list(demo_domain, [_entry(other)], sequence=2))
    assert verifier.verify(doc).reasons == ("issuer_untrusted",)
    assert verifier.verify(qr).reasons == ("kid_unknown",)
    # And a rolled-back list is refused by the loader; the verifier keeps the newer one.
    with pytest.raises(TrustListError):
        loader.load(_shanghai_list(demo_domain, [_entry(market)], sequence=1))
    assert verifier.verify(doc).reasons == ("issuer_untrusted",)


# -- QR codes: the list knows the issuer ------------------------------------------------------


def _anhui_rules(domain: DemoDomain, at: datetime) -> RuleSetLoader:
    anhui = next(r for r in builtin_rule_sets() if r.region == "340000")
    publisher = demo._publisher(domain.regions[1]).credentials()
    loader = RuleSetLoader(authorities={"340000": [publisher.certificate]}, clock=lambda: at)
    loader.load(sign_rule_set(anhui, signer=publisher.signer, certificate=publisher.certificate))
    return loader


def test_a_qr_code_gets_its_issuer_level_from_the_list(demo_domain: DemoDomain) -> None:
    """Without lists a QR code names no level and 安徽's level rule refuses it; with them the
    entry says 区县级 and the same code is recognised."""
    at = _at(demo_domain)
    _, qr = _food(demo_domain)
    verifier = Verifier(
        trust_lists=_loader(demo_domain, at),
        clock=lambda: at,
        region="340000",
        rules=_anhui_rules(demo_domain, at),
    )
    result = verifier.verify(qr)
    assert result.status is Status.PASSED, result.reasons
    assert result.check("rule:MR-340000-0002").status is CheckStatus.PASSED
    market = _market(demo_domain)
    assert result.issuer is not None
    assert (result.issuer.code, result.issuer.level, result.issuer.region_code) == (
        market.issuer.code,
        "区县级",
        "310115",
    )


def test_the_list_not_the_licence_says_the_issuer_level(demo_domain: DemoDomain) -> None:
    """An entry listing the regulator at 乡镇级 makes 安徽's level rule refuse its licence,
    whatever level the sealed licence claims for itself."""
    at = _at(demo_domain)
    market = _market(demo_domain)
    entry = replace(_entry(market), level="乡镇级")
    lists = [_shanghai_list(demo_domain, [entry])]
    verifier = Verifier(
        trust_lists=_loader(demo_domain, at, lists),
        clock=lambda: at,
        region="340000",
        rules=_anhui_rules(demo_domain, at),
    )
    doc, qr = _food(demo_domain)
    for result in (verifier.verify(doc), verifier.verify(qr)):
        assert result.reasons == ("not_recognised_in_region",)
        assert result.check("rule:MR-340000-0002").status is CheckStatus.FAILED


# -- configuration ----------------------------------------------------------------------------


def test_a_verifier_needs_some_trust(demo_domain: DemoDomain) -> None:
    with pytest.raises(ConfigurationError):
        Verifier()
    empty = TrustListLoader(anchors=[demo_domain.regions[0].root])
    with pytest.raises(ConfigurationError, match="no list"):
        Verifier(trust_lists=empty)


def test_from_directory_uses_the_demo_trust_lists(demo_dir: Path) -> None:
    """Plain samples as a verifier without rules sees them; the status-and-rules samples as
    one in 安徽 does: every verdict the manifest lists."""
    created, _ = demo._manifest_meta(demo_dir)
    at = created + timedelta(minutes=1)
    plain = Verifier.from_directory(demo_dir, clock=lambda: at)
    anhui = Verifier.from_directory(demo_dir, region="340000", clock=lambda: at)
    assert anhui.trust_lists is not None
    assert len(anhui.trust_lists.current()) == 2
    for kind, verifier in (("samples", plain), ("qr_samples", plain), ("status_samples", anhui)):
        for sample in demo.load_manifest(demo_dir, kind=kind):
            result = verifier.verify((demo_dir / str(sample["file"])).read_bytes())
            assert (result.status.value, list(result.reasons)) == (
                sample["expected_status"],
                sample["expected_reasons"],
            ), sample["file"]


def test_a_trust_directory_must_hold_trust(tmp_path: Path, demo_dir: Path) -> None:
    with pytest.raises(ConfigurationError, match="does not exist"):
        load_trust_directory(tmp_path / "missing")
    (tmp_path / "empty").mkdir()
    with pytest.raises(ConfigurationError, match="neither"):
        load_trust_directory(tmp_path / "empty")
    lists_only = tmp_path / "lists-only"
    shutil.copytree(demo_dir / "trust" / "lists", lists_only / "lists")
    with pytest.raises(ConfigurationError, match="anchors"):
        load_trust_directory(lists_only)


def test_anchors_in_a_region_directory_sign_for_that_region_only(
    tmp_path: Path, demo_dir: Path
) -> None:
    # The demo scopes each region's root to its region.
    assert sorted(p.parent.name for p in (demo_dir / "trust" / "anchors").glob("*/*.pem")) == [
        "310000",
        "340000",
    ]
    _, lists = load_trust_directory(demo_dir / "trust")
    assert lists is not None and {t.region for t in lists.current()} == {"310000", "340000"}
    # 上海's root, filed as 安徽's anchor, cannot sign 上海's list: the directory is refused
    # rather than letting one province's operator vouch for another's authorities.
    trust = tmp_path / "trust"
    shutil.copytree(demo_dir / "trust", trust)
    (trust / "anchors" / "310000" / "root.pem").rename(trust / "anchors" / "340000" / "sh.pem")
    with pytest.raises(TrustListError, match="not for region 310000") as info:
        load_trust_directory(trust)
    assert info.value.reason == "trust_list_untrusted_anchor"
    # Filed at the top of anchors/, the same root is national and signs for any region.
    (trust / "anchors" / "340000" / "sh.pem").rename(trust / "anchors" / "sh.pem")
    _, national = load_trust_directory(trust)
    assert national is not None and len(national.current()) == 2


def test_an_anchor_subdirectory_is_named_by_a_region(tmp_path: Path, demo_dir: Path) -> None:
    trust = tmp_path / "trust"
    shutil.copytree(demo_dir / "trust", trust)
    for name in ("shanghai", "000000", "999999"):
        (trust / "anchors" / "310000").rename(trust / "anchors" / name)
        with pytest.raises(ConfigurationError, match="named by the 行政区划代码"):
            load_trust_directory(trust)
        (trust / "anchors" / name).rename(trust / "anchors" / "310000")


def test_a_tampered_list_file_is_refused(tmp_path: Path, demo_dir: Path) -> None:
    trust = tmp_path / "trust"
    shutil.copytree(demo_dir / "trust", trust)
    target = trust / "lists" / "310000.cose"
    data = bytearray(target.read_bytes())
    data[-5] ^= 0x01  # inside the signature
    target.write_bytes(bytes(data))
    with pytest.raises(TrustListError) as info:
        load_trust_directory(trust)
    assert info.value.reason == "trust_list_signature_invalid"


def test_a_stale_list_file_still_starts_a_verifier(tmp_path: Path, demo_dir: Path) -> None:
    created, _ = demo._manifest_meta(demo_dir)
    late = created + demo.TRUST_LIST_PERIOD + timedelta(days=2)
    verifier = Verifier.from_directory(demo_dir, clock=lambda: late)
    sample = next(s for s in demo.load_manifest(demo_dir) if s["expected_status"] == "PASSED")
    result = verifier.verify((demo_dir / str(sample["file"])).read_bytes())
    assert "trust_data_stale" in result.reasons
    assert result.status is not Status.PASSED


def test_root_certificates_alone_still_configure_a_verifier(tmp_path: Path, demo_dir: Path) -> None:
    trust = tmp_path / "trust"
    shutil.copytree(demo_dir / "trust", trust, ignore=shutil.ignore_patterns("lists", "anchors"))
    store, lists = load_trust_directory(trust)
    assert store is not None and lists is None
    created, _ = demo._manifest_meta(demo_dir)
    at = created + timedelta(minutes=1)
    verifier = Verifier(trust_store=store, clock=lambda: at)
    sample = next(s for s in demo.load_manifest(demo_dir) if s["expected_status"] == "PASSED")
    result = verifier.verify((demo_dir / str(sample["file"])).read_bytes())
    assert result.status is Status.PASSED
    assert "trust.list" not in [c.name for c in result.checks]


def test_a_licence_cannot_pick_a_fresher_list_by_claiming_another_region(
    demo_domain: DemoDomain,
) -> None:
    """上海's list is stale, 安徽's fresh. A 上海 authority's licence that names an 安徽
    region is still judged by the stale list that names its issuer, and the region it claims
    is refused."""
    created = demo_domain.created
    market = _market(demo_domain)
    shanghai = _shanghai_list(
        demo_domain, [_entry(market)], next_update=created + timedelta(hours=1)
    )
    anhui_region = demo_domain.regions[1]
    anhui = _signed_list(
        anhui_region,
        [_entry(a) for a in anhui_region.authorities],
        issued_at=created,
        next_update=created + timedelta(days=30),
    )
    at = _at(demo_domain, days=3)
    verifier = Verifier(trust_lists=_loader(demo_domain, at, [shanghai, anhui]), clock=lambda: at)
    honest, _ = _food(demo_domain)
    assert verifier.verify(honest).reasons == ("trust_data_stale",)

    credentials = market.credentials()
    moved = replace(credentials, issuer=replace(credentials.issuer, region_code="340100"))
    holder = demo._People().company("340100", "上海浦江餐饮管理有限公司")
    draft = LicenceDraft(
        type_code=FOOD.code,
        number="SH2026TRUST00002",
        holder=holder,
        surface=demo._personalise(FOOD, holder, moved.issuer),
    )
    doc = moved.issue(draft, catalogue=CATALOGUE, now=demo_domain.created)
    result = verifier.verify(doc.to_json())
    assert result.status is Status.FAILED
    assert result.check("trust.list").reason == "trust_data_stale"
    assert result.check("trust.issuer").reason == "issuer_mismatch"


class _CountingSource:
    def __init__(self) -> None:
        self.asked: list[str] = []

    def status_list(self, uri: str, now: datetime, *, issuer: str | None = None) -> object:
        self.asked.append(uri)
        raise AssertionError("an untrusted licence's status URI must not be fetched")


def test_the_status_of_a_licence_from_an_untrusted_signer_is_not_fetched(
    demo_domain: DemoDomain,
) -> None:
    at = _at(demo_domain)
    source = _CountingSource()
    verifier = Verifier(
        trust_lists=_loader(demo_domain, at),
        clock=lambda: at,
        status_source=source,  # type: ignore[arg-type]
    )
    _, rogue = demo._rogue_authority(_market(demo_domain).issuer, demo_domain.created)
    holder = demo._People().company("310115", "上海浦江餐饮管理有限公司")
    draft = LicenceDraft(
        type_code=FOOD.code,
        number="SH2026TRUST00003",
        holder=holder,
        surface=demo._personalise(FOOD, holder, rogue.issuer),
        status=StatusReference("https://internal.example/admin", 5),
    )
    doc = rogue.issue(draft, catalogue=CATALOGUE, now=demo_domain.created)
    result = verifier.verify(doc.to_json())
    assert result.status is Status.FAILED
    assert source.asked == []
    check = result.check("status")
    assert check.status is CheckStatus.SKIPPED and check.reason == "status_not_checked"
    assert "status_not_checked" not in result.reasons
