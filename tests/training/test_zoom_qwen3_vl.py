"""Zoom mode on the second family: the real veRL agent loop on a tiny Qwen3-VL (0-1000 boxes,
32-px tokens), and token parity with the LangGraph conversation rendered by its processor."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("verl")
pytest.importorskip("langgraph")

from tests.training.conftest import gradient_image
from tests.training.loop_harness import ANSWER_TURN, run_loop, turn_ids
from tests.training.test_zoom_agent_loop import _processor_tokens, _spans
from tests.training.test_zoom_parity import _graph_ids, _loop_ids
from tests.training.zoom_harness import dataset_rows, mode_config, mode_tools, zoom_turn
from visionthink_agent import protocol
from visionthink_agent.backends.qwen.tiny import write_tiny_checkpoint
from visionthink_agent.images import QWEN3_VL, load_image, smart_resize, visual_tokens

pytestmark = pytest.mark.verl

BOXES = ([500, 500, 1000, 1000], [0, 0, 333, 250.5])
TURNS = [zoom_turn(list(BOXES[0])), zoom_turn(list(BOXES[1]), "Now the other corner.")]


@pytest.fixture(scope="module")
def qwen3(tmp_path_factory: pytest.TempPathFactory, jsonl_source: Path) -> dict[str, Any]:
    from transformers import AutoProcessor, AutoTokenizer

    from training.data import convert

    root = tmp_path_factory.mktemp("qwen3")
    checkpoint = write_tiny_checkpoint(root / "tiny-qwen3-vl", family="qwen3_vl")
    tokenizer = AutoTokenizer.from_pretrained(checkpoint)
    processor = AutoProcessor.from_pretrained(checkpoint)
    parquet = root / "zoom.parquet"
    convert(jsonl_source, parquet, progress=False, tool_mode="zoom", boxes="relative_1000")
    config = mode_config("zoom", checkpoint, parquet, ["visionthink.boxes=relative_1000"])
    rows = dataset_rows(config, tokenizer, processor, parquet)
    return {"config": config, "tokenizer": tokenizer, "processor": processor, "rows": rows}


async def _run(qwen3: dict[str, Any]) -> tuple[dict[str, Any], Any]:
    row = qwen3["rows"]()
    output, _ = await run_loop(
        qwen3["config"],
        qwen3["tokenizer"],
        qwen3["processor"],
        row,
        [*TURNS, ANSWER_TURN],
        tools=mode_tools("zoom"),
    )
    return row, output


async def test_two_zooms_are_masked_and_counted_in_qwen3_vl_tokens(qwen3) -> None:
    _, output = await _run(qwen3)
    tokenizer, processor = qwen3["tokenizer"], qwen3["processor"]
    images = output.multi_modal_data["images"]
    assert len(images) == 3
    original = load_image(gradient_image())
    boxes = [original.zoom_box(b, boxes="relative_1000") for b in BOXES]
    assert boxes == [(112, 84, 224, 168), (0, 0, 75, 43)]
    crops = [original.zoom(box) for box in boxes]
    expected = [visual_tokens(*crop.size, geometry=QWEN3_VL) for crop in crops]
    # veRL resizes each image itself (qwen_vl_utils); within the processor's limits it lands on
    # the size the processor would pick, so the model sees what an inference server shows it.
    shown = [smart_resize(c.height, c.width, factor=32, min_pixels=65536) for c in crops]
    assert [image.size for image in images[1:]] == [(w, h) for h, w in shown]
    assert images[0].size == (320, 224)  # the 112x84 first look, lifted as the processor lifts it
    assert [_processor_tokens(processor, image) for image in images[1:]] == expected
    assert output.extra_fields["zoom_tokens"] == sum(expected)
    spans = _spans(output)
    assert [value for value, _ in spans] == [1, 0, 1, 0, 1]
    generated = [turn_ids(tokenizer, text) for text in (*TURNS, ANSWER_TURN)]
    assert [ids for value, ids in spans if value == 1] == generated
    tool_turns = [ids for value, ids in spans if value == 0]
    assert [ids.count(processor.image_token_id) for ids in tool_turns] == expected
    assert all(protocol.ZOOM_SUCCESS_PREFIX in tokenizer.decode(ids) for ids in tool_turns)


async def test_graph_and_agent_loop_render_the_same_qwen3_vl_tokens(qwen3) -> None:
    row, output = await _run(qwen3)
    question = row["extra_info"]["question"]
    graph_ids = _graph_ids(
        qwen3["processor"], question, TURNS, tool_mode="zoom", boxes="relative_1000"
    )
    assert graph_ids == _loop_ids(output, qwen3["tokenizer"])
