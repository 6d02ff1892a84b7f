"""Mutual-recognition rule sets (互认规则集): rule format, signing, loading, selection, outcomes."""

from __future__ import annotations

import contextlib
import dataclasses
from datetime import UTC, datetime, timedelta, timezone
from functools import cache
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ezhengzhao.catalogue import Catalogue
from ezhengzhao.errors import ConfigurationError, PayloadError
from ezhengzhao.formats import cbor, cose
from ezhengzhao.rules import certlogic
from ezhengzhao.rules.rulesets import (
    GENERAL,
    REASON_CODES,
    RULE_SET_FORMAT,
    Rule,
    RuleSet,
    RuleSetError,
    RuleSetLoader,
    builtin_rule_sets,
    evaluate_rules,
    parse_rule,
    read_rule_set,
    rule_schema,
    rule_set_from_json,
    sign_rule_set,
)
from ezhengzhao.sign.keys import PrivateKey, generate_private_key
from ezhengzhao.sign.suites import ECDSA_P256_SHA256, SM2_SM3
from ezhengzhao.sign.x509 import Certificate, Name, build_certificate

CST = timezone(timedelta(hours=8))
T0 = datetime(2026, 6, 1, 8, 0, 0, tzinfo=UTC)
_TYPES = {t.name: t.code for t in Catalogue.builtin()}
FOOD = _TYPES["食品经营许可证"]
DRIVING = _TYPES["机动车驾驶证"]
ESTATE = _TYPES["不动产权证书"]
DATA = Path(__file__).resolve().parents[2] / "ezhengzhao" / "rules" / "data"


class FakeClock:
    def __init__(self, now: datetime = T0) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


@cache
def _authority(suite: str, region: str) -> tuple[PrivateKey, Certificate]:
    key = generate_private_key(suite)
    name = Name(common_name=f"{region} 互认规则签发", organization=region)
    cert = build_certificate(
        subject=name,
        subject_key=key.public_key,
        issuer=name,
        issuer_signer=key,
        not_before=T0 - timedelta(days=30),
        not_after=T0 + timedelta(days=365),
    )
    return key, cert


def rule_json(**changes: Any) -> dict[str, Any]:
    """A valid 340000 acceptance rule for food licences, with ``changes`` applied."""
    value: dict[str, Any] = {
        "Identifier": "MR-340000-0101",
        "Type": "Acceptance",
        "Region": "340000",
        "LicenceType": FOOD,
        "Version": "1.0.0",
        "SchemaVersion": "1.0.0",
        "Engine": "CERTLOGIC",
        "EngineVersion": "0.7.5",
        "Description": [{"lang": "zh", "desc": "测试规则"}, {"lang": "en", "desc": "Test rule"}],
        "ValidFrom": "2026-01-01T00:00:00+08:00",
        "ValidTo": "2027-01-01T00:00:00+08:00",
        "AffectedFields": ["licence.issuer.level"],
        "Logic": {"===": [{"var": "external.issuerLevel"}, "区县级"]},
    }
    value.update(changes)
    return value


def make_rule(**changes: Any) -> Rule:
    return parse_rule(rule_json(**changes))


def make_set(region: str = "340000", version: int = 1, rules: tuple[Rule, ...] = ()) -> RuleSet:
    return RuleSet(region=region, version=version, issued_at=T0, rules=rules)


def signed(rule_set: RuleSet, suite: str = SM2_SM3, signer_region: str | None = None) -> bytes:
    key, cert = _authority(suite, signer_region or rule_set.region)
    return sign_rule_set(rule_set, signer=key, certificate=cert)


def loader(*regions: str, suite: str = SM2_SM3, clock: FakeClock | None = None) -> RuleSetLoader:
    return RuleSetLoader(
        authorities={r: [_authority(suite, r)[1]] for r in regions or ("340000",)},
        clock=clock or FakeClock(),
    )


# -- rule format ------------------------------------------------------------------------------


def test_valid_rule_parses_and_round_trips() -> None:
    rule = make_rule()
    assert rule.identifier == "MR-340000-0101"
    assert rule.valid_from == datetime(2026, 1, 1, tzinfo=CST)
    assert rule.version_key == (1, 0, 0)
    assert parse_rule(rule.to_json()) == rule
    assert rule.description_in("zh") == "测试规则"
    assert rule.description_in("fr") == "Test rule"


