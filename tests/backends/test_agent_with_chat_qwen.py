"""The VisionThink agent on the in-process model when the model calls the tool (scripted tokens).

The random tiny model never calls ``resize_image``; with :class:`ScriptedChatQwenVL` the real
engine runs every step and the reply is a cooperative model's, so the resize path through
``ChatQwenVL`` is exercised end to end, including an image returned inside a ``ToolMessage``.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from langchain_core.messages import AIMessage, HumanMessage

from tests.backends.scripted_model import ScriptedChatQwenVL
from tests.graph.conftest import png_bytes, v1_block
from visionthink_agent import create_visionthink_agent
from visionthink_agent.images import load_image


@pytest.mark.parametrize("image_in_tool_message", [False, True])
def test_native_resize_reaches_the_model_with_the_full_image(
    tiny_checkpoint: Path, image_in_tool_message: bool
) -> None:
    model = ScriptedChatQwenVL(model=str(tiny_checkpoint), max_tokens=64)
    graph = create_visionthink_agent(
        model, mode="native", image_in_tool_message=image_in_tool_message
    ).compile()
    image = png_bytes((224, 112))
    message = HumanMessage(content=[{"type": "text", "text": "Total?"}, v1_block(image)])
    result = graph.invoke({"messages": [message]})
    first, second = [m for m in result["messages"] if isinstance(m, AIMessage)]
    assert first.tool_calls[0]["name"] == "resize_image"
    account = load_image(image).token_account(resized=True)
    assert first.response_metadata["visual_tokens"] == account.first_look
    # the second request carries the first look and the full image, whichever message holds it
    assert second.response_metadata["visual_tokens"] == account.first_look + account.high_res
    assert result["resized"] is True
    assert result["visual_tokens"]["used"] == second.response_metadata["visual_tokens"]
