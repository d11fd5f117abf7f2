"""The drop-in resize tool in a plain ToolNode graph, and the create_agent middleware."""

from __future__ import annotations

from typing import Any

import pytest
from langchain.agents import create_agent
from langchain_core.messages import AIMessage, HumanMessage, ToolMessage
from langchain_core.utils.function_calling import convert_to_openai_tool
from langgraph.graph import START, MessagesState, StateGraph
from langgraph.prebuilt import ToolNode, tools_condition

from tests.graph.conftest import ANSWER, RESIZE_CALL, decode_block, render_text, scripted, v1_block
from visionthink_agent import VisionThinkMiddleware, create_resize_image_tool, protocol
from visionthink_agent.graph import TOKEN_ACCOUNT_EVENT
from visionthink_agent.images import load_image


def call(i: int = 1) -> AIMessage:
    return AIMessage(
        content="",
        tool_calls=[{"name": "resize_image", "args": {"action": "resize"}, "id": f"c{i}"}],
    )


def tool_node_graph(model: Any, **tool_options: Any) -> Any:
    tool = create_resize_image_tool(**tool_options)
    bound = model.bind_tools([tool])

    def agent(state: MessagesState) -> dict[str, Any]:
        return {"messages": [bound.invoke(state["messages"])]}

    graph = StateGraph(MessagesState)
    graph.add_node("agent", agent)
    graph.add_node("tools", ToolNode([tool]))
    graph.add_edge(START, "agent")
    graph.add_conditional_edges("agent", tools_condition)
    graph.add_edge("tools", "agent")
    return graph.compile()


def question(image: bytes) -> dict[str, Any]:
    return {"messages": [HumanMessage(content=[{"type": "text", "text": "Q"}, v1_block(image)])]}


def test_tool_in_a_plain_tool_node_returns_the_protocol_turn(image_bytes: bytes) -> None:
    model = scripted(call(), ANSWER)
    result = tool_node_graph(model).invoke(question(image_bytes))
    _, _, tool, turn, final = result["messages"]
    assert isinstance(tool, ToolMessage)
    assert tool.tool_call_id == "c1"
    assert isinstance(turn, HumanMessage)
    assert render_text(turn) == protocol.render_parts(protocol.tool_success_turn())
    assert decode_block(turn.content[1]).size == (224, 112)  # embedded: any model can read it
    assert final.content == ANSWER


def test_tool_beyond_max_resizes_gets_the_error_turn(image_bytes: bytes) -> None:
    model = scripted(call(1), call(2), ANSWER)
    result = tool_node_graph(model).invoke(question(image_bytes))
    second_turn = result["messages"][6]
    assert "already resized once" in render_text(second_turn)
    assert result["messages"][5].status == "error"


def test_tool_can_put_the_image_in_the_tool_message(image_bytes: bytes) -> None:
    model = scripted(call(), ANSWER)
    result = tool_node_graph(model, image_in_tool_message=True).invoke(question(image_bytes))
    tool = result["messages"][2]
    assert isinstance(tool, ToolMessage)
    assert [b["type"] for b in tool.content] == ["text", "image", "text"]
    assert isinstance(result["messages"][3], AIMessage)


def test_tool_schema_is_the_protocol_schema() -> None:
    assert convert_to_openai_tool(create_resize_image_tool()) == protocol.resize_tool_schema()


@pytest.mark.parametrize("use_async", [False, True])
async def test_middleware_native(image_bytes: bytes, use_async: bool) -> None:
    model = scripted(call(), ANSWER)
    agent = create_agent(model, middleware=[VisionThinkMiddleware()])
    result = (
        await agent.ainvoke(question(image_bytes))
        if use_async
        else agent.invoke(question(image_bytes))
    )
    first, second = model.seen
    assert decode_block(first[1].content[1]).size == (112, 56)
    assert [m.type for m in second] == ["system", "human", "ai", "tool", "human"]
    assert decode_block(second[4].content[1]).size == (224, 112)
    assert result["resized"] is True
    assert result["answer"] == "42"
    assert result["visual_tokens"] == load_image(image_bytes).token_account(resized=True).as_dict()


@pytest.mark.parametrize("use_async", [False, True])
async def test_middleware_prompted_matches_the_protocol(
    image_bytes: bytes, use_async: bool
) -> None:
    model = scripted(RESIZE_CALL, ANSWER)
    agent = create_agent(model, middleware=[VisionThinkMiddleware(mode="prompted")])
    result = (
        await agent.ainvoke(question(image_bytes))
        if use_async
        else agent.invoke(question(image_bytes))
    )
    second = model.seen[1]
    assert [m.type for m in second] == ["system", "human", "ai", "human"]
    assert second[0].content == protocol.SYSTEM_PROMPT
    assert second[2].content == RESIZE_CALL
    assert render_text(second[3]) == protocol.render_parts(protocol.tool_success_turn())
    assert not model.bound_tools
    assert result["status"] == "answered"
    assert result["resized"] is True


def test_middleware_prompted_bad_call_and_turn_limit(image_bytes: bytes) -> None:
    model = scripted("<tool_call>{bad</tool_call>", RESIZE_CALL)
    agent = create_agent(model, middleware=[VisionThinkMiddleware(mode="prompted")])
    result = agent.invoke(question(image_bytes))
    assert "not valid JSON" in render_text(model.seen[1][3])
    assert result["status"] == "turn_limit"
    assert isinstance(result["messages"][-1], ToolMessage)


def test_middleware_streams_the_token_account(image_bytes: bytes) -> None:
    agent = create_agent(scripted(ANSWER), middleware=[VisionThinkMiddleware()])
    events = list(agent.stream(question(image_bytes), stream_mode="custom"))
    assert events[-1]["event"] == TOKEN_ACCOUNT_EVENT
    assert events[-1]["resized"] is False
