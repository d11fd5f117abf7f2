"""Answering a high-resolution request: the whole image (``resize_image``) or a region of it
(``image_zoom_in_tool``).

:func:`high_res_reply` is the one place that answers the tool call(s) of a model turn, used by
the agent graph's tool node, the ``create_agent`` middleware and the ``BaseTool`` objects of
:func:`~visionthink_agent.graph.create_resize_image_tool` and
:func:`~visionthink_agent.graph.create_zoom_image_tool`. A good call gets a ``ToolMessage``
(text) and a ``HumanMessage`` tool turn: ``protocol.tool_success_turn()`` with the
high-resolution image, or ``protocol.zoom_success_turn()`` with the region cropped from the
**original** image. A bad call (bad JSON, unknown tool or action, two calls, no image, a box
outside the image, with zero area or inverted corners, more requests than the budget) gets an
error ``ToolMessage`` and the protocol's error turn. Model mistakes never raise.

Example:
    >>> from langchain_core.messages import AIMessage, HumanMessage
    >>> call = {"name": "image_zoom_in_tool", "args": {"bbox_2d": [0, 0, 9, 9]}, "id": "c1"}
    >>> msgs = [HumanMessage("no image here"), AIMessage("", tool_calls=[call])]
    >>> tool_msg, turn = high_res_reply(msgs, [call], tool_mode="zoom")
    >>> tool_msg.status, turn.content[0]["text"].splitlines()[1].split(": ")[1]
    ('error', 'There is no image in the conversation to zoom in on.')
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, get_args

from langchain_core.messages import AIMessage, BaseMessage, ToolMessage
from langchain_core.tools import StructuredTool
from langgraph.prebuilt import ToolRuntime
from langgraph.types import Command

from visionthink_agent import protocol
from visionthink_agent.graph.conversation import (
    current_image_block,
    is_tool_turn,
    question_start,
    resize_count,
    tool_turn_message,
    zoom_boxes,
)
from visionthink_agent.graph.image_store import normalise_image_block, reference_block
from visionthink_agent.graph.rendering import image_payload_block, parts_to_content, resolve_image
from visionthink_agent.images import DEFAULT_LIMITS, ImageLimits, PixelBox, ZoomBoxError
from visionthink_agent.parsing import ToolCall, parse_tool_call, validate_tool_call

__all__ = [
    "ProtocolTool",
    "high_res_reply",
    "reply_in_tool_node",
    "request_budget",
    "resize_reply",
    "tool_names_for",
    "turn_after_tool_results",
]

_NO_IMAGE = "There is no image in the conversation to resize"
_NO_IMAGE_TO_ZOOM = "There is no image in the conversation to zoom in on"


def request_budget(
    tool_mode: protocol.ToolMode,
    boxes: protocol.BoxConvention = "first_look_pixels",
    *,
    max_resizes: int = protocol.MAX_RESIZES,
    max_zooms: int = protocol.MAX_ZOOMS,
) -> protocol.ToolBudget:
    """Check the tool options and return the requests one question may make.

    A tool that ``tool_mode`` lacks gets 0; the others get their limit, so the default
    ``max_model_turns`` (one turn per request, plus the answer) is the protocol's
    ``tool_budget(tool_mode).max_model_turns``.

    Example:
        >>> request_budget("both")
        ToolBudget(resizes=1, zooms=2)
        >>> request_budget("zoom", max_zooms=3).max_model_turns
        4
        >>> request_budget("crop")
        Traceback (most recent call last):
        ...
        ValueError: tool_mode must be one of 'resize', 'zoom', 'both', got 'crop'

    Raises:
        ValueError: an unknown ``tool_mode`` or ``boxes``, or a negative limit.
    """
    if tool_mode not in protocol.TOOL_MODES:
        known = ", ".join(repr(m) for m in protocol.TOOL_MODES)
        raise ValueError(f"tool_mode must be one of {known}, got {tool_mode!r}")
    conventions = get_args(protocol.BoxConvention)
    if boxes not in conventions:
        raise ValueError(
            f"boxes must be 'first_look_pixels' (Qwen2.5-VL: pixels of the first look) or "
            f"'relative_1000' (Qwen3-VL: 0-1000), got {boxes!r}"
        )
    for name, value in (("max_resizes", max_resizes), ("max_zooms", max_zooms)):
        if value < 0:
            raise ValueError(f"{name} must be >= 0, got {value}")
    budget = protocol.tool_budget(tool_mode)
    return protocol.ToolBudget(
        resizes=max_resizes if budget.resizes else 0, zooms=max_zooms if budget.zooms else 0
    )


def tool_names_for(
    tool_mode: protocol.ToolMode, tool_name: str = protocol.RESIZE_TOOL_NAME
) -> tuple[str, ...]:
    """The tool names of ``tool_mode``, the resize tool called ``tool_name``.

    Example:
        >>> tool_names_for("both", "look_closer")
        ('look_closer', 'image_zoom_in_tool')
    """
    return tuple(
        tool_name if n == protocol.RESIZE_TOOL_NAME else n for n in protocol.tool_names(tool_mode)
    )


def _validated(
    calls: Sequence[Mapping[str, Any]], tool_name: str, tool_mode: protocol.ToolMode
) -> tuple[ToolCall | None, str | None]:
    """The one valid request of a model turn, or why its calls are not one."""
    if len(calls) == 1:
        call = calls[0]
        if call.get("error"):
            return None, str(call["error"])
        obj = {"name": call.get("name"), "arguments": call.get("args")}
        return validate_tool_call(obj, tool_name=tool_name, mode=tool_mode)
    text = "".join(
        "<tool_call>"
        + json.dumps({"name": c.get("name"), "arguments": c.get("args")}, ensure_ascii=False)
        + "</tool_call>"
        for c in calls
    )
    return None, parse_tool_call(text, tool_name=tool_name, mode=tool_mode).error


def _times(count: int) -> str:
    return "once" if count == 1 else f"{count} times"  # the resize error's wording since v0.1


def _already_resized(max_resizes: int) -> str:
    return (
        f"The image was already resized {_times(max_resizes)}; the high-resolution image is "
        "shown above, use it to answer"
    )


def _already_zoomed(max_zooms: int) -> str:
    return (
        f"You already zoomed in {_times(max_zooms)} for this question, the limit; the regions "
        "are shown above, use them to answer"
    )


@dataclass(frozen=True)
class _View:
    """A granted request: the image block of the tool turn, the image's id, the region."""

    image: dict[str, Any]
    image_id: str
    box: PixelBox | None


