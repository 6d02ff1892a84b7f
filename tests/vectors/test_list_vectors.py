"""The published trust-list, status-list and rule-set vectors, one test per vector id.

``test_vectors/trust/``, ``status/`` and ``rules/`` (each described by its README) are run
through the library — TrustListLoader, FileStatusSource and the verifier's status mapping,
RuleSetLoader and evaluate_rules — and must give exactly the declared outcome. The published
intermediate bytes (protected header, payload, Sig_structure, signature) are recomputed from
the input, and a few vectors of each set go through the ``ezz`` command as well. Regenerate
with ``scripts/make_list_vectors.py``.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import cbor2
import pytest

from ezhengzhao.cli import main
from ezhengzhao.errors import PayloadError, RuleSetError, StatusUnavailable, TrustListError
from ezhengzhao.formats import cbor, cose
from ezhengzhao.rules.rulesets import RuleSetLoader, evaluate_rules, read_rule_set
from ezhengzhao.sign.x509 import Certificate
from ezhengzhao.status.codec import INVALID, SUSPENDED, VALID, read_status_list_token
from ezhengzhao.status.source import FileStatusSource
from ezhengzhao.trust.lists import STALE, TrustListLoader, read_trust_list
from tests.conftest import PROJECT_VECTORS
from tests.vectors.vector_set import VectorSet

REGENERATE = "regenerate with: .venv/bin/python scripts/make_list_vectors.py"
TRUST = VectorSet(PROJECT_VECTORS / "trust", REGENERATE)
STATUS = VectorSet(PROJECT_VECTORS / "status", REGENERATE)
RULES = VectorSet(PROJECT_VECTORS / "rules", REGENERATE)
SETS = {"trust": TRUST, "status": STATUS, "rules": RULES}
FORMATS = {
    "trust": "ezz/trust-list-vectors/1",
    "status": "ezz/status-list-vectors/1",
    "rules": "ezz/rule-set-vectors/1",
}
#: Each set's input file, and the name its published payload has.
MAIN_INPUT = {"trust": ("list.cose", "payload"), "status": ("token.cwt", "claims")}
MAIN_INPUT["rules"] = ("ruleset.cose", "payload")
REQUIRED = {
    "trust": {"expected.json", "list.cose", "anchor.pem"},
    "status": {"expected.json", "token.cwt", "signer.pem"},
    "rules": {"expected.json", "ruleset.cose", "ruleset.json", "authority.pem", "data.json"},
}


def _time(text: str) -> datetime:
    moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    assert moment.tzinfo is not None
    return moment


def _all_ids() -> list[Any]:
    return [pytest.param(name, p.values[0], id=p.id) for name, s in SETS.items() for p in s.ids()]


def _expected(vector_set: VectorSet, vector_id: str) -> dict[str, Any]:
    expected: dict[str, Any] = vector_set.json(vector_id, "expected.json")
    return expected


# ---------------------------------------------------------------- every set


@pytest.mark.parametrize("name", sorted(SETS))
def test_index_lists_exactly_the_vector_folders(name: str) -> None:
    vector_set = SETS[name]
    index = vector_set.index()
    assert index["format"] == FORMATS[name]
    listed = [v["id"] for v in index["vectors"]]
    assert len(listed) == len(set(listed)), "a vector id is listed twice"
    folder = vector_set.folder_path
    assert sorted(listed) == sorted(p.name for p in folder.iterdir() if p.is_dir())
    assert all(vector_id.startswith(f"{name}-") for vector_id in listed)
    assert (folder / "README.md").is_file()
    total = sum(p.stat().st_size for p in folder.rglob("*") if p.is_file())
    assert total < 600 * 1024, f"test_vectors/{name}/ holds {total} bytes"


@pytest.mark.parametrize(("name", "vector_id"), _all_ids())
def test_vector_files(name: str, vector_id: str) -> None:
    """The folder holds exactly what index.json lists, and at least what its set needs."""
    vector_set = SETS[name]
    entry = next(v for v in vector_set.index()["vectors"] if v["id"] == vector_id)
    present = {p.name for p in vector_set.folder(vector_id).iterdir()}
    assert present == set(entry["files"])
    assert present >= REQUIRED[name], f"missing {sorted(REQUIRED[name] - present)}"
    expected = _expected(vector_set, vector_id)
    assert expected["id"] == vector_id
    assert expected["description"] == entry["description"]
    assert expected["expected_status"] in ("PASSED", "FAILED", "INDETERMINATE")
    assert (expected["expected_status"] == "PASSED") is (expected["expected_reasons"] == [])
    if expected.get("previous"):
        assert "previous.cose" in present


@pytest.mark.parametrize(("name", "vector_id"), _all_ids())
def test_intermediate_bytes(name: str, vector_id: str) -> None:
    """The published stages follow from the input, and exist exactly when it is a COSE_Sign1."""
    vector_set = SETS[name]
    main_input, payload_name = MAIN_INPUT[name]
    data = vector_set.read(vector_id, main_input)
    folder = vector_set.folder(vector_id)
    stages = ("protected.hex", f"{payload_name}.cbor.hex", "sig_structure.hex", "signature.hex")
    try:
        message = cose.decode_sign1(data, allow_cwt_tag=True)
    except PayloadError:
        for stage in stages:
            assert not (folder / stage).exists(), f"{stage} published for a non-COSE input"
        return
    assert vector_set.hex(vector_id, "protected.hex") == message.protected
    assert vector_set.hex(vector_id, f"{payload_name}.cbor.hex") == message.payload
    assert vector_set.hex(vector_id, "sig_structure.hex") == message.sig_structure()
    assert vector_set.hex(vector_id, "signature.hex") == message.signature
    readable = folder / f"{payload_name}.json"
    if readable.exists():
        assert json.loads(readable.read_text("utf-8")) == _diagnostic(
            cbor.loads_strict(message.payload)
        )


def _diagnostic(value: object) -> object:
    if isinstance(value, dict):
        return {str(k): _diagnostic(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_diagnostic(v) for v in value]
    if isinstance(value, bytes):
        return f"h'{value.hex()}'"
    if isinstance(value, cbor2.CBORTag):
        return {"tag": value.tag, "value": _diagnostic(value.value)}
    return value


@pytest.mark.parametrize(("name", "vector_id"), _all_ids())
def test_derived_vector_shares_its_source(name: str, vector_id: str) -> None:
    """A vector made from another keeps what it does not claim to change."""
    vector_set = SETS[name]
    expected = _expected(vector_set, vector_id)
    source = expected.get("derived_from")
    if source is None:
        return
    main_input, payload_name = MAIN_INPUT[name]
    assert source in [v["id"] for v in vector_set.index()["vectors"]]
    mine, theirs = vector_set.read(vector_id, main_input), vector_set.read(source, main_input)
    reasons = set(expected["expected_reasons"])
    if (
        reasons & {"trust_list_malformed", "status_unavailable"}
        and not (vector_set.folder(vector_id) / "protected.hex").exists()
    ):
        # The unsigned vectors: the source's payload, without its envelope.
        assert vector_set.hex(source, f"{payload_name}.cbor.hex") == mine
    elif "trust_list_signature_invalid" in reasons and vector_id.endswith("tampered"):
        for stage in ("protected.hex", "signature.hex"):
            assert vector_set.read(vector_id, stage) == vector_set.read(source, stage)
        assert mine != theirs
    elif name == "status" and "status_unavailable" not in reasons:
        assert mine == theirs, "a lookup vector reuses its source's token"
    elif name != "rules" or vector_id != "rules-rollback":
        assert mine != theirs
        assert vector_set.read(vector_id, f"{payload_name}.cbor.hex") == vector_set.read(
            source, f"{payload_name}.cbor.hex"
        )


# ---------------------------------------------------------------- trust lists


def _trust_outcome(vector_id: str) -> tuple[str, list[str], TrustListLoader | None]:
    expected = _expected(TRUST, vector_id)
    now = _time(expected["validation_time"])
    anchors = [Certificate.from_pem(TRUST.read(vector_id, name)) for name in expected["anchors"]]
    loader = TrustListLoader(
        anchors=anchors, grace=timedelta(seconds=expected["grace_seconds"]), clock=lambda: now
    )
    try:
        if expected["previous"]:
            loader.load(TRUST.read(vector_id, expected["previous"]))
        trust_list = loader.load(TRUST.read(vector_id, "list.cose"))
    except TrustListError as exc:
        return ("INDETERMINATE" if exc.reason == STALE else "FAILED"), [exc.reason], None
    assert trust_list.sequence == expected["sequence"]
    assert len(trust_list.entries) == expected["entries"]
    return "PASSED", [], loader


@pytest.mark.parametrize("vector_id", TRUST.ids())
def test_trust_verdict(vector_id: str) -> None:
    expected = _expected(TRUST, vector_id)
    status, reasons, loader = _trust_outcome(vector_id)
    assert (status, reasons) == (expected["expected_status"], expected["expected_reasons"])
    for query in expected["queries"]:
        assert loader is not None
        assert loader.issuer_may_issue(query["uscc"], query["type_code"]) is query["may_issue"]
    if loader is not None:
        # An accepted list is signed by the anchor its kid names, over the published payload.
        trust_list, message = read_trust_list(TRUST.read(vector_id, "list.cose"))
        anchor = Certificate.from_pem(TRUST.read(vector_id, "anchor.pem"))
        assert message.kid == anchor.kid
        assert trust_list.issuer == anchor.subject.common_name
        cose.verify_sign1(message, anchor.public_key)


def test_trust_queries_include_an_unlisted_type() -> None:
    """The valid vector shows a listed authority that may not issue another type."""
    queries = _expected(TRUST, "trust-sm2-valid")["queries"]
    assert {q["may_issue"] for q in queries} == {True, False}


# ---------------------------------------------------------------- status lists


def _status_outcome(vector_id: str) -> tuple[str, list[str], int | None]:
    """The lookup as the verifier's status check makes it."""
    expected = _expected(STATUS, vector_id)
    uri, idx = expected["uri"], expected["idx"]
    source = FileStatusSource(
        {uri: STATUS.read(vector_id, "token.cwt")},
        certificates=[Certificate.from_pem(STATUS.read(vector_id, "signer.pem"))],
    )
    try:
        statuses = source.status_list(uri, _time(expected["validation_time"]))
    except StatusUnavailable:
        return "INDETERMINATE", ["status_unavailable"], None
    if not 0 <= idx < statuses.size:
        return "FAILED", ["status_index_invalid"], None
    value = statuses.get(idx)
    if value == VALID:
        return "PASSED", [], value
    reason = {INVALID: "licence_revoked", SUSPENDED: "licence_suspended"}[value]
    return "FAILED", [reason], value


