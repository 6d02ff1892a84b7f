"""Tests of ezhengzhao.codes: 证照标识, 统一社会信用代码, 公民身份号码, 行政区划代码."""

from __future__ import annotations

import dataclasses
from datetime import date

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from ezhengzhao.codes import (
    LICENCE_ID_ROOT,
    PROVINCES,
    USCC,
    IdNumber,
    LicenceId,
    RegionCode,
    build_licence_id,
    id_number_check_char,
    is_valid_id_number,
    is_valid_licence_id,
    is_valid_region_code,
    is_valid_uscc,
    licence_id_check_char,
    make_id_number,
    make_uscc,
    organisation_code_check_char,
    parent_region_codes,
    parse_id_number,
    parse_licence_id,
    parse_region_code,
    parse_uscc,
    province_of,
    uscc_check_char,
)
from ezhengzhao.errors import CodeError, InputError

ALNUM36 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"
USCC_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
USCC_WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)
DIGITS = "0123456789"

STANDARDS_ID = "1.2.156.3005.2.11100000000013338W009.11330105002500287C.2025052201.002.0"
REAL_USCCS = ("91350100M000100Y43", "11100000000013338W", "11330105002500287C")
TODAY = date(2026, 6, 1)


def substitute(text: str, index: int, char: str) -> str:
    return text[:index] + char + text[index + 1 :]


def with_uscc_check(first17: str) -> str:
    """A USCC with a right check character, whatever its region part."""
    return first17 + uscc_check_char(first17)


# --------------------------------------------------------------------------- strategies

region_codes = st.builds(
    lambda province, prefecture, county: (
        province[:2]
        + (f"{prefecture:02d}" if prefecture else "00")
        + (f"{county:02d}" if prefecture and county else "00")
    ),
    st.sampled_from(sorted(PROVINCES)),
    st.integers(0, 99),
    st.integers(0, 99),
)


def _uscc_from(dept: str, kind: str, region: str, org: str) -> str:
    return make_uscc(dept + kind + region + org)


usccs = st.builds(
    _uscc_from,
    st.sampled_from(USCC_ALPHABET),
    st.sampled_from(USCC_ALPHABET),
    region_codes,
    st.text(st.sampled_from(USCC_ALPHABET), min_size=9, max_size=9),
)
type_codes = st.builds(lambda u, n: f"{u}{n:03d}", usccs, st.integers(0, 999))
serials = st.text(st.sampled_from(ALNUM36 + ALNUM36[10:].lower()), min_size=1, max_size=64)
licence_ids = st.builds(build_licence_id, type_codes, usccs, serials, st.integers(1, 999))
births = st.dates(min_value=date(1900, 1, 1), max_value=TODAY)
id_numbers = st.builds(make_id_number, region_codes, births, st.integers(0, 999))

# Anything a caller might hand over at runtime despite the annotations.
junk = st.one_of(
    st.text(),
    st.none(),
    st.integers(),
    st.binary(),
    st.lists(st.text(max_size=3), max_size=3),
)


# --------------------------------------------------------------------------- 证照标识


def test_standards_example_is_valid() -> None:
    parsed = parse_licence_id(STANDARDS_ID)
    assert parsed == LicenceId(
        type_code="11100000000013338W009",
        issuer_code="11330105002500287C",
        serial="2025052201",
        version=2,
        check="0",
        check_ok=True,
    )
    assert str(parsed) == STANDARDS_ID
    assert is_valid_licence_id(STANDARDS_ID)
    assert LICENCE_ID_ROOT == "1.2.156.3005.2"


def test_check_char_ignores_dots() -> None:
    body = "11100000000013338W009.11330105002500287C.2025052201.002"
    assert licence_id_check_char(body) == "0"
    assert licence_id_check_char(body.replace(".", "")) == "0"


def test_build_matches_standards_example() -> None:
    built = build_licence_id("11100000000013338W009", "11330105002500287C", "2025052201", 2)
    assert str(built) == STANDARDS_ID


def test_build_uppercases_serial() -> None:
    built = build_licence_id("11100000000013338W009", "11330105002500287C", "0a1b2c", 1)
    assert built.serial == "0A1B2C"
    assert str(built).endswith(".0A1B2C.001." + built.check)
    assert parse_licence_id(str(built)) == built


