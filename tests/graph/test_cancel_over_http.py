"""A cancelled run stops the model call it started: the HTTP connection to the model server is
closed at once (vLLM and SGLang abort a generation whose client has gone), not left to finish."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import pytest
from langchain_core.messages import HumanMessage

from tests.graph.conftest import png_bytes, v1_block
from tests.graph.openai_server import STALL, ScriptedOpenAIServer, scripted_openai_server
from visionthink_agent import create_visionthink_agent
from visionthink_agent.backends.openai_compatible import create_openai_compatible_model


@pytest.fixture
def slow_server() -> Iterator[ScriptedOpenAIServer]:
    """Accepts a chat completion and never answers; records when the client hangs up."""
    with scripted_openai_server([STALL]) as server:
        yield server


async def test_a_cancelled_run_hangs_up_on_the_model_server(
    slow_server: ScriptedOpenAIServer,
) -> None:
    model = create_openai_compatible_model("m", base_url=slow_server.base_url, max_retries=0)
    graph = create_visionthink_agent(model).compile()
    question = HumanMessage([{"type": "text", "text": "Total?"}, v1_block(png_bytes())])
    run = asyncio.create_task(graph.ainvoke({"messages": [question]}))
    assert await asyncio.to_thread(slow_server.stalled.wait, 20)
    run.cancel()
    with pytest.raises(asyncio.CancelledError):
        await run
    assert await asyncio.to_thread(slow_server.hung_up.wait, 2)
