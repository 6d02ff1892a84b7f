"""The licence-type catalogue — 证照目录 (GB/T 36902): which licences exist and what they carry.

A ``LicenceType`` (证照类型) records what GB/T 36902 asks of a catalogue entry — the 21-character
type code (证照类型代码: the defining authority's 18-character 统一社会信用代码 plus a three-digit
sequence), the defining authority and its level, the holder category (自然人 / 法人), the levels
that may issue it, the default validity and the related 事项 — together with the schema of its
surface fields (照面信息), each a ``SurfaceField``. ``LicenceType.validate_surface`` checks and
normalises a licence's surface against that schema; ``SurfaceField.validate`` checks one value.

A ``Catalogue`` maps type codes to types. ``Catalogue.builtin()`` holds the real high-frequency
types shipped in ``catalogue/data/`` (one file per type); an issuing system adds its own with
``Catalogue.load(path)``. Catalogue files are JSON in the versioned format ``ezz/catalogue/1``:
either one type object or ``{"format": "ezz/catalogue/1", "types": [...]}``, and a single type
object carries the ``"format"`` member too. Loading is strict — duplicate or unknown keys, wrong
types, oversized files, invalid regular expressions and examples that do not validate are
refused with a ``CatalogueError`` naming the file and the JSON path.

Value rules (``SurfaceField.validate``):

- ``text``: a string, NFC-normalised and stripped of surrounding white space, at most
  ``max_length`` characters (code points), no control or format characters (a bidi override
  could make a printed name read differently from the signed one; multi-line values are written
  with "；" as on printed cards);
- ``date``: ``"YYYY-MM-DD"``, a real calendar date (a ``datetime.date`` is accepted and written
  in that form; a ``datetime`` is refused as ambiguous);
- ``code``: a string matched in full by ``pattern`` and/or accepted by ``validator`` — one of
  ``uscc``, ``id_number``, ``region_code``, ``licence_id`` (``ezhengzhao.codes``); patterns are
  compiled with ``re.ASCII`` so that ``\\d`` means 0–9 and not full-width digits;
- ``enum``: one of ``choices``;
- ``number``: an ``int`` (never a ``bool`` or ``float``) within ``minimum``/``maximum``. Decimal
  quantities (areas, capital) are printed with their units and kept as ``text``, so integers
  suffice and no rounding question arises in signed data.

An optional field given as ``None`` or ``""`` is treated as absent and left out of the result.
"""

from __future__ import annotations

import enum
import functools
import json
import os
import re
import unicodedata
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from dataclasses import field as dc_field
from datetime import date
from importlib import resources
from pathlib import Path
from types import MappingProxyType
from typing import Final, NoReturn

from ezhengzhao import codes
from ezhengzhao.errors import CatalogueError, CodeError, LicenceFormatError
from ezhengzhao.model import ISSUER_LEVELS, SurfaceValue

__all__ = [
    "CATALOGUE_FORMAT",
    "HOLDER_CATEGORIES",
    "MAX_FIELDS",
    "MAX_FILE_BYTES",
    "MAX_QR_FIELDS",
    "VALIDATORS",
    "Catalogue",
    "FieldType",
    "LicenceType",
    "SurfaceField",
]

CATALOGUE_FORMAT: Final = "ezz/catalogue/1"

#: Holder category (持证主体类别) → 持证主体代码类型 (GB/T 36903):
#: 111 公民身份号码, 001 统一社会信用代码.
HOLDER_CATEGORIES: Final[Mapping[str, str]] = MappingProxyType({"自然人": "111", "法人": "001"})

#: Named code checks a ``code`` field may use, with the term an error message names.
VALIDATORS: Final[Mapping[str, str]] = MappingProxyType(
    {
        "uscc": "统一社会信用代码 (unified social credit code, GB 32100)",
        "id_number": "公民身份号码 (citizen ID number, GB 11643)",
        "region_code": "行政区划代码 (region code, GB/T 2260)",
        "licence_id": "证照标识 (licence identifier, GB/T 36904)",
    }
)

MAX_FILE_BYTES: Final = 1024 * 1024
MAX_FIELDS: Final = 200
#: The QR code carries only the few fields that identify a licence at a window; more would
#: push it past the size a phone camera reads reliably from a printed card.
MAX_QR_FIELDS: Final = 6
_MAX_QR_LENGTH: Final = 200
_MAX_TYPES_PER_FILE: Final = 1000
_MAX_FILES: Final = 1000
_MAX_MAX_LENGTH: Final = 10000
_MAX_RAW_LENGTH: Final = 4 * _MAX_MAX_LENGTH
#: Cap for code values without ``max_length``: values are length-checked before any regular
#: expression sees them, so a catalogue pattern cannot be made to backtrack over megabytes.
_CODE_DEFAULT_MAX: Final = 256
_MAX_PATTERN: Final = 500
_MAX_CHOICES: Final = 200

