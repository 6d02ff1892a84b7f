"""What ``display`` shows of forged and of authentic-but-refused licences.

A forger can copy any authority's seal (it is public inside every licence it sealed) and sign
content of their own with another key: the verdict is FAILED, and the display must show
neither that content nor the genuine seal's picture. A licence that is authentic but
refused (expired, revoked, a seal out of date, a type the issuer may not issue) still shows
what it says, so that the clerk sees which licence was refused.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import replace
from datetime import timedelta
from pathlib import Path

import pytest

from ezhengzhao.formats import cbor, cose, qrtext
from ezhengzhao.formats.licence_json import licence_canonical_bytes
from ezhengzhao.formats.sealed import SealedLicence, parse_sealed_document
from ezhengzhao.qr.payload import CLAIM_LICENCE, PREFIX
from ezhengzhao.sign.keys import generate_private_key, load_private_key
from ezhengzhao.sign.ses import make_signature, parse_ses_signature, sm3
from ezhengzhao.sign.suites import SM2_SM3
from ezhengzhao.sign.x509 import Certificate, Name, build_certificate
from tests.service.apptools import Api, copy_demo, demo_time, running_api
from verifier_service.schemas import VerifyResponse

FORGED_HOLDER = "冒名顶替"
CONTENT = ("title", "licence_id", "holder_name", "issuer_name", "valid_from", "valid_until")


@pytest.fixture
def data(demo_dir: Path, tmp_path: Path) -> Path:
    return copy_demo(demo_dir, tmp_path / "data")


@pytest.fixture
def api(data: Path) -> Iterator[Api]:
    with running_api(data) as running:
        yield running


def _samples(data: Path, key: str = "samples") -> list[dict[str, object]]:
    manifest = json.loads((data / "manifest.json").read_text(encoding="utf-8"))
    samples: list[dict[str, object]] = manifest[key]
    return samples


def _sample(data: Path, reasons: list[str], key: str = "samples") -> bytes:
    entry = next(
        s
        for s in _samples(data, key)
        if s["expected_reasons"] == reasons and str(s["file"]).endswith(".ezz.json")
    )
    return (data / str(entry["file"])).read_bytes()


def _genuine(data: Path) -> bytes:
    return _sample(data, [])


def _display(api: Api, document: bytes) -> tuple[dict[str, object], dict[str, object]]:
    result = api.verify(document.decode("utf-8")).json()["result"]
    display: dict[str, object] = result["display"]
    return result, display


def _assert_withheld(display: dict[str, object], *forged_text: str) -> None:
    assert display["unverified"] is True
    assert display["seal_picture"] is None
    assert display["fields"] == []
    assert all(display[key] is None for key in CONTENT), display
    assert isinstance(display["notice_zh"], str) and "不显示" in display["notice_zh"]
    assert isinstance(display["notice_en"], str) and display["notice_en"]
    shown = json.dumps(display, ensure_ascii=False)
    for text in forged_text:
        assert text not in shown


def _assert_shown(display: dict[str, object], *, picture: bool) -> None:
    assert display["unverified"] is False
    assert display["notice_zh"] is None and display["notice_en"] is None
    assert display["title"] and display["holder_name"] and display["licence_id"]
    assert display["fields"]
    if picture:
        assert str(display["seal_picture"]).startswith("data:image/png;base64,")
    else:
        assert display["seal_picture"] is None


def _forge_with_genuine_seal(data: Path) -> bytes:
    """A genuine licence's seal (copied from it) over forged content, signed with a key and
    self-signed certificate of the forger's own that name the real issuer."""
    original = _genuine(data)
    sealed = SealedLicence.from_json(original)
    seal = parse_ses_signature(parse_sealed_document(original).ses_signature).seal
    licence = sealed.licence
    forged = replace(
        licence,
        holder=replace(licence.holder, name=FORGED_HOLDER),
        surface={
            key: FORGED_HOLDER if value == licence.holder.name else value
            for key, value in licence.surface.items()
        },
    )
    key = generate_private_key(SM2_SM3)
    name = Name(
        common_name=licence.issuer.name,
        organization=licence.issuer.name,
        serial_number=licence.issuer.code,
    )
    now = demo_time(data)
    certificate = build_certificate(
        subject=name,
        subject_key=key.public_key,
        issuer=name,
        issuer_signer=key,
        not_before=now - timedelta(days=1),
        not_after=now + timedelta(days=365),
    )
    signature = make_signature(
        seal=seal,
        data_hash=sm3(licence_canonical_bytes(forged)),
        time_info=now - timedelta(seconds=5),
        property_info=forged.licence_id,
        signer_cert=certificate.der,
        sign_alg_oid=key.suite.signature_oid,
        sign=key.sign,
    )
    return SealedLicence(forged, signature.der).to_json(indent=None)


def test_genuine_seal_over_forged_content_shows_neither(api: Api, data: Path) -> None:
    forged = _forge_with_genuine_seal(data)
    result, display = _display(api, forged)
    assert result["status"] == "FAILED"
    # The seal itself checks out — it is a real one — which is why its picture must not.
    passed = {c["name"] for c in result["checks"] if c["status"] == "PASSED"}
    assert {"seal.maker_signature", "seal.maker_chain", "seal.validity", "data_hash"} <= passed
    _assert_withheld(display, FORGED_HOLDER)


