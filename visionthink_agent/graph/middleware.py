"""``VisionThinkMiddleware``: VisionThink's first look / resize / zoom for ``create_agent`` agents.

Example:
    >>> from langchain.agents import create_agent
    >>> from langchain_core.language_models import FakeMessagesListChatModel
    >>> from langchain_core.messages import AIMessage
    >>> reply = AIMessage("<think>easy</think><answer>4</answer>")
    >>> model = FakeMessagesListChatModel(responses=[reply])
    >>> agent = create_agent(model, middleware=[VisionThinkMiddleware(mode="prompted")])
    >>> agent.invoke({"messages": [("user", "2+2?")]})["answer"]
    '4'
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any

from langchain.agents.middleware import (
    AgentMiddleware,
    AgentState,
    ModelRequest,
    ModelResponse,
    ToolCallRequest,
    hook_config,
)
from langchain_core.messages import AIMessage, BaseMessage, SystemMessage, ToolMessage
from langchain_core.tools import BaseTool
from langgraph.config import get_stream_writer
from langgraph.runtime import Runtime
from langgraph.types import Command

from visionthink_agent import protocol
from visionthink_agent.graph.agent import (
    Mode,
    model_server_named,
    native_system_prompt,
    normalise_new_messages,
)
from visionthink_agent.graph.conversation import question_start
from visionthink_agent.graph.rendering import native_messages, prompted_messages
from visionthink_agent.graph.replies import (
    high_res_reply,
    request_budget,
    tool_names_for,
    turn_after_tool_results,
)
from visionthink_agent.graph.resize_tool import create_resize_image_tool
from visionthink_agent.graph.results import (
    empty_result,
    question_result,
    token_account_event,
    turn_limit_replies,
)
from visionthink_agent.graph.state import VisionThinkResult
from visionthink_agent.graph.turns import parse_model_turn, turn_calls
from visionthink_agent.graph.zoom_tool import create_zoom_image_tool
from visionthink_agent.images import DEFAULT_LIMITS, QWEN2_5_VL, ImageLimits, VisionGeometry
from visionthink_agent.questions import DEFAULT_MAX_QUESTION_CHARS

__all__ = ["VisionThinkAgentState", "VisionThinkMiddleware"]


ToolResult = ToolMessage | Command[Any]


class VisionThinkAgentState(AgentState[Any], VisionThinkResult):
    """``create_agent`` state plus the VisionThink result keys (see ``graph.state``)."""


class VisionThinkMiddleware(AgentMiddleware[VisionThinkAgentState, Any, Any]):
    """Give any ``create_agent`` agent VisionThink's first look and its high-resolution tools.

    * ``before_agent``: normalises the new message's image (one copy in state), resets the
      result keys;
    * ``wrap_model_call`` / ``awrap_model_call``: the model sees the first look of user images,
      the high-resolution image in resize turns and the crop in zoom turns. ``mode="native"``
      keeps the agent's tools and adds the ``tool_mode``'s tools (``resize_image``,
      ``image_zoom_in_tool``, and a note on the first look to the system message);
      ``mode="prompted"`` shows exactly the VisionThink protocol (its system prompt, no bound
      tools, raw assistant text) and parses ``<tool_call>`` into ``tool_calls``;
    * ``wrap_tool_call`` / ``awrap_tool_call``: when the model called a resize / zoom tool and
      other tools in one turn, the user turn with the image goes after the last tool result
      (:func:`~visionthink_agent.graph.turn_after_tool_results`), in state and so in every
      later request;
    * ``after_model``: answers an unparsable call with the protocol's error turn, and stops a
      question at ``max_model_turns`` (status ``turn_limit``);
    * ``after_agent``: sets ``answer``, ``resized``, ``zooms``, ``high_res_request``,
      ``status``, ``visual_tokens``, ``usage`` and streams the token account as a custom event.

    Args:
        mode: ``"native"`` (default: agents usually hold native tool-calling models) or
            ``"prompted"`` (VisionThink / Qwen2.5-VL checkpoints).
        tool_mode: ``"resize"`` (default), ``"zoom"`` or ``"both"`` (see
            :func:`~visionthink_agent.graph.create_visionthink_agent`).
        boxes: how the model writes ``bbox_2d``: ``"first_look_pixels"`` (Qwen2.5-VL) or
            ``"relative_1000"`` (Qwen3-VL).
        max_resizes: high-resolution views allowed per image.
        max_zooms: regions allowed per question.
        max_model_turns: model calls per question (default: one per allowed request, plus the
            answer, i.e. ``protocol.tool_budget(tool_mode).max_model_turns``).
        system_prompt: prompted mode: the system prompt (``protocol.system_prompt(tool_mode,
            boxes)`` by default); native mode: the note appended to the agent's system message
            (:func:`~visionthink_agent.graph.agent.native_system_prompt` by default).
        allow_private_urls: let image URLs point at private / loopback addresses.
        allow_local_files: let image blocks name local files (``file_path``, ``file://``, a
            path); off by default, like private URLs.
        image_limits: the pixel and byte limits every image is read under
            (:class:`~visionthink_agent.images.ImageLimits`; ``load_image``'s defaults).
        drop_history_images: leave earlier questions' images out of the requests (see
            :func:`~visionthink_agent.graph.agent.create_visionthink_agent`).
        geometry: the model family's token arithmetic for the token account (Qwen2.5-VL by
            default; :data:`~visionthink_agent.images.QWEN3_VL` for Qwen3-VL).
        max_question_chars: the most characters of question text; ``before_agent`` raises
            :class:`~visionthink_agent.questions.QuestionError` for a longer or an empty
            question, before any image is read or the model is called.
    """

    state_schema = VisionThinkAgentState

    def __init__(
        self,
        *,
        mode: Mode = "native",
        tool_mode: protocol.ToolMode = "resize",
        boxes: protocol.BoxConvention = "first_look_pixels",
        max_resizes: int = protocol.MAX_RESIZES,
        max_zooms: int = protocol.MAX_ZOOMS,
        max_model_turns: int | None = None,
        system_prompt: str | None = None,
        allow_private_urls: bool = False,
        allow_local_files: bool = False,
        image_limits: ImageLimits = DEFAULT_LIMITS,
        drop_history_images: bool = False,
        geometry: VisionGeometry = QWEN2_5_VL,
        max_question_chars: int = DEFAULT_MAX_QUESTION_CHARS,
    ) -> None:
        if mode not in ("prompted", "native"):
            raise ValueError(f"mode must be 'prompted' or 'native', got {mode!r}")
        budget = request_budget(tool_mode, boxes, max_resizes=max_resizes, max_zooms=max_zooms)
        super().__init__()
        self.mode = mode
        self.tool_mode = tool_mode
        self.boxes = boxes
        self.max_resizes = max_resizes
        self.max_zooms = max_zooms
        self.max_model_turns = (
            budget.max_model_turns if max_model_turns is None else max_model_turns
        )
        if mode == "prompted":
            default = protocol.system_prompt(tool_mode, boxes)
        else:
            default = native_system_prompt(tool_mode)
        self.system_prompt = default if system_prompt is None else system_prompt
        self.allow_private_urls = allow_private_urls
        self.allow_local_files = allow_local_files
        self.image_limits = image_limits
        self.drop_history_images = drop_history_images
        self.geometry = geometry
        self.max_question_chars = max_question_chars
        names = protocol.tool_names(tool_mode)
        tools: list[BaseTool] = []
        if protocol.RESIZE_TOOL_NAME in names:
            tools.append(
                create_resize_image_tool(
                    max_resizes=max_resizes,
                    embed_image=False,
                    allow_private_urls=allow_private_urls,
                    allow_local_files=allow_local_files,
                    image_limits=image_limits,
                    drop_history_images=drop_history_images,
                )
            )
        if protocol.ZOOM_TOOL_NAME in names:
            tools.append(
                create_zoom_image_tool(
                    boxes=boxes,
                    max_zooms=max_zooms,
                    embed_image=False,
                    allow_private_urls=allow_private_urls,
                    allow_local_files=allow_local_files,
                    image_limits=image_limits,
                )
            )
        self.tools = tools

    def _reply(self, messages: Sequence[BaseMessage], calls: Sequence[Any]) -> list[BaseMessage]:
        return high_res_reply(
            messages,
            calls,
            tool_mode=self.tool_mode,
            boxes=self.boxes,
            max_resizes=self.max_resizes,
            max_zooms=self.max_zooms,
            allow_private_urls=self.allow_private_urls,
            allow_local_files=self.allow_local_files,
            image_limits=self.image_limits,
            drop_history_images=self.drop_history_images,
        )

    # -- hooks ---------------------------------------------------------------------------------
    def before_agent(self, state: VisionThinkAgentState, runtime: Runtime[Any]) -> dict[str, Any]:
        """Normalise the new message's image and reset the result keys."""
        changed = normalise_new_messages(
            state["messages"],
            allow_private_urls=self.allow_private_urls,
            allow_local_files=self.allow_local_files,
            image_limits=self.image_limits,
            max_question_chars=self.max_question_chars,
        )
        return {"messages": changed, **empty_result()}

    def _prepare(self, request: ModelRequest[Any]) -> ModelRequest[Any]:
        messages: list[BaseMessage] = list(request.messages)
        if self.mode == "prompted":
            rendered = prompted_messages(
                messages,
                system_prompt=self.system_prompt,
                allow_private_urls=self.allow_private_urls,
                allow_local_files=self.allow_local_files,
                image_limits=self.image_limits,
                drop_history_images=self.drop_history_images,
            )
            system, rest = rendered[0], rendered[1:]
            assert isinstance(system, SystemMessage)
            return request.override(messages=rest, system_message=system, tools=[])  # type: ignore[arg-type]
        base = request.system_message.text if request.system_message is not None else ""
        note = f"{base}\n\n{self.system_prompt}" if base else self.system_prompt
        rendered = native_messages(
            messages,
            allow_private_urls=self.allow_private_urls,
            allow_local_files=self.allow_local_files,
            image_limits=self.image_limits,
            drop_history_images=self.drop_history_images,
        )
        return request.override(messages=rendered, system_message=SystemMessage(note))  # type: ignore[arg-type]

    def _finish(self, response: ModelResponse[Any]) -> ModelResponse[Any]:
        if self.mode != "prompted":
            return response
        result = [
            parse_model_turn(m, tool_mode=self.tool_mode) if isinstance(m, AIMessage) else m
            for m in response.result
        ]
        return ModelResponse(result=result, structured_response=response.structured_response)

    def wrap_model_call(
        self,
        request: ModelRequest[Any],
        handler: Callable[[ModelRequest[Any]], ModelResponse[Any]],
    ) -> ModelResponse[Any]:
        """Show the model the first look / high-resolution images (and, prompted, the protocol).

        A model server that cannot be reached is named in the error (without user-info).
        """
        with model_server_named():
            response = handler(self._prepare(request))
        return self._finish(response)

    async def awrap_model_call(
        self,
        request: ModelRequest[Any],
        handler: Callable[[ModelRequest[Any]], Awaitable[ModelResponse[Any]]],
    ) -> ModelResponse[Any]:
        """Async twin of :meth:`wrap_model_call`."""
        with model_server_named():
            response = await handler(self._prepare(request))
        return self._finish(response)

    def _turn_last(self, request: ToolCallRequest, result: ToolResult) -> ToolResult:
        messages = request.state["messages"]

        def reply(call: Mapping[str, Any]) -> list[BaseMessage]:
            return self._reply(messages, [call])

        return turn_after_tool_results(
            result, request.tool_call, messages, reply, tool_names=tool_names_for(self.tool_mode)
        )

    def wrap_tool_call(
        self,
        request: ToolCallRequest,
        handler: Callable[[ToolCallRequest], ToolResult],
    ) -> ToolResult:
        """Keep the resize / zoom turn after every tool result of a model turn with several
        calls."""
        return self._turn_last(request, handler(request))

    async def awrap_tool_call(
        self,
        request: ToolCallRequest,
        handler: Callable[[ToolCallRequest], Awaitable[ToolResult]],
    ) -> ToolResult:
        """Async twin of :meth:`wrap_tool_call`."""
        return self._turn_last(request, await handler(request))

    @hook_config(can_jump_to=["model", "end"])
    def after_model(
        self, state: VisionThinkAgentState, runtime: Runtime[Any]
    ) -> dict[str, Any] | None:
        """Stop at the turn limit; answer an unparsable call with the protocol's error turn."""
        messages = state["messages"]
        last = messages[-1] if messages else None
        if not isinstance(last, AIMessage) or not (last.tool_calls or last.invalid_tool_calls):
            return None
        turns = sum(isinstance(m, AIMessage) for m in messages[max(question_start(messages), 0) :])
        if turns >= self.max_model_turns:
            return {"messages": turn_limit_replies(last), "status": "turn_limit", "jump_to": "end"}
        if last.tool_calls:
            return None  # the agent's tool node runs the VisionThink tools (or its own)
        return {"messages": self._reply(messages, turn_calls(last)), "jump_to": "model"}

    def after_agent(self, state: VisionThinkAgentState, runtime: Runtime[Any]) -> dict[str, Any]:
        """Set the result keys and stream the token account."""
        result = question_result(
            state["messages"],
            turn_limit=state.get("status") == "turn_limit",
            allow_private_urls=self.allow_private_urls,
            allow_local_files=self.allow_local_files,
            image_limits=self.image_limits,
            drop_history_images=self.drop_history_images,
            geometry=self.geometry,
        )
        get_stream_writer()(token_account_event(result))
        return result
