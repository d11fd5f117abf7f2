"""The resize path through the LangGraph agent on the in-process backend, KV reuse included."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

from langchain_core.messages import AIMessage, HumanMessage
from PIL import Image

from visionthink_agent.backends.transformers_chat import ChatQwenVL
from visionthink_agent.graph.agent import create_visionthink_agent
from visionthink_agent.images import encode_image, load_image

RESIZE_CALL = (
    "<think>Too small to read.</think>\n<tool_call>\n"
    '{"name": "resize_image", "arguments": {"action": "resize"}}\n</tool_call>'
)


class FirstTurnCallsResize(ChatQwenVL):
    """The tiny model, except that its first turn's text is replaced by the resize call.

    Generation still runs (and fills the KV cache); only the returned text is swapped, the
    way a trained VisionThink model would answer a question it cannot read.
    """

    calls: int = 0

    def _run(
        self,
        messages: list[Any],
        stop: Any,
        on_text: Any,
        kwargs: dict[str, Any],
        cancel: Any = None,
    ) -> Any:
        result = super()._run(messages, stop, None, kwargs, cancel)
        self.calls += 1
        if self.calls == 1:
            result = dataclasses.replace(result, text=RESIZE_CALL)
        return result


def test_second_turn_sees_both_images_and_reuses_the_first_prompt(tiny_checkpoint: Path) -> None:
    image = Image.linear_gradient("L").resize((420, 308)).convert("RGB")
    png = encode_image(image, "PNG")
    model = FirstTurnCallsResize(model=str(tiny_checkpoint), device="cpu", max_tokens=4)
    model.engine().reset()
    graph = create_visionthink_agent(model).compile()
    question = HumanMessage(
        [
            {"type": "text", "text": "What is written?"},
            {"type": "image", "base64": png.base64, "mime_type": png.mime_type},
        ]
    )
    result = graph.invoke({"messages": [question]})
    first, second = [m for m in result["messages"] if isinstance(m, AIMessage)]
    account = load_image(image).token_account(resized=True)
    assert result["resized"] is True
    assert result["visual_tokens"] == account.as_dict()
    assert first.response_metadata["visual_tokens"] == account.first_look
    assert second.response_metadata["visual_tokens"] == account.first_look + account.high_res
    # the second prompt extends the first: everything up to the first answer came from the cache
    assert first.usage_metadata is not None
    assert (
        second.response_metadata["reused_prompt_tokens"] >= first.usage_metadata["input_tokens"] - 1
    )