_TYPE_CODE_SEQUENCE = re.compile(r"[0-9]{3}", re.ASCII)
_KEY = re.compile(r"[A-Za-z][A-Za-z0-9_]{0,63}", re.ASCII)
_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}", re.ASCII)
_PROVENANCE = re.compile(r"confirmed \(.{1,500}\)|unconfirmed(?: \(.{1,500}\))?", re.DOTALL)
_BAD_CATEGORIES: Final = frozenset({"Cc", "Cf", "Cs", "Zl", "Zp"})


class FieldType(enum.StrEnum):
    """The type of a surface field's value — 照面项数据类型."""

    TEXT = "text"
    DATE = "date"
    CODE = "code"
    ENUM = "enum"
    NUMBER = "number"


_FIELD_TYPES: Final = frozenset(t.value for t in FieldType)


class _SpecError(CatalogueError):
    """A catalogue definition problem at ``where`` (a path relative to the object checked)."""

    def __init__(self, where: str, problem: str) -> None:
        self.where = where
        self.problem = problem
        super().__init__(f"{where}: {problem}" if where else problem)


# --------------------------------------------------------------------------- value checks


def _check_uscc(text: str) -> str:
    codes.parse_uscc(text)
    return text


def _check_licence_id(text: str) -> str:
    codes.parse_licence_id(text)
    return text


# Each returns the normalised value (an ID number's "x" check becomes "X") or raises CodeError.
_CODE_CHECKS: Final[Mapping[str, Callable[[str], str]]] = MappingProxyType(
    {
        "uscc": _check_uscc,
        "id_number": lambda text: str(codes.parse_id_number(text)),
        "region_code": lambda text: str(codes.parse_region_code(text)),
        "licence_id": _check_licence_id,
    }
)


def _bad_char(text: str) -> str | None:
    # Printable text has no character of a bad category (str.isprintable refuses all of Cc,
    # Cf, Cs, Zl and Zp, from the same Unicode database); one C call answers for the usual
    # values, and only text with, say, an ideographic space U+3000 is looked at character by
    # character.
    if text.isprintable():
        return None
    for char in text:
        if unicodedata.category(char) in _BAD_CATEGORIES:
            return f"U+{ord(char):04X}"
    return None


def _fail(path: str, problem: str) -> NoReturn:
    raise LicenceFormatError(path, problem)


# --------------------------------------------------------------------------- the model


