"""Forgeries that must fail and inputs that must never escape as exceptions."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from ezhengzhao.catalogue import Catalogue
from ezhengzhao.cli import main
from ezhengzhao.demo import DemoDomain, verify_demo, write_demo
from ezhengzhao.errors import IssuanceError
from ezhengzhao.formats import cbor, cose, qrtext
from ezhengzhao.issue import IssuingAuthority
from ezhengzhao.model import Holder, LicenceDraft
from ezhengzhao.present import PresentationVerifier
from ezhengzhao.qr.payload import PREFIX, decode_qr_text
from ezhengzhao.replay import MemoryReplayCache
from ezhengzhao.result import Status
from ezhengzhao.sign.sealing import make_authority_seal
from ezhengzhao.sign.ses import ExtData, make_seal
from ezhengzhao.verify import Verifier

CATALOGUE = Catalogue.builtin()
FOOD = CATALOGUE.by_name("食品经营许可证")


def _draft(**changes: object) -> LicenceDraft:
    surface = FOOD.example_surface()
    holder = Holder(str(surface["KZ_JYZMC"]), str(surface["KZ_SHXYDM"]), "001")
    draft = LicenceDraft(
        type_code=FOOD.code, number="JY13101150000777", holder=holder, surface=surface
    )
    return replace(draft, **changes)  # type: ignore[arg-type]


def _verifier(domain: DemoDomain) -> Verifier:
    return Verifier(
        trust_store=domain.trust_store(), clock=lambda: domain.created + timedelta(minutes=1)
    )


def _authority(domain: DemoDomain) -> IssuingAuthority:
    return domain.regions[0].authorities[0].credentials()


def test_an_authority_cannot_make_its_own_seal(demo_domain: DemoDomain) -> None:
    credentials = _authority(demo_domain)
    self_made = make_authority_seal(
        name="上海市公安局",
        es_id="310000000000000999",
        signer_certificates=[credentials.certificate],
        maker=credentials.signer,
        maker_certificate=credentials.certificate,
        valid_start=demo_domain.created - timedelta(hours=1),
        valid_end=demo_domain.created + timedelta(days=30),
        created=demo_domain.created,
    )
    forged = replace(credentials, seal=self_made)
    sealed = forged.issue(_draft(), catalogue=CATALOGUE, now=demo_domain.created)
    result = _verifier(demo_domain).verify(sealed.to_json())
    assert result.status is Status.FAILED
    assert "seal_maker_untrusted" in result.reasons


def test_the_issuer_name_must_be_the_certificates(demo_domain: DemoDomain) -> None:
    credentials = _authority(demo_domain)
    renamed = replace(credentials, issuer=replace(credentials.issuer, name="上海市公安局"))
    with pytest.raises(IssuanceError, match="names"):  # the issuing side refuses it
        renamed.issue(_draft(), catalogue=CATALOGUE, now=demo_domain.created)
    sealed = credentials.issue(_draft(), catalogue=CATALOGUE, now=demo_domain.created)
    document = sealed.to_dict()
    licence = document["licence"]
    assert isinstance(licence, dict)
    licence["issuer"]["name"] = "上海市公安局"
    result = _verifier(demo_domain).verify(json.dumps(document, ensure_ascii=False))
    assert result.status is Status.FAILED  # changed after sealing, at the least


def test_critical_seal_extensions_fail_closed(demo_domain: DemoDomain) -> None:
    region = demo_domain.regions[0]
    credentials = _authority(demo_domain)
    info = replace(credentials.seal.info, ext_datas=(ExtData("1.2.3.4.5", True, b"\x05\x00"),))
    seal = make_seal(
        info,
        maker_cert=region.maker.der,
        sign_alg_oid=region.maker_key.suite.signature_oid,
        sign=region.maker_key.sign,
    )
    sealed = replace(credentials, seal=seal).issue(
        _draft(), catalogue=CATALOGUE, now=demo_domain.created
    )
    result = _verifier(demo_domain).verify(sealed.to_json())
    assert result.reasons == ("seal_format_invalid",)
    assert "critical extension" in result.checks[0].detail


@pytest.mark.parametrize("value", [["x"], {"a": 1}, 111, None])
def test_mistyped_fields_never_escape(demo_domain: DemoDomain, value: object) -> None:
    document = (
        _authority(demo_domain)
        .issue(_draft(), catalogue=CATALOGUE, now=demo_domain.created)
        .to_dict()
    )
    for field in ("code_type", "name", "code"):
        changed = json.loads(json.dumps(document, ensure_ascii=False))
        changed["licence"]["holder"][field] = value
        result = _verifier(demo_domain).verify(json.dumps(changed, ensure_ascii=False))
        assert result.reasons == ("licence_invalid",)


def _resigned_qr(domain: DemoDomain, **claims: int) -> str:
    credentials = _authority(domain)
    sealed = credentials.issue(_draft(), catalogue=CATALOGUE, now=domain.created)
    message = decode_qr_text(
        credentials.qr_text(sealed.licence, catalogue=CATALOGUE, now=domain.created)
    )
    values = cbor.loads_strict(message.payload)
    assert isinstance(values, dict)
    for key, value in claims.items():
        values[{"exp": cose.CWT_EXP, "iat": cose.CWT_IAT}[key]] = value
    signed = cose.sign1(
        cbor.dumps(values),
        alg=cose.ALG_SM2_SM3,
        kid=credentials.certificate.kid,
        sign=credentials.signer.sign,
    )
    return qrtext.wrap(signed.encode(), prefix=PREFIX)


@pytest.mark.parametrize("exp", [253402300799, 2**39, 2**63])
def test_far_future_dates_in_codes_are_refused_not_raised(
    demo_domain: DemoDomain, exp: int
) -> None:
    result = _verifier(demo_domain).verify(_resigned_qr(demo_domain, exp=exp))
    assert result.reasons == ("qr_claims_invalid",)


def test_far_future_dates_in_tokens_are_refused_not_raised(demo_domain: DemoDomain) -> None:
    credentials = _authority(demo_domain)
    claims = {1: "310000", 3: "*", 6: 2**39, 4: 2**39 + 60, 7: b"\0" * 16, -70003: "abcdefghij"}
    message = cose.sign1(
        cbor.dumps(claims),
        alg=cose.ALG_SM2_SM3,
        kid=credentials.certificate.kid,
        sign=credentials.signer.sign,
    )
    token = qrtext.wrap(message.encode(), prefix="EZT1:")
    verifier = PresentationVerifier(
        certificates=[credentials.certificate], replay_cache=MemoryReplayCache(), region="310000"
    )
    assert verifier.verify(token).reason == "token_malformed"


def test_issue_date_is_the_china_civil_date(demo_domain: DemoDomain) -> None:
    """At 23:00 UTC it is already the next day in China: that is the issue date."""
    late = (demo_domain.created + timedelta(days=1)).replace(hour=23, minute=0, second=0)
    sealed = _authority(demo_domain).issue(_draft(), catalogue=CATALOGUE, now=late)
    assert sealed.licence.issue_date == late.date() + timedelta(days=1)


def test_issuer_refuses_what_the_verifier_would(demo_domain: DemoDomain) -> None:
    with pytest.raises(IssuanceError, match="ezz/licence/1"):
        _authority(demo_domain).issue(
            _draft(holder=Holder("某" * 300, "91310115MA7CK9P111", "001")),
            catalogue=CATALOGUE,
            now=demo_domain.created,
        )


def test_demo_verifies_long_after_it_was_made(tmp_path: Path) -> None:
    """The samples demonstrate what they say as of the domain's making, whenever run."""
    write_demo(tmp_path / "old", now=datetime.now(UTC) - timedelta(days=40))
    import io

    out = io.StringIO()
    assert verify_demo(tmp_path / "old", out=out) == 0, out.getvalue()


def test_cli_os_errors_are_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "adir").mkdir()
    assert main(["keygen", "--out", str(tmp_path / "adir")]) == 3
    assert main(["demo", "verify", str(tmp_path / "missing")]) == 3
    err = capsys.readouterr().err
    assert "Traceback" not in err and err.count("\n") == 2
