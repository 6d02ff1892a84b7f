"""SM2 interoperability: our signatures against the OpenSSL command line and gmssl, both ways.

All three compute e = SM3(Z ‖ M) with the GM/T 0009 default identity 1234567812345678
(OpenSSL needs ``-pkeyopt distid:1234567812345678``); a tampered message fails everywhere.
gmssl is used to verify only: it draws signing nonces from ``random`` (STANDARDS.md §3).
"""

from __future__ import annotations

import random
import shutil
import subprocess
from pathlib import Path

import pytest

from ezhengzhao.errors import InvalidSignatureError
from ezhengzhao.sign.keys import PrivateKey, generate_private_key, load_public_key
from ezhengzhao.sign.suites import SM2_SM3, signature_to_der, signature_to_raw

OPENSSL = shutil.which("openssl")
needs_openssl = pytest.mark.skipif(OPENSSL is None, reason="the openssl command is not on PATH")
DISTID = "distid:1234567812345678"
PASSPHRASE = "interop"

# Message sizes around SM3's 64-byte block and a few larger ones; one key per case.
SIZES = (1, 55, 64, 1000, 10_000)


def messages() -> list[bytes]:
    rng = random.Random(20260601)  # deterministic: failures reproduce
    return [rng.randbytes(size) for size in SIZES]


def tampered(message: bytes) -> bytes:
    return message[:-1] + bytes([message[-1] ^ 0x01])


def openssl(*args: str, cwd: Path) -> subprocess.CompletedProcess[bytes]:
    assert OPENSSL is not None
    return subprocess.run([OPENSSL, *args], cwd=cwd, capture_output=True, check=False, timeout=60)


def openssl_verify(directory: Path, message: bytes, signature: bytes) -> bool:
    (directory / "msg").write_bytes(message)
    (directory / "sig").write_bytes(signature)
    done = openssl(
        "pkeyutl", "-verify", "-pubin", "-inkey", "pub.pem", "-rawin", "-digest", "sm3",
        "-pkeyopt", DISTID, "-in", "msg", "-sigfile", "sig", cwd=directory,
    )  # fmt: skip
    return done.returncode == 0 and b"Signature Verified Successfully" in done.stdout


