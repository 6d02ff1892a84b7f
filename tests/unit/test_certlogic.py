"""Edge cases of the CertLogic engine beyond the specification's own test suites."""

from __future__ import annotations

from typing import Any

import pytest

from ezhengzhao.errors import EzhengzhaoError
from ezhengzhao.rules import (
    CertLogicDateTime,
    CertLogicError,
    evaluate,
    is_falsy,
    is_truthy,
    validate,
)


def _at(text: str, amount: int = 0, unit: str = "day") -> str:
    """The ISO form of plusTime(text, amount, unit)."""
    result = evaluate({"plusTime": [text, amount, unit]}, None)
    assert isinstance(result, CertLogicDateTime)
    return result.isoformat()


# --- truthiness ------------------------------------------------------------------------------


@pytest.mark.parametrize("value", [True, "a", "0", 1, -1, 2.5, [0], [None], {"a": None}])
def test_truthy(value: object) -> None:
    assert is_truthy(value)
    assert not is_falsy(value)


@pytest.mark.parametrize("value", [False, None, "", 0, 0.0, [], {}])
def test_falsy(value: object) -> None:
    assert is_falsy(value)
    assert not is_truthy(value)


@pytest.mark.parametrize("value", [CertLogicDateTime(0), (1,), {1, 2}, object(), b"x", b""])
def test_neither_truthy_nor_falsy(value: object) -> None:
    assert not is_truthy(value)
    assert not is_falsy(value)


def test_guard_neither_truthy_nor_falsy_is_an_error() -> None:
    date = {"plusTime": ["2021-01-01", 0, "day"]}
    with pytest.raises(CertLogicError, match="neither truthy nor falsy"):
        evaluate({"if": [date, 1, 2]}, None)
    with pytest.raises(CertLogicError, match="neither truthy nor falsy"):
        evaluate({"!": [date]}, None)
    with pytest.raises(CertLogicError, match="neither truthy nor falsy"):
        evaluate({"and": [True, date]}, None)


def test_if_evaluates_only_the_branch_taken() -> None:
    bad = {"plusTime": ["not a date", 0, "day"]}
    assert evaluate({"if": [True, 1, bad]}, None) == 1
    assert evaluate({"if": [0, bad, 2]}, None) == 2


def test_and_stops_at_the_first_falsy_operand() -> None:
    bad = {"unknownOperation": [1]}
    assert evaluate({"and": [1, [], bad]}, None) == []


# --- date-times ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "iso"),
    [
        ("2021", "2021-12-31T00:00:00.000Z"),
        ("2020-02", "2020-02-29T00:00:00.000Z"),
        ("2021-02", "2021-02-28T00:00:00.000Z"),
        ("1900-02", "1900-02-28T00:00:00.000Z"),
        ("2000-02", "2000-02-29T00:00:00.000Z"),
        ("2021-06-01", "2021-06-01T00:00:00.000Z"),
        ("2021-06-01T12:34:56", "2021-06-01T12:34:56.000Z"),
        ("2021-06-01T12:34:56Z", "2021-06-01T12:34:56.000Z"),
        ("2021-06-01T12:34:56+2", "2021-06-01T10:34:56.000Z"),
        ("2021-06-01T12:34:56-02", "2021-06-01T14:34:56.000Z"),
        ("2021-06-01T12:34:56+130", "2021-06-01T11:04:56.000Z"),
        ("2021-06-01T12:34:56+0130", "2021-06-01T11:04:56.000Z"),
        ("2021-06-01T12:34:56+1:30", "2021-06-01T11:04:56.000Z"),
        ("2021-06-01T12:34:56+01:30", "2021-06-01T11:04:56.000Z"),
        ("2021-06-01T00:30:00+01:00", "2021-05-31T23:30:00.000Z"),
        ("2021-06-01T12:34:56.1", "2021-06-01T12:34:56.100Z"),
        ("2021-06-01T12:34:56.12Z", "2021-06-01T12:34:56.120Z"),
        ("2021-06-01T12:34:56.123456789+00:00", "2021-06-01T12:34:56.123Z"),
        ("2021-06-01T12:34:56.9999-01", "2021-06-01T13:34:56.999Z"),
        ("1970-01-01T00:00:00Z", "1970-01-01T00:00:00.000Z"),
        ("1969-12-31T23:59:59.999Z", "1969-12-31T23:59:59.999Z"),
        ("0001-01-01", "0001-01-01T00:00:00.000Z"),
    ],
)
def test_date_time_formats(text: str, iso: str) -> None:
    assert _at(text) == iso


