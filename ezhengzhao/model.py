"""The licence model: frozen records for the GB/T 36903 metadata elements.

Attribute names are English; each docstring gives the standard's Chinese element name and the
pinyin abbreviation issuing systems use (e.g. ``ZZBS``), so a field can be traced to the
national interfaces.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from types import MappingProxyType
from typing import Final

__all__ = [
    "HOLDER_CODE_TYPES",
    "ISSUER_LEVELS",
    "Attachment",
    "Holder",
    "Issuer",
    "Licence",
    "LicenceDraft",
    "Sealing",
    "StatusReference",
    "SurfaceValue",
    "Validity",
]

SurfaceValue = str | int

#: 持证主体代码类型 (CZZTDMLX): 111 公民身份号码, 001 统一社会信用代码.
HOLDER_CODE_TYPES: Final[Mapping[str, str]] = MappingProxyType(
    {"111": "公民身份号码", "001": "统一社会信用代码"}
)

#: Administrative levels of an authority, highest first (GB/T 36902 catalogue records).
ISSUER_LEVELS: Final[tuple[str, ...]] = ("国家级", "省级", "地市级", "区县级", "乡镇级")


@dataclass(frozen=True, slots=True)
class Holder:
    """Holder — 持证主体 (CZZT), with 持证主体代码 (CZZTDM) and its type (CZZTDMLX)."""

    name: str
    code: str
    code_type: str

    @property
    def is_person(self) -> bool:
        return self.code_type == "111"


@dataclass(frozen=True, slots=True)
class Issuer:
    """Issuing authority — 证照颁发机构 (ZZBFJG), with 证照颁发机构代码 (ZZBFJGDM).

    ``region_code`` is the authority's GB/T 2260 行政区划代码; ``level`` one of
    :data:`ISSUER_LEVELS`.
    """

    name: str
    code: str
    region_code: str
    level: str


@dataclass(frozen=True, slots=True)
class Validity:
    """Validity period — 有效期: start (ZZYXQQSRQ) and end (ZZYXQJZRQ); ``end=None`` is 长期."""

    start: date
    end: date | None = None

    @property
    def is_permanent(self) -> bool:
        return self.end is None

    def contains(self, day: date) -> bool:
        return self.start <= day and (self.end is None or day <= self.end)


@dataclass(frozen=True, slots=True)
class Sealing:
    """Who sealed the licence and when — 签章人 (ZZQZR), 签章名称 (ZZQZMC), 签章时间 (ZZQZSJ)."""

    signer: str
    seal_name: str
    signed_at: datetime


@dataclass(frozen=True, slots=True)
class StatusReference:
    """Where the licence's revocation status lives: an entry ``idx`` of the status list ``uri``."""

    uri: str
    idx: int


@dataclass(frozen=True, slots=True)
class Attachment:
    """A file that belongs to the licence (e.g. the OFD rendition), bound by its SM3 digest."""

    name: str
    media_type: str
    sm3: str


@dataclass(frozen=True, slots=True)
class Licence:
    """Electronic licence — 电子证照, in the unified format ``ezz/licence/1``.

    ``surface`` holds the type's 照面信息, keyed as the catalogue defines; it is read-only.
    """

    licence_id: str
    type_code: str
    type_name: str
    number: str
    version: int
    holder: Holder
    issuer: Issuer
    issue_date: date
    validity: Validity
    surface: Mapping[str, SurfaceValue] = field(hash=False)
    sealing: Sealing | None = None
    status: StatusReference | None = None
    previous: str | None = None
    attachments: tuple[Attachment, ...] = ()

    def __post_init__(self) -> None:
        if not isinstance(self.surface, MappingProxyType):
            object.__setattr__(self, "surface", MappingProxyType(dict(self.surface)))


@dataclass(frozen=True, slots=True)
class LicenceDraft:
    """What an issuing system fills in before issuance — 制证数据.

    ``serial`` is the serial segment of the 证照标识; when omitted it is derived from
    ``number``. ``validity`` defaults to the catalogue's default period from ``issue_date``.
    """

    type_code: str
    number: str
    holder: Holder
    surface: Mapping[str, object] = field(hash=False)
    issue_date: date | None = None
    validity: Validity | None = None
    serial: str | None = None
    version: int = 1
    previous: str | None = None
    status: StatusReference | None = None
    attachments: tuple[Attachment, ...] = ()

    def __post_init__(self) -> None:
        if not isinstance(self.surface, MappingProxyType):
            object.__setattr__(self, "surface", MappingProxyType(dict(self.surface)))
