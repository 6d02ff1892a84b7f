"""Mutual-recognition rule sets — 互认规则集: signed CertLogic rules of an accepting region.

An accepting region (e.g. 安徽, ``340000``) publishes which licences from elsewhere it accepts,
as CertLogic rules (STANDARDS §6) in the EU DCC gateway format adapted to Chinese licences
(``rules/schema.json``; 长三角 mutual recognition, STANDARDS §7). A :class:`Rule` is an
*Acceptance* rule (identifier ``MR-<region>-<nnnn>``) or an *Invalidation* rule
(``IR-<region>-<nnnn>``).

A :class:`RuleSet` is signed by the accepting region's authority as a COSE_Sign1 (RFC 9052,
tag 18, protected header ``{1: alg, 4: kid}``, ``kid`` the certificate's
:attr:`~ezhengzhao.sign.x509.Certificate.kid`) over canonical CBOR::

    {"format": "ezz/rule-set/1", "region": <GB/T 2260 code, or "000000" for national rules>,
     "version": int ≥ 1, "issued_at": NumericDate, "rules": [<rule JSON objects>]}

Unsigned rule sets (the data shipped in ``rules/data/``) are JSON of the same shape, except
that ``issued_at`` is an ISO 8601 date-time with an offset. Every rule's ``Region`` is the
set's region; no (Identifier, Version) appears twice.

:func:`read_rule_set` is the codec (no signature check); :class:`RuleSetLoader` decides: it
verifies with a certificate registered for the *rule set's* region (a 340000 rule set signed by
a 310000 authority is refused), refuses a lower version than the one held for that region or
another rule set under the same version, and selects the rules that apply with
:meth:`RuleSetLoader.rules_for`. :func:`evaluate_rules` runs them.

The data a rule sees is ``{"payload": payload, "external": external}``. ezhengzhao's shape::

    payload = {"licence": {"id": 证照标识, "type_code": 证照类型代码,
                           "issuer": {"code": USCC, "region_code": "310115", "level": "区县级"},
                           "validity": {"start": "2024-01-01", "end": "2028-12-31" or null},
                           "holder": {"code_type": "001" | "111"}}}
    external = {"validationClock": "2025-03-01T10:00:00+08:00",   # ISO, with offset
                "verifierRegion": "340104",      # the verifier's GB/T 2260 code
                "issuerRegion": "310000",        # the issuer's *provincial* code
                "issuerLevel": "区县级",          # the issuer's level (ISSUER_LEVELS)
                "useCase": "…",                   # 用证事由 / 事项
                "valueSets": {id: [codes]}}

``external.issuerRegion`` and ``external.issuerLevel`` come from the trust data that verified
the licence's signer, so rules prefer them to the licence's own claims. Validity dates are
civil dates in China (UTC+8): a licence is valid from ``start`` 00:00 CST (``start`` − 8 h in
CertLogic's UTC) until the end of ``end`` (``end`` + 16 h); ``end`` null means 长期.

Outcomes (:class:`RuleOutcome`): an Acceptance rule passes when its logic is truthy and fails
when falsy. An Invalidation rule's logic says whether the licence is *invalidated*: truthy →
``passed=False``, falsy → ``passed=True``. A CertLogic error, or a result neither truthy nor
falsy, gives ``passed=None`` ("cannot tell"), with the reason in ``detail``.

Refusals raise :class:`RuleSetError` with a stable ``reason`` (:data:`REASON_CODES`) and, for
malformed rules, ``path`` naming the field (``rules[2].Logic``). Envelope problems of
:func:`read_rule_set` are :class:`~ezhengzhao.errors.PayloadError` (stages ``cbor``/``cose``).
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import re
import threading
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import cache
from importlib import resources
from pathlib import Path
from types import MappingProxyType
from typing import Final, Literal

from ezhengzhao import codes
from ezhengzhao.clock import Clock, system_clock
from ezhengzhao.errors import (
    CertLogicError,
    ConfigurationError,
    CryptoError,
    DecodeError,
    EzhengzhaoError,
    PayloadError,
    RuleSetError,
)
from ezhengzhao.fetch import DEFAULT_MAX_BYTES, DEFAULT_TIMEOUT, fetch
from ezhengzhao.formats import cbor, cose, jsonio
from ezhengzhao.rules import certlogic
from ezhengzhao.sign.suites import Signer
from ezhengzhao.sign.x509 import Certificate

__all__ = [
    "GENERAL",
    "NATIONAL_REGION",
    "REASON_CODES",
    "RULE_SET_FORMAT",
    "Description",
    "Rule",
    "RuleOutcome",
    "RuleSet",
    "RuleSetError",
    "RuleSetLoader",
    "builtin_rule_sets",
    "evaluate_rules",
    "parse_rule",
    "read_rule_set",
    "rule_schema",
    "rule_set_from_json",
    "sign_rule_set",
]

RULE_SET_FORMAT: Final = "ezz/rule-set/1"
NATIONAL_REGION: Final = "000000"
GENERAL: Final = "General"
"""The ``LicenceType`` of a rule that applies to every licence type."""

MALFORMED: Final = "rule_set_malformed"
UNTRUSTED_SIGNER: Final = "rule_set_untrusted_signer"
SIGNATURE_INVALID: Final = "rule_set_signature_invalid"
ROLLBACK: Final = "rule_set_rollback"

REASON_CODES: Final[tuple[str, ...]] = (MALFORMED, UNTRUSTED_SIGNER, SIGNATURE_INVALID, ROLLBACK)
"""Every :attr:`RuleSetError.reason`."""

RuleType = Literal["Acceptance", "Invalidation"]

_RULE_SET_KEYS: Final = frozenset({"format", "region", "version", "issued_at", "rules"})
_MAX_VERSION: Final = 2**63 - 1
_MAX_RULES: Final = 1000
_KID_LENGTH: Final = 8
# Rule logic nests (map → list per operation) well past cbor's default depth of 16.
_MAX_CBOR_DEPTH: Final = 64
_PREFIX_FOR_TYPE: Final[Mapping[str, str]] = MappingProxyType(
    {"Acceptance": "MR", "Invalidation": "IR"}
)
_REQUIRED_LANGS: Final = ("zh", "en")


def _malformed(path: str, problem: str) -> RuleSetError:
    return RuleSetError(MALFORMED, problem, path=path)


# -- the schema, enforced in code -------------------------------------------------------------

# The JSON Schema keywords rules/schema.json may use; any other keyword is refused when the
# schema loads, so the file can never ask for a check this code silently skips.
_ANNOTATIONS: Final = frozenset({"$schema", "$id", "title", "description"})
_KEYWORDS: Final = _ANNOTATIONS | {
    "type",
    "properties",
    "required",
    "additionalProperties",
    "pattern",
    "enum",
    "minItems",
    "maxItems",
    "items",
    "minLength",
    "maxLength",
    "uniqueItems",
}


@dataclass(frozen=True, slots=True)
class _Schema:
    """One compiled subschema of rules/schema.json."""

    type: str
    properties: Mapping[str, _Schema] = field(default_factory=dict)
    required: tuple[str, ...] = ()
    closed: bool = False
    pattern: re.Pattern[str] | None = None
    enum: tuple[object, ...] | None = None
    min_items: int | None = None
    max_items: int | None = None
    items: _Schema | None = None
    min_length: int | None = None
    max_length: int | None = None
    unique_items: bool = False


def _compile_schema(node: object, where: str) -> _Schema:
    if not isinstance(node, dict):
        raise ConfigurationError(f"rule schema {where}: a schema must be an object")
    unknown = set(node) - _KEYWORDS
    if unknown:
        raise ConfigurationError(f"rule schema {where}: unsupported keywords {sorted(unknown)}")
    kind = node.get("type")
    if kind not in ("object", "array", "string", "integer"):
        raise ConfigurationError(f"rule schema {where}: unsupported type {kind!r}")
    if node.get("additionalProperties", False) is not False:
        raise ConfigurationError(f"rule schema {where}: only additionalProperties false")
    properties = node.get("properties", {})
    pattern = node.get("pattern")
    enum = node.get("enum")
    items = node.get("items")
    return _Schema(
        type=kind,
        properties={
            name: _compile_schema(sub, f"{where}.{name}") for name, sub in properties.items()
        },
        required=tuple(node.get("required", ())),
        closed="additionalProperties" in node,
        pattern=None if pattern is None else re.compile(pattern, re.ASCII),
        enum=None if enum is None else tuple(enum),
        min_items=node.get("minItems"),
        max_items=node.get("maxItems"),
        items=None if items is None else _compile_schema(items, f"{where}[]"),
        min_length=node.get("minLength"),
        max_length=node.get("maxLength"),
        unique_items=bool(node.get("uniqueItems", False)),
    )


@cache
def rule_schema() -> Mapping[str, object]:
    """The rule JSON Schema shipped as ``ezhengzhao/rules/schema.json`` (a parsed copy)."""
    text = resources.files("ezhengzhao.rules").joinpath("schema.json").read_bytes()
    value = jsonio.loads(text, what="rule schema")
    if not isinstance(value, dict):
        raise ConfigurationError("rule schema: not a JSON object")
    return MappingProxyType(value)


@cache
def _compiled_schema() -> _Schema:
    return _compile_schema(dict(rule_schema()), "$")


_TYPE_NAMES: Final[Mapping[str, str]] = MappingProxyType(
    {"object": "an object", "array": "an array", "string": "a string", "integer": "an integer"}
)


def _has_type(value: object, kind: str) -> bool:
    if kind == "object":
        return isinstance(value, dict)
    if kind == "array":
        return isinstance(value, list)
    if kind == "string":
        return isinstance(value, str)
    return isinstance(value, int) and not isinstance(value, bool)


def _check_schema(value: object, schema: _Schema, path: str) -> None:
    """Raise RuleSetError (malformed, naming the field) where ``value`` breaks ``schema``."""
    if not _has_type(value, schema.type):
        raise _malformed(path, f"must be {_TYPE_NAMES[schema.type]}")
    if schema.enum is not None and value not in schema.enum:
        raise _malformed(path, f"{value!r} is not one of {list(schema.enum)}")
    if isinstance(value, str):
        if schema.min_length is not None and len(value) < schema.min_length:
            raise _malformed(path, f"must have at least {schema.min_length} character(s)")
        if schema.max_length is not None and len(value) > schema.max_length:
            raise _malformed(path, f"must have at most {schema.max_length} characters")
        if schema.pattern is not None and not schema.pattern.search(value):
            raise _malformed(path, f"{value!r} does not match {schema.pattern.pattern}")
    elif isinstance(value, list):
        if schema.min_items is not None and len(value) < schema.min_items:
            raise _malformed(path, f"must have at least {schema.min_items} item(s)")
        if schema.max_items is not None and len(value) > schema.max_items:
            raise _malformed(path, f"must have at most {schema.max_items} items")
        if schema.unique_items and len({json.dumps(v, sort_keys=True) for v in value}) != len(
            value
        ):
            raise _malformed(path, "items must be unique")
        if schema.items is not None:
            for index, item in enumerate(value):
                _check_schema(item, schema.items, f"{path}[{index}]")
    elif isinstance(value, dict):
        missing = [key for key in schema.required if key not in value]
        if missing:
            raise _malformed(_join(path, missing[0]), "is missing")
        if schema.closed:
            unknown = sorted(repr(key) for key in value if key not in schema.properties)
            if unknown:
                raise _malformed(path, f"unknown key(s) {', '.join(unknown)}")
        for key, sub in schema.properties.items():
            if key in value:
                _check_schema(value[key], sub, _join(path, key))


def _join(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


# -- rules ------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Description:
    """One language's description of a rule (``{"lang": "zh", "desc": "…"}``)."""

    lang: str
    desc: str


