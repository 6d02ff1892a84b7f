"""Signed trust lists (信任列表): build, sign, read, load, refuse, and feed a Verifier."""

from __future__ import annotations

import contextlib
import dataclasses
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from functools import cache
from pathlib import Path

import cbor2
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ezhengzhao import codes
from ezhengzhao.catalogue import Catalogue
from ezhengzhao.demo import DemoDomain
from ezhengzhao.errors import ConfigurationError, PayloadError
from ezhengzhao.formats import cbor, cose
from ezhengzhao.sign.keys import PrivateKey, generate_private_key
from ezhengzhao.sign.suites import ECDSA_P256_SHA256, ED25519, SM2_SM3
from ezhengzhao.sign.x509 import Certificate, Name, build_certificate
from ezhengzhao.trust.lists import (
    NATIONAL_REGION,
    REASON_CODES,
    TRUST_LIST_FORMAT,
    TrustList,
    TrustListEntry,
    TrustListError,
    TrustListLoader,
    build_trust_list,
    read_trust_list,
    sign_trust_list,
)
from ezhengzhao.trust.store import TrustStore
from ezhengzhao.verify import Verifier

T0 = datetime(2026, 6, 1, 8, 0, 0, tzinfo=UTC)
ANCHOR_CN = "国家电子证照信任服务"
TYPE_CODE = codes.make_uscc("11100000000013127") + "001"
OTHER_TYPE = codes.make_uscc("11100000000013127") + "002"


class FakeClock:
    """A clock the test moves by hand."""

    def __init__(self, now: datetime = T0) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


def _anchor(suite: str = SM2_SM3, cn: str = ANCHOR_CN) -> tuple[PrivateKey, Certificate]:
    return _make_anchor(suite, cn)  # one key per (suite, cn), however the call is spelled


@cache
def _make_anchor(suite: str, cn: str) -> tuple[PrivateKey, Certificate]:
    key = generate_private_key(suite)
    name = Name(common_name=cn, organization=cn)
    cert = build_certificate(
        subject=name,
        subject_key=key.public_key,
        issuer=name,
        issuer_signer=key,
        not_before=T0 - timedelta(days=30),
        not_after=T0 + timedelta(days=3650),
        is_ca=True,
        key_usage=("digitalSignature", "keyCertSign"),
    )
    return key, cert


def _root() -> tuple[PrivateKey, Certificate]:
    return _anchor(SM2_SM3, "上海市电子证照根CA")


@cache
def _signer_cert(n: int) -> Certificate:
    root_key, root = _root()
    key = generate_private_key(SM2_SM3)
    return build_certificate(
        subject=Name(common_name=f"签发机构{n}", serial_number=_uscc(n)),
        subject_key=key.public_key,
        issuer=root.subject,
        issuer_signer=root_key,
        not_before=T0 - timedelta(days=1),
        not_after=T0 + timedelta(days=365),
        key_usage=("digitalSignature",),
        issuer_key_id=root.subject_key_id,
    )


def _uscc(n: int) -> str:
    return codes.make_uscc(f"11310115{n:09d}")


def _entry(n: int, **changes: object) -> TrustListEntry:
    values: dict[str, object] = {
        "uscc": _uscc(n),
        "name": f"上海市浦东新区第{n}局",
        "region": "310115",
        "level": "区县级",
        "certificates": (_signer_cert(n % 4),),
        "licence_types": (TYPE_CODE,),
        "valid_from": T0 - timedelta(days=1),
        "valid_until": T0 + timedelta(days=365),
    }
    values.update(changes)
    return TrustListEntry(**values)  # type: ignore[arg-type]


def _list(
    sequence: int = 1,
    *,
    entries: Iterable[TrustListEntry] | None = None,
    issuer: str = ANCHOR_CN,
    region: str = "310000",
    issued_at: datetime = T0,
    next_update: datetime = T0 + timedelta(days=1),
) -> TrustList:
    return build_trust_list(
        issuer=issuer,
        region=region,
        sequence=sequence,
        issued_at=issued_at,
        next_update=next_update,
        entries=[_entry(1), _entry(2)] if entries is None else entries,
        roots=[_root()[1]],
    )


def _signed(trust_list: TrustList, suite: str = SM2_SM3) -> bytes:
    key, cert = _anchor(suite)
    return sign_trust_list(trust_list, signer=key, certificate=cert)


