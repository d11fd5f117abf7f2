"""Tool calling for an in-process Qwen model: ``tool_choice``, forced calls, calls parsed back.

Qwen models answer tool calls in the Hermes ``<tool_call>{"name", "arguments"}</tool_call>``
form; a forced call (``tool_choice`` naming a tool, or ``any``) is the opening of that form
given to the model as the start of its answer.

Example:
    >>> tools = [{"type": "function", "function": {"name": "resize_image"}}]
    >>> forced_call_prefix(tools, normalise_tool_choice("required", tools))
    '<tool_call>\\n{"name": "resize_image", "arguments": '
"""

from __future__ import annotations

import json
import uuid
from typing import Any

from langchain_core.messages.tool import InvalidToolCall, ToolCall, invalid_tool_call, tool_call

from visionthink_agent.parsing import parse_tool_call

__all__ = ["forced_call_prefix", "normalise_tool_choice", "offered_tools", "tool_calls_in"]


def normalise_tool_choice(choice: str | bool | dict[str, Any], tools: list[dict[str, Any]]) -> str:
    """``tool_choice`` as ``"auto"``, ``"none"``, ``"any"`` or a bound tool's name.

    Example:
        >>> tools = [{"type": "function", "function": {"name": "f"}}]
        >>> normalise_tool_choice(True, tools), normalise_tool_choice({"name": "f"}, tools)
        ('any', 'f')
    """
    names = [t["function"]["name"] for t in tools]
    if isinstance(choice, dict):
        choice = str((choice.get("function") or {}).get("name") or choice.get("name") or "")
    if choice is True or choice == "required":
        return "any"
    if choice in ("auto", "none", "any") or choice in names:
        return str(choice)
    if isinstance(choice, str) and choice:
        raise ValueError(
            f"tool_choice {choice!r} names no bound tool (bound: {', '.join(names) or 'none'})"
        )
    raise ValueError(f"tool_choice must be a tool name, auto, none, any or required: {choice!r}")


def offered_tools(kwargs: dict[str, Any]) -> list[dict[str, Any]] | None:
    """The bound tool schemas shown to the model (none for ``tool_choice="none"``).

    Example:
        >>> offered_tools({"tools": [{"type": "function"}], "tool_choice": "none"}) is None
        True
    """
    return None if kwargs.get("tool_choice") == "none" else kwargs.get("tools") or None


def forced_call_prefix(tools: list[dict[str, Any]] | None, choice: str | None) -> str:
    """The opening of a Qwen ``<tool_call>`` an answer is forced to start with ("" for none).

    Example:
        >>> forced_call_prefix([{"type": "function", "function": {"name": "f"}}], "auto")
        ''
    """
    if not tools or choice in (None, "auto", "none"):
        return ""
    if choice == "any" and len(tools) > 1:
        return '<tool_call>\n{"name": "'
    name = tools[0]["function"]["name"] if choice == "any" else choice
    return f'<tool_call>\n{{"name": {json.dumps(name, ensure_ascii=False)}, "arguments": '


def tool_calls_in(text: str) -> tuple[list[ToolCall], list[InvalidToolCall]]:
    """Qwen/Hermes ``<tool_call>{"name", "arguments"}</tool_call>`` blocks as LangChain calls.

    Example:
        >>> calls, invalid = tool_calls_in('<tool_call>{"name": "f", "arguments": {}}</tool_call>')
        >>> [c["name"] for c in calls], invalid
        (['f'], [])
    """
    calls: list[ToolCall] = []
    invalid: list[InvalidToolCall] = []
    for raw in parse_tool_call(text).raw:
        call_id = f"call_{uuid.uuid4().hex[:24]}"
        try:
            obj = json.loads(raw, strict=False)
            args = obj.get("arguments", {})
            args = json.loads(args) if isinstance(args, str) else args
            if not isinstance(obj.get("name"), str) or not isinstance(args, dict):
                raise ValueError("a tool call needs a string 'name' and object 'arguments'")
        except (ValueError, AttributeError) as exc:
            invalid.append(invalid_tool_call(name=None, args=raw, id=call_id, error=str(exc)))
            continue
        calls.append(tool_call(name=obj["name"], args=args, id=call_id))
    return calls, invalid
