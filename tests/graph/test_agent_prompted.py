"""Prompted mode: the model sees exactly protocol §1; LangGraph sees normal tool calls."""

from __future__ import annotations

import json
from typing import Any

import pytest
from langchain_core.messages import AIMessage, HumanMessage, SystemMessage, ToolMessage

from tests.graph.conftest import (
    ANSWER,
    RESIZE_CALL,
    decode_block,
    png_bytes,
    render_text,
    scripted,
    v1_block,
)
from visionthink_agent import create_visionthink_agent, protocol
from visionthink_agent.graph import TOKEN_ACCOUNT_EVENT, AgentSettings, prompted_conversation
from visionthink_agent.images import load_image
from visionthink_agent.parsing import parse_tool_call

QUESTION = "What is the total?"


def ask(model, image: bytes | None, question: str = QUESTION, **options):
    graph = create_visionthink_agent(model, **options).compile()
    content: list = [{"type": "text", "text": question}]
    if image is not None:
        content.append(v1_block(image))
    return graph.invoke({"messages": [HumanMessage(content=content)]})


def test_direct_answer_renders_protocol_and_reports(image_bytes: bytes) -> None:
    model = scripted(ANSWER)
    result = ask(model, image_bytes)
    (sent,) = model.seen
    assert [type(m) for m in sent] == [SystemMessage, HumanMessage]
    assert sent[0].content == protocol.SYSTEM_PROMPT
    assert render_text(sent[1]) == protocol.render_parts(protocol.user_turn(QUESTION))
    first_look = decode_block(sent[1].content[1])
    assert first_look.size == load_image(image_bytes).first_look_size == (112, 56)
    assert result["answer"] == "42"
    assert result["status"] == "answered"
    assert result["resized"] is False
    assert result["model_turns"] == 1
    assert result["visual_tokens"] == load_image(image_bytes).token_account(resized=False).as_dict()
    assert result["usage"] == {"input_tokens": 10, "output_tokens": 5, "total_tokens": 15}


def test_resize_path_renders_protocol_and_routes_a_tool_call(image_bytes: bytes) -> None:
    model = scripted(RESIZE_CALL, ANSWER)
    result = ask(model, image_bytes)
    first, second = model.seen
    assert second[:2] == first
    assert [m.type for m in second] == ["system", "human", "ai", "human"]
    assert second[2].content == RESIZE_CALL  # the model's raw text, verbatim
    assert not second[2].tool_calls
    assert render_text(second[3]) == protocol.render_parts(protocol.tool_success_turn())
    high_res = decode_block(second[3].content[1])
    assert high_res.size == (224, 112)
    assert second[3].content[1]["base64"] == v1_block(image_bytes)["base64"]  # original bytes
    # LangGraph's view: a normal tool call and its ToolMessage, then the tool turn.
    ai, tool, turn, final = result["messages"][1:]
    assert ai.tool_calls[0]["name"] == "resize_image"
    assert ai.tool_calls[0]["args"] == {"action": "resize"}
    assert isinstance(tool, ToolMessage)
    assert tool.tool_call_id == ai.tool_calls[0]["id"]
    assert isinstance(turn, HumanMessage)
    assert isinstance(final, AIMessage)
    assert result["resized"] is True
    assert result["status"] == "answered"
    account = load_image(image_bytes).token_account(resized=True).as_dict()
    assert result["visual_tokens"] == account
    assert result["usage"]["total_tokens"] == 30


def test_graph_sends_what_prompted_conversation_builds(image_bytes: bytes) -> None:
    model = scripted(RESIZE_CALL, ANSWER)
    ask(model, image_bytes)
    expected = prompted_conversation(QUESTION, image_bytes, [RESIZE_CALL])
    assert [(m.type, m.content) for m in model.seen[1]] == [(m.type, m.content) for m in expected]


