"""Tests for the licence-type catalogue — 证照目录 (GB/T 36902)."""

from __future__ import annotations

import contextlib
import copy
import json
import re
from datetime import date, datetime
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ezhengzhao import codes
from ezhengzhao.catalogue import (
    CATALOGUE_FORMAT,
    MAX_FILE_BYTES,
    MAX_QR_FIELDS,
    Catalogue,
    FieldType,
    LicenceType,
    SurfaceField,
)
from ezhengzhao.errors import CatalogueError, LicenceFormatError

DATA = Path(__file__).resolve().parents[2] / "ezhengzhao" / "catalogue" / "data"

NAMED_TYPES = (
    "营业执照",
    "食品经营许可证",
    "机动车驾驶证",
    "结婚证",
    "教师资格证书",
    "不动产权证书",
    "出生医学证明",
    "建筑施工特种作业操作资格证书",
)

# Independent of ezhengzhao.codes, so that a shared mistake cannot hide (GB 32100 / GB 11714).
_USCC_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
_USCC_WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)
_ORG_WEIGHTS = (3, 7, 9, 10, 5, 8, 4, 2)


def _gb32100_check(first17: str) -> str:
    total = sum(_USCC_ALPHABET.index(c) * w for c, w in zip(first17, _USCC_WEIGHTS, strict=True))
    return _USCC_ALPHABET[(31 - total % 31) % 31]


def _gb11714_check(first8: str) -> str:
    total = sum(int(c, 36) * w for c, w in zip(first8, _ORG_WEIGHTS, strict=True))
    rest = 11 - total % 11
    return {10: "X", 11: "0"}.get(rest, str(rest))


@pytest.fixture(scope="module")
def builtin() -> Catalogue:
    return Catalogue.builtin()


def _local_type_document(code_sequence: str = "001") -> dict[str, Any]:
    """A licence type an issuing system defines itself (a Pudong district permit)."""
    organisation = "00009123" + codes.organisation_code_check_char("00009123")
    authority = codes.make_uscc("11310115" + organisation)
    return {
        "code": authority + code_sequence,
        "name": "户外广告设施设置许可证",
        "name_en": "Outdoor Advertising Permit",
        "defining_authority": "上海市浦东新区城市管理行政执法局",
        "defining_authority_code": authority,
        "authority_level": "区县级",
        "holder_category": "法人",
        "issuer_levels": ["区县级"],
        "default_validity_years": 3,
        "related_items": ["户外广告设施设置审批"],
        "fields": [
            {
                "key": "KZ_XKZBH",
                "label": "许可证编号",
                "label_en": "Permit number",
                "type": "code",
                "required": True,
                "pattern": "HW[0-9]{10}",
                "max_length": 12,
                "in_qr": True,
                "example": "HW2024000123",
            },
            {
                "key": "KZ_SZDW",
                "label": "设置单位",
                "label_en": "Operator",
                "type": "text",
                "required": True,
                "max_length": 200,
                "in_qr": True,
                "example": "上海浦江示例广告有限公司",
            },
            {
                "key": "KZ_MJ",
                "label": "面积（平方米）",
                "label_en": "Area (m²)",
                "type": "number",
                "minimum": 1,
                "maximum": 1000,
                "example": 24,
            },
        ],
    }


def _collection(*types: dict[str, Any]) -> dict[str, Any]:
    return {"format": CATALOGUE_FORMAT, "types": list(types)}


def _write(path: Path, document: object) -> Path:
    path.write_text(json.dumps(document, ensure_ascii=False), encoding="utf-8")
    return path


# --------------------------------------------------------------------------- builtin data


def test_builtin_has_the_high_frequency_types(builtin: Catalogue) -> None:
    assert len(builtin) >= 8
    names = {t.name for t in builtin.types()}
    assert set(NAMED_TYPES) <= names
    assert Catalogue.builtin() is builtin  # cached


def test_builtin_ships_one_file_per_type(builtin: Catalogue) -> None:
    files = sorted(DATA.glob("*.json"))
    assert len(files) == len(builtin)
    for file in files:
        document = json.loads(file.read_text(encoding="utf-8"))
        assert document["format"] == CATALOGUE_FORMAT
        assert builtin.source(document["code"]).endswith(file.name)


