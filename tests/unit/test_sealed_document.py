"""ezz/sealed/1 reading: the layout fast path and the seal-segment cache answer exactly as the
full parse does — the same value, or a DecodeError with the same message — for every input."""

from __future__ import annotations

import base64
import binascii
import json
import os
import threading
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ezhengzhao.catalogue import Catalogue
from ezhengzhao.demo import REGIONS, _People, _region
from ezhengzhao.errors import DecodeError
from ezhengzhao.formats.sealed import (
    _MAX_SEALED_BYTES,
    SealedDocument,
    SealedLicence,
    _parse_fast,
    _parse_full,
    _Segment,
    _SegmentCache,
    parse_sealed_document,
)
from ezhengzhao.model import LicenceDraft

NOW = datetime(2026, 6, 1, 8, 0, 0, tzinfo=UTC)

Outcome = tuple[str, object]


def _outcome(parse: Callable[[bytes | str], SealedDocument], data: bytes | str) -> Outcome:
    try:
        return ("value", parse(data))
    except DecodeError as exc:
        return ("error", str(exc))


def assert_same_as_full(data: bytes | str) -> None:
    """parse_sealed_document answers as the full parse does; the fast path never disagrees."""
    expected = _outcome(_parse_full, data)
    assert _outcome(parse_sealed_document, data) == expected
    fast = _parse_fast(data)
    if fast is not None:
        assert expected == ("value", fast)


@pytest.fixture(scope="module")
def sealed() -> list[SealedLicence]:
    """Four food-business licences (食品经营许可证) sealed by one district authority."""
    region = _region(REGIONS[0], NOW)
    catalogue = Catalogue.builtin()
    food = next(t for t in catalogue if t.name == "食品经营许可证")
    people = _People()
    surface = {f.key: f.example for f in food.fields if f.example is not None}
    out = []
    for i in range(4):
        holder = people.company("310000", f"上海第{i}餐饮管理有限公司")
        uscc = {
            f.key: holder.code for f in food.fields if f.validator == "uscc" and f.key in surface
        }
        draft = LicenceDraft(
            type_code=food.code,
            number=f"JY1310115{i:07d}",
            holder=holder,
            surface={**surface, **uscc},
            issue_date=date(2026, 1, 5),
        )
        credentials = region.authorities[0].credentials()
        out.append(credentials.issue(draft, catalogue=catalogue, now=NOW))
    return out


@pytest.fixture(scope="module", params=[None, 2], ids=["compact", "indented"])
def document(request: pytest.FixtureRequest, sealed: list[SealedLicence]) -> bytes:
    return sealed[0].to_json(indent=request.param)


def _b64_span(doc: bytes) -> tuple[int, int]:
    end = doc.rindex(b'"')
    return doc.rindex(b'"', 0, end) + 1, end


# -- real documents ----------------------------------------------------------------------------


@pytest.mark.parametrize("indent", [None, 2])
def test_issued_documents_take_the_fast_path_with_the_full_result(
    sealed: list[SealedLicence], indent: int | None
) -> None:
    for licence in sealed:
        doc = licence.to_json(indent=indent)
        full = _parse_full(doc)
        assert _parse_fast(doc) == full
        assert _parse_fast(doc.decode()) == full
        assert parse_sealed_document(doc) == full
        assert full.ses_signature == licence.ses_signature
        assert full.licence_object == json.loads(doc)["licence"]


def test_documents_without_the_trailing_newline_or_with_other_whitespace(document: bytes) -> None:
    assert _parse_fast(document.rstrip(b"\n")) == _parse_full(document)
    spaced = document.replace(b'"ses_signature": ', b'\r\n\t"ses_signature"\t :\r\n ')
    assert _parse_fast(spaced) == _parse_full(document)
    assert _parse_fast(document.rstrip() + b" \t\r\n\n") == _parse_full(document)


# -- mutations give what the full parse gives --------------------------------------------------

_SUBSTITUTES = [
    b"",
    b'"',
    b"\\",
    b"=",
    b"A",
    b"0",
    b" ",
    b"\t",
    b"\x0b",
    b"\x0c",
    b"\x00",
    b"{",
    b"}",
    b",",
    b":",
    b"\xff",
    b"\xc3",
    b"\xe4\xb8\xad",
    b"\\u0041",
]


def _boundary_positions(doc: bytes) -> Iterator[int]:
    """Byte positions in the punctuation and around every slice boundary of the fast path."""
    start, end = _b64_span(doc)
    key = doc.rindex(b'"ses_signature"')
    comma = doc.rindex(b",", 0, key)
    licence = doc.index(b'"licence"')
    marks = (0, licence, licence + 12, comma, key, start, end, len(doc))
    seen: set[int] = set()
    for mark in marks:
        for pos in range(max(0, mark - 12), min(len(doc), mark + 20)):
            if pos not in seen:
                seen.add(pos)
                yield pos


