"""Codes a licence carries, with their check characters.

- ``LicenceId`` — 证照标识, GB/T 36904-2018: ``1.2.156.3005.2.<type code>.<issuer USCC>.<serial>
  .<version>.<check>``, check character by ISO/IEC 7064 MOD 37,36 (hybrid system).
- ``USCC`` — 统一社会信用代码 (unified social credit code), GB 32100-2015, MOD 31 check; it
  embeds an organisation code (组织机构代码, GB 11714-1997, MOD 11 check).
- ``IdNumber`` — 公民身份号码 (citizen identity number), GB 11643-1999, ISO 7064 MOD 11-2.
- ``RegionCode`` — 行政区划代码 (administrative division code), GB/T 2260.

Every ``parse_*`` returns a frozen value or raises ``CodeError`` naming what is wrong; every
``is_valid_*`` takes any object and returns a bool, never raising.

Form accepted. Parsers take the canonical form only: no surrounding whitespace, letters in
uppercase; a lowercase letter is reported as such. The one exception is the ``x`` check
character of an ID number, which people write in lowercase so often that it is accepted and
normalised to ``X``. ``build_licence_id`` uppercases the serial, because issuers often derive
it from ``uuid4().hex``, which is lowercase; the identifier it returns is canonical.

Region codes are checked for structure only (6 digits, one of the 34 provincial-level
divisions, a county part only under a prefecture part): the full GB/T 2260 table changes every
year and is not shipped, so an unknown prefecture or county is accepted. A 统一社会信用代码 may
also carry ``100000``, the code central authorities use for the whole country; an ID number may
carry ``830000``, used in the residence permits of Taiwan residents.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from types import MappingProxyType
from typing import Final, Literal

from ezhengzhao.errors import CodeError

__all__ = [
    "LICENCE_ID_ROOT",
    "PROVINCES",
    "USCC",
    "IdNumber",
    "LicenceId",
    "Province",
    "ProvinceKind",
    "RegionCode",
    "RegionLevel",
    "Sex",
    "build_licence_id",
    "id_number_check_char",
    "is_valid_id_number",
    "is_valid_licence_id",
    "is_valid_region_code",
    "is_valid_uscc",
    "licence_id_check_char",
    "make_id_number",
    "make_uscc",
    "organisation_code_check_char",
    "parent_region_codes",
    "parse_id_number",
    "parse_licence_id",
    "parse_region_code",
    "parse_uscc",
    "province_of",
    "uscc_check_char",
]

ProvinceKind = Literal["省", "自治区", "直辖市", "特别行政区"]
RegionLevel = Literal["province", "prefecture", "county"]
Sex = Literal["male", "female"]

LICENCE_ID_ROOT: Final = "1.2.156.3005.2"

_TERM_LICENCE_ID: Final = "证照标识"
_TERM_USCC: Final = "统一社会信用代码"
_TERM_ORG: Final = "组织机构代码"
_TERM_ID_NUMBER: Final = "公民身份号码"
_TERM_REGION: Final = "行政区划代码"

# Membership tests use these strings, not str.isdigit()/isalnum(), which accept non-ASCII
# digits and letters such as "١" or "Ａ".
_DIGITS: Final = "0123456789"
_ALNUM36: Final = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"
_USCC_ALPHABET: Final = "0123456789ABCDEFGHJKLMNPQRTUWXY"
# Character values as dictionaries: every verification checks several codes.
_ALNUM36_VALUE: Final = {c: i for i, c in enumerate(_ALNUM36)}
_USCC_VALUE: Final = {c: i for i, c in enumerate(_USCC_ALPHABET)}
_USCC_WEIGHTS: Final = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)
_ORG_WEIGHTS: Final = (3, 7, 9, 10, 5, 8, 4, 2)
_ID_WEIGHTS: Final = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_ID_CHECKS: Final = "10X98765432"

_NATIONAL_REGION: Final = "100000"  # used in the USCCs of central authorities
_TAIWAN_RESIDENT_REGION: Final = "830000"  # used in ID numbers of Taiwan residents' permits

_SERIAL_MAX: Final = 64


# --------------------------------------------------------------------------- helpers


def _show(text: str) -> str:
    """Text as it goes into an error message: plain when it is short and printable."""
    if text and len(text) <= 80 and text.isprintable() and not any(c.isspace() for c in text):
        return text
    return repr(text[:80]) + ("…" if len(text) > 80 else "")


def _fail(term: str, text: str, problem: str) -> CodeError:
    return CodeError(f"{term} {_show(text)}: {problem}")


def _require_str(term: str, text: object) -> str:
    if not isinstance(text, str):
        raise CodeError(f"{term}: expected str, got {type(text).__name__}")
    # The parsers' caches compare keys with ==: a str subclass is read as the plain text it
    # holds, so its own __eq__ or __hash__ cannot reach another code's cached verdict.
    return text if type(text) is str else str.__str__(text)


def _chars_problem(text: str, allowed: str, describe: str) -> str | None:
    """Name the first character of ``text`` not in ``allowed`` (positions count from 1)."""
    if not text.strip(allowed):  # the common case: every character allowed
        return None
    for position, char in enumerate(text, start=1):
        if char in allowed:
            continue
        if char.upper() in allowed and char.isascii():
            return f"lowercase letter {char!r} at position {position}; letters must be uppercase"
        return f"character {char!r} at position {position} is not allowed ({describe})"
    return None


def _length_problem(text: str, expected: int) -> str | None:
    if len(text) != expected:
        return f"has {len(text)} characters, expected {expected}"
    return None


# --------------------------------------------------------------------------- GB/T 2260


@dataclass(frozen=True, slots=True)
class Province:
    """A provincial-level division — 省级行政区 — of GB/T 2260."""

    code: str
    """Six digits ending in ``0000``, e.g. ``"310000"``."""
    name: str
    name_en: str
    kind: ProvinceKind


def _provinces() -> Mapping[str, Province]:
    rows: tuple[tuple[str, str, str, ProvinceKind], ...] = (
        ("11", "北京市", "Beijing", "直辖市"),
        ("12", "天津市", "Tianjin", "直辖市"),
        ("13", "河北省", "Hebei", "省"),
        ("14", "山西省", "Shanxi", "省"),
        ("15", "内蒙古自治区", "Inner Mongolia", "自治区"),
        ("21", "辽宁省", "Liaoning", "省"),
        ("22", "吉林省", "Jilin", "省"),
        ("23", "黑龙江省", "Heilongjiang", "省"),
        ("31", "上海市", "Shanghai", "直辖市"),
        ("32", "江苏省", "Jiangsu", "省"),
        ("33", "浙江省", "Zhejiang", "省"),
        ("34", "安徽省", "Anhui", "省"),
        ("35", "福建省", "Fujian", "省"),
        ("36", "江西省", "Jiangxi", "省"),
        ("37", "山东省", "Shandong", "省"),
        ("41", "河南省", "Henan", "省"),
        ("42", "湖北省", "Hubei", "省"),
        ("43", "湖南省", "Hunan", "省"),
        ("44", "广东省", "Guangdong", "省"),
        ("45", "广西壮族自治区", "Guangxi", "自治区"),
        ("46", "海南省", "Hainan", "省"),
        ("50", "重庆市", "Chongqing", "直辖市"),
        ("51", "四川省", "Sichuan", "省"),
        ("52", "贵州省", "Guizhou", "省"),
        ("53", "云南省", "Yunnan", "省"),
        ("54", "西藏自治区", "Xizang", "自治区"),
        ("61", "陕西省", "Shaanxi", "省"),
        ("62", "甘肃省", "Gansu", "省"),
        ("63", "青海省", "Qinghai", "省"),
        ("64", "宁夏回族自治区", "Ningxia", "自治区"),
        ("65", "新疆维吾尔自治区", "Xinjiang", "自治区"),
        ("71", "台湾省", "Taiwan", "省"),
        ("81", "香港特别行政区", "Hong Kong", "特别行政区"),
        ("82", "澳门特别行政区", "Macao", "特别行政区"),
    )
    table = {p + "0000": Province(p + "0000", name, en, kind) for p, name, en, kind in rows}
    return MappingProxyType(table)


PROVINCES: Final[Mapping[str, Province]] = _provinces()
"""The 34 provincial-level divisions, keyed by six-digit code (``"310000"``)."""


@dataclass(frozen=True, slots=True)
class RegionCode:
    """An administrative division code — 行政区划代码 — of GB/T 2260.

    ``level`` is structural: ``310100`` (上海市市辖区) is a ``"prefecture"`` because its
    prefecture part is not ``00``.
    """

    code: str
    province_code: str
    level: RegionLevel

    @property
    def province(self) -> Province:
        return PROVINCES[self.province_code]

    def __str__(self) -> str:
        return self.code


def _region_problem(code: str) -> str | None:
    problem = _length_problem(code, 6) or _chars_problem(code, _DIGITS, "digits only")
    if problem:
        return problem
    if code[:2] + "0000" not in PROVINCES:
        return f"province part {code[:2]} is not one of the 34 provincial-level divisions"
    if code[2:4] == "00" and code[4:] != "00":
        return f"county part {code[4:]} under prefecture part 00"
    return None


def parse_region_code(text: str) -> RegionCode:
    """Parse a six-digit GB/T 2260 code, checking its structure (not the full table)."""
    text = _require_str(_TERM_REGION, text)
    problem = _region_problem(text)
    if problem:
        raise _fail(_TERM_REGION, text, problem)
    level: RegionLevel
    if text[4:] != "00":
        level = "county"
    elif text[2:4] != "00":
        level = "prefecture"
    else:
        level = "province"
    return RegionCode(code=text, province_code=text[:2] + "0000", level=level)


def province_of(code: str) -> Province:
    """The provincial-level division a six-digit region code belongs to."""
    return parse_region_code(code).province


def parent_region_codes(code: str) -> tuple[str, ...]:
    """The codes above ``code``, nearest first: ``"340104"`` → ``("340100", "340000")``."""
    region = parse_region_code(code)
    if region.level == "county":
        return (region.code[:4] + "00", region.province_code)
    if region.level == "prefecture":
        return (region.province_code,)
    return ()


def is_valid_region_code(text: str) -> bool:
    """True if ``text`` is a structurally valid GB/T 2260 code."""
    return isinstance(text, str) and _region_problem(text) is None


# --------------------------------------------------------------------------- GB 11714


def _org_check(first8: str) -> str:
    # GB 11714 values digits 0–9 and letters A=10 … Z=35, whatever letter is used.
    total = sum(map(int.__mul__, map(_ALNUM36_VALUE.__getitem__, first8), _ORG_WEIGHTS))
    return _ORG_CHECK_CHARS[11 - total % 11]


# 11 − (Σ mod 11) is 1 … 11: "X" for 10, "0" for 11, the digit otherwise.
_ORG_CHECK_CHARS: Final = ("", "1", "2", "3", "4", "5", "6", "7", "8", "9", "X", "0")


def organisation_code_check_char(first8: str) -> str:
    """The GB 11714 check character of an organisation code's first 8 characters."""
    first8 = _require_str(_TERM_ORG, first8)
    problem = _length_problem(first8, 8) or _chars_problem(
        first8, _ALNUM36, "digits and uppercase letters"
    )
    if problem:
        raise _fail(_TERM_ORG, first8, problem)
    return _org_check(first8)