@pytest.mark.parametrize("name", NAMED_TYPES)
def test_builtin_type_codes_pass_gb32100(builtin: Catalogue, name: str) -> None:
    licence_type = builtin.by_name(name)
    code = licence_type.code
    assert len(code) == 21 and code[18:].isdigit() and code[18:].isascii()
    assert code[17] == _gb32100_check(code[:17])
    assert code[16] == _gb11714_check(code[8:16])
    assert codes.is_valid_uscc(code[:18])
    codes.parse_uscc(code[:18], check_organisation_code=True)
    assert licence_type.defining_authority_code == code[:18]


def test_all_builtin_type_codes_are_valid(builtin: Catalogue) -> None:
    for licence_type in builtin.types():
        code = licence_type.code
        assert code[17] == _gb32100_check(code[:17]), code
        assert code[16] == _gb11714_check(code[8:16]), code
        # A type code is the type-code segment of a GB/T 36904 identifier.
        codes.build_licence_id(code, "11330105002500287C", "A1")


def test_confirmed_codes_and_provenance(builtin: Catalogue) -> None:
    confirmed = {
        "建筑施工特种作业操作资格证书": "11100000000013338W032",
        "不动产权证书": "11100000MB03271699001",
        "营业执照": "11100000MB0143028R001",
        "道路运输经营许可证": "11100000000019713D008",
    }
    for name, code in confirmed.items():
        licence_type = builtin.by_name(name)
        assert licence_type.code == code
        assert licence_type.provenance.startswith("confirmed (")
    for licence_type in builtin.types():
        assert re.fullmatch(r"confirmed \(.+\)|unconfirmed( \(.+\))?", licence_type.provenance)
        if licence_type.code not in confirmed.values():
            assert licence_type.provenance.startswith("unconfirmed")


def test_builtin_catalogue_facts(builtin: Catalogue) -> None:
    assert builtin.by_name("营业执照").holder_code_type == "001"
    assert builtin.by_name("食品经营许可证").default_validity_years == 5
    assert builtin.by_name("建筑施工特种作业操作资格证书").default_validity_years == 2
    assert builtin.by_name("建筑施工特种作业操作资格证书").issuer_levels == ("省级",)
    assert builtin.by_name("机动车驾驶证").default_validity_years == 6
    assert builtin.by_name("结婚证").default_validity_years is None
    for name in ("机动车驾驶证", "结婚证", "教师资格证书", "出生医学证明"):
        assert builtin.by_name(name).holder_code_type == "111"
    for licence_type in builtin.types():
        assert licence_type.authority_level == "国家级"
        assert licence_type.title
        assert licence_type.version >= 1
    assert builtin.by_name("中华人民共和国不动产权证书").name == "不动产权证书"  # by title


def test_builtin_keys_follow_the_kz_convention(builtin: Catalogue) -> None:
    for licence_type in builtin.types():
        for surface_field in licence_type.fields:
            assert re.fullmatch(r"KZ_[A-Z]+(_[A-Z]+)*", surface_field.key), surface_field.key
            assert surface_field.label and surface_field.label_en


def test_builtin_qr_fields_are_few_and_short(builtin: Catalogue) -> None:
    for licence_type in builtin.types():
        qr = licence_type.qr_fields
        assert 2 <= len(qr) <= min(4, MAX_QR_FIELDS), licence_type.name
        for surface_field in qr:
            assert surface_field.required
            limit = surface_field.length_limit
            assert surface_field.validator or limit is None or limit <= 200
    scope = builtin.by_name("营业执照").field("KZ_JYFW")
    assert scope.max_length == 2000 and not scope.in_qr


