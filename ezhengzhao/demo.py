"""A demo trust domain — 演示信任域: two regions, their PKI, seals and sample licences.

``ezz demo init DIR`` writes it; ``ezz demo verify DIR`` checks every sample against the
verdict the manifest expects. Regions 上海 (310000) and 安徽 (340000) each have a root CA, a
seal maker (制章者) and issuing authorities with seals; every catalogued licence type has a
sample sealed with SM2, a few are sealed with ECDSA P-256 and Ed25519, and negative samples
show each way a licence can fail.

Keys in the demo are written unencrypted (mode 0600) so the demo needs no passphrase; real
deployments use ``ezz keygen --passphrase-env``.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Final, TextIO

from ezhengzhao import codes
from ezhengzhao.catalogue import Catalogue, LicenceType, SurfaceField
from ezhengzhao.clock import Clock
from ezhengzhao.errors import ConfigurationError, LicenceFormatError
from ezhengzhao.formats.licence_json import licence_canonical_bytes
from ezhengzhao.formats.sealed import SealedLicence
from ezhengzhao.issue import IssuingAuthority, build_licence
from ezhengzhao.model import Holder, Issuer, LicenceDraft, StatusReference, Validity
from ezhengzhao.rules.rulesets import builtin_rule_sets, sign_rule_set
from ezhengzhao.sign.keys import PrivateKey, generate_private_key
from ezhengzhao.sign.sealing import make_authority_seal
from ezhengzhao.sign.ses import Seal, make_signature, sm3
from ezhengzhao.sign.suites import ECDSA_P256_SHA256, ED25519, SM2_SM3
from ezhengzhao.sign.x509 import Certificate, Name, build_certificate
from ezhengzhao.status.codec import INVALID, SUSPENDED, StatusList, sign_status_list
from ezhengzhao.trust.lists import (
    TrustListEntry,
    TrustListLoader,
    build_trust_list,
    sign_trust_list,
)
from ezhengzhao.trust.store import TrustStore

if TYPE_CHECKING:
    from ezhengzhao.verify import Verifier

__all__ = [
    "DemoDomain",
    "Sample",
    "build_demo",
    "write_demo",
]

MANIFEST: Final = "manifest.json"
STATUS_INDEX: Final = "index.json"
STATUS_LIST_SIZE: Final = 1024
STATUS_TTL: Final = timedelta(days=365)
# Real trust lists are re-issued daily; the demo's must keep a demo directory usable for a year.
TRUST_LIST_PERIOD: Final = timedelta(days=365)
# Entries of each region's status list that the status-and-rules samples point at.
_REVOKED_IDX: Final = 1
_SUSPENDED_IDX: Final = 2


def status_uri(region: str) -> str:
    """The URI of a demo region's status list (short: it travels in QR codes too)."""
    return f"https://zz.example.gov.cn/{region}/status/1"


@dataclass(frozen=True, slots=True)
class AuthoritySpec:
    name: str
    org_code: str  # 8 digits of the GB 11714 organisation code, check char appended
    region: str
    level: str
    types: tuple[str, ...]  # licence type names it issues
    extra_suites: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class RegionSpec:
    code: str
    name: str
    short: str
    authorities: tuple[AuthoritySpec, ...]


REGIONS: Final = (
    RegionSpec(
        "310000",
        "上海市",
        "沪",
        (
            AuthoritySpec(
                "上海市浦东新区市场监督管理局",
                "00247011",
                "310115",
                "区县级",
                ("食品经营许可证", "营业执照"),
                (ECDSA_P256_SHA256,),
            ),
            AuthoritySpec("上海市公安局", "00247012", "310000", "省级", ("机动车驾驶证",)),
            AuthoritySpec("上海市浦东新区民政局", "00247013", "310115", "区县级", ("结婚证",)),
            AuthoritySpec(
                "上海市浦东新区规划和自然资源局", "00247014", "310115", "区县级", ("不动产权证书",)
            ),
        ),
    ),
    RegionSpec(
        "340000",
        "安徽省",
        "皖",
        (
            AuthoritySpec(
                "安徽省住房和城乡建设厅",
                "00305021",
                "340000",
                "省级",
                ("建筑施工特种作业操作资格证书",),
            ),
            AuthoritySpec("合肥市教育局", "00305022", "340100", "地市级", ("教师资格证书",)),
            AuthoritySpec(
                "合肥市卫生健康委员会",
                "00305023",
                "340100",
                "地市级",
                ("出生医学证明",),
                (ED25519,),
            ),
            AuthoritySpec(
                "合肥市市场监督管理局",
                "00305024",
                "340100",
                "地市级",
                ("营业执照", "食品经营许可证"),
            ),
            AuthoritySpec(
                "合肥市交通运输局", "00305025", "340100", "地市级", ("道路运输经营许可证",)
            ),
        ),
    ),
)


@dataclass(frozen=True, slots=True)
class Sample:
    """One sample licence and what a verifier must say about it."""

    file: str
    licence_type: str
    type_code: str
    holder: str
    suite: str
    expected_status: str
    expected_reasons: tuple[str, ...]
    demonstrates: str


