"""``python -m bench`` (``make bench``): run the benchmarks, print the table, write results.json."""

from __future__ import annotations

import argparse
import inspect
import sys

from bench import bench_core, bench_qr, bench_service, bench_trust
from bench.harness import Entry, print_table, save


def _entries(only: str | None) -> list[Entry]:
    """Every entry, or only the one named (``--only NAME``) when a benchmark function has it."""
    modules = (bench_core, bench_qr, bench_trust, bench_service)
    if only is None:
        return [e for module in modules for e in module.run()]
    for module in modules:
        func = getattr(module, only, None)
        if callable(func) and not inspect.signature(func).parameters:
            return [e for e in func() if e.name == only]
    # An entry computed inside a module's run() (it needs shared setup): run all, keep one.
    return [e for e in _entries(None) if e.name == only]


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m bench")
    parser.add_argument("--only", metavar="NAME", help="run only the entry NAME")
    entries = _entries(parser.parse_args().only)
    print_table(entries)
    save(entries)
    print("\nwritten to bench/results.json")
    return 0


if __name__ == "__main__":
    sys.exit(main())
