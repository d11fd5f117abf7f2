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
from dataclasses import replace
from typing import Any

import openai
from langchain_core.language_models import BaseChatModel, LanguageModelLike
from langchain_core.messages import AIMessage, BaseMessage, HumanMessage
from langchain_core.runnables import RunnableConfig
from langgraph._internal._runnable import RunnableCallable
from langgraph.config import get_stream_writer
from langgraph.graph import END, START, StateGraph
from langgraph.types import Command
from typing_extensions import Unpack

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
from visionthink_agent.graph.settings import AgentOptions, AgentSettings, Mode
from visionthink_agent.graph.state import VisionThinkInput, VisionThinkOutput, VisionThinkState
from visionthink_agent.graph.turns import parse_model_turn, turn_calls
from visionthink_agent.images import DEFAULT_LIMITS, ImageLimits, is_image_block
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
    "model_server_named",
    "native_system_prompt",
    "normalise_new_messages",
]

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


class ModelServerUnreachableError(openai.APIConnectionError, RuntimeError):
    """A refused or failed connection to the model server, named by :func:`model_server_named`."""


@contextlib.contextmanager
def model_server_named() -> Iterator[None]:
    """An unreachable model server is named: ``openai``'s own message is a bare
    "Connection error." The error keeps its type (callers classify it) and is also a
    ``RuntimeError``, so the LangGraph API server shows its message to the client (it
    hides the message of any other exception kind); the URL is shown without user-info.
    Used around every model call of the graph and of
    :class:`~visionthink_agent.graph.VisionThinkMiddleware`.

    Example:
        >>> import httpx
        >>> request = httpx.Request("POST", "http://bob:pw@127.0.0.1:9/v1")
        >>> try:
        ...     with model_server_named():
        ...         refused = ConnectionRefusedError("refused")
        ...         raise openai.APIConnectionError(request=request) from refused
        ... except openai.APIConnectionError as exc:
        ...     print(exc)
        cannot reach the model server at http://127.0.0.1:9/v1 (refused): is it running?
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
        raise ModelServerUnreachableError(
            message=f"cannot reach the model server at {url} ({reason}): is it running?",
            request=exc.request,
        ) from exc


def create_visionthink_agent(
    model: LanguageModelLike,
    settings: AgentSettings | None = None,
    **options: Unpack[AgentOptions],
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
        settings: the agent's options (:class:`~visionthink_agent.graph.settings.AgentSettings`:
            ``mode``, ``tool_mode``, ``boxes``, ``max_resizes``, ``max_zooms``,
            ``max_model_turns``, ``system_prompt``, ``image_in_tool_message``,
            ``allow_private_urls``, ``allow_local_files``, ``image_limits``,
            ``drop_history_images``, ``geometry``, ``max_question_chars``); default
            ``AgentSettings()``.
        **options: any of those options by name, over ``settings``
            (``create_visionthink_agent(model, mode="native")``).

    Raises:
        ValueError: an unknown mode, tool mode or box convention, a bad limit, or
            ``image_in_tool_message`` in prompted mode.
        TypeError: native mode with a model that has no ``bind_tools``, or an unknown option.

    Example:
        >>> from langchain_core.language_models import FakeMessagesListChatModel
        >>> model = FakeMessagesListChatModel(responses=[])
        >>> zoom = AgentSettings(tool_mode="zoom")
        >>> sorted(create_visionthink_agent(model, zoom, max_zooms=2).nodes)
        ['model', 'tools']
    """
    nodes = _AgentNodes(model, replace(settings or AgentSettings(), **options))
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
        RunnableCallable(nodes.call_model, nodes.acall_model, name="model", trace=False),
        destinations=("tools", END),
    )
    graph.add_node("tools", RunnableCallable(nodes.tools, nodes.atools, name="tools", trace=False))
    graph.add_edge(START, "model")
    graph.add_edge("tools", "model")
    return graph


def _bound_model(model: LanguageModelLike, settings: AgentSettings, boxes: Any) -> Any:
    """The model as the graph calls it: bound to the tools' schemas in native mode."""
    if settings.mode == "prompted":
        return model
    if not isinstance(model, BaseChatModel) and not hasattr(model, "bind_tools"):
        raise TypeError(f"native mode needs a chat model with bind_tools, got {type(model)}")
    try:
        return model.bind_tools(protocol.tool_schemas(settings.tool_mode, boxes))
    except NotImplementedError as exc:
        raise TypeError(f"{type(model).__name__} has no bind_tools; use mode='prompted'") from exc


