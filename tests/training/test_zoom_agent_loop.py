"""The real veRL agent loop in the zoom and both tool modes, with a scripted server, on CPU."""

from __future__ import annotations

import itertools
from typing import Any

import pytest

pytest.importorskip("verl")

from tests.training.conftest import HIGH_RES_SIZE, gradient_image
from tests.training.loop_harness import ANSWER_TURN, RESIZE_TURN, make_loop, run_loop, turn_ids
from tests.training.zoom_harness import (
    BOX_1,
    BOX_2,
    PIXEL_BOX_1,
    PIXEL_BOX_2,
    dataset_rows,
    mode_config,
    mode_tools,
    run_mode,
    zoom_turn,
)
from training.settings import ConfigError
from visionthink_agent import protocol
from visionthink_agent.images import QWEN2_5_VL, load_image, visual_tokens

pytestmark = pytest.mark.verl

FIRST_LOOK_SIZE = (HIGH_RES_SIZE[0] // 2, HIGH_RES_SIZE[1] // 2)
ZOOM_1, ZOOM_2 = zoom_turn(BOX_1), zoom_turn(BOX_2, "Now the other corner.")


def _spans(output: Any) -> list[tuple[int, list[int]]]:
    """The response cut where its mask changes: (mask value, token ids) per span."""
    spans, start = [], 0
    for value, group in itertools.groupby(output.response_mask):
        length = len(list(group))
        spans.append((value, output.response_ids[start : start + length]))
        start += length
    return spans


def _render(processor: Any, messages: list[dict[str, Any]], images: list[Any]) -> list[int]:
    text = processor.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)
    return processor(text=[text], images=images, return_tensors="pt")["input_ids"][0].tolist()


def _content(parts: list[protocol.Part], image: Any = None) -> list[dict[str, Any]]:
    return [
        {"type": "image", "image": image} if p is protocol.IMAGE else {"type": "text", "text": p}
        for p in parts
    ]


def _processor_tokens(processor: Any, image: Any) -> int:
    """Visual tokens the HF processor gives ``image`` (patch grid / 2x2 merge)."""
    grid = processor.image_processor(images=[image], return_tensors="pt")["image_grid_thw"][0]
    merge = processor.image_processor.merge_size
    return int(grid.prod()) // (merge * merge)


async def test_two_zooms_then_an_answer_tokens_images_and_mask(zoom_setups, tokenizer, processor):
    row, output, server = await run_mode(
        zoom_setups, "zoom", tokenizer, processor, [ZOOM_1, ZOOM_2, ANSWER_TURN]
    )
    assert [n for _, n in server.calls] == [1, 2, 3]  # each turn sees every image so far
    images = output.multi_modal_data["images"]
    assert len(images) == 3
    assert images[0].size == FIRST_LOOK_SIZE

    # The crops are the regions of the ORIGINAL (not of the first look), as the processor sees
    # them; their token counts agree three ways: core arithmetic, HF processor, the loop's ids.
    original = load_image(gradient_image())
    crops = [original.zoom(box) for box in (PIXEL_BOX_1, PIXEL_BOX_2)]
    assert [crop.size for crop in crops] == [(100, 80), (112, 112)]
    expected_tokens = [visual_tokens(*crop.size, geometry=QWEN2_5_VL) for crop in crops]
    assert expected_tokens == [12, 16]
    assert [_processor_tokens(processor, image) for image in images[1:]] == expected_tokens
    assert [_processor_tokens(processor, crop) for crop in crops] == expected_tokens
    assert (output.extra_fields["zoom_calls"], output.extra_fields["zoom_views"]) == (2, 2)
    assert output.extra_fields["zoom_tokens"] == sum(expected_tokens)
    assert output.extra_fields["resize_calls"] == 0
    assert output.extra_fields["tool_error"] is None
    assert output.extra_fields["tool_mode"] == "zoom"

    # The whole sequence is the chat template over the protocol's turns: the zoom system
    # prompt, the first look, each zoom turn answered by the zoom success turn with its crop.
    question = row["extra_info"]["question"]
    messages = [
        {"role": "system", "content": protocol.system_prompt("zoom")},
        {"role": "user", "content": _content(protocol.user_turn(question), images[0])},
        {"role": "assistant", "content": ZOOM_1},
        {"role": "user", "content": _content(protocol.zoom_success_turn(), images[1])},
        {"role": "assistant", "content": ZOOM_2},
        {"role": "user", "content": _content(protocol.zoom_success_turn(), images[2])},
    ]
    expected = _render(processor, messages, images) + turn_ids(tokenizer, ANSWER_TURN)
    assert output.prompt_ids + output.response_ids == expected

    # The loss sees the three generated turns only; both tool turns (crop tokens too) are 0.
    spans = _spans(output)
    assert [value for value, _ in spans] == [1, 0, 1, 0, 1]
    turns = [turn_ids(tokenizer, text) for text in (ZOOM_1, ZOOM_2, ANSWER_TURN)]
    assert [ids for value, ids in spans if value == 1] == turns
    tool_turns = [ids for value, ids in spans if value == 0]
    assert [ids.count(processor.image_token_id) for ids in tool_turns] == expected_tokens
    for ids in tool_turns:
        text = tokenizer.decode(ids)
        assert protocol.ZOOM_SUCCESS_PREFIX in text
        assert protocol.ZOOM_FOLLOWUP_PROMPT in text