def test_state_holds_one_copy_of_the_image(image_bytes: bytes) -> None:
    result = ask(scripted(RESIZE_CALL, ANSWER), image_bytes)
    dumped = json.dumps([m.model_dump() for m in result["messages"]])
    assert dumped.count(v1_block(image_bytes)["base64"]) == 1


@pytest.mark.parametrize(
    ("bad_turn", "error_part"),
    [
        ("<think>t</think><tool_call>\n{not json}\n</tool_call>", "not valid JSON"),
        (
            '<think>t</think><tool_call>{"name": "zoom", "arguments": {"action": "resize"}}'
            "</tool_call>",
            "Unknown function 'zoom'",
        ),
        (
            '<think>t</think><tool_call>{"name": "resize_image", "arguments": {"action": "crop"}}'
            "</tool_call>",
            "Unknown Tool Type: crop",
        ),
    ],
)
def test_bad_call_gets_the_protocol_error_turn(
    image_bytes: bytes, bad_turn: str, error_part: str
) -> None:
    model = scripted(bad_turn, ANSWER)
    result = ask(model, image_bytes)
    second = model.seen[1]
    error = parse_tool_call(bad_turn).error
    assert error is not None
    assert error_part in error
    assert [m.type for m in second] == ["system", "human", "ai", "human"]
    assert second[3].content == [
        {"type": "text", "text": protocol.render_parts(protocol.tool_error_turn(error))}
    ]
    ai = result["messages"][1]
    assert ai.invalid_tool_calls[0]["error"] == error
    assert not ai.tool_calls
    assert result["resized"] is False
    assert result["status"] == "answered"
    assert result["answer"] == "42"


def test_second_resize_beyond_the_limit_gets_an_error_turn(image_bytes: bytes) -> None:
    model = scripted(RESIZE_CALL, RESIZE_CALL, ANSWER)
    result = ask(model, image_bytes, max_model_turns=3)
    third = model.seen[2]
    assert [m.type for m in third] == ["system", "human", "ai", "human", "ai", "human"]
    assert "already resized once" in render_text(third[5])
    assert render_text(third[5]).startswith("<tool_response>\nERROR occurs")
    assert "<image>" not in render_text(third[5])
    assert result["status"] == "answered"
    assert result["resized"] is True


def test_turn_limit_ends_cleanly(image_bytes: bytes) -> None:
    model = scripted(RESIZE_CALL, RESIZE_CALL)
    result = ask(model, image_bytes)
    assert len(model.seen) == 2
    assert result["status"] == "turn_limit"
    last_ai, closing = result["messages"][-2:]
    assert isinstance(closing, ToolMessage)
    assert closing.tool_call_id == last_ai.tool_calls[0]["id"]
    assert result["answer"] == ""  # the last turn holds a call, not an answer


def test_image_less_question(image_bytes: bytes) -> None:
    model = scripted("<think>t</think><answer>4</answer>")
    result = ask(model, None, "What is 2+2?")
    assert [(m.type, m.content) for m in model.seen[0]] == [
        ("system", protocol.SYSTEM_PROMPT),
        ("human", "What is 2+2?"),
    ]
    assert result["status"] == "no_image"
    assert result["visual_tokens"] is None
    assert result["answer"] == "4"


def test_image_less_question_resize_call_gets_an_error() -> None:
    model = scripted(RESIZE_CALL, ANSWER)
    result = ask(model, None)
    assert "There is no image in the conversation to resize" in render_text(model.seen[1][3])
    assert result["status"] == "no_image"
    assert result["resized"] is False


def test_two_images_in_one_question_is_a_clear_error(image_bytes: bytes) -> None:
    graph = create_visionthink_agent(scripted(ANSWER)).compile()
    message = HumanMessage(content=[v1_block(image_bytes), v1_block(png_bytes(colour="blue"))])
    with pytest.raises(ValueError, match="one image"):
        graph.invoke({"messages": [message]})


