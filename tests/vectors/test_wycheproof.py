"""Wycheproof ECDSA P-256 (DER and IEEE P1363) and Ed25519 vectors through PublicKey.verify.

Every ``valid`` vector must verify, every ``invalid`` one must raise InvalidSignatureError and
nothing else; ``acceptable`` vectors may go either way and the outcome is recorded (as the
``wycheproof_outcome`` property in the JUnit report). Public keys are built from each group's
``publicKeyDer`` with ``PublicKey.from_spki_der``, so SPKI detection is exercised too.
"""

from __future__ import annotations

import json
from functools import cache
from typing import Any

import pytest

from ezhengzhao.errors import InvalidSignatureError
from ezhengzhao.sign.keys import PublicKey
from ezhengzhao.sign.suites import ECDSA_P256_SHA256, ED25519
from tests.conftest import SHARED_VECTORS, shared_vectors

# file name → (expected suite, signature form passed to verify)
FILES = {
    "ecdsa_secp256r1_sha256_test.json": (ECDSA_P256_SHA256, "der"),
    "ecdsa_secp256r1_sha256_p1363_test.json": (ECDSA_P256_SHA256, "raw"),
    "ed25519_test.json": (ED25519, "raw"),
}


@cache
def _groups(filename: str) -> list[dict[str, Any]]:
    data = json.loads((SHARED_VECTORS / "wycheproof" / filename).read_text(encoding="utf-8"))
    groups: list[dict[str, Any]] = data["testGroups"]
    return groups


def _cases() -> list[Any]:
    """One parameter per vector, named file-tcN; one skipping parameter per missing file."""
    params = []
    for filename in FILES:
        stem = filename.removesuffix("_test.json")
        if not (SHARED_VECTORS / "wycheproof" / filename).exists():
            params.append(pytest.param(filename, -1, -1, id=f"{stem}-missing"))
            continue
        for group_index, group in enumerate(_groups(filename)):
            for test in group["tests"]:
                params.append(
                    pytest.param(filename, group_index, test["tcId"], id=f"{stem}-tc{test['tcId']}")
                )
    return params


@cache
def _public_key(filename: str, group_index: int) -> PublicKey:
    group = _groups(filename)[group_index]
    return PublicKey.from_spki_der(bytes.fromhex(group["publicKeyDer"]))


@pytest.mark.parametrize(("filename", "group_index", "tc_id"), _cases())
def test_wycheproof(
    filename: str,
    group_index: int,
    tc_id: int,
    record_property: Any,
) -> None:
    shared_vectors("wycheproof", filename)  # skips, saying where, when the vectors are absent
    suite_id, form = FILES[filename]
    group = _groups(filename)[group_index]
    test = next(t for t in group["tests"] if t["tcId"] == tc_id)
    public = _public_key(filename, group_index)
    assert public.suite.id == suite_id
    if suite_id == ED25519:
        assert public.public_bytes().hex() == group["publicKey"]["pk"]
    else:
        assert public.public_bytes().hex() == group["publicKey"]["uncompressed"]

    message = bytes.fromhex(test["msg"])
    signature = bytes.fromhex(test["sig"])
    try:
        public.verify(signature, message, form=form)  # type: ignore[arg-type]
        accepted = True
    except InvalidSignatureError:
        accepted = False
    # Any other exception propagates and fails the test: garbage must never escape.

    record_property(
        "wycheproof_outcome", f"{test['result']}:{'accepted' if accepted else 'rejected'}"
    )
    if test["result"] == "valid":
        assert accepted, f"valid vector rejected: {test['comment']} {test['flags']}"
    elif test["result"] == "invalid":
        assert not accepted, f"invalid vector accepted: {test['comment']} {test['flags']}"
    else:
        assert test["result"] == "acceptable"
