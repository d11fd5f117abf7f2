"""The VisionThink agent graph: first look, optional resize or zoom, answer.

Example:
    >>> from langchain_core.language_models import FakeMessagesListChatModel
    >>> from langchain_core.messages import AIMessage
    >>> reply = AIMessage("<think>easy</think><answer>4</answer>")
    >>> model = FakeMessagesListChatModel(responses=[reply])
    >>> graph = create_visionthink_agent(model).compile()
    >>> graph.invoke({"messages": [("user", "What is 2+2?")]})["answer"]
    '4'
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Iterator, Sequence
from typing import Any, Literal

import openai
from langchain_core.language_models import BaseChatModel, LanguageModelLike
from langchain_core.messages import AIMessage, BaseMessage, HumanMessage
from langchain_core.runnables import RunnableConfig
from langgraph._internal._runnable import RunnableCallable
from langgraph.config import get_stream_writer
from langgraph.graph import END, START, StateGraph
from langgraph.types import Command

from visionthink_agent import protocol
from visionthink_agent.backends.families import family_of
from visionthink_agent.graph.conversation import (
    image_blocks,
    is_tool_turn,
    last_ai_message,
    message_text,
)
from visionthink_agent.graph.image_store import image_block_id, normalise_image_block
from visionthink_agent.graph.rendering import native_messages, prompted_messages
from visionthink_agent.graph.replies import high_res_reply, request_budget
from visionthink_agent.graph.results import (
    empty_result,
    question_result,
    token_account_event,
    turn_limit_replies,
)
from visionthink_agent.graph.state import VisionThinkInput, VisionThinkOutput, VisionThinkState
from visionthink_agent.graph.turns import parse_model_turn, turn_calls
from visionthink_agent.images import DEFAULT_LIMITS, ImageLimits, VisionGeometry, is_image_block
from visionthink_agent.questions import (
    DEFAULT_MAX_QUESTION_CHARS,
    check_question_length,
    check_question_text,
)
from visionthink_agent.urls import display_url

__all__ = [
    "NATIVE_SYSTEM_PROMPT",
    "Mode",
    "create_visionthink_agent",
    "native_system_prompt",
    "normalise_new_messages",
]

Mode = Literal["prompted", "native"]

NATIVE_SYSTEM_PROMPT = (
    "Images you are shown are a downsampled first look (half the width and height of the "
    "original). If the first look is not enough to answer reliably, call the `resize_image` "
    'tool with {"action": "resize"} to receive the full-resolution image, then answer.'
)
"""Default system prompt in native mode with the resize tool (prompted mode uses the protocol's
own prompt)."""
_NATIVE_FIRST_LOOK = (
    "Images you are shown are a downsampled first look (half the width and height of the "
    "original). "
)
_NATIVE_ZOOM = (
    "call the `image_zoom_in_tool` tool with the `bbox_2d` of the region you need to receive "
    "that region cropped from the full-resolution original"
)


def native_system_prompt(tool_mode: protocol.ToolMode = "resize") -> str:
    """The default native-mode system prompt for ``tool_mode`` (the tools' schemas are bound).

    Example:
        >>> native_system_prompt() == NATIVE_SYSTEM_PROMPT
        True
        >>> "`image_zoom_in_tool`" in native_system_prompt("zoom")
        True
    """
    if tool_mode == "resize":
        return NATIVE_SYSTEM_PROMPT
    if tool_mode == "zoom":
        return (
            f"{_NATIVE_FIRST_LOOK}If a detail you need is too small to see in the first look, "
            f"{_NATIVE_ZOOM}, then answer."
        )
    return (
        f"{_NATIVE_FIRST_LOOK}If the first look is not enough to answer reliably, call the "
        '`resize_image` tool with {"action": "resize"} to receive the full-resolution image, '
        f"or, when you need only a small region, {_NATIVE_ZOOM}; then answer."
    )


def normalise_new_messages(
    messages: Sequence[BaseMessage],
    *,
    allow_private_urls: bool = False,
    allow_local_files: bool = False,
    image_limits: ImageLimits = DEFAULT_LIMITS,
    max_question_chars: int = DEFAULT_MAX_QUESTION_CHARS,
) -> list[BaseMessage]:
    """Check the question sent since the last model turn and normalise its images.

    The question's text (the text of those user messages) is checked: its length before any
    image is read, then that it is not empty
    (:func:`~visionthink_agent.questions.check_question_text`). Each image block
    becomes its one state copy (:func:`normalise_image_block`); the message keeps its id, so
    returning it replaces the original in state.

    Raises:
        visionthink_agent.questions.QuestionError: the question's text is empty or longer than
            ``max_question_chars``.
        ValueError: a user message holds more than one image.
        visionthink_agent.images.ImageError: an image cannot be read.

    Example:
        >>> png = ("iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmM"
        ...        "IQAAAABJRU5ErkJggg==")
        >>> camel = {"type": "image", "data": png, "mimeType": "image/png"}
        >>> (msg,) = normalise_new_messages([HumanMessage([{"type": "text", "text": "?"}, camel])])
        >>> sorted(msg.content[1])
        ['base64', 'id', 'mime_type', 'type']
    """
    new: list[HumanMessage] = []
    for message in reversed(messages):
        if isinstance(message, AIMessage):
            break
        if isinstance(message, HumanMessage) and not is_tool_turn(message):
            new.append(message)
    for message in new:
        if (count := len(image_blocks(message))) > 1:
            raise ValueError(
                f"a VisionThink question is about one image; this message holds {count} "
                "(send one image per question)"
            )
    text = "".join(message_text(m) for m in reversed(new))
    check_question_length(text, max_chars=max_question_chars)  # before any image is read
    changed: list[BaseMessage] = []
    for message in new:
        blocks = image_blocks(message)
        if not blocks or (image_block_id(blocks[0]) and blocks[0].get("base64")):
            continue
        assert not isinstance(message.content, str)
        content = [
            normalise_image_block(
                b,
                allow_private_urls=allow_private_urls,
                allow_local_files=allow_local_files,
                image_limits=image_limits,
            )
            if is_image_block(b)
            else b
            for b in message.content
        ]
        changed.append(message.model_copy(update={"content": content}))
    if new:
        check_question_text(text, max_chars=max_question_chars)  # an image's error comes first
    return changed[::-1]


@contextlib.contextmanager
def _model_server_named() -> Iterator[None]:
    """An unreachable model server is named: ``openai``'s own message is a bare
    "Connection error." The error keeps its type (callers classify it); the URL is shown
    without user-info.
    """
    try:
        yield
    except openai.APIConnectionError as exc:
        if isinstance(exc, openai.APITimeoutError) or exc.message != "Connection error.":
            raise
        cause: BaseException = exc
        while cause.__cause__ is not None:  # the socket's own reason, at the bottom
            cause = cause.__cause__
        reason = str(cause) or type(cause).__name__
        url = display_url(str(exc.request.url))
        raise openai.APIConnectionError(
            message=f"cannot reach the model server at {url} ({reason}): is it running?",
            request=exc.request,
        ) from exc


def create_visionthink_agent(
    model: LanguageModelLike,
    *,
    mode: Mode = "prompted",
    tool_mode: protocol.ToolMode = "resize",
    boxes: protocol.BoxConvention | None = None,
    max_resizes: int = protocol.MAX_RESIZES,
    max_zooms: int = protocol.MAX_ZOOMS,
    max_model_turns: int | None = None,
    system_prompt: str | None = None,
    image_in_tool_message: bool = False,
    allow_private_urls: bool = False,
    allow_local_files: bool = False,
    image_limits: ImageLimits = DEFAULT_LIMITS,
    drop_history_images: bool = False,
    geometry: VisionGeometry | None = None,
    max_question_chars: int = DEFAULT_MAX_QUESTION_CHARS,
) -> StateGraph[Any, Any, Any, Any]:
    """Build the VisionThink agent as an uncompiled ``StateGraph``.

    Two nodes: ``model`` (on a new question, normalises its image and resets the result keys;
    renders the conversation with the first look and calls the model, bound to the schemas of
    the ``tool_mode``'s tools in native mode; when the question is over, sets the result keys
    and streams the token account as a custom event) and ``tools`` (the resize / zoom reply,
    :func:`~visionthink_agent.graph.high_res_reply`, then back to ``model``). Compile it with
    any checkpointer (``.compile(checkpointer=...)``); sync and async (``invoke`` / ``ainvoke``
    / ``stream`` / ``astream``) both work.

    Input: ``{"messages": [HumanMessage(content=[{"type": "text", "text": question},
    image_block])]}``; output keys: see :mod:`visionthink_agent.graph.state`.

    Args:
        model: a LangChain chat model. In ``prompted`` mode it is called as is (no
            ``bind_tools`` needed); in ``native`` mode it must support ``bind_tools``.
        mode: ``"prompted"`` shows the model exactly the VisionThink protocol and parses
            ``<tool_call>`` from its text (VisionThink / Qwen2.5-VL checkpoints); ``"native"``
            uses native tool calling (GPT-4o, Qwen3-VL behind a tool parser).
        tool_mode: the high-resolution request the model may make: ``"resize"`` (the whole
            image, VisionThink; the default, byte-exact to the released protocol), ``"zoom"``
            (a region, ``image_zoom_in_tool`` with ``bbox_2d``, cropped from the original) or
            ``"both"`` (the model chooses).
        boxes: how the model writes ``bbox_2d``: ``"first_look_pixels"`` (Qwen2.5-VL: pixels
            of the first look it was shown) or ``"relative_1000"`` (Qwen3-VL: 0-1000); default
            the model family's (:func:`~visionthink_agent.backends.families.family_of`).
        max_resizes: high-resolution views allowed per image (a further call gets the
            protocol's error turn).
        max_zooms: regions allowed per question (a further zoom gets the error turn).
        max_model_turns: model calls per question; default one per allowed request plus the
            answer (``protocol.tool_budget(tool_mode).max_model_turns``: 2 for resize, 3 for
            zoom, 4 for both). A model still calling a tool on its last turn ends the question
            with status ``turn_limit``.
        system_prompt: the system message; default ``protocol.system_prompt(tool_mode, boxes)``
            (prompted; ``protocol.SYSTEM_PROMPT`` for resize) or
            :func:`native_system_prompt` (native).
        image_in_tool_message: native mode only: return the image inside the ``ToolMessage``
            (OpenAI Responses API) instead of a following ``HumanMessage``.
        allow_private_urls: let image URLs point at private / loopback addresses.
        allow_local_files: let image blocks name local files (``file_path``, ``file://``, a
            path); off by default, like private URLs.
        image_limits: the pixel and byte limits every image is read under
            (:class:`~visionthink_agent.images.ImageLimits`; ``load_image``'s defaults).
        drop_history_images: on a follow-up, leave the earlier questions' images out of the
            request (a short note stands in for each; the image the question is about keeps its
            first look, and it may be resized again). Off by default: the whole conversation
            is re-sent, and the token account counts those images under ``history``.
        geometry: the token arithmetic for the token account; default the model family's
            (:data:`~visionthink_agent.images.QWEN3_VL` for a Qwen3-VL model, else
            :data:`~visionthink_agent.images.QWEN2_5_VL`).
        max_question_chars: the most characters of question text; a longer (or an empty)
            question raises :class:`~visionthink_agent.questions.QuestionError` before any
            image is read or the model is called.

    Raises:
        ValueError: an unknown mode, tool mode or box convention, a bad limit, or
            ``image_in_tool_message`` in prompted mode.
        TypeError: native mode with a model that has no ``bind_tools``.
    """
    if mode not in ("prompted", "native"):
        raise ValueError(f"mode must be 'prompted' or 'native', got {mode!r}")
    family = family_of(model)
    boxes = family.boxes if boxes is None else boxes
    geometry = family.geometry if geometry is None else geometry
    budget = request_budget(tool_mode, boxes, max_resizes=max_resizes, max_zooms=max_zooms)
    turns_allowed = budget.max_model_turns if max_model_turns is None else max_model_turns
    if not 1 <= turns_allowed <= 10:
        raise ValueError(f"max_model_turns must be between 1 and 10, got {turns_allowed}")
    if image_in_tool_message and mode == "prompted":
        raise ValueError(
            "image_in_tool_message needs mode='native' (prompted turns are user turns)"
        )
    bound: Any = model
    if mode == "native":
        if not isinstance(model, BaseChatModel) and not hasattr(model, "bind_tools"):
            raise TypeError(f"native mode needs a chat model with bind_tools, got {type(model)}")
        try:
            bound = model.bind_tools(protocol.tool_schemas(tool_mode, boxes))
        except NotImplementedError as exc:
            raise TypeError(
                f"{type(model).__name__} has no bind_tools; use mode='prompted'"
            ) from exc
        default = native_system_prompt(tool_mode)
    else:
        default = protocol.system_prompt(tool_mode, boxes)
    prompt = default if system_prompt is None else system_prompt

    def render(messages: list[BaseMessage]) -> list[BaseMessage]:
        if mode == "prompted":
            return prompted_messages(
                messages,
                system_prompt=prompt,
                allow_private_urls=allow_private_urls,
                allow_local_files=allow_local_files,
                image_limits=image_limits,
                drop_history_images=drop_history_images,
            )
        return native_messages(
            messages,
            system_prompt=prompt,
            allow_private_urls=allow_private_urls,
            allow_local_files=allow_local_files,
            image_limits=image_limits,
            drop_history_images=drop_history_images,
        )

    def prepare(state: VisionThinkState) -> tuple[list[BaseMessage], dict[str, Any]]:
        """The conversation to render and the update so far (a new question is normalised)."""
        messages: list[BaseMessage] = list(state["messages"])
        last = messages[-1] if messages else None
        if not (isinstance(last, HumanMessage) and not is_tool_turn(last)):
            return messages, {"messages": [], "model_turns": state.get("model_turns", 0)}
        changed = normalise_new_messages(
            messages,
            allow_private_urls=allow_private_urls,
            allow_local_files=allow_local_files,
            image_limits=image_limits,
            max_question_chars=max_question_chars,
        )
        by_id = {m.id: m for m in changed}
        messages = [by_id.get(m.id, m) for m in messages]
        return messages, {"messages": changed, **empty_result()}

    def record(
        messages: list[BaseMessage], update: dict[str, Any], response: BaseMessage
    ) -> Command[Any]:
        """Add the model turn and route: on to ``tools`` for a call, else the question is over
        (its result and token account are set and the graph ends)."""
        if mode == "prompted":
            turn = parse_model_turn(response, tool_mode=tool_mode)
        elif isinstance(response, AIMessage):
            turn = response
        else:
            raise TypeError(f"the model returned a {type(response).__name__}, not an AIMessage")
        update["messages"].append(turn)
        update["model_turns"] += 1
        calls = bool(turn.tool_calls or turn.invalid_tool_calls)
        if calls and update["model_turns"] < turns_allowed:
            return Command(update=update, goto="tools")
        replies = turn_limit_replies(turn) if calls else []
        result = question_result(
            [*messages, turn, *replies],
            turn_limit=calls,
            allow_private_urls=allow_private_urls,
            allow_local_files=allow_local_files,
            image_limits=image_limits,
            drop_history_images=drop_history_images,
            geometry=geometry,
        )
        get_stream_writer()(token_account_event(result))
        update["messages"].extend(replies)
        return Command(update={**update, **result}, goto=END)

    def call_model(state: VisionThinkState, config: RunnableConfig) -> Command[Any]:
        messages, update = prepare(state)
        with _model_server_named():
            response = bound.invoke(render(messages), config)
        return record(messages, update, response)

    def prepare_and_render(
        state: VisionThinkState,
    ) -> tuple[list[BaseMessage], dict[str, Any], list[BaseMessage]]:
        messages, update = prepare(state)
        return messages, update, render(messages)

    async def acall_model(state: VisionThinkState, config: RunnableConfig) -> Command[Any]:
        # Image decoding and encoding run in a worker thread, off the event loop.
        messages, update, sent = await asyncio.to_thread(prepare_and_render, state)
        with _model_server_named():
            response = await bound.ainvoke(sent, config)
        return record(messages, update, response)

    def tools(state: VisionThinkState) -> dict[str, Any]:
        messages = state["messages"]
        last = last_ai_message(messages)
        assert last is not None
        replies = high_res_reply(
            messages,
            turn_calls(last),
            tool_mode=tool_mode,
            boxes=boxes,
            max_resizes=max_resizes,
            max_zooms=max_zooms,
            image_in_tool_message=image_in_tool_message,
            embed_image=False,
            allow_private_urls=allow_private_urls,
            allow_local_files=allow_local_files,
            image_limits=image_limits,
            drop_history_images=drop_history_images,
        )
        return {"messages": replies}

    async def atools(state: VisionThinkState) -> dict[str, Any]:
        return await asyncio.to_thread(tools, state)

    graph: StateGraph[Any, Any, Any, Any] = StateGraph(
        VisionThinkState, input_schema=VisionThinkInput, output_schema=VisionThinkOutput
    )
    # RunnableCallable (as in langgraph.prebuilt) gives a node a sync and an async body at the
    # cost of a plain function call; trace=False, as LangGraph sets for plain-function nodes,
    # keeps it from opening a second callback run inside the node's own. The model node routes
    # itself with a Command (it has just parsed the turn), which saves the separate branch run
    # a conditional edge costs on every model turn.
    graph.add_node(
        "model",
        RunnableCallable(call_model, acall_model, name="model", trace=False),
        destinations=("tools", END),
    )
    graph.add_node("tools", RunnableCallable(tools, atools, name="tools", trace=False))
    graph.add_edge(START, "model")
    graph.add_edge("tools", "model")
    return graph