def _loader(suite: str = SM2_SM3, clock: FakeClock | None = None, **kw: object) -> TrustListLoader:
    return TrustListLoader(anchors=[_anchor(suite)[1]], clock=clock or FakeClock(), **kw)  # type: ignore[arg-type]


def _resign(payload: object, suite: str = SM2_SM3) -> bytes:
    """Sign any payload map as a trust list, bypassing the builder's checks."""
    key, cert = _anchor(suite)
    return cose.sign1(
        cbor.dumps(payload), alg=cose.alg_for_suite(suite), kid=cert.kid, sign=key.sign
    ).encode()


def _reason(exc: pytest.ExceptionInfo[TrustListError]) -> str:
    return exc.value.reason


# -- round trip ---------------------------------------------------------------------------------


@pytest.mark.parametrize("suite", [SM2_SM3, ECDSA_P256_SHA256, ED25519])
def test_round_trip(suite: str) -> None:
    original = _list()
    data = _signed(original, suite)
    read, message = read_trust_list(data)
    assert read == original
    assert message.alg == cose.alg_for_suite(suite)
    assert dict(message.protected_header) == {
        cose.HDR_ALG: cose.alg_for_suite(suite),
        cose.HDR_KID: _anchor(suite)[1].kid,
    }
    assert data[:1] == b"\xd2"  # tag 18
    payload = cbor2.loads(message.payload)
    assert payload["format"] == TRUST_LIST_FORMAT
    assert payload["entries"][0]["kids"] == [_signer_cert(1).kid]

    loader = _loader(suite)
    loaded = loader.load(data)
    assert loaded == original
    assert loader.current() == (original,)
    entry = loaded.entry_for(_uscc(2))
    assert entry is not None and entry.name == "上海市浦东新区第2局"
    assert loaded.entry_for(_uscc(3)) is None
    assert loaded.certificates_by_kid()[_signer_cert(1).kid] == (_signer_cert(1),)


def test_times_are_whole_seconds_in_utc() -> None:
    local = datetime(2026, 6, 1, 16, 0, 0, 700_000, tzinfo=UTC).astimezone(
        datetime.now().astimezone().tzinfo
    )
    built = _list(issued_at=local, next_update=local + timedelta(days=1))
    assert built.issued_at == datetime(2026, 6, 1, 16, 0, 0, tzinfo=UTC)
    assert built.issued_at.tzinfo is UTC
    assert read_trust_list(_signed(built))[0] == built


def test_kids_are_computed_or_checked() -> None:
    assert _entry(1).kids == (_signer_cert(1).kid,)
    assert _entry(1, kids=(_signer_cert(1).kid,)) == _entry(1)
    with pytest.raises(ConfigurationError, match="kids"):
        _entry(1, kids=(_signer_cert(2).kid,))


# -- anchors and signatures ---------------------------------------------------------------------


def test_wrong_anchor_is_untrusted() -> None:
    data = _signed(_list(), SM2_SM3)
    with pytest.raises(TrustListError) as info:
        _loader(ECDSA_P256_SHA256).load(data)
    assert _reason(info) == "trust_list_untrusted_anchor"


def test_anchor_with_the_same_kid_is_tried_in_turn() -> None:
    # A second anchor whose kid is made to collide: the loader must try both.
    real = _anchor(SM2_SM3)[1]
    decoy = _anchor(ECDSA_P256_SHA256)[1]
    loader = TrustListLoader(anchors=[decoy, real], clock=FakeClock())
    loader._anchors[real.kid] = (decoy, real)
    assert loader.load(_signed(_list())).sequence == 1


def test_issuer_must_name_the_signing_anchor() -> None:
    payload = _list().to_cbor_map() | {"issuer": "上海市信任服务"}
    with pytest.raises(TrustListError) as info:
        _loader().load(_resign(payload))
    assert _reason(info) == "trust_list_untrusted_anchor"
    key, cert = _anchor()
    with pytest.raises(ConfigurationError, match="CN"):
        sign_trust_list(_list(issuer="上海市信任服务"), signer=key, certificate=cert)


def test_anchor_not_valid_now_is_untrusted() -> None:
    clock = FakeClock(T0 + timedelta(days=3651))
    data = _signed(_list(issued_at=clock.now, next_update=clock.now + timedelta(days=1)))
    with pytest.raises(TrustListError) as info:
        _loader(clock=clock).load(data)
    assert _reason(info) == "trust_list_untrusted_anchor"


