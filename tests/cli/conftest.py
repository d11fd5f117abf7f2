"""Fixtures for the CLI tests: the tiny checkpoint in a per-session cache directory."""

from __future__ import annotations

from pathlib import Path

import pytest

from visionthink_agent.backends.qwen.tiny import default_tiny_dir, write_tiny_checkpoint

REPO = Path(__file__).resolve().parents[2]
RECEIPT = REPO / "examples" / "images" / "receipt.png"


@pytest.fixture(scope="session")
def tiny_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A VISIONTHINK_CACHE directory already holding the tiny checkpoint."""
    root = tmp_path_factory.mktemp("cache")
    write_tiny_checkpoint(root / default_tiny_dir().name)
    return root


@pytest.fixture
def cache_env(tiny_cache: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Point ``--model tiny`` at the session's checkpoint."""
    monkeypatch.setenv("VISIONTHINK_CACHE", str(tiny_cache))
    return tiny_cache
