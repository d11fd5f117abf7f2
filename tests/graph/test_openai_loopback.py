"""A real OpenAI-compatible HTTP server on loopback behind ChatOpenAI: exact request payloads."""

from __future__ import annotations

import base64
import io
import json

import pytest
from langchain_core.messages import HumanMessage
from langchain_openai import ChatOpenAI
from PIL import Image

from tests.graph.conftest import ANSWER, RESIZE_CALL, v1_block
from tests.graph.openai_server import scripted_openai_server
from visionthink_agent import create_visionthink_agent, protocol
from visionthink_agent.graph import NATIVE_SYSTEM_PROMPT


def data_url_image(url: str) -> tuple[str, Image.Image]:
    header, payload = url.split(",", 1)
    return header, Image.open(io.BytesIO(base64.b64decode(payload)))


def chat_model(base_url: str, streaming: bool) -> ChatOpenAI:
    return ChatOpenAI(
        base_url=base_url,
        api_key="test-key",  # type: ignore[arg-type]
        model="visionthink",
        streaming=streaming,
        stream_usage=True,
        max_retries=0,
        timeout=10,
    )


def question(image: bytes) -> dict:
    return {
        "messages": [HumanMessage(content=[{"type": "text", "text": "Total?"}, v1_block(image)])]
    }


@pytest.mark.parametrize("streaming", [False, True])
def test_prompted_payloads(image_bytes: bytes, streaming: bool) -> None:
    with scripted_openai_server([RESIZE_CALL, ANSWER]) as server:
        graph = create_visionthink_agent(chat_model(server.base_url, streaming)).compile()
        result = graph.invoke(question(image_bytes))
    first, second = server.requests
    assert bool(first.get("stream")) is streaming
    assert "tools" not in first
    assert [m["role"] for m in first["messages"]] == ["system", "user"]
    assert [m["role"] for m in second["messages"]] == ["system", "user", "assistant", "user"]
    assert second["messages"][0]["content"] == protocol.SYSTEM_PROMPT
    assert second["messages"][2]["content"] == RESIZE_CALL
    assert "tool_calls" not in second["messages"][2]
    user, tool_turn = second["messages"][1], second["messages"][3]
    prefix, suffix = protocol.user_turn("Total?")[0], protocol.user_turn("Total?")[2]
    assert [p["type"] for p in user["content"]] == ["text", "image_url", "text"]
    assert (user["content"][0]["text"], user["content"][2]["text"]) == (prefix, suffix)
    header, look = data_url_image(user["content"][1]["image_url"]["url"])
    assert (header, look.size) == ("data:image/png;base64", (112, 56))
    success = protocol.tool_success_turn()
    assert [p.get("text") for p in tool_turn["content"]] == [success[0], None, success[2]]
    high = tool_turn["content"][1]["image_url"]["url"]
    assert high == "data:image/png;base64," + base64.b64encode(image_bytes).decode()
    for request in server.requests:
        assert all(m["role"] != "tool" for m in request["messages"])
    assert result["answer"] == "42"
    assert result["resized"] is True
    assert result["usage"] == {"input_tokens": 1400, "output_tokens": 40, "total_tokens": 1440}


@pytest.mark.parametrize("streaming", [False, True])
def test_native_payloads(image_bytes: bytes, streaming: bool) -> None:
    tool_call = {
        "id": "call_abc",
        "type": "function",
        "function": {"name": "resize_image", "arguments": json.dumps({"action": "resize"})},
    }
    with scripted_openai_server([{"tool_calls": [tool_call]}, ANSWER]) as server:
        model = chat_model(server.base_url, streaming)
        graph = create_visionthink_agent(model, mode="native").compile()
        result = graph.invoke(question(image_bytes))
    first, second = server.requests
    assert first["tools"] == [protocol.resize_tool_schema()]
    assert first["messages"][0] == {"role": "system", "content": NATIVE_SYSTEM_PROMPT}
    roles = [m["role"] for m in second["messages"]]
    assert roles == ["system", "user", "assistant", "tool", "user"]
    tool_message = second["messages"][3]
    assert tool_message["tool_call_id"] == "call_abc"
    assert isinstance(tool_message["content"], str)  # no image in role: tool
    _, high = data_url_image(second["messages"][4]["content"][1]["image_url"]["url"])
    assert high.size == (224, 112)
    assert result["resized"] is True
    assert result["answer"] == "42"


async def test_async_token_streaming_through_the_graph(image_bytes: bytes) -> None:
    with scripted_openai_server([RESIZE_CALL, ANSWER]) as server:
        graph = create_visionthink_agent(chat_model(server.base_url, True)).compile()
        tokens, custom = [], []
        async for mode, data in graph.astream(
            question(image_bytes), stream_mode=["messages", "custom"]
        ):
            if mode == "messages":
                chunk, metadata = data
                if metadata["langgraph_node"] == "model":  # "tools" emits the tool replies
                    tokens.append(chunk.content)
            else:
                custom.append(data)
    assert "".join(tokens) == RESIZE_CALL + ANSWER
    assert custom[0]["resized"] is True
