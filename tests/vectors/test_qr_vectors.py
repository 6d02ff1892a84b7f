"""The published offline QR code vectors in ``test_vectors/qr/``, one test per vector id.

Each vector is verified with a trust store holding its ``root.pem`` as the root and its
``signer.pem`` as the only signer, and a clock fixed at its ``validation_time``, and must get
exactly its expected status, reasons, warnings and checks — from its ``qr.txt`` and from its
``qr.png``. The intermediate values it publishes (base45 text, zlib stream, COSE_Sign1,
protected header, claims, Sig_structure, signature) are recomputed from ``qr.txt``, so a
vector can never document bytes the verifier did not see. ``test_vectors/qr/tokens/`` is
another vector set (``tests/vectors/test_token_vectors.py``). Regenerate with
``scripts/make_qr_vectors.py``.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import cbor2
import pytest

from ezhengzhao.errors import InvalidSignatureError, PayloadError
from ezhengzhao.formats import cbor, cose, qrtext
from ezhengzhao.formats.base45 import b45decode, b45encode
from ezhengzhao.qr.payload import CLAIM_LICENCE, PREFIX, parse_claims
from ezhengzhao.qr.scan import scan_image
from ezhengzhao.sign.suites import ED25519, SignatureForm
from ezhengzhao.sign.x509 import Certificate
from ezhengzhao.trust.store import TrustStore
from ezhengzhao.verify import Verifier
from tests.conftest import PROJECT_VECTORS
from tests.vectors.vector_set import VectorSet

QR_VECTORS = PROJECT_VECTORS / "qr"
INDEX = QR_VECTORS / "index.json"
REGENERATE = "regenerate with: .venv/bin/python scripts/make_qr_vectors.py"
#: Folders of test_vectors/qr/ that are not vectors of this set.
OTHER_SETS = frozenset({"tokens"})

#: Files every vector has.
CORE_FILES = frozenset(
    {
        "expected.json",
        "licence.json",
        "qr.txt",
        "base45.txt",
        "qr.png",
        "root.pem",
        "signer.pem",
    }
)
#: The stages, in pipeline order, each present exactly when the text decodes that far.
BASE45_FILES = ("compressed.hex",)
ZLIB_FILES = ("cose.hex",)
COSE_FILES = (
    "protected.hex",
    "claims.cbor.hex",
    "claims.json",
    "sig_structure.hex",
    "signature.hex",
)
STAGE_FILES = frozenset(BASE45_FILES + ZLIB_FILES + COSE_FILES)


_SET = VectorSet(QR_VECTORS, REGENERATE)
_index = _SET.index
_vector_ids = _SET.ids
_folder = _SET.folder
_read = _SET.read
_json = _SET.json
_hex = _SET.hex


def _has(vector_id: str, name: str) -> bool:
    return (_folder(vector_id) / name).is_file()


def _text(vector_id: str, name: str) -> str:
    """A text file exactly as written: no newline is added or stripped (space is base45)."""
    return _read(vector_id, name).decode("ascii")


def _certificate(vector_id: str, name: str) -> Certificate:
    return Certificate.from_pem(_read(vector_id, name))


def _time(text: str) -> datetime:
    moment = datetime.fromisoformat(text)
    assert moment.tzinfo is not None, f"{text} must carry its time zone"
    return moment


def _diagnostic(value: object) -> object:
    """claims.json's rendering: map keys as strings, byte strings as h'…', tags spelled out."""
    if isinstance(value, dict):
        return {str(k): _diagnostic(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_diagnostic(v) for v in value]
    if isinstance(value, bytes):
        return f"h'{value.hex()}'"
    if isinstance(value, cbor2.CBORTag):
        return {"tag": value.tag, "value": _diagnostic(value.value)}
    return value


def _verifier(vector_id: str, expected: dict[str, Any]) -> Verifier:
    validation_time = _time(expected["validation_time"])
    return Verifier(
        trust_store=TrustStore.from_certificates(
            [_certificate(vector_id, "root.pem")], signers=[_certificate(vector_id, "signer.pem")]
        ),
        clock=lambda: validation_time,
        clock_skew=timedelta(seconds=expected["clock_skew_seconds"]),
    )


# ---------------------------------------------------------------- the index


def test_index_lists_exactly_the_vector_folders() -> None:
    index = _index()
    assert index["format"] == "ezz/qr-vectors/1"
    listed = [v["id"] for v in index["vectors"]]
    assert len(listed) == len(set(listed)), "a vector id is listed twice"
    on_disk = sorted(p.name for p in QR_VECTORS.iterdir() if p.is_dir())
    assert sorted(listed) == sorted(set(on_disk) - OTHER_SETS), (
        "index.json and the vector folders disagree"
    )
    assert (QR_VECTORS / "README.md").is_file()


def test_published_size_stays_small() -> None:
    total = sum(p.stat().st_size for p in QR_VECTORS.rglob("*") if p.is_file())
    assert total < 600 * 1024, f"test_vectors/qr/ holds {total} bytes"


@pytest.mark.parametrize("vector_id", _vector_ids())
def test_vector_files(vector_id: str) -> None:
    """The folder holds exactly the files index.json names, and every file a vector needs."""
    entry = next(v for v in _index()["vectors"] if v["id"] == vector_id)
    present = {p.name for p in _folder(vector_id).iterdir()}
    listed = set(entry["files"])
    assert present == listed, f"unlisted: {present - listed}, missing: {listed - present}"
    assert listed >= CORE_FILES, f"missing: {sorted(CORE_FILES - listed)}"
    assert listed <= CORE_FILES | STAGE_FILES, f"unknown: {sorted(listed - CORE_FILES)}"
    expected = _json(vector_id, "expected.json")
    assert expected["id"] == vector_id
    assert expected["description"] == entry["description"]
    if expected["expected_status"] == "PASSED":
        assert listed >= STAGE_FILES, f"missing: {sorted(STAGE_FILES - listed)}"


# ---------------------------------------------------------------- the verdict


@pytest.mark.parametrize("vector_id", _vector_ids())
def test_verdict(vector_id: str) -> None:
    expected = _json(vector_id, "expected.json")
    result = _verifier(vector_id, expected).verify_qr(_text(vector_id, "qr.txt"))
    assert (result.status.value, list(result.reasons), list(result.warnings)) == (
        expected["expected_status"],
        expected["expected_reasons"],
        expected["expected_warnings"],
    )
    checks = [{"name": c.name, "status": c.status.value, "reason": c.reason} for c in result.checks]
    assert checks == expected["expected_checks"]
    assert result.validation_time == _time(expected["validation_time"])
    if result.ok:
        assert result.suite == expected["suite"]
        assert result.claims is not None
        assert result.claims.licence_id == _json(vector_id, "licence.json")["licence_id"]
    # Claims are never handed out unless their signature verified.
    if result.claims is not None:
        assert any(c.name == "signature" and c.status.value == "PASSED" for c in result.checks)


@pytest.mark.parametrize("vector_id", _vector_ids())
def test_image_verdict(vector_id: str) -> None:
    """qr.png holds qr.txt, and verifying the image is verifying the text."""
    png = _read(vector_id, "qr.png")
    assert png.startswith(b"\x89PNG\r\n\x1a\n")
    assert scan_image(png) == [_text(vector_id, "qr.txt")]
    expected = _json(vector_id, "expected.json")
    (result,) = _verifier(vector_id, expected).verify_image(png)
    assert (result.status.value, list(result.reasons), list(result.warnings)) == (
        expected["expected_status"],
        expected["expected_reasons"],
        expected["expected_warnings"],
    )


# ---------------------------------------------------------------- the intermediate bytes


@pytest.mark.parametrize("vector_id", _vector_ids())
def test_intermediate_bytes(vector_id: str) -> None:
    """Each published stage follows from qr.txt, and is published exactly as far as it goes."""
    expected = _json(vector_id, "expected.json")
    reasons = expected["expected_reasons"]
    text = _text(vector_id, "qr.txt")
    body = _text(vector_id, "base45.txt")
    prefix, colon, rest = text.partition(":")
    assert colon and rest == body, "base45.txt is qr.txt after its prefix"
    assert (prefix + colon == PREFIX) is ("qr_prefix_invalid" not in reasons)

    def absent(names: tuple[str, ...]) -> None:
        for name in names:
            assert not _has(vector_id, name), f"{name} is published but {text!r} has no such stage"

    try:
        compressed = b45decode(body)
    except PayloadError:
        assert "qr_base45_invalid" in reasons
        absent(BASE45_FILES + ZLIB_FILES + COSE_FILES)
        return
    assert _hex(vector_id, "compressed.hex") == compressed
    assert b45encode(compressed) == body
    try:
        inflated = qrtext.decompress(compressed)
    except PayloadError:
        assert "qr_zlib_invalid" in reasons
        absent(ZLIB_FILES + COSE_FILES)
        return
    assert _hex(vector_id, "cose.hex") == inflated
    message = cose.decode_sign1(inflated)
    assert _hex(vector_id, "protected.hex") == message.protected
    assert _hex(vector_id, "claims.cbor.hex") == message.payload
    assert _hex(vector_id, "sig_structure.hex") == message.sig_structure()
    assert _hex(vector_id, "signature.hex") == message.signature
    assert _json(vector_id, "claims.json") == _diagnostic(cbor.loads_strict(message.payload))
    assert expected["cose_alg"] == message.alg
    assert expected["kid"] == (None if message.kid is None else message.kid.hex())
    if expected["expected_status"] == "PASSED":
        _check_valid(vector_id, expected, message)


def _check_valid(vector_id: str, expected: dict[str, Any], message: cose.CoseSign1) -> None:
    """A valid code: signed by signer.pem as labelled, saying what licence.json says."""
    signer = _certificate(vector_id, "signer.pem")
    assert message.protected_header == {
        cose.HDR_ALG: cose.alg_for_suite(expected["suite"]),
        cose.HDR_KID: signer.kid,
    }
    assert message.protected == cbor.dumps(dict(message.protected_header))
    assert message.unprotected_header == {}
    cose.verify_sign1(message, signer.public_key)
    assert qrtext.unwrap(_text(vector_id, "qr.txt")) == _hex(vector_id, "cose.hex")

    licence = _json(vector_id, "licence.json")
    claims = parse_claims(message.payload)
    assert claims.issuer_code == licence["issuer"]["code"] == signer.subject.serial_number
    assert claims.licence_id == licence["licence_id"]
    assert claims.type_code == licence["type_code"]
    assert claims.holder_name == licence["holder"]["name"]
    assert claims.holder_code == licence["holder"]["code"]
    assert claims.number == licence["number"]
    assert claims.valid_from.isoformat() == licence["validity"]["start"]
    end = claims.valid_until
    assert (None if end is None else end.isoformat()) == licence["validity"]["end"]
    assert _time(expected["signing_time"]) == claims.issued_at
    assert claims.issued_at < claims.expires_at <= signer.not_after


@pytest.mark.parametrize("vector_id", _vector_ids())
def test_signature_is_genuine(vector_id: str) -> None:
    """Every decodable signature is a real one by signer.pem's key; each vector breaks
    something else (the tampered one: the payload it covers)."""
    expected = _json(vector_id, "expected.json")
    if not _has(vector_id, "signature.hex"):
        return
    signer = _certificate(vector_id, "signer.pem")
    assert signer.public_key.suite.id == expected["suite"]
    signature = _hex(vector_id, "signature.hex")
    form: SignatureForm | None = None if expected["suite"] == ED25519 else "raw"
    if "signature_invalid" in expected["expected_reasons"]:
        with pytest.raises(InvalidSignatureError):
            signer.public_key.verify(signature, _hex(vector_id, "sig_structure.hex"), form=form)
        source = expected["derived_from"]
        signed = _hex(source, "sig_structure.hex")
    else:
        signed = _hex(vector_id, "sig_structure.hex")
    signer.public_key.verify(signature, signed, form=form)


@pytest.mark.parametrize("vector_id", _vector_ids())
def test_derived_vector_differs_only_as_described(vector_id: str) -> None:
    """A vector made from another shares its bytes except for the one change it shows."""
    expected = _json(vector_id, "expected.json")
    source = expected.get("derived_from")
    if source is None:
        return
    reasons = set(expected["expected_reasons"])
    mine, theirs = _text(vector_id, "qr.txt"), _text(source, "qr.txt")
    for name in ("licence.json", "root.pem", "signer.pem"):
        assert _read(vector_id, name) == _read(source, name)
    if reasons & {"qr_base45_invalid", "qr_zlib_invalid"}:
        assert len(PREFIX) < len(mine) < len(theirs) and theirs.startswith(mine)
        return
    if "qr_prefix_invalid" in reasons:
        assert _read(vector_id, "base45.txt") == _read(source, "base45.txt")
        assert not mine.startswith(PREFIX)
        return
    assert mine != theirs
    mine_claims = cbor.loads_strict(_hex(vector_id, "claims.cbor.hex"))
    their_claims = cbor.loads_strict(_hex(source, "claims.cbor.hex"))
    assert isinstance(mine_claims, dict) and isinstance(their_claims, dict)
    if "signature_invalid" in reasons:
        # The payload changed; the protected header and the signature did not.
        for name in ("protected.hex", "signature.hex"):
            assert _read(vector_id, name) == _read(source, name)
        assert mine_claims != their_claims
        assert _without_licence(mine_claims) == _without_licence(their_claims)
    elif "qr_claims_invalid" in reasons:
        # Re-signed under the same header, with one licence claim left out.
        assert _read(vector_id, "protected.hex") == _read(source, "protected.hex")
        assert _without_licence(mine_claims) == _without_licence(their_claims)
        mine_licence, their_licence = mine_claims[CLAIM_LICENCE], their_claims[CLAIM_LICENCE]
        assert isinstance(mine_licence, dict) and isinstance(their_licence, dict)
        assert set(mine_licence) < set(their_licence)
    else:
        # Re-signed with the same claims; only the protected header differs.
        assert _read(vector_id, "claims.cbor.hex") == _read(source, "claims.cbor.hex")
        assert _read(vector_id, "protected.hex") != _read(source, "protected.hex")


def _without_licence(claims: dict[object, object]) -> dict[object, object]:
    return {k: v for k, v in claims.items() if k != CLAIM_LICENCE}
