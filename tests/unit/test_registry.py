"""The issuer registry (电子证照库): idempotent issuance, status indices, status changes,
version chains, published status lists, lookups and concurrent writers."""

from __future__ import annotations

import dataclasses
import sqlite3
import threading
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from ezhengzhao import codes
from ezhengzhao.catalogue import Catalogue, LicenceType
from ezhengzhao.demo import DemoDomain
from ezhengzhao.errors import InputError, LicenceFormatError
from ezhengzhao.formats.sealed import SealedLicence
from ezhengzhao.issue import IssuingAuthority
from ezhengzhao.model import Holder, LicenceDraft, StatusReference
from ezhengzhao.registry import (
    DEFAULT_LIST_SIZE,
    HistoryEntry,
    Registry,
    RegistryError,
    SQLiteRegistry,
)
from ezhengzhao.status.codec import (
    INVALID,
    SUSPENDED,
    VALID,
    read_status_list_token,
    verify_status_list_token,
)
from ezhengzhao.verify import Verifier

BASE = "https://zz.example.gov.cn/status"
CATALOGUE = Catalogue.builtin()
BUSINESS = CATALOGUE.by_name("营业执照")
FOOD = CATALOGUE.by_name("食品经营许可证")


class StepClock:
    """A clock that moves one second on every reading, from a fixed start."""

    def __init__(self, start: datetime) -> None:
        self.now = start
        self._lock = threading.Lock()

    def __call__(self) -> datetime:
        with self._lock:
            self.now += timedelta(seconds=1)
            return self.now


@pytest.fixture
def clock(demo_domain: DemoDomain) -> StepClock:
    return StepClock(demo_domain.created + timedelta(hours=1))


@pytest.fixture
def authority(demo_domain: DemoDomain) -> IssuingAuthority:
    """上海市浦东新区市场监督管理局 (issues 营业执照 and 食品经营许可证)."""
    return demo_domain.regions[0].authorities[0].credentials()


@pytest.fixture
def other_authority(demo_domain: DemoDomain) -> IssuingAuthority:
    """合肥市市场监督管理局 (also issues 营业执照)."""
    return demo_domain.regions[1].authorities[3].credentials()


@pytest.fixture
def registry(tmp_path: Path, clock: StepClock) -> Iterator[SQLiteRegistry]:
    with SQLiteRegistry(tmp_path / "registry.db", clock=clock, list_size=1024) as reg:
        yield reg


def company(n: int, region: str = "310115") -> Holder:
    org8 = f"MA{n:06d}"
    uscc = codes.make_uscc("91" + region + org8 + codes.organisation_code_check_char(org8))
    return Holder(f"上海测试{n}号有限公司", uscc, "001")


def draft(
    n: int, *, holder: Holder | None = None, licence_type: LicenceType = BUSINESS
) -> LicenceDraft:
    lt = licence_type
    return LicenceDraft(
        type_code=lt.code,
        number=f"SH2026{n:06d}",
        holder=holder or company(n),
        surface=lt.example_surface(),
    )


def issue(
    reg: SQLiteRegistry, authority: IssuingAuthority, n: int, **kwargs: object
) -> SealedLicence:
    d = kwargs.pop("draft", None) or draft(n)
    return reg.issue(
        d,  # type: ignore[arg-type]
        authority=authority,
        catalogue=CATALOGUE,
        request_id=str(kwargs.pop("request_id", f"req-{n}")),
        status_uri=str(kwargs.pop("status_uri", BASE)),
    )


def ref(sealed: SealedLicence) -> StatusReference:
    assert sealed.licence.status is not None
    return sealed.licence.status


def reason(exc: pytest.ExceptionInfo[RegistryError]) -> str:
    return exc.value.reason


# -- issuance and idempotency ------------------------------------------------------------------


def test_registry_satisfies_the_protocol(registry: SQLiteRegistry) -> None:
    reg: Registry = registry
    assert reg is registry
    assert DEFAULT_LIST_SIZE == 131_072


