"""The ``ezz`` command: exit codes 0/1/2/3, one readable line on errors, no partial files."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from ezhengzhao.catalogue import Catalogue
from ezhengzhao.cli import main


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out = capsys.readouterr()
    return code, out.out, out.err


def test_console_script_runs() -> None:
    exe = Path(sys.executable).parent / "ezz"
    proc = subprocess.run([str(exe), "--help"], capture_output=True, text=True, check=False)
    assert proc.returncode == 0
    assert "verify" in proc.stdout


def test_demo_manifest_lists_every_sample(demo_dir: Path) -> None:
    manifest = json.loads((demo_dir / "manifest.json").read_text())
    types = {s["licence_type"] for s in manifest["samples"]}
    assert types >= {t.name for t in Catalogue.builtin()}
    suites = {s["suite"] for s in manifest["samples"]}
    assert suites == {"SM2-SM3", "ECDSA-P256-SHA256", "Ed25519"}
    for sample in manifest["samples"]:
        assert (demo_dir / sample["file"]).is_file()
        assert sample["demonstrates"]
        assert sample["expected_status"] in ("PASSED", "FAILED", "INDETERMINATE")
    assert sorted(p.name for p in (demo_dir / "trust" / "roots").iterdir()) == [
        "310000-root.pem",
        "340000-root.pem",
    ]
    for region in ("310000", "340000"):
        authorities = list((demo_dir / "pki" / region / "authorities").iterdir())
        assert len(authorities) >= 2
        for folder in authorities:
            assert (folder / "seal.der").is_file() and (folder / "signer-sm2.pem").is_file()
            assert (folder / "signer-sm2.key.pem").stat().st_mode & 0o077 == 0


def test_demo_verify_matches_manifest(capsys: pytest.CaptureFixture[str], demo_dir: Path) -> None:
    code, out, _ = run(capsys, "demo", "verify", str(demo_dir))
    assert code == 0, out
    assert "as the manifest expects" in out and "NOT" not in out
    assert "有效 PASSED" in out and "无效 FAILED" in out


def test_demo_init_refuses_non_empty_dir(
    capsys: pytest.CaptureFixture[str], demo_dir: Path
) -> None:
    code, _, err = run(capsys, "demo", "init", str(demo_dir))
    assert code == 3
    assert "not empty" in err and "Traceback" not in err


def _manifest_file(demo_dir: Path, status: str, reason: str | None = None) -> Path:
    manifest = json.loads((demo_dir / "manifest.json").read_text())
    for s in manifest["samples"]:
        if s["expected_status"] == status and (reason is None or reason in s["expected_reasons"]):
            return demo_dir / s["file"]
    raise AssertionError("no such sample")


def test_verify_exit_codes(capsys: pytest.CaptureFixture[str], demo_dir: Path) -> None:
    trust = str(demo_dir / "trust")
    code, out, _ = run(capsys, "verify", str(_manifest_file(demo_dir, "PASSED")), "--trust", trust)
    assert code == 0 and out.startswith("有效 PASSED")
    bad = _manifest_file(demo_dir, "FAILED", "data_hash_mismatch")
    code, out, _ = run(capsys, "verify", str(bad), "--trust", trust, "--json")
    assert code == 1
    assert json.loads(out)["reasons"] == ["data_hash_mismatch"]


def test_verify_time_travel(capsys: pytest.CaptureFixture[str], demo_dir: Path) -> None:
    file = str(_manifest_file(demo_dir, "PASSED"))
    trust = str(demo_dir / "trust")
    code, out, _ = run(capsys, "verify", file, "--trust", trust, "--at", "2099-01-01T00:00:00Z")
    assert code == 1
    assert "certificate" in out or "licence_expired" in out or "seal" in out


@pytest.mark.parametrize(
    ("content", "words"),
    [(b"not json", "not a licence document"), (b'{"format": "x"}', "not a licence document")],
)
def test_verify_input_errors_exit_3(
    capsys: pytest.CaptureFixture[str], demo_dir: Path, tmp_path: Path, content: bytes, words: str
) -> None:
    file = tmp_path / "bad.json"
    file.write_bytes(content)
    code, _, err = run(capsys, "verify", str(file), "--trust", str(demo_dir / "trust"))
    assert code == 3
    assert words in err and len(err.strip().splitlines()) == 1


def test_usage_errors_exit_3(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, demo_dir: Path
) -> None:
    with pytest.raises(SystemExit) as info:
        main(["verify"])
    assert info.value.code == 3
    trust = str(demo_dir / "trust")
    code, _, err = run(capsys, "verify", str(tmp_path / "missing.json"), "--trust", trust)
    assert code == 3 and "cannot read" in err
    code, _, err = run(capsys, "verify", str(tmp_path / "missing.json"), "--trust", str(tmp_path))
    assert code == 3 and "has neither anchors/ with lists/ nor roots/" in err


def test_inspect(capsys: pytest.CaptureFixture[str], demo_dir: Path) -> None:
    file = str(_manifest_file(demo_dir, "PASSED"))
    code, out, _ = run(capsys, "inspect", file)
    assert code == 0
    assert "证照标识 licence identifier" in out and "电子印章 seal" in out
    code, out, _ = run(capsys, "inspect", file, "--json")
    view = json.loads(out)
    assert view["signature"]["algorithm_oid"] == "1.2.156.10197.1.501"


def test_full_issuing_flow(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """keygen → cert → seal make → issue → verify, with an encrypted root key."""
    monkeypatch.setenv("PW", "correct horse")
    monkeypatch.chdir(tmp_path)
    steps = [
        ["keygen", "--out", "root.key.pem", "--passphrase-env", "PW"],
        [
            "cert",
            "--key",
            "root.key.pem",
            "--passphrase-env",
            "PW",
            "--cn",
            "浙江省电子证照根CA",
            "--ca",
            "--out",
            "trust/roots/root.pem",
        ],
        ["keygen", "--out", "maker.key.pem"],
        [
            "cert",
            "--key",
            "maker.key.pem",
            "--cn",
            "浙江省电子印章制作中心",
            "--issuer-cert",
            "trust/roots/root.pem",
            "--issuer-key",
            "root.key.pem",
            "--issuer-passphrase-env",
            "PW",
            "--out",
            "maker.pem",
        ],
        ["keygen", "--suite", "Ed25519", "--out", "auth/signer-ed25519.key.pem"],
        [
            "cert",
            "--key",
            "auth/signer-ed25519.key.pem",
            "--cn",
            "杭州市拱墅区市场监督管理局",
            "--uscc",
            "11330105002500287C",
            "--issuer-cert",
            "trust/roots/root.pem",
            "--issuer-key",
            "root.key.pem",
            "--issuer-passphrase-env",
            "PW",
            "--out",
            "auth/signer-ed25519.pem",
        ],
        [
            "seal",
            "make",
            "--name",
            "杭州市拱墅区市场监督管理局",
            "--es-id",
            "330105000000000001",
            "--signer-cert",
            "auth/signer-ed25519.pem",
            "--maker-key",
            "maker.key.pem",
            "--maker-cert",
            "maker.pem",
            "--out",
            "auth/seal.der",
            "--picture",
            "auth/seal.png",
        ],
    ]
    for argv in steps:
        code, _, err = run(capsys, *argv)
        assert code == 0, (argv, err)
    # The verifier recognises seals made by this seal maker only.
    (tmp_path / "trust" / "seal-makers").mkdir(parents=True)
    (tmp_path / "trust" / "seal-makers" / "maker.pem").write_bytes(
        (tmp_path / "maker.pem").read_bytes()
    )
    (tmp_path / "auth" / "authority.json").write_text(
        json.dumps(
            {
                "name": "杭州市拱墅区市场监督管理局",
                "code": "11330105002500287C",
                "region_code": "330105",
                "level": "区县级",
            },
            ensure_ascii=False,
        )
    )
    food = Catalogue.builtin().by_name("食品经营许可证")
    surface = food.example_surface()
    (tmp_path / "fields.json").write_text(
        json.dumps(
            {
                "number": "JY13301050001234",
                "holder": {
                    "name": surface["KZ_JYZMC"],
                    "code": surface["KZ_SHXYDM"],
                    "code_type": "001",
                },
                "surface": surface,
            },
            ensure_ascii=False,
        )
    )
    code, out, err = run(
        capsys,
        "issue",
        "--type",
        food.code,
        "--data",
        "fields.json",
        "--seal",
        "auth",
        "--suite",
        "Ed25519",
        "--out",
        "lic.ezz.json",
    )
    assert code == 0, err
    code, out, _ = run(capsys, "verify", "lic.ezz.json", "--trust", "trust", "--json")
    assert code == 0
    assert json.loads(out)["suite"] == "Ed25519"

    # A wrong passphrase is one line and exit 3; nothing is written.
    monkeypatch.setenv("PW", "wrong")
    code, _, err = run(
        capsys,
        "cert",
        "--key",
        "root.key.pem",
        "--passphrase-env",
        "PW",
        "--cn",
        "x",
        "--ca",
        "--out",
        "x.pem",
    )
    assert code == 3 and "passphrase" in err.lower()
    assert not (tmp_path / "x.pem").exists()

    # Bad issuance data: exit 3, no output file, no temporary leftovers.
    (tmp_path / "bad.json").write_text('{"number": "1", "holder": {}, "surface": {}}')
    code, _, err = run(
        capsys,
        "issue",
        "--type",
        food.code,
        "--data",
        "bad.json",
        "--seal",
        "auth",
        "--suite",
        "Ed25519",
        "--out",
        "bad.ezz.json",
    )
    assert code == 3 and err.count("\n") == 1
    assert not (tmp_path / "bad.ezz.json").exists()
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]


def test_make_run_shape(tmp_path: Path) -> None:
    """`ezz demo run` (what `make run` calls) creates the domain once, then reuses it."""
    exe = shutil.which("ezz", path=str(Path(sys.executable).parent))
    assert exe is not None
    env = {**os.environ, "PYTHONIOENCODING": "utf-8"}
    first = subprocess.run(
        [exe, "demo", "run", str(tmp_path / "d")],
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    assert first.returncode == 0, first.stderr
    assert "demo trust domain written" in first.stdout
    second = subprocess.run(
        [exe, "demo", "run", str(tmp_path / "d")],
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    assert second.returncode == 0 and "using the demo trust domain" in second.stdout


# ---------------------------------------------------------------- QR codes, cards, 亮证 tokens


def _authority_dir(demo_dir: Path) -> Path:
    return next((demo_dir / "pki" / "310000" / "authorities").glob("*/signer-p256.pem")).parent


def test_qr_and_card_commands(
    capsys: pytest.CaptureFixture[str], demo_dir: Path, tmp_path: Path
) -> None:
    licence = _manifest_file(demo_dir, "PASSED")
    manifest = json.loads((demo_dir / "manifest.json").read_text())
    sample = next(s for s in manifest["samples"] if s["suite"] == "ECDSA-P256-SHA256")
    licence = demo_dir / sample["file"]
    seal = str(_authority_dir(demo_dir))
    out = tmp_path / "out"
    code, stdout, err = run(
        capsys,
        "qr",
        str(licence),
        "--seal",
        seal,
        "--png",
        str(out / "qr.png"),
        "--svg",
        str(out / "qr.svg"),
        "--text",
        str(out / "qr.txt"),
    )
    assert code == 0, err
    text = (out / "qr.txt").read_text().strip()
    assert text.startswith("EZZ1:")
    assert (out / "qr.svg").read_text().startswith("<")
    trust = str(demo_dir / "trust")
    code, stdout, _ = run(capsys, "verify", "--qr", text, "--trust", trust)
    assert code == 0 and stdout.startswith("有效 PASSED")
    code, stdout, _ = run(
        capsys, "verify", "--qr", f"@{out / 'qr.txt'}", "--trust", trust, "--json"
    )
    assert code == 0 and json.loads(stdout)["claims"]["licence_id"]
    code, stdout, _ = run(capsys, "verify", "--image", str(out / "qr.png"), "--trust", trust)
    assert code == 0 and "有效 PASSED" in stdout
    code, _, err = run(
        capsys,
        "card",
        str(licence),
        "--qr-text",
        str(out / "qr.txt"),
        "--png",
        str(out / "card.png"),
        "--pdf",
        str(out / "card.pdf"),
    )
    assert code == 0, err
    assert (out / "card.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert (out / "card.pdf").read_bytes()[:5] == b"%PDF-"


def test_verify_qr_input_errors(
    capsys: pytest.CaptureFixture[str], demo_dir: Path, tmp_path: Path
) -> None:
    trust = str(demo_dir / "trust")
    code, _, err = run(capsys, "verify", "--qr", "HC1:NOTOURS", "--trust", trust)
    assert code == 3 and "not a licence document or code" in err
    (tmp_path / "blank.png").write_bytes(_blank_png())
    code, _, err = run(capsys, "verify", "--image", str(tmp_path / "blank.png"), "--trust", trust)
    assert code == 3 and "no QR code was found" in err and err.count("\n") == 1
    (tmp_path / "junk.png").write_bytes(b"\x89PNG not really")
    code, _, err = run(capsys, "verify", "--image", str(tmp_path / "junk.png"), "--trust", trust)
    assert code == 3 and err.count("\n") == 1
    code, _, err = run(capsys, "verify", "x.json", "--qr", "EZZ1:", "--trust", trust)
    assert code == 3 and "exactly one" in err


def _blank_png() -> bytes:
    import io

    from PIL import Image

    buffer = io.BytesIO()
    Image.new("L", (200, 200), 255).save(buffer, "PNG")
    return buffer.getvalue()


def test_present_issue_and_verify_once(
    capsys: pytest.CaptureFixture[str], demo_dir: Path, tmp_path: Path
) -> None:
    platform = _authority_dir(demo_dir)
    code, stdout, err = run(
        capsys,
        "present",
        "issue",
        "--handle",
        "h7Fq2xYp9LmN3kQw",
        "--key",
        str(platform / "signer-sm2.key.pem"),
        "--cert",
        str(platform / "signer-sm2.pem"),
        "--region",
        "310000",
        "--audience",
        "340000",
        "--png",
        str(tmp_path / "t.png"),
    )
    assert code == 0, err
    token = stdout.strip().splitlines()[-1]
    assert token.startswith("EZT1:")
    args = [
        "present",
        "verify",
        token,
        "--cert",
        str(platform / "signer-sm2.pem"),
        "--region",
        "340000",
        "--replay-db",
        str(tmp_path / "replay.db"),
    ]
    code, stdout, _ = run(capsys, *args)
    assert code == 0 and "PASSED" in stdout
    code, stdout, _ = run(capsys, *args)  # the same token again: refused
    assert code == 1 and "token_replayed" in stdout
    code, _, err = run(
        capsys,
        "present",
        "issue",
        "--handle",
        "11010519491231002X",
        "--key",
        str(platform / "signer-sm2.key.pem"),
        "--cert",
        str(platform / "signer-sm2.pem"),
        "--region",
        "310000",
    )
    assert code == 3 and err.count("\n") == 1  # personal data is never a handle