@dataclass(frozen=True, slots=True)
class QrSample:
    """The offline QR code of a sample licence and what a verifier must say about it."""

    file: str
    licence_file: str
    licence_type: str
    holder: str
    suite: str
    text: str
    expected_status: str
    expected_reasons: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Authority:
    spec: AuthoritySpec
    issuer: Issuer
    keys: Mapping[str, PrivateKey]
    certificates: Mapping[str, Certificate]
    seal: Seal

    def credentials(self, suite: str = SM2_SM3) -> IssuingAuthority:
        return IssuingAuthority(self.issuer, self.keys[suite], self.certificates[suite], self.seal)


@dataclass(frozen=True, slots=True)
class Region:
    spec: RegionSpec
    root_key: PrivateKey
    root: Certificate
    maker_key: PrivateKey
    maker: Certificate
    authorities: tuple[Authority, ...]


@dataclass(frozen=True, slots=True)
class DemoDomain:
    """Everything ``ezz demo init`` writes, in memory."""

    created: datetime
    regions: tuple[Region, ...]
    rogue_root: Certificate
    documents: Mapping[str, bytes]
    samples: tuple[Sample, ...]
    qr_samples: tuple[QrSample, ...] = ()
    # Status lists (URI → signed token), signed rule sets and their authorities by region,
    # and the samples whose verdict depends on them (a verifier in 340000 with both).
    status_lists: Mapping[str, bytes] = field(default_factory=dict)
    rule_sets: Mapping[str, bytes] = field(default_factory=dict)
    rule_authorities: Mapping[str, Certificate] = field(default_factory=dict)
    status_samples: tuple[Sample, ...] = ()
    # Each region's trust list (signed by the region's root), by region code.
    trust_lists: Mapping[str, bytes] = field(default_factory=dict)
    # Each region's 亮证 platform (EZT1 token signer): its key and certificate, by region code.
    platforms: Mapping[str, tuple[PrivateKey, Certificate]] = field(default_factory=dict)

    def trust_store(self) -> TrustStore:
        """What a verifier of this domain trusts: both regions' roots and their signers."""
        signers = [
            cert
            for region in self.regions
            for authority in region.authorities
            for cert in authority.certificates.values()
        ]
        return TrustStore.from_certificates(
            [r.root for r in self.regions],
            signers=signers,
            seal_makers=[r.maker for r in self.regions],
        )


    def trust_list_loader(self, clock: Clock) -> TrustListLoader:
        """The normal trust configuration of this domain: both regions' trust lists, verified
        with their roots as anchors, each scoped to its own region."""
        loader = TrustListLoader(
            anchors={r.spec.code: [r.root] for r in self.regions}, clock=clock
        )
        for data in self.trust_lists.values():
            loader.load(data)
        return loader


def _uscc(prefix: str, region: str, org8: str) -> str:
    org = org8 + codes.organisation_code_check_char(org8)
    return codes.make_uscc(prefix + region + org)


def _name(
    common_name: str,
    *,
    org: str | None = None,
    uscc: str | None = None,
    province: str | None = None,
) -> Name:
    return Name(
        common_name=common_name,
        organization=org or common_name,
        province=province,
        serial_number=uscc,
    )


def _region(spec: RegionSpec, now: datetime) -> Region:
    root_key = generate_private_key(SM2_SM3)
    root_name = _name(
        f"{spec.name}电子证照根CA", org=f"{spec.name}电子证照根CA", province=spec.name
    )
    root = build_certificate(
        subject=root_name,
        subject_key=root_key.public_key,
        issuer=root_name,
        issuer_signer=root_key,
        not_before=now - timedelta(days=1),
        not_after=now + timedelta(days=365 * 20),
        is_ca=True,
        path_length=1,
        key_usage=("keyCertSign", "cRLSign"),
    )
    maker_key = generate_private_key(SM2_SM3)
    maker = build_certificate(
        subject=_name(
            f"{spec.name}电子印章制作中心",
            province=spec.name,
            uscc=_uscc("12", spec.code, "00990" + spec.code[:2] + "1"),
        ),
        subject_key=maker_key.public_key,
        issuer=root_name,
        issuer_signer=root_key,
        not_before=now - timedelta(days=1),
        not_after=now + timedelta(days=365 * 10),
        key_usage=("digitalSignature",),
        issuer_key_id=root.subject_key_id,
    )
    authorities = []
    for n, a in enumerate(spec.authorities):
        uscc = _uscc("11", a.region, a.org_code)
        issuer = Issuer(a.name, uscc, a.region, a.level)
        keys: dict[str, PrivateKey] = {}
        certs: dict[str, Certificate] = {}
        for suite in (SM2_SM3, *a.extra_suites):
            key = generate_private_key(suite)
            keys[suite] = key
            certs[suite] = build_certificate(
                subject=_name(a.name, uscc=uscc, province=spec.name),
                subject_key=key.public_key,
                issuer=root_name,
                issuer_signer=root_key,
                not_before=now - timedelta(days=1),
                not_after=now + timedelta(days=365 * 5),
                key_usage=("digitalSignature", "nonRepudiation"),
                issuer_key_id=root.subject_key_id,
            )
        seal = make_authority_seal(
            name=a.name,
            es_id=f"{a.region}{n + 1:02d}0000000001",
            signer_certificates=list(certs.values()),
            maker=maker_key,
            maker_certificate=maker,
            valid_start=now - timedelta(days=1),
            valid_end=now + timedelta(days=365 * 5),
            created=now,
        )
        authorities.append(Authority(a, issuer, keys, certs, seal))
    return Region(spec, root_key, root, maker_key, maker, tuple(authorities))


