"""Status lists (IETF Token Status List): packing, compression, CBOR form, signed CWT tokens."""

from __future__ import annotations

import contextlib
import dataclasses
import random
import tracemalloc
from datetime import UTC, datetime, timedelta
from functools import cache

import cbor2
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ezhengzhao import codes
from ezhengzhao.errors import (
    AlgorithmMismatchError,
    InputError,
    InvalidSignatureError,
    PayloadError,
)
from ezhengzhao.formats import cbor, cose, qrtext
from ezhengzhao.sign.keys import PrivateKey, generate_private_key
from ezhengzhao.sign.suites import ECDSA_P256_SHA256, ED25519, SM2_SM3, signature_to_raw
from ezhengzhao.sign.x509 import Certificate, Name, build_certificate
from ezhengzhao.status import (
    CWT_STATUS_LIST,
    CWT_TTL,
    DEFAULT_MAX_SIZE,
    HDR_TYP,
    INVALID,
    STATUS_LIST_CWT_TYPE,
    SUSPENDED,
    VALID,
    StatusList,
    read_status_list_token,
    sign_status_list,
    speaks_for,
    status_claim,
    verify_status_list_token,
)

T0 = datetime(2026, 6, 1, 8, 0, 0, tzinfo=UTC)
URI = "https://zz.example.gov.cn/status/1"
ALL_BITS = (1, 2, 4, 8)


