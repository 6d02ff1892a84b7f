"""Regenerate the published offline QR code vectors in ``test_vectors/qr/`` (``EZZ1:``).

Run from the repository root::

    .venv/bin/python scripts/make_qr_vectors.py

Every vector is a folder of data (see ``test_vectors/qr/README.md``): the licence, its CWT
claims in CBOR and a readable rendering of them, the COSE protected header, the Sig_structure,
the signature, the COSE_Sign1, the zlib stream, the base45 text, the QR text and its PNG, the
certificates and the expected verdict. The layout and the licences are deterministic; keys,
serial numbers and SM2/ECDSA signatures are random, so each run rewrites the signed bytes and
everything after them. The committed files are the vectors; this script only records how they
were made. ``test_vectors/qr/tokens/`` belongs to ``scripts/make_token_vectors.py`` and is
never touched here.

The PKI is the one ``scripts/make_seal_vectors.py`` builds (the demo's 上海 region, its first
authority holding SM2, P-256 and Ed25519 keys). Times are fixed, never the machine's clock:
every code is issued at :data:`SIGNING_TIME` and every vector is verified at
:data:`VALIDATION_TIME`. Before anything is written, each vector is run through
:class:`~ezhengzhao.verify.Verifier` and must get the verdict declared here; the checks it ran
are recorded alongside.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import cbor2
from vector_sets import publish, to_json

from ezhengzhao import demo
from ezhengzhao.catalogue import Catalogue
from ezhengzhao.errors import PayloadError
from ezhengzhao.formats import cbor, cose, qrtext
from ezhengzhao.formats.base45 import b45decode
from ezhengzhao.formats.licence_json import licence_to_dict
from ezhengzhao.issue import IssuingAuthority
from ezhengzhao.model import Licence
from ezhengzhao.qr.image import render_png
from ezhengzhao.qr.payload import CLAIM_LICENCE, PREFIX
from ezhengzhao.result import VerificationResult
from ezhengzhao.sign.keys import PrivateKey, generate_private_key
from ezhengzhao.sign.sealing import make_authority_seal
from ezhengzhao.sign.suites import ECDSA_P256_SHA256, ED25519, SM2_SM3, signature_to_raw
from ezhengzhao.sign.x509 import Certificate, build_certificate
from ezhengzhao.trust.store import TrustStore
from ezhengzhao.verify import Verifier

REPO = Path(__file__).resolve().parent.parent
OUT = REPO / "test_vectors" / "qr"
INDEX_FORMAT = "ezz/qr-vectors/1"

SIGNING_TIME = datetime(2026, 5, 20, 2, 0, 0, tzinfo=UTC)
VALIDATION_TIME = datetime(2026, 6, 1, 8, 0, 0, tzinfo=UTC)
#: The verifier's default tolerance for clocks; the expired vector sits just outside it.
CLOCK_SKEW = timedelta(minutes=5)
#: Module size of qr.png, in pixels.
MODULE_PX = 4

#: An unassigned COSE algorithm in the private-use range (below −65536).
ALG_UNKNOWN = -65599
#: The wrong prefix: the EU Digital COVID Certificate's.
WRONG_PREFIX = "HC1:"
#: The licence claim left out of the malformed vector: 3, 持证主体 (holder name).
MISSING_CLAIM = 3

SUITE_TAGS = {SM2_SM3: "sm2", ECDSA_P256_SHA256: "p256", ED25519: "ed25519"}


@dataclass(frozen=True, slots=True)
class Vector:
    """One vector before it is written: its inputs and the verdict it must get."""

    id: str
    description: str
    suite: str
    licence: Licence
    text: str
    root: Certificate
    signer: Certificate
    expected_status: str
    expected_reasons: tuple[str, ...] = ()
    expected_warnings: tuple[str, ...] = ()
    derived_from: str | None = None


def _time(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _region_spec() -> demo.RegionSpec:
    """The demo's 上海 region, its first authority holding keys of all three suites."""
    spec = demo.REGIONS[0]
    first = replace(spec.authorities[0], extra_suites=(ECDSA_P256_SHA256, ED25519))
    return replace(spec, authorities=(first, *spec.authorities[1:]))


def _raw_signer(key: PrivateKey) -> Callable[[bytes], bytes]:
    """``key.sign`` giving the COSE form (r ‖ s, or Ed25519's 64 bytes) whatever the label."""
    return lambda message: signature_to_raw(key.sign(message), key.suite.id)