@pytest.mark.parametrize(
    "text",
    [
        "",
        "21",
        "2021-6-1",
        "2021-13",
        "2021-00-10",
        "2021-02-29",
        "2021-09-99",
        "2021-06-01T24:00:00",
        "2021-06-01T12:60:00",
        "2021-06-01T12:00",
        "2021-06-01 12:00:00",
        "2021-06-01T12:00:00+24:00",
        "2021-06-01T12:00:00+1:3",
        "2021-06-01T12:00:00.",
        "2021-06-01T12:00:00z",
        "２０２１-06-01",  # full-width digits are not ASCII digits
        " 2021-06-01",
        "2021-06-01\n",
    ],
)
def test_date_time_formats_refused(text: str) -> None:
    with pytest.raises(CertLogicError):
        evaluate({"plusTime": [text, 0, "day"]}, None)


@pytest.mark.parametrize(
    ("text", "amount", "unit", "iso"),
    [
        # The specification's leap-day table.
        ("2020-02-29", 1, "day", "2020-03-01T00:00:00.000Z"),
        ("2020-02-29", 1, "month", "2020-03-29T00:00:00.000Z"),
        ("2020-02-29", 1, "year", "2021-03-01T00:00:00.000Z"),
        ("2020-02-29", 4, "year", "2024-02-29T00:00:00.000Z"),
        ("2020-02-29", -1, "year", "2019-03-01T00:00:00.000Z"),
        # setUTCMonth keeps the day, which overflows into the next month.
        ("2021-01-31", 1, "month", "2021-03-03T00:00:00.000Z"),
        ("2021-03-31", -1, "month", "2021-03-03T00:00:00.000Z"),
        ("2021-11-15", 3, "month", "2022-02-15T00:00:00.000Z"),
        ("2021-02-15", -14, "month", "2019-12-15T00:00:00.000Z"),
        ("2021-12-31T23:00:00Z", 1, "hour", "2022-01-01T00:00:00.000Z"),
        ("2021-01-01T00:00:00Z", -1, "hour", "2020-12-31T23:00:00.000Z"),
        ("2021-03-27T12:00:00+01:00", 1, "day", "2021-03-28T11:00:00.000Z"),  # no DST
        ("2021-06-01", 0, "year", "2021-06-01T00:00:00.000Z"),
        ("2021-06-01", 365, "day", "2022-06-01T00:00:00.000Z"),
        ("2004-01", 18, "year", "2022-01-31T00:00:00.000Z"),
        ("2021-06-01T12:34:56.789Z", 1, "month", "2021-07-01T12:34:56.789Z"),
    ],
)
def test_plus_time_arithmetic(text: str, amount: int, unit: str, iso: str) -> None:
    assert _at(text, amount, unit) == iso


def test_plus_time_operands() -> None:
    with pytest.raises(CertLogicError, match="amount"):
        evaluate({"plusTime": ["2021-01-01", {"var": "n"}, "day"]}, {"n": 1})
    with pytest.raises(CertLogicError, match="unit"):
        evaluate({"plusTime": ["2021-01-01", 1, "week"]}, None)
    with pytest.raises(CertLogicError, match="must be a string"):
        evaluate({"plusTime": [{"var": "d"}, 1, "day"]}, {"d": None})
    with pytest.raises(CertLogicError, match="must be a string"):
        evaluate({"plusTime": [{"plusTime": ["2021-01-01", 0, "day"]}, 1, "day"]}, None)
    with pytest.raises(CertLogicError, match="out of range"):
        evaluate({"plusTime": ["2021-01-01", 10**12, "year"]}, None)


