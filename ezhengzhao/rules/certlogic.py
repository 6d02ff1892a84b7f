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

Date-times only come from ``plusTime`` and ``dccDateOfBirth`` and are
:class:`CertLogicDateTime` values (UTC milliseconds). Nothing here reads the machine clock:
"now" is whatever the data says, e.g. ``external.validationClock``.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from functools import lru_cache

from ezhengzhao.errors import CertLogicError

__all__ = [
    "CertLogicDateTime",
    "CertLogicError",
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

_Data = object
_Operation = Callable[[list[object], _Data], object]

_PathStep = tuple[str, int | None]

_path_cache: dict[str, tuple[_PathStep, ...]] = {}


def _path_steps(path: str) -> tuple[_PathStep, ...]:
    """The fragments of a ``var`` path, each with its array index when it is an integer."""
    steps = _path_cache.get(path)
    if steps is None:
        fragments = path.split(".")
        if any(fragment == "" for fragment in fragments):
            raise CertLogicError(f"data access path doesn't have a valid format: {path}")
        steps = tuple(
            (fragment, int(fragment) if fragment.isascii() and fragment.isdigit() else None)
            for fragment in fragments
        )
        # Bounded: paths come from rules (a few hundred); data cannot grow it by much.
        if len(_path_cache) < 10_000:
            _path_cache[path] = steps
    return steps


def _var(path: object, data: _Data) -> object:
    if type(path) is not str:
        raise CertLogicError('not of the form { "var": "<path>" }')
    if path == "":
        return data
    value = data
    for fragment, index in _path_steps(path):
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


def _eval(expr: object, data: _Data) -> object:
    kind = type(expr)
    if kind is str or kind is int or kind is bool:
        return expr
    if kind is dict:
        if len(expr) != 1:  # type: ignore[arg-type]
            raise CertLogicError(
                f"expression object must have exactly one key, but it has {len(expr)}"  # type: ignore[arg-type]
            )
        ((operator, operands),) = expr.items()  # type: ignore[attr-defined]
        if operator == "var":
            return _var(operands, data)
        if type(operands) is not list:
            raise CertLogicError('operation not of the form { "<operator>": [ <values...> ] }')
        operation = _OPERATIONS.get(operator)
        if operation is None:
            raise CertLogicError(f'unrecognised operator: "{operator}"')
        return operation(operands, data)
    if kind is list:
        return [_eval(item, data) for item in expr]  # type: ignore[attr-defined]
    if kind is float:
        if expr.is_integer():  # type: ignore[attr-defined]
            return int(expr)  # type: ignore[call-overload]
        raise CertLogicError(f"{_js_number(expr)} is a non-integer number")  # type: ignore[arg-type]
    raise CertLogicError(f"invalid CertLogic expression: {expr!r}")


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


def _op_if(operands: list[object], data: _Data) -> object:
    _arity("if", operands, 3, 3)
    guard, then, else_ = operands
    if _boolsiness(_eval(guard, data), "the guard of an if"):
        return _eval(then, data)
    return _eval(else_, data)


def _op_and(operands: list[object], data: _Data) -> object:
    _arity("and", operands, 2, 1 << 30)
    value: object = None
    for operand in operands:
        value = _eval(operand, data)
        if not _boolsiness(value, 'an operand of "and"'):
            return value
    return value


def _op_not(operands: list[object], data: _Data) -> object:
    _arity("!", operands, 1, 1)
    return not _boolsiness(_eval(operands[0], data), 'the operand of "!"')


def _op_equal(operands: list[object], data: _Data) -> object:
    _arity("===", operands, 2, 2)
    return _strictly_equal(_eval(operands[0], data), _eval(operands[1], data), "===")


def _op_in(operands: list[object], data: _Data) -> object:
    _arity("in", operands, 2, 2)
    needle = _eval(operands[0], data)
    haystack = _eval(operands[1], data)
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


def _op_plus(operands: list[object], data: _Data) -> object:
    _arity("+", operands, 2, 2)
    left = _eval(operands[0], data)
    right = _eval(operands[1], data)
    if not (_is_int(left) and _is_int(right)):
        raise CertLogicError('operands of "+" must both be integers')
    return int(left) + int(right)  # type: ignore[call-overload]


def _integer_comparison(
    operator: str, test: Callable[[int, int], bool]
) -> Callable[[list[object], _Data], object]:
    def operation(operands: list[object], data: _Data) -> object:
        _arity(operator, operands, 2, 3)
        values = [_eval(operand, data) for operand in operands]
        for value in values:
            if not _is_int(value):
                raise CertLogicError(
                    f'all operands of "{operator}" must be integers, got {value!r}'
                )
        if len(values) == 2:
            return test(values[0], values[1])  # type: ignore[arg-type]
        return test(values[0], values[1]) and test(values[1], values[2])  # type: ignore[arg-type]

    return operation


def _date_time_comparison(
    operator: str, test: Callable[[int, int], bool]
) -> Callable[[list[object], _Data], object]:
    def operation(operands: list[object], data: _Data) -> object:
        _arity(operator, operands, 2, 3)
        instants = []
        for operand in operands:
            value = _eval(operand, data)
            if type(value) is not CertLogicDateTime:
                raise CertLogicError(
                    f'all operands of "{operator}" must be date-times, got {value!r}'
                )
            instants.append(value.epoch_ms)
        if len(instants) == 2:
            return test(instants[0], instants[1])
        return test(instants[0], instants[1]) and test(instants[1], instants[2])

    return operation


def _op_plus_time(operands: list[object], data: _Data) -> object:
    _arity("plusTime", operands, 3, 3)
    date_operand, amount, unit = operands
    if not _is_int(amount):
        raise CertLogicError(f'"amount" argument (#2) of "plusTime" must be an integer: {amount!r}')
    if unit not in _TIME_UNITS:
        raise CertLogicError(
            f'"unit" argument (#3) of "plusTime" must be one of {", ".join(_TIME_UNITS)}: {unit!r}'
        )
    text = _eval(date_operand, data)
    if type(text) is not str:
        raise CertLogicError(f'date argument of "plusTime" must be a string, got {text!r}')
    return CertLogicDateTime(_plus_time(_parse_date_time(text), int(amount), unit))  # type: ignore[call-overload]


def _op_reduce(operands: list[object], data: _Data) -> object:
    _arity("reduce", operands, 3, 3)
    operand, lambda_, initial = operands
    items = _eval(operand, data)
    accumulator = _eval(initial, data)
    if items is None:
        return accumulator
    if type(items) is not list:
        raise CertLogicError(f"operand of reduce evaluated to a non-null non-array: {items!r}")
    for current in items:
        accumulator = _eval(lambda_, {"accumulator": accumulator, "current": current})
    return accumulator


def _op_extract_from_uvci(operands: list[object], data: _Data) -> object:
    _arity("extractFromUVCI", operands, 2, 2)
    operand, index = operands
    if not _is_int(index):
        raise CertLogicError(
            f'"index" argument (#2) of "extractFromUVCI" must be an integer: {index!r}'
        )
    uvci = _eval(operand, data)
    if uvci is None:
        return None
    if type(uvci) is not str:
        raise CertLogicError(
            f'"UVCI" argument (#1) of "extractFromUVCI" must be a string or null, got {uvci!r}'
        )
    position = int(index)  # type: ignore[call-overload]
    if position < 0:
        return None
    fragments = _UVCI_SEPARATORS.split(uvci.removeprefix("URN:UVCI:"))
    return fragments[position] if position < len(fragments) else None


def _op_dcc_date_of_birth(operands: list[object], data: _Data) -> object:
    _arity("dccDateOfBirth", operands, 1, 1)
    text = _eval(operands[0], data)
    if type(text) is not str:
        raise CertLogicError(f'operand of "dccDateOfBirth" must be a string, got {text!r}')
    return CertLogicDateTime(_parse_date_of_birth(text))


_OPERATIONS: dict[str, _Operation] = {
    "if": _op_if,
    "and": _op_and,
    "!": _op_not,
    "===": _op_equal,
    "in": _op_in,
    "+": _op_plus,
    "<": _integer_comparison("<", lambda a, b: a < b),
    ">": _integer_comparison(">", lambda a, b: a > b),
    "<=": _integer_comparison("<=", lambda a, b: a <= b),
    ">=": _integer_comparison(">=", lambda a, b: a >= b),
    "after": _date_time_comparison("after", lambda a, b: a > b),
    "before": _date_time_comparison("before", lambda a, b: a < b),
    "not-after": _date_time_comparison("not-after", lambda a, b: a <= b),
    "not-before": _date_time_comparison("not-before", lambda a, b: a >= b),
    "plusTime": _op_plus_time,
    "reduce": _op_reduce,
    "extractFromUVCI": _op_extract_from_uvci,
    "dccDateOfBirth": _op_dcc_date_of_birth,
}


def evaluate(expression: object, data: object) -> object:
    """Evaluate a CertLogic expression against JSON-like ``data``.

    Returns a JSON-like value, or a :class:`CertLogicDateTime` for date-time expressions.
    Raises :class:`CertLogicError` for an invalid expression or an evaluation error (unknown
    operation, wrong number of operands, a ``var`` path that is not a string, an unparsable
    date, an operand of the wrong type, a guard neither truthy nor falsy...).
    """
    try:
        return _eval(expression, data)
    except RecursionError:
        # A hostile or runaway nesting depth is an invalid expression, not a crash.
        raise CertLogicError("CertLogic expression nested too deeply") from None


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
        return ["CertLogic expression nested too deeply"]
