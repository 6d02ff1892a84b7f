"""A peer platform that answers garbage: never a 500, always an audited 503 peer_unavailable.

The peer is a small HTTP server on 127.0.0.1 in this process that answers every request with
the bytes a test gives it; the service forwards a 上海 亮证 code to it from 安徽.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from ezhengzhao.present import PresentationIssuer
from ezhengzhao.sign.keys import load_private_key
from ezhengzhao.sign.x509 import Certificate
from tests.service.apptools import copy_demo, demo_time, running_api

SHANGHAI, ANHUI = "310000", "340000"


class FakePeer:
    """An HTTP server answering every POST with ``status`` and ``body``."""

    def __init__(self) -> None:
        self.status = 200
        self.body = b"{}"
        self.requests = 0
        peer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", "0"))
                self.rfile.read(length)
                peer.requests += 1
                self.send_response(peer.status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(peer.body)))
                self.end_headers()
                self.wfile.write(peer.body)

            def log_message(self, format: str, *args: object) -> None:
                pass  # quiet: the test says what went wrong

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> FakePeer:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join()


@pytest.fixture
def peer() -> Iterator[FakePeer]:
    with FakePeer() as running:
        yield running


def _shanghai_code(data: Path) -> str:
    folder = data / "platform" / SHANGHAI
    issuer = PresentationIssuer(
        signer=load_private_key((folder / "platform.key.pem").read_bytes()),
        certificate=Certificate.from_pem((folder / "platform.pem").read_bytes()),
        region=SHANGHAI,
        clock=lambda: demo_time(data),
    )
    return issuer.issue("SomeHandle-abcdefgh")


def _answer(document: str) -> bytes:
    """A /v1/present answer whose ``document`` is the JSON text given."""
    return (
        '{"request_id": "abc", "result": {"status": "PASSED", "reasons": []}, '
        f'"document": {document}}}'
    ).encode()


def _deep(depth: int) -> str:
    return '{"a": ' * depth + "1" + "}" * depth


GARBAGE = {
    # Far deeper than any parser's recursion guard.
    "nested-200": (200, _deep(200_000).encode()),
    "nested-document": (200, _answer(_deep(200_000))),
    # Within the parser's bound, far deeper than any sealed licence: its walk while the
    # answer is checked against the response schema would fail.
    "deep-document": (200, _answer(_deep(800))),
    "nan-document": (200, _answer('{"format": "ezz/sealed/1", "x": NaN}')),
    "infinity-reason": (
        200,
        b'{"request_id": "abc", "result": {"status": "FAILED", "reasons": [Infinity]}, '
        b'"document": null}',
    ),
    "duplicate-keys": (200, b'{"request_id": "a", "request_id": "b"}'),
    "not-utf8": (200, b'{"request_id": "\xff"}'),
    "nested-error": (500, _deep(200_000).encode()),
    "nan-error": (503, b'{"code": NaN}'),
}


@pytest.mark.parametrize("path", ["/v1/verify", "/v1/present"])
@pytest.mark.parametrize("case", GARBAGE)
def test_garbled_peer_answer_is_an_audited_503(
    case: str, path: str, peer: FakePeer, demo_dir: Path, tmp_path: Path
) -> None:
    peer.status, peer.body = GARBAGE[case]
    data = copy_demo(demo_dir, tmp_path / "ah")
    peers = json.dumps({SHANGHAI: {"url": peer.url, "key": "ezzk_x_y"}})
    # running_api fails the test if any request was answered with a 5xx other than 503.
    with running_api(data, region=ANHUI, peers=peers) as api:
        field = "document" if path == "/v1/verify" else "token"
        body = {field: _shanghai_code(data), "use_cause": "办理业务", "item_code": "ITEM-1"}
        response = api.client.post(path, json=body, headers=api.auth("admin"))
        assert peer.requests == 1
        assert response.status_code == 503, response.text
        assert response.json()["code"] == "peer_unavailable"
        (record,) = api.service.database.audit.query()
        assert (record.action, record.verdict, record.reasons) == (
            "present_forward",
            "ERROR",
            ("peer_unavailable",),
        )


def test_well_formed_peer_answer_is_verified_here(
    peer: FakePeer, demo_dir: Path, tmp_path: Path
) -> None:
    """The same fake peer with a sane answer: the forwarded path works (the garbage cases
    above fail for their garbage, not for the set-up)."""
    data = copy_demo(demo_dir, tmp_path / "ah")
    peer.body = (
        b'{"request_id": "abc", "result": {"status": "FAILED", '
        b'"reasons": ["token_replayed"]}, "document": null}'
    )
    peers = json.dumps({SHANGHAI: {"url": peer.url, "key": "ezzk_x_y"}})
    with running_api(data, region=ANHUI, peers=peers) as api:
        response = api.verify(_shanghai_code(data))
        assert response.status_code == 200, response.text
        result = response.json()["result"]
        assert (result["status"], result["reasons"]) == ("FAILED", ["token_replayed"])
        (record,) = api.service.database.audit.query()
        assert record.reasons == ("token_replayed", "peer_request:abc")