@dataclass(frozen=True, slots=True)
class Rule:
    """One business rule — 互认规则 — in the ``rules/schema.json`` format.

    Make one with :func:`parse_rule`; a directly built Rule is checked the same way
    (RuleSetError ``rule_set_malformed``). ``logic`` is a private deep copy: do not mutate it.
    """

    identifier: str
    type: RuleType
    region: str
    licence_type: str
    version: str
    schema_version: str
    engine: str
    engine_version: str
    description: tuple[Description, ...]
    valid_from: datetime
    valid_to: datetime
    affected_fields: tuple[str, ...]
    logic: object = field(hash=False)
    # ``logic`` compiled once: a rule is evaluated against many licences.
    compiled: certlogic.CompiledExpression = field(
        init=False, repr=False, compare=False, hash=False
    )

    def __post_init__(self) -> None:
        if not all(isinstance(d, Description) for d in self.description):
            raise _malformed("Description", "must hold Description values")
        for name in ("valid_from", "valid_to"):
            moment = getattr(self, name)
            if not isinstance(moment, datetime) or moment.utcoffset() is None:
                raise _malformed(name, "must be a timezone-aware datetime")
        _check_rule_json(self.to_json(), "")
        object.__setattr__(self, "compiled", certlogic.compile_expression(self.logic))

    @property
    def version_key(self) -> tuple[int, int, int]:
        """The semantic version as numbers, for comparison (``1.10.0`` > ``1.9.0``)."""
        major, minor, patch = self.version.split(".")
        return int(major), int(minor), int(patch)

    def description_in(self, lang: str) -> str:
        """The description in ``lang`` (e.g. ``"zh"``), or the English one."""
        for item in self.description:
            if item.lang == lang:
                return item.desc
        return next(item.desc for item in self.description if item.lang == "en")

    def is_valid_at(self, at: datetime) -> bool:
        """Whether ``valid_from ≤ at < valid_to``."""
        return self.valid_from <= at < self.valid_to

    def applies_to(self, licence_type: str) -> bool:
        """Whether the rule covers ``licence_type`` (its own type, or every type if General)."""
        return self.licence_type in (GENERAL, licence_type)

    def to_json(self) -> dict[str, object]:
        """The rule as a JSON object (a fresh copy), as signed inside a rule set."""
        return {
            "Identifier": self.identifier,
            "Type": self.type,
            "Region": self.region,
            "LicenceType": self.licence_type,
            "Version": self.version,
            "SchemaVersion": self.schema_version,
            "Engine": self.engine,
            "EngineVersion": self.engine_version,
            "Description": [{"lang": d.lang, "desc": d.desc} for d in self.description],
            "ValidFrom": self.valid_from.isoformat(),
            "ValidTo": self.valid_to.isoformat(),
            "AffectedFields": list(self.affected_fields),
            "Logic": _json_copy(self.logic, "Logic"),
        }