@dataclass(frozen=True, slots=True)
class SurfaceField:
    """A surface field — 照面项 — of a licence type: its key, labels, type and limits.

    ``key`` is what issuing systems call it (``KZ_`` plus the pinyin initials of the Chinese
    label in the shipped catalogue, e.g. ``KZ_ZS`` 住所). ``in_qr`` marks the few fields that go
    into the offline QR code. ``example`` is a realistic value that validates, used for demo
    data. Constructing a field checks its definition and raises ``CatalogueError``.
    """

    key: str
    label: str
    label_en: str
    type: FieldType
    required: bool = False
    max_length: int | None = None
    pattern: str | None = None
    validator: str | None = None
    choices: tuple[str, ...] = ()
    in_qr: bool = False
    description: str = ""
    example: SurfaceValue | None = None
    minimum: int | None = None
    maximum: int | None = None
    _regex: re.Pattern[str] | None = dc_field(init=False, repr=False, compare=False, hash=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "type", _field_type(self.type))
        object.__setattr__(self, "choices", tuple(self.choices))
        object.__setattr__(self, "_regex", None)
        self._check_definition()
        if self.pattern is not None:
            try:
                regex = re.compile(self.pattern, re.ASCII)
            except (re.error, RecursionError, OverflowError, ValueError) as exc:
                raise _SpecError("pattern", f"not a valid regular expression: {exc}") from None
            object.__setattr__(self, "_regex", regex)
        if self.example is not None:
            try:
                normalised = self.validate(self.example, "example")
            except LicenceFormatError as exc:
                raise _SpecError("example", f"does not validate: {exc.problem}") from None
            if normalised != self.example:
                raise _SpecError("example", f"is not in normalised form (expected {normalised!r})")

    def _check_definition(self) -> None:
        kind = self.type
        if not _KEY.fullmatch(self.key):
            raise _SpecError("key", "must be an ASCII identifier of 1 to 64 characters")
        for name, value, limit in (
            ("label", self.label, 50),
            ("label_en", self.label_en, 100),
            ("description", self.description, 1000),
        ):
            if name != "description" and not value.strip():
                raise _SpecError(name, "must not be empty")
            if len(value) > limit:
                raise _SpecError(name, f"is longer than {limit} characters")
            if _bad_char(value):
                raise _SpecError(name, "contains a control character")
        if self.max_length is not None:
            if kind not in (FieldType.TEXT, FieldType.CODE):
                raise _SpecError("max_length", f"applies to text and code fields, not {kind}")
            if not 1 <= self.max_length <= _MAX_MAX_LENGTH:
                raise _SpecError("max_length", f"must be between 1 and {_MAX_MAX_LENGTH}")
        elif kind == FieldType.TEXT:
            raise _SpecError("max_length", "is required for a text field")
        if self.pattern is not None:
            if kind not in (FieldType.TEXT, FieldType.CODE):
                raise _SpecError("pattern", f"applies to text and code fields, not {kind}")
            if not 1 <= len(self.pattern) <= _MAX_PATTERN:
                raise _SpecError("pattern", f"must be 1 to {_MAX_PATTERN} characters")
        if self.validator is not None:
            if kind != FieldType.CODE:
                raise _SpecError("validator", f"applies to code fields, not {kind}")
            if self.validator not in VALIDATORS:
                raise _SpecError(
                    "validator", f"{self.validator!r} is not one of {', '.join(VALIDATORS)}"
                )
        if kind == FieldType.CODE and self.pattern is None and self.validator is None:
            raise _SpecError("pattern", "a code field needs a pattern or a validator")
        if kind == FieldType.ENUM:
            if not 1 <= len(self.choices) <= _MAX_CHOICES:
                raise _SpecError("choices", f"an enum field needs 1 to {_MAX_CHOICES} choices")
            for i, choice in enumerate(self.choices):
                if not choice or choice != choice.strip() or len(choice) > 100:
                    raise _SpecError(f"choices[{i}]", "must be 1 to 100 characters, unpadded")
                if _bad_char(choice) or unicodedata.normalize("NFC", choice) != choice:
                    raise _SpecError(f"choices[{i}]", "has a control character or is not NFC")
            if len(set(self.choices)) != len(self.choices):
                raise _SpecError("choices", "has duplicates")
        elif self.choices:
            raise _SpecError("choices", f"applies to enum fields, not {kind}")
        if kind == FieldType.NUMBER:
            lo, hi = self.minimum, self.maximum
            if lo is not None and hi is not None and lo > hi:
                raise _SpecError("minimum", "is greater than maximum")
        elif self.minimum is not None or self.maximum is not None:
            raise _SpecError("minimum", f"minimum and maximum apply to number fields, not {kind}")
        bounded = self.validator is not None or (
            self.max_length is not None and self.max_length <= _MAX_QR_LENGTH
        )
        if self.in_qr and kind in (FieldType.TEXT, FieldType.CODE) and not bounded:
            raise _SpecError(
                "in_qr", f"a QR field needs max_length ≤ {_MAX_QR_LENGTH} or a validator"
            )

    @property
    def _name(self) -> str:
        return f"{self.label} ({self.label_en})"

    @property
    def length_limit(self) -> int | None:
        """The longest value accepted, in characters (None for dates, enums and numbers)."""
        if self.type == FieldType.TEXT:
            return self.max_length
        if self.type == FieldType.CODE:
            return self.max_length or _CODE_DEFAULT_MAX
        return None

    def validate(self, value: object, path: str) -> SurfaceValue:
        """Return ``value`` checked and normalised, or raise ``LicenceFormatError(path, …)``."""
        kind = self.type
        if kind == FieldType.NUMBER:
            return self._validate_number(value, path)
        if kind == FieldType.DATE and type(value) is date:
            return value.isoformat()
        if not isinstance(value, str):
            _fail(path, f"{self._name} must be a string, not {type(value).__name__}")
        if len(value) > _MAX_RAW_LENGTH:
            # Refuse before normalising: no field holds anything near this long.
            _fail(path, f"{self._name} has {len(value)} characters, far too many")
        bad = _bad_char(value)
        if bad:
            _fail(path, f"{self._name} contains a control character ({bad})")
        # strip() also removes U+3000, the ideographic space Chinese input methods type.
        text = unicodedata.normalize("NFC", value).strip()
        if not text:
            _fail(path, f"{self._name} must not be empty")
        if kind == FieldType.DATE:
            return self._validate_date(text, path)
        if kind == FieldType.ENUM:
            if text not in self.choices:
                _fail(path, f"{self._name} must be one of {'、'.join(self.choices)}")
            return text
        limit = self.length_limit
        if limit is not None and len(text) > limit:
            _fail(path, f"{self._name} has {len(text)} characters, at most {limit}")
        if self._regex is not None and not self._regex.fullmatch(text):
            _fail(path, f"{self._name} does not match the format {self.pattern}")
        if self.validator is not None:
            try:
                text = _CODE_CHECKS[self.validator](text)
            except CodeError as exc:
                # The code parser echoes the value; a path and the reason are enough here,
                # and ID numbers should not end up in logs.
                reason = str(exc).replace(text, "…")
                _fail(path, f"not a valid {VALIDATORS[self.validator]}: {reason}")
        return text

    def _validate_number(self, value: object, path: str) -> int:
        if isinstance(value, bool) or not isinstance(value, int):
            _fail(path, f"{self._name} must be an integer, not {type(value).__name__}")
        if self.minimum is not None and value < self.minimum:
            _fail(path, f"{self._name} is {value}, at least {self.minimum}")
        if self.maximum is not None and value > self.maximum:
            _fail(path, f"{self._name} is {value}, at most {self.maximum}")
        return value

    def _validate_date(self, text: str, path: str) -> str:
        if not _DATE.fullmatch(text):
            _fail(path, f"{self._name} must be a date YYYY-MM-DD")
        try:
            return date.fromisoformat(text).isoformat()
        except ValueError:
            _fail(path, f"{self._name} {text} is not a calendar date")


