"""The service's storage on SQLite and on a real PostgreSQL server: audit chain (用证留痕),
API keys, replay cache, opening and secrets. Every test that takes ``database_url`` runs on
both backends."""

from __future__ import annotations

import itertools
import json
import multiprocessing
import os
import secrets
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import rfc8785
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import inspect, text

from ezhengzhao.errors import ConfigurationError, InputError
from ezhengzhao.replay import ReplayCache
from verifier_service.db import (
    GENESIS_HASH,
    AuditEntry,
    AuditLog,
    AuditRecord,
    Database,
    StorageConflict,
    StorageError,
    default_database_url,
    load_or_create_secret,
    open_database,
)
from verifier_service.db.audit import canonical_record

HOLDER = "11010519491231002X"  # a structurally valid 居民身份证号码
START = datetime(2026, 6, 1, 8, 0, tzinfo=UTC)
_SPAWN = multiprocessing.get_context("spawn")


class StepClock:
    """One second later at every reading."""

    def __init__(self, start: datetime = START) -> None:
        self.now = start

    def __call__(self) -> datetime:
        self.now += timedelta(seconds=1)
        return self.now


@pytest.fixture
def db(database_url: str, holder_key: bytes) -> Iterator[Database]:
    database = open_database(database_url, holder_key=holder_key, clock=StepClock())
    try:
        yield database
    finally:
        database.close()


def entry(n: int = 0, **changes: Any) -> AuditEntry:
    values: dict[str, Any] = {
        "action": "verify",
        "caller_key_id": "window1",
        "role": "window",
        "clerk": "张三",
        "region": "340100",
        "licence_id": f"1.2.156.3005.2.test.{n:03d}",
        "holder_code": HOLDER,
        "item_code": "340100-000-XK-001",
        "use_cause": "办理食品经营许可",
        "verdict": "PASSED",
        "reasons": (),
        "request_id": f"req-{n}",
    }
    values.update(changes)
    return AuditEntry(**values)


def fill(db: Database, n: int) -> list[AuditRecord]:
    return [db.audit.append(entry(i)) for i in range(1, n + 1)]


def run_sql(db: Database, statement: str, **params: object) -> None:
    with db.engine.begin() as conn:
        conn.execute(text(statement), params)


def rows(db: Database) -> list[dict[str, Any]]:
    with db.engine.connect() as conn:
        result = conn.execute(text("SELECT * FROM ezz_audit ORDER BY seq"))
        return [dict(r) for r in result.mappings()]


# -- audit log ---------------------------------------------------------------------------------


def test_appends_are_chained_from_the_genesis_hash(db: Database) -> None:
    records = fill(db, 5)
    assert [r.seq for r in records] == [1, 2, 3, 4, 5]
    assert records[0].prev_hash == GENESIS_HASH
    for before, after in itertools.pairwise(records):
        assert after.prev_hash == before.hash
        assert after.at > before.at
    assert all(r.hash == r.computed_hash() and len(r.hash) == 64 for r in records)
    assert len({r.hash for r in records}) == 5
    assert db.audit.count() == 5
    assert db.audit.query() == records  # what append returned is what was stored
    report = db.audit.verify_chain()
    assert (report.ok, report.records, report.problems, report.head) == (
        True,
        5,
        (),
        records[-1].hash,
    )


def test_an_empty_log_verifies(db: Database) -> None:
    report = db.audit.verify_chain()
    assert (report.ok, report.records, report.head) == (True, 0, GENESIS_HASH)
    assert db.audit.count() == 0
    assert db.audit.query() == []


