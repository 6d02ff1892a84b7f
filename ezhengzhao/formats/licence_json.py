"""The unified licence format ``ezz/licence/1`` (JSON) — 电子证照统一数据格式.

A codec only: it turns JSON into a :class:`~ezhengzhao.model.Licence` and back, and rejects
what is malformed with an error naming the field path. Whether a licence is acceptable is
decided elsewhere. Field names and their GB/T 36903 elements:

============  =================  ======
JSON key      element            abbrev
============  =================  ======
licence_id    证照标识           ZZBS
type_code     证照类型代码       ZZLXDM
type_name     证照名称           ZZMC
number        证照编号           ZZBH
holder        持证主体 (+代码, 代码类型)  CZZT, CZZTDM, CZZTDMLX
issuer        证照颁发机构 (+代码)  ZZBFJG, ZZBFJGDM
issue_date    证照颁发日期       ZZBFRQ
validity      有效期起始/截止日期  ZZYXQQSRQ, ZZYXQJZRQ (``end: null`` = 长期)
sealing       签章人, 签章名称, 签章时间  ZZQZR, ZZQZMC, ZZQZSJ
surface       照面信息 (per type, from the catalogue)
============  =================  ======
"""

from __future__ import annotations

import functools
import re
from collections.abc import Mapping
from datetime import UTC, date, datetime
from types import MappingProxyType
from typing import Final

from ezhengzhao import codes
from ezhengzhao.errors import CodeError, LicenceFormatError
from ezhengzhao.formats.jsonio import canonical_bytes_simple, loads
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

__all__ = [
    "LICENCE_SCHEMA",
    "dump_licence",
    "licence_canonical_bytes",
    "licence_from_dict",
    "licence_to_dict",
    "load_licence",
]

LICENCE_SCHEMA: Final = "ezz/licence/1"

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
_TOP_ALLOWED: Final = _TOP_REQUIRED | _TOP_OPTIONAL
_HOLDER_KEYS: Final = frozenset({"name", "code", "code_type"})
_ISSUER_KEYS: Final = frozenset({"name", "code", "region_code", "level"})
_VALIDITY_KEYS: Final = frozenset({"start", "end"})
_SEALING_KEYS: Final = frozenset({"signer", "seal_name", "signed_at"})
_STATUS_KEYS: Final = frozenset({"uri", "idx"})
_ATTACHMENT_KEYS: Final = frozenset({"name", "media_type", "sm3"})

# Bound of each cache of values already read (issuers, type codes, dates); the caches hold
# values shared by many licences, so a few hundred entries cover a busy verifier.
_CACHE_SIZE: Final = 1024


# ---------------------------------------------------------------- readers with field paths


def _object(
    value: object, path: str, required: frozenset[str], allowed: frozenset[str] | None = None
) -> dict[str, object]:
    """``value`` as a JSON object with all ``required`` members and no others but ``allowed``."""
    if not isinstance(value, dict):
        raise LicenceFormatError(path, "must be a JSON object")
    keys = value.keys()
    # The common cases, decided without building the sorted lists the errors need.
    if keys == required or (allowed is not None and required <= keys <= allowed):
        return value
    missing = sorted(required - keys)
    if missing:
        raise LicenceFormatError(_join(path, missing[0]), "is required")
    unknown = sorted(keys - (required if allowed is None else allowed))
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
    # Licences issued on one day share their dates: a text read once is looked up. Only exact
    # str keys go in or are looked up, so an equal-comparing str subclass takes the full check.
    day = _DATES_READ.get(value) if type(value) is str else None
    if day is not None:
        return day
    if not isinstance(value, str) or not _DATE.fullmatch(value):
        raise LicenceFormatError(path, "must be a date YYYY-MM-DD")
    try:
        day = date.fromisoformat(value)
    except ValueError:
        raise LicenceFormatError(path, f"{value} is not a calendar date") from None
    if type(value) is str:
        if len(_DATES_READ) >= _CACHE_SIZE:
            _DATES_READ.clear()  # bounded; the dates in use come back after one read each
        _DATES_READ[value] = day
    return day


