"""The sealed-licence document ``ezz/sealed/1`` — 签章后的电子证照.

``{"format": "ezz/sealed/1", "licence": {…ezz/licence/1…}, "ses_signature": "<base64 DER>"}``:
the licence JSON object and a GB/T 38540 ``SES_Signature`` whose ``dataHash`` is SM3 over the
licence's RFC 8785 canonical bytes.
"""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass
from typing import Final

from ezhengzhao.errors import DecodeError
from ezhengzhao.formats.jsonio import loads
from ezhengzhao.formats.licence_json import (
    licence_canonical_bytes,
    licence_from_dict,
    licence_to_dict,
)
from ezhengzhao.model import Licence

__all__ = ["SEALED_FORMAT", "SealedDocument", "SealedLicence", "parse_sealed_document"]

SEALED_FORMAT: Final = "ezz/sealed/1"
_MAX_SEALED_BYTES: Final = 4 << 20


@dataclass(frozen=True, slots=True)
class SealedDocument:
    """A sealed document split into its parts, before the licence itself is validated."""

    licence_object: dict[str, object]
    ses_signature: bytes


def parse_sealed_document(data: bytes | str) -> SealedDocument:
    """Split ``ezz/sealed/1`` JSON into the licence object and the DER signature.

    Raises DecodeError for malformed JSON, an unknown format, or bad base64.
    """
    value = loads(data, max_bytes=_MAX_SEALED_BYTES, what="sealed licence")
    if not isinstance(value, dict):
        raise DecodeError("sealed licence must be a JSON object")
    fmt = value.get("format")
    if fmt != SEALED_FORMAT:
        raise DecodeError(f"unknown sealed-licence format {fmt!r}, expected {SEALED_FORMAT!r}")
    unknown = sorted(value.keys() - {"format", "licence", "ses_signature"})
    if unknown:
        raise DecodeError(f"unknown member {unknown[0]!r} in {SEALED_FORMAT}")
    licence = value.get("licence")
    if not isinstance(licence, dict):
        raise DecodeError("member 'licence' must be a JSON object")
    encoded = value.get("ses_signature")
    if not isinstance(encoded, str):
        raise DecodeError("member 'ses_signature' must be a base64 string")
    try:
        der = binascii.a2b_base64(encoded, strict_mode=True)
    except (binascii.Error, ValueError):
        raise DecodeError("member 'ses_signature' is not valid base64") from None
    if not der:
        raise DecodeError("member 'ses_signature' is empty")
    # Padding bits must be zero, or two texts would carry one signature (RFC 4648 §3.5).
    tail = len(der) % 3
    if tail and not encoded.endswith(base64.b64encode(der[-tail:]).decode("ascii")):
        raise DecodeError("member 'ses_signature' is not canonical base64")
    return SealedDocument(licence, der)


@dataclass(frozen=True, slots=True)
class SealedLicence:
    """A licence with its electronic seal signature (DER ``SES_Signature``)."""

    licence: Licence
    ses_signature: bytes

    @property
    def canonical_bytes(self) -> bytes:
        """The bytes the seal's ``dataHash`` covers."""
        return licence_canonical_bytes(self.licence)

    def to_dict(self) -> dict[str, object]:
        return {
            "format": SEALED_FORMAT,
            "licence": licence_to_dict(self.licence),
            "ses_signature": base64.b64encode(self.ses_signature).decode("ascii"),
        }

    def to_json(self, *, indent: int | None = 2) -> bytes:
        return json.dumps(self.to_dict(), ensure_ascii=False, indent=indent).encode() + b"\n"

    @classmethod
    def from_json(cls, data: bytes | str) -> SealedLicence:
        """Load a sealed licence; raises DecodeError or LicenceFormatError when malformed.

        This only reads the document; use ``Verifier.verify`` to decide whether it is valid.
        """
        doc = parse_sealed_document(data)
        return cls(licence_from_dict(doc.licence_object), doc.ses_signature)
