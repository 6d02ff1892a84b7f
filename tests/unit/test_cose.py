"""Strict CBOR reading and COSE_Sign1 (RFC 9052): structure, sign/verify with every suite."""

from __future__ import annotations

import math
from collections.abc import Callable
from functools import cache

import cbor2
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ezhengzhao.errors import (
    AlgorithmMismatchError,
    InvalidSignatureError,
    PayloadError,
    UnsupportedAlgorithmError,
)
from ezhengzhao.formats import cose
from ezhengzhao.formats.cbor import dumps, loads_strict
from ezhengzhao.sign.keys import PrivateKey, generate_private_key
from ezhengzhao.sign.suites import ECDSA_P256_SHA256, ED25519, SM2_SM3, signature_to_der

SUITE_IDS = (SM2_SM3, ECDSA_P256_SHA256, ED25519)
KID = bytes.fromhex("0102030405060708")


@cache
def _key(suite_id: str) -> PrivateKey:
    return generate_private_key(suite_id)


def _cbor_stage(data: bytes, **kwargs: int) -> str:
    with pytest.raises(PayloadError) as info:
        loads_strict(data, **kwargs)
    return info.value.stage


# -- strict CBOR --------------------------------------------------------------------------------

# Values the strict reader returns unchanged (its own types), encoded by cbor2.
_scalars = (
    st.integers(min_value=-(2**64), max_value=2**64 - 1)
    | st.binary(max_size=40)
    | st.text(max_size=40)
    | st.booleans()
    | st.none()
    | st.floats(allow_nan=False)
)
_values = st.recursive(
    _scalars,
    lambda children: (
        st.lists(children, max_size=5)
        | st.dictionaries(st.integers(-50, 50) | st.text(max_size=8), children, max_size=5)
    ),
    max_leaves=30,
)


@given(_values)
def test_cbor_reads_what_cbor2_writes(value: object) -> None:
    assert loads_strict(cbor2.dumps(value)) == value
    assert loads_strict(dumps(value)) == value


@given(st.binary(max_size=64))
@settings(max_examples=1000)
def test_cbor_random_bytes_raise_nothing_but_payload_error(data: bytes) -> None:
    try:
        loads_strict(data)
    except PayloadError as exc:
        assert exc.stage == "cbor"


@given(_values, st.data())
@settings(max_examples=300)
def test_cbor_mutated_encodings_raise_nothing_but_payload_error(
    value: object, data: st.DataObject
) -> None:
    encoded = bytearray(cbor2.dumps(value))
    for _ in range(data.draw(st.integers(1, 4))):
        encoded[data.draw(st.integers(0, len(encoded) - 1))] = data.draw(st.integers(0, 255))
    try:
        loads_strict(bytes(encoded))
    except PayloadError as exc:
        assert exc.stage == "cbor"


def test_cbor_truncation_at_every_length_is_a_payload_error() -> None:
    value = {
        1: "iss",
        4: 1_800_000_000,
        -260: {1: {"v": [{"dn": 2, "x": b"\x00" * 30, "f": 1.5, "t": cbor2.CBORTag(0, "z")}]}},
        "big": 2**63,
        "neg": -(2**40),
        "half": 0.5,
    }
    data = cbor2.dumps(value)
    assert loads_strict(data) is not None
    for end in range(len(data)):
        assert _cbor_stage(data[:end]) == "cbor", end


def test_cbor_rejects_trailing_bytes() -> None:
    assert _cbor_stage(b"\x01\x02") == "cbor"
    assert _cbor_stage(cbor2.dumps({1: 2}) + b"\x00") == "cbor"
    assert _cbor_stage(b"") == "cbor"