def test_record_fields_and_to_dict(db: Database) -> None:
    record = db.audit.append(entry(1, verdict="FAILED", reasons=("licence_revoked", "x")))
    assert record.holder_hash is not None and HOLDER not in record.holder_hash
    assert record.reasons == ("licence_revoked", "x")
    assert record.at.tzinfo is not None
    data = record.to_dict()
    assert json.loads(json.dumps(data, ensure_ascii=False)) == data
    assert data["seq"] == 1 and data["verdict"] == "FAILED" and data["hash"] == record.hash
    assert data["reasons"] == ["licence_revoked", "x"]
    assert str(data["at"]).endswith("Z")
    assert "holder_code" not in data
    # The same holder always hashes alike (a lower-case x too); another holder does not.
    again = db.audit.append(entry(2, holder_code=HOLDER.lower()))
    other = db.audit.append(entry(3, holder_code="110105194912310029"))
    assert again.holder_hash == record.holder_hash != other.holder_hash
    none = db.audit.append(entry(4, holder_code=None, licence_id=None, clerk=None))
    assert (none.holder_hash, none.licence_id, none.clerk) == (None, None, None)


def test_query_filters(db: Database) -> None:
    a1 = db.audit.append(entry(1, caller_key_id="a"))
    b2 = db.audit.append(entry(2, caller_key_id="b"))
    a3 = db.audit.append(entry(3, caller_key_id="a", licence_id=a1.licence_id))
    b4 = db.audit.append(entry(4, caller_key_id="b", holder_code="110105194912310029"))
    assert db.audit.query(caller="a") == [a1, a3]
    assert db.audit.query(licence_id=a1.licence_id) == [a1, a3]
    assert db.audit.query(licence_id=a1.licence_id, caller="b") == []
    assert db.audit.query(holder_code="110105194912310029") == [b4]
    assert db.audit.query(holder_code=HOLDER) == [a1, b2, a3]
    assert db.audit.query(since=b2.at) == [b2, a3, b4]
    assert db.audit.query(until=b2.at) == [a1, b2]
    assert db.audit.query(since=b2.at, until=a3.at) == [b2, a3]
    assert db.audit.query(after_seq=2) == [a3, b4]
    assert db.audit.query(after_seq=1, limit=2) == [b2, a3]
    assert db.audit.query(limit=1000) == [a1, b2, a3, b4]
    for bad in (0, 1001, -1):
        with pytest.raises(InputError):
            db.audit.query(limit=bad)
    with pytest.raises(InputError):
        db.audit.query(since=datetime(2026, 1, 1))  # naive
    with pytest.raises(InputError):
        db.audit.query(after_seq=-1)


def test_bad_entries_are_refused_before_anything_is_stored(db: Database) -> None:
    bad: list[dict[str, Any]] = [
        {"action": "delete"},
        {"role": "root"},
        {"verdict": "OK"},
        {"caller_key_id": ""},
        {"request_id": "x" * 129},
        {"clerk": "a\x00b"},
        {"use_cause": "line\nbreak"},
        {"reasons": ("ok", "")},
        {"reasons": "licence_revoked"},
        {"holder_code": 1234},
        {"licence_id": 1234},
    ]
    for changes in bad:
        with pytest.raises(InputError):
            entry(1, **changes)
    with pytest.raises(InputError):
        db.audit.append("not an entry")  # type: ignore[arg-type]
    assert db.audit.count() == 0


def test_garbage_from_a_scanned_document_is_still_recorded(db: Database) -> None:
    # licence_id and holder_code come from whatever was scanned: never a reason to refuse.
    record = db.audit.append(
        entry(1, licence_id="1.2\x00.3\n" + "9" * 1000, holder_code="\x00" + "x" * 5000)
    )
    assert record.licence_id == "1.2\ufffd.3\ufffd" + "9" * 493
    assert record.holder_hash is not None and len(record.holder_hash) == 64
    assert db.audit.query(licence_id=record.licence_id) == [record]
    assert db.audit.verify_chain().ok


# -- tampering ---------------------------------------------------------------------------------


def problems_of(db: Database) -> str:
    report = db.audit.verify_chain()
    assert not report.ok
    return "\n".join(report.problems)


def test_a_changed_field_is_detected(db: Database) -> None:
    fill(db, 5)
    run_sql(db, "UPDATE ezz_audit SET verdict = 'PASSED', reasons = '[]' WHERE seq = 3")
    assert db.audit.verify_chain().ok  # it was PASSED already: nothing changed
    run_sql(db, "UPDATE ezz_audit SET verdict = 'FAILED' WHERE seq = 3")
    problems = problems_of(db)
    assert "seq 3: hash does not match" in problems
    assert "seq 4" not in problems and "seq 2" not in problems


