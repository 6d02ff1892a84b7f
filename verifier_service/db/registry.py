"""The issuer registry on the service database — 电子证照库 on SQLite or PostgreSQL.

:class:`SqlRegistry` is :class:`ezhengzhao.registry.SQLRegistryBase` — the same logic, schema
and SQL as the library's ``SQLiteRegistry`` — run through SQLAlchemy connections: its write
transactions hold the registry lock (``BEGIN IMMEDIATE`` on SQLite, an advisory lock on
PostgreSQL), its reads run in one snapshot.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING

from sqlalchemy import Connection

from ezhengzhao.registry import DEFAULT_LIST_SIZE, SQLRegistryBase, _sql
from verifier_service.db import tables

if TYPE_CHECKING:
    from verifier_service.db.engine import Transactions

__all__ = ["SqlRegistry"]


class _ConnectionTx:
    """A registry transaction on a SQLAlchemy connection, in the driver's own placeholders."""

    __slots__ = ("_conn", "_paramstyle")

    def __init__(self, conn: Connection) -> None:
        self._conn = conn
        self._paramstyle = conn.dialect.paramstyle

    def run(self, statement: str, params: Sequence[object] = ()) -> None:
        self._conn.exec_driver_sql(_sql(statement, self._paramstyle), tuple(params))

    def one(self, statement: str, params: Sequence[object] = ()) -> tuple[object, ...] | None:
        row = self._conn.exec_driver_sql(_sql(statement, self._paramstyle), tuple(params)).first()
        return None if row is None else tuple(row)

    def all(self, statement: str, params: Sequence[object] = ()) -> list[tuple[object, ...]]:
        result = self._conn.exec_driver_sql(_sql(statement, self._paramstyle), tuple(params))
        return [tuple(row) for row in result]


class SqlRegistry(SQLRegistryBase):
    """:class:`ezhengzhao.registry.Registry` on the service database's engine."""

    def __init__(self, transactions: Transactions, *, list_size: int = DEFAULT_LIST_SIZE) -> None:
        super().__init__(
            name=transactions.engine.url.render_as_string(hide_password=True),
            clock=transactions.clock,
            list_size=list_size,
        )
        self._tx = transactions
        self._create_schema()

    def close(self) -> None:
        """Nothing to release: the connections belong to the database's engine."""

    @contextlib.contextmanager
    def _write(self) -> Iterator[_ConnectionTx]:
        with self._tx.write(lock=tables.REGISTRY_LOCK) as conn:
            yield _ConnectionTx(conn)

    @contextlib.contextmanager
    def _read(self) -> Iterator[_ConnectionTx]:
        with self._tx.read() as conn:
            yield _ConnectionTx(conn)