@pytest.mark.parametrize(
    ("data", "kind"),
    [
        ("5f4161ff", "indefinite byte string"),
        ("7f6161ff", "indefinite text string"),
        ("9f01ff", "indefinite array"),
        ("bf0102ff", "indefinite map"),
        ("a1019f01ff", "indefinite array inside a map"),
        ("8201bf0102ff", "indefinite map inside an array"),
        ("ff", "stray break"),
        ("8201ff", "break inside a definite array"),
        ("1f", "indefinite unsigned integer (not well-formed)"),
        ("3f", "indefinite negative integer (not well-formed)"),
        ("df01", "indefinite tag (not well-formed)"),
    ],
)
def test_cbor_rejects_indefinite_lengths(data: str, kind: str) -> None:
    with pytest.raises(PayloadError, match=r"indefinite|break") as info:
        loads_strict(bytes.fromhex(data))
    assert info.value.stage == "cbor", kind


@pytest.mark.parametrize(
    ("data", "kind"),
    [
        ("a201000100", "duplicate int key"),
        ("a2616100616101", "duplicate text key"),
        ("a2410000410001", "duplicate byte-string key"),
        ("a20100180101", "same key, non-preferred encoding"),
        ("a20100f93c0001", "1 and 1.0 collide in a dict"),
        ("a201f5f5f4", "1 and true collide in a dict"),
        ("a10181a200006178a202000201", "duplicate key deep inside"),
        ("d812a201000102", "duplicate key under a tag"),
        ("81818181a2616b00616b00", "duplicate key at depth 4"),
    ],
)
def test_cbor_rejects_duplicate_map_keys(data: str, kind: str) -> None:
    with pytest.raises(PayloadError, match="duplicate map key"):
        loads_strict(bytes.fromhex(data))
    assert cbor2.loads(bytes.fromhex(data)) is not None, "cbor2 alone accepts it"


@pytest.mark.parametrize(
    ("data", "kind"),
    [
        ("a1810100", "array key"),
        ("a1a0f6", "map key"),
        ("a1c10100", "tagged key"),
        ("a1f97e0000", "NaN key"),
        ("f7", "undefined"),
        ("f0", "unassigned simple value"),
        ("f820", "two-byte simple value"),
        ("f810", "badly encoded simple value"),
        ("1c", "reserved additional information 28"),
        ("fc", "reserved additional information 28 in major type 7"),
        ("62c328", "invalid UTF-8"),
        ("62eda080", "UTF-8 encoded surrogate"),
        ("9b00000000ffffffff", "array claiming 4 billion items"),
        ("bb7fffffffffffffff", "map claiming 2**63 pairs"),
        ("5b7fffffffffffffff00", "byte string longer than the input"),
    ],
)
def test_cbor_rejects_other_malformed_or_unsupported_items(data: str, kind: str) -> None:
    assert _cbor_stage(bytes.fromhex(data)) == "cbor", kind


def test_cbor_nesting_depth() -> None:
    def nested(depth: int) -> bytes:
        return b"\x81" * depth + b"\x00"

    assert loads_strict(nested(16)) == _nest(16)
    assert _cbor_stage(nested(17)) == "cbor"
    assert loads_strict(nested(17), max_depth=17) == _nest(17)
    assert _cbor_stage(b"\xa1\x01" * 17 + b"\x00") == "cbor"  # maps count too
    assert _cbor_stage(b"\xc1" * 17 + b"\x00") == "cbor"  # and tags
    assert _cbor_stage(nested(100_000)) == "cbor"  # no RecursionError escapes
    assert _cbor_stage(b"\x81\x00", max_depth=0) == "cbor"
    assert loads_strict(b"\x00", max_depth=0) == 0


def _nest(depth: int) -> object:
    value: object = 0
    for _ in range(depth):
        value = [value]
    return value