# --------------------------------------------------------------------------- GB 32100


@dataclass(frozen=True, slots=True)
class USCC:
    """A unified social credit code — 统一社会信用代码 — of GB 32100-2015."""

    registration_department: str
    institution_type: str
    region_code: str
    organisation_code: str
    """Nine characters, GB 11714: eight plus its own check character."""
    check: str
    organisation_code_ok: bool = True
    """Whether the embedded organisation code's check character is right. Real codes exist
    where it is not (some individual businesses carry another nine-character part)."""

    def __str__(self) -> str:
        return (
            self.registration_department
            + self.institution_type
            + self.region_code
            + self.organisation_code
            + self.check
        )


_USCC_DESCRIBE: Final = "digits and uppercase letters except I O S V Z"


def _uscc_check(first17: str) -> str:
    total = sum(map(int.__mul__, map(_USCC_VALUE.__getitem__, first17), _USCC_WEIGHTS))
    # 31 − (Σ mod 31) is 31 when Σ ≡ 0; the standard maps that to "0", hence the final mod.
    return _USCC_ALPHABET[(31 - total % 31) % 31]


def uscc_check_char(first17: str) -> str:
    """The GB 32100 check character of a USCC's first 17 characters."""
    first17 = _require_str(_TERM_USCC, first17)
    problem = _length_problem(first17, 17) or _chars_problem(
        first17, _USCC_ALPHABET, _USCC_DESCRIBE
    )
    if problem:
        raise _fail(_TERM_USCC, first17, problem)
    return _uscc_check(first17)