class _People:
    """Deterministic holders: citizens and companies with valid codes."""

    def __init__(self) -> None:
        self._n = 0

    def person(self, region: str, name: str) -> Holder:
        """A citizen; the sequence's parity gives the sex (GB 11643), matched to the name."""
        self._n += 1
        sequence = 100 + 2 * self._n + (name not in _WOMEN)
        birth = date(1975 + self._n % 25, 1 + self._n % 12, 1 + self._n % 28)
        # A real district: 徐汇区 310104 / 蜀山区 340104 for a province, else the given county.
        county = region[:4] + "04" if region.endswith("00") else region
        if region.endswith("0000"):
            county = region[:2] + "0104"
        return Holder(name, codes.make_id_number(county, birth, sequence), "111")

    def company(self, region: str, name: str) -> Holder:
        self._n += 1
        return Holder(name, _uscc("91", region, f"MA{self._n:06d}"), "001")


_PERSONS: Final = ("张伟", "王芳", "李娜", "刘洋", "陈静", "杨帆", "赵磊", "黄敏", "周杰", "吴婷")
_WOMEN: Final = frozenset({"王芳", "李娜", "陈静", "杨帆", "黄敏", "吴婷"})
_COMPANIES: Final = {
    "31": ("上海浦江餐饮管理有限公司", "上海申城贸易有限公司", "上海外滩咖啡有限公司"),
    "34": ("合肥庐州食品有限公司", "合肥科学岛科技有限公司", "安徽江淮物流有限公司"),
}


def _draft(
    licence_type: LicenceType,
    holder: Holder,
    issuer: Issuer,
    number: str,
    issued: date,
    validity: Validity | None = None,
) -> LicenceDraft:
    return LicenceDraft(
        type_code=licence_type.code,
        number=number,
        holder=holder,
        surface=_personalise(licence_type, holder, issuer),
        issue_date=issued,
        validity=validity,
    )


# Surface fields, by their Chinese label, that repeat the holder or the issuing authority.
_HOLDER_NAME: Final = frozenset(
    {"姓名", "持证人", "权利人", "业户名称", "名称", "经营者名称", "母亲姓名"}
)
_HOLDER_ID: Final = frozenset({"身份证件号码", "证号", "母亲有效身份证件号码"})
_BIRTH: Final = frozenset({"出生日期", "出生年月"})
_AUTHORITY: Final = frozenset(
    {"发证机关", "登记机关", "颁发机关", "核发机关", "登记机构", "日常监督管理机构"}
)
_LOCAL_WORDS: Final = {
    "34": (
        ("上海市浦东新区", "合肥市蜀山区"),
        ("浦东新区", "蜀山区"),
        ("上海市", "合肥市"),
        ("上海", "合肥"),
        ("沪", "皖"),
    ),
}


def _personalise(licence_type: LicenceType, holder: Holder, issuer: Issuer) -> dict[str, str | int]:
    """The catalogue's example surface, made to agree with the sample's holder and issuer.

    Fields that repeat the holder's name, code, birth date or sex, or the authority's name,
    take the sample's values; place names follow the issuing region. A value the field's own
    rules would refuse is left as the catalogue's example.
    """
    person = codes.parse_id_number(holder.code) if holder.is_person else None
    newborn = any("新生儿" in f.label for f in licence_type.fields)
    out: dict[str, str | int] = {}
    for f in licence_type.fields:
        if f.example is None:
            continue
        value: str | int = f.example
        label = f.label.split("（")[0]
        side = label[:2]
        if (
            side in ("男方", "女方")
            and person is not None
            and (side == "男方") == (person.sex == "male")
        ):
            label = label[2:].replace("身份证件号", "身份证件号码")
        if label in _HOLDER_NAME:
            value = holder.name
        elif label in _HOLDER_ID or f.validator == "id_number":
            value = holder.code if person is not None else value
        elif f.validator == "uscc":
            value = holder.code if person is None else value
        elif label in _BIRTH and person is not None and not newborn:
            value = person.birth_date.isoformat()[: len(str(f.example))]
        elif label == "性别" and person is not None and not newborn:
            value = "男" if person.sex == "male" else "女"
        elif label in _AUTHORITY:
            value = issuer.name
        elif isinstance(value, str):
            for old, new in _LOCAL_WORDS.get(issuer.region_code[:2], ()):
                value = value.replace(old, new)
        out[f.key] = _valid_or(f, value, f.example)
    return out


def _valid_or(field: SurfaceField, value: str | int, fallback: str | int) -> str | int:
    try:
        field.validate(value, f"surface.{field.key}")
    except LicenceFormatError:
        return fallback
    return value