def test_cbor_types_returned() -> None:
    # Tags come back uninterpreted: no datetime, no regex, no shared references.
    assert loads_strict(bytes.fromhex("c074323032312d30362d30345430383a31333a35315a")) == (
        cbor2.CBORTag(0, "2021-06-04T08:13:51Z")
    )
    assert loads_strict(bytes.fromhex("d8236161")) == cbor2.CBORTag(35, "a")
    assert loads_strict(bytes.fromhex("d81c8100")) == cbor2.CBORTag(28, [0])
    assert loads_strict(bytes.fromhex("c249010000000000000000")) == cbor2.CBORTag(
        2, b"\x01" + bytes(8)
    )
    assert loads_strict(b"\xf9\x3c\x00") == 1.0
    assert loads_strict(b"\xfa\x7f\x80\x00\x00") == math.inf
    assert math.isnan(loads_strict(b"\xf9\x7e\x00"))  # type: ignore[arg-type]
    assert loads_strict(b"\x3b\xff\xff\xff\xff\xff\xff\xff\xff") == -(2**64)
    assert loads_strict(b"\x18\x01") == 1  # non-preferred heads are well-formed: accepted
    assert loads_strict(b"\xa2\x02\x00\x01\x00") == {2: 0, 1: 0}  # unsorted keys too
    with pytest.raises(TypeError):
        loads_strict("a0")  # type: ignore[arg-type]


def test_dumps_is_canonical() -> None:
    encoded = dumps({"bb": 1, 10: 2, 1: 3, "a": 4})
    assert loads_strict(encoded) == {"bb": 1, 10: 2, 1: 3, "a": 4}
    assert list(loads_strict(encoded)) == [1, 10, "a", "bb"]  # type: ignore[call-overload]
    assert dumps(1.0) == b"\xf9\x3c\x00"  # shortest float
    assert dumps({4: KID, 1: -7}) == dumps({1: -7, 4: KID})


# -- COSE_Sign1 ---------------------------------------------------------------------------------


@pytest.mark.parametrize("suite_id", SUITE_IDS)
def test_sign_verify_round_trip(suite_id: str) -> None:
    key = _key(suite_id)
    alg = cose.alg_for_suite(suite_id)
    payload = dumps({cose.CWT_ISS: "12100000000000000X", cose.CWT_EXP: 1_900_000_000})
    message = cose.sign1(payload, alg=alg, kid=KID, sign=key.sign)
    assert message.alg == alg
    assert message.kid == KID
    assert message.protected == dumps({1: alg, 4: KID})
    assert len(message.signature) == 64  # raw r‖s (or Ed25519's R‖S), never DER
    cose.verify_sign1(message, key.public_key)

    encoded = message.encode()
    assert encoded[:1] == b"\xd2"
    decoded = cose.decode_sign1(encoded)
    assert decoded == message
    cose.verify_sign1(decoded, key.public_key)
    untagged = message.encode(tag=False)
    assert untagged[:1] == b"\x84"
    assert cose.decode_sign1(untagged, allow_untagged=True) == message


def test_sign1_converts_der_for_ec_algorithms() -> None:
    # PrivateKey.sign returns DER for SM2 and P-256; COSE carries raw r‖s (RFC 9053 §2.1).
    for suite_id in (SM2_SM3, ECDSA_P256_SHA256):
        key = _key(suite_id)
        message = cose.sign1(b"x", alg=cose.alg_for_suite(suite_id), kid=None, sign=key.sign)
        assert len(message.signature) == 64
        assert cose.HDR_KID not in message.protected_header
        assert message.kid is None
        # A DER signature in the message is refused: the COSE form is raw only.
        der = signature_to_der(message.signature, suite_id)
        with pytest.raises(InvalidSignatureError):
            cose.verify_sign1(_replace(message, signature=der), key.public_key)


def test_sign_structure_is_rfc_9052_sig_structure() -> None:
    message = cose.sign1(b"payload", alg=cose.ALG_EDDSA, kid=KID, sign=_key(ED25519).sign)
    expected = cbor2.dumps(["Signature1", message.protected, b"", b"payload"])
    assert message.sig_structure() == expected
    assert message.sig_structure(b"aad") == cbor2.dumps(
        ["Signature1", message.protected, b"aad", b"payload"]
    )
    big = cose.CoseSign1(b"", {}, {}, bytes(70_000), b"")
    assert big.sig_structure() == cbor2.dumps(["Signature1", b"", b"", bytes(70_000)])