def test_every_builtin_field_has_an_example_that_validates(builtin: Catalogue) -> None:
    for licence_type in builtin.types():
        for surface_field in licence_type.fields:
            path = f"surface.{surface_field.key}"
            if surface_field.required:
                assert surface_field.example is not None, (licence_type.name, surface_field.key)
            if surface_field.example is not None:
                value = surface_field.validate(surface_field.example, path)
                assert value == surface_field.example
        surface = licence_type.example_surface()
        assert licence_type.validate_surface(surface) == surface


def test_driving_licence_classes(builtin: Catalogue) -> None:
    classes = builtin.by_name("机动车驾驶证").field("KZ_ZJCX")
    for good in ("C1", "A1", "A2D", "B2E", "C1E", "C6", "DEF", "A1A2"):
        assert classes.validate(good, "p") == good
    for bad in ("C7", "A", "c1", "C1 E", "G1", ""):
        with pytest.raises(LicenceFormatError):
            classes.validate(bad, "p")


def test_real_estate_unit_and_certificate_numbers(builtin: Catalogue) -> None:
    title = builtin.by_name("不动产权证书")
    unit = title.field("KZ_BDCDYH")
    assert unit.validate("320311001021GB00233F00010013", "p")
    with pytest.raises(LicenceFormatError):
        unit.validate("320311001021GB00233X00010013", "p")
    number = title.field("KZ_BDCQZH")
    for good in ("苏(2019)徐州市不动产权第0020128号", "沪（2024）浦东新区不动产权第0012345号"):
        assert number.validate(good, "p") == good
    with pytest.raises(LicenceFormatError):
        number.validate("沪(2024)浦东新区不动产证明第0012345号", "p")


def test_construction_certificate_number_encodes_the_class(builtin: Catalogue) -> None:
    number = builtin.by_name("建筑施工特种作业操作资格证书").field("KZ_ZSBH")
    assert number.validate("晋A012008000001", "p") == "晋A012008000001"
    for bad in ("晋A122008000001", "晋a012008000001", "晋A01200800001"):
        with pytest.raises(LicenceFormatError):
            number.validate(bad, "p")
    classes = builtin.by_name("建筑施工特种作业操作资格证书").field("KZ_CZLB").choices
    assert "高处作业吊篮安装拆卸工" in classes and len(classes) == 12


# --------------------------------------------------------------------------- value checks


def _field(**overrides: Any) -> SurfaceField:
    spec: dict[str, Any] = {
        "key": "KZ_X",
        "label": "测试",
        "label_en": "Test",
        "type": "text",
        "max_length": 10,
    }
    spec.update(overrides)
    return SurfaceField(**spec)


def test_text_values() -> None:
    text = _field(max_length=5)
    assert text.validate("  上海市\u3000", "p") == "上海市"  # surrounding (ideographic) spaces
    assert text.validate("e\u0301", "p") == "\u00e9"  # NFC
    assert text.validate("一二三四五", "p") == "一二三四五"  # characters, not bytes
    # Spaces other than U+0020 and private-use characters are not printable, but allowed.
    assert text.validate("上海\u3000\ue000市", "p") == "上海\u3000\ue000市"
    for bad, problem in (
        ("一二三四五六", "at most 5"),
        ("a\nb", "control character"),
        ("a\u202eb", "control character"),  # bidi override
        ("上\u3000\u200b海", "control character \\(U\\+200B\\)"),  # zero-width space
        ("a\u2028b", "control character"),  # line separator
        ("a\ud800b", "control character"),  # lone surrogate
        ("   ", "must not be empty"),
        (5, "must be a string"),
        ("a" * 50_000, "far too many"),
    ):
        with pytest.raises(LicenceFormatError, match=problem) as info:
            text.validate(bad, "surface.KZ_X")
        assert info.value.path == "surface.KZ_X"


def test_date_values() -> None:
    day = _field(type="date", max_length=None)
    assert day.validate("2024-02-29", "p") == "2024-02-29"
    assert day.validate(date(2024, 1, 5), "p") == "2024-01-05"
    for bad in (
        "2023-02-29",
        "2024-13-01",
        "2024/01/01",
        "20240101",
        "2024-1-1",
        datetime(2024, 1, 5, 8, 0),
        "２０２４-01-01",
    ):
        with pytest.raises(LicenceFormatError):
            day.validate(bad, "p")