def test_every_change_near_the_boundaries_answers_as_the_full_parse(document: bytes) -> None:
    checked = 0
    for pos in _boundary_positions(document):
        for sub in _SUBSTITUTES:
            assert_same_as_full(document[:pos] + sub + document[pos + 1 :])  # replace or delete
            assert_same_as_full(document[:pos] + sub + document[pos:])  # insert
            checked += 2
    assert checked > 4000


@pytest.mark.parametrize(
    ("old", "new"),
    [
        (b'"ses_signature": "M', b'"ses_signature": "\\u004d'),  # an escaped base64 character
        (b'"ses_signature": "', b'"ses_signature": "AAAA'),
        (b'"ses_signature": "', b'"ses_signature": "===='),
        (b'"ses_signature": "', b'"ses_signature": "AA=='),  # padding moved inside
        (b'"ses_signature": "', b'"ses_signature": " '),
        (b'"format": "ezz/sealed/1"', b'"format": "ezz/sealed/2"'),
        (b'"format": "ezz/sealed/1"', b'"format": "ezz\\/sealed\\/1"'),  # the same value
        (b'"format": "ezz/sealed/1",', b""),
        (b'"format": "ezz/sealed/1",', b'"format": "ezz/sealed/1", "extra": 1,'),
        (b'"format": "ezz/sealed/1",', b'"format": "ezz/sealed/1", "format": "ezz/sealed/1",'),
        (b'"format": "ezz/sealed/1",', b'"format": "ezz/sealed/1", "ses_signature": "AAAA",'),
        (b'"format": "ezz/sealed/1",', b'"format": "ezz/sealed/1", "licence": {},'),
        (b'"licence": {', b'"licence": [{'),
        (b'"licence": {', b'"licence": {"x": 1, "x": 2, '),
        (b'"licence": {', b'"licence": {"x": "\\ud800", '),  # lone surrogate
        (b'"licence": {', b'"licence": {"x": "\\ud83d\\ude00", '),  # a valid pair
        (b'"licence": {', b'"licence": {"x": NaN, '),
        (b'"licence": {', b'"licence": {"x": "\\u0022ses_signature\\u0022", '),
        (b'"licence": {', b'"licence": {"x": "\\", \\"ses_signature\\": \\"", '),
        (b'"schema": "ezz/licence/1"', b'"schema": "ezz/licence/1\xff"'),  # not UTF-8
        (b'"schema": "ezz/licence/1"', b'"schema": "ezz/licence/1\xed\xa0\x80"'),  # surrogate
        (b"\xe5", b"\xe5\x80"),  # a broken Chinese character in the licence
    ],
)
def test_edits_answer_as_the_full_parse(document: bytes, old: bytes, new: bytes) -> None:
    assert old in document
    edited = document.replace(old, new, 1)
    assert_same_as_full(edited)
    try:  # and as text, where it is text at all (a lone surrogate passes into the str)
        text = edited.decode("utf-8", "surrogatepass")
    except UnicodeDecodeError:
        return
    assert_same_as_full(text)


def test_whole_document_variants_answer_as_the_full_parse(document: bytes) -> None:
    start, end = _b64_span(document)
    text = document[start:end]
    licence_part = document[document.index(b'"licence"') : document.rindex(b",", 0, start)]
    variants = [
        b"\xef\xbb\xbf" + document,  # byte order mark: accepted by both
        b"\xef\xbb\xbf\xef\xbb\xbf" + document,
        document + b"x",
        document + b"}",
        document.rstrip() + b",}",
        document + b"\x00",
        document.rstrip() + b"\xff",
        b"[" + document + b"]",
        b" \n" + document,
        b"\x0c" + document,
        document.replace(b"\n", b"\r\n"),
        document[:start] + text[:100] + b"\xff" + text[101:] + document[end:],
        document[:start] + text[:-4] + b"\xc3\xa9" + text[-2:] + document[end:],
        document[:start] + document[end:],  # empty signature
        document[:start] + b"AAAA" + document[end:],
        document[:start] + b"AAA=" + document[end:],
        document[:start] + b"AAB=" + document[end:],  # non-zero padding bits
        document[:start] + b"AA==" + document[end:],
        document[:start] + b"AB==" + document[end:],
        document[:start] + text + b"====" + document[end:],
        document[:start] + text + text + document[end:],
        # key order swapped: ses_signature first, then format last
        b'{"ses_signature": "' + text + b'", ' + licence_part + b', "format": "ezz/sealed/1"}',
        b'{"format": "ezz/sealed/1", "ses_signature": "' + text + b'", ' + licence_part + b"}",
        # duplicate ses_signature, the second one last
        document[:start] + text + b'", "ses_signature": "' + text + document[end:],
        document[: start - 1] + b"5" + document[end + 1 :],  # not a string
        document[: start - 1] + b"null" + document[end + 1 :],
    ]
    for variant in variants:
        assert_same_as_full(variant)


