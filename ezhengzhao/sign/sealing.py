"""Seal-level operations shared by issuing and verifying code (GB/T 38540).

Making an authority's seal (印章制作) from its name, its signer certificates and the seal
maker's key; and reading which certificates a seal lists.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from datetime import UTC, datetime

from ezhengzhao.errors import SealError
from ezhengzhao.sign.picture import draw_seal_picture
from ezhengzhao.sign.ses import Seal, SealInfo, SealPicture, make_seal, sm3
from ezhengzhao.sign.suites import Signer
from ezhengzhao.sign.x509 import Certificate

__all__ = ["make_authority_seal", "seal_lists_certificate"]

#: Vendor id written into the seal header (``vid``).
VENDOR_ID = "EZZ"


def seal_lists_certificate(seal: Seal, cert_der: bytes) -> bool:
    """Whether the seal's certList names ``cert_der``: byte-equal, or by SM3/SHA-256 digest."""
    if seal.info.cert_list_type == 1:
        return cert_der in seal.info.certs
    for kind, value in seal.info.cert_digests:
        name = kind.lower().replace("-", "")
        if name == "sm3" and sm3(cert_der) == value:
            return True
        if name == "sha256" and hashlib.sha256(cert_der).digest() == value:
            return True
    return False


def make_authority_seal(
    *,
    name: str,
    es_id: str,
    signer_certificates: Sequence[Certificate],
    maker: Signer,
    maker_certificate: Certificate,
    valid_start: datetime,
    valid_end: datetime,
    created: datetime,
    picture: SealPicture | None = None,
    subtitle: str | None = "电子印章",
) -> Seal:
    """Make and sign an authority's official seal (单位印章, type 1) listing its signer certs.

    The picture is drawn from ``name`` unless one is given. The maker's certificate must
    belong to ``maker``.
    """
    if not signer_certificates:
        raise SealError("a seal must list at least one signer certificate")
    if maker_certificate.public_key.spki_der() != maker.public_key.spki_der():
        raise SealError("the seal maker's key does not match the seal maker certificate")
    if not valid_start < valid_end:
        raise SealError("the seal's validStart must be before its validEnd")
    info = SealInfo(
        es_id=es_id,
        name=name,
        seal_type=1,
        cert_list_type=1,
        certs=tuple(c.der for c in signer_certificates),
        cert_digests=(),
        create_date=_second(created),
        valid_start=_second(valid_start),
        valid_end=_second(valid_end),
        picture=picture or draw_seal_picture(name, subtitle=subtitle),
        vendor_id=VENDOR_ID,
    )
    return make_seal(
        info,
        maker_cert=maker_certificate.der,
        sign_alg_oid=maker.suite.signature_oid,
        sign=maker.sign,
    )


def _second(moment: datetime) -> datetime:
    if moment.tzinfo is None:
        raise SealError("seal times must be timezone-aware")
    return moment.astimezone(UTC).replace(microsecond=0)
