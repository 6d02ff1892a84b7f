"""Trust benchmarks: CertLogic business rules, token status lists, signed trust lists.

Entries:
- ``rules_eval``: every EU DCC business-rule test (``CC/<RuleId>/rule.json`` ``Logic`` against
  each ``tests/*.json`` as ``{"payload": …, "external": …}``) with our ``certlogic.evaluate`` ÷
  panzi-json-logic's ``jsonLogic`` on the same pairs (goal ≥ 3×). CertLogic's date operations
  are not JsonLogic; they are registered as custom operations (panzi's own CertLogic
  ``after``/``before``/``not-after``/``not-before``/``plusTime``/``extractFromUVCI``, plus a
  ``dccDateOfBirth`` written here), so no rule is excluded. The note counts the pairs where
  both engines reach the same boolean outcome (an evaluation error counts as false).
- ``status_lookup``: ``StatusList.get`` on a 1,048,576-entry 2-bit list at random indices ÷
  the raw bytearray bit extraction (goal ≥ 1 M lookups/s).
- ``status_load``: read + verify + inflate a signed 1 M-entry Status List Token ÷ a bare
  ``zlib.decompress`` of the same compressed list.
- ``trust_lookup``: ``TrustListLoader.issuer_may_issue`` on a loaded 10,000-issuer trust list
  ÷ a plain dict lookup of the same keys; the rate of ``issuers_by_kid`` is in the note.
"""

from __future__ import annotations

import calendar
import contextlib
import json
import random
import time
import zlib
from datetime import UTC, datetime, timedelta
from pathlib import Path

from bench.harness import Entry, compare, entry, rate
from ezhengzhao import codes
from ezhengzhao.catalogue import Catalogue
from ezhengzhao.demo import DemoDomain, build_demo
from ezhengzhao.errors import CertLogicError
from ezhengzhao.rules import certlogic
from ezhengzhao.sign.suites import SM2_SM3
from ezhengzhao.status.codec import (
    StatusList,
    read_status_list_token,
    sign_status_list,
    verify_status_list_token,
)
from ezhengzhao.trust.lists import (
    NATIONAL_REGION,
    TrustListEntry,
    TrustListLoader,
    build_trust_list,
    sign_trust_list,
)

VECTORS = Path(__file__).resolve().parents[2] / "shared" / "vectors"
RULES = VECTORS / "dcc-business-rules"

STATUS_SIZE = 1 << 20
TRUST_ISSUERS = 10_000


# -- rules_eval -------------------------------------------------------------------------------


def _json_logic_operations() -> dict[str, object]:
    """panzi's JsonLogic operations plus CertLogic's date operations as custom operations."""
    from json_logic.builtins import BUILTINS
    from json_logic.cert_logic import builtins as cert

    def date_of_birth(data: object = None, text: object = None, *_ignored: object) -> datetime:
        parts = [int(p) for p in str(text).split("-")]
        year = parts[0]
        month = parts[1] if len(parts) > 1 else 12
        day = parts[2] if len(parts) > 2 else calendar.monthrange(year, month)[1]
        return datetime(year, month, day, tzinfo=UTC)

    return {
        **BUILTINS,
        "after": cert.op_after,
        "before": cert.op_before,
        "not-after": cert.op_not_after,
        "not-before": cert.op_not_before,
        "plusTime": cert.op_plus_time,
        "extractFromUVCI": cert.op_extract_from_uvci,
        "dccDateOfBirth": date_of_birth,
    }


def _rule_pairs() -> list[tuple[object, dict[str, object], bool]]:
    """(logic, data, expected outcome) for every test of every rule; a missing payload is null."""
    pairs = []
    for rule_path in sorted(RULES.glob("*/*/rule.json")):
        logic = json.loads(rule_path.read_text())["Logic"]
        for test_path in sorted((rule_path.parent / "tests").glob("*.json")):
            test = json.loads(test_path.read_text())
            data = {"payload": test.get("payload"), "external": test["external"]}
            pairs.append((logic, data, bool(test["expected"])))
    return pairs


