"""The issuer registry — 电子证照库: issued licences, their versions, statuses and status lists.

An issuing system keeps here every licence it sealed, by 证照标识 (GB/T 36904), holder, type
and issuer; the chain of versions (a re-issued licence points at the one it replaces); every
status change with the national status codes (STANDARDS §1: ``03`` 撤销, ``04`` 注销, ``05``
失效, ``07`` 吊销, ``99`` 其他); and the IETF Token Status Lists (STANDARDS §5) it publishes.

:class:`Registry` is the interface. :class:`SQLRegistryBase` holds the whole logic on top of
three transaction primitives (:class:`RegistryTransaction`: run, one row, all rows);
:class:`SQLiteRegistry` supplies them on the standard library's ``sqlite3`` in WAL mode, and
another backend (the verifier service's, on PostgreSQL) supplies its own. The SQL is kept to
what PostgreSQL also accepts (plain types, composite keys instead of auto-increment, ``?``
placeholders rewritten by :func:`_sql`); where SQLite takes the write lock with
``BEGIN IMMEDIATE``, such a backend takes an equivalent lock (e.g. an advisory lock) first.

Design points:

- **Idempotent issuance.** A request is identified by (issuer USCC, ``request_id``); its draft
  is fingerprinted (SHA-256 of a canonical JSON form). A retry returns the stored sealed
  licence — same identifier, same bytes; another draft under a used ``request_id`` is refused
  (``request_id_reused``).
- **Status indices** are drawn with :func:`secrets.randbelow` over the whole list (herd privacy:
  an index says nothing about issuance order), retried on collision, and never reused: a
  reserved index stays taken even when the licence for it is never stored. A list takes new
  entries until it is 80 % full; then list ``n + 1`` (``<status_uri>/<n + 1>``) is opened.
- **Sealing happens outside the write lock**, which may be held by a slow HSM otherwise:
  a first transaction reserves the index, the licence is sealed with the status reference
  inside it, a second transaction stores it (re-checking the request, so two racing retries
  still yield one licence).
- **Revocation is final.** INVALID never changes back; SUSPENDED returns to VALID only by
  :meth:`Registry.reinstate`.

Exceptions: :class:`RegistryError` (with a stable ``reason``) for what the registry's state
refuses; ``InputError`` for malformed arguments; issuance problems of the draft itself raise
what :mod:`ezhengzhao.issue` raises (``IssuanceError``, ``CatalogueError``, …).
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import math
import os
import secrets
import sqlite3
import threading
from abc import ABC, abstractmethod
from collections.abc import Iterator, Mapping, Sequence
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from types import MappingProxyType
from typing import Final, Protocol

from ezhengzhao.catalogue import Catalogue
from ezhengzhao.clock import Clock, system_clock
from ezhengzhao.errors import InputError, RegistryError
from ezhengzhao.formats.sealed import SealedLicence
from ezhengzhao.issue import IssuingAuthority, build_licence
from ezhengzhao.model import LicenceDraft, StatusReference
from ezhengzhao.sign.suites import Signer
from ezhengzhao.sign.x509 import Certificate
from ezhengzhao.status.codec import (
    INVALID,
    SUSPENDED,
    VALID,
    StatusList,
    sign_status_list,
)

__all__ = [
    "DEFAULT_LIST_SIZE",
    "REVOCATION_CODES",
    "HistoryEntry",
    "Registry",
    "RegistryError",
    "RegistryTransaction",
    "SQLRegistryBase",
    "SQLiteRegistry",
]

DEFAULT_LIST_SIZE: Final = 131_072
"""Entries per status list: 2^17, 32 KiB at 2 bits before compression."""

#: National licence status codes that end a licence's validity (STANDARDS §1).
REVOCATION_CODES: Final[Mapping[str, str]] = MappingProxyType(
    {"03": "撤销", "04": "注销", "05": "失效", "07": "吊销", "99": "其他"}
)

SUPERSEDED_CODE: Final = "05"  # a re-issued licence's old version becomes 失效

_BITS: Final = 2  # VALID, INVALID and SUSPENDED need two bits
_FILL_NUMERATOR, _FILL_DENOMINATOR = 4, 5  # a list takes new entries until 80 % full
_RANDOM_TRIES: Final = 64  # then pick among the free entries (never reached below 80 %)
_MAX_REQUEST_ID: Final = 200
_MAX_REASON: Final = 500
_MAX_URI: Final = 1800  # leaves room for "/<n>" within a licence's 2000-character status.uri
_SCHEMA_VERSION: Final = "1"

_SCHEMA: Final = (
    """CREATE TABLE IF NOT EXISTS ezz_meta (
        key TEXT PRIMARY KEY,
        value TEXT NOT NULL
    )""",
    """CREATE TABLE IF NOT EXISTS ezz_status_list (
        uri TEXT PRIMARY KEY,
        base_uri TEXT NOT NULL,
        number INTEGER NOT NULL,
        size INTEGER NOT NULL,
        bits INTEGER NOT NULL,
        allocated INTEGER NOT NULL,
        created_at TEXT NOT NULL,
        UNIQUE (base_uri, number)
    )""",
    # licence_id is NULL while the index is reserved, and stays NULL if sealing never finished.
    """CREATE TABLE IF NOT EXISTS ezz_status_entry (
        list_uri TEXT NOT NULL REFERENCES ezz_status_list (uri),
        idx INTEGER NOT NULL,
        status INTEGER NOT NULL,
        licence_id TEXT UNIQUE,
        PRIMARY KEY (list_uri, idx)
    )""",
    """CREATE TABLE IF NOT EXISTS ezz_licence (
        licence_id TEXT PRIMARY KEY,
        issuer_code TEXT NOT NULL,
        request_id TEXT NOT NULL,
        request_digest TEXT NOT NULL,
        type_code TEXT NOT NULL,
        holder_code TEXT NOT NULL,
        version INTEGER NOT NULL,
        previous_id TEXT REFERENCES ezz_licence (licence_id),
        superseded_by TEXT,
        list_uri TEXT NOT NULL,
        idx INTEGER NOT NULL,
        document TEXT NOT NULL,
        issued_at TEXT NOT NULL,
        UNIQUE (issuer_code, request_id),
        UNIQUE (list_uri, idx),
        FOREIGN KEY (list_uri, idx) REFERENCES ezz_status_entry (list_uri, idx)
    )""",
    "CREATE INDEX IF NOT EXISTS ezz_licence_holder ON ezz_licence (holder_code)",
    "CREATE INDEX IF NOT EXISTS ezz_licence_type ON ezz_licence (type_code)",
    "CREATE INDEX IF NOT EXISTS ezz_licence_issuer ON ezz_licence (issuer_code)",
    """CREATE TABLE IF NOT EXISTS ezz_history (
        licence_id TEXT NOT NULL REFERENCES ezz_licence (licence_id),
        seq INTEGER NOT NULL,
        at TEXT NOT NULL,
        event TEXT NOT NULL,
        status INTEGER NOT NULL,
        code TEXT,
        reason TEXT NOT NULL,
        PRIMARY KEY (licence_id, seq)
    )""",
)


@dataclass(frozen=True, slots=True)
class HistoryEntry:
    """One recorded event of a licence — 状态变更记录.

    ``event`` is ``issued``, ``revoked``, ``suspended``, ``reinstated`` or ``superseded``;
    ``status`` the status-list value after it; ``code`` the national status code (``03`` …
    ``99``) for ``revoked`` and ``superseded``, else None.
    """

    at: datetime
    event: str
    status: int
    code: str | None
    reason: str


class Registry(Protocol):
    """An issuer's licence registry — 电子证照库 (see the module docstring)."""

    def issue(
        self,
        draft: LicenceDraft,
        *,
        authority: IssuingAuthority,
        catalogue: Catalogue,
        request_id: str,
        status_uri: str,
    ) -> SealedLicence:
        """Seal and store ``draft``; idempotent per (issuer, ``request_id``)."""
        ...

    def reissue(
        self,
        old_id: str,
        draft: LicenceDraft,
        *,
        authority: IssuingAuthority,
        catalogue: Catalogue,
        request_id: str,
        status_uri: str,
    ) -> SealedLicence:
        """Seal version n + 1 of ``old_id`` from ``draft``; the old version becomes 失效."""
        ...

    def revoke(self, licence_id: str, *, code: str, reason: str) -> None:
        """Set the licence INVALID with a national status code; final."""
        ...

    def suspend(self, licence_id: str, reason: str) -> None:
        """Set a VALID licence SUSPENDED."""
        ...

    def reinstate(self, licence_id: str, reason: str) -> None:
        """Set a SUSPENDED licence VALID again."""
        ...

    def get(self, licence_id: str) -> SealedLicence:
        """The stored sealed licence."""
        ...

    def by_holder(self, code: str) -> tuple[SealedLicence, ...]:
        """Every licence (all versions) held by the 持证主体代码 ``code``, oldest first."""
        ...

    def by_type(self, code: str) -> tuple[SealedLicence, ...]:
        """Every licence (all versions) of the 证照类型代码 ``code``, oldest first."""
        ...

    def by_issuer(self, code: str) -> tuple[SealedLicence, ...]:
        """Every licence (all versions) issued by the authority with USCC ``code``."""
        ...

    def history(self, licence_id: str) -> tuple[HistoryEntry, ...]:
        """The licence's events, oldest first."""
        ...

    def status_of(self, licence_id: str) -> int:
        """The licence's current status: VALID, INVALID or SUSPENDED."""
        ...

    def status_list(self, list_uri: str) -> StatusList:
        """The current content of the status list published at ``list_uri``."""
        ...

    def publish_status_list(
        self, list_uri: str, *, signer: Signer, certificate: Certificate, ttl: timedelta
    ) -> bytes:
        """The status list at ``list_uri`` as a signed Status List Token (CWT)."""
        ...

    def close(self) -> None:
        """Release the registry's connections."""
        ...