@pytest.mark.parametrize("suite_id", SUITE_IDS)
def test_tampering_is_an_invalid_signature(suite_id: str) -> None:
    key = _key(suite_id)
    alg = cose.alg_for_suite(suite_id)
    message = cose.sign1(b"licence claims", alg=alg, kid=KID, sign=key.sign)
    tampered_protected = dumps({1: alg, 4: b"other-kid"})
    cases = {
        "payload": _replace(message, payload=b"licence claimz"),
        "protected header": _replace(message, protected=tampered_protected),
        "signature": _replace(message, signature=bytes(64)),
        "short signature": _replace(message, signature=message.signature[:-1]),
    }
    for what, forged in cases.items():
        with pytest.raises(InvalidSignatureError):
            cose.verify_sign1(forged, key.public_key)
        assert what
    with pytest.raises(InvalidSignatureError):
        cose.verify_sign1(message, key.public_key, external_aad=b"context")
    # Tampering the encoded bytes: decode still works, verify fails.
    encoded = bytearray(message.encode())
    encoded[encoded.index(b"licence") + 1] ^= 0x01
    with pytest.raises(InvalidSignatureError):
        cose.verify_sign1(cose.decode_sign1(bytes(encoded)), key.public_key)


def test_algorithm_mismatch_and_unknown_algorithms() -> None:
    sm2, p256 = _key(SM2_SM3), _key(ECDSA_P256_SHA256)
    message = cose.sign1(b"x", alg=cose.ALG_SM2_SM3, kid=KID, sign=sm2.sign)
    with pytest.raises(AlgorithmMismatchError):
        cose.verify_sign1(message, p256.public_key)
    with pytest.raises(AlgorithmMismatchError):
        cose.verify_sign1(message, _key(ED25519).public_key)
    # An ES256 label on an SM2 signature: the key's suite decides, never the message.
    relabelled = cose.sign1(b"x", alg=cose.ALG_ES256, kid=KID, sign=sm2.sign)
    with pytest.raises(AlgorithmMismatchError):
        cose.verify_sign1(relabelled, sm2.public_key)

    for alg in (cose.ALG_PS256, -35, -65535, 0):
        unknown = cose.sign1(b"x", alg=alg, kid=KID, sign=lambda data: b"sig")
        assert unknown.alg == alg
        decoded = cose.decode_sign1(unknown.encode())  # a codec: unknown alg decodes
        with pytest.raises(UnsupportedAlgorithmError):
            cose.verify_sign1(decoded, p256.public_key)
    no_alg = cose.decode_sign1(_encode(b"", {1: -7, 4: KID}, b"x", bytes(64)))
    assert no_alg.alg is None  # alg in the unprotected header is not trusted
    with pytest.raises(UnsupportedAlgorithmError):
        cose.verify_sign1(no_alg, p256.public_key)


def test_alg_constants() -> None:
    assert cose.COSE_ALG_SUITES == {-7: ECDSA_P256_SHA256, -8: ED25519, -70001: SM2_SM3}
    assert cose.ALG_SM2_SM3 < -65536  # private-use range
    assert cose.ALG_PS256 == -37
    assert (cose.HDR_ALG, cose.HDR_KID) == (1, 4)
    assert [cose.CWT_ISS, cose.CWT_SUB, cose.CWT_AUD, cose.CWT_EXP] == [1, 2, 3, 4]
    assert [cose.CWT_NBF, cose.CWT_IAT, cose.CWT_CTI, cose.CWT_STATUS] == [5, 6, 7, 65535]
    for suite_id in SUITE_IDS:
        assert cose.COSE_ALG_SUITES[cose.alg_for_suite(suite_id)] == suite_id
    with pytest.raises(UnsupportedAlgorithmError):
        cose.alg_for_suite("RSA-PSS")