@dataclass(frozen=True)
class _Options:
    boxes: protocol.BoxConvention
    max_resizes: int
    max_zooms: int
    embed_image: bool
    allow_private_urls: bool
    allow_local_files: bool
    image_limits: ImageLimits
    drop_history_images: bool


def _grant(messages: Sequence[BaseMessage], call: ToolCall, opts: _Options) -> _View | str:
    """The view a valid call asks for, or why it cannot be given (for the error turn)."""
    block = current_image_block(messages)
    if block is None:
        return _NO_IMAGE_TO_ZOOM if call.is_zoom else _NO_IMAGE
    access: dict[str, Any] = {
        "allow_private_urls": opts.allow_private_urls,
        "allow_local_files": opts.allow_local_files,
        "image_limits": opts.image_limits,
    }
    stored = normalise_image_block(block, **access)
    image_id = stored["id"]
    if call.is_zoom:
        if len(zoom_boxes(messages[max(question_start(messages), 0) :])) >= opts.max_zooms:
            return _already_zoomed(opts.max_zooms)
        source = resolve_image(stored, messages, **access)
        try:
            box = source.zoom_box(call.arguments["bbox_2d"], boxes=opts.boxes)
        except ZoomBoxError as exc:
            return str(exc)
        if opts.embed_image:
            return _View(image_payload_block(source.zoom_payload(box)), image_id, box)
        return _View(reference_block(image_id, box=box), image_id, box)
    start = max(question_start(messages), 0) if opts.drop_history_images else 0
    if resize_count(messages[start:], image_id) >= opts.max_resizes:
        return _already_resized(opts.max_resizes)
    if opts.embed_image:
        payload = resolve_image(stored, messages, **access).high_res_payload()
        return _View(image_payload_block(payload), image_id, None)
    return _View(reference_block(image_id), image_id, None)