@pytest.mark.parametrize(
    ("serial", "reason"),
    [
        ("", "has 0 characters"),
        ("A" * 65, "has 65 characters"),
        ("AB-12", "character '-'"),
        ("ıd", "character 'ı'"),  # uppercases to ASCII "ID": must not slip through
        ("ſ1", "character 'ſ'"),
        ("１２", "character '１'"),
    ],
)
def test_build_rejects_bad_serials(serial: str, reason: str) -> None:
    with pytest.raises(CodeError, match=reason):
        build_licence_id("11100000000013338W009", "11330105002500287C", serial)


@pytest.mark.parametrize("version", [0, 1000, -1, True])
def test_build_rejects_bad_versions(version: int) -> None:
    with pytest.raises(CodeError, match="version"):
        build_licence_id("11100000000013338W009", "11330105002500287C", "1", version)


def test_build_rejects_bad_codes() -> None:
    with pytest.raises(CodeError, match=r"type code .*check character is X, expected W"):
        build_licence_id("11100000000013338X009", "11330105002500287C", "1")
    with pytest.raises(CodeError, match=r"type code .*has 18 characters, expected 21"):
        build_licence_id("11100000000013338W", "11330105002500287C", "1")
    with pytest.raises(CodeError, match="three-digit sequence"):
        build_licence_id("11100000000013338W0A9", "11330105002500287C", "1")
    with pytest.raises(CodeError, match=r"issuer code .*lowercase letter 'c'"):
        build_licence_id("11100000000013338W009", "11330105002500287c", "1")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (STANDARDS_ID[:-1] + "1", "check character is 1, expected 0"),
        (STANDARDS_ID.replace("1.2.156.3005.2", "1.2.156.3005.1"), "does not start with the root"),
        (STANDARDS_ID[:-2], "has 4 segments after the root, expected 5"),
        (STANDARDS_ID + ".0", "has 6 segments after the root"),
        (STANDARDS_ID.replace(".002.", ".000."), "version 000"),
        (STANDARDS_ID.replace(".002.", ".02."), "version 02"),
        (STANDARDS_ID.replace(".2025052201.", ".."), "serial '': has 0 characters"),
        (STANDARDS_ID.replace(".2025052201.", ".2025O522x1."), "lowercase letter 'x'"),
        (STANDARDS_ID[:-1] + "00", "check segment 00: has 2 characters, expected 1"),
        (STANDARDS_ID[:-1] + "a", "lowercase letter 'a'"),
        (STANDARDS_ID.replace("287C", "287D"), "issuer code .*check character is D, expected C"),
        (" " + STANDARDS_ID, "does not start with the root"),
    ],
)
def test_parse_licence_id_errors(text: str, message: str) -> None:
    with pytest.raises(CodeError, match=message) as caught:
        parse_licence_id(text)
    assert str(caught.value).startswith("证照标识 ")
    assert not is_valid_licence_id(text)


def test_wrong_check_is_reported_not_raised_when_not_strict() -> None:
    text = STANDARDS_ID[:-1] + "Z"
    parsed = parse_licence_id(text, strict_check=False)
    assert parsed.check == "Z"
    assert parsed.check_ok is False
    assert str(parsed) == text
    assert parse_licence_id(STANDARDS_ID, strict_check=False).check_ok is True
    # Only the check character is relaxed.
    with pytest.raises(CodeError, match="issuer code"):
        parse_licence_id(text.replace("287C", "287D"), strict_check=False)


def test_licence_id_check_char_rejects_bad_input() -> None:
    with pytest.raises(CodeError, match="is empty"):
        licence_id_check_char("..")
    with pytest.raises(CodeError, match="lowercase letter 'w'"):
        licence_id_check_char("11100000000013338w009")


@pytest.mark.parametrize("position", [14 + 18, 14 + 1 + 21 + 18, len(STANDARDS_ID) - 1])
def test_every_check_position_of_the_example_catches_mutation(position: int) -> None:
    # The type code's USCC check, the issuer's USCC check and the identifier's own check.
    for char in ALNUM36:
        if char != STANDARDS_ID[position]:
            assert not is_valid_licence_id(substitute(STANDARDS_ID, position, char))


def test_every_substitution_of_the_example_is_rejected() -> None:
    for index, original in enumerate(STANDARDS_ID):
        for char in ALNUM36 + ALNUM36.lower() + ".-":
            if char != original:
                assert not is_valid_licence_id(substitute(STANDARDS_ID, index, char))