def test_code_values_with_validators() -> None:
    uscc = _field(type="code", validator="uscc", max_length=None)
    assert uscc.validate("91310115MA1FL3X213", "p") == "91310115MA1FL3X213"
    with pytest.raises(LicenceFormatError) as info:
        uscc.validate("91310115MA1FL3X214", "surface.KZ_TYSHXYDM")
    assert info.value.path == "surface.KZ_TYSHXYDM"
    assert "not a valid 统一社会信用代码" in info.value.problem
    assert "check character" in info.value.problem
    assert "91310115MA1FL3X214" not in str(info.value)  # the value is not echoed

    person = _field(type="code", validator="id_number", max_length=None)
    assert person.validate("31011519881120252x", "p") == "31011519881120252X"
    with pytest.raises(LicenceFormatError, match="公民身份号码"):
        person.validate("310115198811202521", "p")

    region = _field(type="code", validator="region_code", max_length=None)
    assert region.validate("310115", "p") == "310115"
    with pytest.raises(LicenceFormatError, match="行政区划代码"):
        region.validate("990115", "p")

    licence = _field(type="code", validator="licence_id", max_length=None)
    good = "1.2.156.3005.2.11100000000013338W009.11330105002500287C.2025052201.002.0"
    assert licence.validate(good, "p") == good
    with pytest.raises(LicenceFormatError, match="证照标识"):
        licence.validate(good[:-1] + "1", "p")

    long_value = "9" * 300
    with pytest.raises(LicenceFormatError, match="at most 256"):
        uscc.validate(long_value, "p")


def test_code_pattern_is_ascii_and_full_match() -> None:
    number = _field(type="code", pattern=r"JY\d{14}", max_length=16)
    assert number.validate("JY23101150012345", "p") == "JY23101150012345"
    for bad in ("JY2310115001234", "JY231011500123456", "XJY23101150012345"):
        with pytest.raises(LicenceFormatError):
            number.validate(bad, "p")
    with pytest.raises(LicenceFormatError, match="does not match the format"):
        number.validate("JY２3101150012345", "p")  # a full-width digit is not \d here


def test_enum_values() -> None:
    sex = _field(type="enum", choices=("男", "女"), max_length=None)
    assert sex.validate(" 女 ", "p") == "女"
    with pytest.raises(LicenceFormatError, match="男、女"):
        sex.validate("M", "p")


def test_number_values() -> None:
    weight = _field(type="number", minimum=300, maximum=8000, max_length=None)
    assert weight.validate(3350, "p") == 3350
    for bad, problem in (
        (True, "integer"),
        (3350.0, "integer"),
        ("3350", "integer"),
        (299, "at least 300"),
        (8001, "at most 8000"),
    ):
        with pytest.raises(LicenceFormatError, match=problem):
            weight.validate(bad, "p")


@pytest.mark.parametrize(
    ("overrides", "where"),
    [
        ({"key": "KZ-X"}, "key"),
        ({"key": "住所"}, "key"),
        ({"label": " "}, "label"),
        ({"type": "float"}, "type"),
        ({"max_length": None}, "max_length"),
        ({"max_length": 0}, "max_length"),
        ({"pattern": "("}, "pattern"),
        ({"type": "code", "max_length": None}, "pattern"),
        ({"type": "code", "validator": "iban"}, "validator"),
        ({"validator": "uscc"}, "validator"),
        ({"type": "enum", "max_length": None}, "choices"),
        ({"type": "enum", "max_length": None, "choices": ("a", "a")}, "choices"),
        ({"choices": ("a",)}, "choices"),
        ({"minimum": 1}, "minimum"),
        ({"type": "number", "max_length": None, "minimum": 5, "maximum": 1}, "minimum"),
        ({"max_length": 300, "in_qr": True}, "in_qr"),
        ({"example": "一二三四五六七八九十一"}, "example"),
        ({"example": " padded"}, "example"),
    ],
)
def test_bad_field_definitions(overrides: dict[str, Any], where: str) -> None:
    with pytest.raises(CatalogueError, match=rf"^{where}: "):
        _field(**overrides)


