"""Regenerate the published 亮证 token vectors in ``test_vectors/qr/tokens/`` (``EZT1:``).

Run from the repository root::

    .venv/bin/python scripts/make_token_vectors.py

Every vector is one JSON file (see ``test_vectors/qr/tokens/README.md``): the platform's test
key and certificate, the verifier's settings (region, validation time, clock skew, maximum
lifetime) and one or more steps, each a token with its intermediate bytes (base45-decoded
zlib stream, COSE_Sign1, protected header, CBOR claims, Sig_structure, signature) and the
expected result. Steps of one vector run in order against one verifier and one replay cache.

Times are fixed (:data:`ISSUED_AT`); keys, jtis and SM2/ECDSA signatures are random, so each
run rewrites the tokens. The committed files are the vectors; this script only records how
they were made. Before anything is written, each vector is run through
:class:`~ezhengzhao.present.PresentationVerifier` and must get the verdict declared here.
"""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from ezhengzhao.formats import cbor, cose, qrtext
from ezhengzhao.formats.base45 import b45decode
from ezhengzhao.present import (
    PREFIX,
    PresentationIssuer,
    PresentationResult,
    PresentationVerifier,
)
from ezhengzhao.replay import MemoryReplayCache
from ezhengzhao.sign.keys import PrivateKey, generate_private_key
from ezhengzhao.sign.suites import ECDSA_P256_SHA256, ED25519, SM2_SM3
from ezhengzhao.sign.x509 import Certificate, Name, build_certificate

REPO = Path(__file__).resolve().parent.parent
OUT = REPO / "test_vectors" / "qr" / "tokens"
VECTOR_FORMAT = "ezz/token-vector/1"

ISSUED_AT = datetime(2026, 6, 1, 8, 0, 0, tzinfo=UTC)
ISSUING_REGION = "310000"  # 上海市
VERIFYING_REGION = "310000"
HANDLE = "h7Fq2xYp9LmN3kQw"
CLOCK_SKEW = timedelta(seconds=30)
MAX_LIFETIME = timedelta(seconds=300)


@dataclass(frozen=True)
class Step:
    token: str
    status: str
    reason: str
    note: str


def _platform(suite: str) -> tuple[PrivateKey, Certificate]:
    key = generate_private_key(suite)
    name = Name(
        common_name=f"上海市电子证照亮证平台（测试 {suite}）",
        organization="上海市大数据中心",
        province="上海市",
    )
    certificate = build_certificate(
        subject=name,
        subject_key=key.public_key,
        issuer=name,
        issuer_signer=key,
        not_before=datetime(2026, 1, 1, tzinfo=UTC),
        not_after=datetime(2027, 1, 1, tzinfo=UTC),
    )
    return key, certificate


def _issuer(
    key: PrivateKey, certificate: Certificate, max_lifetime: timedelta = MAX_LIFETIME
) -> PresentationIssuer:
    return PresentationIssuer(
        signer=key,
        certificate=certificate,
        region=ISSUING_REGION,
        clock=lambda: ISSUED_AT,
        max_lifetime=max_lifetime,
    )


def _claims_json(payload: bytes) -> dict[str, object]:
    claims = cbor.loads_strict(payload)
    assert isinstance(claims, dict)
    return {str(k): v.hex() if isinstance(v, bytes) else v for k, v in sorted(claims.items())}


def intermediate(token: str) -> dict[str, object]:
    """The bytes between the token text and its signature, as far as the token decodes."""
    out: dict[str, object] = {}
    try:
        compressed = b45decode(qrtext.strip_prefix(token, prefix=PREFIX))
        out["zlib_hex"] = compressed.hex()
        cose_bytes = qrtext.decompress(compressed)
    except ValueError:  # PayloadError: the vector records where decoding stops
        return out
    message = cose.decode_sign1(cose_bytes)
    out.update(
        cose_hex=cose_bytes.hex(),
        protected_hex=message.protected.hex(),
        payload_hex=message.payload.hex(),
        claims=_claims_json(message.payload),
        sig_structure_hex=message.sig_structure().hex(),
        signature_hex=message.signature.hex(),
    )
    return out


def _result_json(result: PresentationResult) -> dict[str, object]:
    return {
        "status": result.status.value,
        "reason": result.reason,
        "claims": None if result.claims is None else result.claims.to_dict(),
    }


def _vector(
    vector_id: str,
    description: str,
    key: PrivateKey,
    certificate: Certificate,
    steps: list[Step],
    *,
    validation_time: datetime,
) -> dict[str, object]:
    clock = lambda: validation_time  # noqa: E731
    verifier = PresentationVerifier(
        certificates=[certificate],
        replay_cache=MemoryReplayCache(clock=clock),
        region=VERIFYING_REGION,
        clock=clock,
        clock_skew=CLOCK_SKEW,
        max_lifetime=MAX_LIFETIME,
    )
    recorded = []
    for number, step in enumerate(steps, 1):
        result = verifier.verify(step.token)
        if (result.status.value, result.reason) != (step.status, step.reason):
            sys.exit(
                f"{vector_id} step {number}: expected {step.status}/{step.reason}, "
                f"got {result.status.value}/{result.reason} ({result.detail})"
            )
        recorded.append(
            {
                "note": step.note,
                "token": step.token,
                "intermediate": intermediate(step.token),
                "expected": _result_json(result),
            }
        )
    return {
        "format": VECTOR_FORMAT,
        "id": vector_id,
        "description": description,
        "suite": key.suite.id,
        "platform": {
            "certificate_pem": certificate.to_pem().decode("ascii"),
            "private_key_pem": key.to_pem().decode("ascii"),
            "kid_hex": certificate.kid.hex(),
        },
        "verifier": {
            "region": VERIFYING_REGION,
            "validation_time": validation_time.isoformat(),
            "clock_skew_seconds": int(CLOCK_SKEW.total_seconds()),
            "max_lifetime_seconds": int(MAX_LIFETIME.total_seconds()),
        },
        "steps": recorded,
    }


