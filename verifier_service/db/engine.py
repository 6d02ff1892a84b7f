"""Opening the service database — 数据库: SQLite by default, PostgreSQL for several hosts.

:func:`open_database` takes a database URL (``sqlite:///<file>`` or
``postgresql+psycopg://user:password@host/db``), creates the tables when they are missing and
returns a :class:`Database` with the audit log, the API keys, the replay cache and the issuer
registry, all on one SQLAlchemy engine.

Writers that must queue behind each other (the audit chain, the registry) do so on both
backends: SQLite opens every write transaction with ``BEGIN IMMEDIATE`` (the database-wide
write lock, waited for up to the busy timeout); PostgreSQL takes a transaction-scoped advisory
lock (``pg_advisory_xact_lock``), which holds across processes and hosts.

Durability: SQLite runs in WAL mode with ``synchronous=FULL``, so a committed transaction
survives a crash or power loss; PostgreSQL commits synchronously by default. A method that
writes returns only after its COMMIT.
"""

from __future__ import annotations

import contextlib
import os
import secrets
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Final, Literal

from sqlalchemy import Connection, Engine, create_engine, event, text
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import (
    ArgumentError,
    DBAPIError,
    IntegrityError,
    InterfaceError,
    OperationalError,
)
from sqlalchemy.pool import ConnectionPoolEntry

from ezhengzhao.clock import Clock, system_clock
from ezhengzhao.errors import ConfigurationError
from verifier_service.db import tables
from verifier_service.db.apikeys import ApiKeyStore
from verifier_service.db.audit import AuditLog
from verifier_service.db.common import StorageConflict, StorageError
from verifier_service.db.registry import SqlRegistry
from verifier_service.db.replay import SqlReplayCache

__all__ = [
    "Database",
    "StorageConflict",
    "StorageError",
    "Transactions",
    "default_database_url",
    "load_or_create_secret",
    "open_database",
]

#: How long a SQLite writer waits for another's lock before giving up (seconds).
BUSY_TIMEOUT: Final = 30.0

_SECRET_BYTES: Final = 32


def default_database_url(data_dir: str | os.PathLike[str]) -> str:
    """The SQLite database under ``<data_dir>/service/service.db``, as a URL."""
    path = Path(data_dir).resolve() / "service" / "service.db"
    return f"sqlite:///{path}"


class Transactions:
    """Read and write transactions on one engine, with the backend's write locking."""

    __slots__ = ("clock", "dialect", "engine")

    def __init__(self, engine: Engine, dialect: Literal["sqlite", "postgresql"], clock: Clock):
        self.engine = engine
        self.dialect = dialect
        self.clock = clock

    def now(self) -> datetime:
        """The clock's reading in UTC; a naive clock is a configuration error."""
        moment = self.clock()
        if not isinstance(moment, datetime) or moment.utcoffset() is None:
            raise ConfigurationError("the database's clock must return timezone-aware datetimes")
        return moment.astimezone(UTC)

    @contextlib.contextmanager
    def write(self, lock: int | None = None) -> Iterator[Connection]:
        """A write transaction, committed when the block ends without an exception.

        On PostgreSQL, ``lock`` names an advisory lock held until COMMIT, so writers of one
        kind run one at a time; on SQLite every writer already holds the write lock.
        """
        with self._errors(), self.engine.connect() as conn:
            conn.execution_options(ezz_write=True)
            with conn.begin():
                if lock is not None and self.dialect == "postgresql":
                    conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": lock})
                yield conn

    @contextlib.contextmanager
    def read(self) -> Iterator[Connection]:
        """A read-only transaction over one consistent snapshot."""
        with self._errors(), self.engine.connect() as conn:
            if self.dialect == "postgresql":
                conn.execution_options(isolation_level="REPEATABLE READ")
            try:
                yield conn  # the first statement begins the transaction
            finally:
                # Nothing to keep: end the snapshot without writing anything.
                conn.rollback()

    @contextlib.contextmanager
    def _errors(self) -> Iterator[None]:
        try:
            yield
        except (OperationalError, InterfaceError) as exc:
            raise StorageError(f"the database is unavailable: {exc.orig or exc}") from exc
        except IntegrityError as exc:
            raise StorageConflict(f"the database refused the write: {exc.orig or exc}") from exc
        except DBAPIError as exc:
            # Any other driver error: bad SQL or a damaged schema (a bug, not an outage), a
            # value the column refuses, the server's own failure. Still refused with a 503 —
            # nothing was recorded — but the driver's class stays in the message and the log.
            name = type(exc.orig).__name__ if exc.orig is not None else type(exc).__name__
            raise StorageError(
                f"the database refused the statement ({name}): {exc.orig or exc}"
            ) from exc


