"""A model server the graph cannot reach is named in the error, without the URL's user-info."""

from __future__ import annotations

from typing import Any

import openai
import pytest
from langchain_core.messages import HumanMessage

from tests.loopback import free_port
from visionthink_agent import create_visionthink_agent
from visionthink_agent.backends.openai_compatible import create_openai_compatible_model


@pytest.mark.parametrize("asynchronous", [False, True])
async def test_a_refused_connection_names_the_server(asynchronous: bool) -> None:
    port = free_port()  # nothing listens there
    model = create_openai_compatible_model(
        "m", base_url=f"http://alice:secret@127.0.0.1:{port}/v1", max_retries=0
    )
    graph = create_visionthink_agent(model).compile()
    question = {"messages": [HumanMessage("What is 2+2?")]}
    call = graph.ainvoke(question) if asynchronous else None
    with pytest.raises(openai.APIConnectionError) as caught:
        await call if call is not None else graph.invoke(question)
    message = str(caught.value)
    assert message.startswith(f"cannot reach the model server at http://127.0.0.1:{port}/v1/")
    assert message.endswith("): is it running?")
    assert "Connection error." not in message
    assert "secret" not in message
    assert "alice" not in message


@pytest.mark.parametrize("asynchronous", [False, True])
async def test_a_refused_connection_names_the_server_through_the_middleware(
    asynchronous: bool,
) -> None:
    from langchain.agents import create_agent

    from visionthink_agent import VisionThinkMiddleware

    port = free_port()  # nothing listens there
    model = create_openai_compatible_model(
        "m", base_url=f"http://alice:secret@127.0.0.1:{port}/v1", max_retries=0
    )
    agent = create_agent(model, middleware=[VisionThinkMiddleware(mode="prompted")])
    question: Any = {"messages": [HumanMessage("What is 2+2?")]}
    call = agent.ainvoke(question) if asynchronous else None
    with pytest.raises(openai.APIConnectionError) as caught:
        await call if call is not None else agent.invoke(question)
    message = str(caught.value)
    assert message.startswith(f"cannot reach the model server at http://127.0.0.1:{port}/v1/")
    assert message.endswith("): is it running?")
    assert "secret" not in message
    assert "alice" not in message


def test_the_langgraph_api_server_shows_the_message_to_its_client() -> None:
    """``langgraph dev`` replaces the message of any exception that is not a built-in kind
    with "An internal error occurred"; the named error is also a ``RuntimeError``."""
    import httpx
    from langgraph_api.serde import json_dumpb

    from visionthink_agent.graph.agent import model_server_named

    request = httpx.Request("POST", "http://127.0.0.1:9/v1/chat/completions")
    with pytest.raises(openai.APIConnectionError) as caught, model_server_named():
        raise openai.APIConnectionError(request=request) from ConnectionRefusedError("refused")
    shown = json_dumpb(caught.value).decode()
    assert "cannot reach the model server at http://127.0.0.1:9/v1/chat/completions" in shown
    assert "internal error" not in shown
