"""The zoom tool in a plain ToolNode graph (crop boxes for edge cases, errors, the zoom budget),
invoked directly, and ``VisionThinkMiddleware`` in ``create_agent`` with tool_mode="zoom"/"both".
"""

from __future__ import annotations

from typing import Any

import pytest
from langchain.agents import create_agent
from langchain_core.messages import AIMessage, HumanMessage, ToolMessage
from langchain_core.tools import tool
from langchain_core.utils.function_calling import convert_to_openai_tool
from langgraph.graph import START, MessagesState, StateGraph
from langgraph.prebuilt import ToolNode, ToolRuntime, tools_condition

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
from visionthink_agent import VisionThinkMiddleware, create_resize_image_tool, protocol
from visionthink_agent.graph import create_zoom_image_tool, native_system_prompt
from visionthink_agent.images import ensure_min_side, load_image

PIXEL_BOX = (20, 40, 120, 90)


def zoom(bbox: Any, i: int = 1, **extra: Any) -> AIMessage:
    args = {"bbox_2d": bbox, **extra} if bbox is not None else extra
    return AIMessage("", tool_calls=[{"name": "image_zoom_in_tool", "args": args, "id": f"z{i}"}])


def tool_node_graph(model: Any, tools: list[Any]) -> Any:
    bound = model.bind_tools(tools)

    def agent(state: MessagesState) -> dict[str, Any]:
        return {"messages": [bound.invoke(state["messages"])]}

    graph = StateGraph(MessagesState)
    graph.add_node("agent", agent)
    graph.add_node("tools", ToolNode(tools))
    graph.add_edge(START, "agent")
    graph.add_conditional_edges("agent", tools_condition)
    graph.add_edge("tools", "agent")
    return graph.compile()


def question(image: bytes) -> dict[str, Any]:
    return {"messages": [HumanMessage(content=[{"type": "text", "text": "Q"}, v1_block(image)])]}


def expected_crop(box: tuple[int, int, int, int]) -> bytes:
    return ensure_min_side(pattern_image().crop(box)).tobytes()


@pytest.mark.parametrize(
    ("boxes", "bbox", "pixel_box", "size"),
    [
        ("first_look_pixels", [10, 20, 60, 45], (20, 40, 120, 90), (100, 50)),
        ("first_look_pixels", [10.5, 20.25, 60.7, 45.1], (21, 40, 122, 91), (101, 51)),
        ("first_look_pixels", [-10, -10, 30, 30], (0, 0, 60, 60), (60, 60)),  # clipped
        ("first_look_pixels", [100, 40, 150, 80], (200, 80, 224, 112), (28, 37)),  # clipped, ≥28
        ("first_look_pixels", "[10, 20, 60, 45]", (20, 40, 120, 90), (100, 50)),  # JSON text
        ("relative_1000", [500, 0, 1000, 500], (112, 0, 224, 56), (112, 56)),
        ("relative_1000", [-100, 500, 250, 1200], (0, 56, 56, 112), (56, 56)),  # clipped
    ],
)
def test_tool_crops_the_original_at_the_pixel_box(
    pattern_bytes: bytes,
    boxes: protocol.BoxConvention,
    bbox: Any,
    pixel_box: tuple[int, int, int, int],
    size: tuple[int, int],
) -> None:
    model = scripted(zoom(bbox), ANSWER)
    result = tool_node_graph(model, [create_zoom_image_tool(boxes=boxes)]).invoke(
        question(pattern_bytes)
    )
    _, _, tool_message, turn, final = result["messages"]
    assert isinstance(tool_message, ToolMessage)
    assert tool_message.status == "success"
    assert tool_message.tool_call_id == "z1"
    assert render_text(turn) == protocol.render_parts(protocol.zoom_success_turn())
    assert turn.additional_kwargs["visionthink"]["box"] == list(pixel_box)
    crop = decode_block(turn.content[1])  # embedded: any model can read it
    assert crop.size == size
    assert crop.tobytes() == expected_crop(pixel_box)
    assert final.content == ANSWER


