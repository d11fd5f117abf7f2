"""What the model is shown: the conversation in state, rendered for one model call.

The state keeps one copy of each image (see :mod:`~visionthink_agent.graph.image_store`); these
functions put the **first look** where a user sent an image, the **high-resolution** view in
each resize turn and the **crop** of the original in each zoom turn, as LangChain v1 image
blocks (``{"type": "image", "base64", "mime_type"}``; ``ChatOpenAI`` sends them as
``image_url`` data URLs).

* :func:`prompted_messages` renders exactly protocol §1: the VisionThink system prompt, the user
  template with the image at its slot, the model's raw text (``<tool_call>`` included, no
  ``tool_calls``), the tool turn as a **user** message; ``ToolMessage`` objects are dropped, so
  the model never sees ``role: tool``.
* :func:`native_messages` keeps the LangGraph conversation (``tool_calls``, ``ToolMessage``)
  and only swaps in the first-look / high-resolution images, for models with native tool calls.

Example:
    >>> from langchain_core.messages import HumanMessage
    >>> from PIL import Image
    >>> from visionthink_agent.graph.image_store import normalise_image_block
    >>> image = normalise_image_block(Image.new("RGB", (64, 48)))
    >>> sent = prompted_messages([HumanMessage([{"type": "text", "text": "Colour?"}, image])])
    >>> [m.type for m in sent], sent[1].content[1]["mime_type"]
    (['system', 'human'], 'image/png')
    >>> sent[1].content[2]["text"]
    '\\nColour?'
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, SystemMessage, ToolMessage

from visionthink_agent import protocol
from visionthink_agent.graph.conversation import (
    find_image_block,
    image_blocks,
    is_tool_turn,
    message_text,
    question_start,
)
from visionthink_agent.graph.image_store import block_zoom_box, image_block_id, source_for_block
from visionthink_agent.images import (
    DEFAULT_LIMITS,
    EncodedImage,
    ImageLimits,
    SourceImage,
    is_image_block,
)

__all__ = [
    "HISTORY_IMAGE_NOTE",
    "history_image_messages",
    "image_payload_block",
    "native_messages",
    "parts_to_content",
    "prompted_messages",
    "resolve_image",
]


def image_payload_block(payload: EncodedImage) -> dict[str, Any]:
    """A LangChain v1 image block for an encoded image.

    Example:
        >>> image_payload_block(EncodedImage(b"x", "image/png", 1, 1))
        {'type': 'image', 'base64': 'eA==', 'mime_type': 'image/png'}
    """
    return {"type": "image", "base64": payload.base64, "mime_type": payload.mime_type}


def parts_to_content(parts: Sequence[protocol.Part], image: Any) -> list[Any]:
    """Turn a rendered protocol turn into content blocks, ``image`` at the :data:`IMAGE` slot.

    Example:
        >>> content = parts_to_content(["a", protocol.IMAGE, "b"], {"type": "image", "id": "i"})
        >>> [block["type"] for block in content]
        ['text', 'image', 'text']
    """
    return [
        image if isinstance(part, protocol.ImageSlot) else {"type": "text", "text": part}
        for part in parts
    ]


def resolve_image(
    block: Mapping[str, Any],
    messages: Sequence[BaseMessage],
    *,
    allow_private_urls: bool = False,
    allow_local_files: bool = False,
    image_limits: ImageLimits = DEFAULT_LIMITS,
) -> SourceImage:
    """The ``SourceImage`` of an image block, finding a referenced image's copy in ``messages``.

    Raises:
        ValueError: the block refers to an image that is neither cached nor in ``messages``.
        visionthink_agent.images.ImageError: the image cannot be read.

    Example:
        >>> from PIL import Image
        >>> from visionthink_agent.graph.image_store import normalise_image_block
        >>> block = normalise_image_block(Image.new("RGB", (30, 30)))
        >>> resolve_image({"type": "image", "id": block["id"]}, []).size
        (30, 30)
    """
    try:
        return source_for_block(
            block,
            allow_private_urls=allow_private_urls,
            allow_local_files=allow_local_files,
            image_limits=image_limits,
        )
    except KeyError:
        key = image_block_id(block)
        stored = find_image_block(messages, key) if key else None
        if stored is None:
            raise ValueError(
                f"image {key!r} is referenced but its data is not in the conversation"
            ) from None
        return source_for_block(
            stored,
            allow_private_urls=allow_private_urls,
            allow_local_files=allow_local_files,
            image_limits=image_limits,
        )


HISTORY_IMAGE_NOTE = "(image from earlier in the conversation, left out)"
"""The text that stands in for a history image when ``drop_history_images`` is on."""


def history_image_messages(messages: Sequence[BaseMessage]) -> set[int]:
    """Indices of the messages whose images ``drop_history_images`` leaves out.

    Every message before the latest question that holds an image (earlier first looks and
    high-resolution views), except the user message holding the image the question is about
    (a follow-up without its own image keeps that image's first look).

    Example:
        >>> from langchain_core.messages import AIMessage
        >>> a = HumanMessage([{"type": "image", "id": "img-a"}])
        >>> b = HumanMessage([{"type": "image", "id": "img-b"}])
        >>> history_image_messages([a, AIMessage("x"), b, AIMessage("y"), HumanMessage("more?")])
        {0}
    """
    start = question_start(messages)
    current = next(
        (
            i
            for i in range(len(messages) - 1, -1, -1)
            if isinstance(messages[i], HumanMessage)
            and not is_tool_turn(messages[i])
            and image_blocks(messages[i])
        ),
        -1,
    )
    return {i for i in range(max(start, 0)) if i != current and image_blocks(messages[i])}


class _Renderer:
    """Swaps image blocks for first-look / high-resolution / crop payloads (or the history note)."""

    def __init__(
        self,
        messages: Sequence[BaseMessage],
        allow_private_urls: bool,
        allow_local_files: bool,
        image_limits: ImageLimits,
        drop_history_images: bool = False,
    ) -> None:
        self.messages = messages
        self.allow_private_urls = allow_private_urls
        self.allow_local_files = allow_local_files
        self.image_limits = image_limits
        self.omitted = history_image_messages(messages) if drop_history_images else set()

    def source(self, block: Mapping[str, Any]) -> SourceImage:
        return resolve_image(
            block,
            self.messages,
            allow_private_urls=self.allow_private_urls,
            allow_local_files=self.allow_local_files,
            image_limits=self.image_limits,
        )

    def first_look(self, block: Mapping[str, Any]) -> dict[str, Any]:
        return image_payload_block(self.source(block).first_look_payload())

    def high_res(self, block: Mapping[str, Any]) -> dict[str, Any]:
        source, box = self.source(block), block_zoom_box(block)
        payload = source.high_res_payload() if box is None else source.zoom_payload(box)
        return image_payload_block(payload)

    def swap_images(self, message: BaseMessage, *, high_res: bool, omit: bool = False) -> list[Any]:
        assert not isinstance(message.content, str)
        view = _history_note if omit else self.high_res if high_res else self.first_look
        return [
            view(block) if isinstance(block, Mapping) and is_image_block(block) else block
            for block in message.content
        ]


def _history_note(block: Mapping[str, Any]) -> dict[str, Any]:
    return {"type": "text", "text": HISTORY_IMAGE_NOTE}


def prompted_messages(
    messages: Sequence[BaseMessage],
    *,
    system_prompt: str = protocol.SYSTEM_PROMPT,
    allow_private_urls: bool = False,
    allow_local_files: bool = False,
    image_limits: ImageLimits = DEFAULT_LIMITS,
    drop_history_images: bool = False,
) -> list[BaseMessage]:
    """Render a conversation exactly as protocol §1, for a model that parses its own tool calls.

    Each user question with an image becomes ``protocol.user_turn(question)`` with the first
    look at the image slot (a question without an image is sent as its plain text); each
    ``AIMessage`` becomes its raw text; each resize / zoom / error turn is a user message with
    the high-resolution image / the crop of the region; ``ToolMessage`` and any
    ``SystemMessage`` in state are left out (the protocol's system prompt comes first).

    Args:
        messages: the conversation in state.
        system_prompt: the system message (the VisionThink one by default; for the zoom
            tool, ``protocol.system_prompt(tool_mode, boxes)``).
        allow_private_urls: let image URLs point at private / loopback addresses.
        allow_local_files: let image blocks name local files (``file_path``, ``file://``, a
            path); off by default, like private URLs.
        image_limits: the pixel and byte limits every image is read under
            (:class:`~visionthink_agent.images.ImageLimits`; ``load_image``'s defaults).
        drop_history_images: leave out the images of earlier questions
            (:func:`history_image_messages`; :data:`HISTORY_IMAGE_NOTE` stands in for each).

    Raises:
        ValueError: a user message holds more than one image.

    Example:
        >>> from langchain_core.messages import AIMessage
        >>> sent = prompted_messages([HumanMessage("2+2?"), AIMessage("<answer>4</answer>")])
        >>> [(m.type, m.content) for m in sent[1:]]
        [('human', '2+2?'), ('ai', '<answer>4</answer>')]
    """
    render = _Renderer(
        messages, allow_private_urls, allow_local_files, image_limits, drop_history_images
    )
    out: list[BaseMessage] = [SystemMessage(content=system_prompt)]
    for index, message in enumerate(messages):
        omit = index in render.omitted
        if isinstance(message, HumanMessage):
            if is_tool_turn(message):
                content = (
                    message.content
                    if isinstance(message.content, str)
                    else render.swap_images(message, high_res=True, omit=omit)
                )
                out.append(HumanMessage(content=content))
                continue
            blocks = image_blocks(message)
            if len(blocks) > 1:
                raise ValueError(
                    f"a VisionThink question is about one image; this message holds {len(blocks)}"
                )
            question = message_text(message)
            if not blocks:
                out.append(HumanMessage(content=question))
                continue
            turn = protocol.user_turn(question)
            image = _history_note(blocks[0]) if omit else render.first_look(blocks[0])
            out.append(HumanMessage(content=parts_to_content(turn, image)))
        elif isinstance(message, AIMessage):
            out.append(AIMessage(content=message_text(message)))
        elif not isinstance(message, (ToolMessage, SystemMessage)):
            out.append(message)
    return out


def native_messages(
    messages: Sequence[BaseMessage],
    *,
    system_prompt: str | None = None,
    allow_private_urls: bool = False,
    allow_local_files: bool = False,
    image_limits: ImageLimits = DEFAULT_LIMITS,
    drop_history_images: bool = False,
) -> list[BaseMessage]:
    """Render a conversation for a model with native tool calling (``bind_tools``).

    The messages are kept as they are (``AIMessage.tool_calls``, ``ToolMessage``) except that
    user images become their first look, resize turns carry the high-resolution image and zoom
    turns the crop of their region.

    Args:
        messages: the conversation in state.
        system_prompt: prepended as a ``SystemMessage`` when given.
        allow_private_urls: let image URLs point at private / loopback addresses.
        allow_local_files: let image blocks name local files (``file_path``, ``file://``, a
            path); off by default, like private URLs.
        image_limits: the pixel and byte limits every image is read under
            (:class:`~visionthink_agent.images.ImageLimits`; ``load_image``'s defaults).
        drop_history_images: as in :func:`prompted_messages`.

    Example:
        >>> [m.type for m in native_messages([HumanMessage("hi")], system_prompt="Be brief.")]
        ['system', 'human']
    """
    render = _Renderer(
        messages, allow_private_urls, allow_local_files, image_limits, drop_history_images
    )
    out: list[BaseMessage] = [SystemMessage(content=system_prompt)] if system_prompt else []
    for index, message in enumerate(messages):
        omit = index in render.omitted
        if isinstance(message, HumanMessage) and image_blocks(message):
            content = render.swap_images(message, high_res=is_tool_turn(message), omit=omit)
            out.append(message.model_copy(update={"content": content}))
        elif isinstance(message, ToolMessage) and image_blocks(message):
            content = render.swap_images(message, high_res=True, omit=omit)
            out.append(message.model_copy(update={"content": content}))
        else:
            out.append(message)
    return out