def _tamper_payload(token: str, handle: str) -> str:
    """The token with its handle replaced and the original signature kept."""
    message = cose.decode_sign1(qrtext.unwrap(token, prefix=PREFIX))
    claims = cbor.loads_strict(message.payload)
    assert isinstance(claims, dict)
    claims[-70003] = handle
    forged = cose.CoseSign1(
        protected=message.protected,
        protected_header=message.protected_header,
        unprotected_header=message.unprotected_header,
        payload=cbor.dumps(claims),
        signature=message.signature,
    )
    return qrtext.wrap(forged.encode(), prefix=PREFIX)


def _change_character(token: str) -> str:
    """The token with one base45 character in the middle of the zlib stream changed."""
    i = len(PREFIX) + (len(token) - len(PREFIX)) // 2
    return token[:i] + ("A" if token[i] != "A" else "B") + token[i + 1 :]


def build() -> list[dict[str, object]]:
    """Every vector, checked."""
    vectors = []
    soon = ISSUED_AT + timedelta(seconds=10)
    for suite, slug in ((SM2_SM3, "sm2"), (ECDSA_P256_SHA256, "p256"), (ED25519, "ed25519")):
        key, certificate = _platform(suite)
        token = _issuer(key, certificate).issue(HANDLE)
        vectors.append(
            _vector(
                f"token-{slug}-valid",
                f"A token signed with {suite}, verified 10 s after issue: ok.",
                key,
                certificate,
                [Step(token, "PASSED", "ok", "first use")],
                validation_time=soon,
            )
        )

    key, certificate = _platform(SM2_SM3)
    issuer = _issuer(key, certificate)

    token = issuer.issue(HANDLE)
    vectors.append(
        _vector(
            "token-sm2-expired",
            "Verified 1 s after exp + clock skew (60 s + 30 s + 1 s after issue).",
            key,
            certificate,
            [Step(token, "FAILED", "token_expired", "too late")],
            validation_time=ISSUED_AT + timedelta(seconds=91),
        )
    )

    token = issuer.issue(HANDLE)
    vectors.append(
        _vector(
            "token-sm2-replayed",
            "The same token twice: the first use is accepted, the second refused.",
            key,
            certificate,
            [
                Step(token, "PASSED", "ok", "first use"),
                Step(token, "FAILED", "token_replayed", "second use of the same jti"),
            ],
            validation_time=soon,
        )
    )

    token = issuer.issue(HANDLE, audience="320000")
    vectors.append(
        _vector(
            "token-sm2-wrong-audience",
            "A token for verifiers in 320000 (江苏省) shown to a verifier in 310000 (上海市).",
            key,
            certificate,
            [Step(token, "FAILED", "token_audience_mismatch", "aud 320000")],
            validation_time=soon,
        )
    )

    token = issuer.issue(HANDLE)
    vectors.append(
        _vector(
            "token-sm2-tampered",
            "Tampered copies of a token are refused without using up its jti; then the real "
            "token is accepted.",
            key,
            certificate,
            [
                Step(
                    _tamper_payload(token, "AAAAAAAAAAAAAAAA"),
                    "FAILED",
                    "token_signature_invalid",
                    "handle replaced, original signature kept (same jti)",
                ),
                Step(
                    _change_character(token),
                    "FAILED",
                    "token_malformed",
                    "one character of the base45 text changed: the zlib stream breaks",
                ),
                Step(token, "PASSED", "ok", "the real token, still unused"),
            ],
            validation_time=soon,
        )
    )

    long_lived = _issuer(key, certificate, max_lifetime=timedelta(seconds=600))
    token = long_lived.issue(HANDLE, lifetime=timedelta(seconds=301))
    vectors.append(
        _vector(
            "token-sm2-lifetime-too-long",
            "A token whose exp − iat is 301 s, above the verifier's maximum of 300 s.",
            key,
            certificate,
            [Step(token, "FAILED", "token_lifetime_too_long", "exp - iat = 301 s")],
            validation_time=soon,
        )
    )
    return vectors


def main() -> None:
    vectors = build()
    OUT.mkdir(parents=True, exist_ok=True)
    for old in OUT.glob("*.json"):
        old.unlink()
    for vector in vectors:
        path = OUT / f"{vector['id']}.json"
        path.write_text(json.dumps(vector, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
        print(f"wrote {path.relative_to(REPO)}")


if __name__ == "__main__":
    main()