@pytest.mark.parametrize(
    ("boxes", "bbox", "extra", "error"),
    [
        (
            "first_look_pixels",
            [120, 0, 200, 50],
            {},
            "bbox_2d [120, 0, 200, 50] lies outside the image, which is 112x56 pixels",
        ),
        (
            "first_look_pixels",
            [-50, -20, 0, 10],
            {},
            "bbox_2d [-50, -20, 0, 10] lies outside the image, which is 112x56 pixels",
        ),
        (
            "relative_1000",
            [1000, 0, 1200, 10],
            {},
            "bbox_2d [1000, 0, 1200, 10] lies outside the 0-1000 range",
        ),
        ("first_look_pixels", [10, 10, 10, 40], {}, "bbox_2d [10, 10, 10, 40] has zero area"),
        (
            "first_look_pixels",
            [60, 45, 10, 20],
            {},
            "bbox_2d [60, 45, 10, 20] has inverted corners: it must be [x1, y1, x2, y2] with "
            "x1 < x2 and y1 < y2",
        ),
        (
            "first_look_pixels",
            [1, 2, 3],
            {},
            "bbox_2d must be a list of four numbers [x1, y1, x2, y2]",
        ),
        (
            "first_look_pixels",
            ["a", "b", "c", "d"],
            {},
            "bbox_2d must be a list of four numbers [x1, y1, x2, y2]",
        ),
        ("first_look_pixels", None, {}, "The zoom-in call needs 'bbox_2d': [x1, y1, x2, y2]"),
        (
            "first_look_pixels",
            [10, 20, 60, 45],
            {"label": 5},
            "The zoom-in call's 'label' must be a string",
        ),
    ],
)
def test_tool_answers_a_bad_box_with_the_error_turn(
    pattern_bytes: bytes,
    boxes: protocol.BoxConvention,
    bbox: Any,
    extra: dict[str, Any],
    error: str,
) -> None:
    model = scripted(zoom(bbox, **extra), ANSWER)
    result = tool_node_graph(model, [create_zoom_image_tool(boxes=boxes)]).invoke(
        question(pattern_bytes)
    )
    _, _, tool_message, turn, final = result["messages"]
    assert tool_message.status == "error"
    assert tool_message.content == f"Error: {error}"
    assert turn.content == [
        {"type": "text", "text": protocol.render_parts(protocol.tool_error_turn(error))}
    ]
    assert turn.additional_kwargs["visionthink"] == {"turn": "error"}
    assert final.content == ANSWER


def test_tool_beyond_max_zooms_gets_the_error_turn(pattern_bytes: bytes) -> None:
    model = scripted(zoom([0, 0, 50, 50], 1), zoom([50, 0, 100, 50], 2), ANSWER)
    result = tool_node_graph(model, [create_zoom_image_tool(max_zooms=1)]).invoke(
        question(pattern_bytes)
    )
    assert result["messages"][3].additional_kwargs["visionthink"]["turn"] == "zoom"
    assert result["messages"][5].status == "error"
    assert "You already zoomed in once for this question, the limit" in render_text(
        result["messages"][6]
    )


def test_tool_without_an_image_in_the_conversation() -> None:
    model = scripted(zoom([0, 0, 5, 5]), ANSWER)
    result = tool_node_graph(model, [create_zoom_image_tool()]).invoke(
        {"messages": [HumanMessage("What is 2+2?")]}
    )
    assert "There is no image in the conversation to zoom in on." in render_text(
        result["messages"][3]
    )


