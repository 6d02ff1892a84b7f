"""The published electronic-seal vectors in ``test_vectors/seal/``, one test per vector id.

Each vector is verified with a trust store holding only its ``root.pem`` and a clock fixed at
its ``validation_time``, and must get exactly its expected status, reasons, warnings and
checks. The intermediate bytes it publishes (canonical bytes, dataHash, DER of TBS_Sign and
SES_SealInfo, certificates) are recomputed from the other files, so a vector can never
document bytes the verifier did not see. Regenerate with ``scripts/make_seal_vectors.py``.
"""

from __future__ import annotations

import base64
from datetime import datetime
from typing import Any

import pytest
import rfc8785

from ezhengzhao.errors import DecodeError
from ezhengzhao.formats.licence_json import licence_canonical_bytes
from ezhengzhao.sign.ses import SESSignature, parse_ses_signature, sm3
from ezhengzhao.sign.suites import get_suite
from ezhengzhao.sign.x509 import Certificate
from ezhengzhao.trust.store import TrustStore
from ezhengzhao.verify import Verifier
from tests.conftest import PROJECT_VECTORS
from tests.vectors.vector_set import VectorSet

SEAL_VECTORS = PROJECT_VECTORS / "seal"
INDEX = SEAL_VECTORS / "index.json"
REGENERATE = "regenerate with: .venv/bin/python scripts/make_seal_vectors.py"

#: Files every vector has.
CORE_FILES = frozenset(
    {
        "expected.json",
        "licence.json",
        "canonical.hex",
        "data_hash.hex",
        "ses_signature.der",
        "sealed.ezz.json",
        "root.pem",
        "seal_maker.pem",
        "signer.pem",
    }
)
#: Files a vector has when its SES_Signature parses (all but the malformed ones).
PARSED_FILES = frozenset({"tbs_sign.der", "seal_info.der"})


_SET = VectorSet(SEAL_VECTORS, REGENERATE)
_index = _SET.index
_vector_ids = _SET.ids
_folder = _SET.folder
_read = _SET.read
_json = _SET.json
_hex = _SET.hex


def _certificate(vector_id: str, name: str) -> Certificate:
    return Certificate.from_pem(_read(vector_id, name))


def _time(text: str) -> datetime:
    moment = datetime.fromisoformat(text)
    assert moment.tzinfo is not None, f"{text} must carry its time zone"
    return moment


def _signature_parses(expected: dict[str, Any]) -> bool:
    return "seal_format_invalid" not in expected["expected_reasons"]


# ---------------------------------------------------------------- the index


def test_index_lists_exactly_the_vector_folders() -> None:
    index = _index()
    assert index["format"] == "ezz/seal-vectors/1"
    listed = [v["id"] for v in index["vectors"]]
    assert len(listed) == len(set(listed)), "a vector id is listed twice"
    on_disk = sorted(p.name for p in SEAL_VECTORS.iterdir() if p.is_dir())
    assert sorted(listed) == on_disk, "index.json and the vector folders disagree"


@pytest.mark.parametrize("vector_id", _vector_ids())
def test_vector_files(vector_id: str) -> None:
    """The folder holds exactly the files index.json names, and every file a vector needs."""
    entry = next(v for v in _index()["vectors"] if v["id"] == vector_id)
    present = {p.name for p in _folder(vector_id).iterdir()}
    listed = set(entry["files"])
    assert present == listed, f"unlisted: {present - listed}, missing: {listed - present}"
    assert listed >= CORE_FILES, f"missing: {sorted(CORE_FILES - listed)}"
    expected = _json(vector_id, "expected.json")
    assert expected["id"] == vector_id
    assert expected["description"] == entry["description"]
    if _signature_parses(expected):
        assert listed >= PARSED_FILES, f"missing: {sorted(PARSED_FILES - listed)}"


# ---------------------------------------------------------------- the verdict


