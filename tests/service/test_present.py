"""亮证 resolution in one service: POST /v1/present, /v1/present/issue, EZT1 at /v1/verify,
the handle table and the demo import on SQLite and PostgreSQL, and EZZ_PEERS parsing.

The cross-region flow between two real service processes is in test_cross_region.py.
"""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

from ezhengzhao.errors import ConfigurationError, RegistryError
from ezhengzhao.present import PresentationIssuer
from ezhengzhao.sign.keys import load_private_key
from ezhengzhao.sign.x509 import Certificate
from ezhengzhao.status.codec import SUSPENDED, VALID
from ezhengzhao.verify import Verifier
from tests.service.apptools import Api, copy_demo, demo_time, running_api
from verifier_service.db import open_database
from verifier_service.handles import HandleStore, import_demo_licences
from verifier_service.peers import Peers, parse_peers

SHANGHAI, ANHUI = "310000", "340000"


def _status_sample(data: Path, reason: str) -> tuple[str, dict[str, object]]:
    """The licence id and sealed document of the status sample with ``reason`` expected."""
    manifest = json.loads((data / "manifest.json").read_text(encoding="utf-8"))
    entry = next(
        s
        for s in manifest["status_samples"]
        if s["expected_reasons"] == ([reason] if reason else []) and s["file"].endswith(".ezz.json")
    )
    sealed = json.loads((data / entry["file"]).read_text(encoding="utf-8"))
    return sealed["licence"]["licence_id"], sealed


def _recognised(data: Path) -> str:
    """The 上海 licence that 安徽 recognises (PASSED everywhere)."""
    return _status_sample(data, "")[0]


def _issuer(data: Path, region: str, *, key_of: str | None = None) -> PresentationIssuer:
    """The region's platform, as the holder's app's back end signs with it (``key_of``:
    with another region's platform key, as a forger would)."""
    folder = data / "platform" / (key_of or region)
    return PresentationIssuer(
        signer=load_private_key((folder / "platform.key.pem").read_bytes()),
        certificate=Certificate.from_pem((folder / "platform.pem").read_bytes()),
        region=region,
        clock=lambda: demo_time(data),
    )


def _body(token: str, **more: object) -> dict[str, object]:
    return {"token": token, "use_cause": "办理食品经营许可变更", "item_code": "ITEM-7", **more}


def _issue(api: Api, licence_id: str, **fields: object) -> str:
    response = api.client.post(
        "/v1/present/issue", json={"licence_id": licence_id, **fields}, headers=api.auth("admin")
    )
    assert response.status_code == 200, response.text
    token: str = response.json()["token"]
    assert token.startswith("EZT1:")
    return token


@pytest.fixture
def shanghai(demo_dir: Path, tmp_path: Path) -> Iterator[tuple[Api, Path]]:
    data = copy_demo(demo_dir, tmp_path / "sh")
    with running_api(data, region=SHANGHAI) as api:
        yield api, data


def test_window_resolves_own_code_once(shanghai: tuple[Api, Path]) -> None:
    api, data = shanghai
    licence_id = _recognised(data)
    token = _issue(api, licence_id)
    first = api.client.post(
        "/v1/present", json=_body(token, clerk="李娜"), headers=api.auth("window")
    )
    assert first.status_code == 200, first.text
    body = first.json()
    assert body["result"]["status"] == "PASSED"
    assert body["result"]["checks"][0]["name"] == "token"
    assert body["result"]["display"]["licence_id"] == licence_id
    assert body["document"]["licence"]["licence_id"] == licence_id

    again = api.client.post(
        "/v1/present", json=_body(token, clerk="李娜"), headers=api.auth("window")
    )
    assert again.status_code == 200
    assert again.json()["result"]["status"] == "FAILED"
    assert again.json()["result"]["reasons"] == ["token_replayed"]
    assert again.json()["document"] is None

    records = api.service.database.audit.query()
    assert [(r.action, r.verdict, r.reasons) for r in records] == [
        ("present", "PASSED", ()),
        ("present", "FAILED", ("token_replayed",)),
    ]
    # The replay is recorded against the licence its (genuine) handle names.
    assert {r.licence_id for r in records} == {licence_id}
    assert records[0].holder_hash is not None
    assert api.service.database.audit.verify_chain().ok


def test_verify_endpoint_takes_a_code(shanghai: tuple[Api, Path]) -> None:
    api, data = shanghai
    token = _issue(api, _recognised(data))
    response = api.verify(token)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["result"]["status"] == "PASSED"
    assert "document" not in body  # /v1/verify answers as it always does
    (record,) = api.service.database.audit.query()
    assert record.action == "present"
    assert record.seq == body["audit_seq"]


