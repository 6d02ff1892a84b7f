"""Writing a published vector set: check every verdict, then write folders and index.json.

Shared by make_seal_vectors.py and make_qr_vectors.py.
"""

from __future__ import annotations

import json
import shutil
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Protocol, TypeVar


class Declared(Protocol):
    """What a vector declares about itself."""

    @property
    def id(self) -> str: ...
    @property
    def description(self) -> str: ...
    @property
    def expected_status(self) -> str: ...
    @property
    def expected_reasons(self) -> tuple[str, ...]: ...
    @property
    def expected_warnings(self) -> tuple[str, ...]: ...


class Verdict(Protocol):
    @property
    def reasons(self) -> tuple[str, ...]: ...
    @property
    def warnings(self) -> tuple[str, ...]: ...


V = TypeVar("V", bound=Declared)
R = TypeVar("R")


def to_json(value: object) -> bytes:
    return json.dumps(value, ensure_ascii=False, indent=2).encode() + b"\n"


def publish(
    vectors: Sequence[V],
    *,
    verify: Callable[[V], R],
    files_of: Callable[[V, R], dict[str, bytes]],
    out: Path,
    prefix: str,
    index_format: str,
    description: str,
    repo: Path,
) -> int:
    """Verify every vector; write them all only when each verdict is the declared one."""
    written: list[tuple[V, dict[str, bytes]]] = []
    wrong = []
    for vector in vectors:
        result = verify(vector)
        got = (result.status.value, result.reasons, result.warnings)  # type: ignore[attr-defined]
        want = (vector.expected_status, vector.expected_reasons, vector.expected_warnings)
        if got != want:
            wrong.append(f"{vector.id}: declared {want}, the verifier says {got}")
        written.append((vector, files_of(vector, result)))
    if wrong:
        # Vectors publish a verdict: a surprise is for a person to judge, not to record.
        print("not written, verdicts differ:\n  " + "\n  ".join(wrong), file=sys.stderr)
        return 1

    out.mkdir(parents=True, exist_ok=True)
    for old in out.iterdir():
        if old.is_dir() and old.name.startswith(prefix):
            shutil.rmtree(old)
    index = []
    total = 0
    for vector, files in written:
        folder = out / vector.id
        folder.mkdir()
        for name, data in files.items():
            (folder / name).write_bytes(data)
            total += len(data)
        index.append({"id": vector.id, "description": vector.description, "files": list(files)})
    (out / "index.json").write_bytes(
        to_json({"format": index_format, "description": description, "vectors": index})
    )
    width = max(len(v.id) for v, _ in written) + 2
    for vector, _ in written:
        reasons = ", ".join(vector.expected_reasons + vector.expected_warnings) or "-"
        print(f"{vector.id:{width}} {vector.expected_status:8} {reasons}")
    print(f"{len(written)} vectors, {total // 1024} KiB, in {out.relative_to(repo)}")
    return 0