def _field_type(value: object) -> FieldType:
    if isinstance(value, FieldType):
        return value
    if isinstance(value, str) and value in _FIELD_TYPES:
        return FieldType(value)
    known = ", ".join(t.value for t in FieldType)
    raise _SpecError("type", f"{value!r} is not one of {known}")


@dataclass(frozen=True, slots=True)
class LicenceType:
    """A licence type — 证照类型 — as catalogued under GB/T 36902.

    ``code`` is the 21-character 证照类型代码; its first 18 characters are the defining
    authority's 统一社会信用代码 (``defining_authority_code``). ``default_validity_years`` is
    None for licences without an end date (长期). ``provenance`` says where the code and the
    facts come from: ``"confirmed (source)"`` or ``"unconfirmed"`` (with an optional note).
    Constructing a type checks its definition and raises ``CatalogueError``.
    """

    code: str
    name: str
    name_en: str
    defining_authority: str
    defining_authority_code: str
    authority_level: str
    holder_category: str
    issuer_levels: tuple[str, ...]
    default_validity_years: int | None
    fields: tuple[SurfaceField, ...]
    related_items: tuple[str, ...] = ()
    title: str = ""
    version: int = 1
    provenance: str = "unconfirmed"
    description: str = ""
    _by_key: Mapping[str, SurfaceField] = dc_field(
        init=False, repr=False, compare=False, hash=False
    )

    def __post_init__(self) -> None:
        object.__setattr__(self, "issuer_levels", tuple(self.issuer_levels))
        object.__setattr__(self, "fields", tuple(self.fields))
        object.__setattr__(self, "related_items", tuple(self.related_items))
        if not self.title:
            object.__setattr__(self, "title", self.name)
        self._check_definition()
        by_key: dict[str, SurfaceField] = {}
        for i, surface_field in enumerate(self.fields):
            if surface_field.key in by_key:
                raise _SpecError(f"fields[{i}].key", f"duplicate key {surface_field.key}")
            by_key[surface_field.key] = surface_field
        object.__setattr__(self, "_by_key", MappingProxyType(by_key))

    def _check_definition(self) -> None:
        code = self.code
        if len(code) != 21:
            raise _SpecError("code", f"a 证照类型代码 has 21 characters, not {len(code)}")
        try:
            codes.parse_uscc(code[:18])
        except CodeError as exc:
            raise _SpecError(
                "code", f"its first 18 characters are not a 统一社会信用代码: {exc}"
            ) from None
        if not _TYPE_CODE_SEQUENCE.fullmatch(code[18:]):
            raise _SpecError("code", f"its last 3 characters {code[18:]!r} are not digits")
        if self.defining_authority_code != code[:18]:
            raise _SpecError(
                "defining_authority_code",
                f"must equal the first 18 characters of code, {code[:18]}",
            )
        for name, value, limit in (
            ("name", self.name, 100),
            ("name_en", self.name_en, 200),
            ("defining_authority", self.defining_authority, 100),
            ("title", self.title, 100),
        ):
            if not value.strip() or len(value) > limit or _bad_char(value):
                raise _SpecError(name, f"must be 1 to {limit} printable characters")
        if len(self.description) > 2000:
            raise _SpecError("description", "is longer than 2000 characters")
        if self.authority_level not in ISSUER_LEVELS:
            raise _SpecError("authority_level", f"must be one of {'/'.join(ISSUER_LEVELS)}")
        if self.holder_category not in HOLDER_CATEGORIES:
            raise _SpecError("holder_category", f"must be one of {'/'.join(HOLDER_CATEGORIES)}")
        if not self.issuer_levels:
            raise _SpecError("issuer_levels", "must name at least one level")
        for i, level in enumerate(self.issuer_levels):
            if level not in ISSUER_LEVELS:
                raise _SpecError(f"issuer_levels[{i}]", f"must be one of {'/'.join(ISSUER_LEVELS)}")
        if len(set(self.issuer_levels)) != len(self.issuer_levels):
            raise _SpecError("issuer_levels", "has duplicates")
        years = self.default_validity_years
        if years is not None and not 1 <= years <= 100:
            raise _SpecError("default_validity_years", "must be 1 to 100, or null for 长期")
        if not 1 <= self.version <= 9999:
            raise _SpecError("version", "must be 1 to 9999")
        if not _PROVENANCE.fullmatch(self.provenance):
            raise _SpecError(
                "provenance", 'must be "confirmed (source)" or "unconfirmed" with an optional note'
            )
        if len(self.related_items) > 100:
            raise _SpecError("related_items", "has more than 100 entries")
        for i, item in enumerate(self.related_items):
            if not item.strip() or len(item) > 200:
                raise _SpecError(f"related_items[{i}]", "must be 1 to 200 characters")
        if not 1 <= len(self.fields) <= MAX_FIELDS:
            raise _SpecError("fields", f"must have 1 to {MAX_FIELDS} fields")
        if sum(f.in_qr for f in self.fields) > MAX_QR_FIELDS:
            raise _SpecError("fields", f"at most {MAX_QR_FIELDS} fields may go into the QR code")

    @property
    def holder_code_type(self) -> str:
        """持证主体代码类型: ``"111"`` (公民身份号码) for 自然人, ``"001"`` (USCC) for 法人."""
        return HOLDER_CATEGORIES[self.holder_category]

    @property
    def qr_fields(self) -> tuple[SurfaceField, ...]:
        """The fields that go into the offline QR code, in catalogue order."""
        return tuple(f for f in self.fields if f.in_qr)

    @property
    def required_fields(self) -> tuple[SurfaceField, ...]:
        return tuple(f for f in self.fields if f.required)

    def field(self, key: str) -> SurfaceField:
        """The surface field ``key``; ``CatalogueError`` if the type has none."""
        try:
            return self._by_key[key]
        except (KeyError, TypeError):
            raise CatalogueError(
                f"licence type {self.code} ({self.name}) has no surface field {key!r}"
            ) from None

    def example_surface(self) -> dict[str, SurfaceValue]:
        """The fields' ``example`` values, for demonstration data (fields without one omitted)."""
        return {f.key: f.example for f in self.fields if f.example is not None}

    def validate_surface(
        self, surface: Mapping[str, object], path: str = "surface"
    ) -> dict[str, SurfaceValue]:
        """Check ``surface`` against the schema and return it normalised, in catalogue order.

        Unknown keys, missing required fields and bad values raise ``LicenceFormatError`` for
        the first problem, with a path such as ``surface.KZ_ZS``.
        """
        if not isinstance(surface, Mapping):
            _fail(path, f"must be an object, not {type(surface).__name__}")
        for key in sorted(surface, key=str):
            if not isinstance(key, str):
                _fail(f"{path}[{key!r}]", "surface keys must be strings")
            if key not in self._by_key:
                _fail(
                    _child(path, key),
                    f"unknown field for licence type {self.code} ({self.name})",
                )
        result: dict[str, SurfaceValue] = {}
        for surface_field in self.fields:
            child = _child(path, surface_field.key)
            value = surface.get(surface_field.key)
            if value is None or value == "":
                if surface_field.required:
                    _fail(
                        child,
                        f"required field {surface_field.label} ({surface_field.label_en}) "
                        "is missing",
                    )
                continue
            result[surface_field.key] = surface_field.validate(value, child)
        return result