def test_field_type_is_a_str_enum() -> None:
    assert _field(type="date", max_length=None).type is FieldType.DATE
    assert [t.value for t in FieldType] == ["text", "date", "code", "enum", "number"]


# --------------------------------------------------------------------------- surfaces


def test_validate_surface_normalises_in_catalogue_order(builtin: Catalogue) -> None:
    licence_type = builtin.by_name("营业执照")
    surface: dict[str, object] = dict(reversed(list(licence_type.example_surface().items())))
    surface["KZ_MC"] = "  上海浦江示例科技有限公司 "
    surface["KZ_ZCZB"] = ""  # optional and empty: left out
    surface["KZ_CLRQ"] = date(2021, 3, 15)
    result = licence_type.validate_surface(surface)
    assert list(result) == [f.key for f in licence_type.fields if f.key in result]
    assert result["KZ_MC"] == "上海浦江示例科技有限公司"
    assert result["KZ_CLRQ"] == "2021-03-15"
    assert "KZ_ZCZB" not in result


def test_validate_surface_error_paths(builtin: Catalogue) -> None:
    licence_type = builtin.by_name("营业执照")
    good = licence_type.example_surface()

    with pytest.raises(LicenceFormatError, match="unknown field") as info:
        licence_type.validate_surface({**good, "KZ_COLOUR": "red"})
    assert info.value.path == "surface.KZ_COLOUR"

    with pytest.raises(LicenceFormatError) as info:
        licence_type.validate_surface({**good, "bad key": 1}, path="licence.surface")
    assert info.value.path == "licence.surface.'bad key'"

    missing = dict(good)
    del missing["KZ_ZS"]
    with pytest.raises(LicenceFormatError, match=r"住所 \(Domicile\) is missing") as info:
        licence_type.validate_surface(missing)
    assert info.value.path == "surface.KZ_ZS"

    with pytest.raises(LicenceFormatError, match="统一社会信用代码") as info:
        licence_type.validate_surface({**good, "KZ_TYSHXYDM": "91310115MA1FL3X214"})
    assert info.value.path == "surface.KZ_TYSHXYDM"
    assert str(info.value).startswith("surface.KZ_TYSHXYDM: not a valid 统一社会信用代码")

    with pytest.raises(LicenceFormatError, match="must be an object"):
        licence_type.validate_surface(["KZ_MC"])  # type: ignore[arg-type]


def test_field_lookup(builtin: Catalogue) -> None:
    licence_type = builtin.by_name("营业执照")
    assert licence_type.field("KZ_ZS").label == "住所"
    with pytest.raises(CatalogueError, match="no surface field 'KZ_NOPE'"):
        licence_type.field("KZ_NOPE")


# --------------------------------------------------------------------------- the catalogue


def test_catalogue_mapping_behaviour(builtin: Catalogue) -> None:
    code = "11100000000013338W032"
    assert code in builtin and 42 not in builtin
    assert builtin.get(code) is builtin[code]
    assert [t.code for t in builtin] == list(builtin.codes()) == sorted(builtin.codes())
    assert tuple(builtin) == builtin.types()
    with pytest.raises(CatalogueError, match="unknown licence type code '11100000000013338W999'"):
        builtin.get("11100000000013338W999")
    with pytest.raises(CatalogueError, match="no licence type named"):
        builtin.by_name("居民身份证")


def test_catalogue_from_types_rejects_conflicts(builtin: Catalogue) -> None:
    licence_type = builtin.by_name("结婚证")
    assert len(Catalogue([licence_type, licence_type])) == 1
    other = LicenceType(
        code=licence_type.code,
        name="离婚证",
        name_en="Divorce Certificate",
        defining_authority=licence_type.defining_authority,
        defining_authority_code=licence_type.defining_authority_code,
        authority_level="国家级",
        holder_category="自然人",
        issuer_levels=("区县级",),
        default_validity_years=None,
        fields=licence_type.fields,
    )
    with pytest.raises(CatalogueError, match="already defined differently"):
        Catalogue([licence_type, other])