def test_a_changed_time_or_caller_is_detected(db: Database) -> None:
    fill(db, 3)
    run_sql(db, "UPDATE ezz_audit SET caller_key_id = 'someone' WHERE seq = 1")
    run_sql(db, "UPDATE ezz_audit SET at = '2020-01-01T00:00:00.000000Z' WHERE seq = 2")
    problems = problems_of(db)
    assert "seq 1: hash does not match" in problems
    assert "seq 2: hash does not match" in problems


def test_a_deleted_record_is_detected(db: Database) -> None:
    fill(db, 5)
    run_sql(db, "DELETE FROM ezz_audit WHERE seq = 3")
    problems = problems_of(db)
    assert "seq 3: missing" in problems
    assert "seq 4: prev_hash does not match" in problems
    assert db.audit.verify_chain().records == 4


def test_a_deleted_first_record_is_detected(db: Database) -> None:
    fill(db, 3)
    run_sql(db, "DELETE FROM ezz_audit WHERE seq = 1")
    problems = problems_of(db)
    assert "seq 1: missing" in problems
    assert "seq 2: prev_hash does not match" in problems


def test_swapped_records_are_detected(db: Database) -> None:
    fill(db, 5)
    by_seq = {row["seq"]: row for row in rows(db)}
    columns = [c for c in by_seq[2] if c != "seq"]
    # Every column but seq changes places (deleted first: hash is unique).
    run_sql(db, "DELETE FROM ezz_audit WHERE seq IN (2, 4)")
    for seq, source in ((2, 4), (4, 2)):
        values = {c: by_seq[source][c] for c in columns}
        run_sql(
            db,
            f"INSERT INTO ezz_audit (seq, {', '.join(columns)}) "
            f"VALUES (:seq, {', '.join(':' + c for c in columns)})",
            seq=seq,
            **values,
        )
    problems = problems_of(db)
    for seq in (2, 3, 4, 5):
        assert f"seq {seq}:" in problems


def test_a_forged_record_inserted_in_the_middle_is_detected(db: Database) -> None:
    records = fill(db, 5)
    # Make room after seq 3 (one row at a time: seq is the primary key).
    for seq in (5, 4):
        run_sql(db, "UPDATE ezz_audit SET seq = :new WHERE seq = :old", new=seq + 1, old=seq)
    # A forger who knows the encoding links the record to seq 3 and hashes it correctly.
    forged = AuditRecord(
        **{
            **{name: getattr(records[2], name) for name in AuditRecord.__dataclass_fields__},
            "seq": 4,
            "request_id": "forged",
            "prev_hash": records[2].hash,
            "hash": "",
        }
    )
    row = {**forged.to_dict(), "hash": forged.computed_hash()}
    row["reasons"] = json.dumps(row["reasons"])
    names = ", ".join(row)
    run_sql(
        db,
        f"INSERT INTO ezz_audit ({names}) VALUES ({', '.join(':' + n for n in row)})",
        **row,
    )
    problems = problems_of(db)
    assert "seq 4:" not in problems  # the forged record itself looks fine …
    assert "seq 5: prev_hash does not match" in problems  # … but the next one no longer links
    assert "seq 5: hash does not match" in problems  # and the moved records changed seq


def test_a_forged_record_at_the_end_is_detected(db: Database) -> None:
    records = fill(db, 2)
    run_sql(
        db,
        "INSERT INTO ezz_audit (seq, at, action, caller_key_id, role, verdict, reasons, "
        "request_id, prev_hash, hash) VALUES (3, '2026-06-01T09:00:00.000000Z', 'verify', "
        "'x', 'admin', 'PASSED', '[]', 'forged', :prev, :hash)",
        prev=records[-1].hash,
        hash=secrets.token_hex(32),
    )
    assert "seq 3: hash does not match" in problems_of(db)


