"""Test doubles (and a box helper) shared by the evaluation and example tests.

``OracleVisionModel`` is a hand-written chat model that behaves like an ideal VisionThink model
on questions it knows: it answers coarse questions from any view, and fine-detail questions only
from an image at least ``full_width`` wide. With the VisionThink system prompt it asks for the
full image (a real ``<tool_call>``) when its view is too small; with the tool-free prompt it
answers wrongly instead. So the three evaluation modes have known, different outcomes.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, BaseMessage, SystemMessage
from langchain_core.outputs import ChatGeneration, ChatResult

from visionthink_agent import protocol
from visionthink_agent.images import is_image_block, load_image

RESIZE_CALL = (
    "<think>The text is too small to read at this resolution.</think>\n<tool_call>\n"
    + json.dumps({"name": "resize_image", "arguments": {"action": "resize"}})
    + "\n</tool_call>"
)
UNREADABLE = "unreadable"


class OracleVisionModel(BaseChatModel):
    """Answers known questions; fine detail only from a wide enough image (see module doc)."""

    answers: dict[str, tuple[str, bool]]
    """question -> (answer, needs_high_res)."""
    full_width: int
    calls: int = 0

    @property
    def _llm_type(self) -> str:
        return "oracle-vision"

    def bind_tools(self, tools: Sequence[Any], **kwargs: Any) -> OracleVisionModel:
        return self

    def reply(self, messages: Sequence[BaseMessage]) -> str:
        texts, width = [], 0
        for message in messages:
            content = message.content
            blocks = content if isinstance(content, list) else [content]
            for block in blocks:
                if isinstance(block, str):
                    texts.append(block)
                elif is_image_block(block):
                    width = load_image(block).size[0]
                elif isinstance(block, dict) and block.get("type") == "text":
                    texts.append(block["text"])
        # the latest known question (a conversation may hold earlier ones)
        question = next((q for text in reversed(texts) for q in self.answers if q in text), None)
        if question is None:
            return "<think>I do not know this one.</think><answer>unknown</answer>"
        answer, needs_high_res = self.answers[question]
        visionthink = isinstance(messages[0], SystemMessage) and (
            messages[0].content == protocol.SYSTEM_PROMPT
        )
        if needs_high_res and width < self.full_width:
            if visionthink:
                return RESIZE_CALL
            answer = UNREADABLE
        return f"<think>I can see it clearly.</think><answer>{answer}</answer>"

    def _generate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: Any = None,
        **kwargs: Any,
    ) -> ChatResult:
        self.calls += 1
        text = self.reply(messages)
        usage = {"input_tokens": 100, "output_tokens": 10, "total_tokens": 110}
        message = AIMessage(content=text, usage_metadata=usage)  # type: ignore[arg-type]
        return ChatResult(generations=[ChatGeneration(message=message)])


def contains(outer: Sequence[int], inner: Sequence[int]) -> bool:
    """Whether pixel box ``outer`` (left, top, right, bottom) covers all of ``inner``."""
    return (
        outer[0] <= inner[0]
        and outer[1] <= inner[1]
        and outer[2] >= inner[2]
        and outer[3] >= inner[3]
    )