def test_date_of_birth() -> None:
    def dob(text: str) -> str:
        result = evaluate({"dccDateOfBirth": [{"var": ""}]}, text)
        assert isinstance(result, CertLogicDateTime)
        return result.isoformat()

    assert dob("1990") == "1990-12-31T00:00:00.000Z"
    assert dob("1992-02") == "1992-02-29T00:00:00.000Z"
    assert dob("1990-04-30") == "1990-04-30T00:00:00.000Z"
    for bad in ("", "1990-04-31", "1990-04-30T00:00:00", "90"):
        with pytest.raises(CertLogicError):
            dob(bad)
    with pytest.raises(CertLogicError, match="must be a string"):
        evaluate({"dccDateOfBirth": [{"var": "x"}]}, {})


def test_date_time_comparisons() -> None:
    def cmp(op: str, *texts: str) -> object:
        return evaluate({op: [{"plusTime": [t, 0, "day"]} for t in texts]}, None)

    assert cmp("before", "2021-01-01T00:00:00Z", "2021-01-01T00:00:00.001Z") is True
    assert cmp("after", "2021-01-01T01:00:00+01:00", "2021-01-01") is False
    assert cmp("not-after", "2021-01-01T01:00:00+01:00", "2021-01-01") is True
    assert cmp("not-before", "2021-01-01", "2021-01-01", "2020-12-31") is True
    assert cmp("before", "2021-01-01", "2021-01-02", "2021-01-02") is False
    with pytest.raises(CertLogicError, match="date-times"):
        evaluate({"before": [{"plusTime": ["2021-01-01", 0, "day"]}, "2021-01-02"]}, None)


def test_date_time_value() -> None:
    a = CertLogicDateTime(0)
    assert a == CertLogicDateTime(0) and hash(a) == hash(CertLogicDateTime(0))
    assert a != 0
    assert repr(a) == "CertLogicDateTime('1970-01-01T00:00:00.000Z')"


def test_no_machine_clock() -> None:
    """The same expression and data always give the same result (time comes from the data)."""
    expression = {"plusTime": [{"var": "external.validationClock"}, -18, "year"]}
    data = {"external": {"validationClock": "2022-02-27T13:37:00.042Z"}}
    results = {evaluate(expression, data) for _ in range(3)}
    assert results == {CertLogicDateTime(_ms("2004-02-27T13:37:00.042Z"))}


def _ms(text: str) -> int:
    result = evaluate({"plusTime": [text, 0, "day"]}, None)
    assert isinstance(result, CertLogicDateTime)
    return result.epoch_ms


# --- in, ===, + and comparisons --------------------------------------------------------------


@pytest.mark.parametrize(
    ("needle", "haystack", "expected"),
    [
        (None, [], False),
        (None, [None], True),
        (None, ["a", 0, False, ""], False),
        ("a", [None, "a"], True),
        (1, [True], False),
        (True, [1], False),
        (True, [True], True),
        (0, [False, "0", None], False),
        (1, [1.0], True),
        ("1", [1], False),
        ("a", [["a"], {"a": 1}], False),
    ],
)
def test_in(needle: object, haystack: list[object], expected: bool) -> None:
    assert evaluate({"in": [{"var": "n"}, {"var": "h"}]}, {"n": needle, "h": haystack}) is expected


@pytest.mark.parametrize("haystack", [None, "abc", {"a": 1}, 3])
def test_in_needs_an_array(haystack: object) -> None:
    # The four assertions the spec's suite skips (ins-with-nulls.json): an error, not false.
    with pytest.raises(CertLogicError, match="must be an array"):
        evaluate({"in": [{"var": "n"}, {"var": "h"}]}, {"n": None, "h": haystack})