def parse_rule(value: object, *, path: str = "") -> Rule:
    """A :class:`Rule` from its JSON object; RuleSetError (``rule_set_malformed``) if invalid.

    Checked: ``rules/schema.json`` (missing, unknown and mistyped keys, patterns, enums), then
    a real GB/T 2260 ``Region`` (or ``000000``), a ``LicenceType`` whose first 18 characters are
    a valid USCC, ``Identifier`` agreeing with ``Type`` (MR/IR) and ``Region``, zh and en
    descriptions with no language twice, ``ValidFrom`` before ``ValidTo``, and ``Logic`` being
    plain JSON that passes :func:`certlogic.validate`. ``path`` prefixes field names in errors.
    """
    _check_rule_json(value, path)
    assert isinstance(value, dict)  # checked above
    return Rule(
        identifier=value["Identifier"],
        type=value["Type"],
        region=value["Region"],
        licence_type=value["LicenceType"],
        version=value["Version"],
        schema_version=value["SchemaVersion"],
        engine=value["Engine"],
        engine_version=value["EngineVersion"],
        description=tuple(Description(d["lang"], d["desc"]) for d in value["Description"]),
        valid_from=_parse_instant(value["ValidFrom"], _join(path, "ValidFrom")),
        valid_to=_parse_instant(value["ValidTo"], _join(path, "ValidTo")),
        affected_fields=tuple(value["AffectedFields"]),
        logic=_json_copy(value["Logic"], _join(path, "Logic")),
    )