class Database:
    """The service's storage: audit log, API keys, replay cache and registry on one engine."""

    def __init__(self, transactions: Transactions, *, holder_key: bytes) -> None:
        self.transactions = transactions
        self.engine = transactions.engine
        self.dialect = transactions.dialect
        self.audit = AuditLog(transactions, holder_key=holder_key)
        self.api_keys = ApiKeyStore(transactions)
        self.replay = SqlReplayCache(transactions)
        self.registry = SqlRegistry(transactions)

    @property
    def url(self) -> str:
        """The database URL with any password hidden."""
        return self.engine.url.render_as_string(hide_password=True)

    def close(self) -> None:
        """Close every pooled connection."""
        self.engine.dispose()

    def __enter__(self) -> Database:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def open_database(url: str, *, holder_key: bytes, clock: Clock = system_clock) -> Database:
    """Open (and create the tables of) the database at ``url``.

    ``holder_key`` (at least 16 bytes; see :func:`load_or_create_secret`) keys the hashes of
    holder ID numbers in the audit log. Several processes may open one database at once: table
    creation runs in a locked transaction and skips what exists.
    """
    if not isinstance(holder_key, bytes) or len(holder_key) < 16:
        raise ConfigurationError("holder_key must be at least 16 random bytes")
    parsed = _parse_url(url)
    if parsed.get_backend_name() == "sqlite":
        engine = _sqlite_engine(parsed)
        transactions = Transactions(engine, "sqlite", clock)
    else:
        engine = create_engine(parsed, pool_pre_ping=True)
        transactions = Transactions(engine, "postgresql", clock)
    try:
        with transactions.write(lock=tables.SCHEMA_LOCK) as conn:
            tables.metadata.create_all(conn)
        return Database(transactions, holder_key=holder_key)
    except BaseException:
        engine.dispose()
        raise


def _parse_url(url: str) -> URL:
    if not isinstance(url, str):
        raise ConfigurationError("the database URL must be text")
    try:
        parsed = make_url(url)
    except ArgumentError:
        raise ConfigurationError(f"not a database URL: {url!r}") from None
    if parsed.drivername in ("postgresql", "postgres", "postgresql+psycopg"):
        return parsed.set(drivername="postgresql+psycopg")
    if parsed.drivername in ("sqlite", "sqlite+pysqlite"):
        if not parsed.database or parsed.database == ":memory:":
            raise ConfigurationError("a SQLite database URL must name a file")
        return parsed
    raise ConfigurationError(
        f"unsupported database {parsed.drivername!r}: use sqlite:///FILE or "
        "postgresql+psycopg://USER@HOST/DB"
    )


def _sqlite_engine(url: URL) -> Engine:
    assert url.database is not None
    Path(url.database).parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(url, connect_args={"timeout": BUSY_TIMEOUT, "check_same_thread": False})

    @event.listens_for(engine, "connect")
    def _configure(dbapi_conn: Any, record: ConnectionPoolEntry) -> None:
        # The driver's own implicit BEGIN is switched off: transactions start in ``_begin``,
        # so that writers can ask for BEGIN IMMEDIATE.
        dbapi_conn.isolation_level = None
        cursor = dbapi_conn.cursor()
        try:
            cursor.execute(f"PRAGMA busy_timeout = {int(BUSY_TIMEOUT * 1000)}")
            mode = cursor.execute("PRAGMA journal_mode = WAL").fetchone()[0]
            if str(mode).lower() != "wal":
                raise ConfigurationError(
                    f"the SQLite database {url.database} cannot use WAL mode "
                    f"(journal_mode={mode}); put it on a local file system"
                )
            cursor.execute("PRAGMA synchronous = FULL")
            cursor.execute("PRAGMA foreign_keys = ON")
        finally:
            cursor.close()

    @event.listens_for(engine, "begin")
    def _begin(conn: Connection) -> None:
        # A writer takes the write lock at once: a deferred transaction that reads and then
        # writes could fail with SQLITE_BUSY instead of waiting its turn.
        write = bool(conn.get_execution_options().get("ezz_write"))
        conn.exec_driver_sql("BEGIN IMMEDIATE" if write else "BEGIN")

    return engine


def load_or_create_secret(path: str | os.PathLike[str]) -> bytes:
    """The 32-byte secret in ``path`` (hex text), created with mode 0600 when missing.

    Safe when several workers start at once: the secret is written whole into a private
    temporary file, which is then hard-linked to ``path`` — the link fails if another process
    got there first, and that process's secret is read instead.
    """
    target = Path(path)
    for _ in range(3):
        try:
            return _read_secret(target)
        except FileNotFoundError:
            pass
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = target.with_name(f".{target.name}.{secrets.token_hex(8)}")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            with os.fdopen(fd, "w", encoding="ascii") as out:
                out.write(secrets.token_bytes(_SECRET_BYTES).hex() + "\n")
                out.flush()
                os.fsync(out.fileno())
            with contextlib.suppress(FileExistsError):
                os.link(tmp, target)
        finally:
            tmp.unlink(missing_ok=True)
    return _read_secret(target)


def _read_secret(path: Path) -> bytes:
    content = path.read_text(encoding="ascii", errors="replace").strip()
    try:
        secret = bytes.fromhex(content)
    except ValueError:
        raise ConfigurationError(f"{path} does not hold a hex secret") from None
    if len(secret) != _SECRET_BYTES:
        raise ConfigurationError(f"{path} holds {len(secret)} bytes, not {_SECRET_BYTES}")
    return secret
