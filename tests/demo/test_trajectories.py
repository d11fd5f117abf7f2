"""The supervised trajectories are byte for byte what the agent and the baselines show a model."""

from __future__ import annotations

import asyncio
import base64
import io

import numpy as np
import pytest

from tests.graph.conftest import scripted
from training.demo.trajectories import RESIZE_CALL, first_look_box, render_trajectory
from visionthink_agent.backends.transformers_chat import to_qwen_messages
from visionthink_agent.evaluation.modes import run_single_look, run_visionthink_sync
from visionthink_agent.graph import create_visionthink_agent
from visionthink_agent.images import load_image
from visionthink_agent.parsing import check_format, parse_tool_call
from visionthink_agent.synthetic import make_synthetic_samples

SAMPLES = make_synthetic_samples(2, preset="demo", split="train")  # a fine one, a coarse one


def _same_pixels(a: list, b: list) -> bool:
    return len(a) == len(b) and all(
        np.array_equal(np.asarray(x.convert("RGB")), np.asarray(y))
        for x, y in zip(a, b, strict=True)
    )


@pytest.mark.parametrize("resize", [None, True, False], ids=["default", "resize", "direct"])
@pytest.mark.parametrize("sample", SAMPLES, ids=lambda s: s.category)
def test_visionthink_trajectory_is_the_agent_conversation(sample, resize) -> None:
    trajectory = render_trajectory(sample, "visionthink", resize=resize)
    resized = sample.needs_high_res if resize is None else resize
    assert trajectory.resized is resized
    replies = [m["content"] for m in trajectory.messages if m["role"] == "assistant"]
    model = scripted(*replies)
    agent = create_visionthink_agent(model).compile()
    outcome = run_visionthink_sync(agent, load_image(sample.image), sample.question)
    assert (outcome.prediction, outcome.resized) == (sample.answer, resized)
    assert check_format(replies).ok
    shown, images = to_qwen_messages(model.seen[-1])
    assert [*shown, {"role": "assistant", "content": replies[-1]}] == trajectory.messages
    assert _same_pixels(images, trajectory.images)


def test_the_resize_call_parses_as_one_valid_call() -> None:
    parsed = parse_tool_call(RESIZE_CALL)
    assert parsed.ok, parsed


@pytest.mark.parametrize("view", ["full", "low"])
@pytest.mark.parametrize("sample", SAMPLES, ids=lambda s: s.category)
def test_one_look_trajectory_is_the_baseline_conversation(sample, view) -> None:
    trajectory = render_trajectory(sample, view)
    model = scripted(trajectory.messages[-1]["content"])
    outcome = asyncio.run(run_single_look(model, load_image(sample.image), sample.question, view))
    assert outcome.prediction == sample.answer
    shown, images = to_qwen_messages(model.seen[-1])
    assert [*shown, trajectory.messages[-1]] == trajectory.messages
    assert _same_pixels(images, trajectory.images)


def test_unknown_format_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown trajectory format 'half'"):
        render_trajectory(SAMPLES[0], "half")  # type: ignore[arg-type]


@pytest.mark.parametrize("sample", SAMPLES, ids=lambda s: s.category)
def test_zoom_trajectory_is_the_zoom_agent_conversation(sample) -> None:
    trajectory = render_trajectory(sample, "visionthink", resize=True, tool_mode="zoom")
    replies = [m["content"] for m in trajectory.messages if m["role"] == "assistant"]
    call = parse_tool_call(replies[0], mode="zoom").call
    assert call is not None
    assert call.arguments["bbox_2d"] == first_look_box(sample)
    model = scripted(*replies)
    agent = create_visionthink_agent(model, tool_mode="zoom").compile()
    result = agent.invoke(
        {
            "messages": [
                {
                    "role": "user",
                    "content": [
                        {"type": "text", "text": sample.question},
                        {"type": "image", "base64": _png(sample.image), "mime_type": "image/png"},
                    ],
                }
            ]
        }
    )
    assert result["answer"] == sample.answer
    shown, images = to_qwen_messages(model.seen[-1])
    assert [*shown, {"role": "assistant", "content": replies[-1]}] == trajectory.messages
    assert _same_pixels(images, trajectory.images)
    if sample.target_box is not None:  # the crop holds the whole label, at full resolution
        left, top, right, bottom = sample.target_box
        assert images[1].size == (right - left, bottom - top)


def _png(image) -> str:
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return base64.b64encode(buffer.getvalue()).decode()