def test_issuing_system_catalogue_file_loads_and_merges(tmp_path: Path, builtin: Catalogue) -> None:
    document = {"format": CATALOGUE_FORMAT, **_local_type_document()}
    path = _write(tmp_path / "pudong.json", document)
    catalogue = Catalogue.load(path)
    assert len(catalogue) == len(builtin) + 1
    local = catalogue.by_name("户外广告设施设置许可证")
    assert local.holder_code_type == "001" and local.title == local.name
    assert local.provenance == "unconfirmed" and local.version == 1
    assert [f.key for f in local.qr_fields] == ["KZ_XKZBH", "KZ_SZDW"]
    assert local.validate_surface(local.example_surface()) == local.example_surface()
    assert catalogue.source(local.code) == str(path)
    assert "11100000MB0143028R001" in catalogue

    only = Catalogue.load(path, include_builtin=False)
    assert only.codes() == (local.code,)


def test_directory_of_catalogue_files(tmp_path: Path, builtin: Catalogue) -> None:
    two = _collection(_local_type_document("001"), _local_type_document("002"))
    _write(tmp_path / "a.json", two)
    # A copy of a builtin definition is the same definition, so it merges.
    (tmp_path / "b.json").write_bytes((DATA / "marriage-certificate.json").read_bytes())
    (tmp_path / "notes.txt").write_text("ignored", encoding="utf-8")
    catalogue = Catalogue.load(tmp_path)
    assert len(catalogue) == len(builtin) + 2
    with pytest.raises(CatalogueError, match="ambiguous"):
        catalogue.by_name("户外广告设施设置许可证")

    changed = json.loads((DATA / "marriage-certificate.json").read_text(encoding="utf-8"))
    changed["version"] = 2
    _write(tmp_path / "b.json", changed)
    with pytest.raises(CatalogueError, match=r"b\.json.*already defined differently.*marriage"):
        Catalogue.load(tmp_path)

    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(CatalogueError, match=r"no \*\.json"):
        Catalogue.load(empty)
    with pytest.raises(CatalogueError, match="no such"):
        Catalogue.load(tmp_path / "missing.json")


def _with(document: dict[str, Any], path: tuple[str | int, ...], value: Any) -> dict[str, Any]:
    result = copy.deepcopy(document)
    target: Any = result
    for step in path[:-1]:
        target = target[step]
    target[path[-1]] = value
    return result


def _bad_check_code() -> str:
    code: str = _local_type_document()["code"]
    wrong = "0" if code[17] != "0" else "1"
    return code[:17] + wrong + code[18:]


def _bad(path: tuple[str | int, ...], value: Any) -> dict[str, Any]:
    """An issuer catalogue with one type whose member at ``path`` is replaced by ``value``."""
    return _with(_collection(_local_type_document()), ("types", 0, *path), value)


def _items(count: int, **extra: Any) -> list[dict[str, Any]]:
    return [
        {
            "key": f"KZ_F{i}",
            "label": "项",
            "label_en": "item",
            "type": "text",
            "max_length": 5,
            **extra,
        }
        for i in range(count)
    ]


_NO_HOLDER = {k: v for k, v in _local_type_document().items() if k != "holder_category"}

