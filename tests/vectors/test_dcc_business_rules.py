"""The EU DCC business rules and their tests (vectors/dcc-business-rules/).

Each ``<set>/<RuleId>/tests/testNNN.json`` is run as the repository's own tooling
(``tooling/src/run-all-tests.ts``) runs it: the rule's ``Logic`` is evaluated against
``{"payload": payload, "external": external}`` exactly as the test file gives them, and the
result must deep-equal ``expected`` (a boolean in every pinned test) without an error. The test
files carry their value sets themselves (``external.valueSets``, value-set id → codes, as
``valuesets/build.sh`` compresses them); the tooling injects nothing, so neither do we. Only
files named ``test<digits>.json`` are tests, as in the tooling. A test without ``payload`` sees
``payload`` as null (JavaScript's undefined reads as null through ``var``).
"""

from __future__ import annotations

import json
import re
from functools import cache
from pathlib import Path
from typing import Any

import pytest

from ezhengzhao.rules import CertLogicError, evaluate, validate
from tests.conftest import SHARED_VECTORS, shared_vectors

RULES_DIR = SHARED_VECTORS / "dcc-business-rules"
NOT_RULE_SETS = {"html", "out", "tests", "tooling", "valuesets"}
TEST_FILE = re.compile(r"test\d+\.json")
EXPECTED_TOTAL = 1364  # tests in the pinned copy (README of vectors/)
EXPECTED_RULES = 194


def _rule_dirs() -> list[Path]:
    return sorted(
        rule_dir
        for set_dir in RULES_DIR.iterdir()
        if set_dir.is_dir() and set_dir.name not in NOT_RULE_SETS
        for rule_dir in set_dir.iterdir()
        if (rule_dir / "rule.json").is_file()
    )


def _test_files(rule_dir: Path) -> list[Path]:
    tests = rule_dir / "tests"
    if not tests.is_dir():
        return []
    return sorted(p for p in tests.iterdir() if TEST_FILE.fullmatch(p.name))


@cache
def _rule(rule_dir: Path) -> dict[str, Any]:
    rule: dict[str, Any] = json.loads((rule_dir / "rule.json").read_text(encoding="utf-8"))
    return rule


def _params() -> list[Any]:
    if not RULES_DIR.exists():
        return [pytest.param(None, None, id="dcc-business-rules-missing")]
    return [
        pytest.param(rule_dir, test_file, id=f"{rule_dir.name}-{test_file.stem}")
        for rule_dir in _rule_dirs()
        for test_file in _test_files(rule_dir)
    ]


@pytest.mark.parametrize(("rule_dir", "test_file"), _params())
def test_business_rule(rule_dir: Path, test_file: Path) -> None:
    shared_vectors("dcc-business-rules")  # skips, saying where, when the vectors are absent
    test = json.loads(test_file.read_text(encoding="utf-8"))
    rule = _rule(rule_dir)
    data = {"payload": test.get("payload"), "external": test["external"]}
    try:
        actual = evaluate(rule["Logic"], data)
    except CertLogicError as error:
        pytest.fail(f"{rule['Identifier']} {test_file.name}: evaluation raised {error}")
    expected = test["expected"]
    assert type(actual) is type(expected) and actual == expected, (
        f"{rule['Identifier']} {test_file.name} ({test.get('name', '<no name>')}): "
        f"got {actual!r}, expected {expected!r}"
    )


def test_business_rule_count() -> None:
    """All 1,364 tests of the 194 rules are collected (no file silently left out)."""
    shared_vectors("dcc-business-rules")
    rule_dirs = _rule_dirs()
    total = sum(len(_test_files(rule_dir)) for rule_dir in rule_dirs)
    every_json = sum(
        1 for rule_dir in rule_dirs for p in (rule_dir / "tests").glob("*.json") if p.is_file()
    )
    print(f"DCC business rules: {len(rule_dirs)} rules, {total} tests")
    assert len(rule_dirs) == EXPECTED_RULES
    assert total == every_json == EXPECTED_TOTAL
    assert len(_params()) == EXPECTED_TOTAL


def test_business_rules_are_valid_certlogic() -> None:
    """Every rule's Logic passes the format validator, as the repository's tooling demands."""
    shared_vectors("dcc-business-rules")
    problems = {
        _rule(rule_dir)["Identifier"]: validate(_rule(rule_dir)["Logic"])
        for rule_dir in _rule_dirs()
    }
    assert {rule_id: issues for rule_id, issues in problems.items() if issues} == {}