def test_kid_from_unprotected_is_accepted_and_protected_wins() -> None:
    key = _key(ECDSA_P256_SHA256)
    unprotected_only = _signed(key, {1: -7}, {4: KID})
    assert unprotected_only.kid == KID
    cose.verify_sign1(unprotected_only, key.public_key)
    both = _signed(key, {1: -7, 4: KID}, {4: b"unprotected"})
    assert both.kid == KID
    cose.verify_sign1(both, key.public_key)
    neither = _signed(key, {1: -7}, {})
    assert neither.kid is None


def test_decode_tags() -> None:
    message = cose.sign1(b"x", alg=cose.ALG_EDDSA, kid=KID, sign=_key(ED25519).sign)
    tagged, untagged = message.encode(), message.encode(tag=False)
    cwt = cbor2.dumps(cbor2.CBORTag(61, cbor2.loads(tagged)))
    assert _cose_stage(untagged) == "cose"
    assert _cose_stage(cwt) == "cose"
    assert cose.decode_sign1(cwt, allow_cwt_tag=True) == message
    cwt_untagged_inside = cbor2.dumps(cbor2.CBORTag(61, cbor2.loads(untagged)))
    assert _cose_stage(cwt_untagged_inside, allow_cwt_tag=True, allow_untagged=True) == "cose"
    other_tag = cbor2.dumps(cbor2.CBORTag(98, cbor2.loads(untagged)))  # COSE_Sign
    assert _cose_stage(other_tag, allow_untagged=True) == "cose"
    assert _cose_stage(tagged + b"\x00") == "cbor"


@pytest.mark.parametrize(
    ("body", "why"),
    [
        ([b"", {}, b"x"], "3 elements"),
        ([b"", {}, b"x", b"s", b""], "5 elements"),
        ({1: 2}, "a map"),
        (b"bytes", "a byte string"),
        (["", {}, b"x", b"s"], "protected as text"),
        ([{1: -7}, {}, b"x", b"s"], "protected as a bare map"),
        ([b"\x01", {}, b"x", b"s"], "protected holds an int"),
        ([b"\x80", {}, b"x", b"s"], "protected holds an array"),
        ([b"\xa1\x01", {}, b"x", b"s"], "protected truncated"),
        ([b"\xa1\x01\x26\x00", {}, b"x", b"s"], "protected with trailing bytes"),
        ([b"\xa2\x01\x26\x01\x26", {}, b"x", b"s"], "protected with a duplicate label"),
        ([b"", [], b"x", b"s"], "unprotected as an array"),
        ([b"", b"", b"x", b"s"], "unprotected as bytes"),
        ([b"", {}, None, b"s"], "detached payload"),
        ([b"", {}, "x", b"s"], "payload as text"),
        ([b"", {}, b"x", "s"], "signature as text"),
        ([b"", {}, b"x", None], "signature nil"),
        ([dumps({1: "ES256"}), {}, b"x", b"s"], "alg as text"),
        ([dumps({1: True}), {}, b"x", b"s"], "alg as bool"),
        ([dumps({1: -7.0}), {}, b"x", b"s"], "alg as float"),
        ([dumps({1: -7, 4: "kid"}), {}, b"x", b"s"], "protected kid as text"),
        ([b"", {4: 17}, b"x", b"s"], "unprotected kid as int"),
        ([dumps({1: -7, 2: [4]}), {}, b"x", b"s"], "crit"),
        ([b"", {2: [1]}, b"x", b"s"], "crit unprotected"),
        ([dumps({1: -7, b"l": 1}), {}, b"x", b"s"], "byte-string label"),
        ([b"", {1.5: 1}, b"x", b"s"], "float label"),
    ],
)
def test_malformed_cose_is_a_payload_error(body: object, why: str) -> None:
    data = cbor2.dumps(cbor2.CBORTag(18, body))
    with pytest.raises(PayloadError) as info:
        cose.decode_sign1(data)
    assert info.value.stage in {"cose", "cbor"}, why