@given(licence_ids)
def test_licence_id_round_trip(licence_id: LicenceId) -> None:
    text = str(licence_id)
    assert text.startswith(LICENCE_ID_ROOT + ".")
    assert parse_licence_id(text) == licence_id
    assert licence_id.check_ok
    assert is_valid_licence_id(text)


@given(licence_ids, st.data())
def test_any_substitution_of_a_licence_id_is_rejected(
    licence_id: LicenceId, data: st.DataObject
) -> None:
    text = str(licence_id)
    index = data.draw(st.integers(0, len(text) - 1))
    char = data.draw(st.characters())
    assume(char != text[index])
    assert not is_valid_licence_id(substitute(text, index, char))


@given(
    st.text(st.sampled_from(ALNUM36), min_size=1, max_size=120),
    st.data(),
)
def test_mod_37_36_detects_every_single_substitution(body: str, data: st.DataObject) -> None:
    # ISO/IEC 7064 guarantees it; assert it of the check system itself, not of the parser.
    index = data.draw(st.integers(0, len(body) - 1))
    char = data.draw(st.sampled_from(ALNUM36).filter(lambda c: c != body[index]))
    assert licence_id_check_char(substitute(body, index, char)) != licence_id_check_char(body)


# --------------------------------------------------------------------------- 统一社会信用代码


@pytest.mark.parametrize("code", REAL_USCCS)
def test_real_usccs_are_valid(code: str) -> None:
    assert is_valid_uscc(code)
    parsed = parse_uscc(code, check_organisation_code=True)
    assert parsed.organisation_code_ok
    assert str(parsed) == code
    assert uscc_check_char(code[:17]) == code[17]
    assert organisation_code_check_char(code[8:16]) == code[16]


def test_uscc_fields() -> None:
    assert parse_uscc("91350100M000100Y43") == USCC(
        registration_department="9",
        institution_type="1",
        region_code="350100",
        organisation_code="M000100Y4",
        check="3",
        organisation_code_ok=True,
    )


def test_national_region_part_is_accepted() -> None:
    # Central authorities carry 100000, which is not a provincial-level code.
    assert parse_uscc("11100000000013338W").region_code == "100000"
    assert not is_valid_region_code("100000")


def test_uscc_check_31_means_zero() -> None:
    first17 = "91310000MA1FL0003"
    total = sum(USCC_ALPHABET.index(c) * w for c, w in zip(first17, USCC_WEIGHTS, strict=True))
    assert total % 31 == 0  # so 31 − (Σ mod 31) = 31, which the standard writes as "0"
    assert uscc_check_char(first17) == "0"
    assert make_uscc(first17) == first17 + "0"
    assert is_valid_uscc(first17 + "0")
    assert not is_valid_uscc(first17 + "Y")


@pytest.mark.parametrize(("first8", "check"), [("12345001", "X"), ("12345006", "0")])
def test_gb11714_x_and_zero(first8: str, check: str) -> None:
    total = sum(
        ALNUM36.index(c) * w for c, w in zip(first8, (3, 7, 9, 10, 5, 8, 4, 2), strict=True)
    )
    assert 11 - total % 11 == {"X": 10, "0": 11}[check]
    assert organisation_code_check_char(first8) == check


def test_gb11714_letters_count_from_ten() -> None:
    # "M000100Y" from 91350100M000100Y43: M = 22, Y = 34.
    assert organisation_code_check_char("M000100Y") == "4"
    with pytest.raises(CodeError, match="has 7 characters"):
        organisation_code_check_char("M000100")


def test_organisation_code_check_is_optional() -> None:
    first17 = "92330105" + "L12345678"  # an individual business with a non-GB 11714 part
    code = make_uscc(first17)
    assert is_valid_uscc(code)
    parsed = parse_uscc(code)
    assert parsed.organisation_code_ok is False
    with pytest.raises(CodeError, match=r"organisation code \(组织机构代码, GB 11714\) L12345678"):
        parse_uscc(code, check_organisation_code=True)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("91350100M000100Y4", "has 17 characters, expected 18"),
        ("91350100M000100Y42", "check character is 2, expected 3"),
        ("91350100m000100Y43", "lowercase letter 'm' at position 9"),
        ("91350100I000100Y43", "character 'I' at position 9 is not allowed"),
        ("9135010OM000100Y43", "character 'O' at position 8"),
        (with_uscc_check("91990000M000100Y4"), "province part 99"),
        (with_uscc_check("91310005M000100Y4"), "county part 05 under prefecture part 00"),
    ],
)
def test_parse_uscc_errors(text: str, message: str) -> None:
    with pytest.raises(CodeError, match=message) as caught:
        parse_uscc(text)
    assert str(caught.value).startswith("统一社会信用代码 ")
    assert not is_valid_uscc(text)


