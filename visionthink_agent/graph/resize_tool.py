"""The ``resize_image`` tool: the full-resolution image, on request, as protocol §1.4.

:func:`resize_reply` is the one place that answers a resize call (used by the agent graph's tool
node and by the ``BaseTool`` from :func:`create_resize_image_tool`, which works in any
``ToolNode``). A good call gets a ``ToolMessage`` (text) and a ``HumanMessage`` holding
``tool_success_prefix`` + the high-resolution image + ``tool_success_suffix`` +
``tool_followup_prompt``; a bad call (bad JSON, wrong name or action, two calls, no image, more
than ``max_resizes`` resizes of one image) gets an error ``ToolMessage`` and the protocol's
error turn. Model mistakes never raise.

Example:
    >>> from langchain_core.messages import AIMessage, HumanMessage
    >>> call = {"name": "resize_image", "args": {"action": "resize"}, "id": "call_1"}
    >>> msgs = [HumanMessage("no image here"), AIMessage("", tool_calls=[call])]
    >>> tool_msg, turn = resize_reply(msgs, [call])
    >>> tool_msg.status, turn.content[0]["text"].splitlines()[1].split(": ")[1]
    ('error', 'There is no image in the conversation to resize.')
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from langchain_core.messages import AIMessage, BaseMessage, ToolMessage
from langchain_core.tools import BaseTool, StructuredTool
from langgraph.prebuilt import ToolRuntime
from langgraph.types import Command
from pydantic import BaseModel, ConfigDict, Field

from visionthink_agent import protocol
from visionthink_agent.graph.conversation import (
    current_image_block,
    is_tool_turn,
    question_start,
    resize_count,
    tool_turn_message,
)
from visionthink_agent.graph.image_store import normalise_image_block, reference_block
from visionthink_agent.graph.rendering import image_payload_block, parts_to_content, resolve_image
from visionthink_agent.parsing import parse_tool_call, validate_tool_call

__all__ = ["create_resize_image_tool", "resize_reply", "turn_after_tool_results"]

_NO_IMAGE = "There is no image in the conversation to resize"
_NO_CONVERSATION = (
    "resize_image reads the conversation from the graph state; run it in a LangGraph ToolNode "
    "(or create_agent)"
)


def _call_error(calls: Sequence[Mapping[str, Any]], tool_name: str) -> str | None:
    """Why the calls of one model turn are not one valid resize request (None when they are)."""
    if len(calls) == 1:
        call = calls[0]
        if call.get("error"):
            return str(call["error"])
        obj = {"name": call.get("name"), "arguments": call.get("args")}
        return validate_tool_call(obj, tool_name=tool_name)[1]
    text = "".join(
        "<tool_call>"
        + json.dumps({"name": c.get("name"), "arguments": c.get("args")}, ensure_ascii=False)
        + "</tool_call>"
        for c in calls
    )
    return parse_tool_call(text, tool_name=tool_name).error


def _already_resized(max_resizes: int) -> str:
    times = "once" if max_resizes == 1 else f"{max_resizes} times"
    return (
        f"The image was already resized {times}; the high-resolution image is shown above, "
        "use it to answer"
    )


def resize_reply(
    messages: Sequence[BaseMessage],
    calls: Sequence[Mapping[str, Any]],
    *,
    max_resizes: int = protocol.MAX_RESIZES,
    tool_name: str = protocol.RESIZE_TOOL_NAME,
    image_in_tool_message: bool = False,
    embed_image: bool = False,
    allow_private_urls: bool = False,
    allow_local_files: bool = False,
    drop_history_images: bool = False,
) -> list[BaseMessage]:
    """Answer the resize call(s) of the last model turn.

    Args:
        messages: the conversation so far (the calling ``AIMessage`` last).
        calls: the turn's ``tool_calls`` and ``invalid_tool_calls`` (dicts with ``name``,
            ``args``, ``id``; an ``error`` key marks a call that could not be parsed).
        max_resizes: high-resolution views allowed per image; a further call is an error turn.
        tool_name: the expected function name.
        image_in_tool_message: put the whole tool turn (image included) in the ``ToolMessage``
            and add no ``HumanMessage`` (for the OpenAI Responses API).
        embed_image: put the high-resolution image's data in the reply; otherwise a reference
            to the user's image (``{"type": "image", "id"}``) that the VisionThink renderers
            resolve, so state holds one copy of each image.
        allow_private_urls: let image URLs point at private / loopback addresses.
        allow_local_files: let image blocks name local files (``file_path``, ``file://``, a
            path); off by default, like private URLs.
        drop_history_images: the requests leave out earlier questions' images, so only this
            question's high-resolution views count toward ``max_resizes``.

    Returns:
        One ``ToolMessage`` per call, then (unless ``image_in_tool_message``) the tool turn.
    """
    if not calls:
        return []
    error = _call_error(calls, tool_name)
    image_id = None
    image: dict[str, Any] | None = None
    if error is None:
        block = current_image_block(messages)
        if block is None:
            error = _NO_IMAGE
        else:
            stored = normalise_image_block(
                block, allow_private_urls=allow_private_urls, allow_local_files=allow_local_files
            )
            image_id = stored["id"]
            start = max(question_start(messages), 0) if drop_history_images else 0
            if resize_count(messages[start:], image_id) >= max_resizes:
                error = _already_resized(max_resizes)
            elif embed_image:
                source = resolve_image(
                    stored,
                    messages,
                    allow_private_urls=allow_private_urls,
                    allow_local_files=allow_local_files,
                )
                image = image_payload_block(source.high_res_payload())
            else:
                image = reference_block(image_id)
    if error is not None:
        content = parts_to_content(protocol.tool_error_turn(error), None)
        summary, status, image_id = f"Error: {error}", "error", None
    else:
        content = parts_to_content(protocol.tool_success_turn(), image)
        summary, status = "The high-resolution image follows.", "success"
    turn = tool_turn_message(content, image_id=image_id)
    replies: list[BaseMessage] = []
    for i, call in enumerate(calls):
        last = i == len(calls) - 1
        replies.append(
            ToolMessage(
                content=turn.content if image_in_tool_message and last else summary,
                tool_call_id=str(call.get("id") or ""),
                name=tool_name,
                status=status,
                additional_kwargs=turn.additional_kwargs if image_in_tool_message and last else {},
            )
        )
    if not image_in_tool_message:
        replies.append(turn)
    return replies


def turn_after_tool_results(
    result: ToolMessage | Command[Any],
    call: Mapping[str, Any],
    messages: Sequence[BaseMessage],
    reply: Callable[[Mapping[str, Any]], Sequence[BaseMessage]],
    *,
    tool_name: str = protocol.RESIZE_TOOL_NAME,
) -> ToolMessage | Command[Any]:
    """Keep a resize call's user turn after every tool result of its model turn.

    A ``ToolNode`` (and ``create_agent``) runs the calls of one model turn as separate tasks
    whose results land in call order, so a resize call followed by another call would leave
    ``ai, tool, human, tool``, which OpenAI-compatible servers and Anthropic reject. Applied to
    each call's result (a ``wrap_tool_call``), this drops the user turn from the result of a
    resize call that is not the turn's last pending call, and appends it, recomputed by
    ``reply(resize_call)`` from the same state, to the result of the last pending call.

    Args:
        result: what the tool returned for ``call``.
        call: the tool call that was run.
        messages: the conversation the calls were run on (the calling ``AIMessage`` last).
        reply: the resize answer (``ToolMessage`` and tool turn) to a resize call.
        tool_name: the resize tool's name.

    Example:
        >>> from langchain_core.messages import HumanMessage
        >>> calls = [{"name": "resize_image", "args": {"action": "resize"}, "id": "r"},
        ...          {"name": "weather", "args": {}, "id": "w"}]
        >>> messages = [HumanMessage("no image"), AIMessage("", tool_calls=calls)]
        >>> out = turn_after_tool_results(ToolMessage("sunny", tool_call_id="w"), calls[1],
        ...                               messages, lambda c: resize_reply(messages, [c]))
        >>> [m.type for m in out.update["messages"]]
        ['tool', 'human']
    """
    at = next(
        (i for i in range(len(messages) - 1, -1, -1) if isinstance(messages[i], AIMessage)), -1
    )
    ai = messages[at] if at >= 0 else None
    if not isinstance(ai, AIMessage) or len(ai.tool_calls) < 2:
        return result
    answered = {m.tool_call_id for m in messages[at:] if isinstance(m, ToolMessage)}
    pending = [c for c in ai.tool_calls if c["id"] not in answered]
    if not pending or not any(c["name"] == tool_name for c in pending):
        return result
    if call.get("id") != pending[-1]["id"]:
        if call.get("name") != tool_name or not isinstance(result, Command):
            return result
        return _with_messages(result, [m for m in _update_messages(result) if not is_tool_turn(m)])
    turns = [
        m
        for earlier in pending[:-1]
        if earlier["name"] == tool_name
        for m in reply(earlier)
        if is_tool_turn(m)
    ]
    if not turns:
        return result
    if isinstance(result, ToolMessage):
        return Command(update={"messages": [result, *turns]})
    return _with_messages(result, [*_update_messages(result), *turns])


def _update_messages(command: Command[Any]) -> list[BaseMessage]:
    update = command.update if isinstance(command.update, Mapping) else {}
    return list(update.get("messages", []))


def _with_messages(command: Command[Any], messages: list[BaseMessage]) -> Command[Any]:
    update = dict(command.update) if isinstance(command.update, Mapping) else {}
    return dataclasses.replace(command, update={**update, "messages": messages})


class _ResizeArgs(BaseModel):
    model_config = ConfigDict(arbitrary_types_allowed=True)

    action: str = Field(
        description=protocol.resize_tool_schema()["function"]["parameters"]["properties"]["action"][
            "description"
        ],
        json_schema_extra={"enum": [protocol.RESIZE_ACTION]},
    )
    runtime: ToolRuntime | None = None  # injected by ToolNode; None when invoked directly


class _ResizeImageTool(StructuredTool):
    """The resize tool; the model is shown the protocol's own ``resize_image`` parameters."""

    @property
    def tool_call_schema(self) -> Any:
        return protocol.resize_tool_schema()["function"]["parameters"]


