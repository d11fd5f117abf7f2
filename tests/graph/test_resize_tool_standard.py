"""langchain-tests' ``ToolsUnitTests`` / ``ToolsIntegrationTests`` for the resize tool.

Two configurations, each run through both standard suites:

* the default tool invoked directly (outside a graph, so with no conversation to read): it
  answers the ``ToolCall`` with a ``ToolMessage`` saying where it runs, and never raises;
* ``image_in_tool_message=True`` given a conversation through its ``runtime`` argument (what a
  ``ToolNode`` injects): it answers with one ``ToolMessage`` holding the protocol's tool turn
  and the high-resolution image.

Inside a graph the default tool answers with a ``Command`` (its ``ToolMessage`` plus the user
turn with the image), tested in ``test_tool_and_middleware.py`` and
``test_parallel_tool_calls.py``.
"""

from __future__ import annotations

from typing import Any

from langchain_core.messages import AIMessage, HumanMessage, ToolMessage
from langchain_core.tools import BaseTool
from langchain_tests.integration_tests import ToolsIntegrationTests
from langchain_tests.unit_tests import ToolsUnitTests
from langgraph.prebuilt import ToolRuntime

from tests.graph.conftest import decode_block, png_bytes, v1_block
from visionthink_agent import create_resize_image_tool, protocol

CALL = {"name": "resize_image", "args": {"action": "resize"}, "id": "123", "type": "tool_call"}


def runtime_with_image() -> ToolRuntime:
    user = HumanMessage(content=[{"type": "text", "text": "Q"}, v1_block(png_bytes())])
    state = {"messages": [user, AIMessage("", tool_calls=[CALL])]}
    return ToolRuntime(
        state=state,
        context=None,
        config={},
        stream_writer=lambda _: None,
        tool_call_id="123",
        store=None,
    )


class _DirectlyInvoked:
    @property
    def tool_constructor(self) -> BaseTool:
        return create_resize_image_tool()

    @property
    def tool_invoke_params_example(self) -> dict[str, Any]:
        return {"action": "resize"}


class _ImageInToolMessage:
    @property
    def tool_constructor(self) -> BaseTool:
        return create_resize_image_tool(image_in_tool_message=True)

    @property
    def tool_invoke_params_example(self) -> dict[str, Any]:
        return {"action": "resize", "runtime": runtime_with_image()}


class TestResizeToolOutsideAGraphUnit(_DirectlyInvoked, ToolsUnitTests):
    pass


class TestResizeToolOutsideAGraphIntegration(_DirectlyInvoked, ToolsIntegrationTests):
    pass


class TestResizeToolImageInToolMessageUnit(_ImageInToolMessage, ToolsUnitTests):
    pass


class TestResizeToolImageInToolMessageIntegration(_ImageInToolMessage, ToolsIntegrationTests):
    pass


def test_outside_a_graph_the_call_gets_an_error_message_naming_the_way() -> None:
    reply = create_resize_image_tool().invoke(CALL)
    assert isinstance(reply, ToolMessage)
    assert reply.tool_call_id == "123"
    assert reply.content.startswith("Error: resize_image reads the conversation")


def test_with_a_conversation_the_tool_message_holds_the_full_image() -> None:
    tool = create_resize_image_tool(image_in_tool_message=True)
    reply = tool.invoke({**CALL, "args": {"action": "resize", "runtime": runtime_with_image()}})
    assert isinstance(reply, ToolMessage)
    assert reply.status == "success"
    assert [b["type"] for b in reply.content] == ["text", "image", "text"]  # type: ignore[index]
    assert decode_block(reply.content[1]).size == (224, 112)  # type: ignore[arg-type]
    assert reply.content[0]["text"] == protocol.tool_success_turn()[0]  # type: ignore[index]
