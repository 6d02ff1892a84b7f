"""``python -m bench`` (``make bench``): run the benchmarks, print the table, write results.json.

``python -m bench --only NAME [--only NAME …]`` runs just the benchmarks that make those entries
(e.g. ``sealed_verify_sm2``, ``qr_verify_sm2``, ``service_verify``) and merges them into
results.json.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable

from bench import bench_core, bench_qr, bench_service, bench_trust
from bench.harness import Entry, print_table, save

# Entries that one function measures on its own, by entry name.
_SINGLE: dict[str, Callable[[], list[Entry]]] = {
    "sealed_verify_sm2": bench_core.sealed_verify,
    "qr_issue_png": bench_qr.qr_issue,
    "qr_verify_sm2": bench_qr.qr_verify,
    "photo_decode": bench_qr.photo_decode,
    "dcc_verify": bench_qr.dcc_verify,
    "rules_eval": bench_trust.rules_eval,
    "service_verify": bench_service.run,
}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench")
    parser.add_argument(
        "--only",
        action="append",
        choices=sorted(_SINGLE),
        help="run only the benchmark of this entry (repeatable)",
    )
    args = parser.parse_args(argv)
    if args.only:
        entries = [e for name in dict.fromkeys(args.only) for e in _SINGLE[name]()]
    else:
        entries = bench_core.run() + bench_qr.run() + bench_trust.run() + bench_service.run()
    print_table(entries)
    save(entries)
    print("\nwritten to bench/results.json")
    return 0


if __name__ == "__main__":
    sys.exit(main())
