"""Regenerate the published electronic-seal vectors in ``test_vectors/seal/`` (GB/T 38540).

Run from the repository root::

    .venv/bin/python scripts/make_seal_vectors.py

Every vector is a folder of data (see ``test_vectors/seal/README.md``): the licence, its RFC 8785
canonical bytes, the SM3 ``dataHash``, the DER of ``TBS_Sign`` and ``SES_SealInfo``, the
``SES_Signature``, the sealed document, the certificates and the expected verdict. The layout
and the licences are deterministic; keys, serial numbers and SM2/ECDSA signatures are random,
so each run rewrites the DER and PEM files. The committed files are the vectors; this script
only records how they were made.

Times are fixed, never the machine's clock: every licence is signed at :data:`SIGNING_TIME`
with certificates and seals valid around it, and every vector is verified at
:data:`VALIDATION_TIME`. Before anything is written, each vector is run through
:class:`~ezhengzhao.verify.Verifier` and must get the verdict declared here; the checks it ran
are recorded alongside.
"""

from __future__ import annotations

import base64
import json
import sys
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

from vector_sets import publish, to_json

from ezhengzhao import demo
from ezhengzhao.catalogue import Catalogue
from ezhengzhao.errors import DecodeError
from ezhengzhao.formats.licence_json import licence_canonical_bytes, licence_to_dict
from ezhengzhao.formats.sealed import SEALED_FORMAT
from ezhengzhao.issue import IssuingAuthority, build_licence
from ezhengzhao.model import Licence, LicenceDraft
from ezhengzhao.result import VerificationResult
from ezhengzhao.sign.keys import PrivateKey, generate_private_key
from ezhengzhao.sign.picture import draw_seal_picture
from ezhengzhao.sign.sealing import make_authority_seal
from ezhengzhao.sign.ses import Seal, make_signature, parse_ses_signature, sm3
from ezhengzhao.sign.suites import ECDSA_P256_SHA256, ED25519, SM2_SM3, get_suite
from ezhengzhao.sign.x509 import Certificate, build_certificate
from ezhengzhao.trust.store import TrustStore
from ezhengzhao.verify import Verifier

REPO = Path(__file__).resolve().parent.parent
OUT = REPO / "test_vectors" / "seal"
INDEX_FORMAT = "ezz/seal-vectors/1"

SIGNING_TIME = datetime(2026, 5, 20, 2, 0, 0, tzinfo=UTC)
VALIDATION_TIME = datetime(2026, 6, 1, 8, 0, 0, tzinfo=UTC)
VERIFYING_REGION = "310000"

#: GM/T 0006 assigns this OID to SM2 with SHA-256; no signature suite of the library has it.
OID_SM2_WITH_SHA256 = "1.2.156.10197.1.503"
#: Bytes cut from the end of the valid SM2 SES_Signature for the truncated vector.
TRUNCATED_BY = 40


@dataclass(frozen=True, slots=True)
class Vector:
    """One vector before it is written: its inputs and the verdict it must get."""

    id: str
    description: str
    suite: str
    licence: dict[str, object]
    ses_signature: bytes
    root: Certificate
    seal_maker: Certificate
    signer: Certificate
    expected_status: str
    expected_reasons: tuple[str, ...] = ()
    expected_warnings: tuple[str, ...] = ()
    derived_from: str | None = None
    extra_certificates: tuple[tuple[str, Certificate], ...] = ()


