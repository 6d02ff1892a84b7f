"""licence_from_dict, with its caches and cheap common paths, reads exactly as the plain reader.

The plain reader as it stood before the caches is kept below as the reference. Every test reads
the same input with both and requires the same outcome: an equal Licence, or an error of the
same type, field path and message. Mutated licences are read right after their valid original,
so whatever the caches hold from it, a changed value must still take the full check.
"""

from __future__ import annotations

import copy
import re
import threading
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime
from types import MappingProxyType
from typing import Final

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ezhengzhao import codes
from ezhengzhao.errors import CodeError, LicenceFormatError
from ezhengzhao.formats import licence_json
from ezhengzhao.formats.licence_json import LICENCE_SCHEMA, licence_from_dict, licence_to_dict
from ezhengzhao.model import (
    HOLDER_CODE_TYPES,
    ISSUER_LEVELS,
    Attachment,
    Holder,
    Issuer,
    Licence,
    Sealing,
    StatusReference,
    SurfaceValue,
    Validity,
)

# ---------------------------------------------------------------- the reference reader
# A verbatim copy of the reading side of ezhengzhao/formats/licence_json.py before its caches
# and cheap paths; do not change it to follow the library.

_MAX_SURFACE_FIELDS: Final = 200
_MAX_TEXT: Final = 4000
_MAX_SAFE_INT: Final = (1 << 53) - 1
_SURFACE_KEY = re.compile(r"[A-Za-z][A-Za-z0-9_]{0,63}")
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
_DATETIME = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_CONTROL_EXCEPT_NEWLINE = re.compile(r"[\x00-\x09\x0b-\x1f\x7f]")
_SM3_HEX = re.compile(r"[0-9a-f]{64}")

_TOP_REQUIRED: Final = frozenset(
    {
        "schema",
        "licence_id",
        "type_code",
        "type_name",
        "number",
        "version",
        "holder",
        "issuer",
        "issue_date",
        "validity",
        "surface",
    }
)
_TOP_OPTIONAL: Final = frozenset({"sealing", "status", "previous", "attachments"})


# ---------------------------------------------------------------- readers with field paths


def _object(
    value: object, path: str, required: frozenset[str], optional: frozenset[str] = frozenset()
) -> dict[str, object]:
    if not isinstance(value, dict):
        raise LicenceFormatError(path, "must be a JSON object")
    if value.keys() == required:  # the common case: exactly the required members
        return value
    missing = sorted(required - value.keys())
    if missing:
        raise LicenceFormatError(_join(path, missing[0]), "is required")
    unknown = sorted(value.keys() - required - optional)
    if unknown:
        raise LicenceFormatError(_join(path, unknown[0]), "is not a field of " + LICENCE_SCHEMA)
    return value