def build_demo(catalogue: Catalogue | None = None, *, now: datetime | None = None) -> DemoDomain:
    """Build the whole demo domain in memory (keys, certificates, seals, samples)."""
    catalogue = catalogue or Catalogue.builtin()
    now = (now or datetime.now(UTC)).astimezone(UTC).replace(microsecond=0)
    today = now.date()
    regions = tuple(_region(spec, now) for spec in REGIONS)
    by_name = {t.name: t for t in catalogue}
    people = _People()
    documents: dict[str, bytes] = {}
    samples: list[Sample] = []
    qr_samples: list[QrSample] = []

    def add(
        doc: SealedLicence | bytes,
        licence_type: LicenceType,
        holder: Holder,
        suite: str,
        status: str,
        reasons: tuple[str, ...],
        demonstrates: str,
        *,
        qr_from: IssuingAuthority | None = None,
        qr_reasons: tuple[str, ...] | None = None,
    ) -> None:
        file = f"licences/{len(samples) + 1:02d}-{licence_type.name}.ezz.json"
        data = doc.to_json(indent=None) if isinstance(doc, SealedLicence) else doc
        documents[file] = data
        if qr_from is not None and isinstance(doc, SealedLicence):
            qr_reasons = reasons if qr_reasons is None else qr_reasons
            text = qr_from.qr_text(doc.licence, catalogue=catalogue, now=now)
            qr_samples.append(
                QrSample(
                    file.removesuffix(".ezz.json") + ".qr.txt",
                    file,
                    licence_type.name,
                    holder.name,
                    suite,
                    text,
                    "FAILED" if qr_reasons else "PASSED",
                    qr_reasons,
                )
            )
        samples.append(
            Sample(
                file,
                licence_type.name,
                licence_type.code,
                holder.name,
                suite,
                status,
                reasons,
                demonstrates,
            )
        )

    serial = iter(range(1, 10_000))

    def number_for(licence_type: LicenceType, region: RegionSpec) -> str:
        return f"{region.short}{today.year}{licence_type.code[-3:]}{next(serial):05d}"

    first_authority = regions[0].authorities[0]
    # One valid SM2 sample of every catalogued type, from the authority that issues it.
    for licence_type in catalogue:
        region, authority = _issuer_of(regions, licence_type.name)
        holder = (
            people.person(authority.issuer.region_code, _PERSONS[len(samples) % len(_PERSONS)])
            if licence_type.holder_code_type == "111"
            else people.company(
                authority.issuer.region_code, _pick(_COMPANIES[region.spec.code[:2]], len(samples))
            )
        )
        number = _ascii_number(number_for(licence_type, region.spec))
        draft = _draft(licence_type, holder, authority.issuer, number, today)
        doc = authority.credentials().issue(draft, catalogue=catalogue, now=now)
        add(
            doc,
            licence_type,
            holder,
            SM2_SM3,
            "PASSED",
            (),
            f"a valid {licence_type.name} sealed with SM2 by {authority.issuer.name}",
            qr_from=authority.credentials(),
        )
        for suite in authority.spec.extra_suites:
            draft2 = replace(draft, number=draft.number + "B")
            doc = authority.credentials(suite).issue(draft2, catalogue=catalogue, now=now)
            add(
                doc,
                licence_type,
                holder,
                suite,
                "PASSED",
                (),
                f"the same authority's seal signed with {suite} instead of SM2",
                qr_from=authority.credentials(suite),
            )

    # Negative samples: each shows one way a licence fails.
    food = by_name["食品经营许可证"]
    shop = people.company("310000", "上海浦江餐饮管理有限公司")
    base = _draft(
        food, shop, first_authority.issuer, _ascii_number(number_for(food, REGIONS[0])), today
    )
    good = first_authority.credentials().issue(base, catalogue=catalogue, now=now)

    tampered = good.to_dict()
    licence_obj = dict(tampered["licence"])  # type: ignore[call-overload]
    licence_obj["holder"] = {**licence_obj["holder"], "name": "上海冒名餐饮有限公司"}
    tampered["licence"] = licence_obj
    add(
        json.dumps(tampered, ensure_ascii=False).encode(),
        food,
        shop,
        SM2_SM3,
        "FAILED",
        ("data_hash_mismatch",),
        "the holder's name was changed after sealing",
    )

    past = today - timedelta(days=3 * 365)
    expired = _draft(
        food,
        shop,
        first_authority.issuer,
        _ascii_number(number_for(food, REGIONS[0])),
        past,
        Validity(past, today - timedelta(days=1)),
    )
    add(
        first_authority.credentials().issue(expired, catalogue=catalogue, now=now),
        food,
        shop,
        SM2_SM3,
        "FAILED",
        ("licence_expired",),
        "a licence whose validity ended yesterday",
    )

    future = _draft(
        food,
        shop,
        first_authority.issuer,
        _ascii_number(number_for(food, REGIONS[0])),
        today,
        Validity(today + timedelta(days=30), today + timedelta(days=30 + 5 * 365)),
    )
    add(
        first_authority.credentials().issue(future, catalogue=catalogue, now=now),
        food,
        shop,
        SM2_SM3,
        "FAILED",
        ("licence_not_yet_valid",),
        "a licence that starts in a month",
        qr_from=first_authority.credentials(),
    )

    rogue_root, rogue = _rogue_authority(first_authority.issuer, now)
    add(
        rogue.issue(base, catalogue=catalogue, now=now),
        food,
        shop,
        SM2_SM3,
        "FAILED",
        ("seal_maker_untrusted", "issuer_untrusted", "signer_not_listed"),
        "a copy of a real authority's name and code, sealed under a root nobody trusts",
    )

    other = regions[0].authorities[1]
    stranger = IssuingAuthority(
        first_authority.issuer,
        other.keys[SM2_SM3],
        other.certificates[SM2_SM3],
        first_authority.seal,
    )
    add(
        _force_issue(stranger, base, catalogue, now),
        food,
        shop,
        SM2_SM3,
        "FAILED",
        ("signer_not_in_seal", "issuer_mismatch"),
        "another authority's key used with this authority's seal",
    )

    old_seal = make_authority_seal(
        name=first_authority.issuer.name,
        es_id="310000990000000001",
        signer_certificates=[first_authority.certificates[SM2_SM3]],
        maker=regions[0].maker_key,
        maker_certificate=regions[0].maker,
        valid_start=now - timedelta(hours=20),
        valid_end=now - timedelta(hours=1),
        created=now - timedelta(hours=20),
    )
    stale = IssuingAuthority(
        first_authority.issuer,
        first_authority.keys[SM2_SM3],
        first_authority.certificates[SM2_SM3],
        old_seal,
    )
    add(
        _force_issue(stale, base, catalogue, now),
        food,
        shop,
        SM2_SM3,
        "FAILED",
        ("seal_expired",),
        "sealed with a seal whose validity had ended an hour before",
    )

    transport = by_name["道路运输经营许可证"]
    carrier = people.company(first_authority.issuer.region_code, "上海浦江物流有限公司")
    add(
        first_authority.credentials().issue(
            _draft(
                transport,
                carrier,
                first_authority.issuer,
                _ascii_number(number_for(transport, REGIONS[0])),
                today,
            ),
            catalogue=catalogue,
            now=now,
        ),
        transport,
        carrier,
        SM2_SM3,
        "FAILED",
        ("licence_type_not_listed",),
        f"a 道路运输经营许可证 sealed by {first_authority.issuer.name}: 上海's trust list "
        "does not allow a market regulator to issue it",
    )

    # Status lists and rule sets: each region's list and rules are signed by an authority of
    # the region itself (a provincial one where there is one).
    status_lists: dict[str, bytes] = {}
    rule_sets: dict[str, bytes] = {}
    rule_authorities: dict[str, Certificate] = {}
    builtin_rules = {r.region: r for r in builtin_rule_sets()}
    for region_ in regions:
        code = region_.spec.code
        publisher = _publisher(region_).credentials()
        status_lists[status_uri(code)] = sign_status_list(
            StatusList.new(STATUS_LIST_SIZE)
            .builder()
            .set(_REVOKED_IDX, INVALID)
            .set(_SUSPENDED_IDX, SUSPENDED)
            .build(),
            uri=status_uri(code),
            signer=publisher.signer,
            certificate=publisher.certificate,
            issued_at=now,
            ttl=STATUS_TTL,
        )
        rule_authorities[code] = publisher.certificate
        if code in builtin_rules:
            rule_sets[code] = sign_rule_set(
                builtin_rules[code], signer=publisher.signer, certificate=publisher.certificate
            )

    type_codes = {t.name: t.code for t in catalogue}
    trust_lists = {r.spec.code: _trust_list(r, now, type_codes) for r in regions}
    platforms = {r.spec.code: _platform(r, now) for r in regions}

    # Samples whose verdict depends on the status lists and 安徽's rules.
    status_samples: list[Sample] = []
    next_idx = iter(range(_SUSPENDED_IDX + 1, STATUS_LIST_SIZE))

    def add_status(
        authority: Authority,
        licence_type: LicenceType,
        holder: Holder,
        idx: int | None,
        status: str,
        reasons: tuple[str, ...],
        demonstrates: str,
        validity: Validity | None = None,
        *,
        with_qr: bool = False,
    ) -> None:
        region_code = authority.issuer.region_code[:2] + "0000"
        region_spec = next(r.spec for r in regions if r.spec.code == region_code)
        draft = replace(
            _draft(
                licence_type,
                holder,
                authority.issuer,
                _ascii_number(number_for(licence_type, region_spec)),
                today,
                validity,
            ),
            status=StatusReference(status_uri(region_code), next(next_idx) if idx is None else idx),
        )
        doc = authority.credentials().issue(draft, catalogue=catalogue, now=now)
        file = f"licences/{len(samples) + len(status_samples) + 1:02d}-{licence_type.name}.ezz.json"
        documents[file] = doc.to_json(indent=None)
        files = [(file, demonstrates)]
        if with_qr:
            qr_file = file.removesuffix(".ezz.json") + ".qr.txt"
            text = authority.credentials().qr_text(doc.licence, catalogue=catalogue, now=now)
            documents[qr_file] = text.encode("ascii") + b"\n"
            level = authority.issuer.level
            files.append((qr_file, f"its QR code: the issuer is {level}, as the trust list says"))
        for name, what in files:
            status_samples.append(
                Sample(
                    name,
                    licence_type.name,
                    licence_type.code,
                    holder.name,
                    SM2_SM3,
                    status,
                    reasons,
                    what,
                )
            )

    hefei_market = next(a for a in regions[1].authorities if "食品经营许可证" in a.spec.types)
    hefei_shop = people.company(hefei_market.issuer.region_code, "合肥庐州食品有限公司")
    add_status(
        hefei_market,
        food,
        hefei_shop,
        _REVOKED_IDX,
        "FAILED",
        ("licence_revoked",),
        "a licence its authority revoked: status 1 in 安徽's status list",
    )
    business = by_name["营业执照"]
    pudong_company = people.company(first_authority.issuer.region_code, "上海申城贸易有限公司")
    add_status(
        first_authority,
        business,
        pudong_company,
        _SUSPENDED_IDX,
        "FAILED",
        ("licence_suspended",),
        "a licence its authority suspended: status 2 in 上海's status list",
    )
    add_status(
        first_authority,
        food,
        shop,
        None,
        "FAILED",
        ("not_recognised_in_region",),
        "a 食品经营许可证 valid for 6 years: 安徽's rule IR-340000-0001 allows at most 5",
        Validity(today, today + timedelta(days=6 * 365)),
    )
    add_status(
        first_authority,
        food,
        shop,
        None,
        "PASSED",
        (),
        "a 上海 食品经营许可证 recognised in 安徽: status valid, every rule passed",
        with_qr=True,
    )

    return DemoDomain(
        now,
        regions,
        rogue_root,
        documents,
        tuple(samples),
        tuple(qr_samples),
        status_lists=status_lists,
        rule_sets=rule_sets,
        rule_authorities=rule_authorities,
        status_samples=tuple(status_samples),
        trust_lists=trust_lists,
        platforms=platforms,
    )