def test_oversize_documents_get_the_size_error(document: bytes) -> None:
    padding = b" " * (_MAX_SEALED_BYTES - len(document) + 1)
    for doc in (padding + document, document + padding):
        assert _parse_fast(doc) is None
        with pytest.raises(DecodeError, match="more than the limit"):
            parse_sealed_document(doc)
        assert _outcome(parse_sealed_document, doc.decode()) == _outcome(_parse_full, doc.decode())
    assert _parse_fast(padding[2:] + document) == _parse_full(document)  # exactly at the limit


def test_str_input_with_a_lone_surrogate(document: bytes) -> None:
    text = document.decode().replace('"schema"', '"sch\ud800ema"')
    assert _parse_fast(text) is None
    with pytest.raises(DecodeError, match="contains a lone surrogate"):
        parse_sealed_document(text)


def test_nesting_limit_is_the_same_on_both_paths(document: bytes) -> None:
    # ses_signature first keeps a document off the fast path; at every depth near the limit both
    # layouts, read through parse_sealed_document at the same stack depth, agree.
    start, end = _b64_span(document)
    text = document[start:end]

    def docs(depth: int) -> tuple[bytes, bytes]:
        nested = b"[" * depth + b"]" * depth
        licence = b'"licence": {"deep": ' + nested + b"}"
        fast = b'{"format": "ezz/sealed/1", ' + licence + b', "ses_signature": "' + text + b'"}'
        full = b'{"ses_signature": "' + text + b'", "format": "ezz/sealed/1", ' + licence + b"}"
        return fast, full

    def ok(doc: bytes) -> bool:
        try:
            parse_sealed_document(doc)
        except DecodeError as exc:
            assert "nested too deeply" in str(exc)
            return False
        return True

    low, high = 1, 5000  # ok(low) and not ok(high), on the full path
    assert ok(docs(low)[1])
    assert not ok(docs(high)[1])
    while high - low > 1:
        mid = (low + high) // 2
        low, high = (mid, high) if ok(docs(mid)[1]) else (low, mid)
    for depth in range(low - 2, low + 3):
        fast, full = docs(depth)
        assert _parse_fast(fast) is not None or depth > low
        assert ok(fast) == ok(full) == (depth <= low)


@settings(max_examples=300)
@given(data=st.data())
def test_random_edits_answer_as_the_full_parse(
    sealed: list[SealedLicence], data: st.DataObject
) -> None:
    doc = sealed[1].to_json(indent=data.draw(st.sampled_from([None, 2])))
    start, end = _b64_span(doc)
    around = st.sampled_from([0, start, end, len(doc), doc.index(b'"licence"')])
    pos = data.draw(around) + data.draw(st.integers(-40, 40))
    pos = min(max(pos, 0), len(doc))
    cut = data.draw(st.integers(0, 4))
    insert = data.draw(st.binary(max_size=4) | st.sampled_from([b'"', b"\\", b"=", b"}", b","]))
    assert_same_as_full(doc[:pos] + insert + doc[pos + cut :])


# -- the segment cache -------------------------------------------------------------------------


def _texts(sealed: list[SealedLicence]) -> list[bytes]:
    return [base64.b64encode(s.ses_signature) for s in sealed]


def _decode(cache: _SegmentCache, text: bytes) -> bytes | None:
    doc = b'"' + text + b'"'
    return cache.decode(doc, 1, len(doc) - 1)


def _strict(text: bytes) -> bytes | None:
    try:
        return binascii.a2b_base64(text, strict_mode=True)
    except binascii.Error:
        return None


def test_two_signatures_of_one_seal_teach_the_cache_the_seal(sealed: list[SealedLicence]) -> None:
    cache = _SegmentCache()
    first, second, third, fourth = _texts(sealed)
    assert _decode(cache, first) == sealed[0].ses_signature
    assert cache._segments == ()
    assert _decode(cache, first) == sealed[0].ses_signature  # the same text teaches nothing
    assert cache._segments == ()
    assert _decode(cache, second) == sealed[1].ses_signature
    (seg,) = cache._segments
    # The seal with its picture is most of the signature: it is what the licences share.
    assert seg.offset % 4 == 0 and len(seg.text) % 4 == 0 and b"=" not in seg.text
    assert len(seg.text) > len(third) // 2
    assert seg.decoded == binascii.a2b_base64(seg.text, strict_mode=True)
    assert third.startswith(seg.text, seg.offset) and fourth.startswith(seg.text, seg.offset)
    previous = cache._previous
    assert _decode(cache, third) == sealed[2].ses_signature
    assert _decode(cache, fourth) == sealed[3].ses_signature
    assert cache._previous is previous  # hits: decoded around the segment, not in full


