"""Real service processes for the tests and the benchmark: uvicorn on a free loopback port.

:class:`ServiceProcess` starts ``python -m uvicorn verifier_service.main:create_app --factory``
in its own process group (so that a SIGKILL reaches every worker at once), waits until
``/healthz`` answers, and stops it on exit; ``EZZ_*`` settings come from ``env`` alone.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Mapping
from pathlib import Path
from types import TracebackType

import httpx

ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    """A loopback port nobody listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


class ServiceProcess:
    """One running service (see the module docstring); ``url`` is its base URL."""

    def __init__(
        self,
        env: Mapping[str, str],
        *,
        log: Path,
        workers: int = 1,
        port: int | None = None,
        app: str = "verifier_service.main:create_app",
        factory: bool = True,
    ) -> None:
        self.env = {k: v for k, v in os.environ.items() if not k.startswith("EZZ_")}
        self.env.update(env)
        self.log = log
        self.workers = workers
        self.port = port or free_port()
        self.app = app
        self.factory = factory
        self.url = f"http://127.0.0.1:{self.port}"
        self.process: subprocess.Popen[bytes] | None = None

    def start(self, *, timeout: float = 60.0) -> ServiceProcess:
        command = [sys.executable, "-m", "uvicorn", self.app]
        if self.factory:
            command.append("--factory")
        command += [
            "--host",
            "127.0.0.1",
            "--port",
            str(self.port),
            "--workers",
            str(self.workers),
            "--no-access-log",
            "--log-level",
            "warning",
        ]
        with self.log.open("ab") as out:
            self.process = subprocess.Popen(
                command,
                env=self.env,
                cwd=ROOT,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # its own process group: one signal reaches all workers
            )
        deadline = time.monotonic() + timeout
        while True:
            if self.process.poll() is not None:
                raise RuntimeError(
                    f"the service exited with {self.process.returncode}: "
                    + self.log.read_text(errors="replace")[-3000:]
                )
            try:
                if httpx.get(self.url + "/healthz", timeout=2).status_code == 200:
                    return self
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"the service did not answer /healthz within {timeout} s")
            time.sleep(0.2)

    def kill(self) -> None:
        """SIGKILL the whole process group (the server and every worker), at once."""
        if self.process is None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=30)
        self.process = None

    def stop(self) -> None:
        """SIGTERM, then SIGKILL after 15 s."""
        if self.process is None:
            return
        try:
            os.killpg(self.process.pid, signal.SIGTERM)
            self.process.wait(timeout=15)
        except ProcessLookupError:
            pass
        except subprocess.TimeoutExpired:
            self.kill()
            return
        self.process = None

    def __enter__(self) -> ServiceProcess:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()