@pytest.mark.parametrize("key", sorted(rule_json()))
def test_missing_field_is_named(key: str) -> None:
    value = rule_json()
    del value[key]
    with pytest.raises(RuleSetError) as info:
        parse_rule(value)
    assert info.value.reason == "rule_set_malformed"
    assert info.value.path == key


def test_unknown_field_is_named() -> None:
    with pytest.raises(RuleSetError, match="'Country'"):
        parse_rule(rule_json(Country="CN"))
    with pytest.raises(RuleSetError, match="'extra'") as info:
        parse_rule(
            rule_json(
                Description=[{"lang": "zh", "desc": "x"}, {"lang": "en", "desc": "y", "extra": 1}]
            )
        )
    assert info.value.path == "Description[1]"


@pytest.mark.parametrize(
    ("key", "bad"),
    [
        ("Identifier", 1),
        ("Type", True),
        ("Region", 340000),
        ("LicenceType", None),
        ("Version", 1.0),
        ("SchemaVersion", ["1.0.0"]),
        ("Engine", {}),
        ("EngineVersion", 75),
        ("Description", "测试"),
        ("ValidFrom", 1767196800),
        ("ValidTo", None),
        ("AffectedFields", "licence.issuer.level"),
        ("Logic", "true"),
    ],
)
def test_mistyped_field_is_named(key: str, bad: object) -> None:
    with pytest.raises(RuleSetError, match="must be") as info:
        parse_rule(rule_json(**{key: bad}))
    assert info.value.path == key


@pytest.mark.parametrize(
    ("changes", "path"),
    [
        ({"Identifier": "GR-340000-0001"}, "Identifier"),
        ({"Identifier": "IR-340000-0001"}, "Identifier"),  # IR is for Invalidation
        ({"Identifier": "MR-310000-0001"}, "Identifier"),  # another region's number
        ({"Type": "Validation"}, "Type"),
        ({"Region": "990000"}, "Region"),
        ({"Region": "340000", "Identifier": "MR-340000-01"}, "Identifier"),
        ({"LicenceType": "general"}, "LicenceType"),
        ({"LicenceType": FOOD[:17] + "0" + FOOD[18:]}, "LicenceType"),  # bad USCC check char
        ({"Version": "1.0"}, "Version"),
        ({"Version": "01.0.0"}, "Version"),
        ({"SchemaVersion": "2.0.0"}, "SchemaVersion"),
        ({"Engine": "JSONLOGIC"}, "Engine"),
        ({"EngineVersion": "9.9.9"}, "EngineVersion"),
        ({"Description": [{"lang": "zh", "desc": "只有中文"}]}, "Description"),
        (
            {"Description": [{"lang": "zh", "desc": "x"}, {"lang": "de", "desc": "y"}]},
            "Description",
        ),
        (
            {
                "Description": [
                    {"lang": "zh", "desc": "x"},
                    {"lang": "en", "desc": "y"},
                    {"lang": "en", "desc": "z"},
                ]
            },
            "Description",
        ),
        ({"Description": [{"lang": "zh", "desc": ""}, {"lang": "en", "desc": "y"}]}, None),
        ({"ValidFrom": "2026-01-01T00:00:00"}, "ValidFrom"),  # no offset
        ({"ValidFrom": "2026-02-30T00:00:00Z"}, "ValidFrom"),  # no such day
        ({"ValidTo": "2025-01-01T00:00:00Z"}, "ValidTo"),  # before ValidFrom
        ({"AffectedFields": ["a", "a"]}, "AffectedFields"),
        ({"AffectedFields": [1]}, "AffectedFields[0]"),
    ],
)
def test_invalid_values_are_refused(changes: dict[str, Any], path: str | None) -> None:
    with pytest.raises(RuleSetError) as info:
        parse_rule(rule_json(**changes))
    assert info.value.reason == "rule_set_malformed"
    if path is not None:
        assert info.value.path == path
    else:
        assert info.value.path.startswith("Description[0]")