def test_make_uscc_rejects_bad_region() -> None:
    with pytest.raises(CodeError, match="region part 990000"):
        make_uscc("91990000M000100Y4")


@pytest.mark.parametrize("code", REAL_USCCS)
def test_every_substitution_of_a_real_uscc_is_rejected(code: str) -> None:
    for index, original in enumerate(code):
        for char in ALNUM36 + ALNUM36.lower():
            if char != original:
                assert not is_valid_uscc(substitute(code, index, char))


@given(usccs)
def test_uscc_round_trip(code: str) -> None:
    parsed = parse_uscc(code)
    assert str(parsed) == code
    assert is_valid_uscc(code)


@given(usccs, st.data())
def test_any_substitution_of_a_uscc_is_rejected(code: str, data: st.DataObject) -> None:
    index = data.draw(st.integers(0, 17))
    char = data.draw(st.characters())
    assume(char != code[index])
    assert not is_valid_uscc(substitute(code, index, char))


@given(st.text(st.sampled_from(USCC_ALPHABET), min_size=17, max_size=17), st.data())
def test_mod_31_detects_every_single_substitution(first17: str, data: st.DataObject) -> None:
    index = data.draw(st.integers(0, 16))
    char = data.draw(st.sampled_from(USCC_ALPHABET).filter(lambda c: c != first17[index]))
    assert uscc_check_char(substitute(first17, index, char)) != uscc_check_char(first17)


# --------------------------------------------------------------------------- 公民身份号码


def test_gb11643_example() -> None:
    parsed = parse_id_number("11010519491231002X")
    assert parsed == IdNumber(
        region_code="110105",
        birth_date=date(1949, 12, 31),
        sequence="002",
        sex="female",
        check="X",
    )
    assert str(parsed) == "11010519491231002X"
    assert make_id_number("110105", date(1949, 12, 31), 2) == "11010519491231002X"


def test_lowercase_x_is_normalised() -> None:
    parsed = parse_id_number("11010519491231002x")
    assert parsed.check == "X"
    assert str(parsed) == "11010519491231002X"
    assert is_valid_id_number("11010519491231002x")


def test_sex_from_sequence() -> None:
    male = make_id_number("330106", date(1990, 3, 7), 123)
    assert parse_id_number(male).sex == "male"
    assert parse_id_number(make_id_number("330106", date(1990, 3, 7), 124)).sex == "female"


def test_id_number_error_message_names_term_and_both_checks() -> None:
    first17 = "11010119900307123"
    expected = id_number_check_char(first17)
    wrong = "4" if expected != "4" else "5"
    with pytest.raises(CodeError) as caught:
        parse_id_number(first17 + wrong)
    assert str(caught.value) == (
        f"公民身份号码 {first17}{wrong}: check character is {wrong}, expected {expected}"
    )


def _with_check(first17: str) -> str:
    return first17 + id_number_check_char(first17)


@pytest.mark.parametrize("year", [2000, 2004, 1996])
def test_feb_29_in_leap_years(year: int) -> None:
    parsed = parse_id_number(_with_check(f"310104{year}0229001"))
    assert parsed.birth_date == date(year, 2, 29)


@pytest.mark.parametrize("year", [1900, 1999, 2023])
def test_feb_29_in_other_years(year: int) -> None:
    text = _with_check(f"310104{year}0229001")
    with pytest.raises(CodeError, match=f"birth date {year}0229 is not a calendar date"):
        parse_id_number(text)
    assert not is_valid_id_number(text)


@pytest.mark.parametrize(
    ("first17", "message"),
    [
        ("31010418991231001", "birth year 1899 is before 1900"),
        ("31010419901301001", "birth date 19901301 is not a calendar date"),
        ("31010419900100001", "birth date 19900100 is not a calendar date"),
        ("99010419900101001", "province part 99"),
        ("31000519900101001", "county part 05 under prefecture part 00"),
    ],
)
def test_parse_id_number_errors(first17: str, message: str) -> None:
    with pytest.raises(CodeError, match=message):
        parse_id_number(_with_check(first17))


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("110105491231002", "has 15 digits"),
        ("11010519491231002", "has 17 characters, expected 18"),
        ("1101051949123100X2", "character 'X' at position 17"),
        ("11010519491231002Y", "check character 'Y' is not a digit or X"),
        ("１１0105194912310021", "character '１' at position 1"),
    ],
)
def test_parse_id_number_form_errors(text: str, message: str) -> None:
    with pytest.raises(CodeError, match=message):
        parse_id_number(text)


