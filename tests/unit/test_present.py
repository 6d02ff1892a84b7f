"""亮证 tokens ``EZT1:``: issue, verify, replay, time, audience, tampering, handles."""

from __future__ import annotations

import multiprocessing
import threading
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import MappingProxyType

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ezhengzhao import codes
from ezhengzhao.errors import ConfigurationError, InputError
from ezhengzhao.formats import base45, cbor, cose, qrtext
from ezhengzhao.formats.base45 import b45encode
from ezhengzhao.present import (
    CLAIM_HANDLE,
    PREFIX,
    PresentationClaims,
    PresentationIssuer,
    PresentationResult,
    PresentationVerifier,
    is_valid_handle,
)
from ezhengzhao.replay import MemoryReplayCache, SQLiteReplayCache
from ezhengzhao.result import REASONS, Status
from ezhengzhao.sign.keys import PrivateKey, generate_private_key
from ezhengzhao.sign.suites import ECDSA_P256_SHA256, ED25519, SM2_SM3
from ezhengzhao.sign.x509 import Certificate, Name, build_certificate

T0 = datetime(2026, 6, 1, 8, 0, 0, tzinfo=UTC)
HANDLE = "h7Fq2xYp9LmN3kQw"
REGION = "310000"  # 上海市
SUITES = (SM2_SM3, ECDSA_P256_SHA256, ED25519)
BASE45 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:"


class Clock:
    """A clock the test moves by hand."""

    def __init__(self, now: datetime = T0) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


def make_certificate(
    key: PrivateKey,
    *,
    not_before: datetime = T0 - timedelta(days=30),
    not_after: datetime = T0 + timedelta(days=365),
    key_usage: tuple[str, ...] = ("digitalSignature",),
    name: str = "上海市电子证照亮证平台",
) -> Certificate:
    subject = Name(common_name=name, organization="上海市大数据中心", province="上海市")
    return build_certificate(
        subject=subject,
        subject_key=key.public_key,
        issuer=subject,
        issuer_signer=key,
        not_before=not_before,
        not_after=not_after,
        key_usage=key_usage,
    )


class Platform:
    """A platform key with its certificate."""

    def __init__(self, suite: str) -> None:
        self.key = generate_private_key(suite)
        self.certificate = make_certificate(self.key)

    def issuer(
        self, clock: Callable[[], datetime] = lambda: T0, **kw: object
    ) -> PresentationIssuer:
        return PresentationIssuer(
            signer=self.key,
            certificate=self.certificate,
            region=REGION,
            clock=clock,
            **kw,  # type: ignore[arg-type]
        )

    def verifier(
        self, clock: Callable[[], datetime] = lambda: T0, **kw: object
    ) -> PresentationVerifier:
        kw.setdefault("replay_cache", MemoryReplayCache(clock=clock))
        kw.setdefault("region", REGION)
        kw.setdefault("certificates", [self.certificate])
        return PresentationVerifier(clock=clock, **kw)  # type: ignore[arg-type]


@pytest.fixture(scope="module", params=SUITES)
def platform(request: pytest.FixtureRequest) -> Platform:
    return Platform(request.param)


@pytest.fixture(scope="module")
def sm2() -> Platform:
    return Platform(SM2_SM3)


def decode(token: str) -> cose.CoseSign1:
    return cose.decode_sign1(qrtext.unwrap(token, prefix=PREFIX))


def claims_of(token: str) -> dict[int, object]:
    claims = cbor.loads_strict(decode(token).payload)
    assert isinstance(claims, dict)
    return claims


def forge(
    claims: object,
    *,
    key: PrivateKey,
    kid: bytes,
    alg: int | None = None,
) -> str:
    """A token with arbitrary claims, signed by ``key`` (which may not be the platform's)."""
    message = cose.sign1(
        cbor.dumps(claims),
        alg=cose.alg_for_suite(key.suite.id) if alg is None else alg,
        kid=kid,
        sign=key.sign,
    )
    return qrtext.wrap(message.encode(), prefix=PREFIX)


