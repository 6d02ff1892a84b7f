"""The service's ``ezz`` commands: ``apikey create/list/revoke`` and ``audit verify``, on
SQLite (the default under --data) and on PostgreSQL (--database-url)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import text

from ezhengzhao.cli import main
from verifier_service.cli import HOLDER_KEY_FILE
from verifier_service.db import AuditEntry, Database, load_or_create_secret, open_database

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def data(tmp_path: Path) -> Path:
    return tmp_path / "data"


@pytest.fixture
def url_args(database_url: str) -> list[str]:
    return ["--database-url", database_url]


def ezz(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture
def service_db(data: Path, database_url: str) -> Iterator[Database]:
    """The database the commands use, opened as the service opens it."""
    db = open_database(database_url, holder_key=load_or_create_secret(data / HOLDER_KEY_FILE))
    try:
        yield db
    finally:
        db.close()


def test_apikey_create_prints_the_secret_alone_on_the_last_line(
    capsys: pytest.CaptureFixture[str], data: Path, url_args: list[str], service_db: Database
) -> None:
    code, out, _ = ezz(
        capsys,
        "apikey",
        "create",
        "--data",
        str(data),
        *url_args,
        "--role",
        "peer",
        "--region",
        "310000",
        "--name",
        "上海市一网通办",
    )
    assert code == 0
    lines = out.rstrip("\n").split("\n")
    secret = lines[-1]
    assert secret.startswith("ezzk_") and " " not in secret
    key = service_db.api_keys.authenticate(secret)
    assert key is not None
    assert (key.role, key.region, key.name) == ("peer", "310000", "上海市一网通办")
    assert key.key_id in out

    code, out, _ = ezz(capsys, "apikey", "list", "--data", str(data), *url_args, "--json")
    assert code == 0
    listed = json.loads(out)
    assert [k["key_id"] for k in listed] == [key.key_id]
    assert listed[0]["revoked"] is None and secret not in out

    code, out, _ = ezz(capsys, "apikey", "revoke", key.key_id, "--data", str(data), *url_args)
    assert code == 0 and key.key_id in out
    assert service_db.api_keys.authenticate(secret) is None
    code, _, err = ezz(capsys, "apikey", "revoke", key.key_id, "--data", str(data), *url_args)
    assert code == 3 and "no active API key" in err
    code, out, _ = ezz(capsys, "apikey", "list", "--data", str(data), *url_args)
    assert code == 0 and key.key_id in out and "revoked" in out


def test_apikey_create_refuses_a_peer_without_region(
    capsys: pytest.CaptureFixture[str], data: Path, url_args: list[str], service_db: Database
) -> None:
    base = ["apikey", "create", "--data", str(data), *url_args]
    code, out, err = ezz(capsys, *base, "--role", "peer")
    assert code == 3 and "region" in err and "ezzk_" not in out
    code, out, err = ezz(capsys, *base, "--role", "peer", "--region", "999999")
    assert code == 3 and "999999" in err
    with pytest.raises(SystemExit) as exc:
        main([*base, "--role", "root"])
    assert exc.value.code == 3
    assert service_db.api_keys.list() == []


def _append(db: Database, n: int, holder_code: str | None = None) -> None:
    db.audit.append(
        AuditEntry(
            action="verify",
            caller_key_id="k",
            role="window",
            clerk="李四",
            verdict="PASSED",
            request_id=f"r{n}",
            holder_code=holder_code,
        )
    )


def test_audit_verify_exits_1_and_names_the_broken_record(
    capsys: pytest.CaptureFixture[str], data: Path, url_args: list[str], service_db: Database
) -> None:
    argv = ["audit", "verify", "--data", str(data), *url_args]
    code, out, _ = ezz(capsys, *argv)
    assert (code, "OK: 0 records" in out) == (0, True)
    for n in range(3):
        _append(service_db, n, holder_code="11010519491231002X")
    code, out, _ = ezz(capsys, *argv)
    assert code == 0 and "OK: 3 records" in out
    with service_db.engine.begin() as conn:
        conn.execute(text("UPDATE ezz_audit SET clerk = '王五' WHERE seq = 2"))
    code, out, _ = ezz(capsys, *argv)
    assert code == 1
    assert "BROKEN" in out and "seq 2: hash does not match" in out


def test_a_checkpoint_catches_a_removed_or_rewritten_tail(
    capsys: pytest.CaptureFixture[str], data: Path, url_args: list[str], service_db: Database
) -> None:
    """Deleting the last records leaves a valid chain; only a checkpoint kept elsewhere
    shows that they are gone, or that the tail was rebuilt with fresh hashes."""
    argv = ["audit", "verify", "--data", str(data), *url_args]
    for n in range(4):
        _append(service_db, n)
    code, out, _ = ezz(capsys, *argv)
    assert code == 0
    checkpoint = out.strip().splitlines()[-1].removeprefix("checkpoint: ")
    assert checkpoint.startswith("4:") and len(checkpoint) == 2 + 64
    assert ezz(capsys, *argv, "--checkpoint", checkpoint)[0] == 0
    with service_db.engine.begin() as conn:
        conn.execute(text("DELETE FROM ezz_audit WHERE seq >= 3"))
    assert ezz(capsys, *argv)[0] == 0  # the shortened chain is still a chain
    code, out, _ = ezz(capsys, *argv, "--checkpoint", checkpoint)
    assert code == 1 and "seq 4: in the checkpoint but not in the log" in out
    # Rewritten: the same number of records again, chained anew, but not the ones checked.
    for n in range(10, 12):
        _append(service_db, n)
    code, out, _ = ezz(capsys, *argv, "--checkpoint", checkpoint)
    assert code == 1 and "seq 4: hash differs from the checkpoint" in out
    assert ezz(capsys, *argv, "--checkpoint", "4:nothex")[0] == 3


def test_the_default_database_lives_under_data(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("EZZ_DATABASE_URL", raising=False)
    data = tmp_path / "data"
    code, out, _ = ezz(capsys, "apikey", "create", "--data", str(data), "--role", "admin")
    assert code == 0
    assert (data / "service" / "service.db").is_file()
    key_file = data / HOLDER_KEY_FILE
    assert key_file.stat().st_mode & 0o777 == 0o600
    code, out2, _ = ezz(capsys, "apikey", "list", "--data", str(data))
    assert out.rstrip().split("\n")[-1] not in out2  # the secret is never shown again
    assert out.split("key id:")[1].split()[0] in out2


def test_the_ezz_command_runs_the_service_commands(tmp_path: Path) -> None:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    env.pop("EZZ_DATABASE_URL", None)
    data = tmp_path / "data"
    argv = ["apikey", "create", "--data", str(data), "--role", "window", "--name", "3号窗口"]
    done = subprocess.run(
        [sys.executable, "-m", "ezhengzhao.cli", *argv],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    secret = done.stdout.rstrip("\n").split("\n")[-1]
    with open_database(
        f"sqlite:///{data / 'service' / 'service.db'}",
        holder_key=load_or_create_secret(data / HOLDER_KEY_FILE),
    ) as db:
        key = db.api_keys.authenticate(secret)
    assert key is not None and key.name == "3号窗口"
    usage = subprocess.run(
        [sys.executable, "-m", "ezhengzhao.cli", "serve", "--help"],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=False,
    )
    assert usage.returncode == 0
    for option in ("--data", "--host", "--port", "--workers"):
        assert option in usage.stdout