async def test_a_bad_box_gets_the_error_turn_and_the_loop_goes_on(
    zoom_setups, tokenizer, processor
):
    bad = zoom_turn([60, 20, 10, 45])  # inverted corners
    _, output, server = await run_mode(
        zoom_setups, "zoom", tokenizer, processor, [bad, ZOOM_1, ANSWER_TURN]
    )
    assert len(server.calls) == 3
    assert len(output.multi_modal_data["images"]) == 2  # the first look and one crop
    error = (
        "bbox_2d [60, 20, 10, 45] has inverted corners: it must be [x1, y1, x2, y2] "
        "with x1 < x2 and y1 < y2"
    )
    assert output.extra_fields["tool_error"] == error
    assert (output.extra_fields["zoom_calls"], output.extra_fields["zoom_views"]) == (2, 1)
    assert output.extra_fields["zoom_tokens"] == 12
    text = tokenizer.decode(output.response_ids)
    assert protocol.render_parts(protocol.tool_error_turn(error)) in text
    assert text.count(protocol.ZOOM_FOLLOWUP_PROMPT) == 1
    assert [v for v, _ in _spans(output)] == [1, 0, 1, 0, 1]


async def test_a_box_outside_the_image_and_a_resize_are_error_turns_in_zoom_mode(
    zoom_setups, tokenizer, processor
):
    outside = zoom_turn([200, 10, 300, 50])  # the first look is 112 px wide
    _, output, _ = await run_mode(
        zoom_setups, "zoom", tokenizer, processor, [outside, RESIZE_TURN, ANSWER_TURN]
    )
    text = tokenizer.decode(output.response_ids)
    assert "bbox_2d [200, 10, 300, 50] lies outside the image, which is 112x84 pixels" in text
    unknown = "Unknown function 'resize_image'. Available function tools are: `image_zoom_in_tool`"
    assert output.extra_fields["tool_error"] == unknown
    assert (output.extra_fields["zoom_calls"], output.extra_fields["resize_calls"]) == (1, 0)
    assert output.extra_fields["zoom_views"] == 0
    assert len(output.multi_modal_data["images"]) == 1


async def test_a_zoom_in_the_last_turn_is_not_run(zoom_setups, tokenizer, processor):
    _, output, server = await run_mode(
        zoom_setups, "zoom", tokenizer, processor, [ZOOM_1, ZOOM_2, ZOOM_1, ANSWER_TURN]
    )
    assert len(server.calls) == 3  # max_assistant_turns = 3 ends the trajectory
    assert output.extra_fields["zoom_calls"] == 2
    assert len(output.multi_modal_data["images"]) == 3


