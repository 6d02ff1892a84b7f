"""Reading a published vector set (test_vectors/<set>/index.json and one folder per vector)."""

from __future__ import annotations

import functools
import json
from pathlib import Path
from typing import Any

import pytest


class VectorSet:
    """Files of one vector set; every missing piece is a test failure that says what to do."""

    def __init__(self, folder: Path, regenerate: str) -> None:
        self.folder_path = folder
        self.index_path = folder / "index.json"
        self.regenerate = regenerate

    @functools.cache  # noqa: B019 - one instance per set, for the whole session
    def index(self) -> dict[str, Any]:
        if not self.index_path.is_file():
            pytest.fail(f"{self.index_path} is missing; {self.regenerate}")
        index: dict[str, Any] = json.loads(self.index_path.read_text(encoding="utf-8"))
        return index

    def ids(self) -> list[Any]:
        """One parameter per vector listed in index.json; one failing parameter if none."""
        if not self.index_path.is_file():
            return [pytest.param("index.json", id="index-missing")]
        return [pytest.param(v["id"], id=v["id"]) for v in self.index()["vectors"]]

    def folder(self, vector_id: str) -> Path:
        folder = self.folder_path / vector_id
        if not folder.is_dir():
            pytest.fail(f"vector {vector_id} is listed in index.json but {folder} is missing")
        return folder

    def read(self, vector_id: str, name: str) -> bytes:
        path = self.folder(vector_id) / name
        if not path.is_file():
            pytest.fail(f"vector {vector_id} has no {name}; {self.regenerate}")
        return path.read_bytes()

    def json(self, vector_id: str, name: str) -> Any:
        return json.loads(self.read(vector_id, name).decode("utf-8"))

    def hex(self, vector_id: str, name: str) -> bytes:
        return bytes.fromhex(self.read(vector_id, name).decode("ascii").strip())
