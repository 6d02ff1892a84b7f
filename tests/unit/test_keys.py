"""Keys: PEM/DER round trips, passphrases, SPKI detection, atomic saving, OpenSSL-made keys."""

from __future__ import annotations

import base64
import os
import pickle
import shutil
import stat
import subprocess
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, x25519

from ezhengzhao.errors import (
    AlgorithmMismatchError,
    InvalidSignatureError,
    KeyLoadError,
    UnsupportedAlgorithmError,
    WrongPassphraseError,
)
from ezhengzhao.sign.keys import (
    PrivateKey,
    PublicKey,
    generate_private_key,
    load_private_key,
    load_public_key,
    save_private_key,
)
from ezhengzhao.sign.suites import ECDSA_P256_SHA256, ED25519, SM2_SM3, signature_to_raw

ALL = (SM2_SM3, ECDSA_P256_SHA256, ED25519)
OPENSSL = shutil.which("openssl")
needs_openssl = pytest.mark.skipif(OPENSSL is None, reason="the openssl command is not on PATH")


def openssl(*args: str, cwd: Path) -> bytes:
    assert OPENSSL is not None
    done = subprocess.run([OPENSSL, *args], cwd=cwd, capture_output=True, check=False, timeout=60)
    assert done.returncode == 0, done.stderr.decode(errors="replace")
    return done.stdout


def pem_body(pem: bytes) -> bytes:
    """The DER inside a single PEM block."""
    lines = [line for line in pem.splitlines() if line and not line.startswith(b"-----")]
    return base64.b64decode(b"".join(lines))


@pytest.fixture(scope="module")
def keys() -> dict[str, PrivateKey]:
    return {suite_id: generate_private_key(suite_id) for suite_id in ALL}


# -- private keys -----------------------------------------------------------------------------


@pytest.mark.parametrize("suite_id", ALL)
def test_pem_round_trip(keys: dict[str, PrivateKey], suite_id: str) -> None:
    private = keys[suite_id]
    pem = private.to_pem()
    assert pem.startswith(b"-----BEGIN PRIVATE KEY-----\n")
    loaded = load_private_key(pem)
    assert loaded.suite is private.suite
    assert loaded.public_key == private.public_key
    private.public_key.verify(loaded.sign(b"round trip"), b"round trip")


@pytest.mark.parametrize("suite_id", ALL)
def test_encrypted_pem_round_trip(keys: dict[str, PrivateKey], suite_id: str) -> None:
    private = keys[suite_id]
    pem = private.to_pem(b"correct horse")
    assert pem.startswith(b"-----BEGIN ENCRYPTED PRIVATE KEY-----\n")
    assert load_private_key(pem, b"correct horse").public_key == private.public_key


@pytest.mark.parametrize("suite_id", ALL)
def test_der_forms_load(keys: dict[str, PrivateKey], suite_id: str) -> None:
    private = keys[suite_id]
    assert load_private_key(pem_body(private.to_pem())).public_key == private.public_key
    encrypted = pem_body(private.to_pem(b"pw"))
    assert load_private_key(encrypted, b"pw").public_key == private.public_key
    with pytest.raises(WrongPassphraseError):
        load_private_key(encrypted, b"wrong")


@pytest.mark.parametrize("suite_id", ALL)
def test_wrong_or_missing_passphrase(keys: dict[str, PrivateKey], suite_id: str) -> None:
    pem = keys[suite_id].to_pem(b"secret")
    with pytest.raises(WrongPassphraseError):
        load_private_key(pem, b"Secret")
    with pytest.raises(WrongPassphraseError):
        load_private_key(pem)
    with pytest.raises(WrongPassphraseError):
        load_private_key(pem, b"")
    # A passphrase for a key that is not encrypted is a configuration mistake worth reporting.
    with pytest.raises(WrongPassphraseError):
        load_private_key(keys[suite_id].to_pem(), b"secret")


def test_an_empty_passphrase_is_refused_when_saving(keys: dict[str, PrivateKey]) -> None:
    with pytest.raises(ValueError):
        keys[SM2_SM3].to_pem(b"")


