"""QR text pipeline: prefix, base45 and bounded zlib, each failing with its own stage."""

from __future__ import annotations

import zlib

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ezhengzhao.errors import PayloadError
from ezhengzhao.formats import qrtext
from ezhengzhao.formats.base45 import b45encode

COSE = bytes.fromhex("d28443a10126a0457061796c6f6440") + bytes(64)  # tag 18, a small message


def _stage(call: object, *args: object, **kwargs: object) -> str:
    with pytest.raises(PayloadError) as info:
        call(*args, **kwargs)  # type: ignore[operator]
    return info.value.stage


@given(st.binary(max_size=3000))
def test_wrap_unwrap_round_trip(data: bytes) -> None:
    text = qrtext.wrap(data)
    assert text.startswith("EZZ1:")
    assert qrtext.unwrap(text) == data


def test_wrap_is_prefix_base45_zlib9() -> None:
    assert qrtext.wrap(COSE) == "EZZ1:" + b45encode(zlib.compress(COSE, 9))
    assert qrtext.wrap(COSE, prefix="HC1:").startswith("HC1:")
    assert qrtext.compress(COSE) == zlib.compress(COSE, 9)


@pytest.mark.parametrize(
    "decorate",
    [
        lambda t: t + "\r\n",
        lambda t: t + "\n",
        lambda t: t + "\r",
        lambda t: "  " + t,
        lambda t: "\t" + t + "\t\r\n",
        lambda t: "\r\n" + t + "\r\n",
    ],
    ids=["crlf", "lf", "cr", "leading-spaces", "tabs", "blank-lines"],
)
def test_scanner_whitespace_is_tolerated(decorate: object) -> None:
    text = qrtext.wrap(COSE)
    assert qrtext.unwrap(decorate(text)) == COSE  # type: ignore[operator]


def test_a_trailing_space_is_data_not_whitespace() -> None:
    # ' ' is the base45 digit 36 (RFC 9285 §4.2): stripping it would corrupt the payload.
    assert qrtext.strip_prefix("EZZ1:AB ") == "AB "
    assert _stage(qrtext.unwrap, qrtext.wrap(COSE) + " ") in {"base45", "zlib"}


@pytest.mark.parametrize(
    "text",
    [
        "",
        "   ",
        "EZZ2:ABC",
        "ezz1:ABC",
        "HC1:ABC",
        "EZZ1",
        "XEZZ1:ABC",
        "EZZ 1:ABC",
        "\u3000EZZ1:ABC",  # ideographic space: not a scanner's whitespace
        "\ufeffEZZ1:ABC",  # byte-order mark
    ],
)
def test_a_missing_or_wrong_prefix_is_stage_prefix(text: str) -> None:
    assert _stage(qrtext.unwrap, text) == "prefix"


def test_other_prefixes_can_be_configured() -> None:
    text = qrtext.wrap(COSE, prefix="HC1:")
    assert qrtext.unwrap(text, prefix="HC1:") == COSE
    assert _stage(qrtext.unwrap, text) == "prefix"
    assert qrtext.strip_prefix("HC1:ABC", prefix="HC1:") == "ABC"


def test_bad_base45_is_stage_base45() -> None:
    assert _stage(qrtext.unwrap, "EZZ1:abc") == "base45"
    assert _stage(qrtext.unwrap, "EZZ1:A") == "base45"
    assert _stage(qrtext.unwrap, "EZZ1:GGW") == "base45"
    assert _stage(qrtext.unwrap, "EZZ1:BB8\nBB8") == "base45"  # whitespace inside


def test_bad_zlib_is_stage_zlib() -> None:
    compressed = zlib.compress(COSE, 9)
    cases = {
        "not zlib": b"hello world",
        "raw deflate": zlib.compress(COSE)[2:-4],
        "gzip": b"\x1f\x8b" + compressed[2:],
        "truncated": compressed[:-3],
        "trailing garbage": compressed + b"\x00",
        "two streams": compressed + compressed,
        "empty": b"",
    }
    for why, data in cases.items():
        assert _stage(qrtext.decompress, data) == "zlib", why
        assert _stage(qrtext.unwrap, "EZZ1:" + b45encode(data)) == "zlib", why


def test_a_zlib_bomb_is_refused_without_inflating_it() -> None:
    bomb = zlib.compress(bytes(10 * 1024 * 1024), 9)  # 10 MiB of zeros
    assert len(bomb) < 16 * 1024
    text = "EZZ1:" + b45encode(bomb)
    with pytest.raises(PayloadError, match="exceeds") as info:
        qrtext.unwrap(text)
    assert info.value.stage == "zlib"


def test_max_size_is_exact() -> None:
    data = bytes(range(256)) * 8  # 2048 bytes
    compressed = zlib.compress(data)
    assert qrtext.decompress(compressed, max_size=2048) == data
    assert _stage(qrtext.decompress, compressed, max_size=2047) == "zlib"
    assert qrtext.decompress(zlib.compress(b""), max_size=0) == b""
    with pytest.raises(ValueError):
        qrtext.decompress(compressed, max_size=-1)


def test_uncompressed_cose_only_when_allowed() -> None:
    text = "HC1:" + b45encode(COSE)
    assert _stage(qrtext.unwrap, text, prefix="HC1:") == "zlib"
    assert qrtext.unwrap(text, prefix="HC1:", allow_uncompressed=True) == COSE
    cwt_tagged = b"\xd8\x3d" + COSE
    assert qrtext.unwrap("HC1:" + b45encode(cwt_tagged), prefix="HC1:", allow_uncompressed=True)
    # Compressed text still inflates with the option on; other bytes are still zlib errors.
    assert qrtext.unwrap(qrtext.wrap(COSE), allow_uncompressed=True) == COSE
    other = "HC1:" + b45encode(b"\xa0hello")
    assert _stage(qrtext.unwrap, other, prefix="HC1:", allow_uncompressed=True) == "zlib"
    big = "HC1:" + b45encode(COSE)
    assert _stage(qrtext.unwrap, big, prefix="HC1:", allow_uncompressed=True, max_size=10) == (
        "zlib"
    )


@given(st.text(max_size=200))
def test_unwrap_of_any_text_returns_bytes_or_raises_payload_error(text: str) -> None:
    for candidate in (text, "EZZ1:" + text):
        try:
            assert isinstance(qrtext.unwrap(candidate), bytes)
        except PayloadError as exc:
            assert exc.stage in {"prefix", "base45", "zlib"}


def test_unwrap_takes_str() -> None:
    with pytest.raises(TypeError):
        qrtext.unwrap(b"EZZ1:ABC")  # type: ignore[arg-type]
