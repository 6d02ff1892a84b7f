"""Signature suites: registry, signature forms, algorithm binding, garbage never escapes."""

from __future__ import annotations

import dataclasses

import pytest
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature
from hypothesis import given, settings
from hypothesis import strategies as st

from ezhengzhao.errors import (
    AlgorithmMismatchError,
    InvalidSignatureError,
    UnsupportedAlgorithmError,
)
from ezhengzhao.sign import suites
from ezhengzhao.sign.keys import PrivateKey, generate_private_key
from ezhengzhao.sign.suites import (
    ECDSA_P256_SHA256,
    ED25519,
    SM2_SM3,
    SUITES,
    SignatureSuite,
    Signer,
    get_suite,
    register_suite,
    signature_to_der,
    signature_to_raw,
    suite_for_key_algorithm,
    suite_for_signature_oid,
)

ALL = (SM2_SM3, ECDSA_P256_SHA256, ED25519)
EC = (SM2_SM3, ECDSA_P256_SHA256)

_KEYS: dict[str, PrivateKey] = {}


def key(suite_id: str) -> PrivateKey:
    """One key per suite for the whole module (key generation is not what is tested here)."""
    if suite_id not in _KEYS:
        _KEYS[suite_id] = generate_private_key(suite_id)
    return _KEYS[suite_id]


def test_builtin_suites_are_registered_by_stable_id() -> None:
    assert set(ALL) <= set(SUITES)
    for suite_id in ALL:
        assert get_suite(suite_id).id == suite_id
        assert SUITES[suite_id] is get_suite(suite_id)


@pytest.mark.parametrize(
    ("suite_id", "oid", "form"),
    [
        (SM2_SM3, "1.2.156.10197.1.501", "der"),
        (ECDSA_P256_SHA256, "1.2.840.10045.4.3.2", "der"),
        (ED25519, "1.3.101.112", "raw"),
    ],
)
def test_signature_oids_and_forms(suite_id: str, oid: str, form: str) -> None:
    suite = get_suite(suite_id)
    assert suite.signature_oid == oid
    assert suite.signature_form == form
    assert suite_for_signature_oid(oid) is suite


def test_unknown_suite_and_oid_are_unsupported() -> None:
    with pytest.raises(UnsupportedAlgorithmError):
        get_suite("RSA-PSS")
    with pytest.raises(UnsupportedAlgorithmError):
        get_suite(None)  # type: ignore[arg-type]
    with pytest.raises(UnsupportedAlgorithmError):
        suite_for_signature_oid("1.2.840.113549.1.1.11")  # sha256WithRSAEncryption


def test_key_algorithms_and_the_sm2_alias() -> None:
    ec_public_key = "1.2.840.10045.2.1"
    assert suite_for_key_algorithm(ec_public_key, "1.2.156.10197.1.301").id == SM2_SM3
    assert suite_for_key_algorithm(ec_public_key, "1.2.840.10045.3.1.7").id == ECDSA_P256_SHA256
    assert suite_for_key_algorithm("1.3.101.112", None).id == ED25519
    # Some GM/T implementations put the SM2 OID in the algorithm field itself.
    assert suite_for_key_algorithm("1.2.156.10197.1.301", None).id == SM2_SM3
    with pytest.raises(UnsupportedAlgorithmError):
        suite_for_key_algorithm(ec_public_key, "1.3.132.0.34")  # P-384
    with pytest.raises(UnsupportedAlgorithmError):
        suite_for_key_algorithm(ec_public_key, None)


def test_registering_twice_is_refused_but_idempotent_for_the_same_suite() -> None:
    sm2 = get_suite(SM2_SM3)
    assert register_suite(sm2) is sm2
    clash = dataclasses.replace(sm2, key_algorithm=("1.2.3.4", None), key_algorithm_aliases=())
    with pytest.raises(ValueError, match="already registered"):
        register_suite(clash)
    other_oid = dataclasses.replace(clash, id="SM2-again")
    with pytest.raises(ValueError, match="signature OID"):
        register_suite(other_oid)
    assert "SM2-again" not in SUITES


def test_suites_are_frozen() -> None:
    with pytest.raises(dataclasses.FrozenInstanceError):
        get_suite(SM2_SM3).id = "x"  # type: ignore[misc]
    with pytest.raises(TypeError):
        SignatureSuite("x", "1.2", ("1.2", None), "raw")  # type: ignore[abstract]


@pytest.mark.parametrize("suite_id", ALL)
def test_generate_sign_verify(suite_id: str) -> None:
    private = get_suite(suite_id).generate()
    assert private.suite is get_suite(suite_id)
    assert isinstance(private, Signer)
    signature = private.sign(b"licence")
    private.public_key.verify(signature, b"licence")
    with pytest.raises(InvalidSignatureError):
        private.public_key.verify(signature, b"licencE")