def test_resize_and_zoom_tools_side_by_side(pattern_bytes: bytes) -> None:
    resize = {"name": "resize_image", "args": {"action": "resize"}, "id": "r1"}
    model = scripted(AIMessage("", tool_calls=[resize]), zoom([10, 20, 60, 45]), ANSWER)
    tools = [create_resize_image_tool(), create_zoom_image_tool()]
    result = tool_node_graph(model, tools).invoke(question(pattern_bytes))
    full, crop = result["messages"][3], result["messages"][6]
    assert decode_block(full.content[1]).size == (224, 112)
    assert decode_block(crop.content[1]).tobytes() == expected_crop(PIXEL_BOX)


def test_tool_schema_is_the_protocol_schema() -> None:
    for boxes in ("first_look_pixels", "relative_1000"):
        tool_ = create_zoom_image_tool(boxes=boxes)
        assert convert_to_openai_tool(tool_) == protocol.zoom_tool_schema(boxes)
    with pytest.raises(ValueError, match="boxes"):
        create_zoom_image_tool(boxes="pixels")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="max_zooms"):
        create_zoom_image_tool(max_zooms=-1)


CALL = {
    "name": "image_zoom_in_tool",
    "args": {"bbox_2d": [10, 20, 60, 45]},
    "id": "123",
    "type": "tool_call",
}


def test_outside_a_graph_the_call_gets_an_error_message_naming_the_way() -> None:
    reply = create_zoom_image_tool().invoke(CALL)
    assert isinstance(reply, ToolMessage)
    assert reply.tool_call_id == "123"
    assert reply.content.startswith("Error: image_zoom_in_tool reads the conversation")


def test_with_image_in_tool_message_the_tool_message_holds_the_crop(pattern_bytes: bytes) -> None:
    user = HumanMessage(content=[{"type": "text", "text": "Q"}, v1_block(pattern_bytes)])
    runtime = ToolRuntime(
        state={"messages": [user, AIMessage("", tool_calls=[CALL])]},
        context=None,
        config={},
        stream_writer=lambda _: None,
        tool_call_id="123",
        store=None,
    )
    tool_ = create_zoom_image_tool(image_in_tool_message=True)
    reply = tool_.invoke({**CALL, "args": {**CALL["args"], "runtime": runtime}})
    assert isinstance(reply, ToolMessage)
    assert reply.status == "success"
    assert [b["type"] for b in reply.content] == ["text", "image", "text"]  # type: ignore[index]
    assert decode_block(reply.content[1]).tobytes() == expected_crop(PIXEL_BOX)  # type: ignore[arg-type]
    assert reply.content[0]["text"] == protocol.ZOOM_SUCCESS_PREFIX  # type: ignore[index]


# -- the middleware ---------------------------------------------------------------------------


@pytest.mark.parametrize("use_async", [False, True])
async def test_middleware_native_zoom(pattern_bytes: bytes, use_async: bool) -> None:
    model = scripted(zoom([10, 20, 60, 45]), ANSWER)
    agent = create_agent(model, middleware=[VisionThinkMiddleware(tool_mode="zoom")])
    result = (
        await agent.ainvoke(question(pattern_bytes))
        if use_async
        else agent.invoke(question(pattern_bytes))
    )
    assert {t.name for t in model.bound_tools} == {"image_zoom_in_tool"}  # bound at each call
    first, second = model.seen
    assert first[0].content == native_system_prompt("zoom")
    assert decode_block(first[1].content[1]).size == (112, 56)
    assert [m.type for m in second] == ["system", "human", "ai", "tool", "human"]
    assert decode_block(second[4].content[1]).tobytes() == expected_crop(PIXEL_BOX)
    # state keeps a reference with the box, not a second copy
    assert result["messages"][3].content[1]["extras"] == {"zoom_box": list(PIXEL_BOX)}
    assert (result["zooms"], result["resized"], result["high_res_request"]) == (1, False, True)
    account = load_image(pattern_bytes).token_account(resized=False, zooms=[PIXEL_BOX])
    assert result["visual_tokens"] == account.as_dict()