@pytest.mark.parametrize(
    "logic",
    [
        {"nope": [1, 2]},
        {"===": [1]},
        {"var": 5},
        {"and": [{"var": "x"}]},
        {"if": [True, {"unknown-op": []}, False]},  # deep problems are found too
    ],
)
def test_logic_must_pass_certlogic_validate(logic: dict[str, Any]) -> None:
    assert certlogic.validate(logic)
    with pytest.raises(RuleSetError, match="invalid CertLogic") as info:
        parse_rule(rule_json(Logic=logic))
    assert info.value.path == "Logic"


def test_general_rule_and_invalidation_rule_parse() -> None:
    rule = make_rule(Identifier="IR-340000-0002", Type="Invalidation", LicenceType=GENERAL)
    assert rule.applies_to(FOOD) and rule.applies_to(DRIVING)
    assert make_rule().applies_to(FOOD) and not make_rule().applies_to(DRIVING)


def test_rule_built_directly_is_checked() -> None:
    rule = make_rule()
    with pytest.raises(RuleSetError, match="invalid CertLogic"):
        dataclasses.replace(rule, logic={"nope": []})
    with pytest.raises(RuleSetError):
        dataclasses.replace(rule, valid_to=rule.valid_from)


def test_logic_is_a_private_copy() -> None:
    value = rule_json()
    rule = parse_rule(value)
    value["Logic"]["==="][1] = "省级"
    assert rule.logic == {"===": [{"var": "external.issuerLevel"}, "区县级"]}


def test_schema_file_is_what_the_code_enforces() -> None:
    schema = rule_schema()
    properties = schema["properties"]
    assert isinstance(properties, dict)
    assert sorted(properties) == sorted(schema["required"])  # type: ignore[arg-type]
    assert sorted(properties) == sorted(rule_json())
    assert schema["additionalProperties"] is False


# -- rule sets ---------------------------------------------------------------------------------


def test_rule_set_refuses_foreign_and_duplicate_rules() -> None:
    with pytest.raises(RuleSetError) as info:
        make_set("310000", rules=(make_rule(),))
    assert info.value.path == "rules[0].Region"
    with pytest.raises(RuleSetError, match="twice"):
        make_set(rules=(make_rule(), make_rule()))
    for version in (0, -1, True, 2**63):
        with pytest.raises(RuleSetError):
            make_set(version=version)
    with pytest.raises(RuleSetError):
        make_set(region="34000")


@pytest.mark.parametrize("suite", [SM2_SM3, ECDSA_P256_SHA256])
def test_sign_and_read_round_trip(suite: str) -> None:
    rule_set = make_set(version=7, rules=(make_rule(), make_rule(Identifier="MR-340000-0102")))
    data = signed(rule_set, suite)
    read, message = read_rule_set(data)
    assert read == rule_set
    assert message.kid == _authority(suite, "340000")[1].kid
    payload = cbor.loads_strict(message.payload, max_depth=64)
    assert isinstance(payload, dict)
    assert payload["format"] == RULE_SET_FORMAT
    assert payload["issued_at"] == int(T0.timestamp())
    assert loader(suite=suite).load(data) == rule_set


def test_sign_refuses_a_key_that_is_not_the_certificates() -> None:
    key, _ = _authority(SM2_SM3, "340000")
    _, cert = _authority(SM2_SM3, "310000")
    with pytest.raises(ConfigurationError):
        sign_rule_set(make_set(), signer=key, certificate=cert)


def test_rule_set_signed_by_another_regions_authority_is_refused() -> None:
    held = loader("340000", "310000")
    data = signed(make_set(rules=(make_rule(),)), signer_region="310000")
    with pytest.raises(RuleSetError) as info:
        held.load(data)
    assert info.value.reason == "rule_set_untrusted_signer"
    assert held.current() == ()


def test_tampered_rule_set_is_refused() -> None:
    data = signed(make_set(rules=(make_rule(),)))
    _, message = read_rule_set(data)
    forged = dataclasses.replace(message, signature=bytes(64)).encode()
    with pytest.raises(RuleSetError) as info:
        loader().load(forged)
    assert info.value.reason == "rule_set_signature_invalid"


def test_expired_authority_certificate_is_refused() -> None:
    data = signed(make_set())
    with pytest.raises(RuleSetError) as info:
        loader(clock=FakeClock(T0 + timedelta(days=400))).load(data)
    assert info.value.reason == "rule_set_untrusted_signer"