def openssl_sign(directory: Path, message: bytes) -> bytes:
    (directory / "msg").write_bytes(message)
    done = openssl(
        "pkeyutl", "-sign", "-inkey", "key.pem", "-passin", f"pass:{PASSPHRASE}", "-rawin",
        "-digest", "sm3", "-pkeyopt", DISTID, "-in", "msg", "-out", "sig", cwd=directory,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr.decode(errors="replace")
    return (directory / "sig").read_bytes()


def gmssl_key(key: PrivateKey) -> PrivateKey:
    """A fresh key gmssl can take, retrying the rare ones its constructor mangles.

    gmssl's ``CryptSM2`` strips a leading "04" with ``str.lstrip("04")``, which removes every
    leading '0' and '4' character; we pass x‖y without the prefix, so only an x whose hex
    starts with "04" (1 in 256 keys) is mangled. Such keys are replaced, not worked around.
    """
    while key.public_key.public_bytes()[1:].hex().startswith("04"):
        key = generate_private_key(SM2_SM3)
    return key


def gmssl_verify(key: PrivateKey, message: bytes, signature: bytes) -> bool:
    sm2 = pytest.importorskip("gmssl.sm2")
    public_hex = key.public_key.public_bytes()[1:].hex()  # x ‖ y, 128 hex digits, no 04
    verifier = sm2.CryptSM2(private_key=None, public_key=public_hex)
    raw_hex = signature_to_raw(signature, SM2_SM3).hex()  # r ‖ s, 64 hex digits each
    return bool(verifier.verify_with_sm3(raw_hex, message))


@pytest.fixture(params=range(len(SIZES)), ids=[f"{size}B" for size in SIZES])
def case(request: pytest.FixtureRequest, tmp_path: Path) -> tuple[PrivateKey, bytes, Path]:
    key = gmssl_key(generate_private_key(SM2_SM3))
    (tmp_path / "pub.pem").write_bytes(key.public_key.to_pem())
    # Our encrypted PKCS#8 (PBES2 with SM4-CBC) is what OpenSSL signs with below.
    (tmp_path / "key.pem").write_bytes(key.to_pem(PASSPHRASE.encode()))
    return key, messages()[request.param], tmp_path


@needs_openssl
def test_openssl_verifies_our_signatures(case: tuple[PrivateKey, bytes, Path]) -> None:
    key, message, directory = case
    signature = key.sign(message)
    assert openssl_verify(directory, message, signature)
    assert not openssl_verify(directory, tampered(message), signature)
    # OpenSSL takes DER only; a raw r‖s from hardware is converted for it.
    raw = signature_to_raw(signature, SM2_SM3)
    assert openssl_verify(directory, message, signature_to_der(raw, SM2_SM3))


@needs_openssl
def test_we_verify_openssl_signatures(case: tuple[PrivateKey, bytes, Path]) -> None:
    key, message, directory = case
    signature = openssl_sign(directory, message)
    key.public_key.verify(signature, message, algorithm="1.2.156.10197.1.501")
    key.public_key.verify(signature_to_raw(signature, SM2_SM3), message, form="raw")
    with pytest.raises(InvalidSignatureError):
        key.public_key.verify(signature, tampered(message))
    # OpenSSL reads our public key PEM back to the same key.
    done = openssl("pkey", "-pubin", "-in", "pub.pem", "-pubout", cwd=directory)
    assert load_public_key(done.stdout) == key.public_key


def test_gmssl_verifies_our_signatures(case: tuple[PrivateKey, bytes, Path]) -> None:
    key, message, _ = case
    signature = key.sign(message)
    assert gmssl_verify(key, message, signature)
    assert not gmssl_verify(key, tampered(message), signature)


@needs_openssl
def test_three_implementations_agree_on_one_signature(case: tuple[PrivateKey, bytes, Path]) -> None:
    key, message, directory = case
    from_openssl = openssl_sign(directory, message)
    assert gmssl_verify(key, message, from_openssl)
    ours = key.sign(message)
    assert gmssl_verify(key, message, ours) and openssl_verify(directory, message, ours)
    key.public_key.verify(from_openssl, message)
    key.public_key.verify(ours, message)


def test_the_identity_matters(case: tuple[PrivateKey, bytes, Path]) -> None:
    """A signature over SM3(Z ‖ M) with another identity must not verify (Z is not optional)."""
    key, message, directory = case
    if OPENSSL is None:
        pytest.skip("the openssl command is not on PATH")
    (directory / "msg").write_bytes(message)
    done = openssl(
        "pkeyutl", "-sign", "-inkey", "key.pem", "-passin", f"pass:{PASSPHRASE}", "-rawin",
        "-digest", "sm3", "-pkeyopt", "distid:someone-else", "-in", "msg", "-out", "sig",
        cwd=directory,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr.decode(errors="replace")
    with pytest.raises(InvalidSignatureError):
        key.public_key.verify((directory / "sig").read_bytes(), message)


def splits(message: bytes) -> list[int]:
    """Where to cut a message for prepared verification: both ends and around SM3 blocks."""
    cuts = {0, 1, 55, 63, 64, 65, 128, len(message) - 1, len(message)}
    return sorted(c for c in cuts if 0 <= c <= len(message))


@needs_openssl
def test_prepared_verification_takes_openssl_signatures(
    case: tuple[PrivateKey, bytes, Path],
) -> None:
    """The hash state kept after a prefix gives OpenSSL's verdict wherever the cut falls."""
    key, message, directory = case
    signature = openssl_sign(directory, message)
    for cut in splits(message):
        prepared = key.public_key.prepare(message[:cut])
        assert prepared.streaming
        prepared.verify(signature, message[cut:])
        prepared.verify(signature_to_raw(signature, SM2_SM3), message[cut:], form="raw")
        with pytest.raises(InvalidSignatureError):
            prepared.verify(signature, tampered(message)[cut:] if cut < len(message) else b"x")
        if cut:
            with pytest.raises(InvalidSignatureError):  # the prefix is part of the message
                key.public_key.prepare(tampered(message[:cut])).verify(signature, message[cut:])


@needs_openssl
def test_prepared_verification_keeps_the_identity(case: tuple[PrivateKey, bytes, Path]) -> None:
    """Z is computed with the default identity on the prepared path too."""
    key, message, directory = case
    (directory / "msg").write_bytes(message)
    done = openssl(
        "pkeyutl", "-sign", "-inkey", "key.pem", "-passin", f"pass:{PASSPHRASE}", "-rawin",
        "-digest", "sm3", "-pkeyopt", "distid:someone-else", "-in", "msg", "-out", "sig",
        cwd=directory,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr.decode(errors="replace")
    with pytest.raises(InvalidSignatureError):
        key.public_key.prepare(message[:1]).verify((directory / "sig").read_bytes(), message[1:])
