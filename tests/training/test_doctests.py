"""The docstring examples of the training modules run (pytest collects doctests only under
``visionthink_agent/``)."""

from __future__ import annotations

import doctest
import importlib

import pytest

pytest.importorskip("verl")

pytestmark = pytest.mark.verl

MODULES = [
    "training.agent_loop",
    "training.cpu.device_module",
    "training.cpu.engine",
    "training.cpu.platform",
    "training.cpu.plugin",
    "training.cpu.prefix_cache",
    "training.cpu.rollout_replica",
    "training.cpu.rollout_server",
    "training.cpu.turn_generation",
    "training.cpu.worker",
    "training.data",
    "training.data_sources",
    "training.demo.__main__",
    "training.demo.config",
    "training.demo.curves",
    "training.demo.grpo_stage",
    "training.demo.recipe",
    "training.demo.sft",
    "training.demo.sft_batches",
    "training.demo.sft_validation",
    "training.demo.trajectories",
    "training.group_penalty",
    "training.image_tool",
    "training.main_ppo",
    "training.mrope_position_ids",
    "training.names",
    "training.resize_tool",
    "training.reward",
    "training.settings",
    "training.step_log",
    "training.task_runner",
    "training.trainer",
    "training.zoom_tool",
]


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # examples must not depend on the working directory
    result = doctest.testmod(importlib.import_module(name), optionflags=doctest.ELLIPSIS)
    assert result.attempted > 0
    assert result.failed == 0