def rules_eval() -> list[Entry]:
    from json_logic import jsonLogic
    from json_logic.builtins import to_bool

    cases = _rule_pairs()
    pairs = [(logic, data) for logic, data, _ in cases]
    if not pairs:
        return [Entry("rules_eval", 0.0, "evals/s", 0.0, 0.0, "business-rule vectors not found")]
    operations = _json_logic_operations()

    def ours_outcome(logic: object, data: object) -> bool:
        try:
            return certlogic.is_truthy(certlogic.evaluate(logic, data))
        except CertLogicError:
            return False

    def theirs_outcome(logic: object, data: object) -> bool:
        try:
            return to_bool(jsonLogic(logic, data, operations))  # type: ignore[arg-type]
        except Exception:
            return False

    agree = ours_right = theirs_right = 0
    for logic, data, expected in cases:
        mine, other = ours_outcome(logic, data), theirs_outcome(logic, data)
        agree += mine == other
        ours_right += mine == expected
        theirs_right += other == expected

    def ours() -> None:
        for logic, data in pairs:
            with contextlib.suppress(CertLogicError):
                certlogic.evaluate(logic, data)

    def theirs() -> None:
        for logic, data in pairs:
            with contextlib.suppress(Exception):  # an error is "rule not passed", as for ours
                jsonLogic(logic, data, operations)  # type: ignore[arg-type]

    rate_ours, rate_theirs = compare(ours, theirs, rounds=3, seconds=0.5)
    rules = len({id(lg) for lg, _ in pairs})
    note = (
        f"{len(pairs)} pairs ({rules} rules) compared, {agree} agree, 0 excluded (date ops "
        f"registered as custom ops); match expected: ours {ours_right}, panzi {theirs_right}; "
        "÷ panzi-json-logic (goal ≥ 3×)"
    )
    n = len(pairs)
    return [entry("rules_eval", rate_ours * n, rate_theirs * n, unit="evals/s", note=note)]


# -- status lists -----------------------------------------------------------------------------


