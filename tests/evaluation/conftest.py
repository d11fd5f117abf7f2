"""Fixtures: the synthetic benchmark written once per session in all three formats."""

from __future__ import annotations

from pathlib import Path

import pytest

from visionthink_agent.evaluation import SyntheticBenchmark, write_synthetic_benchmark


@pytest.fixture(scope="session")
def synthetic(tmp_path_factory: pytest.TempPathFactory) -> SyntheticBenchmark:
    """Eight samples (four fine-detail, four coarse), 448×336 to keep the tests fast."""
    root: Path = tmp_path_factory.mktemp("synthetic")
    return write_synthetic_benchmark(root, n=8, size=(448, 336))