def test_in_refuses_a_container_needle() -> None:
    with pytest.raises(CertLogicError):
        evaluate({"in": [{"var": "n"}, [["a"]]]}, {"n": ["a"]})


@pytest.mark.parametrize(
    ("left", "right", "expected"),
    [
        (1, 1, True),
        (1, 1.0, True),
        (1, "1", False),
        (1, True, False),
        (0, False, False),
        (None, None, True),
        (None, "", False),
        ("", "", True),
        (False, False, True),
    ],
)
def test_strict_equality(left: object, right: object, expected: bool) -> None:
    assert evaluate({"===": [{"var": "l"}, {"var": "r"}]}, {"l": left, "r": right}) is expected


@pytest.mark.parametrize("value", [[1], {"a": 1}, []])
def test_strict_equality_refuses_containers(value: object) -> None:
    with pytest.raises(CertLogicError, match="==="):
        evaluate({"===": [{"var": "l"}, {"var": "l"}]}, {"l": value})
    with pytest.raises(CertLogicError, match="==="):
        evaluate(
            {"===": [{"plusTime": ["2021", 0, "day"]}, {"plusTime": ["2021", 0, "day"]}]}, None
        )


@pytest.mark.parametrize(
    ("left", "right"),
    [("1", 2), (1, "2"), (None, 1), (True, 1), (1, 1.5), ([1], 1), ({}, 1)],
)
def test_mixed_type_comparisons_are_errors(left: object, right: object) -> None:
    data = {"l": left, "r": right}
    for operator in ("<", ">", "<=", ">="):
        with pytest.raises(CertLogicError, match="integers"):
            evaluate({operator: [{"var": "l"}, {"var": "r"}]}, data)
    with pytest.raises(CertLogicError, match="integers"):
        evaluate({"+": [{"var": "l"}, {"var": "r"}]}, data)
    with pytest.raises(CertLogicError, match="date-times"):
        evaluate({"after": [{"var": "l"}, {"var": "r"}]}, data)


def test_integer_arithmetic() -> None:
    assert evaluate({"+": [2**70, 1]}, None) == 2**70 + 1
    assert evaluate({"+": [-1, 1]}, None) == 0
    assert evaluate({"+": [1.0, 2]}, None) == 3
    assert evaluate({"<": [1, 2.0, 3]}, None) is True
    assert evaluate({">=": [3, 3, 3]}, None) is True


@pytest.mark.parametrize(
    "expression",
    [
        {"===": [1]},
        {"===": [1, 2, 3]},
        {"in": ["a"]},
        {"+": [1, 2, 3]},
        {"<": [1]},
        {"<": [1, 2, 3, 4]},
        {"and": [True]},
        {"if": [True, 1]},
        {"!": [True, False]},
        {"reduce": [[], 0]},
        {"extractFromUVCI": ["a"]},
        {"dccDateOfBirth": []},
        {"or": [True, False]},
        {"var": 0},
        {"var": ["a", 0]},
        {"var": "a..b"},
        {"and": "x"},
        {},
        {"a": [1], "b": [2]},
        None,
        1.5,
        (1, 2),
    ],
)
def test_invalid_expressions_are_errors(expression: object) -> None:
    with pytest.raises(CertLogicError):
        evaluate(expression, {"a": {"b": 1}})
    assert validate(expression), "the validator should report it too"


def test_errors_are_ezhengzhao_errors() -> None:
    assert issubclass(CertLogicError, EzhengzhaoError)


def test_deep_nesting_is_an_error_not_a_crash() -> None:
    expression: object = True
    for _ in range(100_000):
        expression = {"!": [expression]}
    with pytest.raises(CertLogicError, match="deeply"):
        evaluate(expression, None)
    assert validate(expression) == ["CertLogic expression nested too deeply"]


# --- var -------------------------------------------------------------------------------------


