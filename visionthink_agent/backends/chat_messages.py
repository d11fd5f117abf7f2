"""LangChain messages as Qwen chat-template messages, with their images in order.

Example:
    >>> from langchain_core.messages import AIMessage
    >>> call = {"name": "resize_image", "args": {}, "id": "1"}
    >>> msgs, _ = to_qwen_messages([AIMessage("", tool_calls=[call])])
    >>> msgs[0]["content"].splitlines()[1]
    '<tool_call>'
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from typing import Any

from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, SystemMessage, ToolMessage
from PIL import Image

from visionthink_agent.images import DEFAULT_LIMITS, ImageLimits, is_image_block, load_image

__all__ = ["to_qwen_messages"]


def to_qwen_messages(
    messages: Sequence[BaseMessage],
    *,
    limits: ImageLimits = DEFAULT_LIMITS,
    allow_private_urls: bool = False,
    allow_local_files: bool = False,
) -> tuple[list[dict[str, Any]], list[Image.Image]]:
    """LangChain messages → Qwen chat-template messages and the images in order.

    Image blocks (any format :func:`~visionthink_agent.images.load_image` reads) become
    ``{"type": "image"}`` parts; the image itself is passed to the processor as is (the
    caller decides first look or high resolution). ``ToolMessage`` becomes a user turn in
    Qwen's ``<tool_response>`` form, images included, consecutive ones sharing one turn as in
    Qwen2.5's template; an ``AIMessage`` whose text lacks its ``tool_calls`` gets them written
    in Qwen's ``<tool_call>`` form. Images are read under ``limits``, ``allow_private_urls``
    and ``allow_local_files`` (as :func:`~visionthink_agent.images.load_image` takes them).

    Example:
        >>> from langchain_core.messages import HumanMessage, SystemMessage
        >>> msgs, images = to_qwen_messages([SystemMessage("sys"), HumanMessage("hi")])
        >>> msgs, images
        ([{'role': 'system', 'content': 'sys'}, {'role': 'user', 'content': 'hi'}], [])
        >>> msgs, _ = to_qwen_messages([ToolMessage("a", tool_call_id="1"),
        ...                             ToolMessage("b", tool_call_id="2")])
        >>> msgs[0]["content"]
        '<tool_response>\\na\\n</tool_response>\\n<tool_response>\\nb\\n</tool_response>'

    Raises:
        ValueError: a content block that is neither text nor an image.
        visionthink_agent.images.ImageError: an image that cannot be read under those settings.
    """

    def read(block: Any) -> Image.Image:
        return load_image(
            block,
            max_pixels=limits.max_pixels,
            max_bytes=limits.max_bytes,
            allow_private_urls=allow_private_urls,
            allow_local_files=allow_local_files,
        ).high_res()

    converted: list[dict[str, Any]] = []
    images: list[Image.Image] = []
    responses: list[dict[str, Any]] | None = None  # parts of the current run of tool results
    for message in messages:
        if not isinstance(message, ToolMessage):
            responses = None
        if isinstance(message, SystemMessage):
            converted.append({"role": "system", "content": message.text})
        elif isinstance(message, HumanMessage):
            converted.append({"role": "user", "content": _parts(message.content, images, read)})
        elif isinstance(message, AIMessage):
            converted.append({"role": "assistant", "content": _assistant_text(message)})
        elif isinstance(message, ToolMessage):
            response = [
                _text("<tool_response>\n"),
                *_parts(message.content, images, read),
                _text("\n</tool_response>"),
            ]
            if responses is None:
                responses = response
                converted.append({"role": "user", "content": responses})
            else:
                responses.extend([_text("\n"), *response])
        else:
            raise ValueError(f"unsupported message type {message.type!r} for a Qwen-VL model")
    for turn in converted:
        if isinstance(turn["content"], list) and all(p["type"] == "text" for p in turn["content"]):
            turn["content"] = "".join(p["text"] for p in turn["content"])
    return converted, images


def _text(text: str) -> dict[str, Any]:
    return {"type": "text", "text": text}


def _parts(
    content: str | list[Any], images: list[Image.Image], read: Callable[[Any], Image.Image]
) -> list[dict[str, Any]]:
    """Content as Qwen parts; each image is ``read`` and appended to ``images``."""
    if isinstance(content, str):
        return [_text(content)]
    parts: list[dict[str, Any]] = []
    for block in content:
        if isinstance(block, str):
            parts.append(_text(block))
        elif is_image_block(block):
            images.append(read(block))
            parts.append({"type": "image"})
        elif isinstance(block, dict) and block.get("type") == "text":
            parts.append(_text(block.get("text", "")))
        else:
            kind = block.get("type") if isinstance(block, dict) else type(block).__name__
            raise ValueError(f"unsupported content block {kind!r}: only text and images are")
    return parts


def _assistant_text(message: AIMessage) -> str:
    text = str(message.text)
    if message.tool_calls and "<tool_call>" not in text:
        calls = (
            json.dumps({"name": c["name"], "arguments": c["args"]}, ensure_ascii=False)
            for c in message.tool_calls
        )
        text += "".join(f"\n<tool_call>\n{call}\n</tool_call>" for call in calls)
    return text