def high_res_reply(
    messages: Sequence[BaseMessage],
    calls: Sequence[Mapping[str, Any]],
    *,
    tool_mode: protocol.ToolMode = "resize",
    boxes: protocol.BoxConvention = "first_look_pixels",
    max_resizes: int = protocol.MAX_RESIZES,
    max_zooms: int = protocol.MAX_ZOOMS,
    tool_name: str = protocol.RESIZE_TOOL_NAME,
    image_in_tool_message: bool = False,
    embed_image: bool = False,
    allow_private_urls: bool = False,
    allow_local_files: bool = False,
    image_limits: ImageLimits = DEFAULT_LIMITS,
    drop_history_images: bool = False,
) -> list[BaseMessage]:
    """Answer the resize / zoom call(s) of the last model turn.

    Args:
        messages: the conversation so far (the calling ``AIMessage`` last).
        calls: the turn's ``tool_calls`` and ``invalid_tool_calls`` (dicts with ``name``,
            ``args``, ``id``; an ``error`` key marks a call that could not be parsed).
        tool_mode: the tools that exist (``protocol.tool_names(tool_mode)``); a call of
            another tool is an error turn.
        boxes: how ``bbox_2d`` is written (pixels of the first look the model saw, or 0-1000).
        max_resizes: high-resolution views allowed per image; a further call is an error turn.
        max_zooms: regions allowed per question; a further zoom is an error turn.
        tool_name: the resize tool's function name.
        image_in_tool_message: put the whole tool turn (image included) in the ``ToolMessage``
            and add no ``HumanMessage`` (for the OpenAI Responses API).
        embed_image: put the image's data (the high-resolution view or the crop) in the reply;
            otherwise a reference to the user's image (``{"type": "image", "id"}``, plus the
            region's pixel box in ``extras`` for a zoom) that the VisionThink renderers resolve,
            so state holds one copy of each image.
        allow_private_urls: let image URLs point at private / loopback addresses.
        allow_local_files: let image blocks name local files (``file_path``, ``file://``, a
            path); off by default, like private URLs.
        image_limits: the pixel and byte limits every image is read under
            (:class:`~visionthink_agent.images.ImageLimits`; ``load_image``'s defaults).
        drop_history_images: the requests leave out earlier questions' images, so only this
            question's high-resolution views count toward ``max_resizes``.

    Returns:
        One ``ToolMessage`` per call, then (unless ``image_in_tool_message``) the tool turn.

    Example:
        >>> from langchain_core.messages import HumanMessage
        >>> from PIL import Image
        >>> from visionthink_agent.graph.image_store import normalise_image_block
        >>> image = normalise_image_block(Image.new("RGB", (400, 200)))
        >>> call = {"name": "image_zoom_in_tool", "args": {"bbox_2d": [10, 20, 60, 45]}, "id": "c"}
        >>> msgs = [HumanMessage([{"type": "text", "text": "Q"}, image]),
        ...         AIMessage("", tool_calls=[call])]
        >>> tool_msg, turn = high_res_reply(msgs, [call], tool_mode="zoom")
        >>> tool_msg.status, turn.content[1]["extras"]
        ('success', {'zoom_box': [20, 40, 120, 90]})
    """
    if not calls:
        return []
    opts = _Options(
        boxes=boxes,
        max_resizes=max_resizes,
        max_zooms=max_zooms,
        embed_image=embed_image,
        allow_private_urls=allow_private_urls,
        allow_local_files=allow_local_files,
        image_limits=image_limits,
        drop_history_images=drop_history_images,
    )
    call, error = _validated(calls, tool_name, tool_mode)
    view = _grant(messages, call, opts) if call is not None else error or ""
    if isinstance(view, str):
        content = parts_to_content(protocol.tool_error_turn(view), None)
        summary, status = f"Error: {view}", "error"
        turn = tool_turn_message(content, image_id=None)
    elif view.box is None:
        content = parts_to_content(protocol.tool_success_turn(), view.image)
        summary, status = "The high-resolution image follows.", "success"
        turn = tool_turn_message(content, image_id=view.image_id)
    else:
        content = parts_to_content(protocol.zoom_success_turn(), view.image)
        summary, status = "The zoomed-in region follows.", "success"
        turn = tool_turn_message(content, image_id=view.image_id, box=view.box)
    names = tool_names_for(tool_mode, tool_name)
    replies: list[BaseMessage] = []
    for i, each in enumerate(calls):
        last = i == len(calls) - 1
        replies.append(
            ToolMessage(
                content=turn.content if image_in_tool_message and last else summary,
                tool_call_id=str(each.get("id") or ""),
                name=each.get("name") if each.get("name") in names else names[0],
                status=status,
                additional_kwargs=turn.additional_kwargs if image_in_tool_message and last else {},
            )
        )
    if not image_in_tool_message:
        replies.append(turn)
    return replies


resize_reply = high_res_reply
"""The name of :func:`high_res_reply` from before the zoom tool (``tool_mode`` defaults to
``"resize"``, so it answers exactly as it did)."""

_NO_CONVERSATION = (
    "{name} reads the conversation from the graph state; run it in a LangGraph ToolNode "
    "(or create_agent)"
)