@pytest.mark.parametrize("where", ["before", "first", "middle", "last", "after", "end"])
def test_texts_that_differ_around_the_segment_decode_as_a_strict_decode(
    sealed: list[SealedLicence], where: str
) -> None:
    cache = _SegmentCache()
    texts = _texts(sealed)
    _decode(cache, texts[0])
    _decode(cache, texts[1])
    (seg,) = cache._segments
    text = texts[2]
    pos = {
        "before": seg.offset - 1,
        "first": seg.offset,
        "middle": seg.offset + len(seg.text) // 2,
        "last": seg.offset + len(seg.text) - 1,
        "after": seg.offset + len(seg.text),
        "end": len(text) - 5,
    }[where]
    for char in b'AQgw+/9="\\ \n\xff':
        for edited in (
            text[:pos] + bytes([char]) + text[pos + 1 :],
            text[:pos] + bytes([char]) + text[pos:],
            text[:pos] + text[pos + 1 :],
        ):
            assert _decode(cache, edited) == _strict(edited), (where, chr(char))


def test_padding_tricks_around_a_segment_are_rejected(sealed: list[SealedLicence]) -> None:
    cache = _SegmentCache()
    texts = _texts(sealed)
    _decode(cache, texts[0])
    _decode(cache, texts[1])
    (seg,) = cache._segments
    assert seg.offset == 8  # the outer DER headers: two groups before the seal
    text = texts[2]
    run_end = seg.offset + len(seg.text)
    tricks = [
        b"AAAAAA==" + text[8:],  # the part before pads: three bytes short
        b"AAAAAAA=" + text[8:],
        b"AAAA====" + text[8:],
        b"=AAAAAAA" + text[8:],
        text[:run_end] + b"=" + text[run_end + 1 :],
        text[:run_end] + b"====" + text[run_end:],
        text[:run_end] + b"AA==" + text[run_end:],
        text[:run_end] + b"AAA=" + text[run_end:],
        text[:run_end],  # nothing after the segment: whole groups, a valid text
        text[: run_end + 1],
        text[8:],  # the run shifted: no hit, a plain decode
    ]
    for trick in tricks:
        assert _decode(cache, trick) == _strict(trick)
    assert _strict(tricks[-3]) is not None


def test_a_hit_uses_the_cached_bytes(sealed: list[SealedLicence]) -> None:
    # A segment with its bytes altered shows the hit path joins the cached bytes in place.
    text = _texts(sealed)[0]
    der = sealed[0].ses_signature
    cache = _SegmentCache()
    cache._segments = (_Segment(8, text[8:4008], b"\x00" * 3000),)
    assert _decode(cache, text) == der[:6] + b"\x00" * 3000 + der[3006:]


def _synthetic(seal: bytes, n: int) -> bytes:
    """A signature-like text: a varying header, a shared seal, a varying tail."""
    return base64.b64encode(os.urandom(4) + seal + os.urandom(40 + n))


def test_the_cache_is_bounded_and_learns_only_long_runs() -> None:
    cache = _SegmentCache(size=4, min_run=512)
    for _ in range(10):  # ten seals, two signatures each
        seal = os.urandom(2000)
        for n in range(2):
            text = _synthetic(seal, n)
            assert _decode(cache, text) == _strict(text)
    assert len(cache._segments) == 4
    for seg in cache._segments:
        assert seg.offset % 4 == 0 and len(seg.text) >= 512 and b"=" not in seg.text
        assert seg.decoded == binascii.a2b_base64(seg.text, strict_mode=True)
    short = os.urandom(300)  # shares under 512 characters: nothing learned
    before = cache._segments
    for n in range(3):
        _decode(cache, _synthetic(short, n))
    assert cache._segments == before


def test_the_cache_is_safe_to_share_between_threads(sealed: list[SealedLicence]) -> None:
    cache = _SegmentCache()
    texts = _texts(sealed) + [_synthetic(os.urandom(1500), n) for n in range(4)]
    wrong: list[bytes] = []

    def work() -> None:
        for _ in range(50):
            for text in texts:
                if _decode(cache, text) != _strict(text):
                    wrong.append(text)

    threads = [threading.Thread(target=work) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert wrong == []
    assert cache._segments