def _trust_list(region: Region, now: datetime, type_codes: Mapping[str, str]) -> bytes:
    """The region's trust list, signed by its root: each authority with its signer
    certificates and exactly the licence types it issues."""
    entries = []
    for authority in region.authorities:
        certificates = tuple(authority.certificates.values())
        entries.append(
            TrustListEntry(
                uscc=authority.issuer.code,
                name=authority.issuer.name,
                region=authority.issuer.region_code,
                level=authority.issuer.level,
                certificates=certificates,
                licence_types=tuple(type_codes[name] for name in authority.spec.types),
                valid_from=min(c.not_before for c in certificates),
                valid_until=max(c.not_after for c in certificates),
            )
        )
    trust_list = build_trust_list(
        issuer=region.root.subject.common_name or "",
        region=region.spec.code,
        sequence=1,
        issued_at=now,
        next_update=now + TRUST_LIST_PERIOD,
        entries=entries,
        roots=[region.root],
        seal_makers=[region.maker],
    )
    return sign_trust_list(trust_list, signer=region.root_key, certificate=region.root)


def _platform(region: Region, now: datetime) -> tuple[PrivateKey, Certificate]:
    """The region's 亮证 platform: the key that signs its EZT1 presentation tokens, certified
    by the region's root."""
    key = generate_private_key(SM2_SM3)
    spec = region.spec
    certificate = build_certificate(
        subject=_name(f"{spec.name}电子证照亮证平台", province=spec.name),
        subject_key=key.public_key,
        issuer=region.root.subject,
        issuer_signer=region.root_key,
        not_before=now - timedelta(days=1),
        not_after=now + timedelta(days=365 * 5),
        key_usage=("digitalSignature",),
        issuer_key_id=region.root.subject_key_id,
    )
    return key, certificate


