"""Fixtures for the window page's browser tests: a real service process, a real Chromium.

The service runs as its own process on a free loopback port, over a copy of the demo data
directory, with a window API key created for it; Chromium is Debian's (/usr/bin/chromium),
driven headless, with a fake camera that plays a generated video of a demo QR code.
Screenshots of every flow go to ``tests/browser/artifacts/`` (ignored by git).
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Generator, Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Browser, BrowserContext, Page, sync_playwright

from tests.browser.video import write_qr_video

CHROMIUM = Path(os.environ.get("EZZ_CHROMIUM", "/usr/bin/chromium"))
ARTIFACTS = Path(__file__).resolve().parent / "artifacts"
ROOT = Path(__file__).resolve().parents[2]

# Chromium as a quiet, offline test browser: no sandbox (the tests run as root in CI), no
# GPU, no background traffic of its own.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-default-apps",
    "--disable-extensions",
    "--metrics-recording-only",
    "--mute-audio",
]

_SKIPPED = pytest.StashKey[str]()

WINDOW_SESSION = {
    "clerk": "王芳",
    "item_code": "340100-000-XK-0012",
    "use_cause": "办理食品经营许可证变更登记，核验申请人提交的电子证照",
}


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Skip every browser test, saying why, when Debian's Chromium is not installed."""
    if CHROMIUM.is_file() and os.access(CHROMIUM, os.X_OK):
        return
    reason = f"Chromium not found at {CHROMIUM} (scripts/system-deps.sh installs it)"
    config.stash[_SKIPPED] = reason
    here = Path(__file__).resolve().parent
    for item in items:
        if here in Path(str(item.fspath)).resolve().parents:
            item.add_marker(pytest.mark.skip(reason=reason))


def pytest_terminal_summary(
    terminalreporter: pytest.TerminalReporter, config: pytest.Config
) -> None:
    """Say where the screenshots are, or why there are none."""
    skipped = config.stash.get(_SKIPPED, None)
    if skipped is not None:
        terminalreporter.write_line(f"window page browser tests skipped: {skipped}")
    elif ARTIFACTS.is_dir() and any(ARTIFACTS.glob("*.png")):
        terminalreporter.write_line(f"window page screenshots: {ARTIFACTS}")


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    # Keep each phase's report on the test, so a failing test's page can be photographed.
    report = yield
    setattr(item, f"report_{report.when}", report)
    return report


@dataclass(frozen=True, slots=True)
class Service:
    """A running verifier service: its base URL, a window key and its data directory."""

    base_url: str
    window_key: str
    data: Path

    def url(self, path: str) -> str:
        return self.base_url + path


@dataclass(frozen=True, slots=True)
class Samples:
    """Demo samples the flows use, chosen from the demo manifest."""

    data: Path
    manifest: dict[str, object]

    def qr_samples(self, status: str) -> list[dict[str, object]]:
        entries = self.manifest["qr_samples"]
        assert isinstance(entries, list)
        return [e for e in entries if e["expected_status"] == status]

    def status_sample(self, reason: str) -> dict[str, object]:
        entries = self.manifest["status_samples"]
        assert isinstance(entries, list)
        return next(e for e in entries if reason in e["expected_reasons"])

    def text(self, entry: dict[str, object], key: str = "file") -> str:
        return (self.data / str(entry[key])).read_text(encoding="utf-8").strip()

    def path(self, entry: dict[str, object], key: str) -> Path:
        return self.data / str(entry[key])


def withheld_sample(samples: Samples) -> dict[str, object]:
    """The sample whose status list the service is not given (its verdict: 无法确认)."""
    return samples.status_sample("licence_suspended")


def _withhold_status_list(data: Path, samples: Samples) -> None:
    """Take out of ``data`` the status list that ``withheld_sample`` refers to, as when a
    region's list has not been fetched yet: the service cannot tell whether it is revoked."""
    entry = withheld_sample(samples)
    sealed = json.loads(samples.path(entry, "file").read_text(encoding="utf-8"))
    uri = sealed["licence"]["status"]["uri"]
    index_path = data / "status" / "index.json"
    index = json.loads(index_path.read_text(encoding="utf-8"))
    (data / "status" / index.pop(uri)).unlink()
    index_path.write_text(json.dumps(index, indent=2), encoding="utf-8")


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _create_window_key(data: Path) -> str:
    """A window-role API key in the service's own database, as an administrator makes one."""
    from verifier_service.db import default_database_url, load_or_create_secret, open_database

    holder_key = load_or_create_secret(data / "service" / "audit-holder.key")
    db = open_database(default_database_url(data), holder_key=holder_key)
    try:
        _, secret = db.api_keys.create(role="window", name="browser tests")
    finally:
        db.close()
    return secret