def _check_rule_json(value: object, path: str) -> None:
    _check_schema(value, _compiled_schema(), path)
    assert isinstance(value, dict)
    at = _join
    region = value["Region"]
    if region != NATIONAL_REGION and not codes.is_valid_region_code(region):
        raise _malformed(at(path, "Region"), f"{region!r} is not a GB/T 2260 region code")
    licence_type = value["LicenceType"]
    if licence_type != GENERAL and not codes.is_valid_uscc(licence_type[:18]):
        raise _malformed(
            at(path, "LicenceType"), f"{licence_type!r} does not start with a valid USCC"
        )
    identifier = value["Identifier"]
    prefix = _PREFIX_FOR_TYPE[value["Type"]]
    if not identifier.startswith(prefix + "-"):
        raise _malformed(
            at(path, "Identifier"), f"an {value['Type']} rule's identifier starts with {prefix}-"
        )
    if identifier[3:9] != region:
        raise _malformed(at(path, "Identifier"), f"{identifier!r} does not name Region {region}")
    langs = [item["lang"] for item in value["Description"]]
    if len(set(langs)) != len(langs):
        raise _malformed(at(path, "Description"), "a language appears twice")
    for lang in _REQUIRED_LANGS:
        if lang not in langs:
            raise _malformed(at(path, "Description"), f"needs a {lang!r} description")
    start = _parse_instant(value["ValidFrom"], at(path, "ValidFrom"))
    end = _parse_instant(value["ValidTo"], at(path, "ValidTo"))
    if not start < end:
        raise _malformed(at(path, "ValidTo"), "must be after ValidFrom")
    logic = _json_copy(value["Logic"], at(path, "Logic"))
    problems = certlogic.validate(logic)
    if problems:
        raise _malformed(at(path, "Logic"), "invalid CertLogic: " + "; ".join(problems))