def _unwrap(text: str) -> cose.CoseSign1:
    return cose.decode_sign1(qrtext.unwrap(text, prefix=PREFIX))


def _resign(
    message: cose.CoseSign1, key: PrivateKey, *, alg: int, kid: bytes, payload: bytes | None = None
) -> str:
    """A new ``EZZ1:`` text: ``payload`` (default: the message's) signed by ``key`` under the
    protected header ``{1: alg, 4: kid}``, whatever ``alg`` says."""
    signed = cose.sign1(
        message.payload if payload is None else payload,
        alg=alg,
        kid=kid,
        sign=_raw_signer(key),
    )
    return qrtext.wrap(signed.encode(), prefix=PREFIX)


def _cut_base45(text: str, remainder: int) -> str:
    """``text`` cut near its middle so that ``len(base45 part) % 3 == remainder``."""
    body = text[len(PREFIX) :]
    cut = len(body) // 2
    while cut % 3 != remainder:
        cut -= 1
    return PREFIX + body[:cut]


def build_vectors() -> list[Vector]:
    """Make the PKI, the licences and every vector, in index order."""
    catalogue = Catalogue.builtin()
    food = catalogue.by_name("食品经营许可证")
    region = demo._region(_region_spec(), SIGNING_TIME)
    authority = region.authorities[0]
    issuer = authority.issuer
    holder = demo._People().company("310000", "上海浦江餐饮管理有限公司")
    sm2_cert = authority.certificates[SM2_SM3]
    sm2_key = authority.keys[SM2_SM3]

    serial = iter(range(1, 100))

    def issue(credentials: IssuingAuthority) -> tuple[Licence, str]:
        """A new licence and its QR code, both by the library's own issuing path."""
        draft = demo._draft(
            food, holder, issuer, f"JY13101152026{next(serial):04d}", SIGNING_TIME.date()
        )
        licence = credentials.issue(draft, catalogue=catalogue, now=SIGNING_TIME).licence
        return licence, credentials.qr_text(licence, catalogue=catalogue, now=SIGNING_TIME)

    def vector(
        vector_id: str,
        description: str,
        licence: Licence,
        text: str,
        status: str,
        reasons: tuple[str, ...] = (),
        *,
        suite: str = SM2_SM3,
        signer: Certificate = sm2_cert,
        derived_from: str | None = None,
    ) -> Vector:
        return Vector(
            id=vector_id,
            description=description,
            suite=suite,
            licence=licence,
            text=text,
            root=region.root,
            signer=signer,
            expected_status=status,
            expected_reasons=reasons,
            derived_from=derived_from,
        )

    vectors: list[Vector] = []

    # Valid: one per suite, made by IssuingAuthority.qr_text.
    for suite, tag in SUITE_TAGS.items():
        credentials = authority.credentials(suite)
        licence, text = issue(credentials)
        vectors.append(
            vector(
                f"qr-{tag}-valid",
                f"The offline QR code of a valid 食品经营许可证, signed by {issuer.name} with "
                f"its {suite} signer key (COSE alg {cose.alg_for_suite(suite)}; the root is "
                "SM2-SM3).",
                licence,
                text,
                "PASSED",
                suite=suite,
                signer=authority.certificates[suite],
            )
        )
    valid = vectors[0]
    message = _unwrap(valid.text)
    kid = sm2_cert.kid

    # The holder's name changed in the claims; protected header and signature kept.
    claims = cbor.loads_strict(message.payload)
    assert isinstance(claims, dict)
    changed = dict(claims[CLAIM_LICENCE])
    changed[3] = "上海冒名餐饮有限公司"
    tampered = cose.CoseSign1(
        protected=message.protected,
        protected_header=message.protected_header,
        unprotected_header=message.unprotected_header,
        payload=cbor.dumps({**claims, CLAIM_LICENCE: changed}),
        signature=message.signature,
    )
    vectors.append(
        vector(
            "qr-sm2-tampered",
            "qr-sm2-valid with licence claim 3 (持证主体, the holder's name) changed to "
            "上海冒名餐饮有限公司 after signing; the protected header and the signature are "
            "byte for byte those of qr-sm2-valid.",
            valid.licence,
            qrtext.wrap(tampered.encode(), prefix=PREFIX),
            "FAILED",
            ("signature_invalid",),
            derived_from=valid.id,
        )
    )

    wrong_kid = kid[:-1] + bytes([kid[-1] ^ 0x01])
    vectors.append(
        vector(
            "qr-sm2-kid-unknown",
            f"qr-sm2-valid's claims re-signed by the same SM2 key, with kid {wrong_kid.hex()} "
            f"(the signer's kid {kid.hex()} with its last bit flipped): the signature is "
            "correct for its protected header, but the verifier holds no signer certificate "
            "with that kid.",
            valid.licence,
            _resign(message, sm2_key, alg=cose.ALG_SM2_SM3, kid=wrong_kid),
            "FAILED",
            ("kid_unknown",),
            derived_from=valid.id,
        )
    )

    vectors.append(
        vector(
            "qr-sm2-alg-unknown",
            f"qr-sm2-valid's claims re-signed by the same SM2 key (r ‖ s) under the protected "
            f"header {{1: {ALG_UNKNOWN}, 4: kid}}: {ALG_UNKNOWN} is an unassigned private-use "
            "COSE algorithm, refused when the format is checked, before any key is looked up.",
            valid.licence,
            _resign(message, sm2_key, alg=ALG_UNKNOWN, kid=kid),
            "FAILED",
            ("unsupported_algorithm",),
            derived_from=valid.id,
        )
    )

    vectors.append(
        vector(
            "qr-sm2-alg-mismatch",
            f"qr-sm2-valid's claims re-signed by the same SM2 key (r ‖ s) under the protected "
            f"header {{1: {cose.ALG_ES256} (ES256), 4: kid}}: a known algorithm, but not the "
            "one of the signer certificate's key.",
            valid.licence,
            _resign(message, sm2_key, alg=cose.ALG_ES256, kid=kid),
            "FAILED",
            ("algorithm_mismatch",),
            derived_from=valid.id,
        )
    )

    # A second SM2 certificate of the same authority that ends 10 minutes before the
    # validation time; exp is capped at the certificate's notAfter, so the code expires then.
    short_end = VALIDATION_TIME - 2 * CLOCK_SKEW
    short_key = generate_private_key(SM2_SM3)
    short_cert = build_certificate(
        subject=sm2_cert.subject,
        subject_key=short_key.public_key,
        issuer=region.root.subject,
        issuer_signer=region.root_key,
        not_before=SIGNING_TIME - timedelta(days=1),
        not_after=short_end,
        key_usage=("digitalSignature", "nonRepudiation"),
        issuer_key_id=region.root.subject_key_id,
    )
    short_seal = make_authority_seal(
        name=issuer.name,
        es_id=authority.seal.info.es_id,
        signer_certificates=[short_cert],
        maker=region.maker_key,
        maker_certificate=region.maker,
        valid_start=SIGNING_TIME - timedelta(days=1),
        valid_end=short_end,
        created=SIGNING_TIME - timedelta(days=1),
    )
    licence, text = issue(IssuingAuthority(issuer, short_key, short_cert, short_seal))
    vectors.append(
        vector(
            "qr-sm2-expired",
            f"A code issued at {_time(SIGNING_TIME)} with a second SM2 certificate of the same "
            f"authority valid until {_time(short_end)}, so its exp (capped at the "
            f"certificate's notAfter) is {_time(short_end)}; verified at "
            f"{_time(VALIDATION_TIME)}, past exp plus the 5 minutes' clock skew. The licence "
            "itself is valid, and the chain is checked at iat, so only the expiry fails.",
            licence,
            text,
            "FAILED",
            ("qr_expired",),
            signer=short_cert,
        )
    )

    truncated = _cut_base45(valid.text, 0)
    vectors.append(
        vector(
            "qr-sm2-truncated",
            f"qr-sm2-valid's text cut in the middle, after {len(truncated)} of its "
            f"{len(valid.text)} characters (a multiple of 3 base45 characters): it base45-"
            "decodes, but the zlib stream ends before its end.",
            valid.licence,
            truncated,
            "FAILED",
            ("qr_zlib_invalid",),
            derived_from=valid.id,
        )
    )
    truncated = _cut_base45(valid.text, 1)
    vectors.append(
        vector(
            "qr-sm2-truncated-base45",
            f"qr-sm2-valid's text cut in the middle, after {len(truncated)} of its "
            f"{len(valid.text)} characters, leaving a base45 part whose length is 1 (mod 3): "
            "not base45 (RFC 9285 §4).",
            valid.licence,
            truncated,
            "FAILED",
            ("qr_base45_invalid",),
            derived_from=valid.id,
        )
    )

    vectors.append(
        vector(
            "qr-sm2-wrong-prefix",
            f"qr-sm2-valid's base45 text behind the prefix {WRONG_PREFIX} (the EU Digital "
            f"COVID Certificate's) instead of {PREFIX}.",
            valid.licence,
            WRONG_PREFIX + valid.text[len(PREFIX) :],
            "FAILED",
            ("qr_prefix_invalid",),
            derived_from=valid.id,
        )
    )

    missing = {k: v for k, v in claims[CLAIM_LICENCE].items() if k != MISSING_CLAIM}
    vectors.append(
        vector(
            "qr-sm2-claims-missing",
            f"qr-sm2-valid's claims without licence claim {MISSING_CLAIM} (持证主体, the "
            "holder's name), correctly signed by the same SM2 key and kid: the CWT does not "
            "say whose licence it is.",
            valid.licence,
            _resign(
                message,
                sm2_key,
                alg=cose.ALG_SM2_SM3,
                kid=kid,
                payload=cbor.dumps({**claims, CLAIM_LICENCE: missing}),
            ),
            "FAILED",
            ("qr_claims_invalid",),
            derived_from=valid.id,
        )
    )
    return vectors


