"""Timing and reporting shared by the benchmarks.

Each figure is a rate (operations per second) taken as the best of several interleaved rounds,
so that ours and the baseline see the same machine load; ratios are ours ÷ baseline.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

RESULTS = Path(__file__).resolve().parent / "results.json"


@dataclass(frozen=True, slots=True)
class Entry:
    name: str
    value: float
    unit: str
    baseline: float
    ratio: float
    note: str = ""


# How many distinct licences the verification benchmarks cycle through: more than any cache of
# per-value checks holds (codes.py keeps 1,024 identifiers and USCCs), so each licence's own
# holder code and identifier are checked afresh, as at a window that sees each licence once.
DISTINCT_LICENCES = 1500


def rate(func: Callable[[], object], *, seconds: float = 0.2) -> float:
    """Calls per second of ``func`` over about ``seconds`` (calibrated batch)."""
    batch = 1
    while True:
        start = time.perf_counter()
        for _ in range(batch):
            func()
        elapsed = time.perf_counter() - start
        if elapsed >= seconds / 4 or batch > 1 << 20:
            break
        batch *= 2
    total = 0
    start = time.perf_counter()
    while time.perf_counter() - start < seconds:
        for _ in range(batch):
            func()
        total += batch
    return total / (time.perf_counter() - start)


def compare(
    ours: Callable[[], object],
    baseline: Callable[[], object],
    *,
    rounds: int = 5,
    seconds: float = 0.2,
) -> tuple[float, float]:
    """Best rate of each over interleaved rounds."""
    best_ours = best_base = 0.0
    for _ in range(rounds):
        best_base = max(best_base, rate(baseline, seconds=seconds))
        best_ours = max(best_ours, rate(ours, seconds=seconds))
    return best_ours, best_base


def entry(name: str, ours: float, baseline: float, unit: str = "ops/s", note: str = "") -> Entry:
    return Entry(name, round(ours, 1), unit, round(baseline, 1), round(ours / baseline, 3), note)


def save(entries: list[Entry], path: Path = RESULTS) -> None:
    """Merge entries into results.json by name (other benchmarks keep theirs)."""
    existing: list[dict[str, object]] = []
    if path.exists():
        try:
            loaded = json.loads(path.read_text())
            existing = loaded if isinstance(loaded, list) else []
        except json.JSONDecodeError:
            existing = []
    names = {e.name for e in entries}
    merged = [e for e in existing if e.get("name") not in names] + [asdict(e) for e in entries]
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(merged, ensure_ascii=False, indent=2) + "\n")
    tmp.replace(path)


def print_table(entries: list[Entry]) -> None:
    print(f"{'name':<28} {'ours':>12} {'baseline':>12} {'unit':<8} {'ratio':>7}  note")
    for e in entries:
        row = f"{e.name:<28} {e.value:>12.1f} {e.baseline:>12.1f} {e.unit:<8} {e.ratio:>7.3f}"
        print(f"{row}  {e.note}")