def test_token_account_is_streamed_as_a_custom_event(image_bytes: bytes) -> None:
    graph = create_visionthink_agent(scripted(RESIZE_CALL, ANSWER)).compile()
    message = HumanMessage(content=[{"type": "text", "text": QUESTION}, v1_block(image_bytes)])
    events = list(graph.stream({"messages": [message]}, stream_mode="custom"))
    assert events == [
        {
            "event": TOKEN_ACCOUNT_EVENT,
            "status": "answered",
            "resized": True,
            "visual_tokens": load_image(image_bytes).token_account(resized=True).as_dict(),
        }
    ]


def test_model_node_routes_itself_and_traces_once_per_turn(image_bytes: bytes) -> None:
    """The model node's Command does the routing (no branch run), and each node is one run in
    a trace (the node, not a node wrapped in a second run of the same name)."""
    from langchain_core.callbacks import BaseCallbackHandler

    class Chains(BaseCallbackHandler):
        def __init__(self) -> None:
            self.names: list[str] = []

        def on_chain_start(self, serialized: Any, inputs: Any, **kwargs: Any) -> None:
            self.names.append(kwargs.get("name") or "")

    graph = create_visionthink_agent(scripted(RESIZE_CALL, ANSWER)).compile()
    drawn = graph.get_graph()
    assert {(e.source, e.target) for e in drawn.edges} == {
        ("__start__", "model"),
        ("model", "tools"),
        ("model", "__end__"),
        ("tools", "model"),
    }
    chains = Chains()
    message = HumanMessage(content=[{"type": "text", "text": QUESTION}, v1_block(image_bytes)])
    result = graph.invoke({"messages": [message]}, {"callbacks": [chains]})
    assert result["resized"] is True
    assert chains.names.count("model") == 2
    assert chains.names.count("tools") == 1


async def test_async_invoke_uses_the_async_model(image_bytes: bytes) -> None:
    model = scripted(RESIZE_CALL, ANSWER)
    graph = create_visionthink_agent(model).compile()
    message = HumanMessage(content=[{"type": "text", "text": QUESTION}, v1_block(image_bytes)])
    result = await graph.ainvoke({"messages": [message]})
    assert result["answer"] == "42"
    assert result["resized"] is True
    assert len(model.seen) == 2


def test_question_with_image_placeholder_keeps_its_position(image_bytes: bytes) -> None:
    model = scripted(ANSWER)
    ask(model, image_bytes, question="Look: <image> What is the total?")
    assert render_text(model.seen[0][1]).endswith("question:\nLook: <image> What is the total?")


def test_options_are_validated() -> None:
    with pytest.raises(ValueError, match="mode"):
        create_visionthink_agent(scripted(ANSWER), mode="fast")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="max_model_turns"):
        create_visionthink_agent(scripted(ANSWER), max_model_turns=0)
    with pytest.raises(ValueError, match="native"):
        create_visionthink_agent(scripted(ANSWER), image_in_tool_message=True)


def test_options_come_from_one_settings_value_and_keywords_change_it(image_bytes: bytes) -> None:
    one_turn = AgentSettings(max_model_turns=1)
    model = scripted(RESIZE_CALL)
    graph = create_visionthink_agent(model, one_turn).compile()
    content = [{"type": "text", "text": QUESTION}, v1_block(image_bytes)]
    assert graph.invoke({"messages": [HumanMessage(content=content)]})["status"] == "turn_limit"
    model = scripted(RESIZE_CALL, ANSWER)
    graph = create_visionthink_agent(model, one_turn, max_model_turns=2).compile()
    result = graph.invoke({"messages": [HumanMessage(content=content)]})
    assert (result["status"], result["resized"]) == ("answered", True)
    with pytest.raises(TypeError, match="max_turns"):
        create_visionthink_agent(scripted(ANSWER), one_turn, max_turns=2)  # type: ignore[call-arg]