def create_resize_image_tool(
    *,
    max_resizes: int = protocol.MAX_RESIZES,
    name: str = protocol.RESIZE_TOOL_NAME,
    image_in_tool_message: bool = False,
    embed_image: bool = True,
    allow_private_urls: bool = False,
    allow_local_files: bool = False,
    drop_history_images: bool = False,
) -> BaseTool:
    """The resize tool for any ``ToolNode`` (or ``create_agent``), answering as protocol §1.4.

    The tool finds the conversation's current image (the last one a user sent) in the state the
    ``ToolNode`` injects (its ``runtime``) and returns a ``Command`` whose update holds a
    ``ToolMessage`` and a ``HumanMessage`` with the high-resolution image between the protocol's
    texts (with ``image_in_tool_message``, just the ``ToolMessage``). Invoked directly, outside a
    graph, it has no conversation and answers with an error message saying so. Its schema is the
    protocol's ``resize_image`` (``{"action": "resize"}``).

    When the model calls this tool and another tool in one turn, the ``HumanMessage`` must come
    after the last tool result; a ``ToolNode`` writes results in call order, so apply
    :func:`turn_after_tool_results` to each result in its ``wrap_tool_call``
    (``VisionThinkMiddleware`` does this in ``create_agent``). Without it, a resize call that is
    not the turn's last call leaves its user turn between two tool results.

    Args:
        max_resizes: high-resolution views allowed per image; a further call gets the
            protocol's error turn (not an exception).
        name: the tool's name (the protocol's ``resize_image`` by default).
        image_in_tool_message: return the image inside the ``ToolMessage`` instead (OpenAI
            Responses API, which accepts images in function outputs).
        embed_image: put the image's data in the reply (default, for any graph); False puts a
            reference by id, resolved by :func:`native_messages` / :func:`prompted_messages`
            (what the VisionThink agent and middleware do, so state keeps one copy).
        allow_private_urls: let image URLs point at private / loopback addresses.
        allow_local_files: let image blocks name local files (``file_path``, ``file://``, a
            path); off by default, like private URLs.
        drop_history_images: as in :func:`resize_reply` (set it as the renderers are set).

    Example:
        >>> from langgraph.prebuilt import ToolNode
        >>> tool = create_resize_image_tool()
        >>> node = ToolNode([tool])
        >>> tool.name, tool.tool_call_schema["required"]
        ('resize_image', ['action'])
    """
    if max_resizes < 0:
        raise ValueError(f"max_resizes must be >= 0, got {max_resizes}")

    def resize_image(action: str, runtime: ToolRuntime | None = None) -> Any:
        if runtime is None:  # invoked directly, outside a graph: no conversation to look in
            return f"Error: {_NO_CONVERSATION}."
        state = runtime.state
        messages = state["messages"] if isinstance(state, Mapping) else state.messages
        call = {"name": name, "args": {"action": action}, "id": runtime.tool_call_id}
        replies = resize_reply(
            messages,
            [call],
            max_resizes=max_resizes,
            tool_name=name,
            image_in_tool_message=image_in_tool_message,
            embed_image=embed_image,
            allow_private_urls=allow_private_urls,
            allow_local_files=allow_local_files,
            drop_history_images=drop_history_images,
        )
        if len(replies) == 1:  # the image is inside the ToolMessage: nothing else to add
            return replies[0]
        return Command(update={"messages": replies})

    description = protocol.resize_tool_schema()["function"]["description"]
    return _ResizeImageTool(
        name=name, description=description, func=resize_image, args_schema=_ResizeArgs
    )
