"""Regenerate the published trust-list, status-list and rule-set vectors.

Run from the repository root::

    .venv/bin/python scripts/make_list_vectors.py

Three sets, each a folder of vector folders with an ``index.json`` and a README:

- ``test_vectors/trust/`` — signed trust lists (信任列表) and what a
  :class:`~ezhengzhao.trust.lists.TrustListLoader` configured with the vector's anchors says.
- ``test_vectors/status/`` — signed Token Status Lists (CWT) and one lookup each, with the
  reason code a verifier's status check gives.
- ``test_vectors/rules/`` — mutual-recognition rule sets (互认规则集), signed, with the data a
  rule sees and every rule's outcome.

Times are fixed, never the machine's clock: lists are issued at :data:`ISSUED_AT` and checked
at :data:`VALIDATION_TIME`. The PKI is the demo's (``ezhengzhao.demo``: 上海 310000 and 安徽
340000) plus a national trust anchor. Keys, certificate serial numbers and SM2 signatures are
random, so each run rewrites the certificates, kids and signatures; Ed25519 signatures follow
from their key. The committed files are the vectors; this script only records how they were
made, and it refuses to write a set when any outcome differs from the one declared here.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import cbor2
from vector_sets import publish, to_json

from ezhengzhao import demo
from ezhengzhao.catalogue import Catalogue
from ezhengzhao.errors import RuleSetError, StatusUnavailable, TrustListError
from ezhengzhao.formats import cbor, cose
from ezhengzhao.result import Status
from ezhengzhao.rules.rulesets import (
    RuleSetLoader,
    builtin_rule_sets,
    evaluate_rules,
    sign_rule_set,
)
from ezhengzhao.sign.keys import PrivateKey, generate_private_key
from ezhengzhao.sign.suites import ED25519, SM2_SM3, signature_to_raw
from ezhengzhao.sign.x509 import Certificate, Name, build_certificate
from ezhengzhao.status.codec import (
    INVALID,
    SUSPENDED,
    VALID,
    StatusList,
    sign_status_list,
)
from ezhengzhao.status.source import FileStatusSource
from ezhengzhao.trust.lists import (
    STALE,
    TrustListEntry,
    TrustListLoader,
    build_trust_list,
    sign_trust_list,
)

REPO = Path(__file__).resolve().parent.parent
VECTORS = REPO / "test_vectors"

CERT_TIME = datetime(2026, 5, 20, 2, 0, 0, tzinfo=UTC)
ISSUED_AT = datetime(2026, 6, 1, 0, 0, 0, tzinfo=UTC)
VALIDATION_TIME = datetime(2026, 6, 10, 8, 0, 0, tzinfo=UTC)
#: How long past next_update a trust list stays fresh (the loader's default).
GRACE = timedelta(hours=24)
ANCHOR_CN = "国家电子证照信任服务"
STATUS_URI = "https://zz.example.gov.cn/310000/status/1"
STATUS_SIZE = 131_072
STATUS_TTL = timedelta(hours=12)
#: Entries set in the published status list: one revoked, one suspended, the last revoked.
REVOKED_IDX, SUSPENDED_IDX, LAST_IDX = 7, 4242, STATUS_SIZE - 1
CHINA = timedelta(hours=8)


@dataclass(frozen=True, slots=True)
class Outcome:
    """What the library concluded, in the vocabulary every published vector set uses."""

    status: Status
    reasons: tuple[str, ...] = ()
    warnings: tuple[str, ...] = ()
    details: Mapping[str, object] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Vector:
    """One vector: its input files, its settings and the outcome it must get."""

    id: str
    description: str
    inputs: Mapping[str, bytes]
    settings: Mapping[str, object]
    expected_status: str
    expected_reasons: tuple[str, ...] = ()
    expected_warnings: tuple[str, ...] = ()
    derived_from: str | None = None


def _time(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _hex(data: bytes) -> bytes:
    return data.hex().encode("ascii") + b"\n"


def diagnostic(value: object) -> object:
    """A CBOR value as JSON: map keys as strings, byte strings as ``h'…'``."""
    if isinstance(value, dict):
        return {str(k): diagnostic(v) for k, v in value.items()}
    if isinstance(value, list):
        return [diagnostic(v) for v in value]
    if isinstance(value, bytes):
        return f"h'{value.hex()}'"
    if isinstance(value, cbor2.CBORTag):
        return {"tag": value.tag, "value": diagnostic(value.value)}
    return value


def _raw_signer(key: PrivateKey) -> Callable[[bytes], bytes]:
    return lambda message: signature_to_raw(key.sign(message), key.suite.id)


def _resign(payload: bytes, key: PrivateKey, kid: bytes) -> bytes:
    """``payload`` as a COSE_Sign1 by ``key`` under ``{1: its alg, 4: kid}``, whatever kid."""
    return cose.sign1(
        payload, alg=cose.alg_for_suite(key.suite.id), kid=kid, sign=_raw_signer(key)
    ).encode()


def _anchor(suite: str, cn: str = ANCHOR_CN) -> tuple[PrivateKey, Certificate]:
    key = generate_private_key(suite)
    name = Name(common_name=cn, organization=cn)
    return key, build_certificate(
        subject=name,
        subject_key=key.public_key,
        issuer=name,
        issuer_signer=key,
        not_before=CERT_TIME - timedelta(days=1),
        not_after=CERT_TIME + timedelta(days=365 * 20),
        is_ca=True,
        key_usage=("digitalSignature", "keyCertSign", "cRLSign"),
    )


def _cose_files(data: bytes, payload_name: str) -> dict[str, bytes]:
    """The stages of a COSE_Sign1, as far as ``data`` decodes to one."""
    try:
        message = cose.decode_sign1(data, allow_cwt_tag=True)
    except Exception:  # an unsigned vector simply has no stages
        return {}
    return {
        "protected.hex": _hex(message.protected),
        f"{payload_name}.cbor.hex": _hex(message.payload),
        "sig_structure.hex": _hex(message.sig_structure()),
        "signature.hex": _hex(message.signature),
    }


# ---------------------------------------------------------------- trust lists


def trust_vectors() -> list[Vector]:
    catalogue = Catalogue.builtin()
    shanghai = demo._region(demo.REGIONS[0], CERT_TIME)
    market, police = shanghai.authorities[0], shanghai.authorities[1]
    food = catalogue.by_name("食品经营许可证").code
    business = catalogue.by_name("营业执照").code
    driving = catalogue.by_name("机动车驾驶证").code
    anchor_key, anchor = _anchor(SM2_SM3)
    ed_key, ed_anchor = _anchor(ED25519, "上海市电子证照信任服务")
    other_key, other_anchor = _anchor(SM2_SM3)  # same CN, another key: nobody's anchor

    def entry(authority: demo.Authority, types: tuple[str, ...]) -> TrustListEntry:
        return TrustListEntry(
            uscc=authority.issuer.code,
            name=authority.issuer.name,
            region=authority.issuer.region_code,
            level=authority.issuer.level,
            certificates=tuple(authority.certificates.values()),
            licence_types=types,
            valid_from=ISSUED_AT - timedelta(days=30),
            valid_until=ISSUED_AT + timedelta(days=365 * 2),
        )

    entries = (entry(market, (food, business)), entry(police, (driving,)))

    def listed(sequence: int, *, issuer: str = ANCHOR_CN, region: str = "000000", days: int = 30):  # type: ignore[no-untyped-def]
        return build_trust_list(
            issuer=issuer,
            region=region,
            sequence=sequence,
            issued_at=ISSUED_AT - timedelta(days=days),
            next_update=ISSUED_AT - timedelta(days=days) + timedelta(days=30),
            entries=entries,
            roots=(shanghai.root,),
            seal_makers=(shanghai.maker,),
        )

    current = listed(2, days=0)
    valid = sign_trust_list(current, signer=anchor_key, certificate=anchor)
    payload = cbor.dumps(current.to_cbor_map())
    queries = [
        {"uscc": market.issuer.code, "type_code": food, "may_issue": True},
        {"uscc": market.issuer.code, "type_code": driving, "may_issue": False},
        {"uscc": police.issuer.code, "type_code": driving, "may_issue": True},
        {"uscc": police.issuer.code, "type_code": food, "may_issue": False},
    ]
    anchors = {"anchor.pem": anchor.to_pem()}

    def vector(
        vector_id: str,
        description: str,
        data: bytes,
        status: str,
        reasons: tuple[str, ...] = (),
        *,
        inputs: Mapping[str, bytes] = anchors,
        previous: bytes | None = None,
        derived_from: str | None = None,
        check_queries: bool = False,
    ) -> Vector:
        files = {"list.cose": data, **inputs}
        if previous is not None:
            files["previous.cose"] = previous
        return Vector(
            id=vector_id,
            description=description,
            inputs=files,
            settings={
                "anchors": sorted(inputs),
                "previous": None if previous is None else "previous.cose",
                "grace_seconds": int(GRACE.total_seconds()),
                "queries": queries if check_queries else [],
            },
            expected_status=status,
            expected_reasons=reasons,
            derived_from=derived_from,
        )

    tampered_map = current.to_cbor_map()
    entries_map = tampered_map["entries"]
    assert isinstance(entries_map, list)
    entries_map[0]["licence_types"] = [food, business, driving]
    message = cose.decode_sign1(valid)
    tampered = cose.CoseSign1(
        protected=message.protected,
        protected_header=message.protected_header,
        unprotected_header=message.unprotected_header,
        payload=cbor.dumps(tampered_map),
        signature=message.signature,
    ).encode()
    ed_list = listed(1, issuer="上海市电子证照信任服务", region="310000", days=0)
    return [
        vector(
            "trust-sm2-valid",
            f"The national trust list #2 ({ANCHOR_CN}, region 000000), signed with SM2 by the "
            "anchor the verifier holds: 上海市浦东新区市场监督管理局 may issue 食品经营许可证 "
            "and 营业执照, 上海市公安局 机动车驾驶证. The queries show an authority that is "
            "listed, but not for the type it issued.",
            valid,
            "PASSED",
            check_queries=True,
        ),
        vector(
            "trust-ed25519-valid",
            "A regional list (上海市电子证照信任服务, region 310000) with the same entries, "
            "signed by an Ed25519 anchor (a deterministic signature).",
            sign_trust_list(ed_list, signer=ed_key, certificate=ed_anchor),
            "PASSED",
            inputs={"anchor.pem": ed_anchor.to_pem()},
        ),
        vector(
            "trust-sm2-tampered",
            "trust-sm2-valid with 机动车驾驶证 added to the first authority's types after "
            "signing; protected header and signature are trust-sm2-valid's.",
            tampered,
            "FAILED",
            ("trust_list_signature_invalid",),
            derived_from="trust-sm2-valid",
        ),
        vector(
            "trust-sm2-wrong-key",
            "trust-sm2-valid's payload signed by another SM2 key under the anchor's kid: the "
            "kid names a configured anchor, whose key does not verify the signature.",
            _resign(payload, other_key, anchor.kid),
            "FAILED",
            ("trust_list_signature_invalid",),
            derived_from="trust-sm2-valid",
        ),
        vector(
            "trust-sm2-untrusted-anchor",
            f"trust-sm2-valid's payload correctly signed by another anchor with the same CN "
            f"({ANCHOR_CN}) and its own kid, which the verifier was not given.",
            sign_trust_list(current, signer=other_key, certificate=other_anchor),
            "FAILED",
            ("trust_list_untrusted_anchor",),
            derived_from="trust-sm2-valid",
        ),
        vector(
            "trust-sm2-rollback",
            "List #1 of the same issuer and region, correctly signed and still fresh, loaded "
            "after previous.cose (trust-sm2-valid, #2): a lower sequence is a rollback.",
            sign_trust_list(listed(1, days=10), signer=anchor_key, certificate=anchor),
            "FAILED",
            ("trust_list_rollback",),
            previous=valid,
        ),
        vector(
            "trust-sm2-stale",
            f"A correctly signed list #3 whose next_update "
            f"({_time(ISSUED_AT - timedelta(days=40) + timedelta(days=30))}) plus the 24 h "
            f"grace lies before the validation time: trust data that cannot be relied on "
            "gives INDETERMINATE, never PASSED.",
            sign_trust_list(listed(3, days=40), signer=anchor_key, certificate=anchor),
            "INDETERMINATE",
            (STALE,),
        ),
        vector(
            "trust-sm2-unsigned",
            "trust-sm2-valid's payload alone: the CBOR map, without COSE_Sign1.",
            payload,
            "FAILED",
            ("trust_list_malformed",),
            derived_from="trust-sm2-valid",
        ),
    ]


def check_trust(vector: Vector) -> Outcome:
    anchors = [Certificate.from_pem(vector.inputs[name]) for name in vector.settings["anchors"]]  # type: ignore[attr-defined]
    loader = TrustListLoader(anchors=anchors, grace=GRACE, clock=lambda: VALIDATION_TIME)
    try:
        if "previous.cose" in vector.inputs:
            loader.load(vector.inputs["previous.cose"])
        trust_list = loader.load(vector.inputs["list.cose"])
    except TrustListError as exc:
        status = Status.INDETERMINATE if exc.reason == STALE else Status.FAILED
        return Outcome(status, (exc.reason,))
    answers = [
        {**q, "may_issue": loader.issuer_may_issue(str(q["uscc"]), str(q["type_code"]))}
        for q in vector.settings["queries"]  # type: ignore[attr-defined]
    ]
    if answers != vector.settings["queries"]:
        raise SystemExit(f"{vector.id}: issuer_may_issue answers {answers}")
    return Outcome(
        Status.PASSED,
        details={"sequence": trust_list.sequence, "entries": len(trust_list.entries)},
    )


# ---------------------------------------------------------------- status lists


def status_vectors() -> list[Vector]:
    shanghai = demo._region(demo.REGIONS[0], CERT_TIME)
    publisher = shanghai.authorities[0]
    key, cert = publisher.keys[SM2_SM3], publisher.certificates[SM2_SM3]
    ed_key = generate_private_key(ED25519)
    ed_cert = build_certificate(
        subject=cert.subject,
        subject_key=ed_key.public_key,
        issuer=shanghai.root.subject,
        issuer_signer=shanghai.root_key,
        not_before=CERT_TIME - timedelta(days=1),
        not_after=CERT_TIME + timedelta(days=365 * 5),
        key_usage=("digitalSignature", "nonRepudiation"),
        issuer_key_id=shanghai.root.subject_key_id,
    )
    other_key = generate_private_key(SM2_SM3)
    statuses = (
        StatusList.new(STATUS_SIZE)
        .builder()
        .set(REVOKED_IDX, INVALID)
        .set(SUSPENDED_IDX, SUSPENDED)
        .set(LAST_IDX, INVALID)
        .build()
    )

    def token(
        *,
        signer: PrivateKey = key,
        certificate: Certificate = cert,
        uri: str = STATUS_URI,
        expires_at: datetime | None = None,
    ) -> bytes:
        return sign_status_list(
            statuses,
            uri=uri,
            signer=signer,
            certificate=certificate,
            issued_at=ISSUED_AT,
            ttl=STATUS_TTL,
            expires_at=expires_at,
        )

    good = token()

    def vector(
        vector_id: str,
        description: str,
        data: bytes,
        idx: int,
        status: str,
        reasons: tuple[str, ...] = (),
        *,
        signer: Certificate = cert,
        derived_from: str | None = None,
    ) -> Vector:
        return Vector(
            id=vector_id,
            description=description,
            inputs={"token.cwt": data, "signer.pem": signer.to_pem()},
            settings={"uri": STATUS_URI, "idx": idx},
            expected_status=status,
            expected_reasons=reasons,
            derived_from=derived_from,
        )

    message = cose.decode_sign1(good)
    return [
        vector(
            "status-sm2-valid",
            f"Entry 100 of a {STATUS_SIZE}-entry, 2-bit list signed with SM2: 0, valid.",
            good,
            100,
            "PASSED",
        ),
        vector(
            "status-sm2-revoked",
            f"Entry {REVOKED_IDX} of the same list: 1, revoked (the low bits of byte 1).",
            good,
            REVOKED_IDX,
            "FAILED",
            ("licence_revoked",),
            derived_from="status-sm2-valid",
        ),
        vector(
            "status-sm2-suspended",
            f"Entry {SUSPENDED_IDX} of the same list: 2, suspended.",
            good,
            SUSPENDED_IDX,
            "FAILED",
            ("licence_suspended",),
            derived_from="status-sm2-valid",
        ),
        vector(
            "status-sm2-revoked-last",
            f"Entry {LAST_IDX}, the last of the same list: 1, revoked (the top two bits of the "
            "last byte, which LSB-first packing puts there).",
            good,
            LAST_IDX,
            "FAILED",
            ("licence_revoked",),
            derived_from="status-sm2-valid",
        ),
        vector(
            "status-sm2-index-out-of-range",
            f"Entry {STATUS_SIZE} of the same list, one past its end.",
            good,
            STATUS_SIZE,
            "FAILED",
            ("status_index_invalid",),
            derived_from="status-sm2-valid",
        ),
        vector(
            "status-ed25519-valid",
            "Entry 100 of the same statuses, signed by an Ed25519 certificate of the same "
            "authority (a deterministic signature).",
            token(signer=ed_key, certificate=ed_cert),
            100,
            "PASSED",
            signer=ed_cert,
        ),
        vector(
            "status-sm2-wrong-key",
            "status-sm2-valid's claims signed by another SM2 key under the signer's kid.",
            _resign_cwt(message, other_key),
            100,
            "INDETERMINATE",
            ("status_unavailable",),
            derived_from="status-sm2-valid",
        ),
        vector(
            "status-sm2-expired",
            f"The same list with exp {_time(VALIDATION_TIME - timedelta(hours=1))}, an hour "
            "before the validation time.",
            token(expires_at=VALIDATION_TIME - timedelta(hours=1)),
            100,
            "INDETERMINATE",
            ("status_unavailable",),
        ),
        vector(
            "status-sm2-wrong-uri",
            f"A correctly signed list whose sub is {STATUS_URI[:-1]}2, fetched as "
            f"{STATUS_URI}: a list for another URI says nothing about this one.",
            token(uri=STATUS_URI[:-1] + "2"),
            100,
            "INDETERMINATE",
            ("status_unavailable",),
        ),
        vector(
            "status-sm2-unsigned",
            "status-sm2-valid's claims alone: the CBOR claims map, without COSE_Sign1.",
            message.payload,
            100,
            "INDETERMINATE",
            ("status_unavailable",),
            derived_from="status-sm2-valid",
        ),
    ]


def _resign_cwt(message: cose.CoseSign1, key: PrivateKey) -> bytes:
    """The message's protected header and claims, signed again by ``key``."""
    unsigned = cose.CoseSign1(
        protected=message.protected,
        protected_header=message.protected_header,
        unprotected_header=message.unprotected_header,
        payload=message.payload,
        signature=b"",
    )
    signature = signature_to_raw(key.sign(unsigned.sig_structure()), key.suite.id)
    return cose.CoseSign1(
        protected=message.protected,
        protected_header=message.protected_header,
        unprotected_header=message.unprotected_header,
        payload=message.payload,
        signature=signature,
    ).encode()


