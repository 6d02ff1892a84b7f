"""What a window shows — 核验结果展示: a verification result plus its ``display`` view.

``display`` is the part a screen renders without knowing the formats: the verdict in English
and Chinese, the reasons of the checks that failed or could not decide, and — only when the
licence is authentic — what it says.

What the licence says (its type's name as the title, the 证照标识, the holder, the issuer,
the validity dates — 长期 when there is no end — and the surface fields (照面信息) with their
Chinese labels from the catalogue) is shown only when every authenticity check (真实性) PASSED:
``signature``, ``data_hash``, ``signer.chain``, ``trust.issuer`` and ``seal.signer_listed``
for a sealed document; ``signature``, ``signer.chain`` and ``trust.issuer`` for a QR code. A
licence that is authentic but revoked, expired or refused by the region's rules still shows
its content, so that the clerk sees which licence was refused. Otherwise — a forged or
tampered licence, or nothing readable — ``unverified`` is true, every content field is empty,
and ``notice_zh`` / ``notice_en`` say why nothing is shown.

The seal picture (印章图像, a PNG data URL) is shown only for a sealed document whose
``signature``, every ``seal.*`` check, ``signer.chain``, ``data_hash`` and ``trust.issuer``
PASSED, and ``trust.licence_type`` and ``trust.list`` too when the verifier ran them. The
picture is public inside every licence of its authority: shown beside forged content, a
genuine seal would lend it credibility, so it is shown only for the licence it truly seals.
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
# The checks that make a licence's content the issuer's own (真实性): without them all PASSED,
# what the licence says may be anyone's and nothing of it is shown.
_AUTHENTIC_SEALED: Final = (
    "signature",
    "data_hash",
    "signer.chain",
    "trust.issuer",
    "seal.signer_listed",
)
_AUTHENTIC_QR: Final = ("signature", "signer.chain", "trust.issuer")
# The seal picture is what a reader takes for proof of the seal, and any licence of the
# authority carries a copy of it: it is shown only when the seal, its maker, the signer bound
# to it and the issuer all checked out (every other ``seal.*`` check as well).
_SEAL_PICTURE_CHECKS: Final = (
    "signature",
    "seal.signer_listed",
    "seal.maker_signature",
    "seal.maker_chain",
    "seal.validity",
    "signer.chain",
    "data_hash",
    "trust.issuer",
)
# Run only when the verifier has trust lists; when run, they must have PASSED too.
_SEAL_PICTURE_IF_RUN: Final = ("trust.licence_type", "trust.list")
_NOTICE_FORGED: Final = (
    "证照真实性未获确认（签名、证书、印章或发证机关核验未通过），不显示其内容，请勿据此办理。",
    "the licence's authenticity is not established (a signature, certificate, seal or issuer "
    "check did not pass): its content is not shown",
)
_NOTICE_NOTHING: Final = (
    "未取得可验证的证照内容，不显示任何证照信息。",
    "no licence content could be read and verified: nothing is shown",
)


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
        "unverified": True,
        "notice_zh": None,
        "notice_en": None,
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
    if licence is not None and _all_passed(result, _AUTHENTIC_SEALED):
        licence_type = _licence_type(licence.type_code)
        view.update(
            unverified=False,
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
    elif licence is None and claims is not None and _all_passed(result, _AUTHENTIC_QR):
        licence_type = _licence_type(claims.type_code)
        issuer_name = result.issuer.name if result.issuer is not None else None
        if issuer_name is None and trust_store is not None:
            issuer_name = _issuer_name(trust_store, claims.issuer_code)
        view.update(
            unverified=False,
            title=None if licence_type is None else licence_type.name,
            licence_id=claims.licence_id,
            holder_name=claims.holder_name,
            issuer_name=issuer_name,
            valid_from=claims.valid_from.isoformat(),
            valid_until=_end(claims.valid_until),
            fields=_fields(claims.surface, licence_type),
        )
    else:
        notice = _NOTICE_NOTHING if licence is None and claims is None else _NOTICE_FORGED
        view.update(notice_zh=notice[0], notice_en=notice[1])
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


def _all_passed(result: VerificationResult, names: tuple[str, ...]) -> bool:
    """Whether every check in ``names`` ran and PASSED, each time it ran (one that did not
    run has not passed)."""
    passed: dict[str, bool] = {}
    for check in result.checks:
        passed[check.name] = passed.get(check.name, True) and check.status is CheckStatus.PASSED
    return all(passed.get(name, False) for name in names)


def _seal_checked(result: VerificationResult) -> bool:
    """Whether the seal picture may be shown (see ``_SEAL_PICTURE_CHECKS``)."""
    if not _all_passed(result, _SEAL_PICTURE_CHECKS):
        return False
    return all(
        check.status is CheckStatus.PASSED
        for check in result.checks
        if check.name.startswith("seal.") or check.name in _SEAL_PICTURE_IF_RUN
    )


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