def _parse_instant(text: str, path: str) -> datetime:
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise _malformed(path, f"{text!r} is not a date-time") from None
    if moment.utcoffset() is None:
        raise _malformed(path, "needs an offset")
    return moment


def _json_copy(value: object, path: str) -> object:
    """A deep copy of ``value`` if it is plain JSON (CBOR may carry bytes, tags, NaN...)."""
    if value is None or isinstance(value, bool | int | str):
        return value
    if isinstance(value, float):
        if not math.isfinite(value):
            raise _malformed(path, "numbers must be finite")
        return value
    if isinstance(value, list):
        return [_json_copy(item, path) for item in value]
    if isinstance(value, dict):
        if not all(isinstance(key, str) for key in value):
            raise _malformed(path, "object keys must be strings")
        return {key: _json_copy(item, path) for key, item in value.items()}
    raise _malformed(path, f"{type(value).__name__} is not a JSON value")


# -- rule sets --------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class RuleSet:
    """A region's mutual-recognition rules — 互认规则集 — under one version.

    ``issued_at`` is kept in UTC whole seconds (a NumericDate when signed). RuleSetError
    (``rule_set_malformed``) if the region is not a GB/T 2260 code or ``000000``, the version
    not an int in 1…2⁶³−1, a rule names another region, or an (Identifier, Version) repeats.
    """

    region: str
    version: int
    issued_at: datetime
    rules: tuple[Rule, ...]

    def __post_init__(self) -> None:
        region = self.region
        if not isinstance(region, str) or not (
            region == NATIONAL_REGION or codes.is_valid_region_code(region)
        ):
            raise _malformed("region", f"{region!r} is not a GB/T 2260 region code")
        version = self.version
        if isinstance(version, bool) or not isinstance(version, int):
            raise _malformed("version", "must be an integer")
        if not 1 <= version <= _MAX_VERSION:
            raise _malformed("version", "must be between 1 and 2^63-1")
        issued = self.issued_at
        if not isinstance(issued, datetime) or issued.utcoffset() is None:
            raise _malformed("issued_at", "must be a timezone-aware datetime")
        issued = issued.astimezone(UTC).replace(microsecond=0)
        if not 0 <= issued.timestamp() < cose.NUMERIC_DATE_MAX:
            raise _malformed("issued_at", "must lie between 1970 and the year 3000")
        object.__setattr__(self, "issued_at", issued)
        rules = tuple(self.rules)
        object.__setattr__(self, "rules", rules)
        if len(rules) > _MAX_RULES:
            raise _malformed("rules", f"more than {_MAX_RULES} rules")
        seen: set[tuple[str, str]] = set()
        for index, rule in enumerate(rules):
            if not isinstance(rule, Rule):
                raise _malformed(f"rules[{index}]", "must be a Rule")
            if rule.region != region:
                raise _malformed(
                    f"rules[{index}].Region", f"{rule.region} is not the rule set's {region}"
                )
            key = (rule.identifier, rule.version)
            if key in seen:
                raise _malformed(
                    f"rules[{index}]", f"{rule.identifier} version {rule.version} appears twice"
                )
            seen.add(key)

    def to_cbor_map(self) -> dict[str, object]:
        """The payload that :func:`sign_rule_set` signs."""
        return {
            "format": RULE_SET_FORMAT,
            "region": self.region,
            "version": self.version,
            "issued_at": int(self.issued_at.timestamp()),
            "rules": [rule.to_json() for rule in self.rules],
        }


def _rule_set_from_map(value: object, *, json_dates: bool) -> RuleSet:
    if not isinstance(value, dict):
        raise _malformed("", "a rule set must be an object")
    missing = sorted(_RULE_SET_KEYS - value.keys())
    if missing:
        raise _malformed(missing[0], "is missing")
    unknown = sorted(repr(key) for key in value.keys() - _RULE_SET_KEYS)
    if unknown:
        raise _malformed("", f"unknown key(s) {', '.join(unknown)}")
    if value["format"] != RULE_SET_FORMAT:
        raise _malformed("format", f"unknown rule set format {value['format']!r}")
    if not isinstance(value["region"], str):
        raise _malformed("region", "must be a string")
    raw_issued = value["issued_at"]
    issued: datetime
    if json_dates:
        if not isinstance(raw_issued, str):
            raise _malformed("issued_at", "must be an ISO 8601 date-time string")
        issued = _parse_instant(raw_issued, "issued_at")
    else:
        try:
            issued = cose.numeric_date(raw_issued, "issued_at")
        except PayloadError as exc:
            raise _malformed("issued_at", str(exc)) from None
    rules = value["rules"]
    if not isinstance(rules, list):
        raise _malformed("rules", "must be an array")
    if len(rules) > _MAX_RULES:
        raise _malformed("rules", f"more than {_MAX_RULES} rules")
    return RuleSet(
        region=value["region"],
        version=value["version"],  # checked by RuleSet
        issued_at=issued,
        rules=tuple(parse_rule(rule, path=f"rules[{i}]") for i, rule in enumerate(rules)),
    )


