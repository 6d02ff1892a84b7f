"""CertLogic — the side-effect-free JsonLogic subset of the EU DCC business rules.

Implements CertLogic specification 1.3.3 (``vectors/certlogic/README.md``): the operations
``var``, ``if``, ``===``, ``and``, ``<``, ``>``, ``<=``, ``>=``, ``in``, ``+``, ``!``,
``after``, ``before``, ``not-after``, ``not-before``, ``plusTime``, ``reduce``,
``extractFromUVCI`` and ``dccDateOfBirth``, with CertLogic's narrow truthiness.

Two entry points:

* :func:`evaluate` runs an expression against JSON-like data. An invalid expression, or an
  operand of the wrong type met while evaluating, raises :class:`CertLogicError`; a caller
  evaluating a validation rule should treat that as "rule not passed" (the specification's
  advice). Each operation checks its own form before evaluating its operands; operands that
  are never reached (the branch of an ``if`` not taken, the rest of an ``and`` after a falsy
  operand) are not checked — use :func:`validate` for a whole-tree check.
* :func:`validate` lists the format problems of an expression, with the messages of the
  specification's validation test suite.

:func:`compile_expression` gives the form :func:`evaluate` runs, a :class:`CompiledExpression`,
for an expression evaluated many times (a rule against many licences); :func:`evaluate` also
keeps the compiled forms of the expression objects it saw last.

Date-times only come from ``plusTime`` and ``dccDateOfBirth`` and are
:class:`CertLogicDateTime` values (UTC milliseconds). Nothing here reads the machine clock:
"now" is whatever the data says, e.g. ``external.validationClock``.
"""

from __future__ import annotations

import contextlib
import math
import re
from collections.abc import Callable
from functools import lru_cache
from operator import ge, gt, le, lt
from typing import Any

from ezhengzhao.errors import CertLogicError

__all__ = [
    "CertLogicDateTime",
    "CertLogicError",
    "CompiledExpression",
    "compile_expression",
    "evaluate",
    "is_falsy",
    "is_truthy",
    "validate",
]


# ---------------------------------------------------------------------------------------------
# Date-times


_MS_PER_HOUR = 3_600_000
_MS_PER_DAY = 86_400_000
# ECMAScript's Date range (±10^8 days around the epoch); the specification defines plusTime by
# JavaScript's Date methods, which yield an invalid date outside it.
_MAX_EPOCH_MS = 8_640_000_000_000_000

_TIME_UNITS = ("year", "month", "day", "hour")

# YYYY[-MM[-DD[Thh:mm:ss[.S+][Z|±h|±hh|±hmm|±hhmm|±h:mm|±hh:mm]]]] — ASCII digits only.
_DATE_TIME = re.compile(
    r"(\d{4})(?:-(\d{2})(?:-(\d{2})"
    r"(?:T(\d{2}):(\d{2}):(\d{2})(?:\.(\d+))?(?:(Z)|([+-])(\d{1,2})(?::?(\d{2}))?)?)?)?)?",
    re.ASCII,
)
_DATE_OF_BIRTH = re.compile(r"(\d{4})(?:-(\d{2})(?:-(\d{2}))?)?", re.ASCII)
_UVCI_SEPARATORS = re.compile(r"[/#:]")


def _days_from_civil(year: int, month: int, day: int) -> int:
    """Days since 1970-01-01 of a proleptic Gregorian date; ``day`` may overflow the month."""
    # H. Hinnant's days_from_civil on the 1st, then add the day offset: an overflowing day
    # rolls into the following months exactly as JavaScript's Date.setUTC* methods do.
    y = year - 1 if month <= 2 else year
    era = y // 400
    yoe = y - era * 400
    doy = (153 * (month + (-3 if month > 2 else 9)) + 2) // 5
    doe = yoe * 365 + yoe // 4 - yoe // 100 + doy
    return era * 146_097 + doe - 719_468 + day - 1