@pytest.mark.parametrize("vector_id", STATUS.ids())
def test_status_verdict(vector_id: str) -> None:
    expected = _expected(STATUS, vector_id)
    status, reasons, value = _status_outcome(vector_id)
    assert (status, reasons) == (expected["expected_status"], expected["expected_reasons"])
    assert value == expected.get("status")


@pytest.mark.parametrize("vector_id", STATUS.ids())
def test_status_list_contents(vector_id: str) -> None:
    """Every token that decodes holds the same 131,072 statuses (README), LSB first."""
    try:
        token = read_status_list_token(STATUS.read(vector_id, "token.cwt"))
    except PayloadError:
        assert _expected(STATUS, vector_id)["expected_reasons"] == ["status_unavailable"]
        return
    statuses = token.status_list
    assert (statuses.bits, statuses.size) == (2, 131_072)
    unpacked = statuses.unpacked()
    assert {i for i, v in enumerate(unpacked) if v} == {7, 4242, 131_071}
    assert (unpacked[7], unpacked[4242], unpacked[131_071]) == (INVALID, SUSPENDED, INVALID)
    # LSB first: entry 7 is the top two bits of byte 1, entry 131071 of the last byte.
    assert statuses.packed[1] == INVALID << 6
    assert statuses.packed[-1] == INVALID << 6