def test_signer_must_match_the_certificate() -> None:
    key, _ = _anchor(SM2_SM3)
    _, other = _anchor(ECDSA_P256_SHA256)
    with pytest.raises(ConfigurationError, match="key"):
        sign_trust_list(_list(), signer=key, certificate=other)


def test_tampered_payload_is_signature_invalid() -> None:
    message = cose.decode_sign1(_signed(_list()))
    payload = cbor2.loads(message.payload)
    payload["sequence"] = 99
    forged = dataclasses.replace(message, payload=cbor.dumps(payload)).encode()
    with pytest.raises(TrustListError) as info:
        _loader().load(forged)
    assert _reason(info) == "trust_list_signature_invalid"


def test_tampered_signature_is_signature_invalid() -> None:
    message = cose.decode_sign1(_signed(_list()))
    signature = bytes([message.signature[0] ^ 1]) + message.signature[1:]
    with pytest.raises(TrustListError) as info:
        _loader().load(dataclasses.replace(message, signature=signature).encode())
    assert _reason(info) == "trust_list_signature_invalid"


def test_algorithm_swap_is_signature_invalid() -> None:
    key, cert = _anchor(SM2_SM3)
    data = cose.sign1(
        cbor.dumps(_list().to_cbor_map()),
        alg=cose.ALG_ES256,
        kid=cert.kid,
        sign=key.sign,
    ).encode()
    with pytest.raises(TrustListError) as info:
        _loader().load(data)
    assert _reason(info) == "trust_list_signature_invalid"


# -- sequence: rollback and replacement ---------------------------------------------------------


def test_newer_list_replaces_and_rollback_is_refused() -> None:
    loader = _loader()
    loader.load(_signed(_list(1)))
    newer = _list(2, entries=[_entry(1), _entry(2), _entry(3)])
    assert loader.load(_signed(newer)) == newer
    assert loader.current() == (newer,)
    assert loader.issuer_may_issue(_uscc(3), TYPE_CODE)
    with pytest.raises(TrustListError) as info:
        loader.load(_signed(_list(1)))
    assert _reason(info) == "trust_list_rollback"
    assert loader.current() == (newer,)


def test_same_sequence_same_list_is_a_no_op_another_is_refused() -> None:
    loader = _loader()
    data = _signed(_list(3))
    first = loader.load(data)
    assert loader.load(data) is first
    assert loader.load(_signed(_list(3))) is first  # a new signature over the same payload
    with pytest.raises(TrustListError) as info:
        loader.load(_signed(_list(3, entries=[_entry(1)])))
    assert _reason(info) == "trust_list_rollback"


def test_lists_are_kept_per_issuer_and_region() -> None:
    loader = _loader()
    shanghai = _list(5)
    anhui = _list(1, region="340000", entries=[_entry(7, region="340100")])
    loader.load(_signed(shanghai))
    loader.load(_signed(anhui))
    assert loader.current() == (shanghai, anhui)
    assert loader.issuer_may_issue(_uscc(7), TYPE_CODE)
    assert loader.issuer_may_issue(_uscc(1), TYPE_CODE)


# -- freshness ----------------------------------------------------------------------------------


def test_staleness_with_grace() -> None:
    clock = FakeClock()
    loader = _loader(clock=clock, grace=timedelta(hours=24))
    loader.load(_signed(_list()))  # next_update T0 + 1 day
    assert not loader.is_stale()
    clock.now = T0 + timedelta(days=1, hours=12)  # past next_update, within grace
    assert not loader.is_stale()
    assert not loader.is_stale(clock.now)
    loader.to_trust_store()
    clock.now = T0 + timedelta(days=2, seconds=1)  # beyond next_update + grace
    assert loader.is_stale()
    assert loader.is_stale(clock.now)
    assert not loader.is_stale(T0)
    with pytest.raises(TrustListError) as info:
        loader.to_trust_store()
    assert _reason(info) == "trust_list_stale"


def test_a_list_already_stale_is_not_loaded() -> None:
    clock = FakeClock(T0 + timedelta(days=3))
    loader = _loader(clock=clock, grace=timedelta(hours=1))
    with pytest.raises(TrustListError) as info:
        loader.load(_signed(_list()))
    assert _reason(info) == "trust_list_stale"
    assert loader.current() == ()
    assert not loader.is_stale()


