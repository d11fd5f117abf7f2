"""Parallel tool calls: the full-resolution user turn comes after ALL tool results of the turn.

OpenAI-compatible servers and Anthropic reject a user message between two tool results of one
assistant turn (``human, ai, tool, human, tool``); the request must be ``human, ai, tool, tool,
human`` whatever the order of the calls.
"""

from __future__ import annotations

from typing import Any

import pytest
from langchain.agents import create_agent
from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, ToolMessage
from langchain_core.tools import tool

from tests.graph.conftest import ANSWER, decode_block, scripted, v1_block
from visionthink_agent import VisionThinkMiddleware, create_visionthink_agent


@tool
def weather(city: str) -> str:
    """The weather in a city."""
    return f"sunny in {city}"


RESIZE = {"name": "resize_image", "args": {"action": "resize"}, "id": "call_resize"}
WEATHER = {"name": "weather", "args": {"city": "Oslo"}, "id": "call_weather"}


def question(image: bytes) -> dict[str, Any]:
    return {"messages": [HumanMessage(content=[{"type": "text", "text": "Q"}, v1_block(image)])]}


def kinds(messages: list[BaseMessage]) -> list[str]:
    return [m.type for m in messages]


def assert_tool_results_then_turn(messages: list[BaseMessage]) -> None:
    """After the AIMessage with calls: one ToolMessage per call, then the one tool turn."""
    ai = next(i for i, m in enumerate(messages) if isinstance(m, AIMessage) and m.tool_calls)
    calls = len(messages[ai].tool_calls)  # type: ignore[union-attr]
    results = messages[ai + 1 : ai + 1 + calls]
    assert all(isinstance(m, ToolMessage) for m in results), kinds(messages)
    assert {m.tool_call_id for m in results} == {c["id"] for c in messages[ai].tool_calls}  # type: ignore[union-attr]
    turn = messages[ai + 1 + calls]
    assert isinstance(turn, HumanMessage), kinds(messages)


@pytest.mark.parametrize(
    "order", [(RESIZE, WEATHER), (WEATHER, RESIZE)], ids=["resize-first", "resize-last"]
)
@pytest.mark.parametrize("use_async", [False, True])
async def test_middleware_native_puts_the_turn_after_every_tool_result(
    image_bytes: bytes, order: tuple[dict[str, Any], ...], use_async: bool
) -> None:
    model = scripted(AIMessage("", tool_calls=list(order)), ANSWER)
    agent = create_agent(model, tools=[weather], middleware=[VisionThinkMiddleware()])
    result = (
        await agent.ainvoke(question(image_bytes))
        if use_async
        else agent.invoke(question(image_bytes))
    )
    second = model.seen[1]
    assert kinds(second) == ["system", "human", "ai", "tool", "tool", "human"]
    assert decode_block(second[5].content[1]).size == (224, 112)  # the full-resolution image
    # the thread's state is in the same valid order, not only the request
    assert kinds(result["messages"]) == ["human", "ai", "tool", "tool", "human", "ai"]
    assert_tool_results_then_turn(result["messages"])
    assert result["resized"] is True


def test_agent_native_with_two_calls_answers_both_before_the_turn(image_bytes: bytes) -> None:
    twice = {**RESIZE, "id": "call_again"}
    model = scripted(AIMessage("", tool_calls=[RESIZE, twice]), ANSWER)
    graph = create_visionthink_agent(model, mode="native").compile()
    graph.invoke(question(image_bytes))
    second = model.seen[1]
    assert kinds(second) == ["system", "human", "ai", "tool", "tool", "human"]
