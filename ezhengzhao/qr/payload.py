"""The offline verification QR payload ``EZZ1:`` — 核验二维码.

The same pipeline as the EU Digital COVID Certificate (``HC1:``), with SM2: CWT claims in
CBOR, signed as COSE_Sign1 (RFC 9052) by the issuing authority's signer, then zlib, base45
(RFC 9285) and the prefix ``EZZ1:``, for a QR code in alphanumeric mode.

CWT claims: 1 ``iss`` = the issuer's 统一社会信用代码, 6 ``iat``, 4 ``exp`` (never after the
licence's validity end nor the signer certificate's), 65535 the status reference when the
licence has one, and the private claim :data:`CLAIM_LICENCE` holding the licence claims with
integer keys:

===  ==============================  ============================================
key  value                           element
===  ==============================  ============================================
1    text                            证照标识 (licence identifier)
2    text                            证照类型代码 (type code)
3    text                            持证主体 (holder name)
4    text                            持证主体代码 (holder code)
5    text                            证照编号 (licence number)
6    [start, end or null]            有效期 (``YYYY-MM-DD``)
7    {field key: value}              照面信息 the catalogue marks for the QR code
===  ==============================  ============================================

This module is a codec: it builds and reads payloads; whether one is acceptable is the
verifier's decision.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from types import MappingProxyType
from typing import Final

from ezhengzhao.catalogue import LicenceType
from ezhengzhao.errors import IssuanceError, PayloadError
from ezhengzhao.formats import cbor, cose, qrtext
from ezhengzhao.model import Licence, StatusReference, SurfaceValue
from ezhengzhao.sign.suites import Signer
from ezhengzhao.sign.x509 import Certificate

__all__ = [
    "CLAIM_LICENCE",
    "DEFAULT_MAX_VERSION",
    "PREFIX",
    "QrClaims",
    "build_qr_text",
    "decode_qr_text",
    "parse_claims",
]

PREFIX: Final = "EZZ1:"
#: Private-use CWT claim (below −65536) holding the licence claims.
CLAIM_LICENCE: Final = -70002
#: The largest QR version a payload may need at ECC M unless configured otherwise.
DEFAULT_MAX_VERSION: Final = 15

_CHINA: Final = timedelta(hours=8)
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


@dataclass(frozen=True, slots=True)
class QrClaims:
    """What an ``EZZ1:`` code says about a licence, once decoded."""

    issuer_code: str
    issued_at: datetime
    expires_at: datetime
    licence_id: str
    type_code: str
    holder_name: str
    holder_code: str
    number: str
    valid_from: date
    valid_until: date | None
    surface: Mapping[str, SurfaceValue] = field(hash=False)
    status: StatusReference | None = None

    def to_dict(self) -> dict[str, object]:
        return {
            "issuer_code": self.issuer_code,
            "issued_at": self.issued_at.isoformat(),
            "expires_at": self.expires_at.isoformat(),
            "licence_id": self.licence_id,
            "type_code": self.type_code,
            "holder_name": self.holder_name,
            "holder_code": self.holder_code,
            "number": self.number,
            "validity": {
                "start": self.valid_from.isoformat(),
                "end": None if self.valid_until is None else self.valid_until.isoformat(),
            },
            "surface": dict(self.surface),
            "status": None
            if self.status is None
            else {"uri": self.status.uri, "idx": self.status.idx},
        }


def _end_of_day_utc(day: date) -> datetime:
    """The last second of ``day`` in China (UTC+8), as UTC."""
    return datetime.combine(day, time(23, 59, 59), UTC) - _CHINA


def build_qr_text(
    licence: Licence,
    *,
    licence_type: LicenceType,
    signer: Signer,
    certificate: Certificate,
    issued_at: datetime,
    max_version: int = DEFAULT_MAX_VERSION,
    ecc: str = "M",
) -> str:
    """Sign the licence's QR claims and return the ``EZZ1:`` text.

    Raises IssuanceError when the certificate is not the signer's, when the code would expire
    before it is issued, or when the text needs a QR version above ``max_version``.
    """
    if certificate.public_key.spki_der() != signer.public_key.spki_der():
        raise IssuanceError("the signer's key does not match the signer certificate")
    if licence_type.code != licence.type_code:
        raise IssuanceError(f"the licence is a {licence.type_code}, not a {licence_type.code}")
    iat = issued_at.astimezone(UTC).replace(microsecond=0)
    # Demand what a verifier demands, so no code is issued only to be refused.
    if not certificate.not_before <= iat <= certificate.not_after:
        raise IssuanceError("the signer certificate is not valid at the issuing time")
    if certificate.subject.serial_number != licence.issuer.code:
        raise IssuanceError("the signer certificate does not belong to the licence's issuer")
    exp = min(
        certificate.not_after.astimezone(UTC).replace(microsecond=0),
        datetime.fromtimestamp(cose.NUMERIC_DATE_MAX - 1, UTC),
    )
    if licence.validity.end is not None:
        exp = min(exp, _end_of_day_utc(licence.validity.end))
    if exp <= iat:
        raise IssuanceError("the QR code would expire before it is issued")
    surface = {
        f.key: licence.surface[f.key] for f in licence_type.qr_fields if f.key in licence.surface
    }
    claims: dict[int, object] = {
        1: licence.licence_id,
        2: licence.type_code,
        3: licence.holder.name,
        4: licence.holder.code,
        5: licence.number,
        6: [
            licence.validity.start.isoformat(),
            None if licence.validity.end is None else licence.validity.end.isoformat(),
        ],
        7: surface,
    }
    cwt: dict[int, object] = {
        cose.CWT_ISS: licence.issuer.code,
        cose.CWT_IAT: int(iat.timestamp()),
        cose.CWT_EXP: int(exp.timestamp()),
        CLAIM_LICENCE: claims,
    }
    if licence.status is not None:
        cwt[cose.CWT_STATUS] = {
            "status_list": {"idx": licence.status.idx, "uri": licence.status.uri}
        }
    message = cose.sign1(
        cbor.dumps(cwt),
        alg=cose.alg_for_suite(signer.suite.id),
        kid=certificate.kid,
        sign=signer.sign,
    )
    text = qrtext.wrap(message.encode(), prefix=PREFIX)
    from ezhengzhao.qr.image import qr_version

    version = qr_version(text, ecc=ecc)
    if version > max_version:
        raise IssuanceError(
            f"the QR payload is {len(text)} characters and needs QR version {version} at ECC "
            f"{ecc}, above the maximum of {max_version}: mark fewer fields for the QR code"
        )
    return text


def decode_qr_text(text: str, *, max_size: int = 16 * 1024) -> cose.CoseSign1:
    """``EZZ1:`` text to its COSE_Sign1 message; PayloadError names the failing stage."""
    return cose.decode_sign1(qrtext.unwrap(text, prefix=PREFIX, max_size=max_size))


# The checks below test `type(v) is str` (or int) rather than isinstance: the CBOR reader
# returns exact built-in types, and bool, an int subclass, is excluded as it must be.


def _text(value: object, what: str, max_length: int) -> str:
    if type(value) is not str or not value or len(value) > max_length:
        raise PayloadError("claims", f"{what} must be a non-empty string")
    return value


def _date(value: object, what: str) -> date:
    if not isinstance(value, str) or not _DATE.fullmatch(value):
        raise PayloadError("claims", f"{what} must be a date YYYY-MM-DD")
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise PayloadError("claims", f"{what} {value} is not a calendar date") from None


def parse_claims(payload: bytes) -> QrClaims:
    """Read the CWT claims of an ``EZZ1:`` message; PayloadError stage ``claims`` or ``cbor``.

    Call it on a payload whose signature has verified: it takes the fast canonical path.
    """
    cwt = cbor.loads_canonical(payload)
    if not isinstance(cwt, dict):
        raise PayloadError("claims", "the CWT claims are not a map")
    licence = cwt.get(CLAIM_LICENCE)
    if not isinstance(licence, dict):
        raise PayloadError("claims", f"claim {CLAIM_LICENCE} (licence claims) is missing")
    validity = licence.get(6)
    if not isinstance(validity, list) or len(validity) != 2:
        raise PayloadError("claims", "licence claim 6 (validity) must be [start, end]")
    surface = licence.get(7, {})
    if not isinstance(surface, dict) or len(surface) > 32:
        raise PayloadError("claims", "licence claim 7 (surface fields) must be a small map")
    checked: dict[str, SurfaceValue] = {}
    for key, value in surface.items():
        if type(key) is not str or (type(value) is not str and type(value) is not int):
            raise PayloadError("claims", "surface fields map text keys to text or integers")
        checked[key] = value
    status = None
    if cose.CWT_STATUS in cwt:
        reference = cwt[cose.CWT_STATUS]
        entry = reference.get("status_list") if isinstance(reference, dict) else None
        if not isinstance(entry, dict):
            raise PayloadError("claims", "claim 65535 must hold a status_list reference")
        idx, uri = entry.get("idx"), entry.get("uri")
        if type(idx) is not int or idx < 0:
            raise PayloadError("claims", "status_list.idx must be a non-negative integer")
        status = StatusReference(_text(uri, "status_list.uri", 2000), idx)
    return QrClaims(
        issuer_code=_text(cwt.get(cose.CWT_ISS), "claim 1 (iss)", 18),
        issued_at=cose.numeric_date(cwt.get(cose.CWT_IAT), "claim 6 (iat)"),
        expires_at=cose.numeric_date(cwt.get(cose.CWT_EXP), "claim 4 (exp)"),
        licence_id=_text(licence.get(1), "licence claim 1 (证照标识)", 160),
        type_code=_text(licence.get(2), "licence claim 2 (type code)", 21),
        holder_name=_text(licence.get(3), "licence claim 3 (holder name)", 200),
        holder_code=_text(licence.get(4), "licence claim 4 (holder code)", 18),
        number=_text(licence.get(5), "licence claim 5 (number)", 100),
        valid_from=_date(validity[0], "validity start"),
        valid_until=None if validity[1] is None else _date(validity[1], "validity end"),
        surface=MappingProxyType(checked),
        status=status,
    )