def test_issue_puts_the_status_reference_inside_the_sealed_licence(
    registry: SQLiteRegistry, authority: IssuingAuthority, demo_domain: DemoDomain, clock: StepClock
) -> None:
    sealed = issue(registry, authority, 1)
    assert ref(sealed).uri == f"{BASE}/1"
    assert 0 <= ref(sealed).idx < 1024
    assert b'"status"' in sealed.canonical_bytes  # covered by the seal's dataHash
    verifier = Verifier(trust_store=demo_domain.trust_store(), clock=lambda: clock.now)
    result = verifier.verify(sealed.to_json())
    assert result.status.value == "PASSED", result.reasons
    assert registry.get(sealed.licence.licence_id).to_json() == sealed.to_json()
    assert registry.status_of(sealed.licence.licence_id) == VALID


def test_a_retried_request_returns_the_same_licence_and_bytes(
    registry: SQLiteRegistry, authority: IssuingAuthority, clock: StepClock
) -> None:
    first = issue(registry, authority, 1)
    clock.now += timedelta(days=2)  # a retry much later still gets the stored licence
    second = issue(registry, authority, 1)
    assert second.licence.licence_id == first.licence.licence_id
    assert second.to_json() == first.to_json()
    assert second.ses_signature == first.ses_signature
    assert len(registry.by_issuer(authority.issuer.code)) == 1
    assert [e.event for e in registry.history(first.licence.licence_id)] == ["issued"]
    assert registry.status_list(f"{BASE}/1") == registry.status_list(f"{BASE}/1")


def test_another_draft_under_a_used_request_id_is_refused(
    registry: SQLiteRegistry, authority: IssuingAuthority
) -> None:
    issue(registry, authority, 1)
    changed = dataclasses.replace(draft(1), number="SH2026999999")
    with pytest.raises(RegistryError) as exc:
        issue(registry, authority, 1, draft=changed, request_id="req-1")
    assert reason(exc) == "request_id_reused"
    with pytest.raises(RegistryError) as exc:
        issue(registry, authority, 1, status_uri=BASE + "/other")
    assert reason(exc) == "request_id_reused"
    assert len(registry.by_issuer(authority.issuer.code)) == 1


def test_request_ids_are_scoped_per_issuer(
    registry: SQLiteRegistry, authority: IssuingAuthority, other_authority: IssuingAuthority
) -> None:
    a = issue(registry, authority, 1, request_id="same")
    b = issue(registry, other_authority, 1, request_id="same")
    assert a.licence.licence_id != b.licence.licence_id
    assert ref(a) != ref(b)


def test_a_stored_licence_id_under_another_request_is_refused(
    registry: SQLiteRegistry, authority: IssuingAuthority
) -> None:
    issue(registry, authority, 1, request_id="a")
    with pytest.raises(RegistryError) as exc:
        issue(registry, authority, 1, request_id="b")
    assert reason(exc) == "duplicate_licence"


def test_bad_arguments_raise_input_error(
    registry: SQLiteRegistry, authority: IssuingAuthority
) -> None:
    with_status = dataclasses.replace(draft(1), status=StatusReference(f"{BASE}/1", 3))
    with pytest.raises(InputError):
        issue(registry, authority, 1, draft=with_status)
    for bad_request in ("", " ", "a\nb", "x" * 201):
        with pytest.raises(InputError):
            issue(registry, authority, 1, request_id=bad_request)
    for bad_uri in ("", f"{BASE}/", f" {BASE}", "https://a b/status"):
        with pytest.raises(InputError):
            issue(registry, authority, 1, status_uri=bad_uri)
    sealed = issue(registry, authority, 1)
    with pytest.raises(InputError):
        registry.revoke(sealed.licence.licence_id, code="06", reason="no such code")
    with pytest.raises(InputError):
        registry.revoke(sealed.licence.licence_id, code="03", reason="")
    with pytest.raises(InputError):
        SQLiteRegistry(":memory:", list_size=0)
    assert registry.status_of(sealed.licence.licence_id) == VALID