def _reference_packing(statuses: list[int], bits: int) -> bytes:
    """LSB-first packing computed another way: entry i is bits i*bits… of one little integer."""
    number = sum(status << (i * bits) for i, status in enumerate(statuses))
    return number.to_bytes((len(statuses) * bits + 7) // 8, "little")


def _from_statuses(statuses: list[int], bits: int) -> StatusList:
    builder = StatusList.new(len(statuses), bits).builder()
    for idx, status in enumerate(statuses):
        builder.set(idx, status)
    return builder.build()


# -- packing ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("bits", "statuses", "packed"),
    [
        # draft §4.1 example: 1 0 0 1 1 1 0 1 | 1 1 0 0 0 1 0 1 → 0xB9 0xA3
        (1, [1, 0, 0, 1, 1, 1, 0, 1, 1, 1, 0, 0, 0, 1, 0, 1], b"\xb9\xa3"),
        # 1 | 2<<2 | 0<<4 | 3<<6 = 0xC9;  3 | 0<<2 | 2<<4 | 1<<6 = 0x63;  1
        (2, [1, 2, 0, 3, 3, 0, 2, 1, 1], b"\xc9\x63\x01"),
        # 0x1 | 0xA<<4 = 0xA1;  0xF
        (4, [1, 10, 15], b"\xa1\x0f"),
        (8, [5, 200, 255, 0], b"\x05\xc8\xff\x00"),
    ],
)
def test_packing_is_lsb_first_as_computed_by_hand(
    bits: int, statuses: list[int], packed: bytes
) -> None:
    status_list = _from_statuses(statuses, bits)
    assert status_list.to_bytes() == packed
    for idx, status in enumerate(statuses):
        assert status_list.get(idx) == status
        # Bit by bit: bit k of the status is bit (idx*bits + k) of the array, LSB first.
        for k in range(bits):
            position = idx * bits + k
            assert (packed[position // 8] >> (position % 8)) & 1 == (status >> k) & 1


@pytest.mark.parametrize("bits", ALL_BITS)
def test_every_bit_lands_where_the_draft_says(bits: int) -> None:
    size = 64 // bits
    for idx in range(size):
        single = StatusList.new(size, bits).set(idx, 1)
        position = idx * bits
        expected = bytearray(8)
        expected[position // 8] = 1 << (position % 8)
        assert single.to_bytes() == bytes(expected)


@settings(max_examples=200, deadline=None)
@given(
    st.sampled_from(ALL_BITS).flatmap(
        lambda bits: st.tuples(
            st.just(bits), st.lists(st.integers(0, (1 << bits) - 1), min_size=1, max_size=300)
        )
    )
)
def test_set_get_round_trip_matches_the_reference_packing(case: tuple[int, list[int]]) -> None:
    bits, statuses = case
    status_list = _from_statuses(statuses, bits)
    assert status_list.to_bytes() == _reference_packing(statuses, bits)
    assert [status_list.get(i) for i in range(len(statuses))] == statuses
    assert status_list.unpacked() == bytes(statuses)
    again = StatusList.decode(status_list.encode_lst(), bits)
    assert again.to_bytes() == status_list.to_bytes()
    assert [again.get(i) for i in range(len(statuses))] == statuses


@settings(max_examples=100, deadline=None)
@given(
    st.sampled_from(ALL_BITS),
    st.lists(st.tuples(st.integers(0, 99), st.integers(0, 255)), max_size=50),
)
def test_set_overwrites_only_its_own_entry(bits: int, updates: list[tuple[int, int]]) -> None:
    expected = [VALID] * 100
    status_list = StatusList.new(100, bits)
    for idx, status in updates:
        status &= (1 << bits) - 1
        status_list = status_list.set(idx, status)
        expected[idx] = status
    assert [status_list.get(i) for i in range(100)] == expected


def test_set_returns_a_new_list_and_leaves_the_old_one() -> None:
    original = StatusList.new(10)
    revoked = original.set(3, INVALID).set(4, SUSPENDED)
    assert original.get(3) == VALID and original.get(4) == VALID
    assert (revoked.get(3), revoked.get(4)) == (INVALID, SUSPENDED)
    assert revoked != original
    with pytest.raises(dataclasses.FrozenInstanceError):
        revoked.bits = 1  # type: ignore[misc]


def test_the_builder_updates_in_place_and_builds_copies() -> None:
    builder = StatusList.new(16, 2).builder()
    first = builder.set(0, INVALID).set(15, SUSPENDED).build()
    builder.set(0, VALID)
    assert builder.get(0) == VALID and builder.get(15) == SUSPENDED
    assert first.get(0) == INVALID  # the built list does not share the builder's bytes


def test_status_constants() -> None:
    assert (VALID, INVALID, SUSPENDED) == (0, 1, 2)


@pytest.mark.parametrize("bits", [0, 3, 16, -1, True, 2.0, "2"])
def test_bits_must_be_1_2_4_or_8(bits: object) -> None:
    with pytest.raises(InputError):
        StatusList.new(8, bits)  # type: ignore[arg-type]
    with pytest.raises(InputError):
        StatusList.decode(qrtext.compress(b"\0"), bits)  # type: ignore[arg-type]


@pytest.mark.parametrize("size", [0, -1, True, 1.5])
def test_size_must_be_positive(size: object) -> None:
    with pytest.raises(InputError):
        StatusList.new(size)  # type: ignore[arg-type]


@pytest.mark.parametrize("idx", [-1, 10, 1 << 40, True, 1.0, None])
def test_an_index_outside_the_list_is_refused(idx: object) -> None:
    status_list = StatusList.new(10)
    with pytest.raises(InputError):
        status_list.get(idx)  # type: ignore[arg-type]
    with pytest.raises(InputError):
        status_list.set(idx, INVALID)  # type: ignore[arg-type]
    with pytest.raises(ValueError):  # InputError is a ValueError too
        status_list.builder().get(idx)  # type: ignore[arg-type]


@pytest.mark.parametrize(("bits", "status"), [(1, 2), (2, 4), (4, 16), (8, 256), (2, -1)])
def test_a_status_that_does_not_fit_is_refused(bits: int, status: int) -> None:
    with pytest.raises(InputError):
        StatusList.new(8, bits).set(0, status)


def test_the_constructor_checks_the_byte_length() -> None:
    with pytest.raises(InputError):
        StatusList(2, 5, b"\0")
    assert StatusList(2, 5, b"\0\0").size == 5


def test_a_decoded_list_holds_whole_bytes_of_entries() -> None:
    status_list = StatusList.new(5, 2).set(4, SUSPENDED)
    decoded = StatusList.decode(status_list.encode_lst(), 2)
    assert decoded.size == 8  # the wire form records no size: 2 bytes hold 8 entries
    assert decoded.to_bytes() == status_list.to_bytes()
    assert [decoded.get(i) for i in range(8)] == [0, 0, 0, 0, 2, 0, 0, 0]
    assert decoded.unpacked() == bytes([0, 0, 0, 0, 2, 0, 0, 0])
    assert status_list.unpacked() == bytes([0, 0, 0, 0, 2])


def test_cbor_map_form() -> None:
    status_list = _from_statuses([1, 2, 0, 3], 2)
    value = status_list.to_cbor_map()
    assert set(value) == {"bits", "lst"} and value["bits"] == 2
    assert qrtext.decompress(value["lst"]) == b"\xc9"  # type: ignore[arg-type]
    assert StatusList.from_cbor_map(cbor.loads_strict(cbor.dumps(value))) == status_list
    with_aggregation = {**value, "aggregation_uri": "https://zz.example.gov.cn/status"}
    assert StatusList.from_cbor_map(with_aggregation) == status_list


@pytest.mark.parametrize(
    "value",
    [
        None,
        [],
        b"\xc9",
        {"bits": 2},
        {"lst": qrtext.compress(b"\0")},
        {"bits": 3, "lst": qrtext.compress(b"\0")},
        {"bits": True, "lst": qrtext.compress(b"\0")},
        {"bits": 1.0, "lst": qrtext.compress(b"\0")},
        {"bits": 2, "lst": "eJwDAAAAAAE="},
        {"bits": 2, "lst": qrtext.compress(b"\0"), "extra": 1},
        {"bits": 2, "lst": qrtext.compress(b"\0"), "aggregation_uri": 7},
        {"bits": 2, "lst": qrtext.compress(b"")},
    ],
)
def test_a_malformed_cbor_map_is_a_claims_error(value: object) -> None:
    with pytest.raises(PayloadError) as info:
        StatusList.from_cbor_map(value)
    assert info.value.stage == "claims"


@pytest.mark.parametrize(
    "lst",
    [
        b"",
        b"not zlib",
        qrtext.compress(b"\0" * 10)[:-2],  # truncated
        qrtext.compress(b"\0" * 10) + b"\0",  # trailing bytes
    ],
)
def test_a_bad_zlib_stream_is_a_zlib_error(lst: bytes) -> None:
    with pytest.raises(PayloadError) as info:
        StatusList.decode(lst, 1)
    assert info.value.stage == "zlib"


def test_a_zlib_bomb_is_refused_before_it_is_inflated() -> None:
    bomb = qrtext.compress(bytes(DEFAULT_MAX_SIZE + 1))
    assert len(bomb) < 20_000  # 16 MiB of zeros in ~16 KiB
    tracemalloc.start()
    try:
        with pytest.raises(PayloadError) as info:
            StatusList.decode(bomb, 1)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert info.value.stage == "zlib"
    assert peak < 2 * DEFAULT_MAX_SIZE + (1 << 20)  # inflation stopped at the limit
    with pytest.raises(PayloadError):
        StatusList.decode(qrtext.compress(bytes(2048)), 1, max_size=1024)
    assert StatusList.decode(qrtext.compress(bytes(1024)), 1, max_size=1024).size == 8192


# -- large lists --------------------------------------------------------------------------------


@pytest.mark.parametrize("size", [131_072, 1_048_576])
@pytest.mark.parametrize("bits", ALL_BITS)
def test_large_lists_round_trip_in_bounded_memory(size: int, bits: int) -> None:
    rng = random.Random(size * bits)
    builder = StatusList.new(size, bits).builder()
    changed = {rng.randrange(size): rng.randrange(1, 1 << bits) for _ in range(1000)}
    for idx, status in changed.items():
        builder.set(idx, status)
    status_list = builder.build()

    tracemalloc.start()
    decoded = StatusList.decode(status_list.encode_lst(), bits)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()

    assert decoded == status_list
    assert all(decoded.get(idx) == status for idx, status in changed.items())
    assert peak < 4 * len(status_list.to_bytes()) + (1 << 20)


def test_bulk_lookups_agree_with_get_on_a_million_entries() -> None:
    """``unpacked()`` (the bulk path) and ``get`` give the same status for every index."""
    size = 1 << 20
    rng = random.Random(7)
    builder = StatusList.new(size, 2).builder()
    for _ in range(10_000):
        builder.set(rng.randrange(size), rng.randrange(4))
    status_list = builder.build()
    indices = [rng.randrange(size) for _ in range(200_000)]
    statuses = status_list.unpacked()
    assert [status_list.get(idx) for idx in indices] == [statuses[idx] for idx in indices]


# -- signed status list tokens ------------------------------------------------------------------


@cache
def _key(suite_id: str) -> PrivateKey:
    return generate_private_key(suite_id)


@cache
def _certificate(suite_id: str) -> Certificate:
    key = _key(suite_id)
    name = Name(common_name="上海市电子证照状态列表", organization="上海市大数据中心")
    return build_certificate(
        subject=name,
        subject_key=key.public_key,
        issuer=name,
        issuer_signer=key,
        not_before=T0 - timedelta(days=1),
        not_after=T0 + timedelta(days=365),
    )


def _sample_list() -> StatusList:
    return StatusList.new(1000, 2).set(3, INVALID).set(999, SUSPENDED)


def _token(suite_id: str = SM2_SM3, **kwargs: object) -> bytes:
    arguments: dict[str, object] = {
        "uri": URI,
        "signer": _key(suite_id),
        "certificate": _certificate(suite_id),
        "issued_at": T0,
        "ttl": timedelta(hours=12),
        "expires_at": T0 + timedelta(days=1),
    }
    arguments.update(kwargs)
    return sign_status_list(_sample_list(), **arguments)  # type: ignore[arg-type]


def _resign(header: dict[int | str, object], claims: object, suite_id: str = SM2_SM3) -> bytes:
    """A COSE_Sign1 with any protected header and claims, properly signed."""
    protected = cbor.dumps(header)
    payload = cbor.dumps(claims)
    unsigned = cose.CoseSign1(protected, header, {}, payload, b"")
    signature = signature_to_raw(_key(suite_id).sign(unsigned.sig_structure()), suite_id)
    return dataclasses.replace(unsigned, signature=signature).encode()


def _header(suite_id: str = SM2_SM3, typ: object = STATUS_LIST_CWT_TYPE) -> dict[int | str, object]:
    return {
        cose.HDR_ALG: cose.alg_for_suite(suite_id),
        cose.HDR_KID: _certificate(suite_id).kid,
        HDR_TYP: typ,
    }


def _claims() -> dict[int, object]:
    return cbor.loads_strict(read_status_list_token(_token()).message.payload)  # type: ignore[return-value]


@pytest.mark.parametrize("suite_id", [SM2_SM3, ECDSA_P256_SHA256, ED25519])
def test_a_signed_token_round_trips(suite_id: str) -> None:
    data = _token(suite_id)
    token = read_status_list_token(data)
    verify_status_list_token(token, _key(suite_id).public_key)
    assert token.uri == URI
    assert token.issued_at == T0
    assert token.expires_at == T0 + timedelta(days=1)
    assert token.ttl == timedelta(hours=12)
    assert token.status_list == _sample_list()
    assert token.status_list.get(3) == INVALID and token.status_list.get(999) == SUSPENDED
    assert dict(token.message.protected_header) == {
        1: cose.alg_for_suite(suite_id),
        4: _certificate(suite_id).kid,
        16: "application/statuslist+cwt",
    }
    assert token.message.kid == _certificate(suite_id).kid
    assert data[:1] == b"\xd2"  # tag 18
    claims = cbor.loads_strict(token.message.payload)
    assert isinstance(claims, dict)
    assert set(claims) == {2, 4, 6, 65533, 65534}
    assert claims[CWT_TTL] == 43_200 and claims[6] == int(T0.timestamp())


def test_exp_is_optional_and_times_are_whole_seconds() -> None:
    token = read_status_list_token(
        _token(issued_at=T0 + timedelta(microseconds=999_999), expires_at=None)
    )
    assert token.expires_at is None
    assert token.issued_at == T0
    assert 4 not in cbor.loads_strict(token.message.payload)  # type: ignore[operator]


def test_a_cwt_tag_around_the_message_is_accepted() -> None:
    data = _token()
    wrapped = cbor2.dumps(cbor2.CBORTag(61, cbor2.loads(data)))
    token = read_status_list_token(wrapped)
    verify_status_list_token(token, _key(SM2_SM3).public_key)


def test_a_tampered_token_fails_verification() -> None:
    token = read_status_list_token(_token())
    # Revoke entry 5 behind the signer's back: a well-formed payload, the old signature.
    claims = _claims()
    claims[CWT_STATUS_LIST] = _sample_list().set(5, INVALID).to_cbor_map()
    forged = dataclasses.replace(token.message, payload=cbor.dumps(claims)).encode()
    forged_token = read_status_list_token(forged)
    assert forged_token.status_list.get(5) == INVALID
    with pytest.raises(InvalidSignatureError):
        verify_status_list_token(forged_token, _key(SM2_SM3).public_key)

    signature = bytearray(token.message.signature)
    signature[-1] ^= 1
    flipped = dataclasses.replace(token.message, signature=bytes(signature)).encode()
    with pytest.raises(InvalidSignatureError):
        verify_status_list_token(read_status_list_token(flipped), _key(SM2_SM3).public_key)


def test_another_key_does_not_verify() -> None:
    token = read_status_list_token(_token(SM2_SM3))
    with pytest.raises(InvalidSignatureError):
        verify_status_list_token(token, generate_private_key(SM2_SM3).public_key)
    with pytest.raises(AlgorithmMismatchError):
        verify_status_list_token(token, _key(ECDSA_P256_SHA256).public_key)


@pytest.mark.parametrize(
    "typ", [None, "application/statuslist+jwt", "statuslist+cwt", 279, b"application/x"]
)
def test_a_wrong_typ_is_a_claims_error(typ: object) -> None:
    header = _header()
    if typ is None:
        del header[HDR_TYP]
    else:
        header[HDR_TYP] = typ
    with pytest.raises(PayloadError) as info:
        read_status_list_token(_resign(header, _claims()))
    assert info.value.stage == "claims"


def test_a_typ_in_the_unprotected_header_does_not_count() -> None:
    token = read_status_list_token(_token())
    header = dict(token.message.protected_header)
    del header[HDR_TYP]
    data = _resign(header, _claims())
    message = cose.decode_sign1(data)
    moved = dataclasses.replace(message, unprotected_header={HDR_TYP: STATUS_LIST_CWT_TYPE})
    with pytest.raises(PayloadError) as info:
        read_status_list_token(moved.encode())
    assert info.value.stage == "claims"


@pytest.mark.parametrize(
    ("key", "value"),
    [
        (2, None),
        (2, ""),
        (2, b"https://x"),
        (6, None),
        (6, 1.5e9),
        (6, -1),
        (6, "2026-06-01"),
        (4, 1.5e9),
        (4, True),
        (CWT_TTL, 0),
        (CWT_TTL, -5),
        (CWT_TTL, 3600.0),
        (CWT_STATUS_LIST, None),
        (CWT_STATUS_LIST, {"bits": 2}),
        (CWT_STATUS_LIST, b"\xc9"),
    ],
)
def test_missing_or_mistyped_claims_are_claims_errors(key: int, value: object) -> None:
    claims = _claims()
    if value is None:
        del claims[key]
    else:
        claims[key] = value
    with pytest.raises(PayloadError) as info:
        read_status_list_token(_resign(_header(), claims))
    assert info.value.stage == "claims"


def test_ttl_may_be_absent_when_read() -> None:
    claims = _claims()
    del claims[CWT_TTL]
    assert read_status_list_token(_resign(_header(), claims)).ttl is None


def test_claims_that_are_not_a_map_are_a_claims_error() -> None:
    with pytest.raises(PayloadError) as info:
        read_status_list_token(_resign(_header(), [1, 2]))
    assert info.value.stage == "claims"


def test_an_envelope_that_is_not_cose_names_its_stage() -> None:
    with pytest.raises(PayloadError) as info:
        read_status_list_token(cbor2.dumps(_claims()))
    assert info.value.stage == "cose"
    with pytest.raises(PayloadError) as info:
        read_status_list_token(b"")
    assert info.value.stage == "cbor"


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=200))
def test_random_bytes_are_only_ever_payload_errors(data: bytes) -> None:
    with pytest.raises(PayloadError):
        read_status_list_token(data)


@settings(max_examples=300, deadline=None)
@given(st.data())
def test_mutated_tokens_decode_or_raise_payload_errors(data: st.DataObject) -> None:
    token = bytearray(_token())
    for _ in range(data.draw(st.integers(1, 4))):
        position = data.draw(st.integers(0, len(token) - 1))
        token[position] = data.draw(st.integers(0, 255))
    with contextlib.suppress(PayloadError):  # anything else escaping is the failure
        read_status_list_token(bytes(token))


@pytest.mark.parametrize(
    "kwargs",
    [
        {"uri": ""},
        {"uri": " https://x "},
        {"uri": 7},
        {"issued_at": datetime(2026, 6, 1, 8)},  # naive
        {"expires_at": datetime(2026, 6, 2, 8)},  # naive
        {"expires_at": T0},
        {"ttl": timedelta(0)},
        {"ttl": timedelta(seconds=-1)},
        {"ttl": timedelta(seconds=1.5)},
        {"ttl": 3600},
        {"certificate": _certificate(ECDSA_P256_SHA256)},  # not the signer's
    ],
)
def test_bad_signing_arguments_are_input_errors(kwargs: dict[str, object]) -> None:
    with pytest.raises(InputError):
        _token(SM2_SM3, **kwargs)


def test_signing_needs_a_status_list() -> None:
    with pytest.raises(InputError):
        sign_status_list(
            b"\0",  # type: ignore[arg-type]
            uri=URI,
            signer=_key(SM2_SM3),
            certificate=_certificate(SM2_SM3),
            issued_at=T0,
            ttl=timedelta(hours=1),
        )


# -- the licence-side reference -----------------------------------------------------------------


def test_status_claim() -> None:
    assert status_claim(URI, 42) == {"status_list": {"idx": 42, "uri": URI}}
    assert cbor.loads_strict(cbor.dumps({cose.CWT_STATUS: status_claim(URI, 0)})) == {
        65535: {"status_list": {"idx": 0, "uri": URI}}
    }


@pytest.mark.parametrize(("uri", "idx"), [(URI, -1), (URI, True), (URI, 1.0), ("", 1), (None, 1)])
def test_status_claim_refuses_bad_arguments(uri: object, idx: object) -> None:
    with pytest.raises(InputError):
        status_claim(uri, idx)  # type: ignore[arg-type]


# -- who may speak for a licence: speaks_for -------------------------------------------------


def _signer_named(uscc: str | None) -> Certificate:
    key = _key(ED25519)
    name = Name(common_name="状态列表签发", organization="某机关", serial_number=uscc)
    return build_certificate(
        subject=name,
        subject_key=key.public_key,
        issuer=name,
        issuer_signer=key,
        not_before=T0 - timedelta(days=1),
        not_after=T0 + timedelta(days=365),
    )


PUDONG = "11310115002470110L"  # 上海市浦东新区 (310115)
SHANGHAI = "11310000002470129L"  # 上海市 (310000)
HEFEI = "11340100003050249A"  # 合肥市 (340100)
NATIONAL = codes.make_uscc("11100000" + "000012341")  # a central authority (region 100000)


@pytest.mark.parametrize(
    ("signer", "issuer", "speaks"),
    [
        (PUDONG, PUDONG, True),  # the issuer itself
        (SHANGHAI, PUDONG, True),  # an authority of the same province
        (PUDONG, SHANGHAI, True),
        (HEFEI, PUDONG, False),  # another province
        (PUDONG, HEFEI, False),
        (NATIONAL, NATIONAL, True),  # a central authority for its own licences
        (NATIONAL, PUDONG, False),  # and for no province's
        (PUDONG, NATIONAL, False),
        (None, PUDONG, False),  # a signer naming no USCC speaks for no one
        ("not a uscc", PUDONG, False),
        (PUDONG, "not a uscc", False),
    ],
)
def test_speaks_for(signer: str | None, issuer: str, speaks: bool) -> None:
    for code in (PUDONG, SHANGHAI, HEFEI, NATIONAL):
        assert codes.is_valid_uscc(code), code
    assert speaks_for(_signer_named(signer), issuer) is speaks
