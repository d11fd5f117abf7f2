"""Fixtures for the LangGraph surface: a scripted chat model that records what it was shown."""

from __future__ import annotations

import base64
import io
import json
from collections.abc import Sequence
from typing import Any

import pytest
from langchain_core.language_models import FakeMessagesListChatModel
from langchain_core.messages import AIMessage, BaseMessage
from PIL import Image
from pydantic import Field

from visionthink_agent import protocol

RESIZE_CALL = (
    "<think>The first look is too small to read.</think>\n"
    '<tool_call>\n{"name": "resize_image", "arguments": {"action": "resize"}}\n</tool_call>'
)
ANSWER = "<think>Now I can read it.</think><answer>The total is \\boxed{42}</answer>"


def zoom_call(bbox: list[float], name: str = "image_zoom_in_tool") -> str:
    """A prompted zoom turn asking for ``bbox``."""
    call = {"name": name, "arguments": {"bbox_2d": bbox, "label": "the total"}}
    return (
        "<think>The total is too small to read.</think>\n"
        f"<tool_call>\n{json.dumps(call)}\n</tool_call>"
    )


class ScriptedChatModel(FakeMessagesListChatModel):
    """Replies with ``responses`` in order, records every input, and supports ``bind_tools``."""

    seen: list[list[BaseMessage]] = Field(default_factory=list)
    bound_tools: list[Any] = Field(default_factory=list)

    def _generate(self, messages: list[BaseMessage], *args: Any, **kwargs: Any) -> Any:
        self.seen.append(list(messages))
        return super()._generate(messages, *args, **kwargs)

    def bind_tools(self, tools: Sequence[Any], **kwargs: Any) -> ScriptedChatModel:
        self.bound_tools.extend(tools)
        return self


def scripted(*texts: str | AIMessage) -> ScriptedChatModel:
    """A scripted model replying with these texts (or messages), with usage metadata."""
    usage = {"input_tokens": 10, "output_tokens": 5, "total_tokens": 15}
    responses = [
        t if isinstance(t, AIMessage) else AIMessage(content=t, usage_metadata=usage) for t in texts
    ]
    return ScriptedChatModel(responses=responses)


def png_bytes(size: tuple[int, int] = (224, 112), colour: str = "red") -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", size, colour).save(buf, "PNG")
    return buf.getvalue()


def v1_block(data: bytes, mime: str = "image/png") -> dict[str, Any]:
    return {"type": "image", "base64": base64.b64encode(data).decode(), "mime_type": mime}


def decode_block(block: dict[str, Any]) -> Image.Image:
    """Decode a v1 base64 image block as sent to the model."""
    return Image.open(io.BytesIO(base64.b64decode(block["base64"])))


def render_text(message: BaseMessage) -> str:
    """A sent message as text with ``<image>`` at each image block (protocol.render_parts form)."""
    if isinstance(message.content, str):
        return message.content
    return "".join(
        b["text"] if b["type"] == "text" else protocol.IMAGE_PLACEHOLDER for b in message.content
    )


@pytest.fixture
def image_bytes() -> bytes:
    return png_bytes()


def pattern_image(size: tuple[int, int] = (224, 112)) -> Image.Image:
    """An image whose every pixel differs from its neighbours, so a crop shows where it is from."""
    width, height = size
    image = Image.new("RGB", size)
    image.putdata(
        [(x % 256, y % 256, (7 * x + 13 * y) % 256) for y in range(height) for x in range(width)]
    )
    return image


@pytest.fixture
def pattern_bytes() -> bytes:
    buf = io.BytesIO()
    pattern_image().save(buf, "PNG")
    return buf.getvalue()
