"""Offline EZZ1 codes: issued by an authority, verified by the Verifier, every failure named."""

from __future__ import annotations

import random
from datetime import timedelta

import pytest

from ezhengzhao.catalogue import Catalogue
from ezhengzhao.demo import DemoDomain
from ezhengzhao.errors import ImageError, IssuanceError, PayloadError
from ezhengzhao.formats import cbor, cose, qrtext
from ezhengzhao.issue import IssuingAuthority
from ezhengzhao.model import Holder, LicenceDraft
from ezhengzhao.qr.image import qr_version, render_png
from ezhengzhao.qr.payload import CLAIM_LICENCE, PREFIX, decode_qr_text, parse_claims
from ezhengzhao.result import CheckStatus, Status
from ezhengzhao.sign.suites import ECDSA_P256_SHA256, SM2_SM3
from ezhengzhao.trust.store import TrustStore
from ezhengzhao.verify import Verifier

CATALOGUE = Catalogue.builtin()
FOOD = CATALOGUE.by_name("食品经营许可证")


def _authority(domain: DemoDomain, suite: str = SM2_SM3) -> IssuingAuthority:
    return domain.regions[0].authorities[0].credentials(suite)


def _signers(domain: DemoDomain) -> list:  # type: ignore[type-arg]
    return [c for r in domain.regions for a in r.authorities for c in a.certificates.values()]


def _verifier(
    domain: DemoDomain, *, at_offset: timedelta = timedelta(minutes=1), signers: list | None = None
) -> Verifier:  # type: ignore[type-arg]
    trust = TrustStore.from_certificates(
        [r.root for r in domain.regions],
        signers=_signers(domain) if signers is None else signers,
    )
    at = domain.created + at_offset
    return Verifier(trust_store=trust, clock=lambda: at, region="340000")


def _food(domain: DemoDomain, suite: str = SM2_SM3, **changes: object) -> str:
    surface = FOOD.example_surface()
    draft = LicenceDraft(
        type_code=FOOD.code,
        number="JY13101150000042",
        holder=Holder(str(surface["KZ_JYZMC"]), str(surface["KZ_SHXYDM"]), "001"),
        surface=surface,
        **changes,  # type: ignore[arg-type]
    )
    authority = _authority(domain, suite)
    sealed = authority.issue(draft, catalogue=CATALOGUE, now=domain.created)
    return authority.qr_text(sealed.licence, catalogue=CATALOGUE, now=domain.created)


def test_qr_text_round_trip_and_size(demo_domain: DemoDomain) -> None:
    text = _food(demo_domain)
    assert text.startswith(PREFIX)
    assert set(text[len(PREFIX) :]) <= set("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:")
    assert qr_version(text, ecc="M") <= 15  # the issue's size goal for 食品经营许可证
    message = decode_qr_text(text)
    assert message.alg == cose.ALG_SM2_SM3
    claims = parse_claims(message.payload)
    assert claims.type_code == FOOD.code
    assert set(claims.surface) == {f.key for f in FOOD.qr_fields}
    assert (
        claims.expires_at <= demo_domain.regions[0].authorities[0].certificates[SM2_SM3].not_after
    )


@pytest.mark.parametrize("suite", [SM2_SM3, ECDSA_P256_SHA256])
def test_valid_code_passes_with_claims(demo_domain: DemoDomain, suite: str) -> None:
    result = _verifier(demo_domain).verify(_food(demo_domain, suite))
    assert result.status is Status.PASSED, result.reasons
    assert result.suite == suite
    assert [c.name for c in result.checks] == [
        "format",
        "signature",
        "claims",
        "signer.chain",
        "trust.issuer",
        "identifier",
        "expiry",
        "validity",
    ]
    assert result.claims is not None and result.claims.holder_name
    assert result.to_dict()["claims"]["licence_id"] == result.claims.licence_id


def test_scanner_gun_input_is_accepted(demo_domain: DemoDomain) -> None:
    text = _food(demo_domain)
    verifier = _verifier(demo_domain)
    assert verifier.verify(f"  {text}\r\n").ok
    assert verifier.verify(text.encode()).ok


def test_expired_code_with_skew(demo_domain: DemoDomain) -> None:
    text = _food(demo_domain)
    exp = parse_claims(decode_qr_text(text).payload).expires_at
    late = exp - demo_domain.created
    assert (
        _verifier(demo_domain, at_offset=late + timedelta(minutes=4))
        .verify(text)
        .check("expiry")
        .status
        is CheckStatus.PASSED
    )  # within the 5-minute tolerance
    result = _verifier(demo_domain, at_offset=late + timedelta(minutes=6)).verify(text)
    assert "qr_expired" in result.reasons


def test_unknown_kid(demo_domain: DemoDomain) -> None:
    result = _verifier(demo_domain, signers=[]).verify(_food(demo_domain))
    assert result.reasons == ("kid_unknown",)
    assert result.claims is None


def test_kid_collision_tries_every_candidate(
    demo_domain: DemoDomain, monkeypatch: pytest.MonkeyPatch
) -> None:
    text = _food(demo_domain)
    real = _authority(demo_domain).certificate
    impostor = demo_domain.regions[1].authorities[0].certificates[SM2_SM3]
    verifier = _verifier(demo_domain, signers=[impostor, real])
    colliding = {real.kid: (impostor, real)}
    monkeypatch.setattr(verifier._trust_state(), "kid_index", colliding)
    assert verifier.verify(text).ok


