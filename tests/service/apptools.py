"""Building the service app on a copy of the demo domain, for the API tests."""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

import httpx
from fastapi import FastAPI
from fastapi.testclient import TestClient

from verifier_service.dependencies import Service
from verifier_service.main import create_app
from verifier_service.settings import Settings


def demo_time(data: Path) -> datetime:
    """A minute after the demo domain was made: the moment its manifest's verdicts hold for
    ("starts in a month" is still in the future), as ``ezz demo verify`` uses."""
    created = json.loads((data / "manifest.json").read_text(encoding="utf-8"))["created"]
    return datetime.fromisoformat(created.replace("Z", "+00:00")) + timedelta(minutes=1)


def copy_demo(source: Path, target: Path, *, status_and_rules: bool = True) -> Path:
    """A private copy of a demo directory (the service writes DATA/service/ into it).

    Without ``status_and_rules`` the copy has only the trust anchors: the verifier the
    manifest's ``samples`` and ``qr_samples`` expect (its ``status_samples`` expect both).
    """
    ignore = shutil.ignore_patterns("service", *(() if status_and_rules else ("status", "rules")))
    shutil.copytree(source, target, ignore=ignore)
    return target


@dataclass
class Api:
    """An app, a client on it, and a key (secret) of each role."""

    app: FastAPI
    client: TestClient
    keys: dict[str, str] = field(default_factory=dict)

    @property
    def service(self) -> Service:
        service: Service = self.app.state.service
        return service

    def auth(self, role: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.keys[role]}"}

    def verify(self, document: object, *, role: str = "window", **fields: object) -> httpx.Response:
        body: dict[str, object] = {
            "document": document,
            "use_cause": "办理业务",
            "item_code": "ITEM-1",
        }
        if role == "window":
            body["clerk"] = "王芳"
        body.update(fields)
        return self.client.post("/v1/verify", json=body, headers=self.auth(role))

    def server_errors(self) -> list[str]:
        """Requests this app answered with a 5xx, from its own metrics."""
        out = []
        for metric in self.service.metrics.requests.collect():
            for sample in metric.samples:
                status = sample.labels.get("status", "")
                if sample.name.endswith("_total") and status.startswith("5") and sample.value:
                    out.append(f"{sample.labels['method']} {sample.labels['route']} {status}")
        return out


@contextmanager
def running_api(data: Path, **settings: object) -> Iterator[Api]:
    """The app on ``data`` with a window, a peer (上海) and an admin key; on exit, checks that
    no request was answered with a 5xx other than the expected 503s."""
    config = Settings.for_data(data, **settings)  # type: ignore[arg-type]
    app = create_app(config, clock=lambda: demo_time(data))
    keys = app.state.service.database.api_keys
    api = Api(app, TestClient(app))
    api.keys["window"] = keys.create(role="window", name="窗口")[1]
    api.keys["peer"] = keys.create(role="peer", region="310000", name="上海")[1]
    api.keys["admin"] = keys.create(role="admin", name="管理员")[1]
    with api.client:
        yield api
    unexpected = [e for e in api.server_errors() if not e.endswith(" 503")]
    assert not unexpected, f"server errors: {unexpected}"