# Date texts already read (YYYY-MM-DD -> date); see _date.
_DATES_READ: dict[str, date] = {}


def _datetime(value: object, path: str) -> datetime:
    if not isinstance(value, str) or not _DATETIME.fullmatch(value):
        raise LicenceFormatError(path, "must be a UTC time YYYY-MM-DDThh:mm:ssZ")
    try:
        # The shape is checked above; fromisoformat reads the "Z" as UTC itself, much cheaper
        # than reading the naive part and replacing its tzinfo.
        return datetime.fromisoformat(value)
    except ValueError:
        raise LicenceFormatError(path, f"{value} is not a valid time") from None


def _code(check: str, value: str, path: str) -> None:
    """Raise a field error when ``value`` is not a valid code of kind ``check``."""
    try:
        if check == "id_number":
            codes.parse_id_number(value)
        elif check == "uscc":
            # Validity alone is wanted: the check spares building the USCC record and the
            # organisation-code arithmetic; only a bad code is parsed, for its message.
            if not codes.is_valid_uscc(value):
                codes.parse_uscc(value)
        elif check == "region":
            codes.parse_region_code(value)
    except CodeError as exc:
        label = {"id_number": "公民身份号码", "uscc": "统一社会信用代码", "region": "行政区划代码"}
        raise LicenceFormatError(path, f"not a valid {label[check]} ({exc})") from None


# ---------------------------------------------------------------- JSON -> model


def licence_from_dict(value: object) -> Licence:
    """Read an ``ezz/licence/1`` JSON object, or raise :class:`LicenceFormatError`."""
    top = _object(value, "", _TOP_REQUIRED, _TOP_ALLOWED)
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
    type_code = _type_code(top["type_code"])

    holder_obj = _object(top["holder"], "holder", _HOLDER_KEYS)
    code_type = holder_obj["code_type"]
    if not isinstance(code_type, str) or code_type not in HOLDER_CODE_TYPES:
        raise LicenceFormatError(
            "holder.code_type", "must be '111' (公民身份号码) or '001' (统一社会信用代码)"
        )
    assert isinstance(code_type, str)
    holder_code = _text(holder_obj["code"], "holder.code", max_length=18)
    _code("id_number" if code_type == "111" else "uscc", holder_code, "holder.code")
    holder = Holder(_text(holder_obj["name"], "holder.name"), holder_code, code_type)

    issuer_obj = _object(top["issuer"], "issuer", _ISSUER_KEYS)
    issuer = _issuer(
        issuer_obj["name"], issuer_obj["code"], issuer_obj["region_code"], issuer_obj["level"]
    )

    validity_obj = _object(top["validity"], "validity", _VALIDITY_KEYS)
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


def _type_code(value: object) -> str:
    """The 证照类型代码: an 18-character USCC and a three-digit sequence."""
    if type(value) is str:
        return _type_code_cached(value)
    return _check_type_code(value)


def _check_type_code(value: object) -> str:
    type_code = _text(value, "type_code", max_length=21)
    if (
        len(type_code) != 21
        or not codes.is_valid_uscc(type_code[:18])
        or not type_code[18:].isdigit()
    ):
        raise LicenceFormatError("type_code", "not a valid 证照类型代码 (18-char USCC + 3 digits)")
    return type_code


def _issuer(name: object, code: object, region: object, level: object) -> Issuer:
    """The issuing authority, from the members of ``issuer``."""
    if type(name) is str and type(code) is str and type(region) is str and type(level) is str:
        return _issuer_cached(name, code, region, level)
    return _check_issuer(name, code, region, level)