def _uscc_region_problem(region: str) -> str | None:
    if region == _NATIONAL_REGION:
        return None
    problem = _region_problem(region)
    if problem:
        return f"region part {region} is not a {_TERM_REGION} (GB/T 2260): {problem}"
    return None


# The USCC caches hold the codes that recur — authorities and the companies holding many
# licences — and are kept small so that they stay that: a per-licence code is read afresh.
@functools.lru_cache(maxsize=1024)
def _uscc_problem(text: str) -> str | None:
    """What is wrong with ``text`` as a USCC, ignoring the embedded organisation code."""
    problem = _length_problem(text, 18) or _chars_problem(text, _USCC_ALPHABET, _USCC_DESCRIBE)
    if problem:
        return problem
    expected = _uscc_check(text[:17])
    if text[17] != expected:
        return f"check character is {text[17]}, expected {expected}"
    return _uscc_region_problem(text[2:8])


def _org_code_ok(org: str) -> bool:
    return org[8] == _org_check(org[:8])


def parse_uscc(text: str, *, check_organisation_code: bool = False) -> USCC:
    """Parse a USCC: length, alphabet, check character and region part.

    The embedded GB 11714 organisation code is checked only with
    ``check_organisation_code=True``; otherwise its result is in ``organisation_code_ok``.
    """
    text = _require_str(_TERM_USCC, text)
    return _parse_uscc(text, check_organisation_code)


