"""The published 亮证 token vectors in ``test_vectors/qr/tokens/``, one test per vector id.

Each vector's steps run in order through one :class:`PresentationVerifier` with one fresh
replay cache, a clock fixed at the vector's ``validation_time`` and only its platform
certificate, and must get exactly the expected status, reason and claims. The intermediate
bytes a step publishes are recomputed from its token, so a vector can never document bytes
the verifier did not see. Regenerate with ``scripts/make_token_vectors.py``.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from ezhengzhao.errors import PayloadError
from ezhengzhao.formats import cbor, cose, qrtext
from ezhengzhao.formats.base45 import b45decode
from ezhengzhao.present import PREFIX, PresentationVerifier
from ezhengzhao.replay import MemoryReplayCache
from ezhengzhao.sign.keys import load_private_key
from ezhengzhao.sign.x509 import Certificate
from tests.conftest import PROJECT_VECTORS

TOKEN_VECTORS = PROJECT_VECTORS / "qr" / "tokens"
REGENERATE = "regenerate with: .venv/bin/python scripts/make_token_vectors.py"
EXPECTED_IDS = {
    "token-sm2-valid",
    "token-p256-valid",
    "token-ed25519-valid",
    "token-sm2-expired",
    "token-sm2-replayed",
    "token-sm2-wrong-audience",
    "token-sm2-tampered",
    "token-sm2-lifetime-too-long",
}


def _paths() -> list[Path]:
    return sorted(TOKEN_VECTORS.glob("*.json"))


def _load(path: Path) -> dict[str, Any]:
    vector: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return vector


def test_every_vector_is_present() -> None:
    assert (TOKEN_VECTORS / "README.md").is_file()
    ids = {path.stem for path in _paths()}
    assert ids == EXPECTED_IDS, REGENERATE


def _recompute(token: str) -> dict[str, object]:
    """The intermediate bytes of ``token``, as far as it decodes."""
    out: dict[str, object] = {}
    try:
        compressed = b45decode(qrtext.strip_prefix(token, prefix=PREFIX))
        out["zlib_hex"] = compressed.hex()
        cose_bytes = qrtext.decompress(compressed)
    except PayloadError:
        return out
    message = cose.decode_sign1(cose_bytes)
    claims = cbor.loads_strict(message.payload)
    assert isinstance(claims, dict)
    out.update(
        cose_hex=cose_bytes.hex(),
        protected_hex=message.protected.hex(),
        payload_hex=message.payload.hex(),
        claims={str(k): v.hex() if isinstance(v, bytes) else v for k, v in sorted(claims.items())},
        sig_structure_hex=message.sig_structure().hex(),
        signature_hex=message.signature.hex(),
    )
    return out


@pytest.mark.parametrize("path", _paths(), ids=lambda p: p.stem)
def test_token_vector(path: Path) -> None:
    vector = _load(path)
    assert vector["format"] == "ezz/token-vector/1"
    assert vector["id"] == path.stem
    platform = vector["platform"]
    certificate = Certificate.from_pem(platform["certificate_pem"].encode("ascii"))
    key = load_private_key(platform["private_key_pem"].encode("ascii"))
    assert key.public_key == certificate.public_key
    assert key.suite.id == vector["suite"]
    assert certificate.kid.hex() == platform["kid_hex"]

    settings = vector["verifier"]
    now = datetime.fromisoformat(settings["validation_time"])
    verifier = PresentationVerifier(
        certificates=[certificate],
        replay_cache=MemoryReplayCache(clock=lambda: now),
        region=settings["region"],
        clock=lambda: now,
        clock_skew=timedelta(seconds=settings["clock_skew_seconds"]),
        max_lifetime=timedelta(seconds=settings["max_lifetime_seconds"]),
    )
    assert vector["steps"]
    for number, step in enumerate(vector["steps"], 1):
        token = step["token"]
        assert _recompute(token) == step["intermediate"], f"step {number}: {REGENERATE}"
        intermediate = step["intermediate"]
        if "sig_structure_hex" in intermediate:
            # The Sig_structure is RFC 9052 §4.4 over the published protected and payload.
            protected = bytes.fromhex(intermediate["protected_hex"])
            payload = bytes.fromhex(intermediate["payload_hex"])
            assert bytes.fromhex(intermediate["sig_structure_hex"]) == cbor.dumps(
                ["Signature1", protected, b"", payload]
            )
        result = verifier.verify(token)
        expected = step["expected"]
        got = {
            "status": result.status.value,
            "reason": result.reason,
            "claims": None if result.claims is None else result.claims.to_dict(),
        }
        assert got == expected, f"step {number} ({step['note']}): {result.detail}"