def test_empty_protected_header_forms() -> None:
    # RFC 9052 §3: a zero-length bstr, or a bstr holding an empty map; both mean "none".
    for protected in (b"", b"\xa0"):
        message = cose.decode_sign1(_encode(protected, {}, b"x", b"s"))
        assert message.protected == protected
        assert dict(message.protected_header) == {}
        assert message.alg is None
        assert message.sig_structure() == cbor2.dumps(["Signature1", protected, b"", b"x"])


def test_headers_are_read_only() -> None:
    message = cose.decode_sign1(_encode(dumps({1: -7}), {4: KID}, b"x", b"s"))
    with pytest.raises(TypeError):
        message.protected_header[1] = -8  # type: ignore[index]
    with pytest.raises(TypeError):
        message.unprotected_header[4] = b""  # type: ignore[index]
    with pytest.raises(AttributeError):
        message.payload = b"y"  # type: ignore[misc]


@given(st.binary(max_size=120))
@settings(max_examples=500)
def test_decode_sign1_of_random_bytes_raises_only_payload_error(data: bytes) -> None:
    for candidate in (data, b"\xd2" + data, b"\xd2\x84" + data):
        try:
            cose.decode_sign1(candidate, allow_untagged=True, allow_cwt_tag=True)
        except PayloadError as exc:
            assert exc.stage in {"cbor", "cose"}


def test_sign1_argument_checks() -> None:
    with pytest.raises(TypeError):
        cose.sign1("x", alg=-7, kid=None, sign=_key(ED25519).sign)  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        cose.sign1(b"x", alg="ES256", kid=None, sign=_key(ED25519).sign)  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        cose.sign1(b"x", alg=-8, kid="kid", sign=_key(ED25519).sign)  # type: ignore[arg-type]
    with pytest.raises(InvalidSignatureError):
        cose.sign1(b"x", alg=-8, kid=None, sign=lambda data: b"short")
    with pytest.raises(InvalidSignatureError):
        cose.sign1(b"x", alg=-7, kid=None, sign=lambda data: b"not a signature")


# -- helpers ------------------------------------------------------------------------------------


def _replace(message: cose.CoseSign1, **changes: bytes) -> cose.CoseSign1:
    fields = {
        "protected": message.protected,
        "protected_header": message.protected_header,
        "unprotected_header": message.unprotected_header,
        "payload": message.payload,
        "signature": message.signature,
    }
    fields.update(changes)
    return cose.CoseSign1(**fields)  # type: ignore[arg-type]


def _encode(
    protected: bytes, unprotected: dict[object, object], payload: bytes, sig: bytes
) -> bytes:
    return cbor2.dumps(cbor2.CBORTag(18, [protected, unprotected, payload, sig]))


def _signed(
    key: PrivateKey, protected: dict[int, object], unprotected: dict[object, object]
) -> cose.CoseSign1:
    """A message signed with headers sign1 does not make (kid unprotected, kid in both)."""
    protected_bytes = dumps(protected)
    draft = cose.CoseSign1(protected_bytes, {}, {}, b"payload", b"")
    sign: Callable[[bytes], bytes] = key.sign
    raw = cose.sign1(b"", alg=-7, kid=None, sign=lambda data: sign(draft.sig_structure()))
    return cose.decode_sign1(_encode(protected_bytes, unprotected, b"payload", raw.signature))


def _cose_stage(data: bytes, **kwargs: bool) -> str:
    with pytest.raises(PayloadError) as info:
        cose.decode_sign1(data, **kwargs)
    return info.value.stage