def rewrap(message: cose.CoseSign1, **changes: object) -> str:
    """``message`` with fields replaced (the signature is kept), as a token."""
    fields: dict[str, object] = {
        "protected": message.protected,
        "protected_header": message.protected_header,
        "unprotected_header": message.unprotected_header,
        "payload": message.payload,
        "signature": message.signature,
    }
    fields.update(changes)
    return qrtext.wrap(cose.CoseSign1(**fields).encode(), prefix=PREFIX)  # type: ignore[arg-type]


def good_claims(**changes: object) -> dict[object, object]:
    claims: dict[object, object] = {
        cose.CWT_ISS: REGION,
        cose.CWT_AUD: "*",
        cose.CWT_IAT: int(T0.timestamp()),
        cose.CWT_EXP: int(T0.timestamp()) + 60,
        cose.CWT_CTI: bytes(range(16)),
        CLAIM_HANDLE: HANDLE,
    }
    for key, value in changes.items():
        number = {"iss": 1, "aud": 3, "exp": 4, "iat": 6, "cti": 7, "handle": CLAIM_HANDLE}[key]
        if value is None:
            del claims[number]
        else:
            claims[number] = value
    return claims


# -- round trip -------------------------------------------------------------------------------


def test_round_trip(platform: Platform) -> None:
    token = platform.issuer().issue(HANDLE)
    assert token.startswith("EZT1:")
    assert set(token[5:]) <= set(BASE45)  # QR alphanumeric mode

    result = platform.verifier().verify(token)
    assert result == PresentationResult(Status.PASSED, "ok", result.claims, "")
    assert result.ok
    claims = result.claims
    assert claims is not None
    assert claims.handle == HANDLE
    assert claims.issuing_region == REGION
    assert claims.audience == "*"
    assert claims.issued_at == T0
    assert claims.expires_at == T0 + timedelta(seconds=60)
    assert len(claims.jti) == 16
    assert claims.kid == platform.certificate.kid


def test_token_layout(platform: Platform) -> None:
    token = platform.issuer().issue(HANDLE, audience="320000")
    message = decode(token)
    assert message.protected_header == {
        1: cose.alg_for_suite(platform.key.suite.id),
        4: message.kid,
    }
    assert message.kid == platform.certificate.kid
    assert message.unprotected_header == {}
    assert len(message.signature) == 64
    claims = claims_of(token)
    assert set(claims) == {1, 3, 4, 6, 7, -70003}
    assert claims[1] == REGION
    assert claims[3] == "320000"
    assert claims[4] == claims[6] + 60  # type: ignore[operator]
    assert claims[-70003] == HANDLE
    cose.verify_sign1(message, platform.certificate.public_key)


def test_jti_is_fresh_each_time(sm2: Platform) -> None:
    issuer = sm2.issuer()
    jtis = {claims_of(issuer.issue(HANDLE))[cose.CWT_CTI] for _ in range(20)}
    assert len(jtis) == 20


def test_sub_second_clock_is_truncated(sm2: Platform) -> None:
    token = sm2.issuer(clock=lambda: T0 + timedelta(microseconds=999_999)).issue(HANDLE)
    assert claims_of(token)[cose.CWT_IAT] == int(T0.timestamp())


# -- replay -----------------------------------------------------------------------------------


def test_second_use_is_refused(sm2: Platform) -> None:
    token = sm2.issuer().issue(HANDLE)
    verifier = sm2.verifier()
    assert verifier.verify(token).reason == "ok"
    again = verifier.verify(token)
    assert (again.status, again.reason) == (Status.FAILED, "token_replayed")
    assert again.claims is not None and again.claims.handle == HANDLE


