"""Issuance — 制证与签章: from a draft to a sealed licence.

The issuing side only: it validates a draft against the catalogue, assigns the GB/T 36904
identifier, and seals the canonical bytes with the authority's GB/T 38540 electronic seal. It
shares formats and signature suites with the verifier but never imports it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from ezhengzhao import codes
from ezhengzhao.catalogue import Catalogue, LicenceType
from ezhengzhao.clock import china_date
from ezhengzhao.errors import CodeError, CryptoError, IssuanceError, LicenceFormatError
from ezhengzhao.formats.licence_json import (
    licence_canonical_bytes,
    licence_from_dict,
    licence_to_dict,
)
from ezhengzhao.formats.sealed import SealedLicence
from ezhengzhao.model import ISSUER_LEVELS, Issuer, Licence, LicenceDraft, Sealing, Validity
from ezhengzhao.qr.payload import DEFAULT_MAX_VERSION, build_qr_text
from ezhengzhao.sign.keys import PreparedVerifier
from ezhengzhao.sign.sealing import seal_lists_certificate
from ezhengzhao.sign.ses import Seal, SESSignature, make_signature, sm3
from ezhengzhao.sign.suites import Signer
from ezhengzhao.sign.x509 import Certificate

__all__ = ["IssuingAuthority", "build_licence", "issue"]

_SERIAL = re.compile(r"[0-9A-Za-z]{1,64}")


@dataclass(frozen=True, slots=True)
class IssuingAuthority:
    """An issuing authority's credentials — 发证机关: who it is, its signer and its seal."""

    issuer: Issuer
    signer: Signer
    certificate: Certificate
    seal: Seal

    def qr_text(
        self,
        licence: Licence,
        *,
        catalogue: Catalogue,
        now: datetime,
        max_version: int = DEFAULT_MAX_VERSION,
    ) -> str:
        """The offline verification code (``EZZ1:``) for a licence this authority issued."""
        if licence.issuer != self.issuer:
            raise IssuanceError(f"{licence.licence_id} was not issued by {self.issuer.name}")
        return build_qr_text(
            licence,
            licence_type=catalogue.get(licence.type_code),
            signer=self.signer,
            certificate=self.certificate,
            issued_at=now,
            max_version=max_version,
        )

    def issue(self, draft: LicenceDraft, *, catalogue: Catalogue, now: datetime) -> SealedLicence:
        return issue(
            draft,
            catalogue=catalogue,
            signer=self.signer,
            certificate=self.certificate,
            seal=self.seal,
            issuer=self.issuer,
            now=now,
        )


def issue(
    draft: LicenceDraft,
    *,
    catalogue: Catalogue,
    signer: Signer,
    certificate: Certificate,
    seal: Seal,
    issuer: Issuer,
    now: datetime,
) -> SealedLicence:
    """Validate ``draft``, give it a 证照标识 and seal it; raise an EzhengzhaoError otherwise.

    ``now`` is the signing time (aware). The signer's certificate must be listed in the seal,
    and both must be valid at ``now``; the certificate's key must be the signer's.
    """
    now = _signing_time(now)
    _check_credentials(signer, certificate, seal, issuer, now)
    licence, licence_json = _build_licence(
        draft, catalogue=catalogue, issuer=issuer, seal_name=seal.info.name, now=now
    )
    data = licence_canonical_bytes(licence_json)
    signature = make_signature(
        seal=seal,
        data_hash=sm3(data),
        time_info=now,
        property_info=licence.licence_id,
        signer_cert=certificate.der,
        sign_alg_oid=signer.suite.signature_oid,
        sign=signer.sign,
    )
    # A faulty signer (a misconfigured HSM, a wrong key) must not reach a holder.
    try:
        _self_checker(certificate, seal, signature).verify(
            signature.signature, signature.tbs_der[signature.seal_end :]
        )
    except CryptoError as exc:
        raise IssuanceError(
            f"the signer produced a signature that does not verify: {exc}"
        ) from None
    return SealedLicence(licence, signature.der)


# Every TBS_Sign an authority signs starts with the same header, version and seal (several KB
# with its picture); the self-check keeps the hash state after them. Keyed by the certificate's
# and the seal's own bytes objects, whose hashes Python keeps, so a lookup costs no hashing.
_SELF_CHECKERS: dict[tuple[bytes, bytes, bytes], PreparedVerifier] = {}
_SELF_CHECKERS_MAX = 32


def _self_checker(
    certificate: Certificate, seal: Seal, signature: SESSignature
) -> PreparedVerifier:
    end = signature.seal_end
    key = (certificate.der, signature.tbs_der[: end - len(seal.der)], seal.der)
    checker = _SELF_CHECKERS.get(key)
    if checker is None:
        checker = certificate.public_key.prepare(signature.tbs_der[:end])
        if len(_SELF_CHECKERS) >= _SELF_CHECKERS_MAX:
            _SELF_CHECKERS.clear()
        _SELF_CHECKERS[key] = checker
    return checker


def build_licence(
    draft: LicenceDraft, *, catalogue: Catalogue, issuer: Issuer, seal_name: str, now: datetime
) -> Licence:
    """The licence a draft becomes, before sealing: validated, with its 证照标识 assigned.

    Raises CatalogueError, LicenceFormatError or IssuanceError.
    """
    licence, _ = _build_licence(
        draft, catalogue=catalogue, issuer=issuer, seal_name=seal_name, now=now
    )
    return licence


