"""Zoom-mode rows, configs and model turns for the agent-loop tests (tool modes zoom and both)."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from omegaconf import DictConfig
from verl.experimental.agent_loop.agent_loop import AgentLoopOutput

from tests.training.conftest import compose_config
from tests.training.loop_harness import ScriptedServer, run_loop
from training.resize_tool import ResizeImageTool
from training.zoom_tool import ZoomImageTool
from visionthink_agent import protocol

# Boxes in pixels of the first look (112x84 of the 224x168 original): the first maps to the
# original's (20, 20, 120, 100), 100x80 px, which the processor resizes to 112x84 (12 visual
# tokens); the second to (112, 56, 224, 168), 112x112 px (16 visual tokens).
BOX_1 = [10, 10, 60, 50]
BOX_2 = [56, 28, 112, 84]
PIXEL_BOX_1 = (20, 20, 120, 100)
PIXEL_BOX_2 = (112, 56, 224, 168)


def zoom_turn(bbox: list[float], thought: str = "The digits are too small.") -> str:
    """A model turn that zooms in on ``bbox``."""
    call = {"name": protocol.ZOOM_TOOL_NAME, "arguments": {"bbox_2d": bbox, "label": "digits"}}
    return f"<think>{thought}</think>\n<tool_call>\n{json.dumps(call)}\n</tool_call>"


def mode_config(
    mode: str, tiny_checkpoint: Path, parquet: Path, extra: list[str] | None = None
) -> DictConfig:
    """The single-GPU recipe in ``mode`` (the ``tool_mode`` override), on the tiny model."""
    return compose_config(
        "visionthink_single_gpu",
        [
            f"tool_mode={mode}",
            f"data.train_files={parquet}",
            f"data.val_files={parquet}",
            f"actor_rollout_ref.model.path={tiny_checkpoint}",
            "data.max_prompt_length=2048",
            "data.max_response_length=4096",
            "data.filter_overlong_prompts=false",
            *(extra or []),
        ],
    )


def mode_tools(mode: str) -> list[Any]:
    """The tool instances the mode's tool YAML registers."""
    tools: list[Any] = []
    if mode != "zoom":
        tools.append(ResizeImageTool({}, None))
    if mode != "resize":
        tools.append(ZoomImageTool({}, None))
    return tools


def dataset_rows(
    config: DictConfig, tokenizer: Any, processor: Any, parquet: Path
) -> Callable[[], dict[str, Any]]:
    """A factory of fresh copies of the parquet's first row as veRL's RLHFDataset yields it."""
    from verl.utils.dataset.rl_dataset import RLHFDataset

    dataset = RLHFDataset(
        data_files=str(parquet), tokenizer=tokenizer, processor=processor, config=config.data
    )
    return lambda: dataset[0]


async def run_mode(
    setups: dict[str, tuple[DictConfig, Callable[[], dict[str, Any]]]],
    mode: str,
    tokenizer: Any,
    processor: Any,
    texts: list[str],
) -> tuple[dict[str, Any], AgentLoopOutput, ScriptedServer]:
    """Run one trajectory in ``mode`` (the ``zoom_setups`` fixture) whose model says ``texts``."""
    config, rows = setups[mode]
    row = rows()
    output, server = await run_loop(
        config, tokenizer, processor, row, texts, tools=mode_tools(mode)
    )
    return row, output, server