def test_replay_refused_across_verifiers_sharing_sqlite(sm2: Platform, tmp_path: Path) -> None:
    path = tmp_path / "replay.sqlite3"
    token = sm2.issuer().issue(HANDLE)
    with SQLiteReplayCache(path) as one, SQLiteReplayCache(path) as two:
        first = sm2.verifier(replay_cache=one)
        second = sm2.verifier(replay_cache=two, region="310104")
        assert first.verify(token).reason == "ok"
        assert second.verify(token).reason == "token_replayed"


def test_threads_racing_on_one_token(sm2: Platform) -> None:
    token = sm2.issuer().issue(HANDLE)
    verifier = sm2.verifier()
    barrier = threading.Barrier(8)
    reasons: list[str] = []

    def race() -> None:
        barrier.wait()
        reasons.append(verifier.verify(token).reason)

    threads = [threading.Thread(target=race) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(reasons) == ["ok"] + ["token_replayed"] * 7


def _verify_in_process(
    path: str, certificate_der: bytes, token: str, barrier: threading.Barrier
) -> str:
    certificate = Certificate.from_der(certificate_der)
    with SQLiteReplayCache(path) as cache:
        verifier = PresentationVerifier(
            certificates=[certificate], replay_cache=cache, region=REGION, clock=lambda: T0
        )
        barrier.wait()
        return verifier.verify(token).reason


def test_processes_racing_on_one_token(sm2: Platform, tmp_path: Path) -> None:
    path = str(tmp_path / "replay.sqlite3")
    SQLiteReplayCache(path).close()
    token = sm2.issuer().issue(HANDLE)
    workers = 4
    ctx = multiprocessing.get_context("spawn")
    with ctx.Manager() as manager:
        barrier = manager.Barrier(workers)
        with ctx.Pool(workers) as pool:
            args = [(path, sm2.certificate.der, token, barrier)] * workers
            reasons = pool.starmap(_verify_in_process, args)
    assert sorted(reasons) == ["ok"] + ["token_replayed"] * (workers - 1)


def test_full_cache_cannot_tell(sm2: Platform) -> None:
    issuer = sm2.issuer()
    verifier = sm2.verifier(replay_cache=MemoryReplayCache(1, clock=lambda: T0))
    assert verifier.verify(issuer.issue(HANDLE)).ok
    result = verifier.verify(issuer.issue(HANDLE))
    assert (result.status, result.reason) == (Status.INDETERMINATE, "token_replay_unchecked")
    assert result.claims is not None


# -- time -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("offset", "reason"),
    [
        (timedelta(seconds=-31), "token_not_yet_valid"),  # verifier clock 31 s behind iat
        (timedelta(seconds=-30), "ok"),  # exactly the skew
        (timedelta(0), "ok"),
        (timedelta(seconds=60), "ok"),  # at exp
        (timedelta(seconds=90), "ok"),  # exp + skew
        (timedelta(seconds=90, microseconds=1), "token_expired"),
        (timedelta(hours=1), "token_expired"),
    ],
)
def test_validity_window_with_skew(sm2: Platform, offset: timedelta, reason: str) -> None:
    token = sm2.issuer().issue(HANDLE)
    result = sm2.verifier(clock=Clock(T0 + offset)).verify(token)
    assert result.reason == reason
    assert result.claims is not None  # the signature held: the use can be logged


def test_zero_skew(sm2: Platform) -> None:
    token = sm2.issuer().issue(HANDLE)
    late = sm2.verifier(clock=Clock(T0 + timedelta(seconds=61)), clock_skew=timedelta(0))
    assert late.verify(token).reason == "token_expired"
    early = sm2.verifier(clock=Clock(T0 - timedelta(seconds=1)), clock_skew=timedelta(0))
    assert early.verify(token).reason == "token_not_yet_valid"


def test_replay_entry_outlives_acceptance(sm2: Platform) -> None:
    token = sm2.issuer().issue(HANDLE)
    clock = Clock()
    verifier = sm2.verifier(clock=clock)
    assert verifier.verify(token).ok
    clock.now = T0 + timedelta(seconds=90)  # the last moment the token is accepted
    assert verifier.verify(token).reason == "token_replayed"
    clock.now += timedelta(seconds=1)
    assert verifier.verify(token).reason == "token_expired"


