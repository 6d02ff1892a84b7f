"""Prepared verification: ``key.prepare(prefix).verify(sig, rest)`` is ``key.verify(sig,
prefix + rest)`` in every outcome, whether the suite hashes the prefix once (SM2) or not."""

from __future__ import annotations

import threading
from collections.abc import Callable

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ezhengzhao.errors import AlgorithmMismatchError, InvalidSignatureError
from ezhengzhao.sign import _sm2_prefix
from ezhengzhao.sign.keys import PreparedVerifier, PrivateKey, generate_private_key
from ezhengzhao.sign.suites import ECDSA_P256_SHA256, ED25519, SM2_SM3, signature_to_raw

ALL = (SM2_SM3, ECDSA_P256_SHA256, ED25519)


@pytest.fixture(scope="module")
def keys() -> dict[str, PrivateKey]:
    return {suite_id: generate_private_key(suite_id) for suite_id in ALL}


def outcome(call: Callable[..., object], *args: object, **kwargs: object) -> str:
    """'ok' or the name of the exception ``call(*args, **kwargs)`` raised."""
    try:
        call(*args, **kwargs)
    except Exception as exc:  # the type is the outcome compared
        return type(exc).__name__
    return "ok"


def test_sm2_hashes_the_prefix_once_and_the_others_join(keys: dict[str, PrivateKey]) -> None:
    assert keys[SM2_SM3].public_key.prepare(b"seal").streaming
    assert not keys[ECDSA_P256_SHA256].public_key.prepare(b"seal").streaming
    assert not keys[ED25519].public_key.prepare(b"seal").streaming
    assert isinstance(keys[SM2_SM3].public_key.prepare(b""), PreparedVerifier)


@pytest.mark.parametrize("suite_id", ALL)
def test_good_and_bad_signatures(keys: dict[str, PrivateKey], suite_id: str) -> None:
    key = keys[suite_id]
    prefix, rest = bytes(range(256)) * 33, b"the licence's own part"
    signature = key.sign(prefix + rest)
    prepared = key.public_key.prepare(prefix)
    for _ in range(3):  # the kept state is not used up
        prepared.verify(signature, rest)
    prepared.verify(signature, bytearray(rest))
    prepared.verify(signature, memoryview(rest))
    with pytest.raises(InvalidSignatureError):
        prepared.verify(signature, rest + b"!")
    with pytest.raises(InvalidSignatureError):
        prepared.verify(signature, rest[:-1])
    with pytest.raises(InvalidSignatureError):
        key.public_key.prepare(prefix[:-1] + b"\x00").verify(signature, rest)
    with pytest.raises(InvalidSignatureError):
        prepared.verify(signature[:-1] + bytes([signature[-1] ^ 1]), rest)
    with pytest.raises(InvalidSignatureError):
        prepared.verify(b"", rest)
    with pytest.raises(InvalidSignatureError):
        prepared.verify(b"\x30\x00", rest)
    other = generate_private_key(suite_id)
    with pytest.raises(InvalidSignatureError):
        other.public_key.prepare(prefix).verify(signature, rest)


@pytest.mark.parametrize("suite_id", (SM2_SM3, ECDSA_P256_SHA256))
def test_both_signature_forms(keys: dict[str, PrivateKey], suite_id: str) -> None:
    key = keys[suite_id]
    signature = key.sign(b"start" + b"end")
    raw = signature_to_raw(signature, suite_id)
    prepared = key.public_key.prepare(b"start")
    prepared.verify(raw, b"end", form="raw")
    prepared.verify(raw, b"end")
    prepared.verify(signature, b"end", form="der")
    with pytest.raises(InvalidSignatureError):
        prepared.verify(raw, b"end", form="der")
    with pytest.raises(ValueError, match="form must be"):
        prepared.verify(signature, b"end", form="pem")  # type: ignore[arg-type]


@pytest.mark.parametrize("suite_id", ALL)
def test_the_algorithm_claim_and_types_are_checked(
    keys: dict[str, PrivateKey], suite_id: str
) -> None:
    key = keys[suite_id]
    signature = key.sign(b"ab")
    prepared = key.public_key.prepare(b"a")
    prepared.verify(signature, b"b", algorithm=key.suite.signature_oid)
    prepared.verify(signature, b"b", algorithm=suite_id)
    claim = ED25519 if suite_id != ED25519 else SM2_SM3
    with pytest.raises(AlgorithmMismatchError):
        prepared.verify(signature, b"b", algorithm=claim)
    with pytest.raises(TypeError):
        prepared.verify(signature, "b")  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        key.public_key.prepare("a")  # type: ignore[arg-type]