def check_status(vector: Vector) -> Outcome:
    """The lookup as the verifier's status check makes it (ezhengzhao.verify)."""
    uri, idx = str(vector.settings["uri"]), int(vector.settings["idx"])  # type: ignore[call-overload]
    source = FileStatusSource(
        {uri: vector.inputs["token.cwt"]},
        certificates=[Certificate.from_pem(vector.inputs["signer.pem"])],
    )
    try:
        statuses = source.status_list(uri, VALIDATION_TIME)
    except StatusUnavailable:
        return Outcome(Status.INDETERMINATE, ("status_unavailable",))
    if not 0 <= idx < statuses.size:
        return Outcome(Status.FAILED, ("status_index_invalid",))
    value = statuses.get(idx)
    if value == VALID:
        return Outcome(Status.PASSED, details={"status": value})
    reason = {INVALID: "licence_revoked", SUSPENDED: "licence_suspended"}[value]
    return Outcome(Status.FAILED, (reason,), details={"status": value})


# ---------------------------------------------------------------- rule sets


def _licence(
    type_name: str,
    region: str,
    level: str,
    start: str,
    end: str | None,
    code_type: str = "001",
) -> dict[str, object]:
    catalogue = Catalogue.builtin()
    return {
        "licence": {
            "id": f"1.2.156.3005.2.{catalogue.by_name(type_name).code}.example",
            "type_code": catalogue.by_name(type_name).code,
            "issuer": {"code": "11310115002470110L", "region_code": region, "level": level},
            "validity": {"start": start, "end": end},
            "holder": {"code_type": code_type},
        }
    }


