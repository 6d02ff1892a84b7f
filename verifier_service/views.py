"""What a window shows — 核验结果展示: a verification result plus its ``display`` view.

``display`` is the part a screen renders without knowing the formats: the verdict in English
and Chinese, the licence type's name, the surface fields (照面信息) with their Chinese labels
from the catalogue, the issuer, the validity dates (长期 when there is no end), the reasons of
the checks that failed or could not decide, and — for a sealed document whose seal checked
out — the seal picture (印章图像) as a PNG data URL. Fields appear only when the issuer's
signature over them is intact: the library gives a result a licence or claims only then.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import io
from collections.abc import Mapping
from datetime import date
from typing import Final

from PIL import Image

from ezhengzhao.catalogue import Catalogue, LicenceType
from ezhengzhao.errors import CatalogueError, DecodeError
from ezhengzhao.formats.sealed import parse_sealed_document
from ezhengzhao.model import SurfaceValue
from ezhengzhao.result import REASONS, CheckStatus, VerificationResult
from ezhengzhao.sign.ses import parse_ses_signature
from ezhengzhao.trust.store import TrustStore

__all__ = ["PERMANENT", "result_view"]

PERMANENT: Final = "长期"
_PNG_SIGNATURE: Final = b"\x89PNG\r\n\x1a\n"
# A seal picture is a small drawing (a 42 mm seal); anything far bigger is not shown.
_MAX_PICTURE_BYTES: Final = 2 << 20
_MAX_PICTURE_PIXELS: Final = 4_000_000
# The seal checks that must all pass before its picture is shown: a picture is what a reader
# takes for proof of the seal, so an unverified one is never put on screen.
_SEAL_CHECKS: Final = ("seal.maker_signature", "seal.maker_chain", "seal.validity")


def result_view(
    result: VerificationResult,
    *,
    document: bytes | None = None,
    trust_store: TrustStore | None = None,
) -> dict[str, object]:
    """``result.to_dict()`` with its ``display`` view added.

    ``document`` is what was verified: when it was a sealed licence whose seal checked out,
    the seal's picture is shown (a QR code has none). ``trust_store`` names the issuer of a
    QR code from its trusted signer certificate when no trust list named it.
    """
    body = result.to_dict()
    body["display"] = display(result, document=document, trust_store=trust_store)
    return body


def display(
    result: VerificationResult,
    *,
    document: bytes | None = None,
    trust_store: TrustStore | None = None,
) -> dict[str, object]:
    """The ``display`` view of one result (see the module docstring)."""
    view: dict[str, object] = {
        "verdict": result.status.value,
        "verdict_zh": result.status.label_zh,
        "title": None,
        "licence_id": None,
        "holder_name": None,
        "issuer_name": None,
        "valid_from": None,
        "valid_until": None,
        "fields": [],
        "reasons": _reasons(result),
        "seal_picture": None,
    }
    licence, claims = result.licence, result.claims
    if licence is not None:
        licence_type = _licence_type(licence.type_code)
        view.update(
            title=licence.type_name,
            licence_id=licence.licence_id,
            holder_name=licence.holder.name,
            issuer_name=licence.issuer.name,
            valid_from=licence.validity.start.isoformat(),
            valid_until=_end(licence.validity.end),
            fields=_fields(licence.surface, licence_type),
        )
        if document is not None and _seal_checked(result):
            view["seal_picture"] = _seal_picture(document)
    elif claims is not None:
        licence_type = _licence_type(claims.type_code)
        issuer_name = result.issuer.name if result.issuer is not None else None
        if issuer_name is None and _passed(result, "trust.issuer") and trust_store is not None:
            issuer_name = _issuer_name(trust_store, claims.issuer_code)
        view.update(
            title=None if licence_type is None else licence_type.name,
            licence_id=claims.licence_id,
            holder_name=claims.holder_name,
            issuer_name=issuer_name,
            valid_from=claims.valid_from.isoformat(),
            valid_until=_end(claims.valid_until),
            fields=_fields(claims.surface, licence_type),
        )
    return view


def _end(day: date | None) -> str:
    return PERMANENT if day is None else day.isoformat()


def _reasons(result: VerificationResult) -> list[dict[str, str]]:
    bad = (CheckStatus.FAILED, CheckStatus.INDETERMINATE)
    out = []
    for check in result.checks:
        if check.status not in bad:
            continue
        reason = REASONS.get(check.reason)
        out.append(
            {
                "code": check.reason,
                "message_zh": check.reason if reason is None else reason.zh,
                "message_en": check.reason if reason is None else reason.en,
                "detail": check.detail,
            }
        )
    return out


@functools.lru_cache(maxsize=256)
def _licence_type(type_code: str) -> LicenceType | None:
    try:
        return Catalogue.builtin().get(type_code)
    except CatalogueError:
        return None


def _fields(
    surface: Mapping[str, SurfaceValue], licence_type: LicenceType | None
) -> list[dict[str, object]]:
    """Surface fields in catalogue order with their Chinese labels; keys the catalogue does
    not know (a type catalogued elsewhere) follow, labelled with the key itself."""
    out: list[dict[str, object]] = []
    known: set[str] = set()
    if licence_type is not None:
        for surface_field in licence_type.fields:
            if surface_field.key in surface:
                known.add(surface_field.key)
                value = surface[surface_field.key]
                out.append({"key": surface_field.key, "label": surface_field.label, "value": value})
    for key, value in surface.items():
        if key not in known:
            out.append({"key": key, "label": key, "value": value})
    return out


def _passed(result: VerificationResult, name: str) -> bool:
    return any(c.name == name and c.status is CheckStatus.PASSED for c in result.checks)


def _seal_checked(result: VerificationResult) -> bool:
    return all(_passed(result, name) for name in _SEAL_CHECKS)


def _issuer_name(trust_store: TrustStore, issuer_code: str) -> str | None:
    """The organisation named by the trusted signer certificate bound to ``issuer_code``."""
    for cert in trust_store.signers:
        if cert.subject.serial_number == issuer_code and cert.subject.organization:
            return cert.subject.organization
    return None


def _seal_picture(document: bytes) -> str | None:
    """The picture inside the document's seal as a PNG data URL, or None if it has none
    that can be shown."""
    try:
        der = parse_sealed_document(document).ses_signature
        picture = parse_ses_signature(der).seal.info.picture
    except DecodeError:
        return None
    return _png_data_url(hashlib.sha256(picture.data).digest(), picture.data)


@functools.lru_cache(maxsize=64)
def _png_data_url(digest: bytes, data: bytes) -> str | None:
    # Every licence of an authority carries the same seal: the URL is made once per picture
    # (the digest is only part of the key so that the cache never compares large pictures).
    if not data or len(data) > _MAX_PICTURE_BYTES:
        return None
    if not data.startswith(_PNG_SIGNATURE):
        png = _to_png(data)
        if png is None:
            return None
        data = png
    return "data:image/png;base64," + base64.b64encode(data).decode("ascii")


def _to_png(data: bytes) -> bytes | None:
    """A JPEG, GIF, BMP… seal picture re-encoded as PNG (GB/T 38540 allows several types)."""
    try:
        with Image.open(io.BytesIO(data), formats=("JPEG", "GIF", "BMP", "WEBP", "TIFF")) as im:
            if im.width * im.height > _MAX_PICTURE_PIXELS:
                return None
            im.load()
            out = io.BytesIO()
            im.save(out, format="PNG")
            return out.getvalue()
    except Exception:
        # Pillow's plugins raise many types for malformed data (the scanner module says the
        # same); a picture that cannot be read is simply not shown.
        return None