def _child(path: str, key: str) -> str:
    step = key if _KEY.fullmatch(key) else repr(key)
    return f"{path}.{step}" if path else step


# --------------------------------------------------------------------------- the catalogue


class Catalogue:
    """An immutable set of licence types keyed by type code — 证照目录.

    Iterating yields the ``LicenceType`` objects, sorted by code; ``codes()`` gives the codes,
    ``in`` takes a code, and ``get`` and ``[]`` return the type or raise ``CatalogueError``.
    Two definitions of one code are accepted only if they are equal.
    """

    __slots__ = ("_sources", "_types")

    def __init__(self, types: Iterable[LicenceType] = (), *, source: str = "<code>") -> None:
        merged: dict[str, LicenceType] = {}
        sources: dict[str, str] = {}
        _merge(merged, sources, ((source, t) for t in types))
        self._types: Mapping[str, LicenceType] = MappingProxyType(dict(sorted(merged.items())))
        self._sources: Mapping[str, str] = MappingProxyType(sources)

    @classmethod
    def builtin(cls) -> Catalogue:
        """The licence types shipped with ezhengzhao (loaded once, then cached)."""
        return _builtin()

    @classmethod
    def load(
        cls, path: str | os.PathLike[str] | None = None, *, include_builtin: bool = True
    ) -> Catalogue:
        """A catalogue from a file or a directory of ``*.json`` files, merged with the builtin.

        Every problem raises ``CatalogueError`` naming the file and the JSON path.
        """
        entries: list[tuple[str, LicenceType]] = []
        if include_builtin:
            builtin = _builtin()
            entries.extend((builtin._sources[t.code], t) for t in builtin.types())
        if path is not None:
            for file in _catalogue_files(Path(path)):
                entries.extend((str(file), t) for t in _parse(_read(file), str(file)))
        return cls._from_entries(entries)

    @classmethod
    def from_json(
        cls, data: str | bytes, *, source: str = "<json>", include_builtin: bool = False
    ) -> Catalogue:
        """A catalogue from the text of one catalogue file (e.g. received over the network)."""
        if isinstance(data, str):
            if len(data) > MAX_FILE_BYTES:
                raise CatalogueError(f"{source}: larger than {MAX_FILE_BYTES} bytes")
            try:
                data = data.encode("utf-8")
            except UnicodeEncodeError:
                raise CatalogueError(f"{source}: not encodable as UTF-8") from None
        if len(data) > MAX_FILE_BYTES:
            raise CatalogueError(f"{source}: larger than {MAX_FILE_BYTES} bytes")
        entries: list[tuple[str, LicenceType]] = []
        if include_builtin:
            builtin = _builtin()
            entries.extend((builtin._sources[t.code], t) for t in builtin.types())
        entries.extend((source, t) for t in _parse(data, source))
        return cls._from_entries(entries)

    @classmethod
    def _from_entries(cls, entries: Iterable[tuple[str, LicenceType]]) -> Catalogue:
        merged: dict[str, LicenceType] = {}
        sources: dict[str, str] = {}
        _merge(merged, sources, entries)
        catalogue = cls.__new__(cls)
        catalogue._types = MappingProxyType(dict(sorted(merged.items())))
        catalogue._sources = MappingProxyType(sources)
        return catalogue

    def get(self, code: str) -> LicenceType:
        """The licence type with 证照类型代码 ``code``; ``CatalogueError`` if unknown."""
        try:
            return self._types[code]
        except (KeyError, TypeError):
            raise CatalogueError(f"unknown licence type code {code!r}") from None

    __getitem__ = get

    def by_name(self, name: str) -> LicenceType:
        """The one licence type called ``name`` (its name or printed title)."""
        found = [t for t in self._types.values() if name in (t.name, t.title)]
        if not found:
            raise CatalogueError(f"no licence type named {name!r}")
        if len(found) > 1:
            codes = ", ".join(t.code for t in found)
            raise CatalogueError(f"licence type name {name!r} is ambiguous: {codes}")
        return found[0]

    def codes(self) -> tuple[str, ...]:
        """All type codes, sorted."""
        return tuple(self._types)

    def types(self) -> tuple[LicenceType, ...]:
        """All licence types, sorted by code."""
        return tuple(self._types.values())

    def source(self, code: str) -> str:
        """Where the type ``code`` was loaded from (a file name, or ``<code>``)."""
        self.get(code)
        return self._sources[code]

    def __iter__(self) -> Iterator[LicenceType]:
        return iter(self._types.values())

    def __len__(self) -> int:
        return len(self._types)

    def __contains__(self, code: object) -> bool:
        return isinstance(code, str) and code in self._types

    def __repr__(self) -> str:
        return f"Catalogue({len(self)} types)"


