"""The issuer registry (电子证照库) on the service database, SQLite and PostgreSQL.

Every test of tests/unit/test_registry.py that works through its ``registry`` fixture runs
here again against :class:`SqlRegistry` on each backend (the fixture is overridden below); the
tests that build their own ``SQLiteRegistry`` have counterparts here on both backends.
"""

from __future__ import annotations

import inspect
import threading
from collections.abc import Iterator

import pytest

from ezhengzhao.demo import DemoDomain
from ezhengzhao.formats.sealed import SealedLicence
from ezhengzhao.issue import IssuingAuthority
from ezhengzhao.registry import Registry, SQLRegistryBase
from ezhengzhao.status.codec import INVALID, VALID
from tests.unit import test_registry as unit
from tests.unit.test_registry import BASE, StepClock, issue, ref
from verifier_service.db import Database, SqlRegistry, open_database

# The unit module's fixtures, so that its tests find them here.
authority = unit.authority
clock = unit.clock
other_authority = unit.other_authority

_UNIT_TESTS = {
    name: test
    for name, test in vars(unit).items()
    if name.startswith("test_") and "registry" in inspect.signature(test).parameters
}
assert len(_UNIT_TESTS) >= 15, sorted(_UNIT_TESTS)  # the import found the unit tests
globals().update(_UNIT_TESTS)


@pytest.fixture
def database(database_url: str, holder_key: bytes, clock: StepClock) -> Iterator[Database]:
    db = open_database(database_url, holder_key=holder_key, clock=clock)
    try:
        yield db
    finally:
        db.close()


@pytest.fixture
def registry(database: Database) -> SqlRegistry:
    """Overrides the unit tests' SQLite registry: lists of 1024 entries, like theirs."""
    return SqlRegistry(database.transactions, list_size=1024)


def sized(database: Database, size: int) -> SqlRegistry:
    return SqlRegistry(database.transactions, list_size=size)


def test_the_database_registry_is_a_registry(database: Database) -> None:
    reg: Registry = database.registry
    assert isinstance(database.registry, SQLRegistryBase)
    assert reg is database.registry


def test_a_new_list_opens_when_one_is_80_percent_full(
    database: Database,
    authority: IssuingAuthority,
) -> None:
    reg = sized(database, 10)
    refs = [ref(issue(reg, authority, n)) for n in range(12)]
    assert [r.uri for r in refs] == [f"{BASE}/1"] * 8 + [f"{BASE}/2"] * 4
    assert len({r.idx for r in refs[:8]}) == 8
    assert reg.status_list(f"{BASE}/1").size == 10


def test_indices_are_never_reused_after_revocation(
    database: Database,
    authority: IssuingAuthority,
) -> None:
    reg = sized(database, 10)
    first = [issue(reg, authority, n) for n in range(6)]
    for sealed in first:
        reg.revoke(sealed.licence.licence_id, code="04", reason="注销")
    later = [issue(reg, authority, n) for n in range(6, 20)]
    slots = [(ref(s).uri, ref(s).idx) for s in first + later]
    assert len(set(slots)) == len(slots)
    for sealed in first:
        assert reg.status_list(ref(sealed).uri).get(ref(sealed).idx) == INVALID
    for sealed in later:
        assert reg.status_list(ref(sealed).uri).get(ref(sealed).idx) == VALID


def test_many_writers_on_separate_engines_never_share_an_entry(
    database_url: str,
    holder_key: bytes,
    clock: StepClock,
    authority: IssuingAuthority,
) -> None:
    # Separate Database objects: separate engines and connections, as separate workers have.
    databases = [open_database(database_url, holder_key=holder_key, clock=clock) for _ in range(4)]
    registries = [sized(db, 8) for db in databases]
    barrier = threading.Barrier(8)
    results: list[SealedLicence] = []
    errors: list[BaseException] = []
    lock = threading.Lock()

    def work(worker: int) -> None:
        try:
            barrier.wait()
            for k in range(4):
                sealed = issue(registries[worker % 4], authority, worker * 100 + k)
                with lock:
                    results.append(sealed)
        except BaseException as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(w,)) for w in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for db in databases:
        db.close()
    assert errors == []
    slots = [(ref(s).uri, ref(s).idx) for s in results]
    assert len(set(slots)) == len(slots) == 32
    per_list: dict[str, int] = {}
    for uri, _ in slots:
        per_list[uri] = per_list.get(uri, 0) + 1
    assert max(per_list.values()) <= 7  # lists of 8 close at 80 %


def test_the_registry_persists_across_opens(
    database_url: str,
    holder_key: bytes,
    clock: StepClock,
    authority: IssuingAuthority,
    demo_domain: DemoDomain,
) -> None:
    with open_database(database_url, holder_key=holder_key, clock=clock) as db:
        sealed = issue(db.registry, authority, 1)
        db.registry.suspend(sealed.licence.licence_id, "暂停")
    with open_database(database_url, holder_key=holder_key, clock=clock) as db:
        assert db.registry.get(sealed.licence.licence_id).to_json() == sealed.to_json()
        assert [e.event for e in db.registry.history(sealed.licence.licence_id)] == [
            "issued",
            "suspended",
        ]