def _external(issuer_region: str, level: str) -> dict[str, object]:
    return {
        "validationClock": (VALIDATION_TIME + CHINA).replace(tzinfo=None).isoformat() + "+08:00",
        "verifierRegion": "340104",
        "issuerRegion": issuer_region,
        "issuerLevel": level,
        "useCase": "跨省经营备案",
        "valueSets": {},
    }


def rules_vectors() -> list[Vector]:
    anhui = demo._region(demo.REGIONS[1], CERT_TIME)
    shanghai = demo._region(demo.REGIONS[0], CERT_TIME)
    authority = demo._publisher(anhui)
    key, cert = authority.keys[SM2_SM3], authority.certificates[SM2_SM3]
    foreign = demo._publisher(shanghai)
    other_key = generate_private_key(SM2_SM3)
    shipped = next(r for r in builtin_rule_sets() if r.region == "340000")
    shipped_json = (REPO / "ezhengzhao" / "rules" / "data" / "340000.json").read_bytes()
    signed = sign_rule_set(shipped, signer=key, certificate=cert)
    payload = cbor.dumps(shipped.to_cbor_map())

    def vector(
        vector_id: str,
        description: str,
        data: dict[str, object],
        status: str,
        reasons: tuple[str, ...] = (),
        *,
        ruleset: bytes = signed,
        ruleset_json: bytes | None = shipped_json,
        previous: bytes | None = None,
        derived_from: str | None = None,
    ) -> Vector:
        inputs = {
            "ruleset.cose": ruleset,
            "authority.pem": cert.to_pem(),
            "data.json": to_json(data),
        }
        if ruleset_json is not None:
            inputs["ruleset.json"] = ruleset_json
        if previous is not None:
            inputs["previous.cose"] = previous
        return Vector(
            id=vector_id,
            description=description,
            inputs=inputs,
            settings={
                "authority_region": "340000",
                "verifier_region": "340104",
                "previous": None if previous is None else "previous.cose",
            },
            expected_status=status,
            expected_reasons=reasons,
            derived_from=derived_from,
        )

    def data(payload_: dict[str, object], external: dict[str, object]) -> dict[str, object]:
        return {"payload": payload_, "external": external}

    food_ok = data(
        _licence("食品经营许可证", "310115", "区县级", "2026-01-01", "2030-12-31"),
        _external("310000", "区县级"),
    )
    # An invalid rule: "<" takes two or three operands (CertLogic validation).
    bad_map = shipped.to_cbor_map()
    bad_rules = bad_map["rules"]
    assert isinstance(bad_rules, list)
    bad_rules[1] = {**bad_rules[1], "Logic": {"<": [{"var": "external.issuerLevel"}]}}
    bad_json = json.loads(shipped_json)
    bad_json["rules"][1]["Logic"] = {"<": [{"var": "external.issuerLevel"}]}
    newer = sign_rule_set(
        type(shipped)(shipped.region, 2, shipped.issued_at, shipped.rules),
        signer=key,
        certificate=cert,
    )
    # A rule that cannot decide: "<" on a text operand raises a CertLogic error at run time.
    undecided = json.loads(shipped_json)
    undecided["version"] = 3
    undecided["rules"][1]["Logic"] = {"<": [{"var": "external.issuerLevel"}, 3]}
    undecided_set = _rule_set(undecided)
    return [
        vector(
            "rules-food-shanghai-accepted",
            "安徽's rules (340000 v1, signed by its authority) for a 上海 区县级 食品经营许可证 "
            "valid 2026-01-01 to 2030-12-31, checked by a verifier in 340104 (合肥蜀山区): "
            "MR-340000-0001, MR-340000-0002 and IR-340000-0001 apply and pass.",
            food_ok,
            "PASSED",
        ),
        vector(
            "rules-food-too-long",
            "The same licence valid for 6 years (2026-01-01 to 2031-12-31): the invalidation "
            "rule IR-340000-0001 (at most 5 years) refuses it.",
            data(
                _licence("食品经营许可证", "310115", "区县级", "2026-01-01", "2031-12-31"),
                _external("310000", "区县级"),
            ),
            "FAILED",
            ("not_recognised_in_region",),
        ),
        vector(
            "rules-food-expired",
            "The same licence valid until 2026-06-09 (the day before the validation time, "
            "China time): MR-340000-0001 fails.",
            data(
                _licence("食品经营许可证", "310115", "区县级", "2022-01-01", "2026-06-09"),
                _external("310000", "区县级"),
            ),
            "FAILED",
            ("not_recognised_in_region",),
        ),
        vector(
            "rules-food-township-refused",
            "A 上海 食品经营许可证 issued at 乡镇级: MR-340000-0002 accepts 区县级 or above only.",
            data(
                _licence("食品经营许可证", "310115", "乡镇级", "2026-01-01", "2030-12-31"),
                _external("310000", "乡镇级"),
            ),
            "FAILED",
            ("not_recognised_in_region",),
        ),
        vector(
            "rules-property-zhejiang-refused",
            "A 浙江 (330000) 不动产权证书: 安徽 does not yet recognise it (MR-340000-0004).",
            data(
                _licence("不动产权证书", "330106", "区县级", "2025-03-01", None, "111"),
                _external("330000", "区县级"),
            ),
            "FAILED",
            ("not_recognised_in_region",),
        ),
        vector(
            "rules-driving-nationwide",
            "A 广东 (440000) 地市级 机动车驾驶证 held by a person: accepted nationwide "
            "(MR-340000-0003).",
            data(
                _licence("机动车驾驶证", "440100", "地市级", "2024-01-01", "2030-01-01", "111"),
                _external("440000", "地市级"),
            ),
            "PASSED",
        ),
        vector(
            "rules-undecided",
            "Version 3 of the rule set with MR-340000-0002's logic replaced by "
            '{"<": [{"var": "external.issuerLevel"}, 3]}: valid CertLogic, but "<" on text '
            "is an evaluation error, so the rule cannot decide (INDETERMINATE, never PASSED).",
            food_ok,
            "INDETERMINATE",
            ("rules_indeterminate",),
            ruleset=sign_rule_set(undecided_set, signer=key, certificate=cert),
            ruleset_json=to_json(undecided),
        ),
        vector(
            "rules-invalid-logic",
            'MR-340000-0002\'s logic replaced by {"<": [{"var": "external.issuerLevel"}]} '
            "(one operand; CertLogic wants two or three), signed by the authority all the "
            "same: the rule set fails validation and is refused whole.",
            food_ok,
            "FAILED",
            ("rule_set_malformed",),
            ruleset=_resign(cbor.dumps(bad_map), key, cert.kid),
            ruleset_json=to_json(bad_json),
        ),
        vector(
            "rules-wrong-key",
            "rules-food-shanghai-accepted's rule set signed by another SM2 key under the "
            "authority's kid.",
            food_ok,
            "FAILED",
            ("rule_set_signature_invalid",),
            ruleset=_resign(payload, other_key, cert.kid),
            derived_from="rules-food-shanghai-accepted",
        ),
        vector(
            "rules-wrong-region",
            "安徽's rule set correctly signed by 上海's authority, which is not registered for "
            "340000: one region cannot set another's rules.",
            food_ok,
            "FAILED",
            ("rule_set_untrusted_signer",),
            ruleset=sign_rule_set(
                shipped,
                signer=foreign.keys[SM2_SM3],
                certificate=foreign.certificates[SM2_SM3],
            ),
            derived_from="rules-food-shanghai-accepted",
        ),
        vector(
            "rules-rollback",
            "Version 1, loaded after previous.cose (the same rules as version 2): a lower "
            "version than the one held is a rollback.",
            food_ok,
            "FAILED",
            ("rule_set_rollback",),
            previous=newer,
            derived_from="rules-food-shanghai-accepted",
        ),
        vector(
            "rules-unsigned",
            "The rule set JSON itself given where a signed rule set is expected.",
            food_ok,
            "FAILED",
            ("rule_set_malformed",),
            ruleset=shipped_json,
        ),
    ]