@functools.lru_cache(maxsize=1024)
def _parse_uscc(text: str, check_organisation_code: bool) -> USCC:
    # Cached: an authority's code is checked on every licence it issues.
    problem = _uscc_problem(text)
    if problem:
        raise _fail(_TERM_USCC, text, problem)
    org = text[8:17]
    org_ok = _org_code_ok(org)
    if check_organisation_code and not org_ok:
        raise _fail(
            _TERM_USCC,
            text,
            f"organisation code ({_TERM_ORG}, GB 11714) {org}: "
            f"check character is {org[8]}, expected {_org_check(org[:8])}",
        )
    return USCC(
        registration_department=text[0],
        institution_type=text[1],
        region_code=text[2:8],
        organisation_code=org,
        check=text[17],
        organisation_code_ok=org_ok,
    )


def is_valid_uscc(text: str) -> bool:
    """True if ``text`` is a USCC: alphabet, check character and region part.

    The embedded organisation code's check is not required (see ``USCC``).
    """
    return isinstance(text, str) and _uscc_problem(_require_str(_TERM_USCC, text)) is None


def make_uscc(first17: str) -> str:
    """``first17`` with its check character appended, e.g. for demonstration data.

    The region part is checked too, so the result passes ``is_valid_uscc``.
    """
    check = uscc_check_char(first17)
    problem = _uscc_region_problem(first17[2:8])
    if problem:
        raise _fail(_TERM_USCC, first17, problem)
    return first17 + check


# --------------------------------------------------------------------------- GB 11643