def _check_issuer(name: object, code: object, region: object, level: object) -> Issuer:
    issuer_code = _text(code, "issuer.code", max_length=18)
    _code("uscc", issuer_code, "issuer.code")
    region_code = _text(region, "issuer.region_code", max_length=6)
    _code("region", region_code, "issuer.region_code")
    if not isinstance(level, str) or level not in ISSUER_LEVELS:
        raise LicenceFormatError("issuer.level", "must be one of " + "/".join(ISSUER_LEVELS))
    return Issuer(_text(name, "issuer.name"), issuer_code, region_code, level)


# An authority's issuer object and the type codes it issues recur on every licence: what passed
# the full check is cached, keyed on the exact strings (exact str only, see the dispatchers
# above), so any other value takes the full check. Failures raise and are never cached.
_type_code_cached: Final = functools.lru_cache(maxsize=_CACHE_SIZE)(_check_type_code)
_issuer_cached: Final = functools.lru_cache(maxsize=_CACHE_SIZE)(_check_issuer)


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
    obj = _object(value, "sealing", _SEALING_KEYS)
    return Sealing(
        _text(obj["signer"], "sealing.signer"),
        _text(obj["seal_name"], "sealing.seal_name"),
        _datetime(obj["signed_at"], "sealing.signed_at"),
    )


def _status(value: object) -> StatusReference | None:
    if value is None:
        return None
    obj = _object(value, "status", _STATUS_KEYS)
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
        obj = _object(item, path, _ATTACHMENT_KEYS)
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


# ---------------------------------------------------------------- model -> JSON


def _utc(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def licence_to_dict(licence: Licence) -> dict[str, object]:
    """The ``ezz/licence/1`` JSON object of a licence; optional members only when set."""
    out: dict[str, object] = {
        "schema": LICENCE_SCHEMA,
        "licence_id": licence.licence_id,
        "type_code": licence.type_code,
        "type_name": licence.type_name,
        "number": licence.number,
        "version": licence.version,
        "holder": {
            "name": licence.holder.name,
            "code": licence.holder.code,
            "code_type": licence.holder.code_type,
        },
        "issuer": {
            "name": licence.issuer.name,
            "code": licence.issuer.code,
            "region_code": licence.issuer.region_code,
            "level": licence.issuer.level,
        },
        "issue_date": licence.issue_date.isoformat(),
        "validity": {
            "start": licence.validity.start.isoformat(),
            "end": None if licence.validity.end is None else licence.validity.end.isoformat(),
        },
        "surface": dict(licence.surface),
    }
    if licence.sealing is not None:
        out["sealing"] = {
            "signer": licence.sealing.signer,
            "seal_name": licence.sealing.seal_name,
            "signed_at": _utc(licence.sealing.signed_at),
        }
    if licence.status is not None:
        out["status"] = {"uri": licence.status.uri, "idx": licence.status.idx}
    if licence.previous is not None:
        out["previous"] = licence.previous
    if licence.attachments:
        out["attachments"] = [
            {"name": a.name, "media_type": a.media_type, "sm3": a.sm3} for a in licence.attachments
        ]
    return out


def licence_canonical_bytes(licence: Licence | Mapping[str, object]) -> bytes:
    """RFC 8785 bytes of a licence: what its seal's ``dataHash`` covers.

    Takes a :class:`Licence` or an already validated ``ezz/licence/1`` object.
    """
    value = licence_to_dict(licence) if isinstance(licence, Licence) else licence
    return canonical_bytes_simple(value)


def load_licence(data: bytes | str) -> Licence:
    """Parse ``ezz/licence/1`` JSON text; malformed JSON raises DecodeError, bad fields
    LicenceFormatError."""
    return licence_from_dict(loads(data, what="licence JSON"))


def dump_licence(licence: Licence, *, indent: int | None = 2) -> bytes:
    """Readable JSON of a licence (not the canonical bytes; see :func:`licence_canonical_bytes`)."""
    import json

    return json.dumps(licence_to_dict(licence), ensure_ascii=False, indent=indent).encode() + b"\n"