@pytest.mark.parametrize("vector_id", _vector_ids())
def test_verdict(vector_id: str) -> None:
    expected = _json(vector_id, "expected.json")
    validation_time = _time(expected["validation_time"])
    verifier = Verifier(
        trust_store=TrustStore.from_certificates(
            [_certificate(vector_id, "root.pem")],
            seal_makers=[_certificate(vector_id, "seal_maker.pem")],
        ),
        clock=lambda: validation_time,
        region=expected.get("verifying_region"),
    )
    result = verifier.verify(_read(vector_id, "sealed.ezz.json"))
    assert (result.status.value, list(result.reasons), list(result.warnings)) == (
        expected["expected_status"],
        expected["expected_reasons"],
        expected["expected_warnings"],
    )
    checks = [{"name": c.name, "status": c.status.value, "reason": c.reason} for c in result.checks]
    assert checks == expected["expected_checks"]
    assert result.validation_time == validation_time
    if result.ok:
        assert result.suite == expected["suite"]


# ---------------------------------------------------------------- the intermediate bytes


@pytest.mark.parametrize("vector_id", _vector_ids())
def test_intermediate_bytes(vector_id: str) -> None:
    """Each published intermediate value follows from the files before it."""
    expected = _json(vector_id, "expected.json")
    licence = _json(vector_id, "licence.json")
    document = _json(vector_id, "sealed.ezz.json")
    der = _read(vector_id, "ses_signature.der")
    assert document["licence"] == licence
    assert base64.b64decode(document["ses_signature"], validate=True) == der

    # RFC 8785 by the reference implementation and by the library's own fast path.
    canonical = _hex(vector_id, "canonical.hex")
    assert rfc8785.dumps(licence) == canonical
    assert licence_canonical_bytes(licence) == canonical
    data_hash = _hex(vector_id, "data_hash.hex")
    assert sm3(canonical) == data_hash

    if not _signature_parses(expected):
        with pytest.raises(DecodeError):
            parse_ses_signature(der)
        return
    signature = parse_ses_signature(der)
    assert signature.version == 4
    assert signature.tbs_der == _read(vector_id, "tbs_sign.der")
    assert signature.seal.info_der == _read(vector_id, "seal_info.der")
    assert signature.time_info == _time(expected["signing_time"])
    assert signature.property_info == licence["licence_id"]
    changed = "data_hash_mismatch" in expected["expected_reasons"]
    assert (signature.data_hash == data_hash) is not changed
    _check_signatures(vector_id, expected, signature)


def _check_signatures(vector_id: str, expected: dict[str, Any], signature: SESSignature) -> None:
    """The signer's signature over DER(TBS_Sign) and the maker's over DER(SES_SealInfo)."""
    signer = _certificate(vector_id, "signer.pem")
    maker = _certificate(vector_id, "seal_maker.pem")
    assert signature.signer_cert == signer.der
    assert signature.seal.maker_cert == maker.der
    suite = get_suite(expected["suite"])
    assert signer.public_key.suite is suite
    # Every vector's signature is genuine; the algorithm vectors only mislabel it.
    signer.public_key.verify(signature.signature, signature.tbs_der, algorithm=suite.id)
    mislabelled = {"unsupported_algorithm", "algorithm_mismatch"} & set(
        expected["expected_reasons"]
    )
    assert (signature.signature_alg_oid == suite.signature_oid) is not bool(mislabelled)
    maker.public_key.verify(
        signature.seal.signed_value, signature.seal.info_der, algorithm=signature.seal.sign_alg_oid
    )


@pytest.mark.parametrize("vector_id", _vector_ids())
def test_derived_vector_differs_only_as_described(vector_id: str) -> None:
    """A vector made from another shares its bytes except for the one change it shows."""
    expected = _json(vector_id, "expected.json")
    source = expected.get("derived_from")
    if source is None:
        return
    mine, theirs = (_read(v, "ses_signature.der") for v in (vector_id, source))
    if "seal_format_invalid" in expected["expected_reasons"]:
        assert len(mine) < len(theirs) and theirs.startswith(mine)
        assert _read(vector_id, "licence.json") == _read(source, "licence.json")
    else:
        assert mine == theirs
        assert _read(vector_id, "licence.json") != _read(source, "licence.json")
    for name in ("root.pem", "seal_maker.pem", "signer.pem"):
        assert _read(vector_id, name) == _read(source, name)