# -- the canonical fast path for authenticated payloads -----------------------------------------


def test_loads_canonical_takes_canonical_input_and_refuses_what_strict_refuses() -> None:
    from ezhengzhao.formats.cbor import dumps, loads_canonical

    value = {1: "310000", -70002: {1: "证照", 6: ["2026-01-01", None]}, 4: 1_800_000_000}
    assert loads_canonical(dumps(value)) == value
    # Well-formed but not canonical (keys unsorted, a long head): the strict reader accepts it.
    unsorted = bytes.fromhex("a20201011800")
    assert loads_canonical(unsorted) == {2: 1, 1: 0}
    for bad, words in [
        (bytes.fromhex("a201010102"), "duplicate"),
        (bytes.fromhex("9f01ff"), "indefinite"),
        (dumps(value) + b"\x00", "trailing"),
    ]:
        with pytest.raises(PayloadError, match=words):
            loads_canonical(bad)


# -- the fast reader: a shortcut that must never change an answer --------------------------------


def _full_reader_loads(data: bytes, max_depth: int = 16) -> object:
    """loads_strict as it was before the fast reader: the full reader alone."""
    from ezhengzhao.formats.cbor import _Malformed, _Reader

    if not data:
        raise PayloadError("cbor", "empty input: no CBOR data item")
    try:
        value, end = _Reader(data, max_depth).item(0, 0)
    except _Malformed as exc:
        raise PayloadError("cbor", str(exc)) from None
    if end != len(data):
        raise PayloadError(
            "cbor", f"{len(data) - end} trailing byte(s) after the CBOR data item at {end}"
        )
    return value


def _outcome(read: Callable[[bytes], object], data: bytes) -> tuple[str, object]:
    """What ``read`` says of ``data``: the value (encoded, so that types count and NaN equals
    NaN), or the error message."""
    try:
        value = read(data)
    except PayloadError as exc:
        return "error", str(exc)
    return type(value).__name__, cbor2.dumps(value)


def _mutations(encoded: bytes, position: int, byte: int) -> list[bytes]:
    """The encoding as is, with one byte changed, truncated, and with a byte appended."""
    at = position % (len(encoded) + 1)
    changed = bytearray(encoded)
    if at < len(encoded):
        changed[at] = byte
    return [encoded, bytes(changed), encoded[:at], encoded + bytes([byte])]


@given(_values, st.integers(min_value=0), st.integers(0, 255), st.booleans())
@settings(max_examples=400)
def test_loads_strict_answers_as_the_full_reader_alone(
    value: object, position: int, byte: int, tagged: bool
) -> None:
    from ezhengzhao.formats.cbor import _UNUSUAL, _read_common

    encoded = cbor2.dumps(cbor2.CBORTag(18, value) if tagged else value)
    for data in _mutations(encoded, position, byte):
        expected = _outcome(_full_reader_loads, data)
        assert _outcome(loads_strict, data) == expected, data.hex()
        for tags in (True, False):  # and when the fast reader answers, it answers the same
            fast = _read_common(data, 16, tags=tags)
            if fast is not _UNUSUAL:
                assert (type(fast).__name__, cbor2.dumps(fast)) == expected, data.hex()


@given(_values, st.integers(min_value=0), st.integers(0, 255))
@settings(max_examples=300)
def test_loads_canonical_answers_as_before_the_fast_reader(
    value: object, position: int, byte: int
) -> None:
    from ezhengzhao.formats.cbor import loads_canonical

    for data in _mutations(dumps(value), position, byte):
        assert _outcome(loads_canonical, data) == _outcome(_canonical_before, data), data.hex()


def _canonical_before(data: bytes) -> object:
    """loads_canonical as it was: cbor2 and a canonical re-encoding, else the full reader."""
    try:
        decoded = cbor2.loads(data)
        if cbor2.dumps(decoded, canonical=True) == data:
            return decoded
    except (cbor2.CBORError, ValueError, TypeError, OverflowError, RecursionError):
        pass
    return _full_reader_loads(data)