def test_lifetime_limits(sm2: Platform) -> None:
    issuer = sm2.issuer(max_lifetime=timedelta(seconds=600))
    verifier = sm2.verifier()  # max_lifetime 300 s
    assert verifier.verify(issuer.issue(HANDLE, lifetime=timedelta(seconds=300))).ok
    too_long = verifier.verify(issuer.issue(HANDLE, lifetime=timedelta(seconds=301)))
    assert too_long.reason == "token_lifetime_too_long"
    with pytest.raises(InputError):
        sm2.issuer().issue(HANDLE, lifetime=timedelta(seconds=301))
    with pytest.raises(InputError):
        sm2.issuer().issue(HANDLE, lifetime=timedelta(0))
    with pytest.raises(ConfigurationError):
        sm2.issuer(lifetime=timedelta(seconds=400))
    token = sm2.issuer().issue(HANDLE, lifetime=timedelta(seconds=30, microseconds=500))
    assert claims_of(token)[cose.CWT_EXP] == int(T0.timestamp()) + 30


def test_certificate_must_cover_the_token(sm2: Platform) -> None:
    short = make_certificate(sm2.key, not_after=T0 + timedelta(seconds=59))
    issuer = PresentationIssuer(signer=sm2.key, certificate=short, region=REGION, clock=lambda: T0)
    with pytest.raises(ConfigurationError, match="expires"):
        issuer.issue(HANDLE)
    assert issuer.issue(HANDLE, lifetime=timedelta(seconds=59))
    early = make_certificate(sm2.key, not_before=T0 + timedelta(seconds=1))
    issuer = PresentationIssuer(signer=sm2.key, certificate=early, region=REGION, clock=lambda: T0)
    with pytest.raises(ConfigurationError, match="not valid yet"):
        issuer.issue(HANDLE)


def test_certificate_not_valid_at_iat(sm2: Platform) -> None:
    later = make_certificate(sm2.key, not_before=T0 + timedelta(seconds=10))
    token = forge(good_claims(), key=sm2.key, kid=later.kid)
    result = sm2.verifier(certificates=[later]).verify(token)
    assert result.reason == "token_certificate_invalid"


# -- audience ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("audience", "verifier_region", "reason"),
    [
        ("*", "320000", "ok"),
        ("310000", "310000", "ok"),
        ("310000", "310104", "ok"),  # a province token is for its counties too
        ("310100", "310104", "ok"),
        ("310104", "310104", "ok"),
        ("320000", "310000", "token_audience_mismatch"),
        ("310104", "310000", "token_audience_mismatch"),  # not the other way round
        ("310104", "310105", "token_audience_mismatch"),
        ("330000", "310104", "token_audience_mismatch"),
    ],
)
def test_audience(sm2: Platform, audience: str, verifier_region: str, reason: str) -> None:
    token = sm2.issuer().issue(HANDLE, audience=audience)
    assert sm2.verifier(region=verifier_region).verify(token).reason == reason


@pytest.mark.parametrize("audience", ["", "**", "31000", "990000", "310000 ", 310000, None])
def test_bad_audience_refused_at_issue(sm2: Platform, audience: object) -> None:
    with pytest.raises(InputError):
        sm2.issuer().issue(HANDLE, audience=audience)  # type: ignore[arg-type]


def test_refused_token_does_not_burn_its_jti(sm2: Platform) -> None:
    token = sm2.issuer().issue(HANDLE, audience="320000")
    cache = MemoryReplayCache(clock=lambda: T0)
    shanghai = sm2.verifier(replay_cache=cache, region="310000")
    jiangsu = sm2.verifier(replay_cache=cache, region="320000")
    assert shanghai.verify(token).reason == "token_audience_mismatch"
    assert jiangsu.verify(token).ok