def _civil_from_days(days: int) -> tuple[int, int, int]:
    """(year, month, day) of a day count since 1970-01-01."""
    z = days + 719_468
    era = z // 146_097
    doe = z - era * 146_097
    yoe = (doe - doe // 1460 + doe // 36_524 - doe // 146_096) // 365
    doy = doe - (365 * yoe + yoe // 4 - yoe // 100)
    mp = (5 * doy + 2) // 153
    day = doy - (153 * mp + 2) // 5 + 1
    month = mp + 3 if mp < 10 else mp - 9
    return yoe + era * 400 + (1 if month <= 2 else 0), month, day


def _days_in_month(year: int, month: int) -> int:
    if month == 12:
        return 31
    return _days_from_civil(year, month + 1, 1) - _days_from_civil(year, month, 1)


class CertLogicDateTime:
    """A CertLogic date-time: an instant in UTC with millisecond precision."""

    __slots__ = ("epoch_ms",)

    epoch_ms: int

    def __init__(self, epoch_ms: int) -> None:
        if not -_MAX_EPOCH_MS <= epoch_ms <= _MAX_EPOCH_MS:
            raise CertLogicError(f"date-time out of range: {epoch_ms} ms from the epoch")
        self.epoch_ms = epoch_ms

    def isoformat(self) -> str:
        """The instant as ``YYYY-MM-DDThh:mm:ss.sssZ`` (JavaScript's ``toISOString``)."""
        days, ms = divmod(self.epoch_ms, _MS_PER_DAY)
        year, month, day = _civil_from_days(days)
        seconds, millis = divmod(ms, 1000)
        minutes, second = divmod(seconds, 60)
        hour, minute = divmod(minutes, 60)
        year_text = f"{year:04d}" if 0 <= year <= 9999 else f"{year:+07d}"
        return (
            f"{year_text}-{month:02d}-{day:02d}T{hour:02d}:{minute:02d}:{second:02d}.{millis:03d}Z"
        )

    def __repr__(self) -> str:
        return f"CertLogicDateTime({self.isoformat()!r})"

    def __eq__(self, other: object) -> bool:
        if isinstance(other, CertLogicDateTime):
            return self.epoch_ms == other.epoch_ms
        return NotImplemented

    def __hash__(self) -> int:
        return hash(("CertLogicDateTime", self.epoch_ms))


@lru_cache(maxsize=4096)
def _parse_date_time(text: str) -> int:
    """Milliseconds since the epoch of a date(-time) string in a format plusTime allows."""
    # Cached: rules compare many payload dates against the same few clocks and constants.
    match = _DATE_TIME.fullmatch(text)
    if match is None:
        raise CertLogicError(f"not an allowed date or date-time format: {text!r}")
    (year_s, month_s, day_s, hour_s, minute_s, second_s, fraction, zulu, sign, off_h, off_m) = (
        match.groups()
    )
    year = int(year_s)
    if month_s is None:  # YYYY: the last day of the year, as dccDateOfBirth reads it
        month, day = 12, 31
    else:
        month = int(month_s)
        if not 1 <= month <= 12:
            raise CertLogicError(f"invalid month in date-time {text!r}")
        if day_s is None:  # YYYY-MM: the last day of the month
            day = _days_in_month(year, month)
        else:
            day = int(day_s)
            if not 1 <= day <= _days_in_month(year, month):
                raise CertLogicError(f"invalid day in date-time {text!r}")
    ms = _days_from_civil(year, month, day) * _MS_PER_DAY
    if hour_s is not None:
        hour, minute, second = int(hour_s), int(minute_s), int(second_s)
        if hour > 23 or minute > 59 or second > 59:
            raise CertLogicError(f"invalid time of day in date-time {text!r}")
        ms += ((hour * 60 + minute) * 60 + second) * 1000
        if fraction is not None:
            # Digits beyond milliseconds are dropped: rounding down, as the specification says.
            ms += int((fraction + "00")[:3])
        if zulu is None and sign is not None:
            offset_h = int(off_h)
            offset_m = int(off_m) if off_m is not None else 0
            if offset_h > 23 or offset_m > 59:
                raise CertLogicError(f"invalid timezone offset in date-time {text!r}")
            offset = (offset_h * 60 + offset_m) * 60_000
            ms -= offset if sign == "+" else -offset
    return ms


def _plus_time(epoch_ms: int, amount: int, unit: str) -> int:
    """Add ``amount`` units to an instant the way JavaScript's ``Date.setUTC*`` methods do."""
    if amount == 0:
        return epoch_ms
    if unit == "day":
        return epoch_ms + amount * _MS_PER_DAY
    if unit == "hour":
        return epoch_ms + amount * _MS_PER_HOUR
    days, ms_of_day = divmod(epoch_ms, _MS_PER_DAY)
    year, month, day = _civil_from_days(days)
    if unit == "month":
        year, month0 = divmod(year * 12 + month - 1 + amount, 12)
        month = month0 + 1
    else:  # year
        year += amount
    # The day of the month is kept and may overflow: 2020-02-29 + 1 year = 2021-03-01.
    return _days_from_civil(year, month, day) * _MS_PER_DAY + ms_of_day


@lru_cache(maxsize=4096)
def _parse_date_of_birth(text: str) -> int:
    """Milliseconds since the epoch of the last day consistent with a DCC ``dob``."""
    match = _DATE_OF_BIRTH.fullmatch(text)
    if match is None:
        raise CertLogicError(f"can't parse {text!r} as an EU DCC date of birth")
    return _parse_date_time(text)


# ---------------------------------------------------------------------------------------------
# Values


def is_falsy(value: object) -> bool:
    """Whether ``value`` is falsy: false, null, "", 0, [] or {}."""
    if value is None or value is False:
        return True
    kind = type(value)
    if kind is str or kind is list or kind is dict:
        return not value
    if kind is int or kind is float:
        return value == 0
    return False


def is_truthy(value: object) -> bool:
    """Whether ``value`` is truthy: true, a non-zero number, a non-empty string/array/object.

    Narrower than JavaScript's: a date-time, for one, is neither truthy nor falsy.
    """
    if value is True:
        return True
    kind = type(value)
    if kind is str or kind is list or kind is dict:
        return bool(value)
    if kind is int or kind is float:
        return value != 0
    return False


def _boolsiness(value: object, where: str) -> bool:
    """True for truthy, False for falsy; an error for the values that are neither."""
    if is_truthy(value):
        return True
    if is_falsy(value):
        return False
    raise CertLogicError(f"{where} evaluates to something neither truthy nor falsy: {value!r}")


def _is_int(value: object) -> bool:
    # JSON does not tell 2 from 2.0 (nor does JavaScript), so an integral float is an integer;
    # a bool is not, although Python makes it an int.
    kind = type(value)
    return kind is int or (kind is float and value.is_integer())  # type: ignore[attr-defined]


_PRIMITIVES = (str, int, float, bool, type(None))


def _strictly_equal(left: object, right: object, operator: str) -> bool:
    """JavaScript's ``===`` on strings, numbers, booleans and null; an error on anything else."""
    # JavaScript compares arrays, objects and dates by reference, which no rule can rely on
    # across platforms; the specification says === is meant for strings and integers.
    if type(left) not in _PRIMITIVES or type(right) not in _PRIMITIVES:
        culprit = left if type(left) not in _PRIMITIVES else right
        raise CertLogicError(
            f'operands of "{operator}" must be strings, numbers, booleans or null, '
            f"not {type(culprit).__name__}"
        )
    if left is None or right is None:
        return left is right
    left_kind, right_kind = type(left), type(right)
    if left_kind is right_kind:
        return left == right
    # int and float are one JavaScript type (number); every other mix differs in type.
    return left_kind in (int, float) and right_kind in (int, float) and left == right


# ---------------------------------------------------------------------------------------------
# Evaluation
#
# An expression is compiled once into nested closures, one per node, each taking the data and
# returning the node's value; evaluating is then calling the root closure. Compiling moves the
# work that depends only on the expression (dispatch on the operator, operand counts, constant
# arguments, splitting var paths) out of the per-evaluation path. It checks nothing eagerly: a
# malformed node compiles to a closure that raises the error the node would raise when reached,
# so an operand that is never reached is still never checked.

_Data = object
_Node = Callable[[_Data], object]

_Builder = Callable[[list[object], int], _Node]
_PathStep = tuple[str, int | None]

# Nodes nested deeper than this are compiled when first reached, so that compiling uses a
# bounded stack and a deep branch that is never taken costs nothing (as in evaluation).
_EAGER_DEPTH = 100


def _raiser(message: str) -> _Node:
    """A node that raises ``message`` when reached."""

    def node(data: _Data) -> object:
        raise CertLogicError(message)

    return node


def _constant(value: object) -> _Node:
    def node(data: _Data) -> object:
        return value

    return node


def _literal(expr: object) -> tuple[bool, object]:
    """(True, value) when ``expr`` is a literal string, integer or boolean; (False, None)."""
    kind = type(expr)
    if kind is str or kind is int or kind is bool:
        return True, expr
    if kind is float and expr.is_integer():  # type: ignore[attr-defined]
        return True, int(expr)  # type: ignore[call-overload]
    return False, None


def _compile(expr: object, depth: int) -> _Node:
    kind = type(expr)
    if kind is str or kind is int or kind is bool:
        return _constant(expr)
    if depth > _EAGER_DEPTH and (kind is dict or kind is list):
        return _lazy(expr)
    if kind is dict:
        if len(expr) != 1:  # type: ignore[arg-type]
            return _raiser(
                f"expression object must have exactly one key, but it has {len(expr)}"  # type: ignore[arg-type]
            )
        ((operator, operands),) = expr.items()  # type: ignore[attr-defined]
        if operator == "var":
            return _compile_var(operands)
        if type(operands) is not list:
            return _raiser('operation not of the form { "<operator>": [ <values...> ] }')
        build = _BUILDERS.get(operator)
        if build is None:
            return _raiser(f'unrecognised operator: "{operator}"')
        try:
            return build(operands, depth + 1)
        except CertLogicError as exc:  # the operation's own form is wrong
            return _raiser(str(exc))
    if kind is list:
        items = tuple(_compile(item, depth + 1) for item in expr)  # type: ignore[attr-defined]

        def array(data: _Data) -> object:
            return [item(data) for item in items]

        return array
    if kind is float:
        if expr.is_integer():  # type: ignore[attr-defined]
            return _constant(int(expr))  # type: ignore[call-overload]
        return _raiser(f"{_js_number(expr)} is a non-integer number")  # type: ignore[arg-type]
    return _raiser(f"invalid CertLogic expression: {expr!r}")


def _lazy(expr: object) -> _Node:
    """A node compiling ``expr`` the first time it is reached."""
    compiled: _Node | None = None

    def node(data: _Data) -> object:
        nonlocal compiled
        if compiled is None:
            compiled = _compile(expr, 0)
        return compiled(data)

    return node


def _compile_all(operands: list[object], depth: int) -> tuple[_Node, ...]:
    return tuple(_compile(operand, depth) for operand in operands)


def _path_steps(path: str) -> tuple[_PathStep, ...]:
    """The fragments of a ``var`` path, each with its array index when it is an integer."""
    fragments = path.split(".")
    if "" in fragments:
        raise CertLogicError(f"data access path doesn't have a valid format: {path}")
    return tuple(
        (fragment, int(fragment) if fragment.isdigit() and fragment.isascii() else None)
        for fragment in fragments
    )


# var nodes by path: they depend on nothing else, and rules repeat the same few paths.
_var_nodes: dict[str, _Node] = {}


def _compile_var(path: object) -> _Node:
    if type(path) is not str:
        return _raiser('not of the form { "var": "<path>" }')
    if path == "":
        return _identity
    node = _var_nodes.get(path)
    if node is None:
        try:
            node = _var_node(_path_steps(path))
        except CertLogicError as exc:
            node = _raiser(str(exc))
        if len(_var_nodes) < 10_000:  # paths come from rules: a few hundred
            _var_nodes[path] = node
    return node


def _identity(data: _Data) -> object:
    return data


def _var_node(steps: tuple[_PathStep, ...]) -> _Node:
    """The node reading a var path; the shapes real rules use most are unrolled."""
    # A fragment that is not an integer only drills into objects (an array has no such
    # field); an integer one also indexes arrays. "payload.v.0.dt" is field, field, index,
    # field.
    shape = "".join("F" if index is None else "N" for _, index in steps)
    names = [fragment for fragment, _ in steps]
    if shape == "F":
        return _var_f(names[0])
    if shape == "FF":
        return _var_ff(names[0], names[1])
    if shape == "FFF":
        return _var_fff(names[0], names[1], names[2])
    if shape in ("FFN", "FFNF"):
        return _var_ffn(names[0], names[1], names[2], steps[2][1], names[3:])  # type: ignore[arg-type]

    def var(data: _Data) -> object:
        value = data
        for fragment, index in steps:
            kind = type(value)
            if kind is dict:
                value = value.get(fragment)  # type: ignore[attr-defined]
            elif kind is list:
                if index is None or index >= len(value):  # type: ignore[arg-type]
                    return None
                value = value[index]  # type: ignore[index]
            else:  # null, and anything without fields: nothing to drill into
                return None
            if value is None:
                return None
        return value

    return var


def _var_f(first: str) -> _Node:
    def var_f(data: _Data) -> object:
        return data.get(first) if type(data) is dict else None

    return var_f


def _var_ff(first: str, second: str) -> _Node:
    def var_ff(data: _Data) -> object:
        if type(data) is dict:
            value = data.get(first)
            if type(value) is dict:
                return value.get(second)
        return None

    return var_ff


def _var_fff(first: str, second: str, third: str) -> _Node:
    def var_fff(data: _Data) -> object:
        if type(data) is dict:
            value = data.get(first)
            if type(value) is dict:
                value = value.get(second)
                if type(value) is dict:
                    return value.get(third)
        return None

    return var_fff


def _var_ffn(first: str, second: str, third: str, index: int, rest: list[str]) -> _Node:
    """Field, field, index and an optional last field ("payload.v.0", "payload.v.0.dt")."""
    if not rest:

        def var_ffn(data: _Data) -> object:
            if type(data) is dict:
                value: Any = data.get(first)
                if type(value) is dict:
                    value = value.get(second)
                    kind = type(value)
                    if kind is list:
                        return value[index] if index < len(value) else None
                    if kind is dict:
                        return value.get(third)
            return None

        return var_ffn

    (fourth,) = rest

    def var_ffnf(data: _Data) -> object:
        if type(data) is dict:
            value: Any = data.get(first)
            if type(value) is dict:
                value = value.get(second)
                kind = type(value)
                if kind is list:
                    if index >= len(value):
                        return None
                    value = value[index]
                elif kind is dict:
                    value = value.get(third)
                else:
                    return None
                if type(value) is dict:
                    return value.get(fourth)
        return None

    return var_ffnf


def _arity(operator: str, operands: list[object], low: int, high: int) -> None:
    count = len(operands)
    if low <= count <= high:
        return
    if low == high:
        wanted = f"exactly {low}"
    elif high > 99:
        wanted = f"at least {low}"
    else:
        wanted = f"{low} or {high}"
    noun = "operand" if high == 1 else "operands"
    raise CertLogicError(
        f'an operation with operator "{operator}" must have {wanted} {noun}, but it has {count}'
    )


def _build_if(operands: list[object], depth: int) -> _Node:
    _arity("if", operands, 3, 3)
    guard, then, else_ = _compile_all(operands, depth)
    else_is_literal, else_value = _literal(operands[2])
    if else_is_literal:  # {"if": [guard, <logic>, true]}: the usual shape of a rule

        def if_literal_else(data: _Data) -> object:
            value = guard(data)
            if value is True:
                return then(data)
            if value is False or value is None:
                return else_value
            if _boolsiness(value, "the guard of an if"):
                return then(data)
            return else_value

        return if_literal_else

    def if_(data: _Data) -> object:
        value = guard(data)
        if value is True:
            return then(data)
        if value is False or value is None:
            return else_(data)
        if _boolsiness(value, "the guard of an if"):
            return then(data)
        return else_(data)

    return if_


def _build_and(operands: list[object], depth: int) -> _Node:
    _arity("and", operands, 2, 1 << 30)
    nodes = _compile_all(operands, depth)

    def and_(data: _Data) -> object:
        value: object = None
        for node in nodes:
            value = node(data)
            if value is True:
                continue
            if value is False or value is None:
                return value
            if not _boolsiness(value, 'an operand of "and"'):
                return value
        return value

    return and_


def _build_not(operands: list[object], depth: int) -> _Node:
    _arity("!", operands, 1, 1)
    (operand,) = _compile_all(operands, depth)

    def not_(data: _Data) -> object:
        value = operand(data)
        if value is True:
            return False
        if value is False or value is None:
            return True
        return not _boolsiness(value, 'the operand of "!"')

    return not_


def _build_equal(operands: list[object], depth: int) -> _Node:
    _arity("===", operands, 2, 2)
    left, right = _compile_all(operands, depth)
    right_is_literal, right_value = _literal(operands[1])
    left_is_literal, left_value = _literal(operands[0])
    if right_is_literal and type(right_value) in (str, int):
        return _equal_literal(left, right_value)
    if left_is_literal and type(left_value) in (str, int):
        return _equal_literal(right, left_value)

    def equal(data: _Data) -> object:
        return _strictly_equal(left(data), right(data), "===")

    return equal


def _equal_literal(other: _Node, literal: object) -> _Node:
    """``===`` against a string or integer literal (operands are symmetric and side-effect free)."""
    kind = type(literal)

    def equal_literal(data: _Data) -> object:
        # An operand of the literal's own type compares with ==; anything else takes the
        # general path, with its own errors and number rules.
        found = other(data)
        if type(found) is kind:
            return found == literal
        return _strictly_equal(found, literal, "===")

    return equal_literal


def _in(needle: object, haystack: object) -> bool:
    if type(haystack) is not list:
        raise CertLogicError('the right-hand side of an "in" operation must be an array')
    kind = type(needle)
    if kind is str or needle is None:
        # A string (or None) equals only a string (or None) under Python's == too: no type
        # juggling to guard against, so the C-speed membership test is exact.
        return needle in haystack
    if kind not in _PRIMITIVES:
        raise CertLogicError(
            f'the left-hand side of "in" must be a string, number, boolean or null, '
            f"not {kind.__name__}"
        )
    return any(
        type(item) in _PRIMITIVES and _strictly_equal(needle, item, "in") for item in haystack
    )


def _build_in(operands: list[object], depth: int) -> _Node:
    _arity("in", operands, 2, 2)
    needle, haystack = _compile_all(operands, depth)
    items = operands[1]
    if type(items) is list and all(type(item) is str for item in items):
        # A literal array of strings (a list of codes): a set answers for a string needle, and
        # a needle of any other primitive type equals none of them.
        strings = frozenset(items)

        def in_strings(data: _Data) -> object:
            value = needle(data)
            if type(value) is str:
                return value in strings
            return _in(value, [])

        return in_strings

    def in_(data: _Data) -> object:
        return _in(needle(data), haystack(data))

    return in_


def _build_plus(operands: list[object], depth: int) -> _Node:
    _arity("+", operands, 2, 2)
    left_node, right_node = _compile_all(operands, depth)

    def plus(data: _Data) -> object:
        left = left_node(data)
        right = right_node(data)
        if not (_is_int(left) and _is_int(right)):
            raise CertLogicError('operands of "+" must both be integers')
        return int(left) + int(right)  # type: ignore[call-overload]

    return plus


def _integer_comparison(operator: str, test: Callable[[Any, Any], bool]) -> _Builder:
    def build(operands: list[object], depth: int) -> _Node:
        _arity(operator, operands, 2, 3)
        nodes = _compile_all(operands, depth)

        def check(values: tuple[object, ...]) -> None:
            for value in values:
                if not _is_int(value):
                    raise CertLogicError(
                        f'all operands of "{operator}" must be integers, got {value!r}'
                    )

        if len(nodes) == 2:
            first, second = nodes

            def compare2(data: _Data) -> object:
                a = first(data)
                b = second(data)
                if type(a) is not int or type(b) is not int:
                    check((a, b))
                return test(a, b)

            return compare2

        def compare3(data: _Data) -> object:
            values = tuple(node(data) for node in nodes)
            check(values)
            return test(values[0], values[1]) and test(values[1], values[2])

        return compare3

    return build


def _plus_time_form(operands: list[object]) -> tuple[int, str]:
    """The amount and unit of a plusTime operation; CertLogicError if its form is wrong."""
    _arity("plusTime", operands, 3, 3)
    _, amount, unit = operands
    if not _is_int(amount):
        raise CertLogicError(f'"amount" argument (#2) of "plusTime" must be an integer: {amount!r}')
    if unit not in _TIME_UNITS:
        raise CertLogicError(
            f'"unit" argument (#3) of "plusTime" must be one of {", ".join(_TIME_UNITS)}: {unit!r}'
        )
    return int(amount), unit  # type: ignore[call-overload]


def _plus_time_epoch(operands: list[object], depth: int) -> Callable[[_Data], int]:
    """A node giving the epoch milliseconds of a well-formed plusTime operation."""
    amount, unit = _plus_time_form(operands)
    date = _compile(operands[0], depth)

    def parse(data: _Data) -> int:
        text = date(data)
        if type(text) is not str:
            raise CertLogicError(f'date argument of "plusTime" must be a string, got {text!r}')
        return _parse_date_time(text)

    if unit in ("day", "hour") or amount == 0:
        # A fixed number of milliseconds; parsed dates are years 0000–9999, so no result
        # leaves the date-time range.
        delta = amount * (_MS_PER_DAY if unit == "day" else _MS_PER_HOUR)

        def fixed(data: _Data) -> int:
            return _checked_epoch(parse(data) + delta)

        return fixed

    def calendar(data: _Data) -> int:
        return _checked_epoch(_plus_time(parse(data), amount, unit))

    return calendar


def _checked_epoch(epoch_ms: int) -> int:
    if not -_MAX_EPOCH_MS <= epoch_ms <= _MAX_EPOCH_MS:
        raise CertLogicError(f"date-time out of range: {epoch_ms} ms from the epoch")
    return epoch_ms


def _build_plus_time(operands: list[object], depth: int) -> _Node:
    epoch = _plus_time_epoch(operands, depth)

    def plus_time(data: _Data) -> object:
        return CertLogicDateTime(epoch(data))

    return plus_time


def _date_time_operand(operator: str, operand: object, depth: int) -> Callable[[_Data], int]:
    """A node giving the epoch milliseconds of a date-time comparison's operand."""
    if type(operand) is dict and len(operand) == 1 and type(operand.get("plusTime")) is list:
        # Always a date-time (or an error): its milliseconds without the wrapper object.
        with contextlib.suppress(CertLogicError):  # a malformed one raises when reached
            return _plus_time_epoch(operand["plusTime"], depth + 1)
    node = _compile(operand, depth)

    def instant(data: _Data) -> int:
        value = node(data)
        if type(value) is not CertLogicDateTime:
            raise CertLogicError(f'all operands of "{operator}" must be date-times, got {value!r}')
        return value.epoch_ms

    return instant


def _date_time_comparison(operator: str, test: Callable[[int, int], bool]) -> _Builder:
    def build(operands: list[object], depth: int) -> _Node:
        _arity(operator, operands, 2, 3)
        nodes = tuple(_date_time_operand(operator, operand, depth) for operand in operands)
        if len(nodes) == 2:
            first, second = nodes

            def compare2(data: _Data) -> object:
                return test(first(data), second(data))

            return compare2

        first, second, third = nodes

        def compare3(data: _Data) -> object:
            a, b, c = first(data), second(data), third(data)
            return test(a, b) and test(b, c)

        return compare3

    return build


def _build_reduce(operands: list[object], depth: int) -> _Node:
    _arity("reduce", operands, 3, 3)
    operand, lambda_, initial = _compile_all(operands, depth)

    def reduce(data: _Data) -> object:
        items = operand(data)
        accumulator = initial(data)
        if items is None:
            return accumulator
        if type(items) is not list:
            raise CertLogicError(f"operand of reduce evaluated to a non-null non-array: {items!r}")
        for current in items:
            accumulator = lambda_({"accumulator": accumulator, "current": current})
        return accumulator

    return reduce


def _build_extract_from_uvci(operands: list[object], depth: int) -> _Node:
    _arity("extractFromUVCI", operands, 2, 2)
    index = operands[1]
    if not _is_int(index):
        raise CertLogicError(
            f'"index" argument (#2) of "extractFromUVCI" must be an integer: {index!r}'
        )
    operand = _compile(operands[0], depth)
    position = int(index)  # type: ignore[call-overload]

    def extract(data: _Data) -> object:
        uvci = operand(data)
        if uvci is None:
            return None
        if type(uvci) is not str:
            raise CertLogicError(
                f'"UVCI" argument (#1) of "extractFromUVCI" must be a string or null, got {uvci!r}'
            )
        if position < 0:
            return None
        fragments = _UVCI_SEPARATORS.split(uvci.removeprefix("URN:UVCI:"))
        return fragments[position] if position < len(fragments) else None

    return extract


def _build_dcc_date_of_birth(operands: list[object], depth: int) -> _Node:
    _arity("dccDateOfBirth", operands, 1, 1)
    operand = _compile(operands[0], depth)

    def date_of_birth(data: _Data) -> object:
        text = operand(data)
        if type(text) is not str:
            raise CertLogicError(f'operand of "dccDateOfBirth" must be a string, got {text!r}')
        return CertLogicDateTime(_parse_date_of_birth(text))

    return date_of_birth


_BUILDERS: dict[str, _Builder] = {
    "if": _build_if,
    "and": _build_and,
    "!": _build_not,
    "===": _build_equal,
    "in": _build_in,
    "+": _build_plus,
    "<": _integer_comparison("<", lt),
    ">": _integer_comparison(">", gt),
    "<=": _integer_comparison("<=", le),
    ">=": _integer_comparison(">=", ge),
    "after": _date_time_comparison("after", gt),
    "before": _date_time_comparison("before", lt),
    "not-after": _date_time_comparison("not-after", le),
    "not-before": _date_time_comparison("not-before", ge),
    "plusTime": _build_plus_time,
    "reduce": _build_reduce,
    "extractFromUVCI": _build_extract_from_uvci,
    "dccDateOfBirth": _build_dcc_date_of_birth,
}


_TOO_DEEP = "CertLogic expression nested too deeply"


class CompiledExpression:
    """A CertLogic expression compiled once for evaluation against many data.

    Holds the expression it was compiled from: the compiled form reflects the expression as it
    was then, so the expression must not be modified afterwards. Evaluating is exactly
    :func:`evaluate`: same values, same errors, raised at the same points.
    """

    __slots__ = ("_node", "expression")

    expression: object

    def __init__(self, expression: object) -> None:
        self.expression = expression
        self._node = _compile_root(expression)

    def evaluate(self, data: object) -> object:
        """The value of the expression for ``data`` (see :func:`evaluate`)."""
        try:
            return self._node(data)
        except RecursionError:
            # A hostile or runaway nesting depth is an invalid expression, not a crash.
            raise CertLogicError(_TOO_DEEP) from None

    def __reduce__(self) -> tuple[object, tuple[object]]:
        # The closures do not pickle; the expression does, and compiles again.
        return CompiledExpression, (self.expression,)

    def __repr__(self) -> str:
        return f"CompiledExpression({self.expression!r})"


def _compile_root(expression: object) -> _Node:
    try:
        return _compile(expression, 0)
    except RecursionError:  # only when called on an already deep stack: nesting is bounded
        raise CertLogicError(_TOO_DEEP) from None


def compile_expression(expression: object) -> CompiledExpression:
    """``expression`` compiled for repeated evaluation.

    A malformed expression compiles too: its errors surface when, and only if, evaluation
    reaches them, as with :func:`evaluate`.
    """
    return CompiledExpression(expression)


# The compiled forms of the expressions :func:`evaluate` saw last, by identity. Each entry holds
# its expression, so an id cannot be reused by another object while it is cached.
_COMPILED_LIMIT = 1024
_compiled: dict[int, tuple[object, _Node]] = {}


def _compiled_node(expression: object) -> _Node:
    node = _compile_root(expression)
    if len(_compiled) >= _COMPILED_LIMIT:
        # Oldest first; another thread may have evicted it already.
        with contextlib.suppress(KeyError, RuntimeError, StopIteration):
            del _compiled[next(iter(_compiled))]
    _compiled[id(expression)] = (expression, node)
    return node


def evaluate(expression: object, data: object) -> object:
    """Evaluate a CertLogic expression against JSON-like ``data``.

    Returns a JSON-like value, or a :class:`CertLogicDateTime` for date-time expressions.
    Raises :class:`CertLogicError` for an invalid expression or an evaluation error (unknown
    operation, wrong number of operands, a ``var`` path that is not a string, an unparsable
    date, an operand of the wrong type, a guard neither truthy nor falsy...).

    An object or array expression is compiled on first use and its compiled form reused while
    the same object comes back (the last 1,024 kept): do not modify an expression in place
    after evaluating it — build a new one, or compile it with :func:`compile_expression`.
    """
    kind = type(expression)
    if kind is dict or kind is list:
        entry = _compiled.get(id(expression))
        if entry is not None and entry[0] is expression:
            node = entry[1]
        else:
            node = _compiled_node(expression)
    else:  # a literal: nothing worth keeping
        node = _compile_root(expression)
    try:
        return node(data)
    except RecursionError:
        # A hostile or runaway nesting depth is an invalid expression, not a crash.
        raise CertLogicError(_TOO_DEEP) from None


# ---------------------------------------------------------------------------------------------
# Validation

_Issue = tuple[object, str]

_VAR_PATH = re.compile(r"[^.]+(?:\.[^.]+)*")


def _js_number(value: float) -> str:
    """A float as JavaScript prints it in a template string (for messages)."""
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "Infinity" if value > 0 else "-Infinity"
    return repr(value)


def _validate_operands(operands: list[object]) -> list[_Issue]:
    issues: list[_Issue] = []
    for operand in operands:
        issues.extend(_issues(operand))
    return issues


def _validate_infix(expr: object, operator: str, operands: list[object]) -> list[_Issue]:
    issues: list[_Issue] = []
    count = len(operands)
    if operator == "and":
        limit = count
        if count < 2:
            issues.append(
                (expr, f'an "and" operation must have at least 2 operands, but it has {count}')
            )
    elif operator in ("===", "in", "+"):
        limit = 2
        if count != 2:
            issues.append(
                (
                    expr,
                    f'an operation with operator "{operator}" must have 2 operands, '
                    f"but it has {count}",
                )
            )
    else:
        limit = 3
        if not 2 <= count <= 3:
            issues.append(
                (
                    expr,
                    f'an operation with operator "{operator}" must have 2 or 3 operands, '
                    f"but it has {count}",
                )
            )
    issues.extend(_validate_operands(operands[:limit]))
    return issues


def _validate_exactly(
    expr: object, article: str, operator: str, operands: list[object], wanted: int
) -> list[_Issue]:
    issues: list[_Issue] = []
    if len(operands) != wanted:
        noun = "operand" if wanted == 1 else "values/operands"
        issues.append(
            (
                expr,
                f'{article} "{operator}"-operation must have exactly {wanted} {noun}, '
                f"but it has {len(operands)}",
            )
        )
    return issues


def _issues(expr: object) -> list[_Issue]:
    kind = type(expr)
    if kind is str or kind is bool or kind is int:
        return []
    if kind is float:
        if expr.is_integer():  # type: ignore[attr-defined]
            return []
        return [(expr, f"{_js_number(expr)} is a non-integer number")]  # type: ignore[arg-type]
    if expr is None:
        return [(expr, "invalid CertLogic expression")]
    if kind is list:
        return _validate_operands(expr)  # type: ignore[arg-type]
    if kind is not dict:
        return [(expr, "invalid CertLogic expression")]
    if len(expr) != 1:  # type: ignore[arg-type]
        return [(expr, f"expression object must have exactly one key, but it has {len(expr)}")]  # type: ignore[arg-type]
    ((operator, operands),) = expr.items()  # type: ignore[attr-defined]
    if operator == "var":
        if type(operands) is not str:
            return [(expr, 'not of the form { "var": "<path>" }')]
        if operands == "" or _VAR_PATH.fullmatch(operands):
            return []
        return [(expr, f"data access path doesn't have a valid format: {operands}")]
    if type(operands) is not list:
        return [(expr, 'operation not of the form { "<operator>": [ <values...> ] }')]
    if operator in ("===", "and", ">", "<", ">=", "<=", "in", "+"):
        return _validate_infix(expr, operator, operands)
    if operator in ("after", "before", "not-after", "not-before"):
        return _validate_infix(expr, operator, operands)
    if operator == "if":
        issues = _validate_exactly(expr, "an", "if", operands, 3)
        issues.extend(_validate_operands(operands[:3]))
        return issues
    if operator == "reduce":
        issues = _validate_exactly(expr, "a", "reduce", operands, 3)
        issues.extend(_validate_operands(operands[:3]))
        return issues
    if operator == "!":
        if len(operands) != 1:
            return [
                (
                    expr,
                    "a !-operation (logical not/negation) must have exactly 1 operand, "
                    f"but it has {len(operands)}",
                )
            ]
        return _issues(operands[0])
    if operator == "plusTime":
        issues = _validate_exactly(expr, "a", "plusTime", operands, 3)
        issues.extend(_validate_operands(operands[:1]))
        if len(operands) > 1 and not _is_int(operands[1]):
            issues.append(
                (
                    expr,
                    '"amount" argument (#2) of "plusTime" must be an integer, '
                    f"but it is: {operands[1]!r}",
                )
            )
        if len(operands) > 2 and operands[2] not in _TIME_UNITS:
            issues.append(
                (
                    expr,
                    '"unit" argument (#3) of "plusTime" must be a string with one of the time '
                    f"units {', '.join(_TIME_UNITS)}, but it is: {operands[2]!r}",
                )
            )
        return issues
    if operator == "extractFromUVCI":
        issues = _validate_exactly(expr, "an", "extractFromUVCI", operands, 2)
        issues.extend(_validate_operands(operands[:1]))
        if len(operands) > 1 and not _is_int(operands[1]):
            issues.append(
                (
                    expr,
                    '"index" argument (#2) of "extractFromUVCI" must be an integer, '
                    f"but it is: {operands[1]!r}",
                )
            )
        return issues
    if operator == "dccDateOfBirth":
        issues = _validate_exactly(expr, "a", "dccDateOfBirth", operands, 1)
        issues.extend(_validate_operands(operands[:1]))
        return issues
    return [(expr, f'unrecognised operator: "{operator}"')]


def validate(expression: object) -> list[str]:
    """The format problems of a CertLogic expression; an empty list when it is valid.

    Messages are those of the specification's validation test suite (certlogic-js's format
    validator), extended to ``extractFromUVCI`` and ``dccDateOfBirth``.
    """
    try:
        return [message for _, message in _issues(expression)]
    except RecursionError:
        return [_TOO_DEEP]
