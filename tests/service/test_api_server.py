"""The service under uvicorn on a loopback port, with two worker processes, and the demo
set-up of ``make run``."""

from __future__ import annotations

import os
import socket
import stat
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from tests.service.apptools import copy_demo
from verifier_service.server import WINDOW_KEY_FILE, prepare_demo


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def test_prepare_demo_keeps_one_window_key(demo_dir: Path, tmp_path: Path) -> None:
    data = copy_demo(demo_dir, tmp_path / "data")
    secret = prepare_demo(data)
    key_file = data / "service" / WINDOW_KEY_FILE
    assert key_file.read_text(encoding="ascii").strip() == secret
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert prepare_demo(data) == secret, "an existing working key is reused"
    key_file.write_text("ezzk_gone_gone\n", encoding="ascii")
    assert prepare_demo(data) not in (secret, "ezzk_gone_gone"), "a dead key is replaced"
    fresh = tmp_path / "fresh"
    assert prepare_demo(fresh).startswith("ezzk_")
    assert (fresh / "manifest.json").is_file(), "a missing demo domain is made"


def test_serve_with_two_workers_over_real_http(demo_dir: Path, tmp_path: Path) -> None:
    data = copy_demo(demo_dir, tmp_path / "data")
    secret = prepare_demo(data)
    port = _free_port()
    code = (
        f"from verifier_service.server import serve; serve({str(data)!r}, '127.0.0.1', {port}, 2)"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("EZZ_")}
    process = subprocess.Popen(
        [sys.executable, "-c", code],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            if process.poll() is not None:
                pytest.fail(f"the service exited: {process.stderr.read().decode()[-2000:]}")  # type: ignore[union-attr]
            try:
                if httpx.get(f"{base}/healthz", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                pytest.fail("the service did not answer /healthz within 60 s")
            time.sleep(0.3)
        text = next((data / "licences").glob("*.qr.txt")).read_text(encoding="ascii").strip()
        headers = {"Authorization": f"Bearer {secret}"}
        body = {"document": text, "use_cause": "办理业务", "item_code": "ITEM-1", "clerk": "王芳"}
        seqs = []
        with httpx.Client(base_url=base, timeout=30) as client:
            for _ in range(6):
                response = client.post("/v1/verify", json=body, headers=headers)
                assert response.status_code == 200, response.text
                assert response.json()["result"]["display"]["verdict"] in ("PASSED", "FAILED")
                seqs.append(response.json()["audit_seq"])
            # Both workers append to one chain: the seqs are distinct and consecutive.
            assert sorted(seqs) == list(range(1, 7))
            assert client.get("/window").headers["content-type"].startswith("text/html")
            missing = client.post("/v1/verify", json=body)
            assert missing.status_code == 401 and missing.json()["code"] == "unauthenticated"
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
