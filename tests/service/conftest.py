"""Fixtures for the service tests: a real PostgreSQL server and a fresh database per test.

``postgres_server`` (session scope)
    A throwaway PostgreSQL server from the Debian binaries (``/usr/lib/postgresql/*/bin``):
    ``initdb`` into a temporary folder, ``pg_ctl start`` on a free loopback port with its unix
    socket in that folder, trust authentication for user ``postgres``, stopped and deleted at
    the end of the session. Under root the server binaries run as the ``postgres`` system
    user (initdb refuses root). Without the binaries every test that needs the server is
    skipped, and the skip says why. Methods: ``create_database() -> url`` (a new empty
    database, as a ``postgresql+psycopg://`` URL), ``drop_database(url)``, ``url(name)``.

``database_url`` (function scope, parametrized ``sqlite`` / ``postgresql``)
    The URL of a fresh, empty database: a SQLite file in ``tmp_path``, or a new database on
    ``postgres_server`` (dropped after the test). A test that takes it runs once per backend;
    the PostgreSQL server starts only when a ``postgresql`` case runs.

``holder_key``
    32 random bytes for ``open_database(..., holder_key=...)``.
"""

from __future__ import annotations

import contextlib
import glob
import os
import re
import secrets
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

BACKENDS = ("sqlite", "postgresql")


@dataclass
class PostgresServer:
    """A running throwaway PostgreSQL server on 127.0.0.1."""

    bin_dir: Path
    root: Path
    port: int
    user: str = "postgres"

    def url(self, database: str) -> str:
        return f"postgresql+psycopg://{self.user}@127.0.0.1:{self.port}/{database}"

    def _admin(self, statement: str) -> None:
        import psycopg

        with psycopg.connect(
            host="127.0.0.1", port=self.port, user=self.user, dbname="postgres", autocommit=True
        ) as conn:
            conn.execute(statement)  # type: ignore[arg-type]

    def create_database(self) -> str:
        """A new, empty database; its URL."""
        name = f"ezz_{secrets.token_hex(6)}"
        self._admin(f"CREATE DATABASE {name}")
        return self.url(name)

    def drop_database(self, url: str) -> None:
        """Drop the database of ``url``, closing whatever connections it still has."""
        name = url.rsplit("/", 1)[1]
        if not re.fullmatch(r"ezz_[0-9a-f]{12}", name):
            raise ValueError(f"not a database this fixture made: {url}")
        self._admin(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


def _postgres_bin_dir() -> Path | None:
    def version(path: str) -> int:
        match = re.search(r"/postgresql/(\d+)/", path)
        return int(match.group(1)) if match else 0

    candidates = [p for p in glob.glob("/usr/lib/postgresql/*/bin") if Path(p, "initdb").is_file()]
    return Path(max(candidates, key=version)) if candidates else None


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    """A throwaway PostgreSQL server for the session (see the module docstring)."""
    bin_dir = _postgres_bin_dir()
    if bin_dir is None:
        pytest.skip(
            "PostgreSQL server binaries not found under /usr/lib/postgresql/*/bin "
            "(install the Debian package postgresql: scripts/system-deps.sh)"
        )
    try:
        import psycopg  # noqa: F401
    except ImportError:
        pytest.skip("psycopg is not installed (pip install -e '.[service]')")
    run_as: list[str] = []
    root = Path(tempfile.mkdtemp(prefix="ezz-pg-"))
    if os.geteuid() == 0:
        # initdb refuses to run as root: the server runs as the postgres system user.
        runuser = shutil.which("runuser")
        if runuser is None:
            shutil.rmtree(root, ignore_errors=True)
            pytest.skip("running as root, and runuser is missing to start PostgreSQL as postgres")
        try:
            import pwd

            owner = pwd.getpwnam("postgres")
        except KeyError:
            shutil.rmtree(root, ignore_errors=True)
            pytest.skip("running as root, and there is no postgres system user")
        os.chown(root, owner.pw_uid, owner.pw_gid)
        run_as = [runuser, "-u", "postgres", "--"]
    data, sock, log = root / "data", root / "sock", root / "server.log"
    port = _free_port()

    def run(*args: str) -> None:
        subprocess.run([*run_as, *args], check=True, capture_output=True, timeout=120)

    try:
        run("mkdir", "-p", str(sock))
        run(
            str(bin_dir / "initdb"),
            "-D",
            str(data),
            "-U",
            "postgres",
            "--auth=trust",
            "--encoding=UTF8",
            "--locale=C",
            "--no-sync",
        )
        options = (
            f"-c listen_addresses=127.0.0.1 -p {port} -k {sock} -c fsync=off "
            "-c full_page_writes=off -c max_connections=200"
        )
        run(str(bin_dir / "pg_ctl"), "-D", str(data), "-l", str(log), "-o", options, "-w", "start")
    except subprocess.CalledProcessError as exc:
        server_log = log.read_text(errors="replace") if log.exists() else ""
        shutil.rmtree(root, ignore_errors=True)
        raise RuntimeError(
            f"cannot start PostgreSQL: {exc.cmd}: {exc.stderr.decode(errors='replace')}\n"
            f"{server_log}"
        ) from exc
    try:
        yield PostgresServer(bin_dir=bin_dir, root=root, port=port)
    finally:
        with contextlib.suppress(subprocess.SubprocessError):
            run(str(bin_dir / "pg_ctl"), "-D", str(data), "-m", "fast", "-w", "stop")
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture(params=BACKENDS)
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A fresh, empty database on each backend (see the module docstring)."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'service.db'}"
        return
    server: PostgresServer = request.getfixturevalue("postgres_server")
    url = server.create_database()
    try:
        yield url
    finally:
        server.drop_database(url)


@pytest.fixture
def holder_key() -> bytes:
    return secrets.token_bytes(32)