def _resign(domain: DemoDomain, mutate) -> str:  # type: ignore[no-untyped-def]
    """Decode a code, change its claims, and sign it again with the authority's key."""
    message = decode_qr_text(_food(domain))
    claims = cbor.loads_strict(message.payload)
    mutate(claims)
    authority = _authority(domain)
    signed = cose.sign1(
        cbor.dumps(claims),
        alg=cose.ALG_SM2_SM3,
        kid=authority.certificate.kid,
        sign=authority.signer.sign,
    )
    return qrtext.wrap(signed.encode(), prefix=PREFIX)


def test_issuer_claim_must_match_certificate(demo_domain: DemoDomain) -> None:
    other = demo_domain.regions[1].authorities[0].issuer.code

    def mutate(claims: dict) -> None:  # type: ignore[type-arg]
        claims[cose.CWT_ISS] = other

    result = _verifier(demo_domain).verify(_resign(demo_domain, mutate))
    assert "issuer_mismatch" in result.reasons


def test_signed_but_malformed_claims(demo_domain: DemoDomain) -> None:
    def mutate(claims: dict) -> None:  # type: ignore[type-arg]
        del claims[CLAIM_LICENCE][6]

    result = _verifier(demo_domain).verify(_resign(demo_domain, mutate))
    assert result.reasons == ("qr_claims_invalid",)


def test_expired_licence_gets_no_code(demo_domain: DemoDomain) -> None:
    from datetime import date

    from ezhengzhao.model import Validity

    with pytest.raises(IssuanceError, match="expire"):
        _food(demo_domain, validity=Validity(date(2020, 1, 1), date(2021, 1, 1)))


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("HC1:NCFOXN%TS3DH0YOJ58S S-W5HDC *M0II5XHC9B5G2+$N", "qr_prefix_invalid"),
        ("EZZ1:", "qr_zlib_invalid"),
        ("EZZ1:AAAA", "qr_base45_invalid"),
        ("EZZ1:A", "qr_base45_invalid"),
        ("EZZ1:" + "00" * 20, "qr_zlib_invalid"),
        ("hello", "qr_prefix_invalid"),
    ],
)
def test_malformed_texts(demo_domain: DemoDomain, text: str, reason: str) -> None:
    result = _verifier(demo_domain).verify_qr(text)
    assert result.status is Status.FAILED
    assert result.reasons[0] in (reason, "qr_base45_invalid", "qr_zlib_invalid", "qr_cbor_invalid")
    if reason == "qr_prefix_invalid":
        assert result.reasons == (reason,)


def test_every_single_character_change_fails(demo_domain: DemoDomain) -> None:
    """Each position of a valid code, changed to another QR-alphabet character, gives FAILED —
    unless the change only touches the padding bits of the last deflate byte, which zlib
    ignores: such a text carries the very same signed bytes, so it is the same code."""
    text = _food(demo_domain)
    signed = qrtext.unwrap(text, prefix=PREFIX)
    verifier = _verifier(demo_domain)
    alphabet = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:"
    rng = random.Random(7)
    unexpected = []
    for i in range(len(text)):
        for new in rng.sample([c for c in alphabet if c != text[i]], 2):
            changed = text[:i] + new + text[i + 1 :]
            result = verifier.verify_qr(changed)
            if result.status is not Status.FAILED and (
                qrtext.unwrap(changed, prefix=PREFIX) != signed
            ):
                unexpected.append((i, new, result.status))
    assert unexpected == []


def test_verify_image(demo_domain: DemoDomain) -> None:
    text = _food(demo_domain)
    png = render_png(text, module_px=4)
    results = _verifier(demo_domain).verify_image(png)
    assert len(results) == 1 and results[0].ok
    with pytest.raises(ImageError) as info:
        _verifier(demo_domain).verify_image(b"not an image at all")
    assert info.value.reason == "not_an_image"


def test_decode_errors_are_payload_errors() -> None:
    with pytest.raises(PayloadError) as info:
        decode_qr_text("EZZ1:%%%%")
    assert info.value.stage in ("base45", "zlib")


def test_code_may_not_outlive_its_signer_certificate(demo_domain: DemoDomain) -> None:
    cert = _authority(demo_domain).certificate

    def mutate(claims: dict) -> None:  # type: ignore[type-arg]
        claims[cose.CWT_EXP] = int((cert.not_after + timedelta(days=30)).timestamp())

    result = _verifier(demo_domain).verify(_resign(demo_domain, mutate))
    assert result.reasons == ("qr_outlives_certificate",)


def test_foreign_qr_text_is_not_a_licence_code(demo_domain: DemoDomain) -> None:
    result = _verifier(demo_domain).verify("https://example.invalid/pay?id=42")
    assert result.reasons == ("qr_prefix_invalid",)
    assert "不是电子证照核验码" in result.checks[0].message_zh


def test_issuer_refuses_codes_a_verifier_would_refuse(demo_domain: DemoDomain) -> None:
    credentials = _authority(demo_domain)
    sealed = credentials.issue(
        LicenceDraft(
            type_code=FOOD.code,
            number="JY13101150000043",
            holder=Holder(
                str(FOOD.example_surface()["KZ_JYZMC"]),
                str(FOOD.example_surface()["KZ_SHXYDM"]),
                "001",
            ),
            surface=FOOD.example_surface(),
        ),
        catalogue=CATALOGUE,
        now=demo_domain.created,
    )
    too_late = credentials.certificate.not_after + timedelta(days=1)
    with pytest.raises(IssuanceError, match="not valid at the issuing time"):
        credentials.qr_text(sealed.licence, catalogue=CATALOGUE, now=too_late)
    other = demo_domain.regions[1].authorities[0]
    stranger = IssuingAuthority(
        sealed.licence.issuer, other.keys[SM2_SM3], other.certificates[SM2_SM3], credentials.seal
    )
    with pytest.raises(IssuanceError, match="does not belong"):
        stranger.qr_text(sealed.licence, catalogue=CATALOGUE, now=demo_domain.created)