def _hex(data: bytes) -> bytes:
    return data.hex().encode("ascii") + b"\n"


def diagnostic(value: object) -> object:
    """A CBOR value as JSON: map keys as strings, byte strings as ``h'…'``, tags as
    ``{"tag": n, "value": …}``."""
    if isinstance(value, dict):
        return {str(k): diagnostic(v) for k, v in value.items()}
    if isinstance(value, list):
        return [diagnostic(v) for v in value]
    if isinstance(value, bytes):
        return f"h'{value.hex()}'"
    if isinstance(value, cbor2.CBORTag):
        return {"tag": value.tag, "value": diagnostic(value.value)}
    return value


def _verify(vector: Vector) -> VerificationResult:
    verifier = Verifier(
        trust_store=TrustStore.from_certificates([vector.root], signers=[vector.signer]),
        clock=lambda: VALIDATION_TIME,
        clock_skew=CLOCK_SKEW,
    )
    return verifier.verify_qr(vector.text)


def _stages(text: str) -> dict[str, bytes]:
    """The intermediate files of ``text``, as far as it decodes."""
    files: dict[str, bytes] = {"qr.txt": text.encode("ascii")}
    try:
        body = qrtext.strip_prefix(text, prefix=PREFIX)
    except PayloadError:
        body = text.split(":", 1)[1]  # the wrong prefix: the rest is still shown
    files["base45.txt"] = body.encode("ascii")
    try:
        compressed = b45decode(body)
        files["compressed.hex"] = _hex(compressed)
        files["cose.hex"] = _hex(qrtext.decompress(compressed))
        message = cose.decode_sign1(qrtext.decompress(compressed))
    except PayloadError:
        return files
    files["protected.hex"] = _hex(message.protected)
    files["claims.cbor.hex"] = _hex(message.payload)
    files["sig_structure.hex"] = _hex(message.sig_structure())
    files["signature.hex"] = _hex(message.signature)
    files["claims.json"] = to_json(diagnostic(cbor.loads_strict(message.payload)))
    return files