@pytest.mark.parametrize(
    "garbage",
    [
        b"",
        b"hello",
        b"\x30\x03\x02\x01\x00",
        b"\x30\x80\x02\x01\x00\x00\x00",
        bytes(range(256)),
        b"-----BEGIN PRIVATE KEY-----\nnot base64!\n-----END PRIVATE KEY-----\n",
        b"-----BEGIN PRIVATE KEY-----\nMIGHAgEAMBMGByqGSM49\n-----END PRIVATE KEY-----\n",
        b"-----BEGIN CERTIFICATE-----\nMAA=\n-----END CERTIFICATE-----\n",
    ],
)
def test_garbage_is_a_key_load_error(garbage: bytes) -> None:
    with pytest.raises(KeyLoadError) as caught:
        load_private_key(garbage)
    assert not isinstance(caught.value, WrongPassphraseError)


def test_truncated_keys_are_key_load_errors(keys: dict[str, PrivateKey]) -> None:
    der = pem_body(keys[SM2_SM3].to_pem())
    for length in range(0, len(der), 7):
        with pytest.raises(KeyLoadError):
            load_private_key(der[:length])


def test_unsupported_key_types() -> None:
    p384 = ec.generate_private_key(ec.SECP384R1())
    pem = p384.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    with pytest.raises(UnsupportedAlgorithmError):
        load_private_key(pem)
    spki = p384.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    with pytest.raises(UnsupportedAlgorithmError):
        load_public_key(spki)
    x = x25519.X25519PrivateKey.generate().public_key()
    with pytest.raises(UnsupportedAlgorithmError):
        PublicKey.from_spki_der(
            x.public_bytes(
                serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
            )
        )


def test_keys_from_cryptography_load_with_their_suite() -> None:
    p256 = ec.generate_private_key(ec.SECP256R1())
    edkey = ed25519.Ed25519PrivateKey.generate()
    for backend_key, suite_id in ((p256, ECDSA_P256_SHA256), (edkey, ED25519)):
        pem = backend_key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.BestAvailableEncryption(b"pw"),
        )
        assert load_private_key(pem, b"pw").suite.id == suite_id
    # SEC 1 ("EC PRIVATE KEY") as well as PKCS#8.
    sec1 = p256.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.TraditionalOpenSSL,
        serialization.NoEncryption(),
    )
    assert load_private_key(sec1).suite.id == ECDSA_P256_SHA256


@needs_openssl
def test_openssl_sm2_keys_load(tmp_path: Path) -> None:
    openssl("genpkey", "-algorithm", "SM2", "-out", "pkcs8.pem", cwd=tmp_path)
    openssl("ecparam", "-name", "SM2", "-genkey", "-out", "sec1.pem", cwd=tmp_path)
    openssl(
        "pkcs8", "-topk8", "-v2", "aes-256-cbc", "-in", "pkcs8.pem", "-out", "aes.pem",
        "-passout", "pass:openssl", cwd=tmp_path,
    )  # fmt: skip
    openssl("pkey", "-in", "pkcs8.pem", "-pubout", "-out", "pub.pem", cwd=tmp_path)
    pkcs8 = load_private_key((tmp_path / "pkcs8.pem").read_bytes())
    assert pkcs8.suite.id == SM2_SM3
    # `ecparam -genkey` writes an "SM2 PARAMETERS" block before the SEC 1 key.
    assert load_private_key((tmp_path / "sec1.pem").read_bytes()).suite.id == SM2_SM3
    encrypted = load_private_key((tmp_path / "aes.pem").read_bytes(), b"openssl")
    assert encrypted.public_key == pkcs8.public_key
    with pytest.raises(WrongPassphraseError):
        load_private_key((tmp_path / "aes.pem").read_bytes(), b"nope")
    public = load_public_key((tmp_path / "pub.pem").read_bytes())
    assert public == pkcs8.public_key
    public.verify(pkcs8.sign(b"made by openssl"), b"made by openssl")


