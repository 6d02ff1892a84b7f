"""The README's Python example runs as written."""

from __future__ import annotations

import re

from tests.conftest import ROOT


def test_readme_example_runs(capsys) -> None:  # type: ignore[no-untyped-def]
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    blocks = re.findall(r"```python\n(.*?)```", text, flags=re.S)
    assert blocks, "the README has no Python example"
    namespace: dict[str, object] = {}
    for block in blocks:  # the blocks build on each other, as a reader runs them
        exec(compile(block, "README.md", "exec"), namespace)
    out = capsys.readouterr().out
    assert "1.2.156.3005.2.11100000MB0143028R002.11310115" in out
    assert "data_hash CheckStatus.PASSED ok" in out or "data_hash PASSED ok" in out
