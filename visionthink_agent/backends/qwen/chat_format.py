"""The Qwen chat format: protocol turns as chat-template content, tools declared in the system.

Example:
    >>> declare_tools([], [{"type": "function", "function": {"name": "f"}}])[0]["role"]
    'system'
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from visionthink_agent.protocol import ImageSlot, Part

__all__ = ["declare_tools", "qwen_content"]

_DEFAULT_SYSTEM_PROMPT = "You are a helpful assistant."
"""The system message the Qwen2.5-VL chat template writes when a conversation has none."""


def qwen_content(parts: Sequence[Part]) -> list[dict[str, Any]]:
    """A rendered protocol turn as Qwen chat-template content (image slots → image parts).

    Example:
        >>> from visionthink_agent import protocol
        >>> [p["type"] for p in qwen_content(protocol.tool_success_turn())]
        ['text', 'image', 'text']
    """
    return [
        {"type": "image"} if isinstance(part, ImageSlot) else {"type": "text", "text": part}
        for part in parts
    ]


def declare_tools(messages: Sequence[dict[str, Any]], tools: Sequence[Any]) -> list[dict[str, Any]]:
    """Qwen2.5's tool declaration added to the system message (one is added when missing).

    The words are those of Qwen2.5's tool-aware chat template: the tool schemas inside
    ``<tools></tools>`` and the ``<tool_call>`` answer format.

    Example:
        >>> tool = {"type": "function", "function": {"name": "f", "parameters": {}}}
        >>> out = declare_tools([{"role": "user", "content": "hi"}], [tool])
        >>> [m["role"] for m in out], out[0]["content"].splitlines()[2]
        (['system', 'user'], '# Tools')
    """
    schemas = "\n".join(json.dumps(tool, ensure_ascii=False) for tool in tools)
    declaration = (
        "\n\n# Tools\n\nYou may call one or more functions to assist with the user query.\n\n"
        "You are provided with function signatures within <tools></tools> XML tags:\n<tools>\n"
        f"{schemas}\n</tools>\n\nFor each function call, return a json object with function "
        "name and arguments within <tool_call></tool_call> XML tags:\n<tool_call>\n"
        '{"name": <function-name>, "arguments": <args-json-object>}\n</tool_call>'
    )
    out = [dict(m) for m in messages]
    if out and out[0].get("role") == "system" and isinstance(out[0].get("content"), str):
        out[0]["content"] += declaration
    else:
        out.insert(0, {"role": "system", "content": _DEFAULT_SYSTEM_PROMPT + declaration})
    return out