async def test_both_mode_a_third_zoom_gets_the_error_turn(zoom_setups, tokenizer, processor):
    _, output, server = await run_mode(
        zoom_setups, "both", tokenizer, processor, [ZOOM_1, ZOOM_2, ZOOM_1, ANSWER_TURN]
    )
    assert len(server.calls) == 4
    too_many = (
        "You already zoomed in 2 times for this question, the limit; "
        "the regions are shown above, use them to answer"
    )
    assert output.extra_fields["tool_error"] == too_many
    assert (output.extra_fields["zoom_calls"], output.extra_fields["zoom_views"]) == (3, 2)
    assert output.extra_fields["zoom_tokens"] == 12 + 16
    assert len(output.multi_modal_data["images"]) == 3
    assert [v for v, _ in _spans(output)] == [1, 0, 1, 0, 1, 0, 1]
    text = tokenizer.decode(output.response_ids)
    assert protocol.render_parts(protocol.tool_error_turn(too_many)) in text


async def test_both_mode_resize_and_zoom_get_their_own_success_turns(
    zoom_setups, tokenizer, processor
):
    row, output, _ = await run_mode(
        zoom_setups, "both", tokenizer, processor, [RESIZE_TURN, ZOOM_2, ANSWER_TURN]
    )
    images = output.multi_modal_data["images"]
    assert [image.size for image in images] == [FIRST_LOOK_SIZE, HIGH_RES_SIZE, (112, 112)]
    assert (output.extra_fields["resize_calls"], output.extra_fields["zoom_calls"]) == (1, 1)
    assert output.extra_fields["zoom_tokens"] == 16  # the resize's tokens are not a region's
    question = row["extra_info"]["question"]
    messages = [
        {"role": "system", "content": protocol.system_prompt("both")},
        {"role": "user", "content": _content(protocol.user_turn(question), images[0])},
        {"role": "assistant", "content": RESIZE_TURN},
        {"role": "user", "content": _content(protocol.tool_success_turn(), images[1])},
        {"role": "assistant", "content": ZOOM_2},
        {"role": "user", "content": _content(protocol.zoom_success_turn(), images[2])},
    ]
    expected = _render(processor, messages, images) + turn_ids(tokenizer, ANSWER_TURN)
    assert output.prompt_ids + output.response_ids == expected


async def test_relative_boxes_follow_visionthink_boxes(
    tmp_path, jsonl_source, tiny_checkpoint, tokenizer, processor
):
    from training.data import convert

    parquet = tmp_path / "rel.parquet"
    convert(jsonl_source, parquet, progress=False, tool_mode="zoom", boxes="relative_1000")
    config = mode_config("zoom", tiny_checkpoint, parquet, ["visionthink.boxes=relative_1000"])
    row = dataset_rows(config, tokenizer, processor, parquet)()
    # [500, 500, 1000, 1000] of 0-1000 is the original's bottom-right quarter: 112x84 px.
    output, _ = await run_loop(
        config, tokenizer, processor, row, [zoom_turn([500, 500, 1000, 1000]), ANSWER_TURN],
        tools=mode_tools("zoom"),
    )  # fmt: skip
    crop = load_image(gradient_image()).zoom((112, 84, 224, 168))
    assert output.multi_modal_data["images"][1].tobytes() == crop.tobytes()


def test_the_loop_refuses_tools_or_limits_of_another_mode(zoom_setups, tokenizer, processor):
    config, _ = zoom_setups["zoom"]
    with pytest.raises(ConfigError, match=r"tool_config_path registers \['resize_image'\]"):
        make_loop(config, tokenizer, processor, server=None)
    both_config, _ = zoom_setups["both"]
    with pytest.raises(ConfigError, match=r"needs \['image_zoom_in_tool', 'resize_image'\]"):
        make_loop(both_config, tokenizer, processor, None, mode_tools("zoom"))


async def test_the_loop_refuses_a_row_of_another_mode(
    zoom_setups, tokenizer, processor, dataset_row
):
    config, _ = zoom_setups["zoom"]
    resize_row = dataset_row()  # converted for the resize mode
    with pytest.raises(ConfigError, match=r"^row 0 holds the system prompt of tool_mode=resize"):
        await run_loop(config, tokenizer, processor, resize_row, [ANSWER_TURN], mode_tools("zoom"))