def test_entries_count_only_while_valid() -> None:
    clock = FakeClock()
    later = _entry(2, valid_from=T0 + timedelta(days=10), valid_until=T0 + timedelta(days=20))
    loader = _loader(clock=clock)
    loader.load(_signed(_list(entries=[_entry(1), later])))
    assert loader.issuer_may_issue(_uscc(1), TYPE_CODE)
    assert not loader.issuer_may_issue(_uscc(1), OTHER_TYPE)
    assert not loader.issuer_may_issue(_uscc(2), TYPE_CODE)
    assert not loader.issuer_may_issue(_uscc(9), TYPE_CODE)
    assert loader.issuers_by_kid(_signer_cert(2).kid) == ()
    store = loader.to_trust_store()
    assert store.allowed_issuers == frozenset({_uscc(1)})
    assert store.signers == (_signer_cert(1),)


# -- malformed input ----------------------------------------------------------------------------


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=300))
def test_random_bytes(data: bytes) -> None:
    with pytest.raises(PayloadError):
        read_trust_list(data)
    with pytest.raises(TrustListError) as info:
        _loader().load(data)
    assert info.value.reason in REASON_CODES


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_mutated_list(data: st.DataObject) -> None:
    original = bytearray(_signed(_list()))
    for _ in range(data.draw(st.integers(1, 3))):
        index = data.draw(st.integers(0, len(original) - 1))
        original[index] = data.draw(st.integers(0, 255))
    if data.draw(st.booleans()):
        original = original[: data.draw(st.integers(0, len(original)))]
    try:
        _loader().load(bytes(original))
    except TrustListError as exc:
        assert exc.reason in REASON_CODES
    with contextlib.suppress(PayloadError):
        read_trust_list(bytes(original))


def _payload(**changes: object) -> dict[str, object]:
    return _list().to_cbor_map() | changes


def _entry_payload(**changes: object) -> dict[str, object]:
    entry = _list().to_cbor_map()["entries"][0]  # type: ignore[index]
    return _payload(entries=[entry | changes])


@pytest.mark.parametrize(
    "payload",
    [
        pytest.param(_payload(format="ezz/trust-list/2"), id="unknown-format"),
        pytest.param(_payload(extra=1), id="unknown-key"),
        pytest.param({k: v for k, v in _payload().items() if k != "roots"}, id="missing-key"),
        pytest.param(_payload(sequence=0), id="sequence-zero"),
        pytest.param(_payload(sequence=True), id="sequence-bool"),
        pytest.param(_payload(issued_at=1.5), id="float-date"),
        pytest.param(_payload(next_update=0), id="next-update-first"),
        pytest.param(_payload(next_update=2**40), id="date-beyond-datetime"),
        pytest.param(_payload(issued_at=-1), id="date-before-1970"),
        pytest.param(_payload(region="990000"), id="bad-region"),
        pytest.param(_payload(roots=[b"\x30\x00"]), id="bad-root-der"),
        pytest.param(_payload(seal_makers=[b"\x30\x00"]), id="bad-seal-maker-der"),
        pytest.param(_payload(seal_makers=[_root()[1].der] * 2), id="duplicate-seal-maker"),
        pytest.param(_payload(entries={}), id="entries-map"),
        pytest.param(_entry_payload(uscc="91310000MA1FL00000"), id="bad-uscc"),
        pytest.param(_entry_payload(level="省部级"), id="bad-level"),
        pytest.param(_entry_payload(kids=[b"\x00" * 8]), id="kid-mismatch"),
        pytest.param(_entry_payload(kids=[]), id="kids-missing"),
        pytest.param(_entry_payload(licence_types=["ABC"]), id="short-type-code"),
        pytest.param(_entry_payload(region="340100"), id="entry-outside-scope"),
        pytest.param(_entry_payload(certificates=["x"]), id="certificate-text"),
        pytest.param(
            _payload(entries=_payload()["entries"] * 2),  # type: ignore[operator]
            id="duplicate-uscc",
        ),
    ],
)
def test_malformed_payload(payload: dict[str, object]) -> None:
    data = _resign(payload)
    with pytest.raises(PayloadError) as read_info:
        read_trust_list(data)
    assert read_info.value.stage == "claims"
    with pytest.raises(TrustListError) as info:
        _loader().load(data)
    assert _reason(info) == "trust_list_malformed"