def _status_list(rng: random.Random) -> StatusList:
    """1 M entries, about 1% INVALID and 0.2% SUSPENDED — a realistic, mostly-valid list."""
    builder = StatusList.new(STATUS_SIZE, bits=2).builder()
    for idx in rng.sample(range(STATUS_SIZE), STATUS_SIZE // 100):
        builder.set(idx, 1)
    for idx in rng.sample(range(STATUS_SIZE), STATUS_SIZE // 500):
        builder.set(idx, 2)
    return builder.build()


def status_lookup(status_list: StatusList, rng: random.Random) -> list[Entry]:
    indices = [rng.randrange(STATUS_SIZE) for _ in range(10_000)]
    data = bytearray(status_list.packed)
    get = status_list.get
    assert all(get(i) == (data[i >> 2] >> ((i & 3) * 2)) & 3 for i in indices)

    def ours() -> None:
        for i in indices:
            get(i)

    def raw() -> None:
        for i in indices:
            (data[i >> 2] >> ((i & 3) * 2)) & 3

    rate_ours, rate_raw = compare(ours, raw, rounds=3, seconds=0.3)
    n = len(indices)
    return [
        entry(
            "status_lookup",
            rate_ours * n,
            rate_raw * n,
            unit="lookups/s",
            note=f"StatusList.get, {STATUS_SIZE:,} × 2-bit, random indices ÷ raw bytearray "
            "bit extraction (goal ≥ 1 M/s)",
        )
    ]


def status_load(status_list: StatusList, demo: DemoDomain) -> list[Entry]:
    demo_now = demo.created
    authority = demo.regions[0].authorities[0]
    key, certificate = authority.keys[SM2_SM3], authority.certificates[SM2_SM3]
    token_bytes = sign_status_list(
        status_list,
        uri="https://status.example.gov.cn/lists/1",
        signer=key,  # type: ignore[arg-type]
        certificate=certificate,
        issued_at=demo_now,
        ttl=timedelta(hours=12),
    )
    public_key = certificate.public_key
    lst = status_list.encode_lst()

    def ours() -> object:
        token = read_status_list_token(token_bytes)
        verify_status_list_token(token, public_key)
        return token.status_list

    assert ours() == status_list  # type: ignore[comparison-overlap]
    assert zlib.decompress(lst) == status_list.packed
    rate_ours, rate_raw = compare(ours, lambda: zlib.decompress(lst), rounds=3, seconds=0.4)
    return [
        entry(
            "status_load",
            rate_ours,
            rate_raw,
            unit="loads/s",
            note=f"{len(token_bytes):,}-byte token ({len(lst):,}-byte lst): read + SM2 verify + "
            "inflate ÷ bare zlib.decompress",
        )
    ]


# -- trust lists ------------------------------------------------------------------------------


def trust_lookup(demo: DemoDomain, rng: random.Random) -> list[Entry]:
    now = datetime.now(UTC).replace(microsecond=0)
    catalogue = Catalogue.builtin()
    regions = demo.regions
    # A handful of demo certificates shared by the 10,000 entries: building 10,000 is slow.
    pool = [
        (authority, certificate)
        for region in regions
        for authority in region.authorities
        for certificate in authority.certificates.values()
    ]
    entries = []
    for n in range(TRUST_ISSUERS):
        authority, certificate = pool[n % len(pool)]
        region = authority.spec.region
        entries.append(
            TrustListEntry(
                uscc=codes.make_uscc(f"11{region}{n:09d}"),
                name=f"{authority.spec.name}第{n}分局",
                region=region,
                level=authority.spec.level,
                certificates=(certificate,),
                licence_types=tuple(catalogue.by_name(t).code for t in authority.spec.types),
                valid_from=now - timedelta(days=1),
                valid_until=now + timedelta(days=365),
            )
        )
    anchor_region = regions[0]
    trust_list = build_trust_list(
        issuer=anchor_region.root.subject.common_name,
        region=NATIONAL_REGION,
        sequence=1,
        issued_at=now,
        next_update=now + timedelta(days=1),
        entries=entries,
        roots=[r.root for r in regions],
    )
    signed = sign_trust_list(
        trust_list,
        signer=anchor_region.root_key,
        certificate=anchor_region.root,
    )
    loader = TrustListLoader(anchors=[anchor_region.root])
    start = time.perf_counter()
    loader.load(signed)
    load_seconds = time.perf_counter() - start

    queries = [(e.uscc, e.licence_types[0]) for e in rng.sample(entries, 1000)]
    assert all(loader.issuer_may_issue(u, t) for u, t in queries)
    plain = {e.uscc: e for e in entries}

    def ours() -> None:
        for uscc, type_code in queries:
            loader.issuer_may_issue(uscc, type_code)

    def baseline() -> None:
        for uscc, _ in queries:
            plain[uscc]

    rate_ours, rate_base = compare(ours, baseline, rounds=3, seconds=0.3)
    kids = [c.kid for _, c in pool]
    per_kid = len(loader.issuers_by_kid(kids[0]))
    kid_rate = rate(lambda: [loader.issuers_by_kid(k) for k in kids], seconds=0.3) * len(kids)
    n = len(queries)
    note = (
        f"issuer_may_issue over {TRUST_ISSUERS:,} issuers ÷ dict lookup; list "
        f"{len(signed) / 1e6:.1f} MB, load {load_seconds:.2f} s; issuers_by_kid "
        f"{kid_rate:,.0f}/s ({len(pool)} shared demo certs → ~{per_kid} entries per kid)"
    )
    return [entry("trust_lookup", rate_ours * n, rate_base * n, unit="lookups/s", note=note)]


def run() -> list[Entry]:
    rng = random.Random(20260601)
    status_list = _status_list(rng)
    demo = build_demo()
    return (
        rules_eval()
        + status_lookup(status_list, rng)
        + status_load(status_list, demo)
        + trust_lookup(demo, rng)
    )