def _merge(
    merged: dict[str, LicenceType],
    sources: dict[str, str],
    entries: Iterable[tuple[str, LicenceType]],
) -> None:
    for source, licence_type in entries:
        if not isinstance(licence_type, LicenceType):
            raise CatalogueError(f"{source}: not a LicenceType: {type(licence_type).__name__}")
        known = merged.get(licence_type.code)
        if known is None:
            merged[licence_type.code] = licence_type
            sources[licence_type.code] = source
        elif known != licence_type:
            raise CatalogueError(
                f"{source}: licence type {licence_type.code} ({licence_type.name}) is already "
                f"defined differently in {sources[licence_type.code]}"
            )


@functools.cache
def _builtin() -> Catalogue:
    data = resources.files(__name__).joinpath("data")
    entries: list[tuple[str, LicenceType]] = []
    for item in sorted(data.iterdir(), key=lambda i: i.name):
        if item.name.endswith(".json") and item.is_file():
            source = f"ezhengzhao/catalogue/data/{item.name}"
            entries.extend((source, t) for t in _parse(item.read_bytes(), source))
    if not entries:
        raise CatalogueError("the builtin catalogue (ezhengzhao/catalogue/data) is empty")
    return Catalogue._from_entries(entries)


# --------------------------------------------------------------------------- reading files