@dataclass(frozen=True, slots=True)
class IdNumber:
    """A citizen identity number — 公民身份号码 — of GB 11643-1999."""

    region_code: str
    birth_date: date
    sequence: str
    """Three digits; odd for men, even for women."""
    sex: Sex
    check: str

    def __str__(self) -> str:
        return f"{self.region_code}{self.birth_date:%Y%m%d}{self.sequence}{self.check}"


def _id_check(first17: str) -> str:
    return _ID_CHECKS[sum(int(c) * w for c, w in zip(first17, _ID_WEIGHTS, strict=True)) % 11]


def id_number_check_char(first17: str) -> str:
    """The GB 11643 check character (``0``–``9`` or ``X``) of an ID number's first 17 digits."""
    first17 = _require_str(_TERM_ID_NUMBER, first17)
    problem = _length_problem(first17, 17) or _chars_problem(first17, _DIGITS, "digits only")
    if problem:
        raise _fail(_TERM_ID_NUMBER, first17, problem)
    return _id_check(first17)


def _id_region_problem(region: str) -> str | None:
    if region == _TAIWAN_RESIDENT_REGION:
        return None
    problem = _region_problem(region)
    if problem:
        return f"region part {region} is not a {_TERM_REGION} (GB/T 2260): {problem}"
    return None


def _birth_problem(birth: date, today: date | None) -> str | None:
    if birth.year < 1900:
        return f"birth year {birth.year} is before 1900"
    if today is not None and birth > today:
        return f"birth date {birth.isoformat()} is after today ({today.isoformat()})"
    return None


def parse_id_number(text: str, *, today: date | None = None) -> IdNumber:
    """Parse an 18-character ID number; a lowercase ``x`` check is normalised to ``X``.

    The birth date must be a calendar date from 1900 on and, when ``today`` is given, not after
    it. The clock is an argument so that results do not depend on when they are computed.
    """
    text = _require_str(_TERM_ID_NUMBER, text)
    if len(text) == 15 and _chars_problem(text, _DIGITS, "") is None:
        raise _fail(_TERM_ID_NUMBER, text, "has 15 digits (a first-generation number), expected 18")
    problem = _length_problem(text, 18) or _chars_problem(text[:17], _DIGITS, "digits only")
    if problem:
        raise _fail(_TERM_ID_NUMBER, text, problem)
    # Only the check character is normalised; see the module docstring.
    check = "X" if text[17] == "x" else text[17]
    if check not in _DIGITS + "X":
        raise _fail(_TERM_ID_NUMBER, text, f"check character {text[17]!r} is not a digit or X")
    expected = _id_check(text[:17])
    if check != expected:
        raise _fail(_TERM_ID_NUMBER, text, f"check character is {check}, expected {expected}")
    problem = _id_region_problem(text[:6])
    if problem:
        raise _fail(_TERM_ID_NUMBER, text, problem)
    try:
        birth = date(int(text[6:10]), int(text[10:12]), int(text[12:14]))
    except ValueError:
        raise _fail(
            _TERM_ID_NUMBER, text, f"birth date {text[6:14]} is not a calendar date"
        ) from None
    problem = _birth_problem(birth, today)
    if problem:
        raise _fail(_TERM_ID_NUMBER, text, problem)
    sequence = text[14:17]
    return IdNumber(
        region_code=text[:6],
        birth_date=birth,
        sequence=sequence,
        sex="male" if int(sequence) % 2 else "female",
        check=check,
    )


def is_valid_id_number(text: str, *, today: date | None = None) -> bool:
    """True if ``parse_id_number`` accepts ``text``."""
    try:
        parse_id_number(text, today=today)
    except CodeError:
        return False
    return True


def make_id_number(region: str, birth: date, sequence: int) -> str:
    """An ID number from its parts, e.g. for demonstration data; ``sequence`` is 0–999."""
    region = _require_str(_TERM_ID_NUMBER, region)
    problem = _id_region_problem(region)
    if problem:
        raise CodeError(f"{_TERM_ID_NUMBER}: {problem}")
    if not isinstance(birth, date):
        raise CodeError(f"{_TERM_ID_NUMBER}: birth must be a date, got {type(birth).__name__}")
    problem = _birth_problem(birth, None)
    if problem:
        raise CodeError(f"{_TERM_ID_NUMBER}: {problem}")
    if isinstance(sequence, bool) or not isinstance(sequence, int) or not 0 <= sequence <= 999:
        raise CodeError(f"{_TERM_ID_NUMBER}: sequence {sequence!r} is not an integer 0–999")
    first17 = f"{region}{birth:%Y%m%d}{sequence:03d}"
    return first17 + _id_check(first17)