@dataclass(frozen=True, slots=True)
class _Reservation:
    list_uri: str
    idx: int


class RegistryTransaction(Protocol):
    """One open transaction of a registry backend; statements use ``?`` placeholders."""

    def run(self, statement: str, params: Sequence[object] = ()) -> None:
        """Execute a statement that returns no rows."""
        ...

    def one(self, statement: str, params: Sequence[object] = ()) -> tuple[object, ...] | None:
        """The first row of a query, or None."""
        ...

    def all(self, statement: str, params: Sequence[object] = ()) -> list[tuple[object, ...]]:
        """Every row of a query."""
        ...


class SQLRegistryBase(ABC):
    """The :class:`Registry` logic on any SQL database; a subclass supplies the transactions.

    A subclass implements ``_write`` (a transaction that holds the registry's write lock from
    its start, committed when the block ends without an exception), ``_read`` (one consistent
    snapshot, never committed) and ``close``, then calls ``_create_schema``. ``name`` names the
    database in messages.
    """

    def __init__(self, *, name: str, clock: Clock, list_size: int) -> None:
        if type(list_size) is not int or list_size < 1:
            raise InputError("list_size must be a positive int")
        self._name = name
        self._clock = clock
        self._list_size = list_size

    @abstractmethod
    def _write(self) -> AbstractContextManager[RegistryTransaction]:
        """A transaction holding the registry's write lock; committed on a clean exit."""

    @abstractmethod
    def _read(self) -> AbstractContextManager[RegistryTransaction]:
        """A read-only transaction over one consistent snapshot."""

    @abstractmethod
    def close(self) -> None:
        """Release the registry's connections."""

    def _create_schema(self) -> None:
        with self._write() as tx:
            for statement in _SCHEMA:
                tx.run(statement)
            row = tx.one("SELECT value FROM ezz_meta WHERE key = ?", ("schema_version",))
            if row is None:
                tx.run(
                    "INSERT INTO ezz_meta (key, value) VALUES (?, ?)",
                    ("schema_version", _SCHEMA_VERSION),
                )
            elif row[0] != _SCHEMA_VERSION:
                raise RegistryError(
                    "schema_version",
                    f"{self._name} has registry schema {row[0]!r}, this code knows "
                    f"{_SCHEMA_VERSION!r}",
                )

    def _now(self) -> datetime:
        now = self._clock()
        if not isinstance(now, datetime) or now.utcoffset() is None:
            raise InputError("the registry's clock must return timezone-aware datetimes")
        return now.astimezone(UTC)

    # -- issuance ------------------------------------------------------------------------------

    def issue(
        self,
        draft: LicenceDraft,
        *,
        authority: IssuingAuthority,
        catalogue: Catalogue,
        request_id: str,
        status_uri: str,
    ) -> SealedLicence:
        """Seal ``draft`` with a status-list entry and store it; idempotent per request.

        A retry of (``authority.issuer.code``, ``request_id``) with the same draft returns the
        stored licence; with another draft, RegistryError ``request_id_reused``. The draft must
        not carry a status reference: the registry assigns it. Raises what
        :meth:`IssuingAuthority.issue` raises for a draft that cannot be issued, and
        RegistryError ``duplicate_licence`` when its 证照标识 is already stored.
        """
        return self._issue(
            draft,
            authority=authority,
            catalogue=catalogue,
            request_id=request_id,
            status_uri=status_uri,
            old_id=None,
        )

    def reissue(
        self,
        old_id: str,
        draft: LicenceDraft,
        *,
        authority: IssuingAuthority,
        catalogue: Catalogue,
        request_id: str,
        status_uri: str,
    ) -> SealedLicence:
        """Issue version n + 1 of ``old_id`` (换发) and mark the old version 05 失效.

        The registry sets the draft's ``version`` and ``previous`` (a draft may leave them at
        their defaults, or give the same values). The new licence must have the old one's
        issuer and type; the old one must be VALID or SUSPENDED and not yet superseded. The
        new licence is stored and the old one set INVALID in one transaction. Idempotent per
        request like :meth:`issue`.
        """
        _check_text(old_id, "old_id", 160)
        return self._issue(
            draft,
            authority=authority,
            catalogue=catalogue,
            request_id=request_id,
            status_uri=status_uri,
            old_id=old_id,
        )

    def _issue(
        self,
        draft: LicenceDraft,
        *,
        authority: IssuingAuthority,
        catalogue: Catalogue,
        request_id: str,
        status_uri: str,
        old_id: str | None,
    ) -> SealedLicence:
        if not isinstance(draft, LicenceDraft):
            raise InputError("draft must be a LicenceDraft")
        if not isinstance(authority, IssuingAuthority):
            raise InputError("authority must be an IssuingAuthority")
        _check_text(request_id, "request_id", _MAX_REQUEST_ID)
        _check_status_uri(status_uri)
        if draft.status is not None:
            raise InputError("the registry assigns the status reference: leave draft.status None")
        issuer_code = authority.issuer.code
        digest = _request_digest(draft, old_id=old_id, status_uri=status_uri)

        stored = self._stored_request(issuer_code, request_id, digest)
        if stored is not None:
            return stored

        if old_id is not None:
            old_version = self._old_version(old_id, authority, draft)
            draft = dataclasses.replace(draft, version=old_version + 1, previous=old_id)

        # Validate and learn the 证照标识 before taking an index: a draft that cannot be
        # issued should not use up an entry of the status list.
        now = self._now()
        preview = build_licence(
            draft,
            catalogue=catalogue,
            issuer=authority.issuer,
            seal_name=authority.seal.info.name,
            now=now,
        )
        licence_id = preview.licence_id

        with self._write() as tx:
            stored = _stored_in(tx, issuer_code, request_id, digest)
            if stored is not None:
                return stored
            _check_new_id(tx, licence_id)
            if old_id is not None:
                _check_current(tx, old_id)
            reservation = self._reserve(tx, status_uri, now)

        sealed = authority.issue(
            dataclasses.replace(
                draft, status=StatusReference(reservation.list_uri, reservation.idx)
            ),
            catalogue=catalogue,
            now=now,
        )
        document = sealed.to_json(indent=None).decode("utf-8")
        licence = sealed.licence

        with self._write() as tx:
            # A concurrent retry of the same request may have finished first: its licence is
            # the answer, and the index reserved here stays unused (never handed out again).
            stored = _stored_in(tx, issuer_code, request_id, digest)
            if stored is not None:
                return stored
            _check_new_id(tx, licence_id)
            if old_id is not None:
                _check_current(tx, old_id)
            tx.run(
                "INSERT INTO ezz_licence (licence_id, issuer_code, request_id, request_digest, "
                "type_code, holder_code, version, previous_id, superseded_by, list_uri, idx, "
                "document, issued_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, NULL, ?, ?, ?, ?)",
                (
                    licence.licence_id,
                    issuer_code,
                    request_id,
                    digest,
                    licence.type_code,
                    licence.holder.code,
                    licence.version,
                    licence.previous,
                    reservation.list_uri,
                    reservation.idx,
                    document,
                    _time_text(now),
                ),
            )
            tx.run(
                "UPDATE ezz_status_entry SET licence_id = ? WHERE list_uri = ? AND idx = ?",
                (licence.licence_id, reservation.list_uri, reservation.idx),
            )
            _record(tx, licence.licence_id, now, "issued", VALID, None, "issued")
            if old_id is not None:
                tx.run(
                    "UPDATE ezz_licence SET superseded_by = ? WHERE licence_id = ?",
                    (licence.licence_id, old_id),
                )
                _set_status(tx, old_id, INVALID)
                _record(
                    tx,
                    old_id,
                    now,
                    "superseded",
                    INVALID,
                    SUPERSEDED_CODE,
                    f"superseded by {licence.licence_id}",
                )
        return sealed

    def _stored_request(
        self, issuer_code: str, request_id: str, digest: str
    ) -> SealedLicence | None:
        with self._read() as tx:
            return _stored_in(tx, issuer_code, request_id, digest)

    def _old_version(self, old_id: str, authority: IssuingAuthority, draft: LicenceDraft) -> int:
        """The old licence's version number, after checking the re-issue continues it."""
        with self._read() as tx:
            row = tx.one(
                "SELECT version, type_code, issuer_code FROM ezz_licence WHERE licence_id = ?",
                (old_id,),
            )
            if row is None:
                raise RegistryError("not_found", f"no licence {old_id} in the registry")
            _check_current(tx, old_id)
        version, type_code, issuer_code = _int(row[0]), str(row[1]), str(row[2])
        if issuer_code != authority.issuer.code:
            raise RegistryError(
                "wrong_issuer",
                f"{old_id} was issued by {issuer_code}, not by {authority.issuer.code}",
            )
        if draft.type_code != type_code:
            raise RegistryError(
                "wrong_type", f"{old_id} is of type {type_code}, the draft of {draft.type_code}"
            )
        if draft.previous not in (None, old_id):
            raise InputError(f"draft.previous is {draft.previous!r}, not {old_id!r}")
        if draft.version not in (1, version + 1):
            raise InputError(f"the new version of {old_id} is {version + 1}, not {draft.version}")
        if version + 1 > 999:
            raise RegistryError("version_limit", f"{old_id} is version 999, the last one")
        return version

    def _reserve(self, tx: RegistryTransaction, base_uri: str, now: datetime) -> _Reservation:
        """Take a random free entry of the base URI's open list (inside a write transaction)."""
        row = tx.one(
            "SELECT uri, number, size, allocated FROM ezz_status_list WHERE base_uri = ? "
            "ORDER BY number DESC LIMIT 1",
            (base_uri,),
        )
        if row is None or _int(row[3]) * _FILL_DENOMINATOR >= _int(row[2]) * _FILL_NUMERATOR:
            number = 1 if row is None else _int(row[1]) + 1
            uri, size, allocated = f"{base_uri}/{number}", self._list_size, 0
            tx.run(
                "INSERT INTO ezz_status_list (uri, base_uri, number, size, bits, allocated, "
                "created_at) VALUES (?, ?, ?, ?, ?, 0, ?)",
                (uri, base_uri, number, size, _BITS, _time_text(now)),
            )
        else:
            uri, size, allocated = str(row[0]), _int(row[2]), _int(row[3])
        idx = _free_index(tx, uri, size)
        tx.run(
            "INSERT INTO ezz_status_entry (list_uri, idx, status, licence_id) "
            "VALUES (?, ?, ?, NULL)",
            (uri, idx, VALID),
        )
        tx.run(
            "UPDATE ezz_status_list SET allocated = ? WHERE uri = ?",
            (allocated + 1, uri),
        )
        return _Reservation(uri, idx)

    # -- status changes ------------------------------------------------------------------------

    def revoke(self, licence_id: str, *, code: str, reason: str) -> None:
        """Set the licence INVALID for good, with national code ``03`` 撤销, ``04`` 注销,
        ``05`` 失效, ``07`` 吊销 or ``99`` 其他; from VALID or SUSPENDED.

        RegistryError ``not_found``, or ``revoked`` if it is INVALID already.
        """
        if code not in REVOCATION_CODES:
            raise InputError(
                f"status code {code!r} is not one of {', '.join(sorted(REVOCATION_CODES))}"
            )
        _check_text(reason, "reason", _MAX_REASON)
        now = self._now()
        with self._write() as tx:
            _check_current(tx, licence_id)
            _set_status(tx, licence_id, INVALID)
            _record(tx, licence_id, now, "revoked", INVALID, code, reason)

    def suspend(self, licence_id: str, reason: str) -> None:
        """Set a VALID licence SUSPENDED (暂停); RegistryError if it is not VALID."""
        _check_text(reason, "reason", _MAX_REASON)
        now = self._now()
        with self._write() as tx:
            status = _check_current(tx, licence_id)
            if status == SUSPENDED:
                raise RegistryError("already_suspended", f"{licence_id} is already suspended")
            _set_status(tx, licence_id, SUSPENDED)
            _record(tx, licence_id, now, "suspended", SUSPENDED, None, reason)

    def reinstate(self, licence_id: str, reason: str) -> None:
        """Set a SUSPENDED licence VALID again; RegistryError ``revoked`` / ``not_suspended``."""
        _check_text(reason, "reason", _MAX_REASON)
        now = self._now()
        with self._write() as tx:
            status = _check_current(tx, licence_id)
            if status != SUSPENDED:
                raise RegistryError("not_suspended", f"{licence_id} is not suspended")
            _set_status(tx, licence_id, VALID)
            _record(tx, licence_id, now, "reinstated", VALID, None, reason)

    # -- lookups -------------------------------------------------------------------------------

    def get(self, licence_id: str) -> SealedLicence:
        """The stored sealed licence; RegistryError ``not_found``."""
        with self._read() as tx:
            row = tx.one("SELECT document FROM ezz_licence WHERE licence_id = ?", (licence_id,))
        if row is None:
            raise RegistryError("not_found", f"no licence {licence_id} in the registry")
        return SealedLicence.from_json(str(row[0]))

    def by_holder(self, code: str) -> tuple[SealedLicence, ...]:
        return self._select("holder_code", code)

    def by_type(self, code: str) -> tuple[SealedLicence, ...]:
        return self._select("type_code", code)

    def by_issuer(self, code: str) -> tuple[SealedLicence, ...]:
        return self._select("issuer_code", code)

    def _select(self, column: str, value: str) -> tuple[SealedLicence, ...]:
        # ``column`` is one of three literals above, never caller input.
        with self._read() as tx:
            rows = tx.all(
                f"SELECT document FROM ezz_licence WHERE {column} = ? "
                "ORDER BY issued_at, licence_id",
                (value,),
            )
        return tuple(SealedLicence.from_json(str(row[0])) for row in rows)

    def history(self, licence_id: str) -> tuple[HistoryEntry, ...]:
        """The licence's events, oldest first; RegistryError ``not_found``."""
        with self._read() as tx:
            _status_row(tx, licence_id)
            rows = tx.all(
                "SELECT at, event, status, code, reason FROM ezz_history "
                "WHERE licence_id = ? ORDER BY seq",
                (licence_id,),
            )
        return tuple(
            HistoryEntry(
                at=datetime.fromisoformat(str(at)),
                event=str(event),
                status=_int(status),
                code=None if code is None else str(code),
                reason=str(reason),
            )
            for at, event, status, code, reason in rows
        )

    def status_of(self, licence_id: str) -> int:
        """VALID (0), INVALID (1) or SUSPENDED (2); RegistryError ``not_found``."""
        with self._read() as tx:
            return _status_row(tx, licence_id)

    # -- publishing ----------------------------------------------------------------------------

    def status_list(self, list_uri: str) -> StatusList:
        """The list at ``list_uri`` as it stands; RegistryError ``not_found``.

        Entries never handed to a licence are VALID, like the untouched ones.
        """
        with self._read() as tx:
            row = tx.one("SELECT size, bits FROM ezz_status_list WHERE uri = ?", (list_uri,))
            if row is None:
                raise RegistryError("not_found", f"no status list {list_uri} in the registry")
            entries = tx.all(
                "SELECT idx, status FROM ezz_status_entry WHERE list_uri = ? AND status <> ?",
                (list_uri, VALID),
            )
        builder = StatusList.new(_int(row[0]), _int(row[1])).builder()
        for idx, status in entries:
            builder.set(_int(idx), _int(status))
        return builder.build()

    def publish_status_list(
        self, list_uri: str, *, signer: Signer, certificate: Certificate, ttl: timedelta
    ) -> bytes:
        """The list at ``list_uri`` signed as a Status List Token (CWT), issued now."""
        return sign_status_list(
            self.status_list(list_uri),
            uri=list_uri,
            signer=signer,
            certificate=certificate,
            issued_at=self._now(),
            ttl=ttl,
        )