@pytest.mark.parametrize("suite_id", EC)
def test_der_and_raw_forms_convert_both_ways(suite_id: str) -> None:
    signer = key(suite_id)
    der = signer.sign(b"data")
    raw = signature_to_raw(der, suite_id)
    assert len(raw) == 64
    assert signature_to_der(raw, get_suite(suite_id)) == der
    # Both helpers accept either form, so they are idempotent.
    assert signature_to_raw(raw, suite_id) == raw
    assert signature_to_der(der, suite_id) == der
    for signature, form in ((der, "der"), (raw, "raw"), (der, None), (raw, None)):
        signer.public_key.verify(signature, b"data", form=form)  # type: ignore[arg-type]
    with pytest.raises(InvalidSignatureError):
        signer.public_key.verify(der, b"data", form="raw")
    with pytest.raises(InvalidSignatureError):
        signer.public_key.verify(raw, b"data", form="der")


def test_ed25519_signatures_have_one_form() -> None:
    signer = key(ED25519)
    signature = signer.sign(b"data")
    assert len(signature) == 64
    assert signature_to_raw(signature, ED25519) == signature
    assert signature_to_der(signature, ED25519) == signature
    signer.public_key.verify(signature, b"data", form="raw")
    with pytest.raises(InvalidSignatureError):
        signer.public_key.verify(signature, b"data", form="der")
    with pytest.raises(InvalidSignatureError):
        signature_to_raw(signature + b"\x00", ED25519)


@pytest.mark.parametrize("suite_id", EC)
def test_non_canonical_der_is_rejected(suite_id: str) -> None:
    signer = key(suite_id)
    der = signer.sign(b"data")
    raw = signature_to_raw(der, suite_id)
    r, s = int.from_bytes(raw[:32], "big"), int.from_bytes(raw[32:], "big")
    assert encode_dss_signature(r, s) == der
    body = der[2:]
    long_form_length = b"\x30\x81" + bytes([len(body)]) + body  # BER, not DER
    padded = b"\x30" + bytes([len(body) + 1]) + body + b"\x00"  # trailing garbage inside
    trailing = der + b"\x00"
    for bad in (long_form_length, padded, trailing):
        with pytest.raises(InvalidSignatureError):
            signer.public_key.verify(bad, b"data")
        with pytest.raises(InvalidSignatureError):
            signature_to_raw(bad, suite_id)


@pytest.mark.parametrize("suite_id", EC)
def test_zero_and_oversized_scalars_are_rejected(suite_id: str) -> None:
    public = key(suite_id).public_key
    for raw in (bytes(64), b"\xff" * 64, bytes(32) + b"\x01" * 32):
        with pytest.raises(InvalidSignatureError):
            public.verify(raw, b"data", form="raw")
    with pytest.raises(InvalidSignatureError):
        public.verify(encode_dss_signature(1, 1), b"data")


@pytest.mark.parametrize("suite_id", ALL)
def test_the_algorithm_is_bound_to_the_key(suite_id: str) -> None:
    signer = key(suite_id)
    suite = signer.suite
    signature = signer.sign(b"data")
    signer.public_key.verify(signature, b"data", algorithm=suite.id)
    signer.public_key.verify(signature, b"data", algorithm=suite.signature_oid)
    for other in ALL:
        if other == suite_id:
            continue
        with pytest.raises(AlgorithmMismatchError):
            signer.public_key.verify(signature, b"data", algorithm=other)
        with pytest.raises(AlgorithmMismatchError):
            signer.public_key.verify(signature, b"data", algorithm=get_suite(other).signature_oid)
    with pytest.raises(AlgorithmMismatchError):
        signer.public_key.verify(signature, b"data", algorithm="1.2.840.113549.1.1.11")


def test_a_signature_from_another_suite_is_just_invalid() -> None:
    sm2_signature = key(SM2_SM3).sign(b"data")
    with pytest.raises(InvalidSignatureError):
        key(ECDSA_P256_SHA256).public_key.verify(sm2_signature, b"data")
    with pytest.raises(InvalidSignatureError):
        key(ED25519).public_key.verify(sm2_signature, b"data")


def test_a_bad_form_argument_is_a_programming_error() -> None:
    with pytest.raises(ValueError):
        key(SM2_SM3).public_key.verify(b"", b"data", form="p1363")  # type: ignore[arg-type]


@pytest.mark.parametrize("suite_id", ALL)
@settings(max_examples=150, deadline=None)
@given(garbage=st.binary(max_size=160), form=st.sampled_from([None, "der", "raw"]))
def test_garbage_signatures_raise_only_invalid_signature(
    suite_id: str, garbage: bytes, form: str | None
) -> None:
    with pytest.raises(InvalidSignatureError):
        key(suite_id).public_key.verify(garbage, b"data", form=form)  # type: ignore[arg-type]


@pytest.mark.parametrize("suite_id", ALL)
def test_every_flipped_bit_of_a_signature_is_rejected(suite_id: str) -> None:
    signer = key(suite_id)
    signature = signer.sign(b"data")
    for position in range(len(signature)):
        for mask in (0x01, 0x80):
            bad = bytearray(signature)
            bad[position] ^= mask
            with pytest.raises(InvalidSignatureError):
                signer.public_key.verify(bytes(bad), b"data")


def test_non_bytes_signature_is_invalid_not_a_crash() -> None:
    for suite_id in ALL:
        with pytest.raises(InvalidSignatureError):
            key(suite_id).public_key.verify("not bytes", b"data")  # type: ignore[arg-type]


def test_module_exports() -> None:
    for name in suites.__all__:
        assert hasattr(suites, name)