def test_birth_date_against_today() -> None:
    born_today = make_id_number("110105", TODAY, 1)
    assert parse_id_number(born_today, today=TODAY).birth_date == TODAY
    tomorrow = make_id_number("110105", date(2026, 6, 2), 1)
    with pytest.raises(CodeError, match=r"birth date 2026-06-02 is after today \(2026-06-01\)"):
        parse_id_number(tomorrow, today=TODAY)
    assert not is_valid_id_number(tomorrow, today=TODAY)
    assert is_valid_id_number(tomorrow)  # no clock, no future check


def test_taiwan_resident_region() -> None:
    assert is_valid_id_number(make_id_number("830000", date(1990, 1, 1), 1))


def test_make_id_number_rejects_bad_parts() -> None:
    with pytest.raises(CodeError, match="province part 99"):
        make_id_number("990000", date(1990, 1, 1), 1)
    with pytest.raises(CodeError, match="before 1900"):
        make_id_number("110105", date(1899, 12, 31), 1)
    with pytest.raises(CodeError, match="sequence 1000"):
        make_id_number("110105", date(1990, 1, 1), 1000)
    with pytest.raises(CodeError, match="digits only"):
        id_number_check_char("1101051949123100X")


def test_every_check_substitution_of_an_id_number_is_rejected() -> None:
    text = "11010519491231002X"
    for char in DIGITS:
        assert not is_valid_id_number(substitute(text, 17, char))


@given(id_numbers)
def test_id_number_round_trip(text: str) -> None:
    parsed = parse_id_number(text, today=TODAY)
    assert str(parsed) == text
    assert parsed.sex == ("male" if int(parsed.sequence) % 2 else "female")
    assert make_id_number(parsed.region_code, parsed.birth_date, int(parsed.sequence)) == text


@given(id_numbers, st.data())
def test_any_substitution_of_an_id_number_is_rejected(text: str, data: st.DataObject) -> None:
    index = data.draw(st.integers(0, 17))
    char = data.draw(st.characters())
    assume(char != text[index])
    assume(not (index == 17 and text[17] == "X" and char == "x"))  # the same number
    assert not is_valid_id_number(substitute(text, index, char))


# --------------------------------------------------------------------------- 行政区划代码


def test_provinces_table() -> None:
    assert len(PROVINCES) == 34
    kinds = [p.kind for p in PROVINCES.values()]
    assert (kinds.count("省"), kinds.count("自治区")) == (23, 5)
    assert (kinds.count("直辖市"), kinds.count("特别行政区")) == (4, 2)
    assert PROVINCES["310000"].name == "上海市"
    assert PROVINCES["650000"].name == "新疆维吾尔自治区"
    assert PROVINCES["820000"].name_en == "Macao"
    assert all(code == p.code and code.endswith("0000") for code, p in PROVINCES.items())
    with pytest.raises(TypeError):
        PROVINCES["990000"] = PROVINCES["310000"]  # type: ignore[index]


@pytest.mark.parametrize(
    ("code", "level"),
    [("340000", "province"), ("340100", "prefecture"), ("340104", "county"), ("429004", "county")],
)
def test_parse_region_code_levels(code: str, level: str) -> None:
    assert parse_region_code(code) == RegionCode(code, code[:2] + "0000", level)  # type: ignore[arg-type]
    assert is_valid_region_code(code)


def test_province_of() -> None:
    assert province_of("320506").name == "江苏省"
    assert province_of("340104").name_en == "Anhui"
    assert parse_region_code("500101").province.kind == "直辖市"


def test_parent_region_codes() -> None:
    assert parent_region_codes("340104") == ("340100", "340000")
    assert parent_region_codes("340100") == ("340000",)
    assert parent_region_codes("340000") == ()
    with pytest.raises(CodeError, match="行政区划代码 990000: province part 99"):
        parent_region_codes("990000")