# ---------------------------------------------------------------- rule sets


def _rules_outcome(vector_id: str) -> tuple[str, list[str], dict[str, Any]]:
    expected = _expected(RULES, vector_id)
    now = _time(expected["validation_time"])
    loader = RuleSetLoader(
        authorities={
            expected["authority_region"]: [
                Certificate.from_pem(RULES.read(vector_id, "authority.pem"))
            ]
        },
        clock=lambda: now,
    )
    try:
        if expected["previous"]:
            loader.load(RULES.read(vector_id, expected["previous"]))
        loader.load(RULES.read(vector_id, "ruleset.cose"))
    except RuleSetError as exc:
        return "FAILED", [exc.reason], {"path": exc.path}
    data = RULES.json(vector_id, "data.json")
    licence = data["payload"]["licence"]
    at = datetime.fromisoformat(data["external"]["validationClock"])
    rules = loader.rules_for(expected["verifier_region"], licence["type_code"], at)
    outcomes = evaluate_rules(rules, data["payload"], data["external"])
    listed = [
        {
            "identifier": o.rule.identifier,
            "version": o.rule.version,
            "type": o.rule.type,
            "passed": o.passed,
        }
        for o in outcomes
    ]
    if any(o.passed is False for o in outcomes):
        return "FAILED", ["not_recognised_in_region"], {"outcomes": listed}
    if any(o.passed is None for o in outcomes):
        return "INDETERMINATE", ["rules_indeterminate"], {"outcomes": listed}
    return "PASSED", [], {"outcomes": listed}


