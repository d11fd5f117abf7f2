"""``langgraph dev`` serves graphs/langgraph.json; langgraph_sdk drives a run with an image."""

from __future__ import annotations

import base64
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from langgraph_sdk import get_sync_client

from tests.graph.conftest import ANSWER, RESIZE_CALL
from tests.graph.openai_server import ScriptedOpenAIServer, scripted_openai_server
from tests.loopback import free_port, wait_until_healthy
from visionthink_agent.graph import TOKEN_ACCOUNT_EVENT
from visionthink_agent.images import load_image

GRAPHS = Path(__file__).resolve().parents[2] / "graphs"
LANGGRAPH = Path(sys.executable).with_name("langgraph")


@pytest.fixture
def model_server() -> Iterator[ScriptedOpenAIServer]:
    with scripted_openai_server([RESIZE_CALL, ANSWER]) as server:
        yield server


@pytest.fixture
def dev_server(model_server: ScriptedOpenAIServer, tmp_path: Path) -> Iterator[str]:
    port = free_port()
    env = {
        **os.environ,
        "VISIONTHINK_BASE_URL": model_server.base_url,
        "VISIONTHINK_MODEL": "visionthink-test",
        "LANGSMITH_TRACING": "false",
        "LANGGRAPH_CLI_NO_ANALYTICS": "1",
    }
    command = [str(LANGGRAPH), "dev", "--no-browser", "--no-reload"]
    command += ["--host", "127.0.0.1", "--port", str(port)]
    log = (tmp_path / "langgraph-dev.log").open("wb")
    process = subprocess.Popen(
        command, cwd=GRAPHS, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
    )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_until_healthy(
            f"{url}/ok",
            process,
            name="langgraph dev",
            timeout=60,
            log=lambda: (tmp_path / "langgraph-dev.log").read_text(),
        )
        yield url
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
        log.close()


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