def rule_set_from_json(data: bytes | str) -> RuleSet:
    """An unsigned rule set from JSON (``issued_at`` an ISO date-time with offset).

    DecodeError if the JSON does not parse, RuleSetError (``rule_set_malformed``) otherwise.
    """
    return _rule_set_from_map(jsonio.loads(data, what="rule set"), json_dates=True)


@cache
def _builtin() -> tuple[RuleSet, ...]:
    folder = resources.files("ezhengzhao.rules").joinpath("data")
    sets = []
    for item in sorted(folder.iterdir(), key=lambda i: i.name):
        if item.name.endswith(".json") and item.is_file():
            try:
                sets.append(rule_set_from_json(item.read_bytes()))
            except (DecodeError, RuleSetError) as exc:
                raise ConfigurationError(f"ezhengzhao/rules/data/{item.name}: {exc}") from exc
    return tuple(sets)


def builtin_rule_sets() -> tuple[RuleSet, ...]:
    """The unsigned 长三角 demo rule sets shipped in ``ezhengzhao/rules/data/``, by file name."""
    return _builtin()


# -- codec ------------------------------------------------------------------------------------


def sign_rule_set(rule_set: RuleSet, *, signer: Signer, certificate: Certificate) -> bytes:
    """Sign ``rule_set`` with the accepting region's authority key; tagged COSE_Sign1 bytes.

    ConfigurationError if ``signer``'s key is not ``certificate``'s. Which region the
    certificate may sign for is the loader's configuration, not the signer's.
    """
    if not isinstance(rule_set, RuleSet):
        raise TypeError("rule_set must be a RuleSet")
    if certificate.public_key.spki_der() != signer.public_key.spki_der():
        raise ConfigurationError("the signer's key is not the certificate's key")
    message = cose.sign1(
        cbor.dumps(rule_set.to_cbor_map()),
        alg=cose.alg_for_suite(signer.suite.id),
        kid=certificate.kid,
        sign=signer.sign,
    )
    return message.encode()


def read_rule_set(data: bytes) -> tuple[RuleSet, cose.CoseSign1]:
    """Decode a signed rule set without checking its signature.

    PayloadError (stages ``cbor``/``cose``) for the envelope: tag 18, ``alg`` and an 8-byte
    ``kid`` in the protected header; RuleSetError (``rule_set_malformed``) for the payload.
    Load it with a :class:`RuleSetLoader` before using any rule.
    """
    message = _decode_envelope(data)
    return _parse_payload(message.payload), message


def _decode_envelope(data: bytes) -> cose.CoseSign1:
    if not isinstance(data, bytes | bytearray | memoryview):
        raise TypeError("a rule set is bytes")
    message = cose.decode_sign1(bytes(data))
    if message.alg is None:
        raise PayloadError("cose", "a rule set needs alg in its protected header")
    kid = message.protected_header.get(cose.HDR_KID)
    if not isinstance(kid, bytes) or len(kid) != _KID_LENGTH:
        raise PayloadError("cose", "a rule set needs an 8-byte kid in its protected header")
    return message


def _parse_payload(payload: bytes) -> RuleSet:
    try:
        value = cbor.loads_strict(payload, max_depth=_MAX_CBOR_DEPTH)
    except PayloadError as exc:
        raise _malformed("", f"payload is not CBOR: {exc}") from None
    return _rule_set_from_map(value, json_dates=False)


# -- loader -----------------------------------------------------------------------------------