def test_rollback_is_refused() -> None:
    held = loader()
    v2 = make_set(version=2, rules=(make_rule(),))
    held.load(signed(v2))
    with pytest.raises(RuleSetError) as info:
        held.load(signed(make_set(version=1)))
    assert info.value.reason == "rule_set_rollback"
    with pytest.raises(RuleSetError) as info:
        held.load(signed(make_set(version=2)))  # another set under the same version
    assert info.value.reason == "rule_set_rollback"
    assert held.load(signed(v2)) == v2  # the same again is a no-op
    v3 = make_set(version=3)
    assert held.load(signed(v3)) == v3
    assert held.current() == (v3,)


def test_loader_configuration_is_checked() -> None:
    with pytest.raises(ConfigurationError):
        RuleSetLoader(authorities={}, clock=FakeClock())
    with pytest.raises(ConfigurationError):
        RuleSetLoader(authorities={"34": [_authority(SM2_SM3, "340000")[1]]}, clock=FakeClock())
    with pytest.raises(ConfigurationError):
        RuleSetLoader(authorities={"340000": []}, clock=FakeClock())
    with pytest.raises(ConfigurationError):
        loader().rules_for("340104", FOOD, datetime(2026, 6, 1))  # naive


def test_malformed_payload_inside_a_valid_signature() -> None:
    key, cert = _authority(SM2_SM3, "340000")
    payload = make_set().to_cbor_map()
    payload["extra"] = 1
    message = cose.sign1(cbor.dumps(payload), alg=cose.ALG_SM2_SM3, kid=cert.kid, sign=key.sign)
    with pytest.raises(RuleSetError, match="'extra'") as info:
        read_rule_set(message.encode())
    assert info.value.reason == "rule_set_malformed"
    payload = make_set(rules=(make_rule(),)).to_cbor_map()
    payload["rules"][0]["Logic"] = {"var": b"bytes"}  # type: ignore[index]
    message = cose.sign1(cbor.dumps(payload), alg=cose.ALG_SM2_SM3, kid=cert.kid, sign=key.sign)
    with pytest.raises(RuleSetError) as info:
        loader().load(message.encode())
    assert info.value.path == "rules[0].Logic"


def test_envelope_without_kid_is_a_payload_error() -> None:
    key, _ = _authority(SM2_SM3, "340000")
    message = cose.sign1(
        cbor.dumps(make_set().to_cbor_map()), alg=cose.ALG_SM2_SM3, kid=None, sign=key.sign
    )
    with pytest.raises(PayloadError):
        read_rule_set(message.encode())
    with pytest.raises(RuleSetError) as info:
        loader().load(message.encode())
    assert info.value.reason == "rule_set_malformed"


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=300))
def test_random_bytes_give_payload_or_rule_set_errors(data: bytes) -> None:
    with contextlib.suppress(PayloadError, RuleSetError):
        read_rule_set(data)


@settings(max_examples=100, deadline=None)
@given(st.data())
def test_mutated_signed_rule_sets_give_known_errors(draw: st.DataObject) -> None:
    data = bytearray(_signed_sample())
    index = draw.draw(st.integers(0, len(data) - 1))
    data[index] ^= draw.draw(st.integers(1, 255))
    try:
        loader().load(bytes(data))
    except RuleSetError as exc:
        assert exc.reason in REASON_CODES


@cache
def _signed_sample() -> bytes:
    return signed(make_set(rules=(make_rule(),)))


# -- selection ---------------------------------------------------------------------------------


