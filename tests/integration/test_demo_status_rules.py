"""The demo's status lists and mutual-recognition rules: samples, verify_demo and ``ezz verify``."""

from __future__ import annotations

import io
import json
from datetime import timedelta
from pathlib import Path

import pytest

from ezhengzhao.cli import main
from ezhengzhao.demo import (
    DemoDomain,
    verify_demo,
    write_demo,
)
from ezhengzhao.formats.sealed import SealedLicence
from ezhengzhao.result import CheckStatus, Status
from ezhengzhao.trust.store import TrustStore
from ezhengzhao.verify import Verifier


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, DemoDomain]:
    path = tmp_path_factory.mktemp("demo-status") / "demo"
    return path, write_demo(path)


def _manifest(path: Path) -> dict[str, object]:
    value = json.loads((path / "manifest.json").read_text())
    assert isinstance(value, dict)
    return value


def _status_samples(path: Path) -> list[dict[str, object]]:
    samples = _manifest(path)["status_samples"]
    assert isinstance(samples, list)
    return samples


def _sample(path: Path, status: str, reasons: list[str]) -> Path:
    for s in _status_samples(path):
        if s["expected_status"] == status and s["expected_reasons"] == reasons:
            return path / str(s["file"])
    raise AssertionError(f"no status sample {status} {reasons}")


def test_demo_writes_status_lists_and_rules(demo: tuple[Path, DemoDomain]) -> None:
    path, _ = demo
    index = json.loads((path / "status" / "index.json").read_text())
    assert index == {
        "https://zz.example.gov.cn/310000/status/1": "310000-1.cwt",
        "https://zz.example.gov.cn/340000/status/1": "340000-1.cwt",
    }
    for name in index.values():
        assert (path / "status" / name).is_file()
    for region in ("310000", "340000"):
        assert (path / "rules" / f"{region}.cose").is_file()
        assert (path / "rules" / "authorities" / f"{region}.pem").is_file()


def test_verify_demo_passes_with_every_table(demo: tuple[Path, DemoDomain]) -> None:
    path, domain = demo
    out = io.StringIO()
    assert verify_demo(path, out=out) == 0, out.getvalue()
    text = out.getvalue()
    total = len(domain.samples) + len(domain.qr_samples) + len(domain.status_samples)
    assert text.rstrip().endswith(f"{total} samples, {total} as the manifest expects")
    assert "status lists and rules" in text and "✗" not in text


def test_status_samples_give_the_expected_reasons(demo: tuple[Path, DemoDomain]) -> None:
    path, domain = demo
    expected = {
        (s["expected_status"], tuple(s["expected_reasons"]))  # type: ignore[arg-type]
        for s in _status_samples(path)
    }
    assert expected == {
        ("FAILED", ("licence_revoked",)),
        ("FAILED", ("licence_suspended",)),
        ("FAILED", ("not_recognised_in_region",)),
        ("PASSED", ()),
    }
    at = domain.created + timedelta(minutes=1)
    verifier = Verifier.from_directory(path, region="340000", clock=lambda: at)
    assert any(s.file.endswith(".qr.txt") for s in domain.status_samples)
    for sample in domain.status_samples:
        data = (path / sample.file).read_bytes()
        result = verifier.verify(data)
        if sample.file.endswith(".qr.txt"):
            assert result.claims is not None and result.claims.status is not None
        else:
            assert SealedLicence.from_json(data).licence.status is not None
        assert (result.status.value, result.reasons) == (
            sample.expected_status,
            sample.expected_reasons,
        ), sample.demonstrates
        assert result.check("status").status is (
            CheckStatus.FAILED
            if sample.expected_reasons[:1] in (("licence_revoked",), ("licence_suspended",))
            else CheckStatus.PASSED
        )
        if sample.expected_reasons == ("not_recognised_in_region",):
            check = result.check("rule:IR-340000-0001")
            assert check.status is CheckStatus.FAILED
        if sample.expected_status == "PASSED":
            rules = [c for c in result.checks if c.name.startswith("rule:")]
            assert rules and all(c.status is CheckStatus.PASSED for c in rules)


def test_status_samples_pass_without_status_or_rules(demo: tuple[Path, DemoDomain]) -> None:
    """Without a status source or rules nothing is checked: each is an ordinary valid licence."""
    path, domain = demo
    at = domain.created + timedelta(minutes=1)
    verifier = Verifier(
        trust_store=TrustStore.from_directory(path / "trust"), region="340000", clock=lambda: at
    )
    for sample in domain.status_samples:
        assert verifier.verify((path / sample.file).read_bytes()).status is Status.PASSED


def _verify(
    capsys: pytest.CaptureFixture[str], path: Path, file: Path, *extra: str
) -> tuple[int, dict[str, object]]:
    code = main(
        [
            "verify",
            str(file),
            "--trust",
            str(path / "trust"),
            "--status",
            str(path / "status"),
            "--rules",
            str(path / "rules"),
            "--json",
            *extra,
        ]
    )
    out = capsys.readouterr().out
    return code, json.loads(out)


def test_cli_revoked_sample_exits_1(
    capsys: pytest.CaptureFixture[str], demo: tuple[Path, DemoDomain]
) -> None:
    path, _ = demo
    file = _sample(path, "FAILED", ["licence_revoked"])
    code, result = _verify(capsys, path, file, "--region", "340000")
    assert code == 1
    assert result["status"] == "FAILED" and result["reasons"] == ["licence_revoked"]


def test_cli_refused_by_rules_exits_1(
    capsys: pytest.CaptureFixture[str], demo: tuple[Path, DemoDomain]
) -> None:
    path, _ = demo
    file = _sample(path, "FAILED", ["not_recognised_in_region"])
    code, result = _verify(capsys, path, file, "--region", "340000")
    assert code == 1
    assert result["reasons"] == ["not_recognised_in_region"]


def test_cli_accepted_sample_exits_0(
    capsys: pytest.CaptureFixture[str], demo: tuple[Path, DemoDomain]
) -> None:
    path, _ = demo
    file = _sample(path, "PASSED", [])
    code, result = _verify(capsys, path, file, "--region", "340000")
    assert code == 0
    assert result["status"] == "PASSED"


def test_cli_rules_need_a_region(
    capsys: pytest.CaptureFixture[str], demo: tuple[Path, DemoDomain]
) -> None:
    path, _ = demo
    file = _sample(path, "PASSED", [])
    code = main(
        ["verify", str(file), "--trust", str(path / "trust"), "--rules", str(path / "rules")]
    )
    assert code == 3
    assert "--region" in capsys.readouterr().err


def test_cli_missing_status_index_is_an_error(
    capsys: pytest.CaptureFixture[str], demo: tuple[Path, DemoDomain], tmp_path: Path
) -> None:
    path, _ = demo
    file = _sample(path, "PASSED", [])
    code = main(["verify", str(file), "--trust", str(path / "trust"), "--status", str(tmp_path)])
    assert code == 3
    err = capsys.readouterr().err
    assert "index.json" in err and "Traceback" not in err
