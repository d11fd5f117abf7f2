"""The in-process Qwen2.5-VL chat model (tiny random weights) behind the agent, both modes."""

from __future__ import annotations

import pytest
from langchain_core.messages import HumanMessage

from tests.graph.conftest import v1_block
from visionthink_agent import create_visionthink_agent
from visionthink_agent.images import load_image

pytest.importorskip("transformers")


@pytest.mark.slow
@pytest.mark.parametrize("mode", ["prompted", "native"])
def test_tiny_in_process_model_runs_the_agent(image_bytes: bytes, mode: str) -> None:
    from visionthink_agent.backends.transformers_chat import ChatQwenVL

    model = ChatQwenVL(model="tiny", max_new_tokens=8, temperature=0)
    graph = create_visionthink_agent(model, mode=mode).compile()  # type: ignore[arg-type]
    message = HumanMessage(content=[{"type": "text", "text": "Total?"}, v1_block(image_bytes)])
    result = graph.invoke({"messages": [message]})
    assert result["status"] in ("answered", "turn_limit")
    assert result["model_turns"] >= 1
    assert result["usage"]["input_tokens"] > 0
    first_look = load_image(image_bytes).token_account(resized=result["resized"]).as_dict()
    assert result["visual_tokens"] == first_look