BAD_DOCUMENTS: list[tuple[str, Any, str]] = [
    ("unknown key", _bad(("colour",), "red"), "types[0].colour: unknown key"),
    (
        "unknown field key",
        _bad(("fields", 1, "hidden"), True),
        "types[0].fields[1].hidden: unknown key",
    ),
    (
        "bad regex",
        _bad(("fields", 0, "pattern"), "HW[0-9"),
        "types[0].fields[0].pattern: not a valid regular expression",
    ),
    (
        "bad type code check char",
        _bad(("code",), _bad_check_code()),
        "types[0].code: its first 18 characters are not a 统一社会信用代码",
    ),
    (
        "authority code mismatch",
        _bad(("defining_authority_code",), "11100000000013338W"),
        "types[0].defining_authority_code: must equal",
    ),
    (
        "unknown format",
        {**_collection(_local_type_document()), "format": "ezz/catalogue/2"},
        "format: 'ezz/catalogue/2' is not a known format",
    ),
    ("missing format", _local_type_document(), "format: missing"),
    (
        "missing required",
        _collection(_NO_HOLDER),
        "types[0].holder_category: required key is missing",
    ),
    (
        "field type unknown",
        _bad(("fields", 2, "type"), "float"),
        "types[0].fields[2].type: 'float' is not one of",
    ),
    (
        "wrong json type",
        _bad(("fields", 1, "required"), "yes"),
        "types[0].fields[1].required: must be true or false",
    ),
    (
        "float for integer",
        _bad(("default_validity_years",), 3.0),
        "types[0].default_validity_years: must be an integer",
    ),
    (
        "example does not validate",
        _bad(("fields", 0, "example"), "HW1"),
        "types[0].fields[0].example: does not validate",
    ),
    (
        "too many fields",
        _bad(("fields",), _items(201)),
        "types[0].fields: must have 1 to 200 fields",
    ),
    (
        "too many qr fields",
        _bad(("fields",), _items(7, in_qr=True)),
        "types[0].fields: at most 6 fields may go into the QR code",
    ),
    (
        "duplicate field key",
        _bad(("fields", 1, "key"), "KZ_XKZBH"),
        "types[0].fields[1].key: duplicate key KZ_XKZBH",
    ),
    (
        "unknown level",
        _bad(("issuer_levels",), ["街道级"]),
        "types[0].issuer_levels[0]: must be one of",
    ),
    (
        "unknown holder",
        _bad(("holder_category",), "个人"),
        "types[0].holder_category: must be one of",
    ),
    ("bad provenance", _bad(("provenance",), "confirmed"), "types[0].provenance"),
    ("types not array", {"format": CATALOGUE_FORMAT, "types": {}}, "types: must be an array"),
    ("top level array", [_local_type_document()], "must be a JSON object"),
]


@pytest.mark.parametrize(
    ("case", "document", "message"), BAD_DOCUMENTS, ids=[c[0] for c in BAD_DOCUMENTS]
)
def test_bad_catalogue_files(tmp_path: Path, case: str, document: Any, message: str) -> None:
    path = _write(tmp_path / "issuer-catalogue.json", document)
    with pytest.raises(CatalogueError) as info:
        Catalogue.load(path)
    text = str(info.value)
    assert text.startswith(f"{path}: "), text
    assert message in text, text


@pytest.mark.parametrize(
    ("case", "raw", "message"),
    [
        (
            "duplicate json key",
            '{"format": "ezz/catalogue/1", "format": "ezz/catalogue/1", "types": []}',
            "duplicate JSON key 'format'",
        ),
        ("not json", "{format: 1}", "not valid JSON"),
        ("nan", '{"format": "ezz/catalogue/1", "types": [NaN]}', "not valid JSON"),
        ("deep nesting", "[" * 100_000 + "]" * 100_000, "JSON"),
    ],
)
def test_bad_json(tmp_path: Path, case: str, raw: str, message: str) -> None:
    path = tmp_path / "x.json"
    path.write_text(raw, encoding="utf-8")
    with pytest.raises(CatalogueError, match=re.escape(message)) as info:
        Catalogue.load(path)
    assert str(path) in str(info.value)


def test_not_utf8_and_bom(tmp_path: Path) -> None:
    path = tmp_path / "gb18030.json"
    text = json.dumps(_collection(_local_type_document()), ensure_ascii=False)
    path.write_bytes(text.encode("gb18030"))
    with pytest.raises(CatalogueError, match="not UTF-8"):
        Catalogue.load(path)
    path.write_bytes(b"\xef\xbb\xbf" + json.dumps(_collection(_local_type_document())).encode())
    assert len(Catalogue.load(path, include_builtin=False)) == 1