class SQLiteRegistry(SQLRegistryBase):
    """:class:`Registry` on a SQLite database file (WAL mode), safe across threads and processes.

    Each thread gets its own connection; writes run in ``BEGIN IMMEDIATE`` transactions, and
    a writer waits up to ``timeout`` seconds for another to finish. ``list_size`` applies to
    lists opened from now on; existing lists keep the size they were created with.
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        clock: Clock = system_clock,
        list_size: int = DEFAULT_LIST_SIZE,
        timeout: float = 30.0,
    ) -> None:
        super().__init__(name=os.fspath(path), clock=clock, list_size=list_size)
        self._path = os.fspath(path)
        self._timeout = timeout
        self._local = threading.local()
        self._connections: list[sqlite3.Connection] = []
        self._lock = threading.Lock()
        self._closed = False
        self._create_schema()

    # -- connections and transactions ---------------------------------------------------------

    def close(self) -> None:
        with self._lock:
            self._closed = True
            connections, self._connections = self._connections, []
        for conn in connections:
            conn.close()

    def __enter__(self) -> SQLiteRegistry:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _conn(self) -> sqlite3.Connection:
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is not None:
            return conn
        with self._lock:
            if self._closed:
                raise RegistryError("closed", "the registry is closed")
            # Autocommit mode: transactions are opened explicitly, so BEGIN IMMEDIATE is ours.
            conn = sqlite3.connect(
                self._path, timeout=self._timeout, isolation_level=None, check_same_thread=False
            )
            self._connections.append(conn)
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA foreign_keys=ON")
        self._local.conn = conn
        return conn

    @contextmanager
    def _write(self) -> Iterator[_Tx]:
        """A write transaction holding the database's write lock from the start."""
        conn = self._conn()
        conn.execute("BEGIN IMMEDIATE")
        try:
            yield _Tx(conn)
            conn.execute("COMMIT")
        except BaseException:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise

    @contextmanager
    def _read(self) -> Iterator[_Tx]:
        """A read transaction: one consistent snapshot (WAL readers do not block writers)."""
        conn = self._conn()
        conn.execute("BEGIN")
        try:
            yield _Tx(conn)
        finally:
            conn.execute("ROLLBACK")