@pytest.mark.parametrize(
    ("data", "kind"),
    [
        ("d8236161", "a tag"),
        ("c11a00000001", "a tag on a 4-byte integer"),
        ("a1f5f6", "a bool key"),
        ("a2010161610a", "int and text keys"),
        ("a201000100", "a duplicate int key"),
        ("a2616100616100", "a duplicate text key"),
        ("a1f90000f6", "a float key"),
        ("a14100f6", "a byte-string key"),
        ("7861" + "61" * 96, "a text longer than its input"),
        ("a1017861" + "61" * 96, "a map value longer than its input"),
        ("a101" + "78" + "05" + "6162636465", "a map value with a 1-byte length"),
        ("9a00000002" + "0000", "a 4-byte count"),
        ("9bffffffffffffffff00", "a count beyond the input"),
        ("f7", "undefined"),
        ("f820", "a two-byte simple value"),
        ("5f4100ff", "an indefinite byte string"),
        ("1c", "reserved additional information"),
        ("3b" + "ff" * 8, "the smallest 8-byte negative integer"),
        ("1b" + "ff" * 7, "a truncated 8-byte integer"),
        ("fb3ff0000000000000", "a double"),
        ("fa3f800000", "a single"),
        ("f93c00", "a half"),
        ("f93c", "a truncated half"),
        ("6261", "a truncated text"),
        ("62c328", "invalid UTF-8"),
        ("81" * 16 + "00", "nesting at the limit"),
        ("81" * 17 + "00", "nesting beyond the limit"),
        ("", "nothing"),
    ],
)
def test_fast_reader_edge_cases(data: str, kind: str) -> None:
    from ezhengzhao.formats.cbor import loads_canonical

    raw = bytes.fromhex(data)
    assert _outcome(loads_strict, raw) == _outcome(_full_reader_loads, raw), kind
    assert _outcome(loads_canonical, raw) == _outcome(_canonical_before, raw), kind


def test_protected_header_is_checked_every_time_and_errors_keep_their_order() -> None:
    good = _encode(dumps({1: -7, 4: KID}), {}, b"x", b"s")
    first, second = cose.decode_sign1(good), cose.decode_sign1(good)
    assert first.protected_header == second.protected_header == {1: -7, 4: KID}
    assert first.alg == second.alg == -7
    # A bad alg with a bad unprotected header: the unprotected header is named, as it always
    # was, and again on the second reading (a refused header is never remembered).
    both_bad = _encode(dumps({1: "ES256"}), {2: [1]}, b"x", b"s")
    alg_bad = _encode(dumps({1: "ES256"}), {}, b"x", b"s")
    for _ in range(2):
        with pytest.raises(PayloadError, match="unprotected header has crit"):
            cose.decode_sign1(both_bad)
        with pytest.raises(PayloadError, match="alg header parameter must be an integer"):
            cose.decode_sign1(alg_bad)
    # The unprotected header is checked on every message, the protected one being known.
    with pytest.raises(PayloadError, match="unprotected kid must be a byte string"):
        cose.decode_sign1(_encode(dumps({1: -7, 4: KID}), {4: 17}, b"x", b"s"))


def test_one_message_cannot_change_another_messages_protected_header() -> None:
    """Headers are shared between messages with the same bytes only when nothing in them can
    be changed in place."""
    message = _encode(dumps({1: -7, 4: KID, 33: [b"cert-1"]}), {}, b"x", b"s")
    first = cose.decode_sign1(message)
    chain = first.protected_header[33]
    assert isinstance(chain, list)
    chain.append(b"forged")
    assert cose.decode_sign1(message).protected_header[33] == [b"cert-1"]
    with pytest.raises(TypeError):
        first.protected_header[1] = -8  # type: ignore[index]
