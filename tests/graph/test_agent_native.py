"""Native mode: bind_tools with the protocol schema, ToolMessage + HumanMessage with the image."""

from __future__ import annotations

import pytest
from langchain_core.language_models import FakeMessagesListChatModel
from langchain_core.messages import AIMessage, HumanMessage, SystemMessage, ToolMessage

from tests.graph.conftest import ANSWER, decode_block, render_text, scripted, v1_block
from visionthink_agent import create_visionthink_agent, protocol
from visionthink_agent.graph import NATIVE_SYSTEM_PROMPT


def call(action: str = "resize", name: str = "resize_image") -> AIMessage:
    return AIMessage(
        content="", tool_calls=[{"name": name, "args": {"action": action}, "id": "call_1"}]
    )


def ask(model, image: bytes, **options):
    graph = create_visionthink_agent(model, mode="native", **options).compile()
    message = HumanMessage(content=[{"type": "text", "text": "Total?"}, v1_block(image)])
    return graph.invoke({"messages": [message]})


def test_native_resize(image_bytes: bytes) -> None:
    model = scripted(call(), ANSWER)
    result = ask(model, image_bytes)
    assert model.bound_tools == [protocol.resize_tool_schema()]
    first, second = model.seen
    assert isinstance(first[0], SystemMessage)
    assert first[0].content == NATIVE_SYSTEM_PROMPT
    assert first[1].content[0] == {"type": "text", "text": "Total?"}
    assert decode_block(first[1].content[1]).size == (112, 56)
    assert [m.type for m in second] == ["system", "human", "ai", "tool", "human"]
    assert second[2].tool_calls[0]["id"] == second[3].tool_call_id == "call_1"
    assert render_text(second[4]) == protocol.render_parts(protocol.tool_success_turn())
    assert decode_block(second[4].content[1]).size == (224, 112)
    assert result["resized"] is True
    assert result["answer"] == "42"


def test_native_wrong_action_gets_the_error_turn(image_bytes: bytes) -> None:
    model = scripted(call(action="zoom"), ANSWER)
    result = ask(model, image_bytes)
    tool, turn = model.seen[1][3:]
    assert tool.status == "error"
    assert "Unknown Tool Type: zoom" in render_text(turn)
    assert result["resized"] is False


def test_native_image_in_tool_message(image_bytes: bytes) -> None:
    model = scripted(call(), ANSWER)
    result = ask(model, image_bytes, image_in_tool_message=True)
    second = model.seen[1]
    assert [m.type for m in second] == ["system", "human", "ai", "tool"]
    assert isinstance(second[3], ToolMessage)
    assert decode_block(second[3].content[1]).size == (224, 112)
    assert result["resized"] is True


def test_native_without_bind_tools_is_a_clear_error() -> None:
    model = FakeMessagesListChatModel(responses=[AIMessage(ANSWER)])
    with pytest.raises(TypeError, match="prompted"):
        create_visionthink_agent(model, mode="native")


def test_native_keeps_a_custom_system_prompt(image_bytes: bytes) -> None:
    model = scripted(ANSWER)
    ask(model, image_bytes, system_prompt="Be brief.")
    assert model.seen[0][0].content == "Be brief."
    assert isinstance(model.seen[0][1], HumanMessage)