@pytest.mark.parametrize("vector_id", RULES.ids())
def test_rules_verdict(vector_id: str) -> None:
    expected = _expected(RULES, vector_id)
    status, reasons, details = _rules_outcome(vector_id)
    assert (status, reasons) == (expected["expected_status"], expected["expected_reasons"])
    for key, value in details.items():
        assert expected[key] == value
    if "outcomes" in details:
        assert details["outcomes"], "a loaded rule set selects at least one rule here"


@pytest.mark.parametrize("vector_id", RULES.ids())
def test_rules_json_is_what_is_signed(vector_id: str) -> None:
    """ruleset.json is the rule set signed in ruleset.cose (when that is a COSE_Sign1)."""
    from ezhengzhao.rules.rulesets import rule_set_from_json

    data = RULES.read(vector_id, "ruleset.cose")
    expected = _expected(RULES, vector_id)
    try:
        signed, _ = read_rule_set(data)
    except PayloadError:
        # Not a COSE_Sign1 at all: the unsigned vector, whose input is the JSON itself.
        assert expected["expected_reasons"] == ["rule_set_malformed"]
        assert data == RULES.read(vector_id, "ruleset.json")
        return
    except RuleSetError as exc:
        # Signed, but the rules inside fail validation: so does their JSON, at the same field.
        assert expected["expected_reasons"] == ["rule_set_malformed"]
        with pytest.raises(RuleSetError) as info:
            rule_set_from_json(RULES.read(vector_id, "ruleset.json"))
        assert info.value.path == exc.path == expected["path"]
        return
    assert rule_set_from_json(RULES.read(vector_id, "ruleset.json")) == signed


# ---------------------------------------------------------------- through the ezz command


def _cli(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, dict[str, Any], str]:
    code = main(list(argv))
    out = capsys.readouterr()
    return code, (json.loads(out.out) if out.out.strip() else {}), out.err