def test_oversized_file(tmp_path: Path) -> None:
    document = _collection(_local_type_document())
    document["types"][0]["description"] = "x" * MAX_FILE_BYTES
    path = _write(tmp_path / "big.json", document)
    expected = rf"{re.escape(str(path))}: larger than {MAX_FILE_BYTES}"
    with pytest.raises(CatalogueError, match=expected):
        Catalogue.load(path)
    with pytest.raises(CatalogueError, match="larger than"):
        Catalogue.from_json(path.read_text(encoding="utf-8"))


def test_from_json(builtin: Catalogue) -> None:
    text = json.dumps(_collection(_local_type_document()), ensure_ascii=False)
    assert len(Catalogue.from_json(text)) == 1
    assert len(Catalogue.from_json(text.encode(), include_builtin=True)) == len(builtin) + 1
    with pytest.raises(CatalogueError, match=r"^peer: format: missing"):
        Catalogue.from_json("{}", source="peer")


# --------------------------------------------------------------------------- robustness

_json_leaf = (
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20)
)
_json = st.recursive(
    _json_leaf,
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner, max_size=4)
    ),
    max_leaves=20,
)
_TYPE_KEYS = sorted(_local_type_document())
_FIELD_KEYS = [
    "key",
    "label",
    "label_en",
    "type",
    "required",
    "max_length",
    "pattern",
    "validator",
    "choices",
    "in_qr",
    "description",
    "example",
    "minimum",
    "maximum",
]


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(document=_json)
def test_random_json_only_raises_catalogue_error(document: object) -> None:
    text = json.dumps(document)
    with contextlib.suppress(CatalogueError):
        Catalogue.from_json(text)
    with contextlib.suppress(CatalogueError):
        Catalogue.from_json(json.dumps({"format": CATALOGUE_FORMAT, "types": [document]}))


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    type_key=st.sampled_from(_TYPE_KEYS),
    field_index=st.integers(min_value=0, max_value=2),
    field_key=st.sampled_from(_FIELD_KEYS),
    value=_json,
    target=st.sampled_from(["type", "field", "delete-type", "delete-field"]),
)
def test_mutated_catalogue_only_raises_catalogue_error(
    type_key: str, field_index: int, field_key: str, value: object, target: str
) -> None:
    document = {"format": CATALOGUE_FORMAT, **_local_type_document()}
    fields = document["fields"]
    if target == "type":
        document[type_key] = value
    elif target == "delete-type":
        document.pop(type_key, None)
    elif target == "field":
        fields[field_index][field_key] = value
    else:
        fields[field_index].pop(field_key, None)
    try:
        catalogue = Catalogue.from_json(json.dumps(document))
    except CatalogueError:
        return
    # What loads is usable: complete examples validate, and unknown keys fail cleanly.
    for licence_type in catalogue.types():
        if all(f.example is not None for f in licence_type.required_fields):
            licence_type.validate_surface(licence_type.example_surface())
        with pytest.raises(LicenceFormatError):
            licence_type.validate_surface({"KZ_UNKNOWN_FIELD": 1})


def test_schema_documents_the_loader() -> None:
    from ezhengzhao import catalogue
    from ezhengzhao.model import ISSUER_LEVELS

    schema = json.loads((DATA.parent / "schema.json").read_text(encoding="utf-8"))
    licence_type = schema["$defs"]["licence_type"]
    surface_field = schema["$defs"]["field"]
    assert set(licence_type["properties"]) - {"format"} == (
        catalogue._TYPE_REQUIRED | catalogue._TYPE_OPTIONAL
    )
    assert set(licence_type["required"]) == catalogue._TYPE_REQUIRED
    assert set(surface_field["properties"]) == catalogue._FIELD_REQUIRED | catalogue._FIELD_OPTIONAL
    assert set(surface_field["required"]) == catalogue._FIELD_REQUIRED
    assert surface_field["properties"]["type"]["enum"] == [t.value for t in FieldType]
    assert surface_field["properties"]["validator"]["enum"] == list(catalogue.VALIDATORS)
    assert licence_type["properties"]["authority_level"]["enum"] == list(ISSUER_LEVELS)
    assert licence_type["properties"]["holder_category"]["enum"] == list(
        catalogue.HOLDER_CATEGORIES
    )