# --------------------------------------------------------------------------- GB/T 36904


@dataclass(frozen=True, slots=True)
class LicenceId:
    """A licence identifier — 证照标识 — of GB/T 36904-2018.

    ``check_ok`` is False only for an identifier parsed with ``strict_check=False`` whose
    check character is wrong; ``check`` then holds the character as found.
    """

    type_code: str
    """21 characters: the defining authority's USCC and a three-digit sequence."""
    issuer_code: str
    """The issuing authority's USCC."""
    serial: str
    version: int
    check: str
    check_ok: bool = True

    def __str__(self) -> str:
        return (
            f"{LICENCE_ID_ROOT}.{self.type_code}.{self.issuer_code}.{self.serial}"
            f".{self.version:03d}.{self.check}"
        )


def _mod_37_36(body: str, state: int = 36) -> str:
    """ISO/IEC 7064 MOD 37,36 check character of ``body`` (characters of ``_ALNUM36``),
    continuing from ``state`` (36 at the start, or what :func:`_mod_37_36_state` returned for
    the characters before ``body``)."""
    return _ALNUM36[(37 - _mod_37_36_state(body, state)) % 36]


def _mod_37_36_state(body: str, state: int = 36) -> int:
    """The MOD 37,36 running value after ``body``: p ← 2·((p + value) mod 36, 0 read as 36)
    mod 37 for each character, taken from a table of every state and character."""
    step = _MOD_37_36_STEP
    for char in body:
        state = step[state][char]
    return state


_MOD_37_36_STEP: Final = tuple(
    {char: (2 * ((p + value) % 36 or 36)) % 37 for char, value in _ALNUM36_VALUE.items()}
    for p in range(37)
)


@functools.lru_cache(maxsize=1024)
def _mod_37_36_after(prefix: str) -> int:
    """The running value after a type code and issuer code: the start of every identifier an
    authority gives one licence type, so it is computed once per pair."""
    return _mod_37_36_state(prefix)


def licence_id_check_char(body: str) -> str:
    """The check character of the segments after the root, without the check segment.

    Dots are ignored: ``"<type>.<issuer>.<serial>.<version>"`` and the same text without
    dots give the same character.
    """
    body = _require_str(_TERM_LICENCE_ID, body)
    joined = body.replace(".", "")
    problem = _chars_problem(joined, _ALNUM36, "digits, uppercase letters and dots")
    if not joined:
        problem = "is empty"
    if problem:
        raise _fail(_TERM_LICENCE_ID, body, problem)
    return _mod_37_36(joined)


def _type_code_problem(code: str) -> str | None:
    problem = _length_problem(code, 21)
    if problem:
        return problem
    problem = _uscc_problem(code[:18])
    if problem:
        return f"its first 18 characters are not a {_TERM_USCC}: {problem}"
    problem = _chars_problem(code[18:], _DIGITS, "digits only")
    if problem:
        return f"its last 3 characters {code[18:]!r} are not a three-digit sequence"
    return None


def _serial_problem(serial: str) -> str | None:
    if not 1 <= len(serial) <= _SERIAL_MAX:
        return f"has {len(serial)} characters, expected 1 to {_SERIAL_MAX}"
    return _chars_problem(serial, _ALNUM36, "digits and uppercase letters")


def _parts_problem(type_code: str, issuer_code: str, serial: str) -> str | None:
    problem = _type_code_problem(type_code)
    if problem:
        return f"type code {_show(type_code)}: {problem}"
    problem = _uscc_problem(issuer_code)
    if problem:
        return f"issuer code {_show(issuer_code)} is not a {_TERM_USCC}: {problem}"
    problem = _serial_problem(serial)
    if problem:
        return f"serial {_show(serial)}: {problem}"
    return None