def test_an_invalid_draft_uses_no_status_entry(
    registry: SQLiteRegistry, authority: IssuingAuthority
) -> None:
    bad = dataclasses.replace(draft(1), surface={"no_such_field": "x"})
    with pytest.raises(LicenceFormatError, match="no_such_field"):
        issue(registry, authority, 1, draft=bad)
    with pytest.raises(RegistryError) as exc:
        registry.status_list(f"{BASE}/1")
    assert reason(exc) == "not_found"  # no list was even opened


# -- status indices ----------------------------------------------------------------------------


def test_indices_are_distinct_and_spread_over_the_list(
    registry: SQLiteRegistry, authority: IssuingAuthority
) -> None:
    indices = [ref(issue(registry, authority, n)).idx for n in range(30)]
    assert len(set(indices)) == 30
    assert indices != sorted(indices)  # issuance order is not visible (p = 1/30!)
    assert max(indices) - min(indices) > 200  # not clustered (p < 1e-20 when uniform)


def test_reserved_indices_fill_the_list_uniformly(tmp_path: Path, clock: StepClock) -> None:
    size = 1024
    with SQLiteRegistry(tmp_path / "r.db", clock=clock, list_size=size) as reg:
        with reg._write() as tx:
            # The list takes entries while under 80 %: 820 of 1024 (the mark is 819.2).
            taken = [reg._reserve(tx, BASE, clock()) for _ in range(820)]
        assert {r.list_uri for r in taken} == {f"{BASE}/1"}
        indices = [r.idx for r in taken]
        assert len(set(indices)) == len(indices)
        # Eight buckets of 128 entries, 820 draws: about 102 each when uniform.
        buckets = [0] * 8
        for idx in indices:
            buckets[idx // 128] += 1
        expected = len(indices) / 8
        chi_square = sum((b - expected) ** 2 / expected for b in buckets)
        assert chi_square < 30, buckets  # 7 d.o.f.: p ≈ 1e-4 before the without-replacement gain
        with reg._write() as tx:
            assert reg._reserve(tx, BASE, clock()).list_uri == f"{BASE}/2"


def test_a_new_list_opens_when_one_is_80_percent_full(
    tmp_path: Path, clock: StepClock, authority: IssuingAuthority
) -> None:
    with SQLiteRegistry(tmp_path / "r.db", clock=clock, list_size=10) as reg:
        refs = [ref(issue(reg, authority, n)) for n in range(12)]
        assert [r.uri for r in refs] == [f"{BASE}/1"] * 8 + [f"{BASE}/2"] * 4
        assert len({r.idx for r in refs[:8]}) == 8
        assert reg.status_list(f"{BASE}/1").size == 10
        assert reg.status_list(f"{BASE}/2").size == 10
        other = ref(issue(reg, authority, 99, status_uri="https://other.example/s"))
        assert other.uri == "https://other.example/s/1"  # lists are numbered per base URI


def test_indices_are_never_reused_after_revocation(
    tmp_path: Path, clock: StepClock, authority: IssuingAuthority
) -> None:
    with SQLiteRegistry(tmp_path / "r.db", clock=clock, list_size=10) as reg:
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


# -- status changes ----------------------------------------------------------------------------


def test_suspend_reinstate_and_revoke(
    registry: SQLiteRegistry, authority: IssuingAuthority, clock: StepClock
) -> None:
    lid = issue(registry, authority, 1).licence.licence_id
    registry.suspend(lid, "涉嫌违法，暂停使用")
    assert registry.status_of(lid) == SUSPENDED
    with pytest.raises(RegistryError) as exc:
        registry.suspend(lid, "again")
    assert reason(exc) == "already_suspended"
    registry.reinstate(lid, "调查结束")
    assert registry.status_of(lid) == VALID
    with pytest.raises(RegistryError) as exc:
        registry.reinstate(lid, "not suspended")
    assert reason(exc) == "not_suspended"
    registry.suspend(lid, "再次暂停")
    registry.revoke(lid, code="07", reason="吊销营业执照")  # from SUSPENDED
    assert registry.status_of(lid) == INVALID
    changes: list[Callable[[], None]] = [
        lambda: registry.reinstate(lid, "undo"),
        lambda: registry.suspend(lid, "suspend"),
        lambda: registry.revoke(lid, code="03", reason="again"),
    ]
    for change in changes:
        with pytest.raises(RegistryError) as exc:
            change()
        assert reason(exc) == "revoked"
    assert registry.status_of(lid) == INVALID

    history = registry.history(lid)
    assert [(e.event, e.status, e.code) for e in history] == [
        ("issued", VALID, None),
        ("suspended", SUSPENDED, None),
        ("reinstated", VALID, None),
        ("suspended", SUSPENDED, None),
        ("revoked", INVALID, "07"),
    ]
    assert history[-1].reason == "吊销营业执照"
    assert all(isinstance(e, HistoryEntry) and e.at.tzinfo is not None for e in history)
    assert [e.at for e in history] == sorted(e.at for e in history)
    assert history[-1].at <= clock.now


@pytest.mark.parametrize("code", ["03", "04", "05", "07", "99"])
def test_every_national_revocation_code_invalidates(
    registry: SQLiteRegistry, authority: IssuingAuthority, code: str
) -> None:
    lid = issue(registry, authority, 1).licence.licence_id
    registry.revoke(lid, code=code, reason="reason")
    assert registry.status_of(lid) == INVALID
    assert registry.history(lid)[-1].code == code


def test_unknown_licence_ids_are_not_found(registry: SQLiteRegistry) -> None:
    lid = "1.2.156.3005.2.11100000000013338W009.11330105002500287C.2025052201.002.0"
    for call in (
        lambda: registry.get(lid),
        lambda: registry.history(lid),
        lambda: registry.status_of(lid),
        lambda: registry.revoke(lid, code="03", reason="r"),
        lambda: registry.suspend(lid, "r"),
        lambda: registry.reinstate(lid, "r"),
        lambda: registry.status_list(f"{BASE}/1"),
    ):
        with pytest.raises(RegistryError) as exc:
            call()
        assert reason(exc) == "not_found"


# -- versions ----------------------------------------------------------------------------------


def test_reissue_chains_versions_and_invalidates_the_old_one(
    registry: SQLiteRegistry, authority: IssuingAuthority
) -> None:
    old = issue(registry, authority, 1)
    old_id = old.licence.licence_id
    changed = dataclasses.replace(draft(1), surface={**draft(1).surface})
    new = registry.reissue(
        old_id,
        changed,
        authority=authority,
        catalogue=CATALOGUE,
        request_id="req-1-v2",
        status_uri=BASE,
    )
    assert new.licence.version == 2
    assert new.licence.previous == old_id
    assert new.licence.licence_id.split(".")[-2] == "002"
    assert ref(new) != ref(old)
    assert registry.status_of(old_id) == INVALID
    assert registry.status_of(new.licence.licence_id) == VALID
    last = registry.history(old_id)[-1]
    assert (last.event, last.code, last.status) == ("superseded", "05", INVALID)
    assert new.licence.licence_id in last.reason

    # The retry returns the same new version, even though the old one is now INVALID.
    again = registry.reissue(
        old_id,
        changed,
        authority=authority,
        catalogue=CATALOGUE,
        request_id="req-1-v2",
        status_uri=BASE,
    )
    assert again.to_json() == new.to_json()
    # The old version cannot be re-issued a second time, nor changed any more.
    with pytest.raises(RegistryError) as exc:
        registry.reissue(
            old_id,
            changed,
            authority=authority,
            catalogue=CATALOGUE,
            request_id="other",
            status_uri=BASE,
        )
    assert reason(exc) == "superseded"
    with pytest.raises(RegistryError) as exc:
        registry.reinstate(old_id, "undo")
    assert reason(exc) == "superseded"

    v3 = registry.reissue(
        new.licence.licence_id,
        draft(1),
        authority=authority,
        catalogue=CATALOGUE,
        request_id="req-1-v3",
        status_uri=BASE,
    )
    assert (v3.licence.version, v3.licence.previous) == (3, new.licence.licence_id)
    holder = [s.licence.version for s in registry.by_holder(old.licence.holder.code)]
    assert holder == [1, 2, 3]


def test_reissue_must_continue_the_old_licence(
    registry: SQLiteRegistry, authority: IssuingAuthority, other_authority: IssuingAuthority
) -> None:
    old_id = issue(registry, authority, 1).licence.licence_id

    def reissue(d: LicenceDraft, by: IssuingAuthority = authority, old: str = old_id) -> None:
        registry.reissue(
            old, d, authority=by, catalogue=CATALOGUE, request_id="r2", status_uri=BASE
        )

    with pytest.raises(RegistryError) as exc:
        reissue(draft(1), by=other_authority)
    assert reason(exc) == "wrong_issuer"
    with pytest.raises(RegistryError) as exc:
        reissue(draft(1, licence_type=FOOD))
    assert reason(exc) == "wrong_type"
    with pytest.raises(InputError):
        reissue(dataclasses.replace(draft(1), version=5, previous=old_id))
    with pytest.raises(InputError):
        reissue(dataclasses.replace(draft(1), previous="1.2.156.3005.2.other"))
    with pytest.raises(RegistryError) as exc:
        reissue(draft(1), old=old_id.replace(".001.", ".009."))
    assert reason(exc) == "not_found"
    registry.revoke(old_id, code="03", reason="撤销")
    with pytest.raises(RegistryError) as exc:
        reissue(draft(1))
    assert reason(exc) == "revoked"
    assert len(registry.by_issuer(authority.issuer.code)) == 1


# -- publishing --------------------------------------------------------------------------------


def test_the_published_token_verifies_and_shows_each_status(
    registry: SQLiteRegistry, authority: IssuingAuthority, clock: StepClock
) -> None:
    valid, suspended, revoked, old = (issue(registry, authority, n) for n in range(4))
    registry.suspend(suspended.licence.licence_id, "暂停")
    registry.revoke(revoked.licence.licence_id, code="07", reason="吊销")
    new = registry.reissue(
        old.licence.licence_id,
        draft(3),
        authority=authority,
        catalogue=CATALOGUE,
        request_id="v2",
        status_uri=BASE,
    )
    uri = f"{BASE}/1"
    token_bytes = registry.publish_status_list(
        uri, signer=authority.signer, certificate=authority.certificate, ttl=timedelta(hours=1)
    )
    token = read_status_list_token(token_bytes)
    verify_status_list_token(token, authority.certificate.public_key)
    assert token.uri == uri
    assert token.ttl == timedelta(hours=1)
    assert token.issued_at == clock.now.replace(microsecond=0)
    expected = {
        valid: VALID,
        suspended: SUSPENDED,
        revoked: INVALID,
        old: INVALID,
        new: VALID,
    }
    for sealed, status in expected.items():
        assert ref(sealed).uri == uri
        assert token.status_list.get(ref(sealed).idx) == status
        assert registry.status_of(sealed.licence.licence_id) == status
    others = set(range(token.status_list.size)) - {ref(s).idx for s in expected}
    assert all(token.status_list.get(i) == VALID for i in others)
    assert token.status_list.bits == 2


# -- lookups and storage -----------------------------------------------------------------------


def test_lookups_by_holder_type_and_issuer(
    registry: SQLiteRegistry, authority: IssuingAuthority, other_authority: IssuingAuthority
) -> None:
    shop = company(7)
    a = issue(registry, authority, 1, draft=draft(1, holder=shop))
    b = issue(registry, authority, 2, draft=draft(2, holder=shop, licence_type=FOOD))
    c = issue(registry, other_authority, 3)

    def ids(found: tuple[SealedLicence, ...]) -> set[str]:
        return {s.licence.licence_id for s in found}

    assert ids(registry.by_holder(shop.code)) == ids((a, b))
    assert ids(registry.by_type(BUSINESS.code)) == ids((a, c))
    assert ids(registry.by_type(FOOD.code)) == ids((b,))
    assert ids(registry.by_issuer(authority.issuer.code)) == ids((a, b))
    assert ids(registry.by_issuer(other_authority.issuer.code)) == ids((c,))
    assert registry.by_holder(company(8).code) == ()
    assert registry.get(b.licence.licence_id).to_json() == b.to_json()


def test_the_registry_persists_and_checks_its_schema_version(
    tmp_path: Path, clock: StepClock, authority: IssuingAuthority
) -> None:
    path = tmp_path / "r.db"
    with SQLiteRegistry(path, clock=clock) as reg:
        sealed = issue(reg, authority, 1)
        reg.suspend(sealed.licence.licence_id, "暂停")
    with SQLiteRegistry(path, clock=clock) as reg:
        assert reg.get(sealed.licence.licence_id).to_json() == sealed.to_json()
        assert reg.status_of(sealed.licence.licence_id) == SUSPENDED
        assert reg.status_list(ref(sealed).uri).size == DEFAULT_LIST_SIZE
    conn = sqlite3.connect(path)
    assert conn.execute("PRAGMA journal_mode").fetchone() == ("wal",)
    conn.execute("UPDATE ezz_meta SET value = '99' WHERE key = 'schema_version'")
    conn.commit()
    conn.close()
    with pytest.raises(RegistryError) as exc:
        SQLiteRegistry(path, clock=clock)
    assert reason(exc) == "schema_version"


def test_a_naive_clock_is_refused(tmp_path: Path, authority: IssuingAuthority) -> None:
    naive = SQLiteRegistry(tmp_path / "r.db", clock=lambda: datetime(2026, 6, 1))
    with naive as reg, pytest.raises(InputError):
        issue(reg, authority, 1)


# -- concurrency -------------------------------------------------------------------------------


def test_two_threads_issuing_at_once_get_distinct_indices(
    registry: SQLiteRegistry, authority: IssuingAuthority
) -> None:
    barrier = threading.Barrier(2)
    results: dict[int, SealedLicence] = {}
    errors: list[BaseException] = []

    def work(n: int) -> None:
        try:
            barrier.wait()
            results[n] = issue(registry, authority, n)
        except BaseException as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(n,)) for n in (1, 2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert ref(results[1]) != ref(results[2])


def test_many_writers_on_one_file_never_share_an_entry(
    tmp_path: Path, clock: StepClock, authority: IssuingAuthority
) -> None:
    # Separate registry objects: separate connections, as separate processes would have.
    path = tmp_path / "r.db"
    registries = [SQLiteRegistry(path, clock=clock, list_size=8) for _ in range(4)]
    barrier = threading.Barrier(8)
    results: list[SealedLicence] = []
    errors: list[BaseException] = []
    lock = threading.Lock()

    def work(worker: int) -> None:
        reg = registries[worker % 4]
        try:
            barrier.wait()
            for k in range(5):
                sealed = issue(reg, authority, worker * 100 + k)
                with lock:
                    results.append(sealed)
        except BaseException as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(w,)) for w in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for reg in registries:
        reg.close()
    assert errors == []
    slots = [(ref(s).uri, ref(s).idx) for s in results]
    assert len(slots) == 40
    assert len(set(slots)) == 40
    per_list: dict[str, int] = {}
    for uri, _ in slots:
        per_list[uri] = per_list.get(uri, 0) + 1
    assert max(per_list.values()) <= 7  # lists of 8 close at 80 %: ceil(6.4) = 7 entries
    assert len(per_list) >= 6


def test_a_request_raced_by_threads_yields_one_licence(
    registry: SQLiteRegistry, authority: IssuingAuthority
) -> None:
    barrier = threading.Barrier(4)
    results: list[bytes] = []
    errors: list[BaseException] = []

    def work() -> None:
        try:
            barrier.wait()
            results.append(issue(registry, authority, 1).to_json())
        except BaseException as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=work) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert len(set(results)) == 1
    assert len(registry.by_issuer(authority.issuer.code)) == 1