def test_holder_codes_never_appear_in_clear(db: Database, database_url: str) -> None:
    codes = [HOLDER, "110105194912310029", "91310115MA1K4XXX1X"]
    for n, code in enumerate(codes):
        db.audit.append(entry(n, holder_code=code, licence_id=None))
    assert db.audit.query(holder_code=codes[2])[0].seq == 3
    names = inspect(db.engine).get_table_names()
    assert "ezz_audit" in names
    dump: list[str] = []
    with db.engine.connect() as conn:
        for name in names:
            for row in conn.execute(text(f"SELECT * FROM {name}")):
                dump.extend(v.hex() if isinstance(v, bytes) else str(v) for v in row)
    everything = "\n".join(dump).upper()
    for code in codes:
        assert code.upper() not in everything
    if database_url.startswith("sqlite"):
        db.close()
        folder = Path(database_url.removeprefix("sqlite:///")).parent
        raw = b"".join(p.read_bytes() for p in folder.iterdir() if p.is_file())
        assert raw  # the database files were read
        for code in codes:
            assert code.encode() not in raw
            assert code.encode("utf-16-le") not in raw


def _append_worker(url: str, key: bytes, worker: int, count: int, barrier: Any) -> None:
    db = open_database(url, holder_key=key)
    try:
        barrier.wait()
        for k in range(count):
            db.audit.append(entry(worker * 1000 + k, request_id=f"w{worker}-{k}"))
    finally:
        db.close()


def test_concurrent_appends_from_processes_form_one_chain(
    db: Database, database_url: str, holder_key: bytes
) -> None:
    db.audit.append(entry(0, request_id="first"))
    workers, count = 4, 50
    barrier = _SPAWN.Barrier(workers)
    procs = [
        _SPAWN.Process(target=_append_worker, args=(database_url, holder_key, w, count, barrier))
        for w in range(workers)
    ]
    for p in procs:
        p.start()
    for p in procs:
        p.join(timeout=300)
    assert [p.exitcode for p in procs] == [0] * workers
    report = db.audit.verify_chain()
    assert report.problems == ()
    assert report.records == workers * count + 1
    records: list[AuditRecord] = []
    while len(records) < report.records:
        records += db.audit.query(after_seq=len(records), limit=1000)
    assert [r.seq for r in records] == list(range(1, workers * count + 2))
    expected = {"first"} | {f"w{w}-{k}" for w in range(workers) for k in range(count)}
    assert {r.request_id for r in records} == expected


