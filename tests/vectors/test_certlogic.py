"""The CertLogic specification's evaluator and validator test suites (vectors/certlogic/).

Evaluator: every assertion of ``testSuite/*.json``, one test per assertion, named
``<file>-c<case>-a<assertion>``. Directives are honoured as the reference Mocha runner does:
``skip`` on a file, case or assertion skips it (with the reason); ``only`` on a file or case
restricts the run to those; ``only`` on an assertion is ignored, as the reference runner does.

Validator: every case of ``validation-testSuite/*.json``; the issues (expression and message)
must be exactly those listed, and ``validate`` must return their messages.
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

import pytest

from ezhengzhao.rules import CertLogicError, evaluate, validate
from ezhengzhao.rules.certlogic import _issues
from tests.conftest import SHARED_VECTORS, shared_vectors

SUITE_DIR = SHARED_VECTORS / "certlogic" / "testSuite"
VALIDATION_DIR = SHARED_VECTORS / "certlogic" / "validation-testSuite"


@cache
def _load(path: Path) -> dict[str, Any]:
    suite: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return suite


def _json_equal(actual: object, expected: object) -> bool:
    """Deep equality as JSON sees it: true is not 1, 1 is 1.0."""
    if isinstance(expected, bool) or isinstance(actual, bool):
        return type(actual) is type(expected) and actual == expected
    if isinstance(expected, int | float) and isinstance(actual, int | float):
        return actual == expected
    if isinstance(expected, list) and isinstance(actual, list):
        return len(actual) == len(expected) and all(
            _json_equal(a, e) for a, e in zip(actual, expected, strict=True)
        )
    if isinstance(expected, dict) and isinstance(actual, dict):
        return actual.keys() == expected.keys() and all(
            _json_equal(actual[k], expected[k]) for k in expected
        )
    return type(actual) is type(expected) and actual == expected


def _suite_params() -> list[Any]:
    if not SUITE_DIR.exists():
        return [pytest.param("", -1, -1, id="testSuite-missing")]
    files = sorted(SUITE_DIR.glob("*.json"))
    # Mocha's ``only``: if any file or case says "only", everything else is skipped.
    only_mode = any(
        _load(f).get("directive") == "only"
        or any(c.get("directive") == "only" for c in _load(f)["cases"])
        for f in files
    )
    params = []
    for path in files:
        suite = _load(path)
        for case_index, case in enumerate(suite["cases"]):
            for assertion_index, assertion in enumerate(case["assertions"]):
                marks = []
                reason = _skip_reason(path.name, suite, case, assertion, only_mode)
                if reason is not None:
                    marks.append(pytest.mark.skip(reason=f"{path.name}: {reason}"))
                params.append(
                    pytest.param(
                        path.name,
                        case_index,
                        assertion_index,
                        id=f"{path.stem}-c{case_index}-a{assertion_index}",
                        marks=marks,
                    )
                )
    return params


# Why the pinned suite's directives skip what they skip (printed with the skip).
_WHY_SKIPPED = {
    "patched-reduce.json": "it tests a proposed patch (reduce's lambda also seeing the outer "
    "data as `data`) that is not part of the specification",
    "ins-with-nulls.json": "an 'in' whose right-hand side is null or missing, which the "
    "specification makes an error rather than false",
}


def _skip_reason(
    filename: str,
    suite: dict[str, Any],
    case: dict[str, Any],
    assertion: dict[str, Any],
    only_mode: bool,
) -> str | None:
    where = None
    if suite.get("directive") == "skip":
        where = f"the suite {suite['name']!r} carries directive 'skip'"
    elif case.get("directive") == "skip":
        where = f"case {case['name']!r} carries directive 'skip'"
    elif assertion.get("directive") == "skip":
        where = (
            f"the assertion with data {json.dumps(assertion['data'])} in case "
            f"{case['name']!r} carries directive 'skip'"
        )
    if where is not None:
        why = _WHY_SKIPPED.get(filename)
        return f"{where} ({why})" if why else where
    if only_mode and "only" not in (suite.get("directive"), case.get("directive")):
        return "another file or case carries directive 'only'"
    return None


@pytest.mark.parametrize(("filename", "case_index", "assertion_index"), _suite_params())
def test_certlogic_evaluator(filename: str, case_index: int, assertion_index: int) -> None:
    shared_vectors("certlogic", "testSuite")  # skips, saying where, when the vectors are absent
    suite = _load(SUITE_DIR / filename)
    case = suite["cases"][case_index]
    assertion = case["assertions"][assertion_index]
    expression = assertion.get("certLogicExpression", case.get("certLogicExpression"))
    assert expression is not None, f"no expression on assertion or case {case['name']!r}"
    try:
        actual = evaluate(expression, assertion["data"])
    except CertLogicError as error:
        pytest.fail(f"{case['name']}: evaluation raised {error}")
    expected = assertion["expected"]
    assert _json_equal(actual, expected), (
        f"{case['name']} ({assertion.get('message') or json.dumps(assertion['data'])}): "
        f"got {actual!r}, expected {expected!r}"
    )


def test_certlogic_evaluator_count() -> None:
    """Every assertion of the suite is collected: 232 in the pinned copy, 14 of them skipped."""
    directory = shared_vectors("certlogic", "testSuite")
    total = sum(
        len(case["assertions"])
        for path in directory.glob("*.json")
        for case in _load(path)["cases"]
    )
    params = _suite_params()
    assert len(params) == total
    skipped = sum(1 for p in params if p.marks)
    print(f"CertLogic evaluator suite: {total} assertions, {skipped} skipped by directive")
    assert total == 232
    assert skipped == 14  # 10 in patched-reduce.json, 4 in ins-with-nulls.json


def _validation_params() -> list[Any]:
    if not VALIDATION_DIR.exists():
        return [pytest.param("", -1, id="validation-testSuite-missing")]
    params = []
    for path in sorted(VALIDATION_DIR.glob("*.json")):
        suite = _load(path)
        for case_index, case in enumerate(suite["cases"]):
            marks = []
            if "skip" in (suite.get("directive"), case.get("directive")):
                marks.append(pytest.mark.skip(reason=f"{path.name}: directive 'skip'"))
            params.append(
                pytest.param(path.name, case_index, id=f"{path.stem}-c{case_index}", marks=marks)
            )
    return params


@pytest.mark.parametrize(("filename", "case_index"), _validation_params())
def test_certlogic_validator(filename: str, case_index: int) -> None:
    shared_vectors("certlogic", "validation-testSuite")
    case = _load(VALIDATION_DIR / filename)["cases"][case_index]
    expression = case["certLogicExpression"]
    expected = [(issue["expr"], issue["message"]) for issue in case["issues"]]
    assert _issues(expression) == expected
    assert validate(expression) == [message for _, message in expected]
    if not expected:
        evaluate(expression, {})  # a valid expression evaluates without error
    else:  # an invalid one is refused by the evaluator too
        with pytest.raises(CertLogicError):
            evaluate(expression, {})