# -- SQL helpers -------------------------------------------------------------------------------


def _sql(statement: str, paramstyle: str = "qmark") -> str:
    """The statement with placeholders for the driver: ``?`` (qmark) or ``%s`` (psycopg).

    Statements are written with ``?`` and contain no literal question marks or percent signs.
    """
    if paramstyle == "qmark":
        return statement
    if paramstyle in ("format", "pyformat"):
        return statement.replace("?", "%s")
    raise InputError(f"unsupported paramstyle {paramstyle!r}")


class _Tx:
    """A cursor-like view of one transaction, with the parameter helper applied."""

    __slots__ = ("_conn",)

    def __init__(self, conn: sqlite3.Connection) -> None:
        self._conn = conn

    def run(self, statement: str, params: Sequence[object] = ()) -> None:
        self._conn.execute(_sql(statement), tuple(params))

    def one(self, statement: str, params: Sequence[object] = ()) -> tuple[object, ...] | None:
        row: tuple[object, ...] | None = self._conn.execute(
            _sql(statement), tuple(params)
        ).fetchone()
        return row

    def all(self, statement: str, params: Sequence[object] = ()) -> list[tuple[object, ...]]:
        rows: list[tuple[object, ...]] = self._conn.execute(
            _sql(statement), tuple(params)
        ).fetchall()
        return rows