def _build_licence(
    draft: LicenceDraft, *, catalogue: Catalogue, issuer: Issuer, seal_name: str, now: datetime
) -> tuple[Licence, dict[str, object]]:
    """:func:`build_licence`, and the licence's JSON object, already checked, to seal."""
    now = _signing_time(now)
    licence_type = catalogue.get(draft.type_code)
    _check_parties(draft, licence_type, issuer)
    surface = licence_type.validate_surface(draft.surface)
    issue_date = draft.issue_date or china_date(now)
    validity = draft.validity or _default_validity(licence_type, issue_date)
    if validity.end is not None and validity.end < validity.start:
        raise IssuanceError("the validity period ends before it starts")
    try:
        licence_id = codes.build_licence_id(
            licence_type.code, issuer.code, _serial(draft), draft.version
        )
    except CodeError as exc:
        raise IssuanceError(f"cannot build the 证照标识: {exc}") from None
    licence = Licence(
        licence_id=str(licence_id),
        type_code=licence_type.code,
        type_name=licence_type.name,
        number=draft.number,
        version=draft.version,
        holder=draft.holder,
        issuer=issuer,
        issue_date=issue_date,
        validity=validity,
        surface=surface,
        sealing=Sealing(signer=issuer.name, seal_name=seal_name, signed_at=now),
        status=draft.status,
        previous=draft.previous,
        attachments=draft.attachments,
    )
    # Never issue what a verifier would refuse to read (lengths, characters, types).
    licence_json = licence_to_dict(licence)
    try:
        licence_from_dict(licence_json)
    except LicenceFormatError as exc:
        raise IssuanceError(f"the licence would not be valid ezz/licence/1: {exc}") from None
    return licence, licence_json


def _signing_time(now: datetime) -> datetime:
    if now.tzinfo is None:
        raise IssuanceError("the signing time must be timezone-aware")
    return now.astimezone(UTC).replace(microsecond=0)


def _check_parties(draft: LicenceDraft, licence_type: LicenceType, issuer: Issuer) -> None:
    if draft.holder.code_type != licence_type.holder_code_type:
        raise IssuanceError(
            f"{licence_type.name} is held by a {licence_type.holder_category}: holder.code_type "
            f"must be {licence_type.holder_code_type!r}, not {draft.holder.code_type!r}"
        )
    try:
        if draft.holder.code_type == "111":
            codes.parse_id_number(draft.holder.code)
        else:
            codes.parse_uscc(draft.holder.code)
        codes.parse_uscc(issuer.code)
        codes.parse_region_code(issuer.region_code)
    except CodeError as exc:
        raise IssuanceError(str(exc)) from None
    if issuer.level not in ISSUER_LEVELS:
        raise IssuanceError(
            f"issuer level {issuer.level!r} is not one of {'/'.join(ISSUER_LEVELS)}"
        )
    if licence_type.issuer_levels and issuer.level not in licence_type.issuer_levels:
        raise IssuanceError(
            f"{licence_type.name} is issued at {'/'.join(licence_type.issuer_levels)}, "
            f"not by a {issuer.level} authority"
        )
    if not draft.number.strip() or len(draft.number) > 100:
        raise IssuanceError("证照编号 must be 1 to 100 characters")
    if not 1 <= draft.version <= 999:
        raise IssuanceError("version must be between 1 and 999")
    if draft.version > 1 and draft.previous is None:
        raise IssuanceError("a re-issued licence (version > 1) must name the previous version")


def _check_credentials(
    signer: Signer, certificate: Certificate, seal: Seal, issuer: Issuer, now: datetime
) -> None:
    if certificate.public_key.spki_der() != signer.public_key.spki_der():
        raise IssuanceError("the signer's key does not match the signer certificate")
    if not certificate.not_before <= now <= certificate.not_after:
        raise IssuanceError(
            f"the signer certificate is valid {certificate.not_before:%Y-%m-%d} to "
            f"{certificate.not_after:%Y-%m-%d}, not at {now:%Y-%m-%d %H:%M}Z"
        )
    # Require exactly what a verifier requires, so no licence is issued only to be refused.
    if "digitalSignature" not in certificate.key_usage:
        raise IssuanceError("the signer certificate's key usage lacks digitalSignature")
    subject_code = certificate.subject.serial_number
    if subject_code != issuer.code:
        raise IssuanceError(
            f"the signer certificate belongs to {subject_code or 'no 统一社会信用代码'}, "
            f"not to the issuer {issuer.code}"
        )
    if certificate.subject.organization != issuer.name:
        raise IssuanceError(
            f"the signer certificate names {certificate.subject.organization!r}, "
            f"not the issuer {issuer.name!r}"
        )
    if not seal_lists_certificate(seal, certificate.der):
        raise IssuanceError(f"the signer certificate is not listed in the seal {seal.info.es_id}")
    if not seal.info.valid_start <= now <= seal.info.valid_end:
        raise IssuanceError(
            f"the seal {seal.info.es_id} is valid {seal.info.valid_start:%Y-%m-%d} to "
            f"{seal.info.valid_end:%Y-%m-%d}, not at {now:%Y-%m-%d}"
        )


def _default_validity(licence_type: LicenceType, start: date) -> Validity:
    years = licence_type.default_validity_years
    if years is None:
        return Validity(start, None)
    try:
        end = start.replace(year=start.year + years) - timedelta(days=1)
    except ValueError:  # from 29 February: the last day is 28 February
        end = start.replace(year=start.year + years, day=28)
    return Validity(start, end)


def _serial(draft: LicenceDraft) -> str:
    """The 证照标识 serial: given, or the 证照编号 when it is alphanumeric, else a digest of it."""
    if draft.serial is not None:
        return draft.serial
    if _SERIAL.fullmatch(draft.number):
        return draft.number.upper()
    return sm3(draft.number.encode("utf-8"))[:10].hex().upper()
