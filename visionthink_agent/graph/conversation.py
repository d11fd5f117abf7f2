"""Reading a LangGraph conversation the VisionThink way: questions, tool turns, current image.

A *tool turn* is the ``HumanMessage`` the resize or zoom tool adds after its ``ToolMessage``
(protocol §1.4); it is marked with ``additional_kwargs["visionthink"] = {"turn": "resize",
"image_id": ...}``, ``{"turn": "zoom", "image_id": ..., "box": [left, top, right, bottom]}`` or
``{"turn": "error"}`` so it is never mistaken for a new question.

Example:
    >>> from langchain_core.messages import AIMessage, HumanMessage
    >>> msgs = [HumanMessage("hi"), AIMessage("hello"), tool_turn_message(["ok"], image_id=None)]
    >>> question_start(msgs), is_tool_turn(msgs[2]), message_text(msgs[1])
    (0, True, 'hello')
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from langchain_core.messages import AIMessage, BaseMessage, HumanMessage

from visionthink_agent.graph.image_store import has_image_data, image_block_id
from visionthink_agent.images import PixelBox, is_image_block

__all__ = [
    "MARKER",
    "current_image_block",
    "find_image_block",
    "image_blocks",
    "is_tool_turn",
    "last_ai_message",
    "message_text",
    "question_start",
    "resize_count",
    "tool_turn_message",
    "zoom_boxes",
]

MARKER = "visionthink"
"""``additional_kwargs`` key marking a tool turn."""


def is_tool_turn(message: BaseMessage) -> bool:
    """Whether ``message`` is a tool turn added by the resize or zoom tool (not a question).

    Example:
        >>> is_tool_turn(HumanMessage("What is this?"))
        False
    """
    return isinstance(message, HumanMessage) and MARKER in message.additional_kwargs


def tool_turn_message(
    content: list[Any], *, image_id: str | None, box: PixelBox | None = None
) -> HumanMessage:
    """A marked tool turn: the high-resolution image (``image_id``), its region ``box`` (a zoom),
    or an error (``image_id`` None).

    Example:
        >>> tool_turn_message(["bad call"], image_id=None).additional_kwargs
        {'visionthink': {'turn': 'error'}}
        >>> tool_turn_message(["crop"], image_id="img-1", box=(0, 0, 28, 28)).additional_kwargs
        {'visionthink': {'turn': 'zoom', 'image_id': 'img-1', 'box': [0, 0, 28, 28]}}
    """
    marker: dict[str, Any]
    if not image_id:
        marker = {"turn": "error"}
    elif box is None:
        marker = {"turn": "resize", "image_id": image_id}
    else:
        marker = {"turn": "zoom", "image_id": image_id, "box": list(box)}
    return HumanMessage(content=content, additional_kwargs={MARKER: marker})


def message_text(message: BaseMessage) -> str:
    """The text of a message: its string content, or its text blocks joined.

    Example:
        >>> message_text(HumanMessage([{"type": "text", "text": "a"}, "b"]))
        'ab'
    """
    content = message.content
    if isinstance(content, str):
        return content
    pieces = []
    for block in content:
        if isinstance(block, str):
            pieces.append(block)
        elif isinstance(block, Mapping) and block.get("type") == "text":
            pieces.append(str(block.get("text", "")))
    return "".join(pieces)


def image_blocks(message: BaseMessage) -> list[Mapping[str, Any]]:
    """The image blocks of a message, in order.

    Example:
        >>> image_blocks(HumanMessage([{"type": "image_url", "image_url": {"url": "x"}}]))
        [{'type': 'image_url', 'image_url': {'url': 'x'}}]
    """
    if isinstance(message.content, str):
        return []
    return [b for b in message.content if isinstance(b, Mapping) and is_image_block(b)]


def question_start(messages: Sequence[BaseMessage]) -> int:
    """Index of the latest user question (a ``HumanMessage`` that is not a tool turn), or -1.

    Example:
        >>> question_start([AIMessage("x")])
        -1
    """
    for i in range(len(messages) - 1, -1, -1):
        message = messages[i]
        if isinstance(message, HumanMessage) and not is_tool_turn(message):
            return i
    return -1


def current_image_block(messages: Sequence[BaseMessage]) -> Mapping[str, Any] | None:
    """The image the conversation is about: the last image a user sent, or None.

    Example:
        >>> block = {"type": "image", "id": "img-1"}
        >>> current_image_block([HumanMessage([block]), HumanMessage("and now?")]) == block
        True
    """
    for message in reversed(messages):
        if isinstance(message, HumanMessage) and not is_tool_turn(message):
            blocks = image_blocks(message)
            if blocks:
                return blocks[-1]
    return None


def find_image_block(messages: Sequence[BaseMessage], image_id: str) -> Mapping[str, Any] | None:
    """The stored copy (with data) of image ``image_id`` in the conversation, or None.

    Example:
        >>> block = {"type": "image", "id": "img-1", "base64": "AAAA"}
        >>> find_image_block([HumanMessage([block])], "img-1") == block
        True
    """
    for message in messages:
        for block in image_blocks(message):
            if image_block_id(block) == image_id and has_image_data(block):
                return block
    return None


def _markers(messages: Sequence[BaseMessage], turn: str) -> list[Mapping[str, Any]]:
    """The markers of the ``turn`` tool turns (a ``ToolMessage`` holding the turn counts too)."""
    markers = (m.additional_kwargs.get(MARKER) for m in messages)
    return [m for m in markers if isinstance(m, Mapping) and m.get("turn") == turn]


def resize_count(messages: Sequence[BaseMessage], image_id: str) -> int:
    """How many times the high-resolution view of ``image_id`` was given in ``messages``.

    Example:
        >>> resize_count([tool_turn_message(["x"], image_id="img-1")], "img-1")
        1
    """
    return sum(1 for m in _markers(messages, "resize") if m.get("image_id") == image_id)


def zoom_boxes(messages: Sequence[BaseMessage]) -> list[PixelBox]:
    """The pixel boxes of the zoomed-in regions given in ``messages``, in order.

    Example:
        >>> zoom_boxes([tool_turn_message(["x"], image_id="img-1", box=(0, 0, 28, 28))])
        [(0, 0, 28, 28)]
    """
    boxes: list[PixelBox] = []
    for marker in _markers(messages, "zoom"):
        left, top, right, bottom = (int(v) for v in marker["box"])
        boxes.append((left, top, right, bottom))
    return boxes


def last_ai_message(messages: Sequence[BaseMessage]) -> AIMessage | None:
    """The last ``AIMessage`` of the conversation, or None.

    Example:
        >>> last_ai_message([HumanMessage("q")]) is None
        True
    """
    for message in reversed(messages):
        if isinstance(message, AIMessage):
            return message
    return None