def _catalogue_files(path: Path) -> list[Path]:
    try:
        if path.is_dir():
            files = sorted(p for p in path.iterdir() if p.suffix == ".json" and p.is_file())
            if not files:
                raise CatalogueError(f"{path}: no *.json catalogue files in this directory")
            if len(files) > _MAX_FILES:
                raise CatalogueError(f"{path}: more than {_MAX_FILES} catalogue files")
            return files
        if not path.exists():
            raise CatalogueError(f"{path}: no such catalogue file or directory")
    except OSError as exc:
        raise CatalogueError(f"{path}: cannot read: {exc.strerror or exc}") from None
    return [path]


def _read(path: Path) -> bytes:
    try:
        if path.stat().st_size > MAX_FILE_BYTES:
            raise CatalogueError(f"{path}: larger than {MAX_FILE_BYTES} bytes")
        with path.open("rb") as stream:
            # Read one byte more than allowed: the size from stat() can be stale or zero
            # (pipes, /proc), and the limit must hold for what is actually read.
            data = stream.read(MAX_FILE_BYTES + 1)
    except OSError as exc:
        raise CatalogueError(f"{path}: cannot read: {exc.strerror or exc}") from None
    if len(data) > MAX_FILE_BYTES:
        raise CatalogueError(f"{path}: larger than {MAX_FILE_BYTES} bytes")
    return data


def _no_duplicates(pairs: list[tuple[str, object]]) -> dict[str, object]:
    result: dict[str, object] = {}
    for key, value in pairs:
        if key in result:
            raise _DuplicateKey(key)
        result[key] = value
    return result


class _DuplicateKey(ValueError):
    def __init__(self, key: str) -> None:
        super().__init__(key)
        self.key = key


def _reject_constant(name: str) -> NoReturn:
    raise ValueError(f"{name} is not valid JSON")


def _parse(data: bytes, source: str) -> list[LicenceType]:
    """Every licence type in one catalogue file, checked; ``CatalogueError`` otherwise."""
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]  # a byte-order mark, as some Windows editors write
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise CatalogueError(f"{source}: not UTF-8 (byte {exc.start})") from None
    try:
        document = json.loads(
            text, object_pairs_hook=_no_duplicates, parse_constant=_reject_constant
        )
    except _DuplicateKey as exc:
        raise CatalogueError(f"{source}: duplicate JSON key {exc.key!r}") from None
    except RecursionError:
        raise CatalogueError(f"{source}: JSON nested too deeply") from None
    except ValueError as exc:
        raise CatalogueError(f"{source}: not valid JSON: {exc}") from None
    reader = _Reader(source)
    if not isinstance(document, dict):
        reader.fail("", "a catalogue file must be a JSON object")
    if "format" not in document:
        reader.fail("format", f'missing; expected "{CATALOGUE_FORMAT}"')
    if document["format"] != CATALOGUE_FORMAT:
        known = f'"{CATALOGUE_FORMAT}"'
        reader.fail("format", f"{document['format']!r} is not a known format ({known})")
    if "types" not in document:
        return [reader.licence_type(document, "", top_level=True)]
    reader.keys(document, "", required={"format", "types"}, optional=set())
    items = document["types"]
    if not isinstance(items, list):
        reader.fail("types", f"must be an array, not {_json_type(items)}")
    if len(items) > _MAX_TYPES_PER_FILE:
        reader.fail("types", f"has more than {_MAX_TYPES_PER_FILE} entries")
    return [reader.licence_type(item, f"types[{i}]") for i, item in enumerate(items)]


def _json_type(value: object) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "an array"
    return "an object"


_TYPE_REQUIRED: Final = frozenset(
    {
        "code",
        "name",
        "name_en",
        "defining_authority",
        "defining_authority_code",
        "authority_level",
        "holder_category",
        "issuer_levels",
        "default_validity_years",
        "fields",
    }
)
_TYPE_OPTIONAL: Final = frozenset(
    {"related_items", "title", "version", "provenance", "description"}
)
_FIELD_REQUIRED: Final = frozenset({"key", "label", "label_en", "type"})
_FIELD_OPTIONAL: Final = frozenset(
    {
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
    }
)