_EXIT = {"PASSED": 0, "FAILED": 1, "INDETERMINATE": 2}


@pytest.mark.parametrize(
    "vector_id",
    ["trust-sm2-valid", "trust-sm2-wrong-key", "trust-sm2-rollback", "trust-sm2-stale"],
)
def test_trust_inspect_cli(capsys: pytest.CaptureFixture[str], vector_id: str) -> None:
    expected = _expected(TRUST, vector_id)
    folder = TRUST.folder(vector_id)
    argv = ["trust", "inspect", str(folder / "list.cose"), "--json"]
    argv += ["--at", expected["validation_time"], "--grace", str(expected["grace_seconds"])]
    for anchor in expected["anchors"]:
        argv += ["--anchor", str(folder / anchor)]
    if expected["previous"]:
        argv += ["--previous", str(folder / expected["previous"])]
    code, view, err = _cli(capsys, *argv)
    assert code == _EXIT[expected["expected_status"]], err
    assert view["signature"]["reason"] == (expected["expected_reasons"] or ["ok"])[0]


def test_trust_inspect_cli_refuses_the_unsigned_vector(capsys: pytest.CaptureFixture[str]) -> None:
    folder = TRUST.folder("trust-sm2-unsigned")
    code = main(
        ["trust", "inspect", str(folder / "list.cose"), "--anchor", str(folder / "anchor.pem")]
    )
    assert code == 3
    assert "not a signed trust list" in capsys.readouterr().err


@pytest.mark.parametrize(
    "vector_id",
    [
        "status-sm2-valid",
        "status-sm2-suspended",
        "status-sm2-index-out-of-range",
        "status-sm2-expired",
    ],
)
def test_status_inspect_cli(capsys: pytest.CaptureFixture[str], vector_id: str) -> None:
    expected = _expected(STATUS, vector_id)
    folder = STATUS.folder(vector_id)
    code, view, err = _cli(
        capsys,
        "status",
        "inspect",
        str(folder / "token.cwt"),
        "--cert",
        str(folder / "signer.pem"),
        "--uri",
        expected["uri"],
        "--idx",
        str(expected["idx"]),
        "--at",
        expected["validation_time"],
        "--json",
    )
    assert code == _EXIT[expected["expected_status"]], err
    if expected["expected_reasons"] == ["status_unavailable"]:
        assert view["signature"]["reason"] == "status_unavailable"
    else:
        assert view["lookups"][0]["reason"] == (expected["expected_reasons"] or ["ok"])[0]


@pytest.mark.parametrize(
    "vector_id",
    [
        "rules-food-shanghai-accepted",
        "rules-food-too-long",
        "rules-property-zhejiang-refused",
        "rules-undecided",
        "rules-wrong-key",
        "rules-unsigned",
    ],
)
def test_rules_test_cli(capsys: pytest.CaptureFixture[str], vector_id: str) -> None:
    expected = _expected(RULES, vector_id)
    folder = RULES.folder(vector_id)
    code, view, err = _cli(
        capsys,
        "rules",
        "test",
        str(folder / "ruleset.cose"),
        "--data",
        str(folder / "data.json"),
        "--authority",
        str(folder / "authority.pem"),
        "--applicable",
        "--at",
        expected["validation_time"],
        "--json",
    )
    assert code == _EXIT[expected["expected_status"]], err
    if "outcomes" in expected:
        got = [
            {k: o[k] for k in ("identifier", "version", "type", "passed")} for o in view["outcomes"]
        ]
        assert got == expected["outcomes"]
    else:
        assert f"rule set refused, {expected['expected_reasons'][0]}" in err


def test_vector_folders_have_no_strays() -> None:
    """Nothing but the three sets' READMEs, indexes and vector folders is published here."""
    for vector_set in SETS.values():
        extra = {
            p.name
            for p in Path(vector_set.folder_path).iterdir()
            if p.is_file() and p.name not in ("README.md", "index.json")
        }
        assert not extra
