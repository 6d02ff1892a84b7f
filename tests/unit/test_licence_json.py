"""ezz/licence/1: loading rejects what is malformed with a field path; canonical bytes are JCS."""

from __future__ import annotations

import copy
import json
from datetime import UTC, date, datetime

import pytest
import rfc8785
from hypothesis import given, settings
from hypothesis import strategies as st

from ezhengzhao import codes
from ezhengzhao.errors import DecodeError, LicenceFormatError
from ezhengzhao.formats.jsonio import canonical_bytes, canonical_bytes_simple, loads
from ezhengzhao.formats.licence_json import (
    dump_licence,
    licence_canonical_bytes,
    licence_from_dict,
    licence_to_dict,
    load_licence,
)
from ezhengzhao.model import Holder, Issuer, Licence, Sealing, StatusReference, Validity

TYPE_CODE = "11100000000013338W032"
ISSUER = "11330105002500287C"


def _licence_dict() -> dict[str, object]:
    lid = codes.build_licence_id(TYPE_CODE, ISSUER, "2025052201", 1)
    return {
        "schema": "ezz/licence/1",
        "licence_id": str(lid),
        "type_code": TYPE_CODE,
        "type_name": "建筑施工特种作业操作资格证书",
        "number": "浙A042025000123",
        "version": 1,
        "holder": {
            "name": "张伟",
            "code": codes.make_id_number("330105", date(1985, 3, 7), 123),
            "code_type": "111",
        },
        "issuer": {
            "name": "杭州市拱墅区住房和城乡建设局",
            "code": ISSUER,
            "region_code": "330105",
            "level": "区县级",
        },
        "issue_date": "2025-05-22",
        "validity": {"start": "2025-05-22", "end": "2027-05-21"},
        "surface": {"KZ_CZLB": "建筑电工", "KZ_ZSBH": "浙A042025000123", "KZ_NL": 40},
        "sealing": {
            "signer": "杭州市拱墅区住房和城乡建设局",
            "seal_name": "证照专用章",
            "signed_at": "2025-05-22T02:00:00Z",
        },
        "status": {"uri": "https://zz.example.gov.cn/status/1", "idx": 4711},
    }


def test_round_trip() -> None:
    data = _licence_dict()
    licence = licence_from_dict(data)
    assert licence.holder.name == "张伟"
    assert licence.validity == Validity(date(2025, 5, 22), date(2027, 5, 21))
    assert licence.sealing == Sealing(
        "杭州市拱墅区住房和城乡建设局", "证照专用章", datetime(2025, 5, 22, 2, 0, tzinfo=UTC)
    )
    assert licence.status == StatusReference("https://zz.example.gov.cn/status/1", 4711)
    assert licence_to_dict(licence) == data
    assert load_licence(dump_licence(licence)) == licence


def test_permanent_validity_is_null_end() -> None:
    data = _licence_dict()
    data["validity"] = {"start": "2025-05-22", "end": None}
    licence = licence_from_dict(data)
    assert licence.validity.is_permanent
    assert licence.validity.contains(date(2099, 1, 1))


def test_surface_is_read_only() -> None:
    licence = licence_from_dict(_licence_dict())
    with pytest.raises(TypeError):
        licence.surface["KZ_CZLB"] = "x"  # type: ignore[index]


def _mutate(path: str, value: object) -> dict[str, object]:
    data = copy.deepcopy(_licence_dict())
    *parents, last = path.split(".")
    node: dict[str, object] = data
    for p in parents:
        node = node[p]  # type: ignore[assignment]
    if value is _DELETE:
        del node[last]
    else:
        node[last] = value
    return data


_DELETE = object()


@pytest.mark.parametrize(
    ("path", "value", "expected_path", "words"),
    [
        ("schema", "ezz/licence/2", "schema", "unknown licence format"),
        ("holder.code", "330105198503071234", "holder.code", "not a valid 公民身份号码"),
        ("holder.code_type", "999", "holder.code_type", "must be '111'"),
        ("issuer.code", "11330105002500287D", "issuer.code", "not a valid 统一社会信用代码"),
        ("issuer.region_code", "990000", "issuer.region_code", "行政区划代码"),
        ("issuer.level", "省部级", "issuer.level", "must be one of"),
        ("issue_date", "2025-02-30", "issue_date", "not a calendar date"),
        ("issue_date", "20250522", "issue_date", "YYYY-MM-DD"),
        ("validity.end", "2020-01-01", "validity.end", "before validity.start"),
        ("version", True, "version", "integer"),
        ("version", 0, "version", "between"),
        ("type_code", "11100000000013338X032", "type_code", "证照类型代码"),
        ("licence_id", "1.2.156.3005.2.x", "licence_id", "证照标识"),
        ("number", "", "number", "empty"),
        ("number", "a" * 101, "number", "more than 100"),
        ("holder.name", "张\x00伟", "holder.name", "control character"),
        ("surface.KZ_NL", 1.5, "surface.KZ_NL", "string or an integer"),
        ("surface.KZ_NL", 2**60, "surface.KZ_NL", "between"),
        ("sealing.signed_at", "2025-05-22 02:00", "sealing.signed_at", "UTC time"),
        ("status.idx", -1, "status.idx", "between"),
        ("holder.name", _DELETE, "holder.name", "is required"),
        ("surface", [], "surface", "JSON object"),
        ("extra", 1, "extra", "not a field"),
        ("holder.nickname", "x", "holder.nickname", "not a field"),
    ],
)
def test_bad_fields_name_their_path(
    path: str, value: object, expected_path: str, words: str
) -> None:
    with pytest.raises(LicenceFormatError) as info:
        licence_from_dict(_mutate(path, value))
    assert info.value.path == expected_path
    assert words in str(info.value)
    assert str(info.value).startswith(expected_path)