def _join(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


def _text(value: object, path: str, *, max_length: int = 200, newlines: bool = False) -> str:
    if not isinstance(value, str):
        raise LicenceFormatError(path, "must be a string")
    if not value or value.isspace():  # i.e. nothing left once whitespace is stripped
        raise LicenceFormatError(path, "must not be empty")
    if len(value) > max_length:
        raise LicenceFormatError(path, f"is {len(value)} characters, more than {max_length}")
    # isprintable() is the fast common case; the regex decides for the rest (e.g. U+3000).
    if not value.isprintable():
        control = _CONTROL_EXCEPT_NEWLINE if newlines else _CONTROL
        if control.search(value):
            raise LicenceFormatError(path, "contains a control character")
    return value


def _int(value: object, path: str, *, low: int, high: int) -> int:
    if not isinstance(value, int) or isinstance(value, bool):
        raise LicenceFormatError(path, "must be an integer")
    if not low <= value <= high:
        raise LicenceFormatError(path, f"must be between {low} and {high}")
    return value


def _date(value: object, path: str) -> date:
    if not isinstance(value, str) or not _DATE.fullmatch(value):
        raise LicenceFormatError(path, "must be a date YYYY-MM-DD")
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise LicenceFormatError(path, f"{value} is not a calendar date") from None


def _datetime(value: object, path: str) -> datetime:
    if not isinstance(value, str) or not _DATETIME.fullmatch(value):
        raise LicenceFormatError(path, "must be a UTC time YYYY-MM-DDThh:mm:ssZ")
    try:
        return datetime.fromisoformat(value[:-1]).replace(tzinfo=UTC)
    except ValueError:
        raise LicenceFormatError(path, f"{value} is not a valid time") from None


def _code(check: str, value: str, path: str) -> None:
    """Raise a field error when ``value`` is not a valid code of kind ``check``."""
    try:
        if check == "id_number":
            codes.parse_id_number(value)
        elif check == "uscc":
            codes.parse_uscc(value)
        elif check == "region":
            codes.parse_region_code(value)
    except CodeError as exc:
        label = {"id_number": "公民身份号码", "uscc": "统一社会信用代码", "region": "行政区划代码"}
        raise LicenceFormatError(path, f"not a valid {label[check]} ({exc})") from None


def _uscc_ok(text: str) -> bool:
    """``codes.is_valid_uscc`` through the parser's cache (an issuer's codes recur)."""
    try:
        codes.parse_uscc(text)
    except CodeError:
        return False
    return True


# ---------------------------------------------------------------- JSON -> model


def reference_licence_from_dict(value: object) -> Licence:
    """The reader before its caches and fast paths."""
    top = _object(value, "", _TOP_REQUIRED, _TOP_OPTIONAL)
    schema = top["schema"]
    if schema != LICENCE_SCHEMA:
        raise LicenceFormatError(
            "schema", f"unknown licence format {schema!r}, expected {LICENCE_SCHEMA!r}"
        )

    licence_id = _text(top["licence_id"], "licence_id", max_length=160)
    try:
        codes.parse_licence_id(licence_id, strict_check=False)
    except CodeError as exc:
        raise LicenceFormatError("licence_id", f"not a valid 证照标识 ({exc})") from None
    type_code = _text(top["type_code"], "type_code", max_length=21)
    if len(type_code) != 21 or not _uscc_ok(type_code[:18]) or not type_code[18:].isdigit():
        raise LicenceFormatError("type_code", "not a valid 证照类型代码 (18-char USCC + 3 digits)")

    holder_obj = _object(top["holder"], "holder", frozenset({"name", "code", "code_type"}))
    code_type = holder_obj["code_type"]
    if not isinstance(code_type, str) or code_type not in HOLDER_CODE_TYPES:
        raise LicenceFormatError(
            "holder.code_type", "must be '111' (公民身份号码) or '001' (统一社会信用代码)"
        )
    assert isinstance(code_type, str)
    holder_code = _text(holder_obj["code"], "holder.code", max_length=18)
    _code("id_number" if code_type == "111" else "uscc", holder_code, "holder.code")
    holder = Holder(_text(holder_obj["name"], "holder.name"), holder_code, code_type)

    issuer_obj = _object(
        top["issuer"], "issuer", frozenset({"name", "code", "region_code", "level"})
    )
    issuer_code = _text(issuer_obj["code"], "issuer.code", max_length=18)
    _code("uscc", issuer_code, "issuer.code")
    region = _text(issuer_obj["region_code"], "issuer.region_code", max_length=6)
    _code("region", region, "issuer.region_code")
    level = issuer_obj["level"]
    if not isinstance(level, str) or level not in ISSUER_LEVELS:
        raise LicenceFormatError("issuer.level", "must be one of " + "/".join(ISSUER_LEVELS))
    assert isinstance(level, str)
    issuer = Issuer(_text(issuer_obj["name"], "issuer.name"), issuer_code, region, level)

    validity_obj = _object(top["validity"], "validity", frozenset({"start", "end"}))
    start = _date(validity_obj["start"], "validity.start")
    end = None if validity_obj["end"] is None else _date(validity_obj["end"], "validity.end")
    if end is not None and end < start:
        raise LicenceFormatError("validity.end", "is before validity.start")

    return Licence(
        licence_id=licence_id,
        type_code=type_code,
        type_name=_text(top["type_name"], "type_name", max_length=100),
        number=_text(top["number"], "number", max_length=100),
        version=_int(top["version"], "version", low=1, high=999),
        holder=holder,
        issuer=issuer,
        issue_date=_date(top["issue_date"], "issue_date"),
        validity=Validity(start, end),
        # A fresh dict nobody else holds: wrapped here, Licence need not copy it again.
        surface=MappingProxyType(_surface(top["surface"])),
        sealing=_sealing(top.get("sealing")),
        status=_status(top.get("status")),
        previous=None
        if top.get("previous") is None
        else _text(top["previous"], "previous", max_length=160),
        attachments=_attachments(top.get("attachments")),
    )


def _surface(value: object) -> dict[str, SurfaceValue]:
    if not isinstance(value, dict):
        raise LicenceFormatError("surface", "must be a JSON object")
    if len(value) > _MAX_SURFACE_FIELDS:
        raise LicenceFormatError("surface", f"has more than {_MAX_SURFACE_FIELDS} fields")
    out: dict[str, SurfaceValue] = {}
    known = _SURFACE_KEYS_SEEN
    for key, item in value.items():
        if key not in known:
            if not _SURFACE_KEY.fullmatch(key):
                raise LicenceFormatError(
                    f"surface.{key}", "field keys are ASCII identifiers of at most 64 characters"
                )
            if len(known) < 4096:
                known.add(key)
        if isinstance(item, str):
            # The common case, decided here; _text names the problem otherwise.
            if item.isprintable() and len(item) <= _MAX_TEXT and not item.isspace() and item:
                out[key] = item
            else:
                out[key] = _text(item, f"surface.{key}", max_length=_MAX_TEXT, newlines=True)
        elif isinstance(item, int) and not isinstance(item, bool):
            out[key] = _int(item, f"surface.{key}", low=-_MAX_SAFE_INT, high=_MAX_SAFE_INT)
        else:
            raise LicenceFormatError(f"surface.{key}", "must be a string or an integer")
    return out


# Surface keys already seen to match _SURFACE_KEY: a catalogue's keys recur on every licence.
_SURFACE_KEYS_SEEN: set[str] = set()


def _sealing(value: object) -> Sealing | None:
    if value is None:
        return None
    obj = _object(value, "sealing", frozenset({"signer", "seal_name", "signed_at"}))
    return Sealing(
        _text(obj["signer"], "sealing.signer"),
        _text(obj["seal_name"], "sealing.seal_name"),
        _datetime(obj["signed_at"], "sealing.signed_at"),
    )


def _status(value: object) -> StatusReference | None:
    if value is None:
        return None
    obj = _object(value, "status", frozenset({"uri", "idx"}))
    return StatusReference(
        _text(obj["uri"], "status.uri", max_length=2000),
        _int(obj["idx"], "status.idx", low=0, high=_MAX_SAFE_INT),
    )


def _attachments(value: object) -> tuple[Attachment, ...]:
    if value is None:
        return ()
    if not isinstance(value, list) or len(value) > 100:
        raise LicenceFormatError("attachments", "must be a list of at most 100 attachments")
    out = []
    for i, item in enumerate(value):
        path = f"attachments[{i}]"
        obj = _object(item, path, frozenset({"name", "media_type", "sm3"}))
        digest = obj["sm3"]
        if not isinstance(digest, str) or not _SM3_HEX.fullmatch(digest):
            raise LicenceFormatError(f"{path}.sm3", "must be 64 lowercase hex digits")
        out.append(
            Attachment(
                _text(obj["name"], f"{path}.name"),
                _text(obj["media_type"], f"{path}.media_type"),
                digest,
            )
        )
    return tuple(out)


# ---------------------------------------------------------------- outcomes


def _outcome(read: Callable[[object], Licence], value: object) -> tuple[object, ...]:
    """What reading ``value`` gives: the licence (and its JSON form) or the error."""
    try:
        licence = read(value)
    except Exception as exc:  # any failure must be the same failure, whatever its type
        return ("error", type(exc), getattr(exc, "path", None), str(exc))
    signed = None if licence.sealing is None else licence.sealing.signed_at
    return (
        "licence",
        licence,
        licence_to_dict(licence),
        None if signed is None else (signed.tzinfo, signed.utcoffset()),
    )


def _assert_same(value: object) -> tuple[object, ...]:
    expected = _outcome(reference_licence_from_dict, copy.deepcopy(value))
    got = _outcome(licence_from_dict, value)
    assert got == expected
    return got


# ---------------------------------------------------------------- valid licences

_USCC_ALPHABET: Final = "0123456789ABCDEFGHJKLMNPQRTUWXY"
_PROVINCES: Final = sorted(codes.PROVINCES)
_CJK = st.characters(min_codepoint=0x4E00, max_codepoint=0x9FA5)
_names = st.text(_CJK, min_size=1, max_size=20)


@st.composite
def _regions(draw: st.DrawFn) -> str:
    province = draw(st.sampled_from(_PROVINCES))[:2]
    return province + draw(st.sampled_from(["0000", "0100", "0115", "0500", "9999"]))


@st.composite
def _usccs(draw: st.DrawFn) -> str:
    head = draw(st.text(st.sampled_from(_USCC_ALPHABET), min_size=2, max_size=2))
    org = draw(st.text(st.sampled_from(_USCC_ALPHABET), min_size=9, max_size=9))
    return codes.make_uscc(head + draw(_regions()) + org)


def _issuer_pool() -> list[dict[str, str]]:
    # A few authorities that recur across examples, so the caches are hit as in service.
    return [
        {
            "name": "杭州市拱墅区住房和城乡建设局",
            "code": "11330105002500287C",
            "region_code": "330105",
            "level": "区县级",
        },
        {
            "name": "上海市浦东新区市场监督管理局",
            "code": "11310115002470110L",
            "region_code": "310115",
            "level": "区县级",
        },
        {
            "name": "国家市场监督管理总局",
            "code": codes.make_uscc("11100000MB0143028"),
            "region_code": "110000",
            "level": "国家级",
        },
    ]


_issuers = st.sampled_from(_issuer_pool()) | st.fixed_dictionaries(
    {
        "name": _names,
        "code": _usccs(),
        "region_code": _regions(),
        "level": st.sampled_from(ISSUER_LEVELS),
    }
)
_type_codes = st.sampled_from(["11100000000013338W032", "11100000MB0143028R002"]) | st.builds(
    lambda uscc, n: uscc + f"{n:03d}", _usccs(), st.integers(0, 999)
)


@st.composite
def _holders(draw: st.DrawFn) -> dict[str, str]:
    if draw(st.booleans()):
        birth = draw(st.dates(date(1920, 1, 1), date(2020, 12, 31)))
        number = codes.make_id_number(draw(_regions()), birth, draw(st.integers(0, 999)))
        return {"name": draw(_names), "code": number, "code_type": "111"}
    return {"name": draw(_names), "code": draw(_usccs()), "code_type": "001"}


_surface_values = st.text(
    st.characters(min_codepoint=0x20, max_codepoint=0x9FA5, exclude_categories=("Cs", "Cc"))
    | st.sampled_from("\n\u3000"),
    min_size=1,
    max_size=40,
).filter(lambda s: not s.isspace()) | st.integers(-(2**53) + 1, 2**53 - 1)
_dates = st.dates(date(2000, 1, 1), date(2099, 12, 31))
_times = st.datetimes(datetime(2000, 1, 1), datetime(2099, 12, 31)).map(
    lambda moment: moment.strftime("%Y-%m-%dT%H:%M:%SZ")
)


@st.composite
def _licences(draw: st.DrawFn) -> dict[str, object]:
    """An ``ezz/licence/1`` object the reader accepts."""
    type_code = draw(_type_codes)
    issuer = dict(draw(_issuers))
    serial = draw(st.text(st.sampled_from("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"), min_size=1))
    version = draw(st.integers(1, 999))
    start = draw(_dates)
    end = draw(st.none() | st.integers(0, 3650))
    value: dict[str, object] = {
        "schema": LICENCE_SCHEMA,
        "licence_id": str(codes.build_licence_id(type_code, issuer["code"], serial, version)),
        "type_code": type_code,
        "type_name": draw(_names),
        "number": draw(st.text(st.sampled_from("ABCJYZ0123456789浙沪"), min_size=1, max_size=30)),
        "version": version,
        "holder": draw(_holders()),
        "issuer": issuer,
        "issue_date": draw(_dates).isoformat(),
        "validity": {
            "start": start.isoformat(),
            "end": None if end is None else date.fromordinal(start.toordinal() + end).isoformat(),
        },
        "surface": draw(
            st.dictionaries(st.from_regex(r"KZ_[A-Z]{1,8}", fullmatch=True), _surface_values)
        ),
    }
    if draw(st.booleans()):
        value["sealing"] = {
            "signer": issuer["name"],
            "seal_name": draw(st.sampled_from([issuer["name"], "证照专用章"])),
            "signed_at": draw(_times),
        }
    if draw(st.booleans()):
        value["status"] = {
            "uri": "https://zz.example.gov.cn/status/"
            + draw(st.from_regex(r"[a-z0-9]{1,8}", fullmatch=True)),
            "idx": draw(st.integers(0, 2**53 - 1)),
        }
    if draw(st.booleans()):
        value["previous"] = value["licence_id"]
    if draw(st.booleans()):
        value["attachments"] = [
            {"name": "licence.ofd", "media_type": "application/ofd", "sm3": "ab" * 32}
        ]
    return value


# ---------------------------------------------------------------- mutations


class _Text(str):
    """A str subclass: equal to its text, but not the exact type the caches key on."""

    __slots__ = ()


def _paths(value: object, path: tuple[object, ...] = ()) -> Iterator[tuple[object, ...]]:
    yield path
    if isinstance(value, dict):
        for key, item in value.items():
            yield from _paths(item, (*path, key))
    elif isinstance(value, list):
        for i, item in enumerate(value):
            yield from _paths(item, (*path, i))


def _at(value: object, path: tuple[object, ...]) -> object:
    for step in path:
        value = value[step]  # type: ignore[index]
    return value


_BAD_VALUES: Final[tuple[object, ...]] = (
    None,
    0,
    -1,
    True,
    1.5,
    [],
    {},
    "",
    " ",
    "\u3000",
    "a\x00b",
    "x\ny",
    "x" * 5000,
    "２０２５-０５-２２",
    "٢٠٢٥-٠٥-٢٢",
    "2025-02-30",
    "2025-2-3",
    "20250522",
    "2025-05-22T00:00:00Z",
    "2026-01-01T24:00:00Z",
    "2026-01-01T23:59:60Z",
    "2026-02-30T10:00:00Z",
    "٢٠٢٦-٠١-٠١T00:00:00Z",
    "2026-01-01T00:00:00+00:00",
    "11330105002500287c",
    "11330105002500287D",
    "330105 ",
    "990000",
    "310015",
    "省级",
    "不存在",
    "111",
    "001",
    "ezz/licence/2",
    2**53,
)


@st.composite
def _mutated(draw: st.DrawFn, valid: dict[str, object]) -> dict[str, object]:
    """``valid`` with one change: a member removed or added, or one value replaced."""
    value = copy.deepcopy(valid)
    path = draw(st.sampled_from(list(_paths(value))))
    parent = value if not path else _at(value, path[:-1])
    key = path[-1] if path else None
    old = _at(value, path)
    kind = draw(st.sampled_from(["remove", "add", "bad", "subclass", "char"]))
    if kind == "remove" and path:
        del parent[key]  # type: ignore[index, attr-defined]
    elif kind == "add" and isinstance(old, dict):
        old[draw(st.sampled_from(["extra", "name", "sealing", "KZ_NEW", "经营范围", ""]))] = "x"
    elif kind == "subclass" and isinstance(old, str) and path:
        parent[key] = _Text(old)  # type: ignore[index]
    elif kind == "char" and isinstance(old, str) and old and path:
        i = draw(st.integers(0, len(old) - 1))
        char = draw(st.sampled_from(_USCC_ALPHABET + "-:TZ a中\x00"))
        parent[key] = old[:i] + char + old[i + 1 :]  # type: ignore[index]
    elif path:
        parent[key] = draw(st.sampled_from(_BAD_VALUES))  # type: ignore[index]
    else:
        return {"not": "a licence"}
    return value


# ---------------------------------------------------------------- tests


@settings(max_examples=150)
@given(_licences())
def test_valid_licences_read_as_the_reference(value: dict[str, object]) -> None:
    outcome = _assert_same(value)
    assert outcome[0] == "licence"
    _assert_same(value)  # again, now from the caches


@settings(max_examples=300)
@given(st.data())
def test_mutated_licences_read_as_the_reference(data: st.DataObject) -> None:
    valid = data.draw(_licences())
    assert _assert_same(valid)[0] == "licence"  # the caches now hold its values
    _assert_same(data.draw(_mutated(valid)))


def _pool_licence(issuer: dict[str, str]) -> dict[str, object]:
    type_code = "11100000MB0143028R002"
    return {
        "schema": LICENCE_SCHEMA,
        "licence_id": str(codes.build_licence_id(type_code, issuer["code"], "A1", 1)),
        "type_code": type_code,
        "type_name": "食品经营许可证",
        "number": "JY13101150000001",
        "version": 1,
        "holder": {
            "name": "上海示例餐饮有限公司",
            "code": "91310000MA0000015F",
            "code_type": "001",
        },
        "issuer": dict(issuer),
        "issue_date": "2026-01-05",
        "validity": {"start": "2026-01-05", "end": "2031-01-04"},
        "surface": {"KZ_JYXM": "热食类食品制售", "KZ_TSJBDH": 12315},
        "sealing": {
            "signer": issuer["name"],
            "seal_name": issuer["name"],
            "signed_at": "2026-01-05T02:00:00Z",
        },
    }


@pytest.mark.parametrize("issuer", _issuer_pool(), ids=lambda i: i["code"])
def test_cached_issuer_never_lets_a_wrong_check_character_pass(issuer: dict[str, str]) -> None:
    valid = _pool_licence(issuer)
    assert _assert_same(valid)[0] == "licence"
    code = issuer["code"]
    for char in _USCC_ALPHABET + "abcISZ中 ":
        if char == code[-1]:
            continue
        value = copy.deepcopy(valid)
        value["issuer"]["code"] = code[:-1] + char  # type: ignore[index]
        outcome = _assert_same(value)
        assert outcome[0] == "error"
        assert outcome[2] == "issuer.code"
        _assert_same(valid)  # and the valid one still reads, from the cache


@pytest.mark.parametrize(
    ("member", "bad", "path"),
    [
        ("region_code", "990115", "issuer.region_code"),
        ("region_code", "310015", "issuer.region_code"),
        ("region_code", "31011", "issuer.region_code"),
        ("level", "区级", "issuer.level"),
        ("name", "上海\x00市", "issuer.name"),
        ("name", "\u3000", "issuer.name"),
    ],
)
def test_cached_issuer_never_lets_another_bad_member_pass(member: str, bad: str, path: str) -> None:
    valid = _pool_licence(_issuer_pool()[1])
    assert _assert_same(valid)[0] == "licence"
    value = copy.deepcopy(valid)
    value["issuer"][member] = bad  # type: ignore[index]
    outcome = _assert_same(value)
    assert outcome[0] == "error"
    assert outcome[2] == path


def test_cached_type_code_and_dates_never_let_a_changed_value_pass() -> None:
    valid = _pool_licence(_issuer_pool()[1])
    assert _assert_same(valid)[0] == "licence"
    for path, bad, where in [
        (("type_code",), "11100000MB0143028Q002", "type_code"),
        (("type_code",), "11100000MB0143028R00A", "type_code"),
        (("issue_date",), "2026-01-32", "issue_date"),
        (("issue_date",), "２０２６-０１-０５", "issue_date"),
        (("validity", "start"), "2031-01-05", "validity.end"),  # now after the end
        (("validity", "end"), "2026-01-04", "validity.end"),
        (("sealing", "signed_at"), "2026-01-05T02:00:60Z", "sealing.signed_at"),
    ]:
        value = copy.deepcopy(valid)
        _at(value, path[:-1])[path[-1]] = bad  # type: ignore[index]
        outcome = _assert_same(value)
        assert outcome[0] == "error", path
        assert outcome[2] == where, outcome


def test_exact_str_subclass_values_read_as_the_reference() -> None:
    valid = _pool_licence(_issuer_pool()[0])
    _assert_same(valid)
    value = copy.deepcopy(valid)
    for member in ("name", "code", "region_code", "level"):
        value["issuer"][member] = _Text(value["issuer"][member])  # type: ignore[index]
    value["type_code"] = _Text(value["type_code"])
    value["issue_date"] = _Text(value["issue_date"])
    assert _assert_same(value)[0] == "licence"


def test_signed_at_is_utc() -> None:
    licence = licence_from_dict(_pool_licence(_issuer_pool()[0]))
    assert licence.sealing is not None
    assert licence.sealing.signed_at == datetime(2026, 1, 5, 2, 0, 0, tzinfo=UTC)
    assert licence.sealing.signed_at.tzinfo is UTC


def test_caches_are_bounded() -> None:
    base = _pool_licence(_issuer_pool()[0])
    for day in range(licence_json._CACHE_SIZE + 50):
        value = copy.deepcopy(base)
        text = date.fromordinal(date(2001, 1, 1).toordinal() + day).isoformat()
        value["issue_date"] = text
        value["issuer"]["name"] = f"机构{day}"  # type: ignore[index]
        assert licence_from_dict(value).issue_date.isoformat() == text
    assert len(licence_json._DATES_READ) <= licence_json._CACHE_SIZE
    info = licence_json._issuer_cached.cache_info()
    assert info.maxsize == licence_json._CACHE_SIZE
    assert info.currsize <= licence_json._CACHE_SIZE


def test_concurrent_readers_see_the_reference_outcomes() -> None:
    issuers = _issuer_pool()
    inputs: list[dict[str, object]] = []
    for i, issuer in enumerate(issuers * 4):
        valid = _pool_licence(issuer)
        valid["issue_date"] = f"2026-01-{i + 1:02d}"
        bad = copy.deepcopy(valid)
        bad["issuer"]["code"] = issuer["code"][:-1] + ("0" if issuer["code"][-1] != "0" else "1")  # type: ignore[index]
        inputs += [valid, bad]
    expected = [_outcome(reference_licence_from_dict, copy.deepcopy(v)) for v in inputs]
    failures: list[str] = []
    start = threading.Barrier(4)

    def reader(offset: int) -> None:
        start.wait()
        for round_ in range(50):
            for i in range(len(inputs)):
                j = (i + offset + round_) % len(inputs)
                if _outcome(licence_from_dict, inputs[j]) != expected[j]:
                    failures.append(f"input {j}")

    threads = [threading.Thread(target=reader, args=(n * 7,)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert failures == []