def _publisher(region: Region) -> Authority:
    """The authority that signs a region's status list and rule set: a provincial one."""
    for authority in region.authorities:
        if authority.issuer.region_code == region.spec.code:
            return authority
    return region.authorities[0]


def _pick(names: tuple[str, ...], n: int) -> str:
    return names[n % len(names)]


def _ascii_number(text: str) -> str:
    """Sample 证照编号 without the region's Chinese short name, so it doubles as the serial."""
    return "".join(ch for ch in text if ch.isascii())


def _issuer_of(regions: tuple[Region, ...], type_name: str) -> tuple[Region, Authority]:
    for region in regions:
        for authority in region.authorities:
            if type_name in authority.spec.types:
                return region, authority
    raise ConfigurationError(f"no demo authority issues {type_name}")


def _rogue_authority(issuer: Issuer, now: datetime) -> tuple[Certificate, IssuingAuthority]:
    """A look-alike PKI: same authority name and code, a root nobody trusts."""
    spec = RegionSpec(
        "310000",
        "伪造",
        "伪",
        (AuthoritySpec(issuer.name, issuer.code[8:16], issuer.region_code, issuer.level, ()),),
    )
    region = _region(spec, now)
    fake = region.authorities[0]
    fake_issuer = replace(fake.issuer, code=issuer.code)
    key = fake.keys[SM2_SM3]
    cert = build_certificate(
        subject=_name(issuer.name, uscc=issuer.code),
        subject_key=key.public_key,
        issuer=region.root.subject,
        issuer_signer=region.root_key,
        not_before=now - timedelta(days=1),
        not_after=now + timedelta(days=365),
        key_usage=("digitalSignature",),
        issuer_key_id=region.root.subject_key_id,
    )
    seal = make_authority_seal(
        name=issuer.name,
        es_id="310000990000000002",
        signer_certificates=[cert],
        maker=region.maker_key,
        maker_certificate=region.maker,
        valid_start=now - timedelta(days=1),
        valid_end=now + timedelta(days=365),
        created=now,
    )
    return region.root, IssuingAuthority(fake_issuer, key, cert, seal)


def _force_issue(
    authority: IssuingAuthority, draft: LicenceDraft, catalogue: Catalogue, now: datetime
) -> bytes:
    """Seal a licence the way a careless or hostile issuer would, without the credential checks
    that ``issue`` makes, so that the verifier's own checks can be shown."""
    licence = build_licence(
        draft,
        catalogue=catalogue,
        issuer=authority.issuer,
        seal_name=authority.seal.info.name,
        now=now,
    )
    signature = make_signature(
        seal=authority.seal,
        data_hash=sm3(licence_canonical_bytes(licence)),
        time_info=now,
        property_info=licence.licence_id,
        signer_cert=authority.certificate.der,
        sign_alg_oid=authority.signer.suite.signature_oid,
        sign=authority.signer.sign,
    )
    return SealedLicence(licence, signature.der).to_json(indent=None)