def _time(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _region_spec() -> demo.RegionSpec:
    """The demo's 上海 region, its first authority holding keys of all three suites."""
    spec = demo.REGIONS[0]
    first = replace(spec.authorities[0], extra_suites=(ECDSA_P256_SHA256, ED25519))
    return replace(spec, authorities=(first, *spec.authorities[1:]))


def _seal_as_given(
    licence: Licence,
    *,
    signer: PrivateKey,
    certificate: Certificate,
    seal: Seal,
    alg_oid: str | None = None,
) -> bytes:
    """Seal a licence without the issuing checks, as a faulty issuing system would."""
    return make_signature(
        seal=seal,
        data_hash=sm3(licence_canonical_bytes(licence)),
        time_info=SIGNING_TIME,
        property_info=licence.licence_id,
        signer_cert=certificate.der,
        sign_alg_oid=alg_oid or signer.suite.signature_oid,
        sign=signer.sign,
    ).der


def build_vectors() -> list[Vector]:
    """Make the PKI, the seals and every vector, in index order."""
    catalogue = Catalogue.builtin()
    food = catalogue.by_name("食品经营许可证")
    region = demo._region(_region_spec(), SIGNING_TIME)
    authority = region.authorities[0]
    issuer = authority.issuer
    holder = demo._People().company("310000", "上海浦江餐饮管理有限公司")

    # demo._region draws the seal picture at 200 dpi; 100 dpi keeps each vector small.
    seal = make_authority_seal(
        name=issuer.name,
        es_id=authority.seal.info.es_id,
        signer_certificates=list(authority.certificates.values()),
        maker=region.maker_key,
        maker_certificate=region.maker,
        valid_start=SIGNING_TIME - timedelta(hours=12),
        valid_end=SIGNING_TIME + timedelta(days=365 * 5),
        created=SIGNING_TIME - timedelta(hours=12),
        picture=draw_seal_picture(issuer.name, dpi=100, subtitle="电子印章"),
    )
    sm2_cert = authority.certificates[SM2_SM3]
    sm2_key = authority.keys[SM2_SM3]

    serial = iter(range(1, 100))

    def draft() -> LicenceDraft:
        return demo._draft(
            food, holder, issuer, f"JY13101152026{next(serial):04d}", SIGNING_TIME.date()
        )

    def licence(seal_used: Seal) -> Licence:
        return build_licence(
            draft(),
            catalogue=catalogue,
            issuer=issuer,
            seal_name=seal_used.info.name,
            now=SIGNING_TIME,
        )

    def vector(
        vector_id: str,
        description: str,
        lic: Licence | dict[str, object],
        der: bytes,
        status: str,
        reasons: tuple[str, ...] = (),
        *,
        suite: str = SM2_SM3,
        signer: Certificate = sm2_cert,
        seal_maker: Certificate = region.maker,
        warnings: tuple[str, ...] = (),
        derived_from: str | None = None,
        extra_certificates: tuple[tuple[str, Certificate], ...] = (),
    ) -> Vector:
        return Vector(
            id=vector_id,
            description=description,
            suite=suite,
            licence=licence_to_dict(lic) if isinstance(lic, Licence) else lic,
            ses_signature=der,
            root=region.root,
            seal_maker=seal_maker,
            signer=signer,
            expected_status=status,
            expected_reasons=reasons,
            expected_warnings=warnings,
            derived_from=derived_from,
            extra_certificates=extra_certificates,
        )

    vectors: list[Vector] = []

    # Valid: one per suite, made by the library's own issuing path, which checks the
    # credentials and verifies the signature it made.
    tags = {SM2_SM3: "sm2", ECDSA_P256_SHA256: "p256", ED25519: "ed25519"}
    for suite, tag in tags.items():
        credentials = IssuingAuthority(
            issuer, authority.keys[suite], authority.certificates[suite], seal
        )
        sealed = credentials.issue(draft(), catalogue=catalogue, now=SIGNING_TIME)
        vectors.append(
            vector(
                f"seal-{tag}-valid",
                f"A valid 食品经营许可证 sealed by {issuer.name} with its {suite} signer key "
                "(the seal maker and the root are SM2-SM3).",
                sealed.licence,
                sealed.ses_signature,
                "PASSED",
                suite=suite,
                signer=authority.certificates[suite],
            )
        )
    valid = vectors[0]

    changed = json.loads(json.dumps(valid.licence))
    changed["holder"]["name"] = "上海冒名餐饮有限公司"
    vectors.append(
        vector(
            "seal-sm2-data-changed",
            "seal-sm2-valid with the holder's name changed after sealing; the SES_Signature "
            "is byte for byte that of seal-sm2-valid, so the signature, the seal and the chains "
            "all verify and only the dataHash differs.",
            changed,
            valid.ses_signature,
            "FAILED",
            ("data_hash_mismatch",),
            derived_from=valid.id,
        )
    )

    # A second SM2 certificate of the same authority, chained to the same root but never
    # added to the seal's certList: only the certList check can catch it.
    unlisted_key = generate_private_key(SM2_SM3)
    unlisted = build_certificate(
        subject=sm2_cert.subject,
        subject_key=unlisted_key.public_key,
        issuer=region.root.subject,
        issuer_signer=region.root_key,
        not_before=SIGNING_TIME - timedelta(days=1),
        not_after=SIGNING_TIME + timedelta(days=365 * 5),
        key_usage=("digitalSignature", "nonRepudiation"),
        issuer_key_id=region.root.subject_key_id,
    )
    lic = licence(seal)
    vectors.append(
        vector(
            "seal-sm2-signer-not-in-seal",
            "Signed with a second, valid certificate of the same authority (same subject, same "
            "root) that the seal's certList does not contain.",
            lic,
            _seal_as_given(lic, signer=unlisted_key, certificate=unlisted, seal=seal),
            "FAILED",
            ("signer_not_in_seal",),
            signer=unlisted,
        )
    )

    other = region.authorities[1]
    other_cert = other.certificates[SM2_SM3]
    lic = licence(seal)
    vectors.append(
        vector(
            "seal-sm2-foreign-signer",
            f"{other.issuer.name}'s key and certificate used with {issuer.name}'s seal on a "
            f"licence naming {issuer.name}: the certificate is not in the seal's certList and "
            "its subject is another authority.",
            lic,
            _seal_as_given(lic, signer=other.keys[SM2_SM3], certificate=other_cert, seal=seal),
            "FAILED",
            ("signer_not_in_seal", "issuer_mismatch"),
            signer=other_cert,
        )
    )

    old_start, old_end = SIGNING_TIME - timedelta(hours=20), SIGNING_TIME - timedelta(hours=1)
    old_seal = make_authority_seal(
        name=issuer.name,
        es_id="310115019900000001",
        signer_certificates=[sm2_cert],
        maker=region.maker_key,
        maker_certificate=region.maker,
        valid_start=old_start,
        valid_end=old_end,
        created=old_start,
        picture=draw_seal_picture(issuer.name, dpi=100, subtitle="电子印章"),
    )
    lic = licence(old_seal)
    vectors.append(
        vector(
            "seal-sm2-seal-expired",
            f"Signed at {_time(SIGNING_TIME)} with a seal of the same authority, listing the "
            f"same certificate, valid from {_time(old_start)} to {_time(old_end)}: it had "
            "expired an hour before.",
            lic,
            _seal_as_given(lic, signer=sm2_key, certificate=sm2_cert, seal=old_seal),
            "FAILED",
            ("seal_expired",),
        )
    )

    p256_oid = get_suite(ECDSA_P256_SHA256).signature_oid
    lic = licence(seal)
    vectors.append(
        vector(
            "seal-sm2-alg-oid-mismatch",
            f"A correct SM2-SM3 signature whose SES_Signature.signatureAlgID says "
            f"ecdsa-with-SHA256 ({p256_oid}): a known algorithm, but not the signer key's.",
            lic,
            _seal_as_given(lic, signer=sm2_key, certificate=sm2_cert, seal=seal, alg_oid=p256_oid),
            "FAILED",
            ("algorithm_mismatch",),
        )
    )
    lic = licence(seal)
    vectors.append(
        vector(
            "seal-sm2-alg-oid-unknown",
            f"A correct SM2-SM3 signature whose SES_Signature.signatureAlgID is "
            f"{OID_SM2_WITH_SHA256} (SM2 with SHA-256 in GM/T 0006), an algorithm the verifier "
            "does not implement.",
            lic,
            _seal_as_given(
                lic, signer=sm2_key, certificate=sm2_cert, seal=seal, alg_oid=OID_SM2_WITH_SHA256
            ),
            "FAILED",
            ("unsupported_algorithm",),
        )
    )

    vectors.append(
        vector(
            "seal-sm2-truncated",
            f"seal-sm2-valid with the last {TRUNCATED_BY} bytes of its SES_Signature cut off "
            "(inside the signature BIT STRING): the outer SEQUENCE claims more bytes than there "
            "are.",
            valid.licence,
            valid.ses_signature[:-TRUNCATED_BY],
            "FAILED",
            ("seal_format_invalid",),
            derived_from=valid.id,
        )
    )

    good = licence(seal)
    wrong_check = good.licence_id[:-1] + ("0" if good.licence_id[-1] != "0" else "1")
    bad_id = replace(good, licence_id=wrong_check)
    vectors.append(
        vector(
            "seal-sm2-id-check-character",
            f"A validly sealed licence whose 证照标识 ends in {wrong_check[-1]!r} where "
            f"ISO/IEC 7064 MOD 37,36 gives {good.licence_id[-1]!r}: older issuing systems "
            "computed the check differently, so verification passes with a warning.",
            bad_id,
            _seal_as_given(bad_id, signer=sm2_key, certificate=sm2_cert, seal=seal),
            "PASSED",
            warnings=("licence_id_check_failed",),
        )
    )

    rogue_root, rogue = demo._rogue_authority(issuer, SIGNING_TIME)
    rogue_sealed = rogue.issue(draft(), catalogue=catalogue, now=SIGNING_TIME)
    rogue_parts = parse_ses_signature(rogue_sealed.ses_signature)
    vectors.append(
        vector(
            "seal-sm2-untrusted-root",
            f"A look-alike PKI: a seal and a certificate naming {issuer.name} and its "
            "统一社会信用代码, made under a root the verifier does not trust "
            "(untrusted_root.pem); root.pem is the genuine root.",
            rogue_sealed.licence,
            rogue_sealed.ses_signature,
            "FAILED",
            ("seal_maker_untrusted", "issuer_untrusted"),
            seal_maker=Certificate.from_der(rogue_parts.seal.maker_cert),
            signer=Certificate.from_der(rogue_parts.signer_cert),
            extra_certificates=(("untrusted_root.pem", rogue_root),),
        )
    )
    return vectors


def _document(vector: Vector) -> bytes:
    """The sealed document, laid out as ``SealedLicence.to_json`` lays it out."""
    value = {
        "format": SEALED_FORMAT,
        "licence": vector.licence,
        "ses_signature": base64.b64encode(vector.ses_signature).decode("ascii"),
    }
    return to_json(value)


def _verify(vector: Vector) -> VerificationResult:
    verifier = Verifier(
        trust_store=TrustStore.from_certificates([vector.root], seal_makers=[vector.seal_maker]),
        clock=lambda: VALIDATION_TIME,
        region=VERIFYING_REGION,
    )
    return verifier.verify(_document(vector))


def _files(vector: Vector, result: VerificationResult) -> dict[str, bytes]:
    """Every file of a vector's folder, by name."""
    canonical = licence_canonical_bytes(vector.licence)
    files = {
        "licence.json": to_json(vector.licence),
        "canonical.hex": canonical.hex().encode("ascii") + b"\n",
        "data_hash.hex": sm3(canonical).hex().encode("ascii") + b"\n",
        "ses_signature.der": vector.ses_signature,
        "sealed.ezz.json": _document(vector),
        "root.pem": vector.root.to_pem(),
        "seal_maker.pem": vector.seal_maker.to_pem(),
        "signer.pem": vector.signer.to_pem(),
    }
    for name, certificate in vector.extra_certificates:
        files[name] = certificate.to_pem()
    try:
        parsed = parse_ses_signature(vector.ses_signature)
    except DecodeError:
        pass  # the truncated vector: there is no TBS_Sign to show
    else:
        files["tbs_sign.der"] = parsed.tbs_der
        files["seal_info.der"] = parsed.seal.info_der
    expected: dict[str, object] = {
        "id": vector.id,
        "description": vector.description,
        "suite": vector.suite,
        "signing_time": _time(SIGNING_TIME),
        "validation_time": _time(VALIDATION_TIME),
        "verifying_region": VERIFYING_REGION,
        "expected_status": vector.expected_status,
        "expected_reasons": list(vector.expected_reasons),
        "expected_warnings": list(vector.expected_warnings),
        "expected_checks": [
            {"name": c.name, "status": c.status.value, "reason": c.reason} for c in result.checks
        ],
    }
    if vector.derived_from is not None:
        expected["derived_from"] = vector.derived_from
    files["expected.json"] = to_json(expected)
    return dict(sorted(files.items()))


def main() -> int:
    return publish(
        build_vectors(),
        verify=_verify,
        files_of=_files,
        out=OUT,
        prefix="seal-",
        index_format=INDEX_FORMAT,
        description="GB/T 38540 electronic-seal vectors for ezz/sealed/1 licences; see README.md",
        repo=REPO,
    )


if __name__ == "__main__":
    sys.exit(main())