DEEP: dict[str, Any] = {
    "payload": {
        "v": [{"dn": 2, "sd": 2, "tg": "840539006"}, {"dn": 1, "ma": None}],
        "nam": {"fn": "Zhang", "0": "zero"},
        "dob": "1990-01-01",
    }
}


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("payload.v.0.dn", 2),
        ("payload.v.1.dn", 1),
        ("payload.v.1.ma", None),
        ("payload.v.1.ma.x", None),
        ("payload.v.2.dn", None),
        ("payload.v.-1.dn", None),  # no Python negative indexing
        ("payload.v.dn", None),
        ("payload.nam.fn", "Zhang"),
        ("payload.nam.0", "zero"),  # an integer fragment on an object is a key
        ("payload.nam.fn.0", None),  # strings are not drilled into
        ("payload.dob.length", None),
        ("payload.v.0.dn.x", None),
        ("missing.a.b.c.d", None),
    ],
)
def test_deep_var_paths(path: str, expected: object) -> None:
    assert evaluate({"var": path}, DEEP) == expected


def test_var_on_scalars_and_null() -> None:
    assert evaluate({"var": ""}, None) is None
    assert evaluate({"var": "a"}, 5) is None
    assert evaluate({"var": "0"}, "abc") is None
    assert evaluate({"var": "0"}, [False]) is False


def test_var_does_not_copy() -> None:
    """var returns the data's own value; evaluation never mutates the data."""
    data = {"a": {"b": [1, 2]}}
    assert evaluate({"var": "a.b"}, data) is data["a"]["b"]
    evaluate({"reduce": [{"var": "a.b"}, {"+": [{"var": "accumulator"}, 1]}, 0]}, data)
    assert data == {"a": {"b": [1, 2]}}


# --- reduce ----------------------------------------------------------------------------------


def test_reduce_accumulators() -> None:
    count_ones = {
        "reduce": [
            {"var": "xs"},
            {"+": [{"var": "accumulator"}, {"if": [{"===": [{"var": "current"}, 1]}, 1, 0]}]},
            0,
        ]
    }
    assert evaluate(count_ones, {"xs": [1, 2, 1, None]}) == 2
    assert evaluate(count_ones, {"xs": []}) == 0
    assert evaluate(count_ones, {"xs": None}) == 0
    assert evaluate(count_ones, {}) == 0
    # An accumulator of any type: collect the last element seen as a one-element array.
    last = {"reduce": [{"var": ""}, [{"var": "current"}], []]}
    assert evaluate(last, [1, 2, 3]) == [3]
    # A boolean accumulator ("all are strings of length > 0").
    every = {"reduce": [{"var": ""}, {"and": [{"var": "accumulator"}, {"var": "current"}]}, True]}
    assert evaluate(every, ["a", "b"]) == "b"
    assert evaluate(every, ["a", ""]) == ""
    # The lambda sees only accumulator and current, not the outer data.
    outer = {"reduce": [{"var": "xs"}, {"var": "data.z"}, 7]}
    assert evaluate(outer, {"xs": [1], "z": 1}) is None
    # The initial value is evaluated against the outer data.
    assert evaluate({"reduce": [[], 0, {"var": "z"}]}, {"z": 5}) == 5


def test_reduce_needs_an_array_or_null() -> None:
    with pytest.raises(CertLogicError, match="non-array"):
        evaluate({"reduce": [{"var": "x"}, 0, 0]}, {"x": "abc"})


# --- extractFromUVCI -------------------------------------------------------------------------


def test_extract_from_uvci() -> None:
    def extract(uvci: object, index: int) -> object:
        return evaluate({"extractFromUVCI": [{"var": ""}, index]}, uvci)

    assert extract("URN:UVCI:01:CN:ABC/123#X", 1) == "CN"
    assert extract("urn:uvci:01:CN", 0) == "urn"  # the optional prefix is case-sensitive
    assert extract("URN:UVCI:", 0) == ""
    assert extract(None, 0) is None
    assert extract("a", -5) is None
    with pytest.raises(CertLogicError, match="string or null"):
        extract(42, 0)
    with pytest.raises(CertLogicError, match="integer"):
        evaluate({"extractFromUVCI": ["a:b", "1"]}, None)