def test_envelope_needs_tag_alg_and_kid() -> None:
    key, _ = _anchor()
    message = cose.decode_sign1(_signed(_list()))
    with pytest.raises(PayloadError):
        read_trust_list(message.encode(tag=False))
    no_kid = cose.sign1(message.payload, alg=cose.ALG_SM2_SM3, kid=None, sign=key.sign)
    with pytest.raises(PayloadError, match="kid"):
        read_trust_list(no_kid.encode())
    with pytest.raises(TrustListError) as info:
        _loader().load(no_kid.encode())
    assert _reason(info) == "trust_list_malformed"


# -- building -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("change", "match"),
    [
        ({"uscc": "913100001234567890"}, "统一社会信用代码"),
        ({"region": "310015"}, "行政区划代码"),
        ({"level": "部级"}, "level"),
        ({"licence_types": ("1" * 20,)}, "证照类型代码"),
        ({"licence_types": (TYPE_CODE, TYPE_CODE)}, "twice"),
        ({"licence_types": ()}, "licence type"),
        ({"certificates": ()}, "certificate"),
        ({"certificates": (_signer_cert(1), _signer_cert(1))}, "twice"),
        ({"valid_until": T0 - timedelta(days=2)}, "valid_until"),
        ({"valid_from": datetime(2026, 1, 1)}, "timezone"),  # naive on purpose
        ({"name": " 局"}, "name"),
        ({"valid_until": datetime(3001, 1, 1, tzinfo=UTC)}, "3000"),
    ],
)
def test_entry_validation(change: dict[str, object], match: str) -> None:
    with pytest.raises(ConfigurationError, match=match):
        _entry(1, **change)


def test_list_validation() -> None:
    with pytest.raises(ConfigurationError, match="twice"):
        _list(entries=[_entry(1), _entry(1)])
    with pytest.raises(ConfigurationError, match="scope"):
        _list(entries=[_entry(1, region="340100")])
    with pytest.raises(ConfigurationError, match="next_update"):
        _list(next_update=T0)
    with pytest.raises(ConfigurationError, match="sequence"):
        _list(0)
    with pytest.raises(ConfigurationError, match="region"):
        _list(region="000001")
    with pytest.raises(ConfigurationError, match="CA"):
        build_trust_list(
            issuer=ANCHOR_CN,
            region="310000",
            sequence=1,
            issued_at=T0,
            next_update=T0 + timedelta(days=1),
            entries=[],
            roots=[_signer_cert(1)],
        )
    # A national list may name authorities of every region; a prefecture list only its own.
    national = _list(region=NATIONAL_REGION, entries=[_entry(1), _entry(2, region="340100")])
    assert len(national.entries) == 2
    assert _list(region="340100", entries=[_entry(2, region="340104")]).region == "340100"


def test_loader_configuration(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match="anchor"):
        TrustListLoader(anchors=[])
    with pytest.raises(ConfigurationError, match="grace"):
        TrustListLoader(anchors=[_anchor()[1]], grace=timedelta(seconds=-1))
    forever = TrustListLoader(anchors=[_anchor()[1]], grace=timedelta.max, clock=FakeClock())
    forever.load(_signed(_list()))
    assert not forever.is_stale(datetime(2999, 1, 1, tzinfo=UTC))
    loader = _loader()
    with pytest.raises(ConfigurationError, match="no trust list"):
        loader.to_trust_store()
    with pytest.raises(ConfigurationError, match="cannot read"):
        loader.load_file(tmp_path / "missing.ezztl")
    path = tmp_path / "310000.ezztl"
    path.write_bytes(_signed(_list()))
    assert loader.load_file(path) == _list()
    assert loader.load_file(str(path)) == _list()


# -- scale --------------------------------------------------------------------------------------