def _stored_in(
    tx: RegistryTransaction, issuer_code: str, request_id: str, digest: str
) -> SealedLicence | None:
    row = tx.one(
        "SELECT request_digest, document FROM ezz_licence WHERE issuer_code = ? AND request_id = ?",
        (issuer_code, request_id),
    )
    if row is None:
        return None
    if row[0] != digest:
        raise RegistryError(
            "request_id_reused",
            f"request {request_id!r} of {issuer_code} was used for another draft",
        )
    return SealedLicence.from_json(str(row[1]))


def _check_new_id(tx: RegistryTransaction, licence_id: str) -> None:
    if tx.one("SELECT 1 FROM ezz_licence WHERE licence_id = ?", (licence_id,)) is not None:
        raise RegistryError("duplicate_licence", f"{licence_id} is already in the registry")


def _status_row(tx: RegistryTransaction, licence_id: str) -> int:
    row = tx.one("SELECT status FROM ezz_status_entry WHERE licence_id = ?", (licence_id,))
    if row is None:
        raise RegistryError("not_found", f"no licence {licence_id} in the registry")
    return _int(row[0])


def _check_current(tx: RegistryTransaction, licence_id: str) -> int:
    """The status of a licence that may still change: not INVALID, not superseded."""
    status = _status_row(tx, licence_id)
    if status == INVALID:
        row = tx.one("SELECT superseded_by FROM ezz_licence WHERE licence_id = ?", (licence_id,))
        if row is not None and row[0] is not None:
            raise RegistryError("superseded", f"{licence_id} was superseded by {row[0]}")
        raise RegistryError("revoked", f"{licence_id} is revoked; revocation is final")
    return status


