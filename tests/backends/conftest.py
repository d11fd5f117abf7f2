"""Fixtures for the backend tests: tiny Qwen2.5-VL and Qwen3-VL checkpoints, one per session."""

from __future__ import annotations

from pathlib import Path

import pytest

from visionthink_agent.backends.qwen.tiny import write_tiny_checkpoint


@pytest.fixture(scope="session")
def tiny_checkpoint(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny random-weight checkpoint written once for the whole session."""
    return write_tiny_checkpoint(tmp_path_factory.mktemp("models") / "tiny")


@pytest.fixture(scope="session")
def tiny_checkpoint_seed1(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A second tiny checkpoint (other weights), for per-call model overrides."""
    return write_tiny_checkpoint(tmp_path_factory.mktemp("models") / "tiny-seed1", seed=1)


@pytest.fixture(scope="session")
def tiny_qwen3_checkpoint(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny random-weight Qwen3-VL checkpoint written once for the whole session."""
    return write_tiny_checkpoint(tmp_path_factory.mktemp("models") / "tiny3", family="qwen3_vl")
