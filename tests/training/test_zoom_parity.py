"""Parity in the zoom tool modes: the LangGraph prompted conversation and the veRL agent loop
show the model the same tokens.

:func:`visionthink_agent.graph.prompted_conversation` replays the model's turns through the
graph's own code (parsing, the zoom / resize replies, the prompted renderer) in the same tool
mode and box convention; that request, as ``ChatOpenAI`` would put it on the wire, is rendered by
the tiny Qwen2.5-VL processor's chat template (what an OpenAI-compatible server does). The agent
loop's token ids before the answer turn must be identical: same system prompt, same first look,
same crops of the original (pixel for pixel), same success and error turns.
"""

from __future__ import annotations

import io

import pytest

pytest.importorskip("verl")
pytest.importorskip("langgraph")

from tests.training.conftest import gradient_image
from tests.training.loop_harness import ANSWER_TURN, RESIZE_TURN, run_loop, turn_ids
from tests.training.test_parity import _render_wire, _wire_messages
from tests.training.zoom_harness import (
    BOX_1,
    BOX_2,
    dataset_rows,
    mode_config,
    mode_tools,
    run_mode,
    zoom_turn,
)
from visionthink_agent.graph import prompted_conversation

pytestmark = pytest.mark.verl

ZOOM_1, ZOOM_2 = zoom_turn(BOX_1), zoom_turn(BOX_2, "Now the other corner.")
BAD_BOX = zoom_turn([60, 20, 10, 45])


def _png() -> bytes:
    buf = io.BytesIO()
    gradient_image().save(buf, "PNG")  # the same picture the dataset rows were built from
    return buf.getvalue()


def _graph_ids(processor, question, turns, **mode) -> list[int]:
    sent = prompted_conversation(question, _png(), turns, **mode)
    return _render_wire(processor, _wire_messages(sent))


def _loop_ids(output, tokenizer) -> list[int]:
    ids = output.prompt_ids + output.response_ids
    return ids[: len(ids) - len(turn_ids(tokenizer, ANSWER_TURN))]


@pytest.mark.parametrize(
    ("mode", "turns", "images"),
    [
        ("zoom", [ZOOM_1, ZOOM_2], 3),  # two regions
        ("zoom", [BAD_BOX, ZOOM_1], 2),  # the box error turn, then a region
        ("both", [RESIZE_TURN, ZOOM_2], 3),  # the whole image, then a region
        ("both", [ZOOM_1, ZOOM_2, ZOOM_1], 3),  # a third zoom: the budget error turn
    ],
)
async def test_graph_and_agent_loop_render_the_same_tokens(
    zoom_setups, tokenizer, processor, mode, turns, images
):
    row, output, _ = await run_mode(zoom_setups, mode, tokenizer, processor, [*turns, ANSWER_TURN])
    assert len(output.multi_modal_data["images"]) == images
    question = row["extra_info"]["question"]
    graph_ids = _graph_ids(processor, question, turns, tool_mode=mode)
    assert graph_ids == _loop_ids(output, tokenizer)


async def test_relative_boxes_render_the_same_tokens(
    tmp_path, jsonl_source, tiny_checkpoint, tokenizer, processor
):
    from training.data import convert

    parquet = tmp_path / "relative.parquet"
    convert(jsonl_source, parquet, progress=False, tool_mode="zoom", boxes="relative_1000")
    config = mode_config("zoom", tiny_checkpoint, parquet, ["visionthink.boxes=relative_1000"])
    row = dataset_rows(config, tokenizer, processor, parquet)()
    turns = [zoom_turn([500, 500, 1000, 1000]), zoom_turn([0, 0, 333, 250.5])]
    output, _ = await run_loop(
        config, tokenizer, processor, row, [*turns, ANSWER_TURN], tools=mode_tools("zoom")
    )
    question = row["extra_info"]["question"]
    graph_ids = _graph_ids(processor, question, turns, tool_mode="zoom", boxes="relative_1000")
    assert graph_ids == _loop_ids(output, tokenizer)