def build_licence_id(type_code: str, issuer_code: str, serial: str, version: int = 1) -> LicenceId:
    """A new identifier with its check character.

    ``serial`` may use lowercase ASCII letters; they are uppercased (see the module docstring).
    Type and issuer codes must be given in canonical form.
    """
    for name, value in (("type code", type_code), ("issuer code", issuer_code), ("serial", serial)):
        if not isinstance(value, str):
            raise CodeError(f"{_TERM_LICENCE_ID}: {name} must be str, got {type(value).__name__}")
    # Check before uppercasing: str.upper() maps some non-ASCII letters ("ı", "ſ") to ASCII.
    problem: str | None
    if not 1 <= len(serial) <= _SERIAL_MAX:
        problem = f"has {len(serial)} characters, expected 1 to {_SERIAL_MAX}"
    else:
        problem = _chars_problem(serial, _ALNUM36 + _ALNUM36[10:].lower(), "ASCII letters, digits")
    if problem:
        raise CodeError(f"{_TERM_LICENCE_ID}: serial {_show(serial)}: {problem}")
    serial = serial.upper()
    if isinstance(version, bool) or not isinstance(version, int) or not 1 <= version <= 999:
        raise CodeError(f"{_TERM_LICENCE_ID}: version {version!r} is not an integer 1–999")
    problem = _parts_problem(type_code, issuer_code, serial)
    if problem:
        raise CodeError(f"{_TERM_LICENCE_ID}: {problem}")
    check = _mod_37_36(f"{type_code}{issuer_code}{serial}{version:03d}")
    return LicenceId(type_code, issuer_code, serial, version, check)


def parse_licence_id(text: str, *, strict_check: bool = True) -> LicenceId:
    """Parse an identifier: root, the five segments after it, and the check character.

    With ``strict_check=False`` a wrong check character is not an error; the result has
    ``check_ok=False``. GB/T 36904 leaves room for older systems that computed it differently,
    so a verifier may treat that as a warning. Issuers never should.
    """
    text = _require_str(_TERM_LICENCE_ID, text)
    return _parse_licence_id(text, strict_check)


@functools.lru_cache(maxsize=1024)
def _parse_licence_id(text: str, strict_check: bool) -> LicenceId:
    # Cached: a verifier reads each identifier twice (format, then identifier check).
    prefix = LICENCE_ID_ROOT + "."
    if not text.startswith(prefix):
        raise _fail(_TERM_LICENCE_ID, text, f"does not start with the root {prefix}")
    segments = text[len(prefix) :].split(".")
    if len(segments) != 5:
        raise _fail(
            _TERM_LICENCE_ID,
            text,
            f"has {len(segments)} segments after the root, expected 5 "
            "(type code, issuer code, serial, version, check)",
        )
    type_code, issuer_code, serial, version, check = segments
    problem = _parts_problem(type_code, issuer_code, serial)
    if problem:
        raise _fail(_TERM_LICENCE_ID, text, problem)
    if len(version) != 3 or _chars_problem(version, _DIGITS, "") or version == "000":
        raise _fail(_TERM_LICENCE_ID, text, f"version {_show(version)} is not three digits 001–999")
    problem = _length_problem(check, 1) or _chars_problem(
        check, _ALNUM36, "a digit or uppercase letter"
    )
    if problem:
        raise _fail(_TERM_LICENCE_ID, text, f"check segment {_show(check)}: {problem}")
    expected = _mod_37_36(serial + version, _mod_37_36_after(type_code + issuer_code))
    if strict_check and check != expected:
        raise _fail(_TERM_LICENCE_ID, text, f"check character is {check}, expected {expected}")
    return LicenceId(type_code, issuer_code, serial, int(version), check, check == expected)


def is_valid_licence_id(text: str) -> bool:
    """True if ``parse_licence_id`` accepts ``text`` with a correct check character."""
    try:
        parse_licence_id(text)
    except CodeError:
        return False
    return True