# --- validate --------------------------------------------------------------------------------


def test_validate_lists_every_problem() -> None:
    expression = {
        "and": [
            {"plusTime": [{"var": "a."}, 1.5, "week"]},
            {"if": [True, 1]},
            {"extractFromUVCI": [{"var": "x"}, "0"]},
            {"dccDateOfBirth": [None]},
        ]
    }
    assert validate(expression) == [
        "data access path doesn't have a valid format: a.",
        '"amount" argument (#2) of "plusTime" must be an integer, but it is: 1.5',
        '"unit" argument (#3) of "plusTime" must be a string with one of the time units '
        "year, month, day, hour, but it is: 'week'",
        'an "if"-operation must have exactly 3 values/operands, but it has 2',
        '"index" argument (#2) of "extractFromUVCI" must be an integer, but it is: \'0\'',
        "invalid CertLogic expression",
    ]


def test_validate_accepts_every_operation() -> None:
    expression = {
        "if": [
            {"and": [{"var": "a.0.b"}, {"!": [{"in": ["x", ["x"]]}]}]},
            {"<": [1, {"+": [1, 1]}, 3]},
            {
                "not-before": [
                    {"dccDateOfBirth": [{"var": "dob"}]},
                    {"plusTime": ["2021", -1, "year"]},
                ]
            },
        ]
    }
    assert validate(expression) == []
    assert validate({"reduce": [[], {"var": "accumulator"}, 0]}) == []
    assert validate({"extractFromUVCI": ["URN:UVCI:01", 1]}) == []
    assert validate({"===": [{"var": ""}, 2.0]}) == []


# --- the compiled form -----------------------------------------------------------------------

_DATA = {"payload": {"v": [{"dt": "2026-06-01", "mp": "EU/1/20/1528"}]}, "n": 3}
_EXPRESSIONS: list[Any] = [
    {"var": "payload.v.0.dt"},
    {"if": [{"var": "payload.v.0"}, {"===": [{"var": "n"}, 3]}, True]},
    {"in": [{"var": "payload.v.0.mp"}, ["EU/1/20/1528", "EU/1/20/1507"]]},
    {
        "before": [
            {"plusTime": [{"var": "payload.v.0.dt"}, 1, "day"]},
            {"plusTime": ["2026-06-03", 0, "day"]},
        ]
    },
    {"reduce": [[1, 2, 3], {"+": [{"var": "accumulator"}, {"var": "current"}]}, 0]},
    {"and": [{"var": "n"}, {"!": [{"var": "missing"}]}]},
]


@pytest.mark.parametrize("expression", _EXPRESSIONS)
def test_a_compiled_expression_gives_what_evaluate_gives(expression: Any) -> None:
    import copy
    import pickle

    from ezhengzhao.rules.certlogic import compile_expression

    expected = evaluate(copy.deepcopy(expression), _DATA)
    compiled = compile_expression(expression)
    assert compiled.evaluate(_DATA) == expected
    assert compiled.evaluate(_DATA) == expected  # reusable
    assert pickle.loads(pickle.dumps(compiled)).evaluate(_DATA) == expected


def test_errors_of_a_compiled_expression_surface_only_where_evaluation_reaches() -> None:
    from ezhengzhao.rules.certlogic import compile_expression

    compiled = compile_expression({"if": [{"var": "n"}, 1, {"no-such-operator": []}]})
    assert compiled.evaluate({"n": 1}) == 1
    with pytest.raises(CertLogicError):
        compiled.evaluate({"n": 0})


def test_evaluate_sees_a_new_expression_object_with_other_content() -> None:
    """Compiled forms are remembered by object: another object, even at a reused address,
    is compiled anew."""
    for n in range(3000):  # more than the cache holds, so entries are dropped and ids reused
        assert evaluate({"+": [{"var": "n"}, n]}, {"n": 1}) == n + 1