def test_rules_for_walks_up_and_picks_highest_valid_version() -> None:
    at = datetime(2026, 6, 1, 10, tzinfo=CST)
    province = make_set(
        "340000",
        rules=(
            make_rule(Identifier="MR-340000-0001", LicenceType=GENERAL),
            make_rule(Identifier="MR-340000-0002"),
            make_rule(Identifier="MR-340000-0002", Version="1.10.0"),
            make_rule(Identifier="MR-340000-0002", Version="1.9.0"),
            # A newer version not yet in force does not replace the current one.
            make_rule(
                Identifier="MR-340000-0002",
                Version="2.0.0",
                ValidFrom="2026-07-01T00:00:00+08:00",
            ),
            make_rule(Identifier="MR-340000-0003", LicenceType=DRIVING),
            make_rule(Identifier="MR-340000-0004", ValidTo="2026-06-01T10:00:00+08:00"),
        ),
    )
    prefecture = make_set(
        "340100", rules=(make_rule(Identifier="MR-340100-0001", Region="340100"),)
    )
    county = make_set("340104", rules=(make_rule(Identifier="MR-340104-0001", Region="340104"),))
    national = make_set(
        "000000",
        rules=(make_rule(Identifier="MR-000000-0001", Region="000000", LicenceType=GENERAL),),
    )
    other = make_set("310000", rules=(make_rule(Identifier="MR-310000-0001", Region="310000"),))
    held = loader("340000", "340100", "340104", "000000", "310000")
    for rule_set in (province, prefecture, county, national, other):
        held.load(signed(rule_set))

    chosen = held.rules_for("340104", FOOD, at)
    assert [(r.identifier, r.version) for r in chosen] == [
        ("MR-340104-0001", "1.0.0"),
        ("MR-340100-0001", "1.0.0"),
        ("MR-340000-0001", "1.0.0"),
        ("MR-340000-0002", "1.10.0"),
        ("MR-000000-0001", "1.0.0"),
    ]
    later = held.rules_for("340104", FOOD, datetime(2026, 7, 1, tzinfo=CST))
    assert ("MR-340000-0002", "2.0.0") in [(r.identifier, r.version) for r in later]
    assert [r.identifier for r in held.rules_for("340100", DRIVING, at)] == [
        "MR-340000-0001",
        "MR-340000-0003",
        "MR-000000-0001",
    ]
    assert [r.identifier for r in held.rules_for("340000", FOOD, at)][-1] == "MR-000000-0001"
    # ValidFrom ≤ at < ValidTo
    assert held.rules_for("340000", FOOD, datetime(2025, 12, 31, 23, 59, tzinfo=CST)) == ()
    edge = held.rules_for("340000", FOOD, datetime(2026, 6, 1, 9, 59, 59, tzinfo=CST))
    assert "MR-340000-0004" in [r.identifier for r in edge]
    assert "MR-340000-0004" not in [r.identifier for r in chosen]
    assert held.rules_for("320000", FOOD, at) == held.rules_for("000000", FOOD, at)


# -- evaluation --------------------------------------------------------------------------------


def test_outcomes_for_acceptance_invalidation_and_errors() -> None:
    accept = make_rule()
    invalidate = make_rule(Identifier="IR-340000-0001", Type="Invalidation")
    broken = make_rule(Identifier="MR-340000-0009", Logic={"<": [{"var": "external.x"}, 1]})
    dated = make_rule(
        Identifier="MR-340000-0010", Logic={"plusTime": [{"var": "external.clock"}, 0, "day"]}
    )
    outcomes = evaluate_rules(
        [accept, invalidate, broken, dated],
        {"licence": {}},
        {"issuerLevel": "区县级", "x": "text", "clock": "2026-01-01"},
    )
    assert [o.passed for o in outcomes] == [True, False, None, None]
    assert outcomes[0].detail == "" and "CertLogic error" in outcomes[2].detail
    assert "neither truthy nor falsy" in outcomes[3].detail
    outcomes = evaluate_rules([accept, invalidate], {}, {"issuerLevel": "省级"})
    assert [o.passed for o in outcomes] == [False, True]


# -- the shipped 长三角 demo rule sets ----------------------------------------------------------

CLOCK = "2026-03-02T10:00:00+08:00"


def payload(
    type_code: str,
    region_code: str,
    level: str,
    *,
    start: str = "2024-05-01",
    end: str | None = "2029-04-30",
    code_type: str = "001",
) -> dict[str, Any]:
    return {
        "licence": {
            "type_code": type_code,
            "issuer": {"code": "91310115MA1K000000", "region_code": region_code, "level": level},
            "validity": {"start": start, "end": end},
            "holder": {"code_type": code_type},
        }
    }


def external(region_code: str, level: str, clock: str = CLOCK) -> dict[str, Any]:
    return {
        "validationClock": clock,
        "verifierRegion": "340104",
        "issuerRegion": region_code[:2] + "0000",
        "issuerLevel": level,
        "useCase": "跨省经营备案",
        "valueSets": {},
    }