def test_bad_surface_key() -> None:
    data = _licence_dict()
    data["surface"] = {"经营范围": "x"}
    with pytest.raises(LicenceFormatError, match=r"surface\.经营范围"):
        licence_from_dict(data)


def test_wrong_check_digit_names_the_field_as_the_issue_asks() -> None:
    data = _mutate("holder.code", "330105198503071234")
    with pytest.raises(
        LicenceFormatError, match=r"^holder\.code: not a valid 公民身份号码 .*check"
    ):
        licence_from_dict(data)


@pytest.mark.parametrize(
    ("text", "words"),
    [
        (b"{", "malformed"),
        (b'{"a": 1, "a": 2}', "duplicate JSON key"),
        (b'{"a": NaN}', "NaN"),
        (b"\xff\xfe", "not UTF-8"),
        (b'{"a": "\\ud800"}', "lone surrogate"),
        (b"[" * 100_000 + b"]" * 100_000, "nested too deeply"),
    ],
)
def test_strict_json(text: bytes, words: str) -> None:
    with pytest.raises(DecodeError, match=words):
        loads(text)


def test_size_limit() -> None:
    with pytest.raises(DecodeError, match="limit"):
        loads(b'"' + b"a" * 100 + b'"', max_bytes=50)


def test_load_licence_rejects_non_object() -> None:
    with pytest.raises(LicenceFormatError, match="JSON object"):
        load_licence(b"[1, 2]")


def test_canonical_bytes_are_rfc8785() -> None:
    data = _licence_dict()
    assert licence_canonical_bytes(data) == rfc8785.dumps(data)
    assert licence_canonical_bytes(licence_from_dict(data)) == rfc8785.dumps(data)
    assert canonical_bytes(data) == rfc8785.dumps(data)


_text = st.text(st.characters(exclude_categories=("Cs",)), max_size=30)
_json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**53) + 1, 2**53 - 1) | _text,
    lambda children: (
        st.lists(children, max_size=4)
        | st.dictionaries(
            st.text(st.characters(max_codepoint=127, exclude_categories=("Cs",)), max_size=8),
            children,
            max_size=4,
        )
    ),
    max_leaves=20,
)


@settings(max_examples=300)
@given(_json_values)
def test_simple_canonicalisation_equals_rfc8785(value: object) -> None:
    """The fast path is byte-identical to the reference JCS for the licence value shapes."""
    assert canonical_bytes_simple(value) == rfc8785.dumps(value)


_names = st.text(st.characters(min_codepoint=0x4E00, max_codepoint=0x9FA5), min_size=1, max_size=20)


@settings(max_examples=200)
@given(
    name=_names,
    birth=st.dates(date(1920, 1, 1), date(2020, 12, 31)),
    seq=st.integers(0, 999),
    surface=st.dictionaries(
        st.from_regex(r"KZ_[A-Z]{1,8}", fullmatch=True),
        st.text(
            st.characters(
                min_codepoint=0x20, max_codepoint=0x9FA5, exclude_categories=("Cs", "Cc")
            ),
            min_size=1,
            max_size=40,
        ).filter(str.strip)
        | st.integers(-(10**9), 10**9),
        max_size=8,
    ),
    permanent=st.booleans(),
)
def test_json_round_trip_property(
    name: str, birth: date, seq: int, surface: dict[str, object], permanent: bool
) -> None:
    base = licence_from_dict(_licence_dict())
    licence = Licence(
        licence_id=base.licence_id,
        type_code=base.type_code,
        type_name=base.type_name,
        number=base.number,
        version=1,
        holder=Holder(name, codes.make_id_number("330105", birth, seq), "111"),
        issuer=Issuer(base.issuer.name, ISSUER, "330105", "区县级"),
        issue_date=date(2025, 5, 22),
        validity=Validity(date(2025, 5, 22), None if permanent else date(2030, 5, 21)),
        surface=surface,  # type: ignore[arg-type]
    )
    as_dict = licence_to_dict(licence)
    assert licence_from_dict(json.loads(json.dumps(as_dict))) == licence
    assert licence_canonical_bytes(licence) == rfc8785.dumps(as_dict)