def test_registry_status_follows_the_demo_lists(shanghai: tuple[Api, Path]) -> None:
    api, data = shanghai
    registry = api.service.database.registry
    suspended, _ = _status_sample(data, "licence_suspended")
    assert registry.status_of(suspended) == SUSPENDED
    assert registry.status_of(_recognised(data)) == VALID
    # Only 上海's licences are in 上海's registry.
    revoked, _ = _status_sample(data, "licence_revoked")
    with pytest.raises(RegistryError, match="no licence"):
        registry.get(revoked)
    token = _issue(api, suspended)
    result = api.verify(token).json()["result"]
    assert (result["status"], result["reasons"]) == ("FAILED", ["licence_suspended"])


def test_token_failures_are_results(shanghai: tuple[Api, Path]) -> None:
    api, data = shanghai
    issuer = _issuer(data, SHANGHAI)
    cases = {
        "token_audience_mismatch": _issue(api, _recognised(data), audience=ANHUI),
        "licence_not_found": issuer.issue("NoSuchHandle-0123456789"),
        "token_malformed": "EZT1:NOT-A-TOKEN",
        # A 上海 code signed with 安徽's platform key: not a key 上海 accepts for its codes.
        "token_kid_unknown": _issuer(data, SHANGHAI, key_of=ANHUI).issue("SomeHandle-abcdefgh"),
    }
    for reason, token in cases.items():
        response = api.client.post("/v1/present", json=_body(token), headers=api.auth("admin"))
        assert response.status_code == 200, response.text
        result = response.json()["result"]
        assert (result["status"], result["reasons"]) == ("FAILED", [reason]), reason
        assert result["display"]["reasons"][0]["message_zh"]
    assert [r.reasons for r in api.service.database.audit.query()] == [
        (reason,) for reason in cases
    ]


def test_peer_key_checks_audience_for_its_own_region(demo_dir: Path, tmp_path: Path) -> None:
    data = copy_demo(demo_dir, tmp_path / "sh")
    with running_api(data, region=SHANGHAI) as api:
        _, anhui_peer = api.service.database.api_keys.create(role="peer", region=ANHUI)
        headers = {"Authorization": f"Bearer {anhui_peer}"}
        for_anhui = _issue(api, _recognised(data), audience=ANHUI)
        for_zhejiang = _issue(api, _recognised(data), audience="330000")
        ok = api.client.post("/v1/present", json=_body(for_anhui), headers=headers).json()
        assert ok["result"]["status"] == "PASSED"
        refused = api.client.post("/v1/present", json=_body(for_zhejiang), headers=headers).json()
        assert refused["result"]["reasons"] == ["token_audience_mismatch"]
        records = api.service.database.audit.query()
        assert [(r.role, r.region) for r in records] == [("peer", ANHUI), ("peer", ANHUI)]


def test_issue_is_admin_only_and_checks_the_licence(shanghai: tuple[Api, Path]) -> None:
    api, data = shanghai
    licence_id = _recognised(data)
    for role in ("window", "peer"):
        response = api.client.post(
            "/v1/present/issue", json={"licence_id": licence_id}, headers=api.auth(role)
        )
        assert response.status_code == 403
        assert response.json()["code"] == "forbidden"
    unknown = api.client.post(
        "/v1/present/issue", json={"licence_id": "nope"}, headers=api.auth("admin")
    )
    assert (unknown.status_code, unknown.json()["code"]) == (404, "not_found")
    bad = api.client.post(
        "/v1/present/issue",
        json={"licence_id": licence_id, "audience": "abc"},
        headers=api.auth("admin"),
    )
    assert (bad.status_code, bad.json()["code"]) == (422, "invalid_request")
    no_key = api.client.post("/v1/present", json=_body("EZT1:X"))
    assert no_key.status_code == 401


def test_window_must_name_the_clerk(shanghai: tuple[Api, Path]) -> None:
    api, data = shanghai
    token = _issue(api, _recognised(data))
    response = api.client.post("/v1/present", json=_body(token), headers=api.auth("window"))
    assert (response.status_code, response.json()["code"]) == (422, "invalid_request")
    assert api.service.database.audit.count() == 0


def test_foreign_code_without_peer_is_not_reachable(demo_dir: Path, tmp_path: Path) -> None:
    data = copy_demo(demo_dir, tmp_path / "ah")
    token = _issuer(data, SHANGHAI).issue("SomeHandle-abcdefgh")
    with running_api(data, region=ANHUI) as api:
        result = api.verify(token).json()["result"]
        assert (result["status"], result["reasons"]) == ("FAILED", ["region_not_reachable"])
        (record,) = api.service.database.audit.query()
        assert (record.action, record.verdict) == ("present_forward", "FAILED")


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