def test_threads_share_one_commit_and_each_gets_its_own_records(
    db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    """While one append is being written, those arriving queue and are then written together:
    ten threads, two transactions — and every thread gets back exactly its own records."""
    import threading

    audit = db.audit
    real_write = AuditLog._write
    writes: list[int] = []
    entered, release = threading.Event(), threading.Event()

    def slow_write(self: AuditLog, entries: Any) -> list[AuditRecord]:
        batch = list(entries)
        writes.append(len(batch))
        if len(writes) == 1:
            entered.set()
            assert release.wait(30)
        return real_write(self, batch)

    monkeypatch.setattr(AuditLog, "_write", slow_write)
    results: dict[int, list[AuditRecord]] = {}

    def worker(n: int) -> None:
        results[n] = audit.append_all(
            [entry(n, request_id=f"t{n}-a"), entry(n, request_id=f"t{n}-b")]
        )

    first = threading.Thread(target=worker, args=(0,))
    first.start()
    assert entered.wait(30)
    others = [threading.Thread(target=worker, args=(n,)) for n in range(1, 10)]
    for t in others:
        t.start()
    while len(audit._queue) < 9:  # every other thread is queued behind the first write
        threading.Event().wait(0.01)
    release.set()
    for t in [first, *others]:
        t.join(30)
    assert writes == [2, 18]
    for n, records in results.items():
        assert [r.request_id for r in records] == [f"t{n}-a", f"t{n}-b"]
        assert records[1].seq == records[0].seq + 1  # a caller's entries stay together
    assert sorted(r.seq for rs in results.values() for r in rs) == list(range(1, 21))
    assert db.audit.verify_chain().ok


def test_a_failed_group_commit_fails_every_caller_in_it_and_then_recovers(
    db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    audit = db.audit

    def broken(self: AuditLog, entries: Any) -> list[AuditRecord]:
        raise StorageError("the disk is full")

    with monkeypatch.context() as patch:
        patch.setattr(AuditLog, "_write", broken)
        with pytest.raises(StorageError, match="disk is full"):
            audit.append(entry(1))
    assert audit.count() == 0
    assert audit.append(entry(2)).seq == 1


# -- API keys ----------------------------------------------------------------------------------


def test_api_keys_create_authenticate_and_revoke(db: Database) -> None:
    window, window_secret = db.api_keys.create(role="window", name="合肥市政务服务中心 3 号窗口")
    peer, peer_secret = db.api_keys.create(role="peer", region="310000", name="上海")
    admin, admin_secret = db.api_keys.create(role="admin")
    assert window_secret.startswith(f"ezzk_{window.key_id}_")
    assert len(window_secret) > 40
    assert (peer.role, peer.region, peer.revoked) == ("peer", "310000", None)
    assert db.api_keys.authenticate(window_secret) == window
    assert db.api_keys.authenticate(peer_secret) == peer
    assert db.api_keys.authenticate(admin_secret) == admin
    # Wrong secrets: another key's random part, a changed character, junk, empty.
    wrong = [
        window_secret[:-1] + ("A" if window_secret[-1] != "A" else "B"),
        f"ezzk_{window.key_id}_{peer_secret.split('_', 2)[2]}",
        "ezzk_nosuchkey_" + "x" * 43,
        "Bearer " + admin_secret,
        "",
        "ezzk__",
        "x" * 10_000,
    ]
    for secret in wrong:
        assert db.api_keys.authenticate(secret) is None
    assert db.api_keys.revoke(peer.key_id) is True
    assert db.api_keys.revoke(peer.key_id) is False  # already revoked
    assert db.api_keys.revoke("nosuchkey") is False
    assert db.api_keys.authenticate(peer_secret) is None
    listed = {k.key_id: k for k in db.api_keys.list()}
    assert set(listed) == {window.key_id, peer.key_id, admin.key_id}
    assert listed[peer.key_id].revoked is not None and not listed[peer.key_id].active
    assert listed[window.key_id].active
    assert db.api_keys.get(peer.key_id) == listed[peer.key_id]
    assert db.api_keys.get("nosuchkey") is None
    # Only hashes are stored.
    with db.engine.connect() as conn:
        stored = " ".join(
            str(v) for row in conn.execute(text("SELECT * FROM ezz_api_key")) for v in row
        )
    for secret in (window_secret, peer_secret, admin_secret):
        assert secret not in stored and secret.split("_", 2)[2] not in stored


def test_api_key_roles_and_regions_are_checked(db: Database) -> None:
    with pytest.raises(InputError, match="region"):
        db.api_keys.create(role="peer")
    for region in ("31000", "999999", "abcdef", ""):
        with pytest.raises(InputError):
            db.api_keys.create(role="peer", region=region)
    with pytest.raises(InputError):
        db.api_keys.create(role="root")
    with pytest.raises(InputError):
        db.api_keys.create(role="window", name="bad\x00name")
    window, _ = db.api_keys.create(role="window", region="340100")
    assert window.region == "340100"
    assert [k.key_id for k in db.api_keys.list()] == [window.key_id]


# -- replay cache ------------------------------------------------------------------------------


def test_replay_cache_claims_once_and_purges(db: Database) -> None:
    cache: ReplayCache = db.replay
    assert isinstance(cache, ReplayCache)
    soon, later = START + timedelta(minutes=1), START + timedelta(minutes=10)
    assert cache.claim(b"jti-1", soon) is True
    assert cache.claim(b"jti-1", later) is False
    assert cache.claim(b"jti-2", later) is True
    assert db.replay.purge(START + timedelta(minutes=5)) == 1
    assert cache.claim(b"jti-1", later) is True  # forgotten once expired
    assert cache.claim(b"jti-2", later) is False
    assert len(db.replay) == 2
    with pytest.raises(ValueError):
        cache.claim(b"", soon)
    with pytest.raises(ValueError):
        cache.claim(b"x", datetime(2026, 6, 1))  # naive
    with pytest.raises(TypeError):
        cache.claim("text", soon)  # type: ignore[arg-type]


def _claim_worker(url: str, key: bytes, jtis: list[bytes], barrier: Any, queue: Any) -> None:
    db = open_database(url, holder_key=key)
    try:
        barrier.wait()
        expires = datetime.now(UTC) + timedelta(minutes=5)
        queue.put([db.replay.claim(jti, expires) for jti in jtis])
    finally:
        db.close()


def test_replay_single_use_holds_across_processes(
    db: Database, database_url: str, holder_key: bytes
) -> None:
    workers = 4
    jtis = [secrets.token_bytes(16) for _ in range(20)]
    barrier = _SPAWN.Barrier(workers)
    queue = _SPAWN.Queue()
    procs = [
        _SPAWN.Process(target=_claim_worker, args=(database_url, holder_key, jtis, barrier, queue))
        for _ in range(workers)
    ]
    for p in procs:
        p.start()
    answers = [queue.get(timeout=300) for _ in procs]
    for p in procs:
        p.join(timeout=60)
    assert [p.exitcode for p in procs] == [0] * workers
    for i in range(len(jtis)):
        assert sum(answer[i] for answer in answers) == 1  # exactly one winner per token
    assert len(db.replay) == len(jtis)


# -- opening -----------------------------------------------------------------------------------


def _open_worker(url: str, key: bytes, barrier: Any) -> None:
    barrier.wait()
    db = open_database(url, holder_key=key)
    try:
        db.audit.append(entry(os.getpid()))
    finally:
        db.close()


def test_several_processes_may_create_the_tables_at_once(
    database_url: str, holder_key: bytes
) -> None:
    barrier = _SPAWN.Barrier(4)
    procs = [
        _SPAWN.Process(target=_open_worker, args=(database_url, holder_key, barrier))
        for _ in range(4)
    ]
    for p in procs:
        p.start()
    for p in procs:
        p.join(timeout=300)
    assert [p.exitcode for p in procs] == [0] * 4
    with open_database(database_url, holder_key=holder_key) as db:
        report = db.audit.verify_chain()
        assert (report.ok, report.records) == (True, 4)
        tables = set(inspect(db.engine).get_table_names())
    assert {"ezz_audit", "ezz_api_key", "ezz_replay", "ezz_licence", "ezz_meta"} <= tables


def test_data_persists_across_opens(database_url: str, holder_key: bytes) -> None:
    with open_database(database_url, holder_key=holder_key) as db:
        first = db.audit.append(entry(1))
        key, secret = db.api_keys.create(role="admin")
    with open_database(database_url, holder_key=holder_key) as db:
        second = db.audit.append(entry(2))
        assert second.prev_hash == first.hash
        assert db.api_keys.authenticate(secret) == key
        assert db.audit.verify_chain().ok


def test_sqlite_runs_in_wal_mode_with_full_sync(tmp_path: Path, holder_key: bytes) -> None:
    url = default_database_url(tmp_path / "data")
    assert url == f"sqlite:///{(tmp_path / 'data' / 'service' / 'service.db').resolve()}"
    with open_database(url, holder_key=holder_key) as db, db.engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA synchronous").scalar() == 2  # FULL
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
    assert (tmp_path / "data" / "service" / "service.db").is_file()


def test_bad_urls_and_keys_are_configuration_errors(tmp_path: Path, holder_key: bytes) -> None:
    for url in ("", "not a url", "mysql://u@h/db", "sqlite://", "sqlite:///:memory:"):
        with pytest.raises(ConfigurationError):
            open_database(url, holder_key=holder_key)
    with pytest.raises(ConfigurationError):
        open_database(f"sqlite:///{tmp_path}/x.db", holder_key=b"short")


def test_an_unreachable_server_is_a_storage_error(holder_key: bytes) -> None:
    pytest.importorskip("psycopg", reason="psycopg is not installed")
    with pytest.raises(StorageError):
        open_database("postgresql+psycopg://postgres@127.0.0.1:1/none", holder_key=holder_key)


def refuse_audit_inserts(db: Database) -> None:
    """Make the database refuse every new audit record with a constraint of its own: a CHECK
    on PostgreSQL, a trigger on SQLite (which cannot add a CHECK to a table)."""
    if db.dialect == "postgresql":
        run_sql(db, "ALTER TABLE ezz_audit ADD CONSTRAINT ezz_refuse CHECK (seq < 0) NOT VALID")
    else:
        run_sql(
            db,
            "CREATE TRIGGER ezz_refuse BEFORE INSERT ON ezz_audit "
            "BEGIN SELECT RAISE(ABORT, 'refused by the test'); END",
        )


def test_a_constraint_violation_is_a_storage_error(db: Database) -> None:
    fill(db, 2)
    refuse_audit_inserts(db)
    with pytest.raises(StorageConflict, match="refused the write"):
        db.audit.append(entry(3))
    assert isinstance(StorageConflict("x"), StorageError)
    assert db.audit.count() == 2
    assert db.audit.verify_chain().ok


def test_bad_sql_is_a_storage_error_that_names_the_problem(db: Database) -> None:
    # A statement only a bug would send: the message keeps what the database said about it.
    with pytest.raises(StorageError, match="no_such_column"), db.transactions.read() as conn:
        conn.execute(text("SELECT no_such_column FROM ezz_audit"))
    with pytest.raises(StorageError, match="no_such_column"), db.transactions.write() as conn:
        conn.execute(text("UPDATE ezz_audit SET no_such_column = 1"))
    # Wrong parameters for a statement: the driver's own complaint (not a connection problem).
    marker = "%(missing)s" if db.dialect == "postgresql" else "?"
    with pytest.raises(StorageError, match="ProgrammingError"), db.transactions.read() as conn:
        conn.exec_driver_sql(f"SELECT seq FROM ezz_audit WHERE seq = {marker}", {})
    fill(db, 1)  # and the database works on
    assert db.audit.count() == 1


def _secret_worker(path: str, barrier: Any, queue: Any) -> None:
    barrier.wait()
    queue.put(load_or_create_secret(path))


def test_the_secret_is_created_once_even_by_racing_processes(tmp_path: Path) -> None:
    path = tmp_path / "service" / "audit-holder.key"
    barrier, queue = _SPAWN.Barrier(4), _SPAWN.Queue()
    procs = [
        _SPAWN.Process(target=_secret_worker, args=(str(path), barrier, queue)) for _ in range(4)
    ]
    for p in procs:
        p.start()
    secrets_seen = {queue.get(timeout=120) for _ in procs}
    for p in procs:
        p.join(timeout=60)
    assert len(secrets_seen) == 1
    secret = secrets_seen.pop()
    assert len(secret) == 32
    assert load_or_create_secret(path) == secret
    assert path.stat().st_mode & 0o777 == 0o600
    assert [p.name for p in path.parent.iterdir()] == ["audit-holder.key"]  # no leftovers
    path.write_text("not hex\n")
    with pytest.raises(ConfigurationError):
        load_or_create_secret(path)


_TEXT = st.text(st.characters(exclude_categories=("Cs",)), max_size=40)


@settings(max_examples=300)
@given(
    fields=st.dictionaries(
        st.text(st.characters(min_codepoint=0x20, max_codepoint=0x7E), min_size=1, max_size=12),
        st.none()
        | st.integers(min_value=0, max_value=2**53 - 1)
        | _TEXT
        | st.lists(_TEXT, max_size=4),
        max_size=16,
    )
)
def test_record_encoding_is_rfc8785(fields: dict[str, object]) -> None:
    """Records are hashed over the fast encoder's bytes: for every value a record can hold
    they are the reference RFC 8785 encoder's."""
    assert canonical_record(fields) == bytes(rfc8785.dumps(fields))


def test_records_rfc8785_cannot_encode_are_refused_as_by_rfc8785() -> None:
    with pytest.raises(rfc8785.CanonicalizationError):
        canonical_record({"use_cause": "半个\ud800字"})
    with pytest.raises(rfc8785.CanonicalizationError):
        canonical_record({"seq": 2**53})
    assert canonical_record({"seq": 2**53 - 1}) == b'{"seq":9007199254740991}'