def _set_status(tx: RegistryTransaction, licence_id: str, status: int) -> None:
    tx.run("UPDATE ezz_status_entry SET status = ? WHERE licence_id = ?", (status, licence_id))


def _record(
    tx: RegistryTransaction,
    licence_id: str,
    at: datetime,
    event: str,
    status: int,
    code: str | None,
    reason: str,
) -> None:
    row = tx.one("SELECT COUNT(*) FROM ezz_history WHERE licence_id = ?", (licence_id,))
    seq = 1 + (_int(row[0]) if row is not None else 0)
    tx.run(
        "INSERT INTO ezz_history (licence_id, seq, at, event, status, code, reason) "
        "VALUES (?, ?, ?, ?, ?, ?, ?)",
        (licence_id, seq, _time_text(at), event, status, code, reason),
    )


def _free_index(tx: RegistryTransaction, list_uri: str, size: int) -> int:
    """A uniformly random entry not yet taken (the list is below 80 % full)."""
    for _ in range(_RANDOM_TRIES):
        idx = secrets.randbelow(size)
        taken = tx.one(
            "SELECT 1 FROM ezz_status_entry WHERE list_uri = ? AND idx = ?", (list_uri, idx)
        )
        if taken is None:
            return idx
    # 64 misses at ≤ 80 % occupancy has probability < 1e-6: choose among the free entries.
    used = {
        _int(r[0])
        for r in tx.all("SELECT idx FROM ezz_status_entry WHERE list_uri = ?", (list_uri,))
    }
    free = [i for i in range(size) if i not in used]
    if not free:  # cannot happen while lists close at 80 %; fail closed all the same
        raise RegistryError("list_full", f"status list {list_uri} has no free entry")
    return secrets.choice(free)