@given(region_codes)
def test_parent_region_codes_walk_up_to_the_province(code: str) -> None:
    parents = parent_region_codes(code)
    chain = (code, *parents)
    assert chain[-1] == province_of(code).code
    assert all(is_valid_region_code(c) for c in chain)
    assert [parse_region_code(c).level for c in chain][::-1] == [
        "province",
        "prefecture",
        "county",
    ][: len(chain)]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("34010", "has 5 characters"),
        ("3401041", "has 7 characters"),
        ("34010a", "character 'a' at position 6"),
        ("３40104", "character '３'"),
        ("000000", "province part 00"),
        ("100000", "province part 10"),
        ("340001", "county part 01 under prefecture part 00"),
    ],
)
def test_region_code_errors(text: str, message: str) -> None:
    with pytest.raises(CodeError, match=message):
        parse_region_code(text)
    assert not is_valid_region_code(text)


# --------------------------------------------------------------------------- all of them


VALIDATORS = (is_valid_licence_id, is_valid_uscc, is_valid_id_number, is_valid_region_code)


@pytest.mark.parametrize("validator", VALIDATORS)
@given(value=junk)
def test_validators_never_raise(validator: object, value: object) -> None:
    assert callable(validator)
    assert validator(value) in (True, False)


@pytest.mark.parametrize(
    "parser", [parse_licence_id, parse_uscc, parse_id_number, parse_region_code]
)
def test_parsers_raise_code_error_for_non_str(parser: object) -> None:
    assert callable(parser)
    with pytest.raises(CodeError, match="expected str, got int"):
        parser(42)


def test_code_error_is_a_value_error() -> None:
    with pytest.raises(ValueError):
        parse_uscc("x")
    assert issubclass(CodeError, InputError)


def test_values_are_frozen_with_slots() -> None:
    values = (
        parse_licence_id(STANDARDS_ID),
        parse_uscc(REAL_USCCS[0]),
        parse_id_number("11010519491231002X"),
        parse_region_code("340104"),
        PROVINCES["340000"],
    )
    for value in values:
        assert hasattr(type(value), "__slots__")
        field = dataclasses.fields(value)[0].name
        with pytest.raises(dataclasses.FrozenInstanceError):
            setattr(value, field, "x")


def test_long_text_is_shortened_in_messages() -> None:
    with pytest.raises(CodeError) as caught:
        parse_uscc("9" * 1000)
    assert len(str(caught.value)) < 200


# -- the check-character arithmetic, against its definitions written out plainly -------------

_ALNUM = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"


def _plain_mod_37_36(body: str) -> str:
    """ISO/IEC 7064 MOD 37,36 step by step, as the standard states it."""
    p = 36
    for char in body:
        p = (p + _ALNUM.index(char)) % 36 or 36
        p = (2 * p) % 37
    return _ALNUM[(37 - p) % 36]


def _plain_org_check(first8: str) -> str:
    weights = (3, 7, 9, 10, 5, 8, 4, 2)
    remainder = 11 - sum(_ALNUM.index(c) * w for c, w in zip(first8, weights, strict=True)) % 11
    return {10: "X", 11: "0"}.get(remainder, str(remainder))


@given(st.text(alphabet=_ALNUM, max_size=80), st.integers(min_value=0, max_value=80))
def test_mod_37_36_by_table_and_from_a_kept_prefix(body: str, cut: int) -> None:
    from ezhengzhao import codes

    expected = _plain_mod_37_36(body)
    assert codes._mod_37_36(body) == expected
    cut = min(cut, len(body))
    assert codes._mod_37_36(body[cut:], codes._mod_37_36_state(body[:cut])) == expected
    assert codes._mod_37_36(body[cut:], codes._mod_37_36_after(body[:cut])) == expected


@given(st.text(alphabet=_ALNUM, min_size=8, max_size=8))
def test_organisation_check_character(first8: str) -> None:
    from ezhengzhao import codes

    assert codes._org_check(first8) == _plain_org_check(first8)


def test_a_str_subclass_cannot_borrow_a_cached_verdict() -> None:
    """The parsers' caches see the plain text a str subclass holds, never its __eq__/__hash__."""
    from ezhengzhao import codes

    good = codes.make_uscc("91310115MA1K4A2B3")

    class Rigged(str):
        def __eq__(self, other: object) -> bool:
            return True

        def __hash__(self) -> int:
            return hash(good)

    assert codes.is_valid_uscc(good)  # now cached
    forged = Rigged(good[:-1] + ("0" if good[-1] != "0" else "1"))
    assert not codes.is_valid_uscc(forged)
    with pytest.raises(CodeError):
        codes.parse_uscc(forged)