@needs_openssl
def test_openssl_reads_our_encrypted_sm2_key(tmp_path: Path, keys: dict[str, PrivateKey]) -> None:
    (tmp_path / "ours.pem").write_bytes(keys[SM2_SM3].to_pem(b"ours"))
    text = openssl("pkey", "-in", "ours.pem", "-passin", "pass:ours", "-pubout", cwd=tmp_path)
    assert load_public_key(text) == keys[SM2_SM3].public_key


@needs_openssl
@pytest.mark.parametrize(("algorithm", "suite_id"), [("ED25519", ED25519)])
def test_openssl_other_keys_load(tmp_path: Path, algorithm: str, suite_id: str) -> None:
    openssl("genpkey", "-algorithm", algorithm, "-out", "k.pem", cwd=tmp_path)
    assert load_private_key((tmp_path / "k.pem").read_bytes()).suite.id == suite_id


# -- public keys ------------------------------------------------------------------------------


@pytest.mark.parametrize("suite_id", ALL)
def test_public_key_pem_and_der(keys: dict[str, PrivateKey], suite_id: str) -> None:
    public = keys[suite_id].public_key
    assert load_public_key(public.to_pem()) == public
    assert load_public_key(public.spki_der()) == public
    assert PublicKey.from_spki_der(public.spki_der()) == public
    assert hash(load_public_key(public.to_pem())) == hash(public)
    assert public.suite.id == suite_id


def test_public_keys_load_in_cryptography(keys: dict[str, PrivateKey]) -> None:
    for suite_id in (ECDSA_P256_SHA256, ED25519):
        public = keys[suite_id].public_key
        backend = serialization.load_der_public_key(public.spki_der())
        assert (
            backend.public_bytes(
                serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
            )
            == public.spki_der()
        )


def test_sm2_spki_is_id_ec_public_key_with_the_sm2_curve(keys: dict[str, PrivateKey]) -> None:
    spki = keys[SM2_SM3].public_key.spki_der()
    # SEQUENCE { SEQUENCE { id-ecPublicKey, sm2 }, BIT STRING 04‖x‖y }
    assert spki.startswith(
        bytes.fromhex("3059301306072a8648ce3d020106082a811ccf5501822d034200 04".replace(" ", ""))
    )
    assert len(keys[SM2_SM3].public_key.public_bytes()) == 65


def test_sm2_spki_variants_are_accepted(keys: dict[str, PrivateKey]) -> None:
    public = keys[SM2_SM3].public_key
    point = public.public_bytes()
    # Algorithm = the SM2 OID itself, no curve (some GM/T toolkits).
    alias_algorithm = bytes.fromhex("300a06082a811ccf5501822d")
    bit_string = b"\x03\x42\x00" + point
    body = alias_algorithm + bit_string
    alias = b"\x30" + bytes([len(body)]) + body
    loaded = PublicKey.from_spki_der(alias)
    assert loaded == public
    assert loaded.spki_der() == public.spki_der()  # re-encoded in the canonical form
    # A compressed point is read and re-encoded uncompressed.
    x, y = point[1:33], point[33:]
    compressed = bytes([2 + (y[-1] & 1)]) + x
    algorithm = bytes.fromhex("301306072a8648ce3d020106082a811ccf5501822d")
    body = algorithm + b"\x03\x22\x00" + compressed
    assert PublicKey.from_spki_der(b"\x30" + bytes([len(body)]) + body) == public


def test_malformed_spki_is_a_key_load_error(keys: dict[str, PrivateKey]) -> None:
    spki = keys[SM2_SM3].public_key.spki_der()
    not_on_curve = spki[:-1] + bytes([spki[-1] ^ 1])
    for bad in (b"", spki[:-1], spki + b"\x00", not_on_curve, b"\x30\x00", b"garbage"):
        with pytest.raises(KeyLoadError):
            PublicKey.from_spki_der(bad)
    with pytest.raises(KeyLoadError):
        load_public_key(b"-----BEGIN PUBLIC KEY-----\n!!!\n-----END PUBLIC KEY-----\n")
    with pytest.raises(KeyLoadError):
        load_public_key(b"-----BEGIN PRIVATE KEY-----\nMAA=\n-----END PRIVATE KEY-----\n")


