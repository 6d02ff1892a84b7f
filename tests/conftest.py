"""Shared test fixtures: where the external vectors live, and a fixed clock."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from hypothesis import settings

# Property tests assert behaviour, never time: no per-example deadline on a loaded machine.
settings.register_profile("ezhengzhao", deadline=None)
settings.load_profile("ezhengzhao")

ROOT = Path(__file__).resolve().parent.parent
SHARED_VECTORS = ROOT.parent / "shared" / "vectors"
PROJECT_VECTORS = ROOT / "test_vectors"


def shared_vectors(*parts: str) -> Path:
    """Path inside ../shared/vectors, or a skip that says the folder is missing."""
    path = SHARED_VECTORS.joinpath(*parts)
    if not path.exists():
        pytest.skip(
            f"external vectors not found at {path} (expected ../shared/vectors beside the repo)"
        )
    return path


@pytest.fixture
def fixed_now() -> datetime:
    return datetime(2026, 6, 1, 8, 0, 0, tzinfo=UTC)


@pytest.fixture(scope="session")
def demo_domain():  # type: ignore[no-untyped-def]
    """The demo trust domain, built once in memory (keys, PKI, seals, samples)."""
    from ezhengzhao.demo import build_demo

    return build_demo()


@pytest.fixture(scope="session")
def demo_dir(tmp_path_factory, demo_domain):  # type: ignore[no-untyped-def]
    """The demo trust domain written to disk, as ``ezz demo init`` writes it."""
    from ezhengzhao.demo import write_demo

    path = tmp_path_factory.mktemp("demo") / "demo"
    write_demo(path, now=demo_domain.created)
    return path