def reply_in_tool_node(
    runtime: ToolRuntime | None, call: Mapping[str, Any], **options: Any
) -> ToolMessage | Command[Any] | str:
    """What a VisionThink ``BaseTool`` returns for ``call`` inside a ``ToolNode``.

    The ``ToolNode`` injects ``runtime``, whose state holds the conversation: the answer is
    :func:`high_res_reply` (``options`` are its keyword arguments) as a ``Command`` adding the
    ``ToolMessage`` and the tool turn, or the lone ``ToolMessage`` that holds the whole turn
    (``image_in_tool_message``). Invoked directly (no ``runtime``), the tool has no
    conversation and answers with an error text saying where to run it.

    Example:
        >>> reply_in_tool_node(None, {"name": "image_zoom_in_tool"})
        'Error: image_zoom_in_tool reads the conversation from the graph state; run it in a \
LangGraph ToolNode (or create_agent).'
    """
    if runtime is None:
        return f"Error: {_NO_CONVERSATION.format(name=call.get('name'))}."
    state = runtime.state
    messages = state["messages"] if isinstance(state, Mapping) else state.messages
    replies = high_res_reply(messages, [{**call, "id": runtime.tool_call_id}], **options)
    if len(replies) == 1:  # the image is inside the ToolMessage: nothing else to add
        reply = replies[0]
        assert isinstance(reply, ToolMessage)
        return reply
    return Command(update={"messages": replies})


class ProtocolTool(StructuredTool):
    """A tool whose model-facing schema is the protocol's own function ``parameters``.

    The ``args_schema`` stays lenient (a bad ``bbox_2d`` reaches :func:`high_res_reply` and gets
    the protocol's error turn, not a validation error); the model is shown ``parameters``.
    """

    parameters: dict[str, Any]

    @property
    def tool_call_schema(self) -> Any:
        return self.parameters


def turn_after_tool_results(
    result: ToolMessage | Command[Any],
    call: Mapping[str, Any],
    messages: Sequence[BaseMessage],
    reply: Callable[[Mapping[str, Any]], Sequence[BaseMessage]],
    *,
    tool_names: Collection[str] = (protocol.RESIZE_TOOL_NAME, protocol.ZOOM_TOOL_NAME),
) -> ToolMessage | Command[Any]:
    """Keep a resize / zoom call's user turn after every tool result of its model turn.

    A ``ToolNode`` (and ``create_agent``) runs the calls of one model turn as separate tasks
    whose results land in call order, so a resize call followed by another call would leave
    ``ai, tool, human, tool``, which OpenAI-compatible servers and Anthropic reject. Applied to
    each call's result (a ``wrap_tool_call``), this drops the user turn from the result of a
    resize / zoom call that is not the turn's last pending call, and adds it, recomputed by
    ``reply(that_call)`` from the same state, to the result of the last pending call (the
    tool turns in call order, after that call's ``ToolMessage``).

    Args:
        result: what the tool returned for ``call``.
        call: the tool call that was run.
        messages: the conversation the calls were run on (the calling ``AIMessage`` last).
        reply: the answer (``ToolMessage`` and tool turn) to a resize or zoom call, e.g.
            ``lambda c: high_res_reply(messages, [c], tool_mode="both")``.
        tool_names: the names of the tools that add a user turn.

    Example:
        >>> from langchain_core.messages import HumanMessage
        >>> calls = [{"name": "resize_image", "args": {"action": "resize"}, "id": "r"},
        ...          {"name": "weather", "args": {}, "id": "w"}]
        >>> messages = [HumanMessage("no image"), AIMessage("", tool_calls=calls)]
        >>> out = turn_after_tool_results(ToolMessage("sunny", tool_call_id="w"), calls[1],
        ...                               messages, lambda c: high_res_reply(messages, [c]))
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
    if not pending or not any(c["name"] in tool_names for c in pending):
        return result
    if call.get("id") != pending[-1]["id"]:
        if call.get("name") not in tool_names or not isinstance(result, Command):
            return result
        return _with_messages(result, [m for m in _update_messages(result) if not is_tool_turn(m)])
    turns = [
        m
        for earlier in pending[:-1]
        if earlier["name"] in tool_names
        for m in reply(earlier)
        if is_tool_turn(m)
    ]
    if not turns:
        return result
    own = [result] if isinstance(result, ToolMessage) else _update_messages(result)
    # results first, then the tool turns in call order (the earlier calls', then this call's)
    ordered = [
        *(m for m in own if not is_tool_turn(m)),
        *turns,
        *(m for m in own if is_tool_turn(m)),
    ]
    if isinstance(result, ToolMessage):
        return Command(update={"messages": ordered})
    return _with_messages(result, ordered)


def _update_messages(command: Command[Any]) -> list[BaseMessage]:
    update = command.update if isinstance(command.update, Mapping) else {}
    return list(update.get("messages", []))


def _with_messages(command: Command[Any], messages: list[BaseMessage]) -> Command[Any]:
    update = dict(command.update) if isinstance(command.update, Mapping) else {}
    return dataclasses.replace(command, update={**update, "messages": messages})