# ---------------------------------------------------------------- writing to disk


def write_demo(
    directory: str | os.PathLike[str],
    *,
    force: bool = False,
    catalogue: Catalogue | None = None,
    now: datetime | None = None,
) -> DemoDomain:
    """Write the demo domain to ``directory`` atomically: all of it, or nothing."""
    target = Path(directory)
    if target.exists() and any(target.iterdir()) and not force:
        raise ConfigurationError(f"{target} exists and is not empty (use --force to replace it)")
    domain = build_demo(catalogue, now=now)
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".ezz-demo-", dir=target.parent))
    try:
        for rel, data in _files(domain):
            path = staging / rel
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(data)
            if rel.endswith(".key.pem"):
                path.chmod(0o600)
        if target.exists():
            shutil.rmtree(target)
        staging.rename(target)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return domain


def _files(domain: DemoDomain) -> Iterator[tuple[str, bytes]]:
    for region in domain.regions:
        code = region.spec.code
        yield f"trust/roots/{code}-root.pem", region.root.to_pem()
        yield f"trust/seal-makers/{code}-seal-maker.pem", region.maker.to_pem()
        yield f"trust/anchors/{code}/root.pem", region.root.to_pem()
        yield f"pki/{code}/root.pem", region.root.to_pem()
        yield f"pki/{code}/root.key.pem", region.root_key.to_pem()
        yield f"pki/{code}/seal-maker.pem", region.maker.to_pem()
        yield f"pki/{code}/seal-maker.key.pem", region.maker_key.to_pem()
        for authority in region.authorities:
            base = f"pki/{code}/authorities/{authority.issuer.code}"
            for suite, key in authority.keys.items():
                tag = _suite_tag(suite)
                yield f"{base}/signer-{tag}.pem", authority.certificates[suite].to_pem()
                yield f"{base}/signer-{tag}.key.pem", key.to_pem()
            yield f"{base}/seal.der", authority.seal.der
            yield f"{base}/seal.png", authority.seal.info.picture.data
            yield (
                f"{base}/authority.json",
                _json(
                    {
                        "name": authority.issuer.name,
                        "code": authority.issuer.code,
                        "region_code": authority.issuer.region_code,
                        "level": authority.issuer.level,
                        "suites": list(authority.keys),
                        "licence_types": list(authority.spec.types),
                    }
                ),
            )
        for authority in region.authorities:
            for suite, cert in authority.certificates.items():
                name = f"{authority.issuer.code}-{_suite_tag(suite)}.pem"
                yield f"trust/signers/{name}", cert.to_pem()
    for code, data in domain.trust_lists.items():
        yield f"trust/lists/{code}.cose", data
    for code, (key, certificate) in domain.platforms.items():
        yield f"platform/{code}/platform.pem", certificate.to_pem()
        yield f"platform/{code}/platform.key.pem", key.to_pem()
    yield "untrusted/rogue-root.pem", domain.rogue_root.to_pem()
    yield from domain.documents.items()
    yield from _qr_files(domain)
    status_index: dict[str, str] = {}
    for uri, token in domain.status_lists.items():
        name = f"{uri.split('/')[-3]}-{uri.split('/')[-1]}.cwt"
        status_index[uri] = name
        yield f"status/{name}", token
    if status_index:
        yield f"status/{STATUS_INDEX}", _json(status_index)
    for code, data in domain.rule_sets.items():
        yield f"rules/{code}.cose", data
    for code, cert in domain.rule_authorities.items():
        yield f"rules/authorities/{code}.pem", cert.to_pem()
    yield (
        MANIFEST,
        _json(
            {
                "format": "ezz/demo-manifest/1",
                "created": domain.created.strftime("%Y-%m-%dT%H:%M:%SZ"),
                "trust": "trust",
                "verifying_region": "340000",
                "samples": [
                    {
                        "file": s.file,
                        "licence_type": s.licence_type,
                        "type_code": s.type_code,
                        "holder": s.holder,
                        "suite": s.suite,
                        "expected_status": s.expected_status,
                        "expected_reasons": list(s.expected_reasons),
                        "demonstrates": s.demonstrates,
                    }
                    for s in domain.samples
                ],
                "qr_samples": [
                    {
                        "file": q.file,
                        "image": q.file.removesuffix(".qr.txt") + ".qr.png",
                        "card": q.file.removesuffix(".qr.txt") + ".card.png",
                        "licence_file": q.licence_file,
                        "licence_type": q.licence_type,
                        "holder": q.holder,
                        "suite": q.suite,
                        "expected_status": q.expected_status,
                        "expected_reasons": list(q.expected_reasons),
                    }
                    for q in domain.qr_samples
                ],
                "status": "status",
                "rules": "rules",
                "status_samples": [
                    {
                        "file": s.file,
                        "licence_type": s.licence_type,
                        "type_code": s.type_code,
                        "holder": s.holder,
                        "suite": s.suite,
                        "expected_status": s.expected_status,
                        "expected_reasons": list(s.expected_reasons),
                        "demonstrates": s.demonstrates,
                    }
                    for s in domain.status_samples
                ],
            }
        ),
    )