def test_unreachable_peer_is_503_and_audited(demo_dir: Path, tmp_path: Path) -> None:
    data = copy_demo(demo_dir, tmp_path / "ah")
    token = _issuer(data, SHANGHAI).issue("SomeHandle-abcdefgh")
    peers = json.dumps({SHANGHAI: {"url": f"http://127.0.0.1:{_closed_port()}", "key": "ezzk_x_y"}})
    with running_api(data, region=ANHUI, peers=peers) as api:
        response = api.verify(token)
        assert response.status_code == 503
        assert response.json()["code"] == "peer_unavailable"
        (record,) = api.service.database.audit.query()
        assert (record.action, record.verdict, record.reasons) == (
            "present_forward",
            "ERROR",
            ("peer_unavailable",),
        )


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("[]", "JSON object"),
        ("{", "not valid JSON"),
        ('{"31000": {"url": "http://h", "key": "k"}}', "行政区划代码"),
        ('{"310000": {"url": "ftp://h", "key": "k"}}', "http"),
        ('{"310000": {"url": "http://", "key": "k"}}', "http"),
        ('{"310000": {"url": "http://h:99999", "key": "k"}}', "port"),
        ('{"310000": {"url": "http://h"}}', "exactly"),
        ('{"310000": {"url": "http://h", "key": ""}}', "key"),
        ('{"310000": {"url": "http://h", "key": "a b"}}', "key"),
        ('{"340000": {"url": "http://h", "key": "k"}}', "own region"),
    ],
)
def test_bad_peer_lists_are_refused(text: str, problem: str) -> None:
    with pytest.raises(ConfigurationError, match=problem):
        parse_peers(text, own_region=ANHUI)


def test_peer_lookup_walks_up_regions() -> None:
    peers = Peers.from_text('{"310000": {"url": "http://127.0.0.1:1/", "key": "k"}}')
    try:
        peer = peers.for_region("310115")
        assert peer is not None
        assert (peer.region, peer.present_url) == (SHANGHAI, "http://127.0.0.1:1/v1/present")
        assert "k" not in repr(peer)
        assert peers.for_region(ANHUI) is None
    finally:
        peers.close()
    assert parse_peers("  ") == {}


def test_bad_peers_stop_the_service_at_start(demo_dir: Path, tmp_path: Path) -> None:
    data = copy_demo(demo_dir, tmp_path / "ah")
    with (
        pytest.raises(ConfigurationError, match="EZZ_PEERS"),
        running_api(data, region=ANHUI, peers="{not json"),
    ):
        pass


def test_handles_and_import_on_both_backends(
    demo_dir: Path, database_url: str, holder_key: bytes
) -> None:
    trust = Verifier.from_directory(demo_dir, region=SHANGHAI).trust_store
    with open_database(database_url, holder_key=holder_key) as db:
        assert import_demo_licences(db, demo_dir, SHANGHAI, trust) == 3
        assert import_demo_licences(db, demo_dir, SHANGHAI, trust) == 0  # not twice
        handles = HandleStore(db)
        HandleStore(db)  # the table is created once, and a second store finds it
        licence_id = _recognised(demo_dir)
        first, second = handles.create(licence_id), handles.create(licence_id)
        assert first != second
        assert handles.resolve(first) == licence_id
        assert handles.resolve("Unknown-handle-123") is None
        row = handles.get(second)
        assert row is not None and row.licence_id == licence_id
        with pytest.raises(RegistryError, match="no licence"):
            handles.create("1.2.156.not-in-the-registry")
        assert db.registry.get(licence_id).licence.licence_id == licence_id


@pytest.mark.parametrize(
    ("table", "what"), [("ezz_present_handle", "handle table"), ("ezz_licence", "registry")]
)
def test_unreadable_storage_after_the_token_is_checked_is_audited(
    demo_dir: Path, tmp_path: Path, database_url: str, table: str, what: str
) -> None:
    """The token is spent once checked: when the handle table or registry cannot be read
    after that, the attempt is on record (verdict ERROR) before the 503 leaves."""
    data = copy_demo(demo_dir, tmp_path / "sh")
    with running_api(data, region=SHANGHAI, database_url=database_url) as api:
        licence_id = _recognised(data)
        token = _issue(api, licence_id)
        with api.service.database.engine.begin() as conn:
            conn.exec_driver_sql(f"ALTER TABLE {table} RENAME TO {table}_gone")
        response = api.client.post(
            "/v1/present", json=_body(token, clerk="李娜"), headers=api.auth("window")
        )
        assert response.status_code == 503, response.text
        assert response.json()["code"] == "storage_unavailable"
        assert what in response.json()["message"]
        (record,) = api.service.database.audit.query()
        assert (record.action, record.verdict, record.reasons) == (
            "present",
            "ERROR",
            ("storage_unavailable",),
        )
        assert record.clerk == "李娜"
        # Which licence it was is known once the handle could be read.
        assert record.licence_id == (licence_id if table == "ezz_licence" else None)
        with api.service.database.engine.begin() as conn:
            conn.exec_driver_sql(f"ALTER TABLE {table}_gone RENAME TO {table}")
        again = api.client.post(
            "/v1/present", json=_body(token, clerk="李娜"), headers=api.auth("window")
        )
        assert again.json()["result"]["reasons"] == ["token_replayed"]
        assert api.service.database.audit.count() == 2
