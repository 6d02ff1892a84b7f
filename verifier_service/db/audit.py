"""The audit log — 用证留痕: every verification and resolution, append-only and hash-chained.

Record ``n`` stores ``prev_hash``, the hash of record ``n - 1`` (64 zeros for record 1), and
``hash`` = SHA-256 over the RFC 8785 canonical JSON of all its other fields, ``prev_hash``
included. Changing, removing, inserting or reordering a record therefore breaks either its
own hash or the link from the next record, and :meth:`AuditLog.verify_chain` says where.

Holder ID numbers (持证主体代码) are never stored: only HMAC-SHA256 under the service's holder
key, so records of one holder can be found by someone who has the number and the key, and the
number cannot be read back from the database.

Appends queue behind each other across processes and hosts (``BEGIN IMMEDIATE`` on SQLite, an
advisory lock on PostgreSQL), so the chain never forks; within a process, the appends that
arrive while one is being written are committed together (group commit). :meth:`AuditLog.append`
returns only after its record is committed.

The chain shows tampering by anyone who cannot also rewrite every later record. To also catch a
tail rewritten as a whole or cut off, keep a checkpoint — the seq and hash of a recent record,
as ``ezz audit verify`` prints them — outside the database and check against it
(``verify_chain(checkpoint=…)``, ``ezz audit verify --checkpoint SEQ:HASH``).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any, Final

import rfc8785
from sqlalchemy import ColumnElement, RowMapping, func, insert, select

from ezhengzhao.errors import ConfigurationError, InputError
from ezhengzhao.formats.jsonio import canonical_bytes_simple
from verifier_service.db import tables
from verifier_service.db.common import (
    check_optional_text,
    check_text,
    parse_time_text,
    time_text,
)

if TYPE_CHECKING:
    from verifier_service.db.engine import Transactions

__all__ = [
    "ACTIONS",
    "GENESIS_HASH",
    "MAX_QUERY_LIMIT",
    "ROLES",
    "VERDICTS",
    "AuditEntry",
    "AuditLog",
    "AuditRecord",
    "ChainReport",
    "canonical_record",
]

ACTIONS: Final = frozenset({"verify", "verify_image", "present", "present_forward"})
ROLES: Final = frozenset({"window", "peer", "admin"})
VERDICTS: Final = frozenset({"PASSED", "FAILED", "INDETERMINATE", "ERROR"})
GENESIS_HASH: Final = "0" * 64
MAX_QUERY_LIMIT: Final = 1000

_FORMAT: Final = "ezz/audit/1"  # inside every hashed record, so the encoding can evolve
_MAX_TEXT: Final = 500
_MAX_REASONS: Final = 64
_MAX_PROBLEMS: Final = 200
_BATCH: Final = 1000
_MAX_SAFE_INTEGER: Final = 2**53  # RFC 8785 §3.2.2.3: integers beyond are not I-JSON


@dataclass(frozen=True, slots=True)
class AuditEntry:
    """What one use of a licence records — 用证记录 (before it is chained).

    ``holder_code`` is the holder's ID number or USCC in clear; the log keeps only its keyed
    hash. The caller's fields are checked on construction (InputError); ``licence_id`` and
    ``holder_code`` come from the presented document, which may be garbage, so they are never
    refused: control characters in ``licence_id`` become U+FFFD and it is cut to 500
    characters (the record must be written whatever was scanned).
    """

    action: str
    caller_key_id: str
    role: str
    verdict: str
    request_id: str
    clerk: str | None = None
    region: str | None = None
    licence_id: str | None = None
    holder_code: str | None = None
    item_code: str | None = None
    use_cause: str | None = None
    reasons: tuple[str, ...] = field(default=())

    def __post_init__(self) -> None:
        if self.action not in ACTIONS:
            raise InputError(f"action must be one of {sorted(ACTIONS)}")
        if self.role not in ROLES:
            raise InputError(f"role must be one of {sorted(ROLES)}")
        if self.verdict not in VERDICTS:
            raise InputError(f"verdict must be one of {sorted(VERDICTS)}")
        check_text(self.caller_key_id, "caller_key_id", 64)
        check_text(self.request_id, "request_id", 128)
        check_optional_text(self.region, "region", 16)
        if self.holder_code is not None and not isinstance(self.holder_code, str):
            raise InputError("holder_code must be text")
        if self.licence_id is not None:
            if not isinstance(self.licence_id, str):
                raise InputError("licence_id must be text")
            object.__setattr__(self, "licence_id", _printable(self.licence_id)[:_MAX_TEXT])
        for name in ("clerk", "item_code", "use_cause"):
            check_optional_text(getattr(self, name), name, _MAX_TEXT)
        reasons = self.reasons
        if not isinstance(reasons, tuple | list) or len(reasons) > _MAX_REASONS:
            raise InputError(f"reasons must be a tuple of at most {_MAX_REASONS} codes")
        for code in reasons:
            check_text(code, "a reason code", 100)
        object.__setattr__(self, "reasons", tuple(reasons))


@dataclass(frozen=True, slots=True)
class AuditRecord:
    """One committed audit record: the entry (holder hashed), its place and its hashes."""

    seq: int
    at: datetime
    action: str
    caller_key_id: str
    role: str
    clerk: str | None
    region: str | None
    licence_id: str | None
    holder_hash: str | None
    item_code: str | None
    use_cause: str | None
    verdict: str
    reasons: tuple[str, ...]
    request_id: str
    prev_hash: str
    hash: str

    def to_dict(self) -> dict[str, object]:
        """The record as JSON-ready data (``at`` as ISO 8601 UTC text)."""
        return {**_hashed_fields(self), "hash": self.hash}

    def computed_hash(self) -> str:
        """SHA-256 (hex) of the canonical JSON of every field but ``hash``."""
        content = {"format": _FORMAT, **_hashed_fields(self)}
        return hashlib.sha256(canonical_record(content)).hexdigest()


def canonical_record(content: dict[str, object]) -> bytes:
    """RFC 8785 canonical JSON of a record's hashed fields.

    The fields are ASCII-keyed text, small integers, nulls and lists of text: for these the
    fast sorted, compact encoder gives RFC 8785's very bytes (a test holds the two to each
    other), at a fraction of the cost of the general encoder, which every request would pay.
    Text with a lone surrogate is no UTF-8, and a seq beyond 2**53 no I-JSON number: the
    general encoder says what becomes of them.
    """
    seq = content.get("seq", 0)
    if not isinstance(seq, int) or seq < _MAX_SAFE_INTEGER:
        try:
            return canonical_bytes_simple(content)
        except UnicodeEncodeError:
            pass
    value: Any = content
    return bytes(rfc8785.dumps(value))


def _hashed_fields(record: AuditRecord) -> dict[str, object]:
    return {
        "seq": record.seq,
        "at": time_text(record.at),
        "action": record.action,
        "caller_key_id": record.caller_key_id,
        "role": record.role,
        "clerk": record.clerk,
        "region": record.region,
        "licence_id": record.licence_id,
        "holder_hash": record.holder_hash,
        "item_code": record.item_code,
        "use_cause": record.use_cause,
        "verdict": record.verdict,
        "reasons": list(record.reasons),
        "request_id": record.request_id,
        "prev_hash": record.prev_hash,
    }


@dataclass(frozen=True, slots=True)
class ChainReport:
    """The outcome of :meth:`AuditLog.verify_chain`.

    ``ok`` when every record is present, in order, unchanged; ``records`` rows were read;
    ``problems`` says which seq is wrong and why; ``head`` is the last record's hash.
    """

    ok: bool
    records: int
    problems: tuple[str, ...]
    head: str


class _Pending:
    """Entries waiting for a group commit, and what became of them."""

    __slots__ = ("done", "entries", "error", "records")

    def __init__(self, entries: tuple[AuditEntry, ...]) -> None:
        self.entries = entries
        self.records: list[AuditRecord] = []
        self.error: BaseException | None = None
        self.done = False


class AuditLog:
    """The append-only, hash-chained audit log (see the module docstring).

    Appends from the threads of one process are committed in groups: while one thread writes,
    those arriving queue up, and the next of them writes all that queued in one transaction
    — one durable commit (one fsync) for many requests instead of one each. Each caller still
    returns only once its own records are committed, or gets the error that stopped them.
    """

    __slots__ = ("_cond", "_flushing", "_holder_key", "_queue", "_tx")

    def __init__(self, transactions: Transactions, *, holder_key: bytes) -> None:
        if not isinstance(holder_key, bytes) or len(holder_key) < 16:
            raise ConfigurationError("holder_key must be at least 16 random bytes")
        self._tx = transactions
        self._holder_key = holder_key
        self._cond = threading.Condition()
        self._queue: list[_Pending] = []
        self._flushing = False

    def holder_hash(self, code: str) -> str:
        """HMAC-SHA256 (hex) of a holder code under the holder key; case of ``x`` ignored."""
        if not isinstance(code, str):
            raise InputError("holder_code must be text")
        return hmac.new(self._holder_key, code.upper().encode(), hashlib.sha256).hexdigest()

    def append(self, entry: AuditEntry) -> AuditRecord:
        """Chain ``entry`` after the last record; return once it is committed (durable)."""
        return self.append_all([entry])[0]

    def append_all(self, entries: Iterable[AuditEntry]) -> list[AuditRecord]:
        """Chain ``entries`` in order (they stay together: all are committed, or none);
        return once they are committed. StorageError when the database cannot take them."""
        batch = tuple(entries)
        if not batch:
            return []
        for entry in batch:
            if not isinstance(entry, AuditEntry):
                raise InputError("append takes AuditEntry objects")
        mine = _Pending(batch)
        with self._cond:
            self._queue.append(mine)
            while not mine.done and self._flushing:
                self._cond.wait()
            if not mine.done:  # this thread writes everything queued so far
                self._flushing = True
                group, self._queue = self._queue, []
        if not mine.done:
            self._commit(group)
        if mine.error is not None:
            raise mine.error
        return mine.records

    def _commit(self, group: list[_Pending]) -> None:
        """Write ``group`` in one transaction; wake every waiter whatever happens."""
        try:
            records = self._write(e for pending in group for e in pending.entries)
        except BaseException as exc:
            for pending in group:
                pending.error = exc
            if not isinstance(exc, Exception):
                raise
        else:
            it = iter(records)
            for pending in group:
                pending.records = [next(it) for _ in pending.entries]
        finally:
            with self._cond:
                for pending in group:
                    pending.done = True
                self._flushing = False
                self._cond.notify_all()

    def _write(self, entries: Iterable[AuditEntry]) -> list[AuditRecord]:
        records: list[AuditRecord] = []
        with self._tx.write(lock=tables.AUDIT_LOCK) as conn:
            at = parse_time_text(time_text(self._tx.now()))  # to the microsecond, as stored
            head = conn.execute(_HEAD).first()
            seq, prev_hash = (1, GENESIS_HASH) if head is None else (int(head[0]) + 1, head[1])
            for entry in entries:
                holder_hash = (
                    None if entry.holder_code is None else self.holder_hash(entry.holder_code)
                )
                record = _with_hash(
                    AuditRecord(
                        seq=seq,
                        at=at,
                        action=entry.action,
                        caller_key_id=entry.caller_key_id,
                        role=entry.role,
                        clerk=entry.clerk,
                        region=entry.region,
                        licence_id=entry.licence_id,
                        holder_hash=holder_hash,
                        item_code=entry.item_code,
                        use_cause=entry.use_cause,
                        verdict=entry.verdict,
                        reasons=entry.reasons,
                        request_id=entry.request_id,
                        prev_hash=str(prev_hash),
                        hash="",
                    )
                )
                records.append(record)
                seq, prev_hash = seq + 1, record.hash
            conn.execute(_INSERT, [_row(r) for r in records])
        return records

    def query(
        self,
        *,
        licence_id: str | None = None,
        caller: str | None = None,
        holder_code: str | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
        after_seq: int | None = None,
        limit: int = 100,
    ) -> list[AuditRecord]:
        """Records matching every given filter, by seq; ``since <= at <= until``.

        ``after_seq`` pages on (give the last seq seen); ``limit`` is 1 to 1000.
        """
        if type(limit) is not int or not 1 <= limit <= MAX_QUERY_LIMIT:
            raise InputError(f"limit must be 1 to {MAX_QUERY_LIMIT}")
        audit = tables.audit
        where: list[ColumnElement[bool]] = []
        if licence_id is not None:
            where.append(audit.c.licence_id == check_text(licence_id, "licence_id", _MAX_TEXT))
        if caller is not None:
            where.append(audit.c.caller_key_id == check_text(caller, "caller", 64))
        if holder_code is not None:
            where.append(audit.c.holder_hash == self.holder_hash(holder_code))
        if since is not None:
            where.append(audit.c.at >= time_text(_aware(since, "since")))
        if until is not None:
            where.append(audit.c.at <= time_text(_aware(until, "until")))
        if after_seq is not None:
            if type(after_seq) is not int or after_seq < 0:
                raise InputError("after_seq must be a non-negative integer")
            where.append(audit.c.seq > after_seq)
        statement = select(audit).where(*where).order_by(audit.c.seq).limit(limit)
        with self._tx.read() as conn:
            rows = conn.execute(statement).mappings().all()
        return [_record(row) for row in rows]

    def count(self) -> int:
        """How many records the log holds."""
        with self._tx.read() as conn:
            return int(conn.execute(select(func.count()).select_from(tables.audit)).scalar_one())

    def verify_chain(self, checkpoint: tuple[int, str] | None = None) -> ChainReport:
        """Re-check every record's hash and link, in seq order; say which seq fails and why.

        ``checkpoint`` is a ``(seq, hash)`` taken from an earlier report and kept outside the
        database: the record at that seq must still carry that hash. It catches what the
        chain alone cannot — a tail rewritten as a whole, or removed.
        """
        if checkpoint is not None:
            seq, digest = checkpoint
            if isinstance(seq, bool) or not isinstance(seq, int) or seq < 1:
                raise InputError("a checkpoint's seq must be a positive integer")
            if not isinstance(digest, str) or len(digest) != 64:
                raise InputError("a checkpoint's hash must be 64 hex characters")
        problems: list[str] = []
        expected_seq, prev_hash, records = 1, GENESIS_HASH, 0
        audit = tables.audit
        while True:
            with self._tx.read() as conn:
                rows = (
                    conn.execute(
                        select(audit)
                        .where(audit.c.seq >= expected_seq)
                        .order_by(audit.c.seq)
                        .limit(_BATCH)
                    )
                    .mappings()
                    .all()
                )
            if not rows:
                break
            for row in rows:
                records += 1
                seq = int(row["seq"])
                if seq != expected_seq:
                    missing = (
                        f"seq {expected_seq}"
                        if seq == expected_seq + 1
                        else f"seq {expected_seq} to {seq - 1}"
                    )
                    problems.append(f"{missing}: missing (records removed)")
                if row["prev_hash"] != prev_hash:
                    problems.append(
                        f"seq {seq}: prev_hash does not match the hash of the record before it "
                        "(a record removed, inserted or reordered)"
                    )
                try:
                    computed = _record(row).computed_hash()
                except (ValueError, TypeError) as exc:
                    problems.append(f"seq {seq}: unreadable record ({exc})")
                else:
                    if computed != row["hash"]:
                        problems.append(f"seq {seq}: hash does not match the content (changed)")
                if (
                    checkpoint is not None
                    and seq == checkpoint[0]
                    and not hmac.compare_digest(str(row["hash"]), checkpoint[1].lower())
                ):
                    problems.append(
                        f"seq {seq}: hash differs from the checkpoint (the chain was rewritten)"
                    )
                expected_seq, prev_hash = seq + 1, str(row["hash"])
        if checkpoint is not None and checkpoint[0] >= expected_seq:
            problems.append(
                f"seq {checkpoint[0]}: in the checkpoint but not in the log (records removed "
                f"from seq {expected_seq} on)"
            )
        if len(problems) > _MAX_PROBLEMS:
            problems = [*problems[:_MAX_PROBLEMS], f"… and {len(problems) - _MAX_PROBLEMS} more"]
        return ChainReport(
            ok=not problems, records=records, problems=tuple(problems), head=prev_hash
        )


# Built once: every append runs them, and building a statement costs more than running it.
_HEAD: Final = (
    select(tables.audit.c.seq, tables.audit.c.hash).order_by(tables.audit.c.seq.desc()).limit(1)
)
_INSERT: Final = insert(tables.audit)


def _with_hash(record: AuditRecord) -> AuditRecord:
    values = {name: getattr(record, name) for name in AuditRecord.__dataclass_fields__}
    values["hash"] = record.computed_hash()
    return AuditRecord(**values)


def _row(record: AuditRecord) -> dict[str, object]:
    row = _hashed_fields(record)
    row["reasons"] = json.dumps(list(record.reasons), ensure_ascii=False)
    row["hash"] = record.hash
    return row


def _record(row: RowMapping) -> AuditRecord:
    reasons = json.loads(str(row["reasons"]))
    if not isinstance(reasons, list) or not all(isinstance(r, str) for r in reasons):
        raise ValueError("reasons is not a list of codes")
    return AuditRecord(
        seq=int(str(row["seq"])),
        at=parse_time_text(row["at"]),
        action=str(row["action"]),
        caller_key_id=str(row["caller_key_id"]),
        role=str(row["role"]),
        clerk=_opt(row["clerk"]),
        region=_opt(row["region"]),
        licence_id=_opt(row["licence_id"]),
        holder_hash=_opt(row["holder_hash"]),
        item_code=_opt(row["item_code"]),
        use_cause=_opt(row["use_cause"]),
        verdict=str(row["verdict"]),
        reasons=tuple(reasons),
        request_id=str(row["request_id"]),
        prev_hash=str(row["prev_hash"]),
        hash=str(row["hash"]),
    )


def _printable(text: str) -> str:
    return "".join("\ufffd" if ord(c) < 0x20 or ord(c) == 0x7F else c for c in text)


def _opt(value: object) -> str | None:
    return None if value is None else str(value)


def _aware(moment: object, what: str) -> datetime:
    if not isinstance(moment, datetime) or moment.utcoffset() is None:
        raise InputError(f"{what} must be a timezone-aware datetime")
    return moment
