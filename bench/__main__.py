"""``python -m bench`` (``make bench``): run the benchmarks, print the table, write results.json."""

from __future__ import annotations

import sys

from bench import bench_core, bench_qr, bench_trust
from bench.harness import print_table, save


def main() -> int:
    entries = bench_core.run() + bench_qr.run() + bench_trust.run()
    print_table(entries)
    save(entries)
    print("\nwritten to bench/results.json")
    return 0


if __name__ == "__main__":
    sys.exit(main())