def _rule_set(value: dict[str, object]):  # type: ignore[no-untyped-def]
    from ezhengzhao.rules.rulesets import rule_set_from_json

    return rule_set_from_json(json.dumps(value, ensure_ascii=False))


def check_rules(vector: Vector) -> Outcome:
    """Load the signed rule set, select the rules for the data, evaluate them."""
    authority = Certificate.from_pem(vector.inputs["authority.pem"])
    loader = RuleSetLoader(
        authorities={str(vector.settings["authority_region"]): [authority]},
        clock=lambda: VALIDATION_TIME,
    )
    try:
        if "previous.cose" in vector.inputs:
            loader.load(vector.inputs["previous.cose"])
        loader.load(vector.inputs["ruleset.cose"])
    except RuleSetError as exc:
        return Outcome(Status.FAILED, (exc.reason,), details={"path": exc.path})
    data = json.loads(vector.inputs["data.json"])
    licence = data["payload"]["licence"]
    at = datetime.fromisoformat(data["external"]["validationClock"])
    rules = loader.rules_for(str(vector.settings["verifier_region"]), licence["type_code"], at)
    outcomes = evaluate_rules(rules, data["payload"], data["external"])
    listed = [
        {
            "identifier": o.rule.identifier,
            "version": o.rule.version,
            "type": o.rule.type,
            "passed": o.passed,
        }
        for o in outcomes
    ]
    if any(o.passed is False for o in outcomes):
        status, reasons = Status.FAILED, ("not_recognised_in_region",)
    elif any(o.passed is None for o in outcomes):
        status, reasons = Status.INDETERMINATE, ("rules_indeterminate",)
    else:
        status, reasons = Status.PASSED, ()
    return Outcome(status, reasons, details={"outcomes": listed})