def _qr_files(domain: DemoDomain) -> Iterator[tuple[str, bytes]]:
    """Each QR sample's text, its QR image and the printable card of its licence."""
    from ezhengzhao.card import card_png
    from ezhengzhao.qr.image import render_png

    for qr in domain.qr_samples:
        base = qr.file.removesuffix(".qr.txt")
        yield qr.file, qr.text.encode("ascii") + b"\n"
        yield f"{base}.qr.png", render_png(qr.text, module_px=4)
        sealed = SealedLicence.from_json(domain.documents[qr.licence_file])
        yield f"{base}.card.png", card_png(sealed, qr_text=qr.text)


def _suite_tag(suite: str) -> str:
    return {SM2_SM3: "sm2", ECDSA_P256_SHA256: "p256", ED25519: "ed25519"}[suite]


def _json(value: object) -> bytes:
    return json.dumps(value, ensure_ascii=False, indent=2).encode() + b"\n"


def load_manifest(
    directory: str | os.PathLike[str], *, kind: str = "samples"
) -> list[dict[str, object]]:
    """The samples (or ``qr_samples``) listed in a demo directory's manifest."""
    from ezhengzhao.formats.jsonio import loads

    value = loads((Path(directory) / MANIFEST).read_bytes(), what=MANIFEST)
    if not isinstance(value, dict) or not isinstance(value.get("samples"), list):
        raise ConfigurationError(f"{directory}/{MANIFEST} is not a demo manifest")
    items = value.get(kind)
    return [s for s in items if isinstance(s, dict)] if isinstance(items, list) else []


def verify_demo(directory: str | os.PathLike[str], *, out: TextIO) -> int:
    """Verify every sample of a demo directory; print a table; 0 when all match the manifest.

    The samples, and their QR codes, are verified by a verifier in the manifest's region with
    the trust directory alone (its trust lists); the status-and-rules samples by one that also
    has the demo's status lists (``status/``) and mutual-recognition rules (``rules/``).
    """
    from ezhengzhao.inspect import table
    from ezhengzhao.trust.directory import load_trust_directory
    from ezhengzhao.verify import Verifier

    base = Path(directory)
    manifest = load_manifest(base)
    created, region = _manifest_meta(base)
    # The samples show what each demonstrates as of the domain's making ("starts in a month"
    # must stay in the future), so the clock is pinned to a minute after it.
    at = created + timedelta(minutes=1)
    store, lists = load_trust_directory(base / "trust", clock=lambda: at)
    verifier = Verifier(trust_store=store, trust_lists=lists, region=region, clock=lambda: at)
    qr_samples = load_manifest(base, kind="qr_samples")
    headers = [
        "证照 licence type",
        "持证主体 holder",
        "suite",
        "结论 verdict",
        "reasons",
        "as expected",
    ]
    rows, mismatches = _verify_rows(
        verifier, base, [*((False, m) for m in manifest), *((True, q) for q in qr_samples)]
    )
    print(table(headers, rows), file=out)
    total = len(rows)
    status_samples = load_manifest(base, kind="status_samples")
    if status_samples:
        full = Verifier.from_directory(base, region=region, clock=lambda: at)
        more, missed = _verify_rows(
            full, base, [(str(s["file"]).endswith(".qr.txt"), s) for s in status_samples]
        )
        print(f"\n状态与互认规则 status lists and rules (verifying region {region}):", file=out)
        print(table(headers, more), file=out)
        total += len(more)
        mismatches += missed
    print(
        f"\n{total} samples, {total - mismatches} as the manifest expects"
        + (f", {mismatches} NOT" if mismatches else ""),
        file=out,
    )
    return 0 if mismatches == 0 else 1


def _verify_rows(
    verifier: Verifier, base: Path, samples: list[tuple[bool, dict[str, object]]]
) -> tuple[list[list[str]], int]:
    """A table row per sample (licence or QR text) and how many differ from the manifest."""
    rows = []
    mismatches = 0
    for is_qr, sample in samples:
        result = verifier.verify((base / str(sample["file"])).read_bytes())
        reasons = sample.get("expected_reasons")
        expected = (
            sample.get("expected_status"),
            list(reasons) if isinstance(reasons, list) else [],
        )
        got = (result.status.value, list(result.reasons))
        match = expected == got
        mismatches += not match
        rows.append(
            [
                str(sample["licence_type"]),
                str(sample["holder"]),
                ("QR " if is_qr else "") + str(sample["suite"]),
                f"{result.status.label_zh} {result.status.value}",
                ", ".join(result.reasons) or "-",
                "✓" if match else "✗ expected " + f"{expected[0]} {', '.join(expected[1]) or '-'}",
            ]
        )
    return rows, mismatches


def _manifest_meta(base: Path) -> tuple[datetime, str | None]:
    """The manifest's creation time and verifying region."""
    from ezhengzhao.formats.jsonio import loads

    value = loads((base / MANIFEST).read_bytes(), what=MANIFEST)
    created = value.get("created") if isinstance(value, dict) else None
    region = value.get("verifying_region") if isinstance(value, dict) else None
    if not isinstance(created, str):
        raise ConfigurationError(f"{base / MANIFEST} has no creation time")
    try:
        moment = datetime.fromisoformat(created.replace("Z", "+00:00"))
    except ValueError:
        raise ConfigurationError(f"{base / MANIFEST}: bad creation time {created!r}") from None
    return moment, region if isinstance(region, str) else None