def test_ten_thousand_issuers() -> None:
    n = 10_000
    entries = [_entry(i) for i in range(n)]
    trust_list = _list(entries=entries, region=NATIONAL_REGION)
    data = _signed(trust_list)
    loader = _loader()
    loaded = loader.load(data)
    assert len(loaded.entries) == n
    assert loaded.entry_for(_uscc(9_999)) == entries[9_999]
    assert all(loader.issuer_may_issue(_uscc(i), TYPE_CODE) for i in range(0, n, 97))
    assert not loader.issuer_may_issue(_uscc(n), TYPE_CODE)
    # Four certificates are shared by the entries in turn: each kid names a quarter of them.
    assert len(loader.issuers_by_kid(_signer_cert(0).kid)) == n // 4
    assert len(loaded.certificates_by_kid()) == 4
    store = loader.to_trust_store()
    assert len(store.allowed_issuers or ()) == n
    assert len(store.signers) == 4
    # A reload of the next sequence reuses the certificates already parsed.
    newer = loader.load(_signed(dataclasses.replace(trust_list, sequence=2)))
    assert newer.entries[0].certificates[0] is loaded.entries[0].certificates[0]


# -- with the verifier --------------------------------------------------------------------------


def _demo_list(
    domain: DemoDomain, *, skip: frozenset[str] = frozenset(), sequence: int = 1
) -> TrustList:
    catalogue = Catalogue.builtin()
    codes_by_name = {t.name: t.code for t in catalogue}
    entries = [
        TrustListEntry(
            uscc=authority.issuer.code,
            name=authority.issuer.name,
            region=authority.issuer.region_code,
            level=authority.issuer.level,
            certificates=tuple(authority.certificates.values()),
            licence_types=tuple(codes_by_name[name] for name in authority.spec.types),
            valid_from=domain.created - timedelta(days=1),
            valid_until=domain.created + timedelta(days=365),
        )
        for region in domain.regions
        for authority in region.authorities
        if authority.issuer.code not in skip
    ]
    return build_trust_list(
        issuer=ANCHOR_CN,
        region=NATIONAL_REGION,
        sequence=sequence,
        issued_at=domain.created,
        next_update=domain.created + timedelta(days=1),
        entries=entries,
        roots=[region.root for region in domain.regions],
        seal_makers=[region.maker for region in domain.regions],
    )


def _demo_store(domain: DemoDomain, **kw: object) -> TrustStore:
    at = domain.created + timedelta(hours=1)
    loader = TrustListLoader(anchors=[_anchor(SM2_SM3)[1]], clock=lambda: at)
    loader.load(_signed(_demo_list(domain, **kw)))  # type: ignore[arg-type]
    return loader.to_trust_store()


_LIST_ONLY_REASONS = frozenset({"licence_type_not_listed", "signer_not_listed"})


def test_trust_store_from_a_list_verifies_the_demo(demo_domain: DemoDomain) -> None:
    """A root store made from a list checks chains and allow-list, not licence types: it
    agrees with the manifest on every sample but those only trust lists can judge."""
    store = _demo_store(demo_domain)
    assert set(store.roots) == {r.root for r in demo_domain.regions}
    assert set(store.seal_makers) == {r.maker for r in demo_domain.regions}
    at = demo_domain.created + timedelta(hours=1)
    verifier = Verifier(trust_store=store, clock=lambda: at, region="340000")
    judged = 0
    for sample in demo_domain.samples:
        if _LIST_ONLY_REASONS & set(sample.expected_reasons):
            continue
        judged += 1
        result = verifier.verify(demo_domain.documents[sample.file])
        assert (result.status.value, result.reasons) == (
            sample.expected_status,
            sample.expected_reasons,
        ), sample.demonstrates
    assert judged >= len(demo_domain.samples) - 2
    for qr in demo_domain.qr_samples:
        result = verifier.verify_qr(qr.text)
        assert (result.status.value, result.reasons) == (qr.expected_status, qr.expected_reasons)


def test_a_verifier_on_the_national_list_gives_every_manifest_verdict(
    demo_domain: DemoDomain,
) -> None:
    at = demo_domain.created + timedelta(hours=1)
    loader = TrustListLoader(anchors=[_anchor(SM2_SM3)[1]], clock=lambda: at)
    loader.load(_signed(_demo_list(demo_domain)))
    verifier = Verifier(trust_lists=loader, clock=lambda: at, region="340000")
    for sample in demo_domain.samples:
        result = verifier.verify(demo_domain.documents[sample.file])
        assert (result.status.value, result.reasons) == (
            sample.expected_status,
            sample.expected_reasons,
        ), sample.demonstrates


