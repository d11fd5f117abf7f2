"""``langgraph dev`` serves graphs/langgraph.json; langgraph_sdk drives a run with an image."""

from __future__ import annotations

import base64
from collections.abc import Iterator
from pathlib import Path

import pytest
from langgraph_sdk import get_sync_client

from tests.graph.conftest import ANSWER, RESIZE_CALL
from tests.graph.langgraph_dev import serve_langgraph_dev
from tests.graph.openai_server import ScriptedOpenAIServer, scripted_openai_server
from visionthink_agent.graph import TOKEN_ACCOUNT_EVENT
from visionthink_agent.images import load_image


@pytest.fixture
def model_server() -> Iterator[ScriptedOpenAIServer]:
    with scripted_openai_server([RESIZE_CALL, ANSWER]) as server:
        yield server


@pytest.fixture
def dev_server(model_server: ScriptedOpenAIServer, tmp_path: Path) -> Iterator[str]:
    with serve_langgraph_dev(model_server.base_url, tmp_path) as url:
        yield url


@pytest.mark.slow
def test_langgraph_dev_serves_the_agent(
    dev_server: str, model_server: ScriptedOpenAIServer, image_bytes: bytes
) -> None:
    client = get_sync_client(url=dev_server)
    (assistant,) = client.assistants.search(graph_id="visionthink")
    thread = client.threads.create()
    # The camelCase block some LangGraph chat UIs send.
    image = {
        "type": "image",
        "data": base64.b64encode(image_bytes).decode(),
        "mimeType": "image/png",
    }
    message = {"role": "user", "content": [{"type": "text", "text": "Total?"}, image]}
    parts = list(
        client.runs.stream(
            thread["thread_id"],
            assistant["assistant_id"],
            input={"messages": [message]},
            stream_mode=["values", "custom"],
        )
    )
    custom = [p.data for p in parts if p.event == "custom"]
    assert [c["event"] for c in custom] == [TOKEN_ACCOUNT_EVENT]
    values = client.threads.get_state(thread["thread_id"])["values"]
    account = load_image(image_bytes).token_account(resized=True).as_dict()
    assert values["answer"] == "42"
    assert values["resized"] is True
    assert values["status"] == "answered"
    assert values["visual_tokens"] == account
    assert custom[0]["visual_tokens"] == account
    assert [m["type"] for m in values["messages"]] == ["human", "ai", "tool", "human", "ai"]
    roles = [[m["role"] for m in r["messages"]] for r in model_server.requests]
    assert roles == [["system", "user"], ["system", "user", "assistant", "user"]]