# -- values ------------------------------------------------------------------------------------


def _int(value: object) -> int:
    if type(value) is not int:
        raise RegistryError("corrupt", f"the database holds {value!r} where a number belongs")
    return value


def _time_text(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="microseconds")


def _check_text(value: object, what: str, limit: int) -> str:
    if not isinstance(value, str) or not value.strip() or len(value) > limit:
        raise InputError(f"{what} must be non-empty text of at most {limit} characters")
    if any(ord(c) < 0x20 or ord(c) == 0x7F for c in value):
        raise InputError(f"{what} must not contain control characters")
    return value


def _check_status_uri(value: object) -> None:
    uri = _check_text(value, "status_uri", _MAX_URI)
    if uri.endswith("/") or any(c.isspace() for c in uri):
        raise InputError("status_uri must have no spaces and no trailing '/'")


def _request_digest(draft: LicenceDraft, *, old_id: str | None, status_uri: str) -> str:
    """SHA-256 over a canonical JSON form of what the request asks for."""
    value = {
        "op": "issue" if old_id is None else "reissue",
        "previous_id": old_id,
        "status_uri": status_uri,
        "draft": _plain(draft),
    }
    text = json.dumps(value, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _plain(value: object) -> object:
    """``value`` as JSON-ready data: dataclasses and mappings become objects, dates text."""
    if value is None or isinstance(value, str | bool):
        return value
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        if not math.isfinite(value):
            raise InputError("a draft value is not a finite number")
        return value
    if isinstance(value, datetime | date):
        return {"$date": value.isoformat()}
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: _plain(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, Mapping):
        if not all(isinstance(k, str) for k in value):
            raise InputError("draft mappings must have text keys")
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    raise InputError(f"a draft value of type {type(value).__name__} cannot be fingerprinted")