# -- tampering and forgery --------------------------------------------------------------------


def test_forged_token_with_a_real_jti_does_not_burn_it(sm2: Platform) -> None:
    token = sm2.issuer().issue(HANDLE)
    real = claims_of(token)
    attacker = generate_private_key(SM2_SM3)
    forged = forge(dict(real), key=attacker, kid=sm2.certificate.kid)
    verifier = sm2.verifier()
    result = verifier.verify(forged)
    assert (result.reason, result.claims) == ("token_signature_invalid", None)
    assert verifier.verify(token).ok


def _variants(token: str) -> list[str]:
    """Every token one character away: each substitution (base45 and a few others), each
    deletion."""
    out = []
    for i, original in enumerate(token):
        out += [token[:i] + c + token[i + 1 :] for c in BASE45 + "aé\x00\n" if c != original]
        out.append(token[:i] + token[i + 1 :])
    return out


@pytest.mark.slow
def test_every_single_character_change_fails(sm2: Platform) -> None:
    token = sm2.issuer().issue(HANDLE)
    cose_bytes = qrtext.unwrap(token, prefix=PREFIX)
    variants = _variants(token)
    assert len(variants) > 45 * len(token)
    # Each variant on its own, as if it were the first use: none may carry another signed
    # message. The last deflate byte has padding bits that inflate ignores, so a change
    # there can give the same COSE bytes — the same token, same jti, still single-use.
    # The last deflate byte comes just before zlib's 4-byte Adler-32 trailer; base45 packs
    # two bytes into three characters, so this is the one group a harmless change may touch.
    compressed_length = len(base45.b45decode(token[len(PREFIX) :]))
    group = len(PREFIX) + 3 * ((compressed_length - 5) // 2)
    for variant in variants:
        result = sm2.verifier().verify(variant)
        if result.ok:
            assert qrtext.unwrap(variant, prefix=PREFIX) == cose_bytes, variant
            assert len(variant) == len(token), variant
            changed = [i for i, (a, b) in enumerate(zip(variant, token, strict=True)) if a != b]
            assert all(group <= i < group + 3 for i in changed), variant
    # Once the real token is used, every variant is refused, and none raises.
    verifier = sm2.verifier()
    assert verifier.verify(token).ok
    for variant in variants:
        assert verifier.verify(variant).reason != "ok", variant


def test_tampered_cose(sm2: Platform) -> None:
    token = sm2.issuer().issue(HANDLE)
    message = decode(token)
    verifier = sm2.verifier()
    other_handle = cbor.dumps(good_claims(handle="AAAAAAAAAAAA"))
    cases = {
        "payload": rewrap(message, payload=other_handle),
        "signature": rewrap(
            message, signature=bytes([message.signature[0] ^ 1]) + message.signature[1:]
        ),
        "short signature": rewrap(message, signature=message.signature[:63]),
    }
    for name, bad in cases.items():
        assert verifier.verify(bad).reason == "token_signature_invalid", name
    # Another algorithm in the protected header: the key's suite decides.
    header = {1: cose.ALG_ES256, 4: message.kid}
    swapped = rewrap(message, protected=cbor.dumps(header), protected_header=header)
    result = verifier.verify(swapped)
    assert result.reason == "token_signature_invalid"
    assert "ECDSA" in result.detail or "claims" in result.detail
    # Another kid.
    header = {1: cose.ALG_SM2_SM3, 4: b"\x00" * 8}
    other_kid = rewrap(message, protected=cbor.dumps(header), protected_header=header)
    assert verifier.verify(other_kid).reason == "token_kid_unknown"
    assert verifier.verify(token).ok


@pytest.mark.parametrize(
    ("token", "stage"),
    [
        ("", "prefix"),
        ("EZZ1:NCFOXN", "prefix"),
        ("ezt1:NCFOXN", "prefix"),
        ("EZT1:NCFOXNMG2FD", "base45"),
        ("EZT1:" + b45encode(b"not zlib"), "zlib"),
        ("EZT1:" + b45encode(qrtext.compress(b"\xff")), "cbor"),
        ("EZT1:" + b45encode(qrtext.compress(cbor.dumps([1, 2]))), "cose"),
        ("EZT1:" + "A" * 5000, "prefix"),
    ],
)
def test_malformed_detail_names_the_stage(sm2: Platform, token: str, stage: str) -> None:
    result = sm2.verifier().verify(token)
    assert (result.status, result.reason, result.claims) == (
        Status.FAILED,
        "token_malformed",
        None,
    )
    assert result.detail.startswith(stage + ":"), result.detail


def test_unprotected_kid_or_extra_header_is_malformed(sm2: Platform) -> None:
    message = decode(sm2.issuer().issue(HANDLE))
    verifier = sm2.verifier()
    header = {1: cose.ALG_SM2_SM3}
    moved = rewrap(
        message,
        protected=cbor.dumps(header),
        protected_header=header,
        unprotected_header=MappingProxyType({4: message.kid}),
    )
    assert verifier.verify(moved).detail.startswith("cose:")
    extra = rewrap(message, unprotected_header=MappingProxyType({"x": 1}))
    assert verifier.verify(extra).detail.startswith("cose:")


@pytest.mark.parametrize(
    "changes",
    [
        {"iss": None},
        {"aud": None},
        {"handle": None},
        {"cti": None},
        {"iss": "31000"},
        {"iss": 310000},
        {"aud": "everyone"},
        {"cti": b"\x00" * 15},
        {"cti": "0123456789abcdef"},
        {"iat": "2026-06-01"},
        {"iat": True},
        {"exp": -1},
        {"exp": int(T0.timestamp())},  # exp = iat
        {"exp": 2**40},
        {"handle": "short"},
        {"handle": "has space in it"},
        {"handle": codes.make_id_number("310104", datetime(1990, 3, 7).date(), 123)},
        {"handle": codes.make_uscc("91310000MA1FL0000")},
    ],
    ids=repr,
)
def test_bad_claims_are_malformed_even_when_signed(
    sm2: Platform, changes: dict[str, object]
) -> None:
    token = forge(good_claims(**changes), key=sm2.key, kid=sm2.certificate.kid)
    result = sm2.verifier().verify(token)
    assert (result.reason, result.claims) == ("token_malformed", None)
    assert result.detail.startswith("claims:"), result.detail


def test_unknown_or_non_integer_claim_keys_are_malformed(sm2: Platform) -> None:
    extras: list[tuple[object, object]] = [(2, "subject"), ("handle", HANDLE), (-70004, 1)]
    for key, value in extras:
        claims: dict[object, object] = {**good_claims(), key: value}
        token = forge(claims, key=sm2.key, kid=sm2.certificate.kid)
        assert sm2.verifier().verify(token).detail.startswith("claims:")
    not_a_map = forge([1], key=sm2.key, kid=sm2.certificate.kid)
    assert sm2.verifier().verify(not_a_map).detail.startswith("claims:")


def test_non_text_token_is_malformed(sm2: Platform) -> None:
    for token in (None, b"EZT1:", 42):
        result = sm2.verifier().verify(token)  # type: ignore[arg-type]
        assert result.reason == "token_malformed"


def test_scanner_newline_is_tolerated(sm2: Platform) -> None:
    token = sm2.issuer().issue(HANDLE)
    assert sm2.verifier().verify(token + "\r\n").ok


# -- kid collisions ---------------------------------------------------------------------------


def test_kid_collision_tries_every_certificate(
    sm2: Platform, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Every certificate gets the same kid, as two real certificates might by chance.
    monkeypatch.setattr(Certificate, "kid", property(lambda self: b"\x01" * 8))
    decoy_sm2 = make_certificate(generate_private_key(SM2_SM3), name="decoy SM2")
    decoy_ed = make_certificate(generate_private_key(ED25519), name="decoy Ed25519")
    assert decoy_sm2.kid == decoy_ed.kid == sm2.certificate.kid
    token = sm2.issuer().issue(HANDLE)
    verifier = sm2.verifier(certificates=[decoy_ed, decoy_sm2, sm2.certificate])
    assert verifier.verify(token).ok
    lone = sm2.verifier(certificates=[decoy_ed, decoy_sm2])
    result = lone.verify(sm2.issuer().issue(HANDLE))
    assert result.reason == "token_signature_invalid"
    assert "decoy SM2" in result.detail and "decoy Ed25519" in result.detail


def test_kid_collision_prefers_a_certificate_valid_at_iat(
    sm2: Platform, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The same key in an expired and a renewed certificate, both answering to one kid.
    monkeypatch.setattr(Certificate, "kid", property(lambda self: b"\x02" * 8))
    expired = make_certificate(
        sm2.key, not_before=T0 - timedelta(days=400), not_after=T0 - timedelta(days=35)
    )
    token = sm2.issuer().issue(HANDLE)
    assert sm2.verifier(certificates=[expired, sm2.certificate]).verify(token).ok
    alone = sm2.verifier(certificates=[expired]).verify(token)
    assert alone.reason == "token_certificate_invalid"


def test_unknown_kid(sm2: Platform) -> None:
    other = Platform(SM2_SM3)
    result = sm2.verifier().verify(other.issuer().issue(HANDLE))
    assert (result.reason, result.claims) == ("token_kid_unknown", None)


# -- handles ----------------------------------------------------------------------------------

LICENCE_ID = "1.2.156.3005.2.11100000000013338W009.11330105002500287C.2025052201.002.0"
ID_NUMBER = codes.make_id_number("310104", datetime(1990, 3, 7).date(), 123)
USCC = codes.make_uscc("91310000MA1FL0000")


@pytest.mark.parametrize(
    "handle",
    [
        LICENCE_ID,
        ID_NUMBER,
        ID_NUMBER[:-1] + ID_NUMBER[-1].lower(),
        USCC,
        USCC.lower(),
        "short",
        "x" * 129,
        "has space",
        "slash/es/are/not/url-safe",
        "padding==",
        "全角字符句柄句柄句柄",
        "",
    ],
)
def test_handle_refused(sm2: Platform, handle: str) -> None:
    assert not is_valid_handle(handle)
    with pytest.raises(InputError):
        sm2.issuer().issue(handle)


def test_handle_accepted() -> None:
    assert codes.is_valid_licence_id(LICENCE_ID)
    assert codes.is_valid_id_number(ID_NUMBER)
    assert codes.is_valid_uscc(USCC)
    for handle in ("abcdefgh", "A-b_C" * 25, "0123456789", "x" * 128):
        assert is_valid_handle(handle), handle
    assert not is_valid_handle(12345678)


def test_handle_must_be_text(sm2: Platform) -> None:
    with pytest.raises(InputError):
        sm2.issuer().issue(12345678)  # type: ignore[arg-type]


# -- configuration ----------------------------------------------------------------------------


def test_issuer_configuration(sm2: Platform) -> None:
    other = generate_private_key(SM2_SM3)
    with pytest.raises(ConfigurationError, match="key"):
        PresentationIssuer(signer=other, certificate=sm2.certificate, region=REGION)
    for region in ("31000", "990000", "*", None):
        with pytest.raises(ConfigurationError):
            PresentationIssuer(
                signer=sm2.key,
                certificate=sm2.certificate,
                region=region,  # type: ignore[arg-type]
            )
    no_signing = make_certificate(sm2.key, key_usage=("keyAgreement",))
    with pytest.raises(ConfigurationError, match="digitalSignature"):
        PresentationIssuer(signer=sm2.key, certificate=no_signing, region=REGION)
    with pytest.raises(ConfigurationError):
        sm2.issuer(lifetime=timedelta(0))
    naive = sm2.issuer(clock=lambda: T0.replace(tzinfo=None))
    with pytest.raises(ConfigurationError):
        naive.issue(HANDLE)


def test_verifier_configuration(sm2: Platform) -> None:
    cache = MemoryReplayCache()
    with pytest.raises(ConfigurationError):
        PresentationVerifier(certificates=[], replay_cache=cache, region=REGION)
    with pytest.raises(ConfigurationError):
        PresentationVerifier(
            certificates=[sm2.certificate],
            replay_cache=object(),  # type: ignore[arg-type]
            region=REGION,
        )
    with pytest.raises(ConfigurationError):
        PresentationVerifier(certificates=[sm2.certificate], replay_cache=cache, region="*")
    with pytest.raises(ConfigurationError):
        sm2.verifier(clock_skew=timedelta(seconds=-1))
    with pytest.raises(ConfigurationError):
        sm2.verifier(max_lifetime=timedelta(0))
    no_signing = make_certificate(sm2.key, key_usage=("keyAgreement",))
    with pytest.raises(ConfigurationError):
        sm2.verifier(certificates=[no_signing])
    verifier = sm2.verifier(clock=lambda: T0.replace(tzinfo=None))
    with pytest.raises(ConfigurationError):
        verifier.verify("EZT1:")
    assert sm2.verifier(region="310104").region == "310104"


# -- results ----------------------------------------------------------------------------------


def test_reasons_have_messages(sm2: Platform) -> None:
    token_codes = [code for code in REASONS if code.startswith("token_")]
    assert len(token_codes) >= 9
    for code in token_codes:
        reason = REASONS[code]
        assert reason.code == code and reason.zh and reason.en
    token = sm2.issuer().issue(HANDLE)
    verifier = sm2.verifier()
    verifier.verify(token)
    result = verifier.verify(token)
    assert result.message_zh == "亮证码已被使用"
    assert result.message_en.startswith("the presentation token was already used: jti ")
    view = result.to_dict()
    assert view["reason"] == "token_replayed" and view["status"] == "FAILED"
    assert view["claims"] == result.claims.to_dict()  # type: ignore[union-attr]
    assert isinstance(result.claims, PresentationClaims)
    assert "jti" not in repr(result.claims)


# -- property ---------------------------------------------------------------------------------

_PROPERTY_PLATFORM = Platform(SM2_SM3)
_PROPERTY_VERIFIER = _PROPERTY_PLATFORM.verifier()
_PROPERTY_HEADER: dict[int | str, object] = {
    1: cose.ALG_SM2_SM3,
    4: _PROPERTY_PLATFORM.certificate.kid,
}

_claim_values = st.one_of(
    st.integers(min_value=-(2**64), max_value=2**64),
    st.text(max_size=20),
    st.binary(max_size=20),
    st.booleans(),
    st.none(),
    st.lists(st.integers(), max_size=3),
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    text=st.one_of(
        st.text(),
        st.text(alphabet=BASE45).map(lambda s: "EZT1:" + s),
        st.binary().map(lambda b: qrtext.wrap(b, prefix=PREFIX)),
        st.dictionaries(
            st.sampled_from([1, 2, 3, 4, 6, 7, CLAIM_HANDLE]), _claim_values, max_size=7
        ).map(
            lambda claims: qrtext.wrap(
                cose.CoseSign1(
                    protected=cbor.dumps(_PROPERTY_HEADER),
                    protected_header=_PROPERTY_HEADER,
                    unprotected_header={},
                    payload=cbor.dumps(claims),
                    signature=b"\x00" * 64,
                ).encode(),
                prefix=PREFIX,
            )
        ),
    )
)
def test_random_input_never_raises(text: str) -> None:
    result = _PROPERTY_VERIFIER.verify(text)
    assert result.reason in REASONS
    assert result.reason != "ok"
