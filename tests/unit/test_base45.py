"""Base45 (RFC 9285): the RFC's examples, round trips, and every kind of invalid input."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ezhengzhao.errors import DecodeError, PayloadError
from ezhengzhao.formats import base45
from ezhengzhao.formats.base45 import ALPHABET, b45decode, b45encode

RFC_9285_EXAMPLES = [
    (b"AB", "BB8"),  # §4.3
    (b"Hello!!", "%69 VD92EX0"),  # §4.3
    (b"base-45", "UJCLQE7W581"),  # §4.3
    (b"ietf!", "QED8WEX0"),  # §4.4 decoding example
]


@pytest.mark.parametrize(("data", "text"), RFC_9285_EXAMPLES, ids=[t for _, t in RFC_9285_EXAMPLES])
def test_rfc_9285_examples(data: bytes, text: str) -> None:
    assert b45encode(data) == text
    assert b45decode(text) == data


def test_alphabet_is_the_qr_alphanumeric_set() -> None:
    assert len(ALPHABET) == 45
    assert len(set(ALPHABET)) == 45
    assert b45encode(bytes(range(256))).strip(ALPHABET) == ""


@pytest.mark.parametrize(
    ("data", "text"),
    [
        (b"", ""),
        (b"\x00", "00"),
        (b"\xff", "U5"),  # 255 = 30 + 45·5, the largest final pair
        (b"\x00\x00", "000"),
        (b"\xff\xff", "FGW"),  # 65535 = 15 + 45·16 + 2025·31, the largest triple
    ],
)
def test_boundaries(data: bytes, text: str) -> None:
    assert b45encode(data) == text
    assert b45decode(text) == data


@given(st.binary(max_size=2048))
def test_round_trip(data: bytes) -> None:
    text = b45encode(data)
    assert len(text) == 3 * (len(data) // 2) + 2 * (len(data) % 2)
    assert b45decode(text) == data


@given(st.text(alphabet=ALPHABET, max_size=300))
def test_valid_text_round_trips_and_invalid_text_is_a_payload_error(text: str) -> None:
    try:
        data = b45decode(text)
    except PayloadError as exc:
        assert exc.stage == "base45"
        return
    assert b45encode(data) == text  # base45 has exactly one encoding per byte string


@given(st.text(max_size=60))
def test_any_text_decodes_or_raises_payload_error(text: str) -> None:
    try:
        b45decode(text)
    except PayloadError as exc:
        assert exc.stage == "base45"


@pytest.mark.parametrize(
    ("text", "why"),
    [
        ("GGW", "65536: one above the largest triple"),
        ("ZZZ", "91124: the largest value three digits can write"),
        ("BB8GGW", "a bad triple after a good one"),
        ("V5", "256: one above the largest final pair"),
        ("::", "2024: the largest value two digits can write"),
        ("A", "length 1"),
        ("BB8A", "length 4 ≡ 1 (mod 3)"),
        ("bb8", "lower case is not in the alphabet"),
        ("BB=", "padding is not base45"),
        ("BB\n", "line break"),
        ("BB8\x00", "NUL"),
        ("BBé", "non-ASCII"),
        ("ＢＢ８", "full-width letters"),
    ],
)
def test_invalid_input_is_a_payload_error(text: str, why: str) -> None:
    with pytest.raises(PayloadError) as info:
        b45decode(text)
    assert info.value.stage == "base45", why
    assert isinstance(info.value, DecodeError)


def test_types_are_checked() -> None:
    with pytest.raises(TypeError):
        b45decode(b"BB8")  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        b45encode("AB")  # type: ignore[arg-type]
    assert b45encode(bytearray(b"AB")) == "BB8"


def test_long_input_leaves_nothing_behind() -> None:
    """Decoding keeps per-length helpers only for QR-sized texts, never for long input."""
    base45._kept_mask.cache_clear()
    data = bytes(range(256)) * 4000
    assert b45decode(b45encode(data)) == data
    assert base45._kept_mask.cache_info().currsize == 0
    assert b45decode(b45encode(data[:1000])) == data[:1000]
    assert base45._kept_mask.cache_info().currsize == 1
