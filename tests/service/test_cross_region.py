"""Cross-region 亮证 resolution between two real service processes on loopback ports.

上海 (310000) and 安徽 (340000) serve the same demo data directory from separate databases;
安徽 has 上海 as a peer, with a peer key that 上海's database issued. A 上海 code for a 上海
licence of 上海's registry is scanned at an 安徽 window: 安徽 forwards it to 上海, 上海 checks
it once and logs it, and 安徽 verifies the returned licence with its own rules and logs its
side. Both audit logs are then read and their chains checked with ``ezz audit verify``.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from tests.service.apptools import copy_demo
from tests.service.processes import ROOT, ServiceProcess
from verifier_service.db import AuditRecord, load_or_create_secret, open_database

SHANGHAI, ANHUI = "310000", "340000"


def _status_sample(data: Path, reasons: list[str]) -> str:
    """The licence id of the sealed status sample the manifest expects ``reasons`` of."""
    manifest = json.loads((data / "manifest.json").read_text(encoding="utf-8"))
    entry = next(
        s
        for s in manifest["status_samples"]
        if s["expected_reasons"] == reasons and s["file"].endswith(".ezz.json")
    )
    sealed = json.loads((data / entry["file"]).read_text(encoding="utf-8"))
    licence_id: str = sealed["licence"]["licence_id"]
    return licence_id


class _Db:
    """Keys and audit records of one service's database, opened beside the running service."""

    def __init__(self, data: Path, url: str) -> None:
        self.data, self.url = data, url
        self.key = load_or_create_secret(data / "service" / "audit-holder.key")

    def create_key(self, role: str, region: str | None = None) -> str:
        with open_database(self.url, holder_key=self.key) as db:
            return db.api_keys.create(role=role, region=region, name=f"test {role}")[1]

    def records(self) -> list[AuditRecord]:
        with open_database(self.url, holder_key=self.key) as db:
            return db.audit.query()

    def audit_verify(self) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [
                sys.executable,
                "-m",
                "ezhengzhao.cli",
                "audit",
                "verify",
                "--data",
                str(self.data),
                "--database-url",
                self.url,
            ],
            capture_output=True,
            text=True,
            cwd=ROOT,
            timeout=60,
        )


def _bearer(secret: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {secret}"}


def test_anhui_window_resolves_a_shanghai_code(demo_dir: Path, tmp_path: Path) -> None:
    # One data directory for both services; each writes only its own database.
    data = copy_demo(demo_dir, tmp_path / "demo")
    sh_db = _Db(data, f"sqlite:///{tmp_path / 'shanghai.db'}")
    ah_db = _Db(data, f"sqlite:///{tmp_path / 'anhui.db'}")
    peer_key = sh_db.create_key("peer", ANHUI)  # 上海 gives 安徽 a key for its platform
    sh_admin = sh_db.create_key("admin")
    ah_window = ah_db.create_key("window")
    recognised = _status_sample(data, [])
    refused = _status_sample(data, ["not_recognised_in_region"])

    shanghai = ServiceProcess(
        {"EZZ_DATA": str(data), "EZZ_REGION": SHANGHAI, "EZZ_DATABASE_URL": sh_db.url},
        log=tmp_path / "shanghai.log",
    )
    with shanghai:
        peers = {SHANGHAI: {"url": shanghai.url, "key": peer_key}}
        anhui = ServiceProcess(
            {
                "EZZ_DATA": str(data),
                "EZZ_REGION": ANHUI,
                "EZZ_DATABASE_URL": ah_db.url,
                "EZZ_PEERS": json.dumps(peers),
            },
            log=tmp_path / "anhui.log",
        )
        with anhui, httpx.Client(timeout=30) as client:

            def code(licence_id: str, audience: str) -> str:
                # What 上海's platform gives the holder's app: a fresh single-use code.
                response = client.post(
                    shanghai.url + "/v1/present/issue",
                    json={"licence_id": licence_id, "audience": audience},
                    headers=_bearer(sh_admin),
                )
                assert response.status_code == 200, response.text
                token: str = response.json()["token"]
                return token

            def scan(token: str, path: str = "/v1/verify") -> dict[str, object]:
                field = "document" if path == "/v1/verify" else "token"
                response = client.post(
                    anhui.url + path,
                    json={
                        field: token,
                        "use_cause": "办理食品经营许可变更",
                        "item_code": "340100-000-XK-0012",
                        "clerk": "王芳",
                    },
                    headers=_bearer(ah_window),
                )
                assert response.status_code == 200, response.text
                body: dict[str, object] = response.json()
                return body

            first_code = code(recognised, ANHUI)
            passed = scan(first_code)
            result = passed["result"]
            assert isinstance(result, dict)
            assert (result["status"], result["reasons"]) == ("PASSED", [])
            assert result["verifying_region"] == ANHUI
            assert result["display"]["licence_id"] == recognised
            assert result["checks"][0]["name"] == "token"

            # 上海 finds nothing wrong with this one; 安徽's own rules refuse it.
            refused_answer = scan(code(refused, "*"), path="/v1/present")
            result = refused_answer["result"]
            assert isinstance(result, dict)
            assert (result["status"], result["reasons"]) == (
                "FAILED",
                ["not_recognised_in_region"],
            )
            assert "its verdict PASSED" in result["checks"][0]["message_en"]
            document = refused_answer["document"]
            assert isinstance(document, dict)
            assert document["licence"]["licence_id"] == refused

            replayed = scan(first_code)
            result = replayed["result"]
            assert isinstance(result, dict)
            assert (result["status"], result["reasons"]) == ("FAILED", ["token_replayed"])

    sh_records, ah_records = sh_db.records(), ah_db.records()
    assert [
        (r.action, r.role, r.region, r.verdict, r.reasons, r.licence_id) for r in sh_records
    ] == [
        ("present", "peer", ANHUI, "PASSED", (), recognised),
        ("present", "peer", ANHUI, "PASSED", (), refused),
        ("present", "peer", ANHUI, "FAILED", ("token_replayed",), recognised),
    ]
    expected_ah = [
        ("PASSED", (), recognised),
        ("FAILED", ("not_recognised_in_region",), refused),
        ("FAILED", ("token_replayed",), None),
    ]
    assert len(ah_records) == len(expected_ah)
    for record, sh_record, (verdict, reasons, licence_id) in zip(
        ah_records, sh_records, expected_ah, strict=True
    ):
        assert (record.action, record.role, record.region) == ("present_forward", "window", ANHUI)
        assert (record.verdict, record.licence_id, record.clerk) == (verdict, licence_id, "王芳")
        # Its own reasons, then the peer's request id: the two records name each other.
        assert record.reasons == (*reasons, f"peer_request:{sh_record.request_id}")
        assert sh_record.clerk == "王芳"
        assert sh_record.item_code == record.item_code == "340100-000-XK-0012"
    # The holder is recorded (keyed hash, never in clear) on both sides.
    assert ah_records[0].holder_hash and sh_records[0].holder_hash

    for db in (sh_db, ah_db):
        checked = db.audit_verify()
        assert checked.returncode == 0, checked.stdout + checked.stderr
        assert "audit chain OK: 3 records" in checked.stdout


@pytest.fixture(autouse=True)
def _no_stray_env(monkeypatch: pytest.MonkeyPatch) -> None:
    # The processes take their settings from the test alone.
    for name in ("EZZ_DATA", "EZZ_REGION", "EZZ_DATABASE_URL", "EZZ_PEERS"):
        monkeypatch.delenv(name, raising=False)