class RuleSetLoader:
    """Verifies rule sets against the accepting regions' authorities and selects rules.

    ``authorities`` maps a region code (GB/T 2260, or ``000000`` for national rules) to the
    certificates whose keys sign that region's rule sets; they are trusted as given, while
    valid at load time by ``clock``. One rule set is held per region, the highest version.
    Thread-safe: loads are serialised and readers see a whole state.
    """

    def __init__(
        self,
        *,
        authorities: Mapping[str, Iterable[Certificate]],
        clock: Clock = system_clock,
    ) -> None:
        if not isinstance(authorities, Mapping):
            raise ConfigurationError("authorities must map region codes to certificates")
        table: dict[str, tuple[Certificate, ...]] = {}
        for region, certificates in authorities.items():
            if not isinstance(region, str) or not (
                region == NATIONAL_REGION or codes.is_valid_region_code(region)
            ):
                raise ConfigurationError(f"{region!r} is not a GB/T 2260 region code")
            certs = tuple(certificates)
            if not certs or not all(isinstance(c, Certificate) for c in certs):
                raise ConfigurationError(f"region {region} needs one or more Certificate objects")
            table[region] = certs
        if not table:
            raise ConfigurationError("a rule set loader needs at least one region's authority")
        if not callable(clock):
            raise ConfigurationError("clock must be a callable returning an aware datetime")
        self._authorities: Mapping[str, tuple[Certificate, ...]] = MappingProxyType(table)
        self._clock = clock
        self._lock = threading.Lock()
        self._held: Mapping[str, tuple[RuleSet, bytes]] = MappingProxyType({})

    @classmethod
    def from_directory(
        cls, directory: str | os.PathLike[str], *, clock: Clock | None = None
    ) -> RuleSetLoader:
        """Signed rule sets ``*.cose`` of a directory, checked against
        ``authorities/<region>.pem`` (the certificates allowed to sign that region's rules).

        ConfigurationError if there are none; RuleSetError if a rule set is refused.
        """
        from ezhengzhao.sign.x509 import load_certificates

        folder = Path(directory)
        authorities: dict[str, list[Certificate]] = {}
        for pem in sorted((folder / "authorities").glob("*.pem")):
            try:
                authorities[pem.stem] = load_certificates(pem.read_bytes())
            except (OSError, EzhengzhaoError) as exc:
                raise ConfigurationError(f"{pem}: {exc}") from None
        if not authorities:
            raise ConfigurationError(f"{folder}/authorities has no <region>.pem authorities")
        loader = (
            cls(authorities=authorities)
            if clock is None
            else cls(authorities=authorities, clock=clock)
        )
        for file in sorted(folder.glob("*.cose")):
            loader.load(file.read_bytes())
        return loader

    def load(self, data: bytes) -> RuleSet:
        """Verify ``data`` and hold it for its region; return it. RuleSetError if refused.

        Loading the rule set already held (same payload) again is a no-op.
        """
        now = _aware(self._clock(), "the clock's time")
        try:
            rule_set, message = read_rule_set(data)
        except PayloadError as exc:
            raise RuleSetError(MALFORMED, f"not a rule set: {exc}") from exc
        self._verify(message, rule_set.region, now)
        digest = hashlib.sha256(message.payload).digest()
        with self._lock:
            current = self._held.get(rule_set.region)
            if current is not None:
                old, old_digest = current
                if rule_set.version < old.version:
                    raise RuleSetError(
                        ROLLBACK,
                        f"rule set {rule_set.region} v{rule_set.version} is older than "
                        f"v{old.version} already held",
                    )
                if rule_set.version == old.version:
                    if digest == old_digest:
                        return old
                    raise RuleSetError(
                        ROLLBACK,
                        f"rule set {rule_set.region} v{rule_set.version} differs from the one "
                        "held under the same version",
                    )
            held = dict(self._held)
            held[rule_set.region] = (rule_set, digest)
            self._held = MappingProxyType(held)
        return rule_set

    def load_url(
        self,
        url: str,
        *,
        max_bytes: int = DEFAULT_MAX_BYTES,
        timeout: float = DEFAULT_TIMEOUT,
    ) -> RuleSet:
        """:meth:`load` the rule set fetched from ``url`` (http, https or file); FetchError if
        it cannot be fetched within ``max_bytes`` and ``timeout`` (:func:`ezhengzhao.fetch.fetch`).
        """
        return self.load(fetch(url, max_bytes=max_bytes, timeout=timeout))

    def current(self) -> tuple[RuleSet, ...]:
        """The rule sets held, one per region, ordered by region code."""
        held = self._held
        return tuple(held[region][0] for region in sorted(held))

    def rules_for(self, verifier_region: str, licence_type: str, at: datetime) -> tuple[Rule, ...]:
        """The rules a verifier in ``verifier_region`` applies to ``licence_type`` at ``at``.

        Walks up from the verifier's region (county → prefecture → province, then ``000000``),
        takes the rules of each held rule set whose LicenceType is ``licence_type`` or General
        and that are valid at ``at`` (ValidFrom ≤ at < ValidTo), and keeps the highest
        version of each identifier (semver compared numerically). Ordered nearest region
        first, then by identifier. ConfigurationError for a bad region or a naive ``at``.
        """
        if not isinstance(verifier_region, str) or not (
            verifier_region == NATIONAL_REGION or codes.is_valid_region_code(verifier_region)
        ):
            raise ConfigurationError(f"{verifier_region!r} is not a GB/T 2260 region code")
        if not isinstance(licence_type, str):
            raise ConfigurationError("licence_type must be a string")
        moment = _aware(at, "at")
        walk = [verifier_region]
        if verifier_region != NATIONAL_REGION:
            walk += [*codes.parent_region_codes(verifier_region), NATIONAL_REGION]
        held = self._held
        selected: list[Rule] = []
        for region in walk:
            entry = held.get(region)
            if entry is None:
                continue
            best: dict[str, Rule] = {}
            for rule in entry[0].rules:
                if not (rule.applies_to(licence_type) and rule.is_valid_at(moment)):
                    continue
                other = best.get(rule.identifier)
                if other is None or rule.version_key > other.version_key:
                    best[rule.identifier] = rule
            selected.extend(best[identifier] for identifier in sorted(best))
        return tuple(selected)

    def _verify(self, message: cose.CoseSign1, region: str, now: datetime) -> Certificate:
        """The certificate registered for ``region`` that verifies ``message``, valid now."""
        kid = message.kid
        candidates = [c for c in self._authorities.get(region, ()) if c.kid == kid]
        if not candidates:
            raise RuleSetError(
                UNTRUSTED_SIGNER,
                f"no certificate registered for region {region} has kid "
                f"{kid.hex() if kid else None}",
            )
        verified = False
        for certificate in candidates:
            try:
                cose.verify_sign1(message, certificate.public_key)
            except CryptoError:
                continue
            verified = True
            if certificate.is_valid_at(now):
                return certificate
        if verified:
            raise RuleSetError(
                UNTRUSTED_SIGNER, f"the certificate of region {region} is not valid at {now}"
            )
        raise RuleSetError(
            SIGNATURE_INVALID, f"the rule set's signature does not verify for region {region}"
        )


