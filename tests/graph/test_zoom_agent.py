"""The agent graph with the region zoom tool: tool_mode="zoom" and "both", prompted and native.

The test image is 224x112 (first look 112x56) with a distinct colour at every pixel, so a crop's
pixels show which region of the original it is.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, ToolMessage
from langgraph.checkpoint.memory import InMemorySaver

from tests.graph.conftest import (
    ANSWER,
    RESIZE_CALL,
    decode_block,
    pattern_image,
    render_text,
    scripted,
    v1_block,
    zoom_call,
)
from visionthink_agent import create_visionthink_agent, protocol
from visionthink_agent.graph import native_system_prompt, prompted_conversation
from visionthink_agent.graph.image_store import clear_image_cache
from visionthink_agent.images import QWEN3_VL, crop_size, load_image, visual_tokens

QUESTION = "What is the total?"
BOX = [10, 20, 60, 45]
"""In first-look pixels (112x56); the original region is twice that."""
PIXEL_BOX = (20, 40, 120, 90)
ZOOM_CALL = zoom_call(BOX)


def ask(model: Any, image: bytes, question: str = QUESTION, **options: Any) -> dict[str, Any]:
    graph = create_visionthink_agent(model, **options).compile()
    content = [{"type": "text", "text": question}, v1_block(image)]
    return graph.invoke({"messages": [HumanMessage(content=content)]})


def sent_images(request: list[BaseMessage]) -> list[Any]:
    """The images of a request, decoded, in the order the model sees them."""
    return [
        decode_block(block)
        for message in request
        if not isinstance(message.content, str)
        for block in message.content
        if isinstance(block, dict) and block.get("type") == "image"
    ]


def test_zoom_turn_renders_exactly(pattern_bytes: bytes) -> None:
    model = scripted(ZOOM_CALL, ANSWER)
    result = ask(model, pattern_bytes, tool_mode="zoom")
    first, second = model.seen
    assert second[:2] == first
    assert [m.type for m in second] == ["system", "human", "ai", "human"]
    assert second[0].content == protocol.system_prompt("zoom", "first_look_pixels")
    assert '"name": "image_zoom_in_tool"' in second[0].content
    assert '"name": "resize_image"' not in second[0].content
    assert render_text(second[1]) == protocol.render_parts(protocol.user_turn(QUESTION))
    assert second[2].content == ZOOM_CALL  # the model's raw text, verbatim
    assert render_text(second[3]) == (
        "<tool_response>\nThe zoomed-in region is shown below:\n<image>\n</tool_response>\n"
        + protocol.ZOOM_FOLLOWUP_PROMPT
    )
    assert render_text(second[3]) == protocol.render_parts(protocol.zoom_success_turn())
    first_look, crop = sent_images(second)
    assert first_look.size == (112, 56)
    assert crop.size == crop_size(PIXEL_BOX) == (100, 50)
    assert crop.tobytes() == pattern_image().crop(PIXEL_BOX).tobytes()  # from the original
    # LangGraph's view: a normal tool call, its ToolMessage, then the marked tool turn.
    ai, tool, turn, final = result["messages"][1:]
    assert ai.tool_calls[0]["name"] == "image_zoom_in_tool"
    assert ai.tool_calls[0]["args"]["bbox_2d"] == BOX
    assert isinstance(tool, ToolMessage)
    assert tool.status == "success"
    assert tool.name == "image_zoom_in_tool"
    assert turn.additional_kwargs["visionthink"]["box"] == list(PIXEL_BOX)
    assert isinstance(final, AIMessage)
    assert result["answer"] == "42"
    assert result["status"] == "answered"


def test_graph_sends_what_prompted_conversation_builds_in_zoom_mode(pattern_bytes: bytes) -> None:
    model = scripted(ZOOM_CALL, ANSWER)
    ask(model, pattern_bytes, tool_mode="zoom", boxes="relative_1000")
    expected = prompted_conversation(
        QUESTION, pattern_bytes, [ZOOM_CALL], tool_mode="zoom", boxes="relative_1000"
    )
    assert [(m.type, m.content) for m in model.seen[1]] == [(m.type, m.content) for m in expected]
    # 0-1000 of 224x112: x 10/1000*224 .. 60/1000*224, y 20/1000*112 .. 45/1000*112
    assert sent_images(expected)[1].size == crop_size((2, 2, 14, 6)) == (84, 28)


def test_token_account_counts_the_first_look_and_the_crop_exactly(pattern_bytes: bytes) -> None:
    model = scripted(ZOOM_CALL, ANSWER)
    result = ask(model, pattern_bytes, tool_mode="zoom")
    first_look, crop = sent_images(model.seen[1])
    account = result["visual_tokens"]
    assert account["used"] == visual_tokens(*first_look.size) + visual_tokens(*crop.size)
    assert account["high_res"] == visual_tokens(100, 50)
    expected = load_image(pattern_bytes).token_account(resized=False, zooms=[PIXEL_BOX])
    assert account == expected.as_dict()
    assert result["zooms"] == 1
    assert result["resized"] is False
    assert result["high_res_request"] is True


def test_qwen3_vl_boxes_and_token_arithmetic(pattern_bytes: bytes) -> None:
    relative = zoom_call([500, 0, 1000, 500])  # 0-1000: the top-right quarter
    model = scripted(relative, ANSWER)
    result = ask(model, pattern_bytes, tool_mode="zoom", boxes="relative_1000", geometry=QWEN3_VL)
    first_look, crop = sent_images(model.seen[1])
    assert crop.tobytes() == pattern_image().crop((112, 0, 224, 56)).tobytes()
    account = result["visual_tokens"]
    assert account["used"] == sum(
        visual_tokens(*i.size, geometry=QWEN3_VL) for i in (first_look, crop)
    )
    source = load_image(pattern_bytes)
    expected = source.token_account(resized=False, zooms=[(112, 0, 224, 56)], geometry=QWEN3_VL)
    assert account == expected.as_dict()
    assert account != source.token_account(resized=False, zooms=[(112, 0, 224, 56)]).as_dict()


def test_a_direct_answer_makes_no_high_resolution_request(pattern_bytes: bytes) -> None:
    result = ask(scripted(ANSWER), pattern_bytes, tool_mode="zoom")
    assert (result["zooms"], result["resized"], result["high_res_request"]) == (0, False, False)
    assert (
        result["visual_tokens"] == load_image(pattern_bytes).token_account(resized=False).as_dict()
    )


def test_state_holds_one_copy_of_the_image(pattern_bytes: bytes) -> None:
    result = ask(
        scripted(ZOOM_CALL, zoom_call([0, 0, 50, 50]), ANSWER), pattern_bytes, tool_mode="zoom"
    )
    dumped = json.dumps([m.model_dump() for m in result["messages"]])
    assert dumped.count(v1_block(pattern_bytes)["base64"]) == 1
    zoom_turns = [m for m in result["messages"] if m.additional_kwargs.get("visionthink")]
    assert [m.content[1] for m in zoom_turns] == [
        {
            "type": "image",
            "id": m.additional_kwargs["visionthink"]["image_id"],
            "extras": {"zoom_box": box},
        }
        for m, box in zip(zoom_turns, [[20, 40, 120, 90], [0, 0, 100, 100]], strict=True)
    ]


def test_a_third_zoom_gets_the_error_turn(pattern_bytes: bytes) -> None:
    model = scripted(ZOOM_CALL, zoom_call([0, 0, 50, 50]), zoom_call([50, 0, 100, 50]), ANSWER)
    result = ask(model, pattern_bytes, tool_mode="zoom", max_model_turns=4)
    last = model.seen[3]
    assert [m.type for m in last] == [
        "system",
        "human",
        "ai",
        "human",
        "ai",
        "human",
        "ai",
        "human",
    ]
    error = (
        "You already zoomed in 2 times for this question, the limit; the regions are shown above, "
        "use them to answer"
    )
    assert render_text(last[7]) == protocol.render_parts(protocol.tool_error_turn(error))
    assert len(sent_images(last)) == 3  # the first look and two crops, no third
    assert result["zooms"] == 2
    assert result["messages"][-3].status == "error"
    boxes = [PIXEL_BOX, (0, 0, 100, 100)]
    expected = load_image(pattern_bytes).token_account(resized=False, zooms=boxes)
    assert result["visual_tokens"] == expected.as_dict()


def test_zoom_mode_turn_limit_is_three_model_turns(pattern_bytes: bytes) -> None:
    model = scripted(ZOOM_CALL, ZOOM_CALL, ZOOM_CALL)
    result = ask(model, pattern_bytes, tool_mode="zoom")
    assert len(model.seen) == 3 == protocol.tool_budget("zoom").max_model_turns
    assert result["status"] == "turn_limit"
    assert result["zooms"] == 2


def test_resize_call_in_zoom_mode_is_an_unknown_function(pattern_bytes: bytes) -> None:
    model = scripted(RESIZE_CALL, ANSWER)
    result = ask(model, pattern_bytes, tool_mode="zoom")
    assert (
        "Unknown function 'resize_image'. Available function tools are: `image_zoom_in_tool`"
        in (render_text(model.seen[1][3]))
    )
    assert result["high_res_request"] is False


def test_both_mode_resize_then_zoom(pattern_bytes: bytes) -> None:
    model = scripted(RESIZE_CALL, ZOOM_CALL, ANSWER)
    result = ask(model, pattern_bytes, tool_mode="both")
    last = model.seen[2]
    assert last[0].content == protocol.system_prompt("both", "first_look_pixels")
    assert [m.type for m in last] == ["system", "human", "ai", "human", "ai", "human"]
    assert render_text(last[3]) == protocol.render_parts(protocol.tool_success_turn())
    assert render_text(last[5]) == protocol.render_parts(protocol.zoom_success_turn())
    first_look, full, crop = sent_images(last)
    assert (first_look.size, full.size, crop.size) == ((112, 56), (224, 112), (100, 50))
    assert crop.tobytes() == pattern_image().crop(PIXEL_BOX).tobytes()
    assert (result["resized"], result["zooms"], result["high_res_request"]) == (True, 1, True)
    account = load_image(pattern_bytes).token_account(resized=True, zooms=[PIXEL_BOX])
    assert result["visual_tokens"] == account.as_dict()
    assert result["visual_tokens"]["used"] == sum(
        visual_tokens(*i.size) for i in (first_look, full, crop)
    )


def test_both_mode_a_second_resize_is_an_error_but_zooms_go_on(pattern_bytes: bytes) -> None:
    model = scripted(RESIZE_CALL, RESIZE_CALL, ZOOM_CALL, ANSWER)
    result = ask(model, pattern_bytes, tool_mode="both")
    last = model.seen[3]
    assert len(model.seen) == 4 == protocol.tool_budget("both").max_model_turns
    assert "already resized once" in render_text(last[5])
    assert render_text(last[7]) == protocol.render_parts(protocol.zoom_success_turn())
    assert (result["resized"], result["zooms"], result["status"]) == (True, 1, "answered")


def test_native_zoom_mode_binds_the_zoom_schema(pattern_bytes: bytes) -> None:
    call = {"name": "image_zoom_in_tool", "args": {"bbox_2d": [500, 0, 1000, 500]}, "id": "z1"}
    model = scripted(AIMessage("", tool_calls=[call]), ANSWER)
    result = ask(model, pattern_bytes, mode="native", tool_mode="zoom", boxes="relative_1000")
    assert model.bound_tools == protocol.tool_schemas("zoom", "relative_1000")
    first, second = model.seen
    assert first[0].content == native_system_prompt("zoom")
    assert [m.type for m in second] == ["system", "human", "ai", "tool", "human"]
    crop = sent_images(second)[1]
    assert crop.tobytes() == pattern_image().crop((112, 0, 224, 56)).tobytes()
    assert result["zooms"] == 1
    assert result["visual_tokens"]["high_res"] == visual_tokens(112, 56)


def test_native_both_mode_binds_both_schemas_and_one_call_per_step(pattern_bytes: bytes) -> None:
    calls = [
        {"name": "resize_image", "args": {"action": "resize"}, "id": "r1"},
        {"name": "image_zoom_in_tool", "args": {"bbox_2d": BOX}, "id": "z1"},
    ]
    model = scripted(AIMessage("", tool_calls=calls), ANSWER)
    result = ask(model, pattern_bytes, mode="native", tool_mode="both")
    assert [t["function"]["name"] for t in model.bound_tools] == [
        "resize_image",
        "image_zoom_in_tool",
    ]
    second = model.seen[1]
    assert [m.type for m in second] == ["system", "human", "ai", "tool", "tool", "human"]
    assert "You should only call ONE function tool per step." in render_text(second[5])
    assert result["high_res_request"] is False


def test_native_zoom_image_in_tool_message(pattern_bytes: bytes) -> None:
    call = {"name": "image_zoom_in_tool", "args": {"bbox_2d": BOX}, "id": "z1"}
    model = scripted(AIMessage("", tool_calls=[call]), ANSWER)
    result = ask(model, pattern_bytes, mode="native", tool_mode="zoom", image_in_tool_message=True)
    second = model.seen[1]
    assert [m.type for m in second] == ["system", "human", "ai", "tool"]
    assert sent_images(second)[1].size == (100, 50)
    assert result["zooms"] == 1


def test_follow_up_counts_the_earlier_crop_and_resolves_it_after_a_restart(
    pattern_bytes: bytes,
) -> None:
    red = "<think>t</think><answer>red</answer>"
    model = scripted(ZOOM_CALL, ANSWER, red)
    graph = create_visionthink_agent(model, tool_mode="zoom").compile(checkpointer=InMemorySaver())
    config = {"configurable": {"thread_id": "t"}}
    content = [{"type": "text", "text": QUESTION}, v1_block(pattern_bytes)]
    graph.invoke({"messages": [HumanMessage(content=content)]}, config)
    clear_image_cache()  # as a restart would: the crop is rebuilt from the state's one copy
    second = graph.invoke({"messages": [HumanMessage("And the colour?")]}, config)
    request = model.seen[2]
    assert sent_images(request)[1].tobytes() == pattern_image().crop(PIXEL_BOX).tobytes()
    earlier = load_image(pattern_bytes).token_account(resized=False, zooms=[PIXEL_BOX])
    assert second["visual_tokens"]["history"] == earlier.used
    assert second["visual_tokens"]["used"] == sum(
        visual_tokens(*i.size) for i in sent_images(request)
    )
    assert (second["zooms"], second["high_res_request"]) == (0, False)


def test_zoom_count_is_per_question(pattern_bytes: bytes) -> None:
    model = scripted(ZOOM_CALL, zoom_call([0, 0, 50, 50]), ANSWER, ZOOM_CALL, ANSWER)
    graph = create_visionthink_agent(model, tool_mode="zoom").compile(checkpointer=InMemorySaver())
    config = {"configurable": {"thread_id": "t"}}
    content = [{"type": "text", "text": QUESTION}, v1_block(pattern_bytes)]
    graph.invoke({"messages": [HumanMessage(content=content)]}, config)
    second = graph.invoke({"messages": [HumanMessage("And the date?")]}, config)
    assert render_text(model.seen[4][-1]) == protocol.render_parts(protocol.zoom_success_turn())
    assert second["zooms"] == 1


@pytest.mark.parametrize(
    ("options", "field"),
    [
        ({"tool_mode": "crop"}, "tool_mode"),
        ({"boxes": "pixels"}, "boxes"),
        ({"tool_mode": "zoom", "max_zooms": -1}, "max_zooms"),
    ],
)
def test_tool_options_are_validated(options: dict[str, Any], field: str) -> None:
    with pytest.raises(ValueError, match=field):
        create_visionthink_agent(scripted(ANSWER), **options)
    with pytest.raises(ValueError, match=field):
        prompted_conversation(QUESTION, pattern_image(), [], **options)