# ---------------------------------------------------------------- writing


def _files_of(main_input: str, payload_name: str) -> Callable[[Vector, Outcome], dict[str, bytes]]:
    def files_of(vector: Vector, outcome: Outcome) -> dict[str, bytes]:
        files = dict(vector.inputs)
        stages = _cose_files(vector.inputs[main_input], payload_name)
        files.update(stages)
        # A rule set's readable form is its JSON (ruleset.json); other payloads get one here.
        if f"{payload_name}.cbor.hex" in stages and main_input != "ruleset.cose":
            payload = bytes.fromhex(stages[f"{payload_name}.cbor.hex"].decode().strip())
            files[f"{payload_name}.json"] = to_json(diagnostic(cbor.loads_strict(payload)))
        expected: dict[str, object] = {
            "id": vector.id,
            "description": vector.description,
            "validation_time": _time(VALIDATION_TIME),
            **vector.settings,
            "expected_status": vector.expected_status,
            "expected_reasons": list(vector.expected_reasons),
            "expected_warnings": list(vector.expected_warnings),
            **outcome.details,
        }
        if vector.derived_from is not None:
            expected["derived_from"] = vector.derived_from
        files["expected.json"] = to_json(expected)
        return dict(sorted(files.items()))

    return files_of


SETS = (
    (
        "trust",
        trust_vectors,
        check_trust,
        "list.cose",
        "payload",
        "ezz/trust-list-vectors/1",
        "Signed trust lists (COSE_Sign1 over CBOR) and what a loader with the given anchors "
        "concludes; see README.md",
    ),
    (
        "status",
        status_vectors,
        check_status,
        "token.cwt",
        "claims",
        "ezz/status-list-vectors/1",
        "Signed Token Status Lists (CWT) and one lookup each; see README.md",
    ),
    (
        "rules",
        rules_vectors,
        check_rules,
        "ruleset.cose",
        "payload",
        "ezz/rule-set-vectors/1",
        "Signed mutual-recognition rule sets, the data a rule sees, and each rule's outcome; "
        "see README.md",
    ),
)


def main() -> int:
    failed = 0
    for name, build, check, main_input, payload_name, index_format, description in SETS:
        failed |= publish(
            build(),
            verify=check,
            files_of=_files_of(main_input, payload_name),
            out=VECTORS / name,
            prefix=f"{name}-",
            index_format=index_format,
            description=description,
            repo=REPO,
        )
    return failed


if __name__ == "__main__":
    sys.exit(main())