@pytest.fixture(scope="session")
def samples(demo_dir: Path) -> Samples:
    manifest = json.loads((demo_dir / "manifest.json").read_text(encoding="utf-8"))
    return Samples(demo_dir, manifest)


@pytest.fixture(scope="session")
def service(
    tmp_path_factory: pytest.TempPathFactory, demo_dir: Path, samples: Samples
) -> Iterator[Service]:
    """A real service process over a copy of the demo directory (one status list left
    out), stopped at the end."""
    data = tmp_path_factory.mktemp("window-service") / "demo"
    shutil.copytree(demo_dir, data)
    _withhold_status_list(data, samples)
    env = {k: v for k, v in os.environ.items() if not k.startswith("EZZ_")}
    env["EZZ_DATA"] = str(data)
    key = _create_window_key(data)
    port = _free_port()
    log = (data.parent / "service.log").open("wb")
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "uvicorn",
            "verifier_service.main:create_app",
            "--factory",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--no-access-log",
        ],
        env=env,
        cwd=ROOT,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            if process.poll() is not None:
                raise RuntimeError(
                    f"the service exited with {process.returncode}: "
                    + (data.parent / "service.log").read_text(errors="replace")[-3000:]
                )
            try:
                if httpx.get(base + "/healthz", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError("the service did not answer /healthz within 60 s")
            time.sleep(0.2)
        yield Service(base, key, data)
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        log.close()


@pytest.fixture(scope="session")
def camera_video(tmp_path_factory: pytest.TempPathFactory, samples: Samples) -> Path:
    """A .y4m video: a desk, then a sheet with a valid demo sample's QR code."""
    entry = camera_sample(samples)
    out = tmp_path_factory.mktemp("camera") / "qr.y4m"
    return write_qr_video(samples.path(entry, "image"), out)


def camera_sample(samples: Samples) -> dict[str, object]:
    """The sample the fake camera shows: the last valid QR sample."""
    return samples.qr_samples("PASSED")[-1]


@pytest.fixture(scope="session")
def browser(camera_video: Path) -> Iterator[Browser]:
    """Headless Chromium whose camera plays ``camera_video`` (permission granted)."""
    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=str(CHROMIUM),
            headless=True,
            args=[
                *CHROMIUM_ARGS,
                "--use-fake-ui-for-media-stream",
                "--use-fake-device-for-media-stream",
                f"--use-file-for-fake-video-capture={camera_video}",
            ],
        )
        try:
            yield browser
        finally:
            browser.close()


@pytest.fixture(scope="session")
def artifacts() -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    for old in ARTIFACTS.glob("*.png"):
        old.unlink()
    print(f"\nwindow page screenshots go to {ARTIFACTS}")
    return ARTIFACTS


@pytest.fixture
def context(
    browser: Browser, service: Service, request: pytest.FixtureRequest, artifacts: Path
) -> Iterator[BrowserContext]:
    """A fresh browser context (empty sessionStorage) on the service's origin."""
    ctx = browser.new_context(
        viewport={"width": 1366, "height": 900},
        locale="zh-CN",
        timezone_id="Asia/Shanghai",
        permissions=["camera"],
    )
    ctx.set_default_timeout(20_000)
    errors: list[str] = []
    ctx.on("weberror", lambda e: errors.append(str(e.error)))
    # The page must live within its own Content-Security-Policy: a blocked script, style or
    # image shows up only as a console message.
    ctx.on(
        "console",
        lambda m: errors.append(m.text) if "Content Security Policy" in m.text else None,
    )
    try:
        yield ctx
        assert not errors, f"errors on the page: {errors}"
    finally:
        report = getattr(request.node, "report_call", None)
        if report is not None and report.failed:
            for n, page in enumerate(ctx.pages):
                page.screenshot(path=str(artifacts / f"FAILED-{request.node.name}-{n}.png"))
        ctx.close()


@pytest.fixture
def page(context: BrowserContext, service: Service) -> Page:
    """The window page with its session set up (clerk, 事项, use cause, key from the link)."""
    page = context.new_page()
    page.goto(service.url(f"/window#key={service.window_key}"))
    page.fill("#setup-clerk", WINDOW_SESSION["clerk"])
    page.fill("#setup-item", WINDOW_SESSION["item_code"])
    page.fill("#setup-cause", WINDOW_SESSION["use_cause"])
    page.click("#setup-submit")
    page.wait_for_selector("#scan-input:focus")
    return page
