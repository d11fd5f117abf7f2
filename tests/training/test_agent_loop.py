"""The real veRL agent loop (our subclass of ToolAgentLoop) with a scripted server, on CPU."""

from __future__ import annotations

from typing import Any

import pytest

pytest.importorskip("verl")

from tests.training.conftest import HIGH_RES_SIZE
from tests.training.loop_harness import ANSWER_TURN, RESIZE_TURN, run_loop, turn_ids
from visionthink_agent import protocol

pytestmark = pytest.mark.verl

FIRST_LOOK_SIZE = (HIGH_RES_SIZE[0] // 2, HIGH_RES_SIZE[1] // 2)


def _render(processor: Any, messages: list[dict[str, Any]], images: list[Any]) -> list[int]:
    """Token ids of a whole conversation rendered by the processor's chat template."""
    text = processor.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)
    return processor(text=[text], images=images, return_tensors="pt")["input_ids"][0].tolist()


def _content(parts: list[protocol.Part], image: Any) -> list[dict[str, Any]]:
    return [
        {"type": "image", "image": image} if p is protocol.IMAGE else {"type": "text", "text": p}
        for p in parts
    ]


async def test_resize_trajectory_tokens_images_and_mask(
    loop_config, tokenizer, processor, dataset_row
):
    row = dataset_row()
    output, server = await run_loop(
        loop_config, tokenizer, processor, row, [RESIZE_TURN, ANSWER_TURN]
    )
    images = output.multi_modal_data["images"]
    assert [image.size for image in images] == [FIRST_LOOK_SIZE, HIGH_RES_SIZE]
    assert [n for _, n in server.calls] == [1, 2]  # the second turn is generated with both images
    assert output.extra_fields["resize_calls"] == 1
    assert output.extra_fields["tool_error"] is None

    # Expected: the chat template over system, user(first look), assistant, user tool turn
    # (high-res image), then the second model turn's tokens.
    question = row["extra_info"]["question"]
    messages = [
        {"role": "system", "content": protocol.SYSTEM_PROMPT},
        {"role": "user", "content": _content(protocol.user_turn(question), images[0])},
        {"role": "assistant", "content": RESIZE_TURN},
        {"role": "user", "content": _content(protocol.tool_success_turn(), images[1])},
    ]
    expected = _render(processor, messages, images) + turn_ids(tokenizer, ANSWER_TURN)
    assert output.prompt_ids + output.response_ids == expected

    # The loss sees exactly the two generated turns; the tool turn (image tokens too) is masked.
    first, second = (turn_ids(tokenizer, t) for t in (RESIZE_TURN, ANSWER_TURN))
    mask = output.response_mask
    assert mask[: len(first)] == [1] * len(first)
    assert mask[len(mask) - len(second) :] == [1] * len(second)
    tool_span = mask[len(first) : len(mask) - len(second)]
    assert tool_span
    assert set(tool_span) == {0}
    tool_ids = output.response_ids[len(first) : len(mask) - len(second)]
    image_pad = tokenizer.convert_tokens_to_ids("<|image_pad|>")
    assert tool_ids.count(image_pad) == HIGH_RES_SIZE[0] * HIGH_RES_SIZE[1] // 784


async def test_direct_answer_is_one_turn(loop_config, tokenizer, processor, dataset_row):
    output, server = await run_loop(loop_config, tokenizer, processor, dataset_row(), [ANSWER_TURN])
    assert len(server.calls) == 1
    assert len(output.multi_modal_data["images"]) == 1
    assert output.response_ids == turn_ids(tokenizer, ANSWER_TURN)
    assert set(output.response_mask) == {1}
    assert output.extra_fields["resize_calls"] == 0


async def test_bad_call_gets_the_error_turn_and_a_second_turn(
    loop_config, tokenizer, processor, dataset_row
):
    call = '{"name": "resize_image", "arguments": {"action": "zoom"}}'
    bad = f"<think>hmm</think><tool_call>{call}</tool_call>"
    output, server = await run_loop(
        loop_config, tokenizer, processor, dataset_row(), [bad, ANSWER_TURN]
    )
    assert len(server.calls) == 2
    assert len(output.multi_modal_data["images"]) == 1  # no image on the error turn
    assert output.extra_fields["resize_calls"] == 0  # the tool was never run
    error = "Unknown Tool Type: zoom. Available function tools are: `resize`"
    assert output.extra_fields["tool_error"] == error
    text = tokenizer.decode(output.response_ids)
    assert protocol.render_parts(protocol.tool_error_turn(error)) in text
    assert "<|im_start|>tool" not in text


async def test_a_call_in_the_last_turn_is_not_run(loop_config, tokenizer, processor, dataset_row):
    output, server = await run_loop(
        loop_config, tokenizer, processor, dataset_row(), [RESIZE_TURN, RESIZE_TURN]
    )
    assert len(server.calls) == 2  # max_assistant_turns = 2 ends the trajectory
    assert output.extra_fields["resize_calls"] == 1
    assert len(output.multi_modal_data["images"]) == 2
