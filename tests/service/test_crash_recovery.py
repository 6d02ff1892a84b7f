"""SIGKILL under load: every acknowledged verification keeps its audit record.

A real service process (two workers) is driven by several client threads; mid-load the whole
process group gets SIGKILL — no shutdown handler runs. The service is then started again on
the same database: every request that was answered 200 must have its record (matched by
request id), and the hash chain must verify. Requests cut off by the kill may or may not
have a record; none may have a record without a chain that verifies.
"""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path

import httpx

from tests.service.apptools import copy_demo
from tests.service.processes import ServiceProcess
from verifier_service.db import (
    MAX_QUERY_LIMIT,
    Database,
    load_or_create_secret,
    open_database,
)

THREADS = 4
# Enough answered requests that the kill lands among requests in flight.
ACKNOWLEDGED_BEFORE_KILL = 60
LOAD_LIMIT_S = 12.0


def test_acknowledged_requests_survive_sigkill(demo_dir: Path, tmp_path: Path) -> None:
    data = copy_demo(demo_dir, tmp_path / "demo")
    url = f"sqlite:///{tmp_path / 'service.db'}"
    holder_key = load_or_create_secret(data / "service" / "audit-holder.key")
    with open_database(url, holder_key=holder_key) as db:
        _, window_key = db.api_keys.create(role="window", name="crash test")
    manifest = json.loads((data / "manifest.json").read_text(encoding="utf-8"))
    qr = next(q for q in manifest["qr_samples"] if q["expected_status"] == "PASSED")
    text = (data / qr["file"]).read_text(encoding="utf-8").strip()
    body = {"document": text, "use_cause": "压力测试", "item_code": "ITEM-1", "clerk": "王芳"}
    env = {"EZZ_DATA": str(data), "EZZ_DATABASE_URL": url}

    acknowledged: list[str] = []
    refused: list[str] = []
    lock = threading.Lock()
    stop = threading.Event()

    service = ServiceProcess(env, log=tmp_path / "service.log", workers=2).start()

    def load() -> None:
        headers = {"Authorization": f"Bearer {window_key}"}
        with httpx.Client(base_url=service.url, timeout=10) as client:
            while not stop.is_set():
                try:
                    response = client.post("/v1/verify", json=body, headers=headers)
                except httpx.TransportError:
                    return  # the server is gone: this request was never acknowledged
                with lock:
                    if response.status_code == 200:
                        acknowledged.append(response.json()["request_id"])
                    else:
                        refused.append(f"{response.status_code} {response.text[:200]}")

    threads = [threading.Thread(target=load, daemon=True) for _ in range(THREADS)]
    try:
        for thread in threads:
            thread.start()
        deadline = time.monotonic() + LOAD_LIMIT_S
        while time.monotonic() < deadline:
            with lock:
                if len(acknowledged) >= ACKNOWLEDGED_BEFORE_KILL:
                    break
            time.sleep(0.02)
        service.kill()  # mid-load: requests are in flight in both workers
        stop.set()
        for thread in threads:
            thread.join(timeout=15)
    finally:
        stop.set()
        service.kill()

    assert not refused, refused[:3]
    assert len(acknowledged) >= 10, "too few requests were answered before the kill"

    # Restarted on the same database, the service works again ...
    with (
        ServiceProcess(env, log=tmp_path / "service-restart.log") as again,
        httpx.Client(base_url=again.url, timeout=10) as client,
    ):
        response = client.post(
            "/v1/verify", json=body, headers={"Authorization": f"Bearer {window_key}"}
        )
        assert response.status_code == 200, response.text
        acknowledged.append(response.json()["request_id"])

    # ... and nothing it acknowledged before the crash is missing from the log.
    with open_database(url, holder_key=holder_key) as db:
        report = db.audit.verify_chain()
        recorded = _request_ids(db)
    assert report.ok, report.problems
    missing = [rid for rid in acknowledged if rid not in recorded]
    assert not missing, f"{len(missing)} acknowledged requests have no audit record"
    assert report.records >= len(acknowledged)


def _request_ids(db: Database) -> set[str]:
    """The request id of every record in the log, page by page."""
    ids: set[str] = set()
    after = 0
    while True:
        page = db.audit.query(after_seq=after, limit=MAX_QUERY_LIMIT)
        if not page:
            return ids
        ids.update(r.request_id for r in page)
        after = page[-1].seq