@settings(max_examples=60, deadline=None)
@given(
    prefix=st.binary(max_size=300),
    rest=st.binary(max_size=100),
    flip=st.integers(min_value=-1, max_value=399),
    suite_id=st.sampled_from(ALL),
)
def test_same_outcome_as_whole_message_verification(
    keys: dict[str, PrivateKey], prefix: bytes, rest: bytes, flip: int, suite_id: str
) -> None:
    key = keys[suite_id]
    message = prefix + rest
    signature = key.sign(message)
    if 0 <= flip < len(message):  # change one byte of the message after signing
        message = message[:flip] + bytes([message[flip] ^ 0x40]) + message[flip + 1 :]
    elif flip >= len(message) and flip - len(message) < len(signature):
        i = flip - len(message)  # or one byte of the signature
        signature = signature[:i] + bytes([signature[i] ^ 0x01]) + signature[i + 1 :]
    cut = len(prefix)
    prepared = key.public_key.prepare(message[:cut])
    whole = outcome(key.public_key.verify, signature, message)
    assert outcome(prepared.verify, signature, message[cut:]) == whole


def test_one_prepared_key_serves_many_threads(keys: dict[str, PrivateKey]) -> None:
    key = keys[SM2_SM3]
    prefix = b"seal picture " * 700
    rests = [f"licence {i}".encode() for i in range(6)]
    signatures = [key.sign(prefix + r) for r in rests]
    prepared = key.public_key.prepare(prefix)
    results: list[tuple[bool, str]] = []
    lock = threading.Lock()

    def work(offset: int) -> None:
        for i in range(24):
            good = (i + offset) % 2 == 0
            j = (i + offset) % len(rests)
            rest = rests[j] if good else rests[(j + 1) % len(rests)]
            result = outcome(prepared.verify, signatures[j], rest)
            with lock:
                results.append((good, result))

    threads = [threading.Thread(target=work, args=(n,)) for n in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(results) == 6 * 24
    assert all((r == "ok") == good for good, r in results)
    assert {r for good, r in results if not good} == {"InvalidSignatureError"}


def test_without_streaming_the_prefix_is_joined(
    keys: dict[str, PrivateKey], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Where tongsuopy cannot keep the hash state, SM2 verifies the joined message."""
    monkeypatch.setitem(_sm2_prefix._state, "ok", False)
    key = keys[SM2_SM3]
    signature = key.sign(b"seal" + b"licence")
    prepared = key.public_key.prepare(b"seal")
    assert not prepared.streaming
    prepared.verify(signature, b"licence")
    with pytest.raises(InvalidSignatureError):
        prepared.verify(signature, b"licencE")


def test_the_self_check_accepts_this_tongsuopy() -> None:
    """The streaming binding is present and behaves: the check before first use passes."""
    assert _sm2_prefix._self_check()


def test_when_no_context_can_be_had_the_whole_message_is_checked(
    keys: dict[str, PrivateKey], monkeypatch: pytest.MonkeyPatch
) -> None:
    key = keys[SM2_SM3]
    signature = key.sign(b"seal" + b"licence")
    prepared = key.public_key.prepare(b"seal")
    assert prepared.streaming
    monkeypatch.setattr(_sm2_prefix.Sm2Prefix, "verify", lambda self, der, rest: None)
    prepared.verify(signature, b"licence")
    with pytest.raises(InvalidSignatureError):
        prepared.verify(signature, b"licencE")


def test_a_prepared_verifier_cannot_be_rewired(keys: dict[str, PrivateKey]) -> None:
    """Key, prefix and kept state are fixed together: none can be swapped afterwards."""
    key, other = keys[SM2_SM3], generate_private_key(SM2_SM3)
    prepared = PreparedVerifier(key.public_key, b"seal A")
    assert prepared.key == key.public_key and prepared.prefix == b"seal A"
    for name, value in (("prefix", b"seal B"), ("key", other.public_key), ("_check", None)):
        with pytest.raises(AttributeError):
            setattr(prepared, name, value)
    signature = key.sign(b"seal A" + b"rest")
    prepared.verify(signature, b"rest")
    with pytest.raises(InvalidSignatureError):
        PreparedVerifier(key.public_key, b"seal B").verify(signature, b"rest")
    with pytest.raises(TypeError):
        PreparedVerifier(b"not a key", b"seal")  # type: ignore[arg-type]
    assert "6 bytes" in repr(prepared)
