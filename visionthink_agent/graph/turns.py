"""Model turns in prompted mode, and the whole prompted conversation for one question.

In prompted mode the model writes ``<tool_call>`` in its text; :func:`parse_model_turn` keeps
that text verbatim as the ``AIMessage`` content and adds the call as ``tool_calls`` (or
``invalid_tool_calls`` with the parser's error), so LangGraph routing and tracing see a normal
tool call. :func:`prompted_conversation` replays a question and a list of raw model turns through
exactly the code the agent graph runs, and returns the messages the model is shown: the
reference for token-level parity tests against a training rollout.

Example:
    >>> turn = parse_model_turn(AIMessage(
    ...     '<think>small</think><tool_call>{"name": "resize_image", '
    ...     '"arguments": {"action": "resize"}}</tool_call>'))
    >>> turn.tool_calls[0]["name"], turn.tool_calls[0]["args"], turn.content.startswith("<think>")
    ('resize_image', {'action': 'resize'}, True)
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

from langchain_core.messages import AIMessage, BaseMessage, HumanMessage

from visionthink_agent import protocol
from visionthink_agent.graph.conversation import message_text
from visionthink_agent.graph.image_store import normalise_image_block
from visionthink_agent.graph.rendering import prompted_messages
from visionthink_agent.graph.replies import high_res_reply, request_budget, tool_names_for
from visionthink_agent.images import ImageInput
from visionthink_agent.parsing import parse_tool_call

__all__ = ["new_call_id", "parse_model_turn", "prompted_conversation", "turn_calls"]


def new_call_id() -> str:
    """A fresh tool-call id in OpenAI's style.

    Example:
        >>> new_call_id().startswith("call_")
        True
    """
    return "call_" + uuid.uuid4().hex[:24]


def parse_model_turn(
    response: BaseMessage,
    *,
    tool_name: str = protocol.RESIZE_TOOL_NAME,
    tool_mode: protocol.ToolMode = "resize",
) -> AIMessage:
    """Turn a prompted model reply into an ``AIMessage`` whose tool call LangGraph can route.

    The content is the reply's text, verbatim. A valid ``<tool_call>`` (of a tool of
    ``tool_mode``) becomes one entry of ``tool_calls``; anything that looks like a call but is
    not valid (bad JSON, wrong name or arguments, two calls, unclosed tag) becomes one
    ``invalid_tool_calls`` entry whose ``error`` is the parser's message (the text the
    protocol's error turn reports). Usage metadata, response metadata and the id are kept.

    Example:
        >>> bad = parse_model_turn(AIMessage("<tool_call>{oops}</tool_call>"))
        >>> bad.tool_calls, bad.invalid_tool_calls[0]["error"].startswith("The tool call is not")
        ([], True)
        >>> zoom = parse_model_turn(AIMessage('<tool_call>{"name": "image_zoom_in_tool", '
        ...     '"arguments": {"bbox_2d": [1, 2, 30, 40]}}</tool_call>'), tool_mode="zoom")
        >>> zoom.tool_calls[0]["args"]
        {'bbox_2d': [1.0, 2.0, 30.0, 40.0]}
    """
    text = message_text(response)
    parsed = parse_tool_call(text, tool_name=tool_name, mode=tool_mode)
    tool_calls: list[Any] = []
    invalid: list[Any] = []
    if parsed.call is not None:
        tool_calls.append(
            {
                "type": "tool_call",
                "name": parsed.call.name,
                "args": dict(parsed.call.arguments),
                "id": new_call_id(),
            }
        )
    elif parsed.found:
        invalid.append(
            {
                "type": "invalid_tool_call",
                "name": tool_names_for(tool_mode, tool_name)[0],
                "args": "\n".join(parsed.raw),
                "id": new_call_id(),
                "error": parsed.error,
            }
        )
    return AIMessage(
        content=text,
        tool_calls=tool_calls,
        invalid_tool_calls=invalid,
        id=response.id,
        usage_metadata=getattr(response, "usage_metadata", None),
        response_metadata=dict(response.response_metadata),
    )


def turn_calls(message: AIMessage) -> list[dict[str, Any]]:
    """The tool calls of a model turn, valid and invalid, as plain dicts.

    Example:
        >>> turn_calls(AIMessage("<answer>4</answer>"))
        []
    """
    return [dict(c) for c in message.tool_calls] + [dict(c) for c in message.invalid_tool_calls]


def prompted_conversation(
    question: str,
    image: ImageInput,
    assistant_turns: Sequence[str],
    *,
    tool_mode: protocol.ToolMode = "resize",
    boxes: protocol.BoxConvention = "first_look_pixels",
    max_resizes: int = protocol.MAX_RESIZES,
    max_zooms: int = protocol.MAX_ZOOMS,
    system_prompt: str | None = None,
) -> list[BaseMessage]:
    """The exact messages a prompted-mode model is shown, after ``assistant_turns``.

    Builds the state the agent graph builds (the user's message, each raw model turn parsed as
    the graph parses it, the tool's reply to each call) and renders it with
    :func:`prompted_messages`, as the graph does before each model call.

    Args:
        question: the user's question (may hold ``<image>``, as training data does).
        image: anything ``load_image`` reads.
        assistant_turns: the model's raw texts so far (e.g. a tool-call turn and an answer).
        tool_mode: as in the agent (``"resize"``, ``"zoom"`` or ``"both"``).
        boxes: as in the agent (how ``bbox_2d`` is written).
        max_resizes: as in the agent.
        max_zooms: as in the agent.
        system_prompt: as in the agent (default ``protocol.system_prompt(tool_mode, boxes)``).

    Example:
        >>> from PIL import Image
        >>> call = ('<think>t</think><tool_call>{"name": "resize_image", '
        ...         '"arguments": {"action": "resize"}}</tool_call>')
        >>> sent = prompted_conversation("Total?", Image.new("RGB", (64, 64)), [call])
        >>> [m.type for m in sent]
        ['system', 'human', 'ai', 'human']
        >>> [b["type"] for b in sent[3].content]
        ['text', 'image', 'text']
        >>> zoom = ('<think>t</think><tool_call>{"name": "image_zoom_in_tool", '
        ...         '"arguments": {"bbox_2d": [0, 0, 16, 16]}}</tool_call>')
        >>> sent = prompted_conversation("Total?", Image.new("RGB", (64, 64)), [zoom],
        ...                              tool_mode="zoom")
        >>> sent[3].content[0]["text"].splitlines()[1], sent[3].content[1]["mime_type"]
        ('The zoomed-in region is shown below:', 'image/png')
    """
    request_budget(tool_mode, boxes, max_resizes=max_resizes, max_zooms=max_zooms)
    user = HumanMessage(content=[{"type": "text", "text": question}, normalise_image_block(image)])
    messages: list[BaseMessage] = [user]
    for text in assistant_turns:
        turn = parse_model_turn(AIMessage(content=text), tool_mode=tool_mode)
        messages.append(turn)
        messages.extend(
            high_res_reply(
                messages,
                turn_calls(turn),
                tool_mode=tool_mode,
                boxes=boxes,
                max_resizes=max_resizes,
                max_zooms=max_zooms,
            )
        )
    prompt = protocol.system_prompt(tool_mode, boxes) if system_prompt is None else system_prompt
    return prompted_messages(messages, system_prompt=prompt)