@pytest.fixture(scope="module")
def demo_loader() -> RuleSetLoader:
    held = loader("340000", "310000")
    for rule_set in builtin_rule_sets():
        held.load(signed(rule_set))
    return held


def verdict(
    held: RuleSetLoader, type_code: str, region_code: str, level: str, **kw: Any
) -> dict[str, bool | None]:
    clock = kw.pop("clock", CLOCK)
    at = datetime.fromisoformat(clock)
    rules = held.rules_for("340104", type_code, at)
    outcomes = evaluate_rules(
        rules, payload(type_code, region_code, level, **kw), external(region_code, level, clock)
    )
    return {o.rule.identifier: o.passed for o in outcomes}


def test_shipped_rule_sets_load_and_use_catalogue_types() -> None:
    sets = {rs.region: rs for rs in builtin_rule_sets()}
    assert sorted(sets) == ["310000", "340000"]
    for path in sorted(DATA.glob("*.json")):
        assert rule_set_from_json(path.read_bytes()) == sets[path.stem]
    for rule_set in sets.values():
        for rule in rule_set.rules:
            assert rule.licence_type == GENERAL or rule.licence_type in _TYPES.values()
            langs = {d.lang for d in rule.description}
            assert {"zh", "en"} <= langs


def test_anhui_accepts_shanghai_and_jiangsu_food_licences(demo_loader: RuleSetLoader) -> None:
    for region in ("310115", "320102"):
        result = verdict(demo_loader, FOOD, region, "区县级")
        assert result == {
            "IR-340000-0001": True,
            "MR-340000-0001": True,
            "MR-340000-0002": True,
        }


def test_anhui_refuses_food_licences_it_does_not_recognise(demo_loader: RuleSetLoader) -> None:
    assert verdict(demo_loader, FOOD, "310115", "乡镇级")["MR-340000-0002"] is False
    assert verdict(demo_loader, FOOD, "330102", "区县级")["MR-340000-0002"] is False
    expired = verdict(demo_loader, FOOD, "310115", "区县级", end="2026-03-01")
    assert expired["MR-340000-0001"] is False
    # The last day is valid until 24:00 China Standard Time.
    last_day = verdict(
        demo_loader, FOOD, "310115", "区县级", end="2026-03-02", clock="2026-03-02T23:59:59+08:00"
    )
    assert last_day["MR-340000-0001"] is True
    too_long = verdict(demo_loader, FOOD, "310115", "区县级", end="2030-05-01")
    assert too_long["IR-340000-0001"] is False
    long_term = verdict(demo_loader, FOOD, "310115", "区县级", end=None)
    assert long_term["IR-340000-0001"] is False and long_term["MR-340000-0001"] is True


def test_driving_licences_accepted_nationwide(demo_loader: RuleSetLoader) -> None:
    for region in ("310000", "440300", "650100"):
        result = verdict(demo_loader, DRIVING, region, "地市级", code_type="111", end=None)
        assert result == {"MR-340000-0001": True, "MR-340000-0003": True}
    refused = verdict(demo_loader, DRIVING, "310000", "区县级", code_type="111")
    assert refused["MR-340000-0003"] is False


def test_zhejiang_real_estate_titles_not_yet_recognised(demo_loader: RuleSetLoader) -> None:
    refused = verdict(demo_loader, ESTATE, "330106", "区县级", code_type="111", end=None)
    assert refused == {"MR-340000-0001": True, "MR-340000-0004": False}
    rule = next(r for r in demo_loader.rules_for("340000", ESTATE, T0) if r.licence_type == ESTATE)
    assert "浙江" in rule.description_in("zh") and "Zhejiang" in rule.description_in("en")
    accepted = verdict(demo_loader, ESTATE, "310115", "区县级", code_type="111", end=None)
    assert accepted["MR-340000-0004"] is True


def test_missing_external_data_gives_cannot_tell(demo_loader: RuleSetLoader) -> None:
    rules = demo_loader.rules_for("340104", FOOD, datetime.fromisoformat(CLOCK))
    outcomes = evaluate_rules(rules, payload(FOOD, "310115", "区县级"), {})
    assert {o.rule.identifier: o.passed for o in outcomes}["MR-340000-0001"] is None
