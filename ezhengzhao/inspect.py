"""Readable views of sealed licences and verification results, in Chinese and English.

Inspection shows what a document *says*; it decides nothing (``ezz verify`` does that).
"""

from __future__ import annotations

import hashlib
import unicodedata
from collections.abc import Sequence

from ezhengzhao.catalogue import Catalogue
from ezhengzhao.errors import CatalogueError, CertificateError
from ezhengzhao.formats.licence_json import licence_to_dict
from ezhengzhao.formats.sealed import SealedLicence
from ezhengzhao.result import CheckStatus, VerificationResult
from ezhengzhao.sign.ses import parse_ses_signature
from ezhengzhao.sign.x509 import Certificate

__all__ = ["inspect_document", "render_inspection", "render_result", "table"]

_LABELS = {
    "licence_id": ("证照标识", "licence identifier"),
    "type_name": ("证照名称", "licence type"),
    "type_code": ("证照类型代码", "type code"),
    "number": ("证照编号", "licence number"),
    "version": ("版本", "version"),
    "holder": ("持证主体", "holder"),
    "holder_code": ("持证主体代码", "holder code"),
    "issuer": ("颁发机构", "issuing authority"),
    "issuer_code": ("颁发机构代码", "authority code"),
    "issue_date": ("颁发日期", "issue date"),
    "validity": ("有效期", "validity"),
}


def inspect_document(data: bytes | str) -> dict[str, object]:
    """A JSON-ready view of a sealed licence: licence fields with labels, and the seal."""
    sealed = SealedLicence.from_json(data)
    lic = sealed.licence
    signature = parse_ses_signature(sealed.ses_signature)
    labels: dict[str, str] = {}
    try:
        licence_type = Catalogue.builtin().get(lic.type_code)
        labels = {f.key: f.label for f in licence_type.fields}
    except CatalogueError:
        pass
    return {
        "licence": licence_to_dict(lic),
        "surface_labels": {k: labels.get(k, k) for k in lic.surface},
        "seal": {
            "version": signature.version,
            "es_id": signature.seal.info.es_id,
            "name": signature.seal.info.name,
            "valid_start": signature.seal.info.valid_start.isoformat(),
            "valid_end": signature.seal.info.valid_end.isoformat(),
            "maker": _subject(signature.seal.maker_cert),
            "picture_bytes": len(signature.seal.info.picture.data),
            "picture_mm": [
                signature.seal.info.picture.width_mm,
                signature.seal.info.picture.height_mm,
            ],
        },
        "signature": {
            "signed_at": signature.time_info.isoformat(),
            "algorithm_oid": signature.signature_alg_oid,
            "signer": _subject(signature.signer_cert),
            "signer_cert_sha256": hashlib.sha256(signature.signer_cert).hexdigest(),
            "data_hash_sm3": signature.data_hash.hex(),
        },
    }


def _subject(der: bytes) -> str:
    try:
        return str(Certificate.from_der(der).subject)
    except CertificateError as exc:
        return f"(unreadable certificate: {exc})"


def render_inspection(view: dict[str, object]) -> str:
    licence = view["licence"]
    seal = view["seal"]
    signature = view["signature"]
    labels = view["surface_labels"]
    assert isinstance(licence, dict) and isinstance(seal, dict)
    assert isinstance(signature, dict) and isinstance(labels, dict)
    holder, issuer, validity = licence["holder"], licence["issuer"], licence["validity"]
    rows = [
        ("licence_id", licence["licence_id"]),
        ("type_name", licence["type_name"]),
        ("type_code", licence["type_code"]),
        ("number", licence["number"]),
        ("version", licence["version"]),
        ("holder", holder["name"]),
        ("holder_code", holder["code"]),
        ("issuer", f"{issuer['name']} ({issuer['level']}, {issuer['region_code']})"),
        ("issuer_code", issuer["code"]),
        ("issue_date", licence["issue_date"]),
        ("validity", f"{validity['start']} — {validity['end'] or '长期 (no end)'}"),
    ]
    lines = [f"{_LABELS[k][0]} {_LABELS[k][1]}: {v}" for k, v in rows]
    lines.append("照面信息 surface fields:")
    for key, value in licence["surface"].items():
        lines.append(f"  {labels.get(key, key)} ({key}): {value}")
    lines += [
        "电子印章 seal:",
        f"  印章编码 esID: {seal['es_id']}   印章名称 name: {seal['name']}",
        f"  有效期 valid: {seal['valid_start']} — {seal['valid_end']}",
        f"  制章者 maker: {seal['maker']}",
        "电子签章 signature:",
        f"  签章人 signer: {signature['signer']}",
        f"  签章时间 signed at: {signature['signed_at']}",
        f"  算法 algorithm: {signature['algorithm_oid']}",
    ]
    return "\n".join(lines)


def render_result(result: VerificationResult) -> str:
    """The verdict first, then every check, as a clerk would read it."""
    lines = [f"{result.status.label_zh} {result.status.value}"]
    if result.licence is not None:
        lic = result.licence
        lines.append(f"{lic.type_name} {lic.number} — {lic.holder.name} — {lic.issuer.name}")
    if result.claims is not None:
        c = result.claims
        lines.append(f"{c.licence_id} — {c.number} — {c.holder_name} — 颁发机构 {c.issuer_code}")
        lines.extend(f"    {key}: {value}" for key, value in c.surface.items())
    marks = {
        CheckStatus.PASSED: "✓",
        CheckStatus.FAILED: "✗",
        CheckStatus.INDETERMINATE: "?",
        CheckStatus.WARNING: "!",
        CheckStatus.SKIPPED: "-",
    }
    for check in result.checks:
        lines.append(
            f"  {marks[check.status]} {check.name:<22} {check.reason:<24} "
            f"{check.message_zh} / {check.message_en}"
        )
    return "\n".join(lines)


def _width(text: str) -> int:
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    """A plain text table that lines up Chinese (double-width) text."""
    widths = [max(_width(str(r[i])) for r in [header, *rows]) for i in range(len(header))]

    def line(cells: Sequence[str]) -> str:
        return "  ".join(
            str(c) + " " * (w - _width(str(c))) for c, w in zip(cells, widths, strict=True)
        ).rstrip()

    return "\n".join([line(header), line(["-" * w for w in widths]), *(line(r) for r in rows)])