def test_explicit_curve_parameters_are_unsupported(keys: dict[str, PrivateKey]) -> None:
    spki = keys[SM2_SM3].public_key.spki_der()
    point_part = spki[23:]  # BIT STRING
    algorithm = bytes.fromhex("300c06072a8648ce3d02013001ff")  # parameters: a SEQUENCE, not an OID
    body = algorithm + point_part
    with pytest.raises(UnsupportedAlgorithmError):
        PublicKey.from_spki_der(b"\x30" + bytes([len(body)]) + body)


# -- verification --------------------------------------------------------------------------------


@pytest.mark.parametrize("suite_id", (SM2_SM3, ECDSA_P256_SHA256))
def test_raw_and_der_signatures_verify(keys: dict[str, PrivateKey], suite_id: str) -> None:
    private = keys[suite_id]
    der = private.sign(b"payload")
    raw = signature_to_raw(der, suite_id)
    private.public_key.verify(der, b"payload")
    private.public_key.verify(raw, b"payload")
    private.public_key.verify(raw, b"payload", form="raw", algorithm=suite_id)


def test_algorithm_mismatch_is_not_an_invalid_signature(keys: dict[str, PrivateKey]) -> None:
    sm2 = keys[SM2_SM3]
    signature = sm2.sign(b"payload")
    with pytest.raises(AlgorithmMismatchError):
        sm2.public_key.verify(signature, b"payload", algorithm=ECDSA_P256_SHA256)
    with pytest.raises(AlgorithmMismatchError):
        sm2.public_key.verify(signature, b"payload", algorithm="1.2.840.10045.4.3.2")
    with pytest.raises(AlgorithmMismatchError):
        keys[ED25519].public_key.verify(signature, b"payload", algorithm="1.2.156.10197.1.501")
    sm2.public_key.verify(signature, b"payload", algorithm="1.2.156.10197.1.501")
    with pytest.raises(InvalidSignatureError):
        sm2.public_key.verify(signature, b"Payload", algorithm=SM2_SM3)


def test_private_key_repr_shows_no_secret(keys: dict[str, PrivateKey]) -> None:
    assert repr(keys[SM2_SM3]) == "PrivateKey(suite=SignatureSuite('SM2-SM3'))"


@pytest.mark.parametrize("suite_id", ALL)
def test_public_keys_pickle_private_keys_do_not(keys: dict[str, PrivateKey], suite_id: str) -> None:
    public = keys[suite_id].public_key
    copy = pickle.loads(pickle.dumps(public))
    assert copy == public and copy.suite is public.suite
    copy.verify(keys[suite_id].sign(b"worker"), b"worker")
    with pytest.raises(TypeError, match="to_pem"):
        pickle.dumps(keys[suite_id])


# -- saving -----------------------------------------------------------------------------------


def test_save_private_key_is_private_and_loadable(
    tmp_path: Path, keys: dict[str, PrivateKey]
) -> None:
    target = tmp_path / "seal.key.pem"
    save_private_key(keys[SM2_SM3], target, b"pw")
    assert stat.S_IMODE(target.stat().st_mode) == 0o600
    assert load_private_key(target.read_bytes(), b"pw").public_key == keys[SM2_SM3].public_key
    save_private_key(keys[ED25519], str(target))  # replaces, still 0600
    assert stat.S_IMODE(target.stat().st_mode) == 0o600
    assert load_private_key(target.read_bytes()).suite.id == ED25519
    assert sorted(p.name for p in tmp_path.iterdir()) == ["seal.key.pem"]


def test_a_failed_save_leaves_the_old_file_and_no_debris(
    tmp_path: Path, keys: dict[str, PrivateKey], monkeypatch: pytest.MonkeyPatch
) -> None:
    target = tmp_path / "k.pem"
    target.write_bytes(b"old")

    def broken_replace(src: str, dst: object) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", broken_replace)
    with pytest.raises(OSError, match="disk full"):
        save_private_key(keys[SM2_SM3], target)
    assert target.read_bytes() == b"old"
    assert [p.name for p in tmp_path.iterdir()] == ["k.pem"]