@pytest.mark.parametrize("use_async", [False, True])
async def test_middleware_prompted_zoom_matches_the_protocol(
    pattern_bytes: bytes, use_async: bool
) -> None:
    call = zoom_call([10, 20, 60, 45])
    model = scripted(call, ANSWER)
    middleware = VisionThinkMiddleware(mode="prompted", tool_mode="zoom", boxes="first_look_pixels")
    agent = create_agent(model, middleware=[middleware])
    result = (
        await agent.ainvoke(question(pattern_bytes))
        if use_async
        else agent.invoke(question(pattern_bytes))
    )
    second = model.seen[1]
    assert [m.type for m in second] == ["system", "human", "ai", "human"]
    assert second[0].content == protocol.system_prompt("zoom", "first_look_pixels")
    assert second[2].content == call
    assert render_text(second[3]) == protocol.render_parts(protocol.zoom_success_turn())
    assert decode_block(second[3].content[1]).tobytes() == expected_crop(PIXEL_BOX)
    assert not model.bound_tools
    assert result["status"] == "answered"
    assert result["zooms"] == 1


def test_middleware_prompted_zoom_errors_and_turn_limit(pattern_bytes: bytes) -> None:
    bad = zoom_call([10, 20, 60])  # malformed: an invalid call, answered by after_model
    outside = zoom_call([500, 500, 600, 600])  # valid shape: answered by the zoom tool
    model = scripted(bad, outside, RESIZE_CALL)
    agent = create_agent(
        model, middleware=[VisionThinkMiddleware(mode="prompted", tool_mode="zoom")]
    )
    result = agent.invoke(question(pattern_bytes))
    assert "bbox_2d must be a list of four numbers" in render_text(model.seen[1][3])
    assert "lies outside the image, which is 112x56 pixels" in render_text(model.seen[2][5])
    assert result["status"] == "turn_limit"
    assert len(model.seen) == 3
    assert (result["zooms"], result["high_res_request"]) == (0, False)


@tool
def weather(city: str) -> str:
    """The weather in a city."""
    return f"sunny in {city}"


def test_middleware_native_both_keeps_the_turns_after_every_tool_result(
    pattern_bytes: bytes,
) -> None:
    calls = [
        {"name": "image_zoom_in_tool", "args": {"bbox_2d": [10, 20, 60, 45]}, "id": "z"},
        {"name": "weather", "args": {"city": "Oslo"}, "id": "w"},
        {"name": "resize_image", "args": {"action": "resize"}, "id": "r"},
    ]
    model = scripted(AIMessage("", tool_calls=calls), ANSWER)
    agent = create_agent(
        model, tools=[weather], middleware=[VisionThinkMiddleware(tool_mode="both")]
    )
    result = agent.invoke(question(pattern_bytes))
    second = model.seen[1]
    assert [m.type for m in second] == [
        "system",
        "human",
        "ai",
        "tool",
        "tool",
        "tool",
        "human",
        "human",
    ]
    kinds = [m.additional_kwargs["visionthink"]["turn"] for m in result["messages"][5:7]]
    assert kinds == ["zoom", "resize"]
    assert decode_block(second[6].content[1]).tobytes() == expected_crop(PIXEL_BOX)
    assert decode_block(second[7].content[1]).size == (224, 112)
    assert (result["resized"], result["zooms"]) == (True, 1)


def test_middleware_options_are_validated() -> None:
    with pytest.raises(ValueError, match="tool_mode"):
        VisionThinkMiddleware(tool_mode="crop")
    with pytest.raises(ValueError, match="boxes"):
        VisionThinkMiddleware(tool_mode="zoom", boxes="relative")
    both = VisionThinkMiddleware(mode="prompted", tool_mode="both", boxes="relative_1000")
    assert [t.name for t in both.tools] == ["resize_image", "image_zoom_in_tool"]
    assert both.max_model_turns == 4
    assert both.system_prompt == protocol.system_prompt("both", "relative_1000")