class _Reader:
    """Turns parsed JSON into model objects, naming ``source`` and the JSON path on errors."""

    def __init__(self, source: str) -> None:
        self.source = source

    def fail(self, path: str, problem: str) -> NoReturn:
        where = f"{path}: " if path else ""
        raise CatalogueError(f"{self.source}: {where}{problem}")

    def keys(
        self, obj: dict[str, object], path: str, *, required: Iterable[str], optional: Iterable[str]
    ) -> None:
        allowed = set(required) | set(optional)
        for key in sorted(obj):
            if key not in allowed:
                self.fail(_join(path, key), "unknown key")
        for key in sorted(required):
            if key not in obj:
                self.fail(_join(path, key), "required key is missing")

    def mapping(self, value: object, path: str) -> dict[str, object]:
        if not isinstance(value, dict):
            self.fail(path, f"must be an object, not {_json_type(value)}")
        return value

    def string(self, obj: dict[str, object], key: str, path: str) -> str:
        value = obj[key]
        if not isinstance(value, str):
            self.fail(_join(path, key), f"must be a string, not {_json_type(value)}")
        return value

    def opt_string(self, obj: dict[str, object], key: str, path: str) -> str | None:
        return None if obj.get(key) is None else self.string(obj, key, path)

    def integer(self, obj: dict[str, object], key: str, path: str) -> int:
        value = obj[key]
        if isinstance(value, bool) or not isinstance(value, int):
            self.fail(_join(path, key), f"must be an integer, not {_json_type(value)}")
        if abs(value) > 10**12:
            self.fail(_join(path, key), "is out of range")
        return value

    def opt_integer(self, obj: dict[str, object], key: str, path: str) -> int | None:
        return None if obj.get(key) is None else self.integer(obj, key, path)

    def boolean(self, obj: dict[str, object], key: str, path: str, default: bool) -> bool:
        if key not in obj:
            return default
        value = obj[key]
        if not isinstance(value, bool):
            self.fail(_join(path, key), f"must be true or false, not {_json_type(value)}")
        return value

    def strings(self, obj: dict[str, object], key: str, path: str, limit: int) -> tuple[str, ...]:
        value = obj.get(key, [])
        if not isinstance(value, list):
            self.fail(_join(path, key), f"must be an array of strings, not {_json_type(value)}")
        if len(value) > limit:
            self.fail(_join(path, key), f"has more than {limit} entries")
        for i, item in enumerate(value):
            if not isinstance(item, str):
                self.fail(f"{_join(path, key)}[{i}]", f"must be a string, not {_json_type(item)}")
        return tuple(value)

    def licence_type(self, value: object, path: str, *, top_level: bool = False) -> LicenceType:
        obj = self.mapping(value, path)
        optional = _TYPE_OPTIONAL | {"format"} if top_level else _TYPE_OPTIONAL
        self.keys(obj, path, required=_TYPE_REQUIRED, optional=optional)
        raw_fields = obj["fields"]
        if not isinstance(raw_fields, list):
            self.fail(_join(path, "fields"), f"must be an array, not {_json_type(raw_fields)}")
        if not 1 <= len(raw_fields) <= MAX_FIELDS:
            self.fail(_join(path, "fields"), f"must have 1 to {MAX_FIELDS} fields")
        fields = tuple(
            self.surface_field(item, f"{_join(path, 'fields')}[{i}]")
            for i, item in enumerate(raw_fields)
        )
        try:
            return LicenceType(
                code=self.string(obj, "code", path),
                name=self.string(obj, "name", path),
                name_en=self.string(obj, "name_en", path),
                defining_authority=self.string(obj, "defining_authority", path),
                defining_authority_code=self.string(obj, "defining_authority_code", path),
                authority_level=self.string(obj, "authority_level", path),
                holder_category=self.string(obj, "holder_category", path),
                issuer_levels=self.strings(obj, "issuer_levels", path, 5),
                default_validity_years=self.opt_integer(obj, "default_validity_years", path),
                fields=fields,
                related_items=self.strings(obj, "related_items", path, 100),
                title=self.opt_string(obj, "title", path) or "",
                version=1 if obj.get("version") is None else self.integer(obj, "version", path),
                provenance=self.opt_string(obj, "provenance", path) or "unconfirmed",
                description=self.opt_string(obj, "description", path) or "",
            )
        except _SpecError as exc:
            self.fail(_join(path, exc.where), exc.problem)

    def surface_field(self, value: object, path: str) -> SurfaceField:
        obj = self.mapping(value, path)
        self.keys(obj, path, required=_FIELD_REQUIRED, optional=_FIELD_OPTIONAL)
        example = obj.get("example")
        if example is not None and (
            isinstance(example, bool) or not isinstance(example, str | int)
        ):
            kind = _json_type(example)
            self.fail(_join(path, "example"), f"must be a string or an integer, not {kind}")
        try:
            return SurfaceField(
                key=self.string(obj, "key", path),
                label=self.string(obj, "label", path),
                label_en=self.string(obj, "label_en", path),
                type=_field_type(self.string(obj, "type", path)),
                required=self.boolean(obj, "required", path, False),
                max_length=self.opt_integer(obj, "max_length", path),
                pattern=self.opt_string(obj, "pattern", path),
                validator=self.opt_string(obj, "validator", path),
                choices=self.strings(obj, "choices", path, _MAX_CHOICES),
                in_qr=self.boolean(obj, "in_qr", path, False),
                description=self.opt_string(obj, "description", path) or "",
                example=example,
                minimum=self.opt_integer(obj, "minimum", path),
                maximum=self.opt_integer(obj, "maximum", path),
            )
        except _SpecError as exc:
            self.fail(_join(path, exc.where), exc.problem)


def _join(path: str, key: str) -> str:
    if not key:
        return path
    return f"{path}.{key}" if path else key