def _aware(moment: object, what: str) -> datetime:
    if not isinstance(moment, datetime) or moment.utcoffset() is None:
        raise ConfigurationError(f"{what} must be a timezone-aware datetime")
    return moment


# -- evaluation -------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class RuleOutcome:
    """What one rule said about one licence.

    ``passed`` is True (the rule is satisfied), False (the rule refuses the licence: an
    Acceptance rule's logic was falsy, or an Invalidation rule's logic was truthy) or None
    (cannot tell: the logic raised a CertLogic error or gave a value neither truthy nor
    falsy; ``detail`` says why, and is empty otherwise).
    """

    rule: Rule
    passed: bool | None
    detail: str = ""


def evaluate_rules(
    rules: Iterable[Rule], payload: Mapping[str, object], external: Mapping[str, object]
) -> tuple[RuleOutcome, ...]:
    """Evaluate each rule against ``{"payload": payload, "external": external}``, in order.

    Mappings and tuples inside ``payload`` and ``external`` are read as JSON objects and
    arrays. See :class:`RuleOutcome` for what each outcome means.
    """
    data = {"payload": _plain(payload), "external": _plain(external)}
    outcomes = []
    for rule in rules:
        if not isinstance(rule, Rule):
            raise TypeError("rules must be Rule values")
        try:
            result = rule.compiled.evaluate(data)
        except CertLogicError as exc:
            outcomes.append(RuleOutcome(rule, None, f"CertLogic error: {exc}"))
            continue
        if certlogic.is_truthy(result):
            truthy = True
        elif certlogic.is_falsy(result):
            truthy = False
        else:
            outcomes.append(
                RuleOutcome(rule, None, f"the logic gave {result!r}, neither truthy nor falsy")
            )
            continue
        passed = truthy if rule.type == "Acceptance" else not truthy
        outcomes.append(RuleOutcome(rule, passed))
    return tuple(outcomes)


def _plain(value: object) -> object:
    """``value`` with Mappings as dicts and tuples as lists, as CertLogic reads JSON."""
    if isinstance(value, Mapping):
        return {key: _plain(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(item) for item in value]
    return value