def test_demo_forgeries_show_neither_content_nor_seal(api: Api, data: Path) -> None:
    for reasons in (
        # Another trusted authority's key with this authority's seal.
        ["signer_not_in_seal", "issuer_mismatch"],
        # A look-alike authority under a root nobody trusts.
        ["seal_maker_untrusted", "issuer_untrusted", "signer_not_listed"],
    ):
        document = _sample(data, reasons)
        result, display = _display(api, document)
        assert (result["status"], result["reasons"]) == ("FAILED", reasons)
        holder = SealedLicence.from_json(document).licence.holder.name
        _assert_withheld(display, holder)


def _qr_signed_by_another(data: Path) -> tuple[str, str]:
    """A QR code naming a genuine licence's issuer, signed by another (trusted) authority's
    key — as that authority, turned forger, would make one — and the holder it names."""
    licence = SealedLicence.from_json(_genuine(data)).licence
    folder = next(
        folder
        for folder in sorted((data / "pki").glob("*/authorities/*"))
        if folder.name != licence.issuer.code and (folder / "signer-sm2.key.pem").is_file()
    )
    signer = load_private_key((folder / "signer-sm2.key.pem").read_bytes())
    certificate = Certificate.from_pem((folder / "signer-sm2.pem").read_bytes())
    now = int(demo_time(data).timestamp())
    end = licence.validity.end
    claims = {
        1: licence.licence_id,
        2: licence.type_code,
        3: FORGED_HOLDER,
        4: licence.holder.code,
        5: licence.number,
        6: [licence.validity.start.isoformat(), None if end is None else end.isoformat()],
        7: {},
    }
    cwt = {
        cose.CWT_ISS: licence.issuer.code,
        cose.CWT_IAT: now - 60,
        cose.CWT_EXP: now + 3600,
        CLAIM_LICENCE: claims,
    }
    message = cose.sign1(
        cbor.dumps(cwt),
        alg=cose.alg_for_suite(signer.suite.id),
        kid=certificate.kid,
        sign=signer.sign,
    )
    return qrtext.wrap(message.encode(), prefix=PREFIX), licence.holder.name


def test_qr_code_signed_by_another_authority_shows_nothing(api: Api, data: Path) -> None:
    text, holder = _qr_signed_by_another(data)
    result = api.verify(text).json()["result"]
    assert result["status"] == "FAILED" and "issuer_mismatch" in result["reasons"]
    # The signature itself is good (a trusted key made it), so the claims were read.
    assert result["claims"] is not None
    _assert_withheld(result["display"], FORGED_HOLDER, holder)


def test_unreadable_input_says_nothing_can_be_shown(api: Api) -> None:
    display = api.verify("hello, world").json()["result"]["display"]
    _assert_withheld(display)


def test_authentic_but_refused_licences_still_show_their_content(api: Api, data: Path) -> None:
    # Expired: every authenticity and seal check passed, so content and seal are shown.
    _, display = _display(api, _sample(data, ["licence_expired"]))
    assert display["verdict"] == "FAILED"
    _assert_shown(display, picture=True)
    # The seal is out of date: the content is the issuer's, the picture proves nothing.
    _, display = _display(api, _sample(data, ["seal_expired"]))
    _assert_shown(display, picture=False)
    # An issuer not listed for this licence type: content shown, picture not.
    _, display = _display(api, _sample(data, ["licence_type_not_listed"]))
    _assert_shown(display, picture=False)
    # Revoked by its status list.
    _, display = _display(api, _sample(data, ["licence_revoked"], key="status_samples"))
    assert display["verdict"] == "FAILED"
    _assert_shown(display, picture=True)
    # And a valid one, of course.
    _, display = _display(api, _genuine(data))
    assert display["verdict"] == "PASSED"
    _assert_shown(display, picture=True)


def test_every_demo_answer_is_exactly_the_documented_shape(api: Api, data: Path) -> None:
    """/v1/verify sends its body without re-validating it: every demo sample's answer must be
    what VerifyResponse describes, no field missing, mistyped or extra."""
    answers = 0
    for key in ("samples", "qr_samples"):
        for sample in _samples(data, key):
            response = api.verify((data / str(sample["file"])).read_text(encoding="utf-8"))
            assert response.status_code == 200, response.text
            body = response.json()
            assert VerifyResponse.model_validate(body).model_dump(mode="json") == body
            assert body["result"]["status"] == sample["expected_status"], sample["file"]
            answers += 1
    assert answers >= 30
    genuine = _genuine(data).decode("utf-8")
    for document in (
        "EZZ1:A",
        "EZZ1:" + "0" * 3000,
        "not a licence at all",
        {"format": "ezz/sealed/1"},
        {"format": "ezz/sealed/1", "licence": [], "ses_signature": 7},
        genuine.replace('"ses_signature": "M', '"ses_signature": "N', 1),
        genuine[: len(genuine) // 2],
    ):
        response = api.verify(document)
        assert response.status_code == 200, response.text
        body = response.json()
        assert body["result"]["status"] == "FAILED"
        assert VerifyResponse.model_validate(body).model_dump(mode="json") == body