class _AgentNodes:
    """The two nodes' bodies, over one model and its settings (resolved for the model's family)."""

    def __init__(self, model: LanguageModelLike, settings: AgentSettings) -> None:
        family = family_of(model)
        self.settings = settings
        self.boxes = family.boxes if settings.boxes is None else settings.boxes
        self.geometry = family.geometry if settings.geometry is None else settings.geometry
        budget = request_budget(
            settings.tool_mode,
            self.boxes,
            max_resizes=settings.max_resizes,
            max_zooms=settings.max_zooms,
        )
        turns = settings.max_model_turns
        self.turns_allowed = budget.max_model_turns if turns is None else turns
        if not 1 <= self.turns_allowed <= 10:
            raise ValueError(f"max_model_turns must be between 1 and 10, got {self.turns_allowed}")
        self.bound = _bound_model(model, settings, self.boxes)
        if settings.system_prompt is not None:
            self.prompt = settings.system_prompt
        elif settings.mode == "native":
            self.prompt = native_system_prompt(settings.tool_mode)
        else:
            self.prompt = protocol.system_prompt(settings.tool_mode, self.boxes)

    def render(self, messages: list[BaseMessage]) -> list[BaseMessage]:
        """What the model is sent: the conversation with the first look, in the mode's form."""
        to_messages = prompted_messages if self.settings.mode == "prompted" else native_messages
        return to_messages(
            messages,
            system_prompt=self.prompt,
            drop_history_images=self.settings.drop_history_images,
            **self.settings.image_reading,
        )

    def prepare(self, state: VisionThinkState) -> tuple[list[BaseMessage], dict[str, Any]]:
        """The conversation to render and the update so far (a new question is normalised)."""
        messages: list[BaseMessage] = list(state["messages"])
        last = messages[-1] if messages else None
        if not (isinstance(last, HumanMessage) and not is_tool_turn(last)):
            return messages, {"messages": [], "model_turns": state.get("model_turns", 0)}
        changed = normalise_new_messages(
            messages,
            max_question_chars=self.settings.max_question_chars,
            **self.settings.image_reading,
        )
        by_id = {m.id: m for m in changed}
        messages = [by_id.get(m.id, m) for m in messages]
        return messages, {"messages": changed, **empty_result()}

    def record(
        self, messages: list[BaseMessage], update: dict[str, Any], response: BaseMessage
    ) -> Command[Any]:
        """Add the model turn and route: on to ``tools`` for a call, else the question is over
        (its result and token account are set and the graph ends)."""
        if self.settings.mode == "prompted":
            turn = parse_model_turn(response, tool_mode=self.settings.tool_mode)
        elif isinstance(response, AIMessage):
            turn = response
        else:
            raise TypeError(f"the model returned a {type(response).__name__}, not an AIMessage")
        update["messages"].append(turn)
        update["model_turns"] += 1
        calls = bool(turn.tool_calls or turn.invalid_tool_calls)
        if calls and update["model_turns"] < self.turns_allowed:
            return Command(update=update, goto="tools")
        replies = turn_limit_replies(turn) if calls else []
        result = question_result(
            [*messages, turn, *replies],
            turn_limit=calls,
            drop_history_images=self.settings.drop_history_images,
            geometry=self.geometry,
            **self.settings.image_reading,
        )
        get_stream_writer()(token_account_event(result))
        update["messages"].extend(replies)
        return Command(update={**update, **result}, goto=END)

    def call_model(self, state: VisionThinkState, config: RunnableConfig) -> Command[Any]:
        messages, update = self.prepare(state)
        with model_server_named():
            response = self.bound.invoke(self.render(messages), config)
        return self.record(messages, update, response)

    def _prepare_and_render(
        self, state: VisionThinkState
    ) -> tuple[list[BaseMessage], dict[str, Any], list[BaseMessage]]:
        messages, update = self.prepare(state)
        return messages, update, self.render(messages)

    async def acall_model(self, state: VisionThinkState, config: RunnableConfig) -> Command[Any]:
        # Image decoding and encoding run in a worker thread, off the event loop.
        messages, update, sent = await asyncio.to_thread(self._prepare_and_render, state)
        with model_server_named():
            response = await self.bound.ainvoke(sent, config)
        return self.record(messages, update, response)

    def tools(self, state: VisionThinkState) -> dict[str, Any]:
        messages = state["messages"]
        last = last_ai_message(messages)
        assert last is not None
        settings = self.settings
        replies = high_res_reply(
            messages,
            turn_calls(last),
            tool_mode=settings.tool_mode,
            boxes=self.boxes,
            max_resizes=settings.max_resizes,
            max_zooms=settings.max_zooms,
            image_in_tool_message=settings.image_in_tool_message,
            embed_image=False,
            drop_history_images=settings.drop_history_images,
            **settings.image_reading,
        )
        return {"messages": replies}

    async def atools(self, state: VisionThinkState) -> dict[str, Any]:
        return await asyncio.to_thread(self.tools, state)