def _files(vector: Vector, result: VerificationResult) -> dict[str, bytes]:
    """Every file of a vector's folder, by name."""
    files = _stages(vector.text)
    files["licence.json"] = to_json(licence_to_dict(vector.licence))
    files["qr.png"] = render_png(vector.text, module_px=MODULE_PX)
    files["root.pem"] = vector.root.to_pem()
    files["signer.pem"] = vector.signer.to_pem()
    alg: int | None = None
    kid: bytes | None = None
    if "cose.hex" in files:
        message = cose.decode_sign1(bytes.fromhex(files["cose.hex"].decode("ascii")))
        alg, kid = message.alg, message.kid
    expected: dict[str, object] = {
        "id": vector.id,
        "description": vector.description,
        "suite": vector.suite,
        "cose_alg": alg,
        "kid": None if kid is None else kid.hex(),
        "signing_time": _time(SIGNING_TIME),
        "validation_time": _time(VALIDATION_TIME),
        "clock_skew_seconds": int(CLOCK_SKEW.total_seconds()),
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
        prefix="qr-",
        index_format=INDEX_FORMAT,
        description="Offline verification QR codes (EZZ1:, CWT in COSE_Sign1, zlib, base45); "
        "see README.md",
        repo=REPO,
    )


if __name__ == "__main__":
    sys.exit(main())