def test_an_authority_left_out_of_the_list_is_untrusted(demo_domain: DemoDomain) -> None:
    authority = demo_domain.regions[0].authorities[0]
    store = _demo_store(demo_domain, skip=frozenset({authority.issuer.code}))
    at = demo_domain.created + timedelta(hours=1)
    verifier = Verifier(trust_store=store, clock=lambda: at)
    sample = next(
        s
        for s in demo_domain.samples
        if s.expected_status == "PASSED" and s.licence_type in authority.spec.types
    )
    result = verifier.verify(demo_domain.documents[sample.file])
    assert result.status.value == "FAILED"
    assert "issuer_untrusted" in result.reasons


def test_base_store_is_merged(demo_domain: DemoDomain) -> None:
    loader = _loader()
    loader.load(_signed(_list()))
    base = demo_domain.trust_store()
    store = loader.to_trust_store(base)
    assert set(store.roots) == {*base.roots, _root()[1]}
    assert set(store.signers) >= set(base.signers)
    assert store.seal_makers == base.seal_makers
    # The lists decide who issues: a base without an allow-list adds nobody.
    assert store.allowed_issuers == frozenset({_uscc(1), _uscc(2)})


# -- anchors scoped to a region -----------------------------------------------------------------


def _scoped(anchors: object) -> TrustListLoader:
    return TrustListLoader(anchors=anchors, clock=FakeClock())  # type: ignore[arg-type]


def test_a_scoped_anchor_signs_lists_within_its_region_only() -> None:
    anchor = _anchor(SM2_SM3)[1]
    shanghai = _signed(_list(region="310000"))
    pudong = _signed(_list(region="310115"))
    assert _scoped({"310000": [anchor]}).load(shanghai).region == "310000"
    assert _scoped({"310000": [anchor]}).load(pudong).region == "310115"
    assert _scoped({"000000": [anchor]}).load(shanghai).region == "310000"
    for scope in ("340000", "310115"):  # another province; a county below the list's scope
        with pytest.raises(TrustListError, match="not for region 310000") as exc:
            _scoped({scope: [anchor]}).load(shanghai)
        assert _reason(exc) == "trust_list_untrusted_anchor"
    # One certificate in two scopes may sign for either.
    both = _scoped({"340000": [anchor], "310000": [anchor]})
    assert both.load(shanghai).region == "310000"


def test_a_national_list_needs_a_national_anchor() -> None:
    anchor = _anchor(SM2_SM3)[1]
    national = _signed(_list(region="000000", entries=[_entry(1, region="340100"), _entry(2)]))
    with pytest.raises(TrustListError) as exc:
        _scoped({"310000": [anchor]}).load(national)
    assert _reason(exc) == "trust_list_untrusted_anchor"
    assert _scoped([anchor]).load(national).region == "000000"


def test_a_scoped_anchor_vouches_only_for_authorities_of_its_region() -> None:
    anchor = _anchor(SM2_SM3)[1]
    # 安徽's anchor lists an authority whose USCC was registered in 上海 (310115), under an
    # 安徽 region: it would let 安徽's operator accept licences naming that 上海 USCC.
    smuggled = _signed(_list(region="340000", entries=[_entry(1, region="340100")]))
    with pytest.raises(TrustListError, match="registered elsewhere") as exc:
        _scoped({"340000": [anchor]}).load(smuggled)
    assert _reason(exc) == "trust_list_untrusted_anchor"
    # An entry whose certificate names another USCC than the entry's own.
    borrowed = _signed(_list(entries=[_entry(5)]))
    assert _signer_cert(5 % 4).subject.serial_number != _uscc(5)
    with pytest.raises(TrustListError, match="which names") as exc:
        _scoped({"310000": [anchor]}).load(borrowed)
    assert _reason(exc) == "trust_list_untrusted_anchor"
    # A national anchor vouches for anyone, as before.
    assert _scoped([anchor]).load(smuggled).region == "340000"
    assert _scoped({"000000": [anchor]}).load(borrowed).region == "310000"


def test_bad_anchor_scopes_are_refused() -> None:
    anchor = _anchor(SM2_SM3)[1]
    for anchors in (
        {"999999": [anchor]},  # not a region
        {"31000": [anchor]},
        {310000: [anchor]},
        {"310000": anchor},  # a certificate, not a collection of them
        {"310000": "not certificates"},
        {"310000": [b"PEM bytes"]},
        {"310000": []},  # no anchor at all
    ):
        with pytest.raises(ConfigurationError):
            _scoped(anchors)
