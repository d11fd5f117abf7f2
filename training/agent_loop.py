"""The VisionThink agent loop for veRL: the model's turns, its image requests as user turns.

veRL's built-in ``tool_agent`` loop appends tool results as a ``tool`` role message and stops a
trajectory on a malformed call; VisionThink was trained differently (protocol §1.4): after a call
comes a **user** turn ``<tool_response>…image…</tool_response>`` plus a follow-up prompt, and a bad
call gets the protocol's error turn and another model turn. :class:`VisionThinkAgentLoop` keeps
veRL's state machine, token bookkeeping (Continuous Token merges, response mask, multimodal
inputs) and tool lifecycle, and changes only those two things:

* calls are read by the shared :func:`visionthink_agent.parsing.parse_tool_call` (registered as the
  ``visionthink`` tool parser, selected by ``multi_turn.format: visionthink``);
* the tool turn is :func:`visionthink_agent.protocol.tool_success_turn` (with the high-resolution
  image), :func:`~visionthink_agent.protocol.zoom_success_turn` (with the zoomed-in region) or
  :func:`~visionthink_agent.protocol.tool_error_turn`, appended as a user message, so its tokens
  (image tokens included) get ``response_mask`` 0.

``visionthink.tool_mode`` (:class:`training.settings.VisionThinkSettings`) says which requests
exist: ``resize`` (VisionThink: one resize, two model turns; the default, unchanged), ``zoom``
(two regions, three turns) or ``both``; the loop parses calls for that mode and checks at start
that the registered tools and ``multi_turn`` turn limits are the mode's
(:func:`visionthink_agent.protocol.tool_budget`), and that each row's system prompt is not
another mode's. In zoom and both modes the zoom tool gets the row's resize reference and
``visionthink.boxes``, and ``extra_fields`` also carry ``zoom_calls``, ``zoom_views`` (regions
shown), ``zoom_tokens`` (their visual tokens) and ``tool_mode``.

Registered by ``training/config/agent_loop.yaml`` (``rollout.agent.agent_loop_config_path``) under
the name ``visionthink_agent``; no veRL code is patched.

Example:
    >>> from visionthink_agent import protocol
    >>> content = tool_turn_content(protocol.tool_success_turn(), image="IMG")
    >>> [block["type"] for block in content]
    ['text', 'image', 'text']
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

from omegaconf import OmegaConf
from verl.experimental.agent_loop.agent_loop import AgentLoopOutput
from verl.experimental.agent_loop.tool_agent_loop import AgentData, AgentState, ToolAgentLoop
from verl.experimental.agent_loop.tool_parser import FunctionCall, ToolParser
from verl.tools.schemas import OpenAIFunctionToolSchema
from verl.utils.profiler import simple_timer
from verl.utils.ray_utils import get_event_loop

from training.names import (
    RESIZE_CALLS_FIELD,
    TOOL_ERROR_FIELD,
    TOOL_MODE_FIELD,
    TOOL_PARSER_NAME,
    ZOOM_CALLS_FIELD,
    ZOOM_TOKENS_FIELD,
    ZOOM_VIEWS_FIELD,
)
from training.settings import ConfigError, VisionThinkSettings
from visionthink_agent import protocol
from visionthink_agent.parsing import parse_tool_call

__all__ = [
    "VisionThinkAgentLoop",
    "VisionThinkToolParser",
    "message_text",
    "mode_of_tools",
    "processor_pixel_limits",
    "tool_turn_content",
]


def tool_turn_content(parts: list[protocol.Part], *, image: Any = None) -> list[dict[str, Any]]:
    """Turn a rendered protocol turn into chat content blocks (text, and the image at its slot).

    Args:
        parts: a turn from :mod:`visionthink_agent.protocol`.
        image: what to put in the ``image`` block at the :data:`~visionthink_agent.protocol.IMAGE`
            slot (a PIL image for the processor).

    Example:
        >>> tool_turn_content(protocol.tool_error_turn("bad"))[0]["text"].startswith("<tool_resp")
        True

    Raises:
        ValueError: the turn has an image slot but no image was given.
    """
    content: list[dict[str, Any]] = []
    for part in parts:
        if isinstance(part, protocol.ImageSlot):
            if image is None:
                raise ValueError("the tool turn has an image slot but no image was given")
            content.append({"type": "image", "image": image})
        else:
            content.append({"type": "text", "text": part})
    return content


def processor_pixel_limits(processor: Any) -> dict[str, int]:
    """``min_pixels`` / ``max_pixels`` of a Qwen-VL processor's image processor (``{}`` if none).

    Example:
        >>> from types import SimpleNamespace
        >>> size = {"shortest_edge": 65536, "longest_edge": 16777216}
        >>> processor_pixel_limits(SimpleNamespace(image_processor=SimpleNamespace(size=size)))
        {'min_pixels': 65536, 'max_pixels': 16777216}
    """
    size = getattr(getattr(processor, "image_processor", None), "size", None) or {}
    limits = {"min_pixels": size.get("shortest_edge"), "max_pixels": size.get("longest_edge")}
    return {key: int(value) for key, value in limits.items() if value}


def _with_pixel_limits(message: dict[str, Any], limits: dict[str, int]) -> dict[str, Any]:
    content = message.get("content")
    if not limits or not isinstance(content, list):
        return message
    blocks = [
        {**block, **limits} if isinstance(block, dict) and block.get("type") == "image" else block
        for block in content
    ]
    return {**message, "content": blocks}


@ToolParser.register(TOOL_PARSER_NAME)
class VisionThinkToolParser(ToolParser):
    """veRL tool parser over the shared :func:`~visionthink_agent.parsing.parse_tool_call`.

    Any turn that *looks* like a call (valid or not) yields one ``FunctionCall`` so the loop
    enters its tool state; the loop re-reads the turn to tell a valid call from an error.

    Example:
        >>> import asyncio
        >>> class Chars:  # a stand-in tokenizer: one id per character
        ...     def decode(self, ids): return "".join(map(chr, ids))
        >>> text = '<think>small</think><tool_call>{"name": "resize_image", ' \\
        ...        '"arguments": {"action": "resize"}}</tool_call>'
        >>> content, calls = asyncio.run(VisionThinkToolParser(Chars()).extract_tool_calls(
        ...     [ord(c) for c in text]))
        >>> calls[0].name, calls[0].arguments, content
        ('resize_image', '{"action": "resize"}', '<think>small</think>')
    """

    async def extract_tool_calls(
        self, responses_ids: list[int], tools: list[OpenAIFunctionToolSchema] | None = None
    ) -> tuple[str, list[FunctionCall]]:
        """Return the turn's text without the call, and the call (if the turn made one).

        The tool mode is the one whose tools ``tools`` are (the loop checks that they are
        ``visionthink.tool_mode``'s); without ``tools``, ``resize``.
        """
        text = await get_event_loop().run_in_executor(None, self.tokenizer.decode, responses_ids)
        parsed = parse_tool_call(text, mode=mode_of_tools(t.function.name for t in tools or []))
        if not parsed.found:
            return text, []
        call = parsed.call
        name = call.name if call is not None else protocol.RESIZE_TOOL_NAME
        arguments = json.dumps(call.arguments) if call is not None else "{}"
        content = text.split("<tool_call>", 1)[0]
        return content, [FunctionCall(name=name, arguments=arguments)]


def message_text(content: Any) -> str:
    """The text of a chat message's content: a string, or the text blocks of a block list.

    Example:
        >>> message_text([{"type": "text", "text": "a"}, {"type": "image"}, {"type": "text",
        ...               "text": "b"}]), message_text("plain")
        ('ab', 'plain')
    """
    if isinstance(content, str):
        return content
    return "".join(
        str(block.get("text", ""))
        for block in content or []
        if isinstance(block, dict) and block.get("type") == "text"
    )


def mode_of_tools(names: Iterable[str]) -> protocol.ToolMode:
    """The tool mode whose tools are ``names`` (``resize`` for any other set).

    Example:
        >>> mode_of_tools(["image_zoom_in_tool"]), mode_of_tools([])
        ('zoom', 'resize')
    """
    wanted = set(names)
    for mode in ("zoom", "both"):
        if wanted == set(protocol.tool_names(mode)):
            return mode
    return "resize"


class VisionThinkAgentLoop(ToolAgentLoop):
    """veRL's tool agent loop speaking the VisionThink protocol (see the module docstring).

    Configure with ``multi_turn.format: visionthink`` and the rollout keys of the tool mode: in
    resize mode ``multi_turn.max_assistant_turns: 2``, ``multi_turn.max_user_turns: 1`` and the
    ``resize_image`` tool (the shipped configs do; ``tool_mode=zoom`` / ``tool_mode=both``
    select the other modes' keys, ``training/config/tool_mode/``).

    Raises:
        training.settings.ConfigError: the ``visionthink`` block is invalid, or the registered
            tools or turn limits are not the tool mode's.

    Example:
        >>> VisionThinkAgentLoop.__mro__[1].__name__
        'ToolAgentLoop'
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # The system prompt already declares the tool in VisionThink's words; handing schemas to
        # the chat template as well would declare it twice on templates that support ``tools``.
        self.tool_schemas = []
        block = OmegaConf.to_container(self.config.get("visionthink") or {}, resolve=True)
        self.settings = VisionThinkSettings.from_config(block)  # type: ignore[arg-type]
        multi_turn = self.rollout_config.multi_turn
        self.settings.check_rollout(
            tool_names=list(self.tools),
            max_assistant_turns=multi_turn.get("max_assistant_turns"),
            max_user_turns=multi_turn.get("max_user_turns"),
            limit_images=self.rollout_config.get("limit_images"),
        )
        self.image_token_id = -1  # no token has this id: nothing is counted in resize mode
        if self.settings.budget.zooms:
            token_id = getattr(self.processor, "image_token_id", None)
            if token_id is None:
                raise ConfigError(
                    f"visionthink.tool_mode={self.settings.tool_mode} counts the visual tokens "
                    "of each region, which needs a processor with an image_token_id "
                    "(a Qwen-VL processor)"
                )
            self.image_token_id = int(token_id)

    async def run(self, sampling_params: dict[str, Any], **kwargs: Any) -> AgentLoopOutput:
        """Run one trajectory; ``extra_fields`` always carries the mode's call counts.

        Raises:
            training.settings.ConfigError: the row's system prompt is another tool mode's.

        Example:
            >>> VisionThinkAgentLoop.run.__name__
            'run'
        """
        messages = kwargs.get("raw_prompt") or []
        if messages and messages[0].get("role") == "system":
            index = (kwargs.get("extra_info") or {}).get("index", "?")
            self.settings.check_system_prompt(
                message_text(messages[0].get("content")), where=f"row {index}"
            )
        output: AgentLoopOutput = await super().run(sampling_params, **kwargs)
        output.extra_fields.setdefault(RESIZE_CALLS_FIELD, 0)
        output.extra_fields.setdefault(TOOL_ERROR_FIELD, None)
        if self.settings.budget.zooms:
            output.extra_fields.setdefault(ZOOM_CALLS_FIELD, 0)
            output.extra_fields.setdefault(ZOOM_VIEWS_FIELD, 0)
            output.extra_fields.setdefault(ZOOM_TOKENS_FIELD, 0)
            output.extra_fields[TOOL_MODE_FIELD] = self.settings.tool_mode
        return output

    async def _handle_processing_tools_state(self, agent_data: AgentData) -> AgentState:
        """Run the call (or report the bad call) and append the protocol's user turn."""
        turn_text = self.tokenizer.decode(agent_data.response_ids)  # type: ignore[attr-defined]
        parsed = parse_tool_call(turn_text, mode=self.settings.tool_mode)
        call = parsed.call
        image = None
        error = parsed.error
        if call is not None:
            function_call = FunctionCall(name=call.name, arguments=json.dumps(call.arguments))
            with simple_timer("tool_calls", agent_data.metrics):
                response, _reward, _metrics = await self._call_tool(
                    function_call, self._tools_kwargs(agent_data.tools_kwargs), agent_data
                )
            if response.image:
                image = await self._processed_image(response.image[0])
            else:
                error = response.text or "The tool returned no image"
        if call is not None and image is not None:
            turn = protocol.zoom_success_turn() if call.is_zoom else protocol.tool_success_turn()
            content = tool_turn_content(turn, image=image)
        else:
            agent_data.extra_fields[TOOL_ERROR_FIELD] = error
            content = tool_turn_content(protocol.tool_error_turn(error or "unknown error"))

        previous_messages = list(agent_data.messages)
        agent_data.messages.append({"role": "user", "content": content})
        schemas = getattr(agent_data, "_active_tool_schemas", self.tool_schemas)
        merge_result, response_mask, response_logprobs = await self.ct_merge_context_msg(
            previous_messages,
            agent_data.messages,
            agent_data.prompt_ids,
            agent_data.response_mask,
            agent_data.response_logprobs or None,
            tools=schemas,
        )
        if len(response_mask) >= self.response_length:
            return AgentState.TERMINATED
        if call is not None and call.is_zoom and image is not None:
            shown = merge_result.token_ids.count(self.image_token_id) - agent_data.prompt_ids.count(
                self.image_token_id
            )
            tokens = int(agent_data.extra_fields.get(ZOOM_TOKENS_FIELD, 0))
            agent_data.extra_fields[ZOOM_TOKENS_FIELD] = tokens + shown
        agent_data.prompt_ids = merge_result.token_ids
        agent_data.response_mask = response_mask
        if agent_data.response_logprobs:
            agent_data.response_logprobs = response_logprobs or []
        if image is not None:
            agent_data.image_data = [*(agent_data.image_data or []), image]
        agent_data.user_turns += 1
        return AgentState.GENERATING

    def _tools_kwargs(self, row: dict[str, Any]) -> dict[str, Any]:
        """The row's ``tools_kwargs``; in zoom modes the zoom tool's entry is the row's resize
        reference (data files name the original once) plus ``visionthink.boxes``."""
        if protocol.ZOOM_TOOL_NAME not in self.tools:
            return row
        entry = row.get(protocol.ZOOM_TOOL_NAME) or row.get(protocol.RESIZE_TOOL_NAME) or {}
        create_kwargs = {**(entry.get("create_kwargs") or {}), "boxes": self.settings.boxes}
        return {**row, protocol.ZOOM_TOOL_NAME: {**entry, "create_kwargs": create_kwargs}}

    async def process_multi_modal_info(self, messages: list[dict[str, Any]]) -> dict[str, Any]:
        """veRL's image preparation, within the processor's own pixel limits.

        veRL resizes every image with ``qwen_vl_utils``, whose default floor is 4 tokens: right
        for Qwen2.5-VL (3136 px), not for Qwen3-VL, whose processor lifts images to 65,536 px.
        A small first look or crop would then reach the model at another size (and token count)
        than an inference server's processor gives it; the processor's limits, set on each image
        block (``qwen_vl_utils`` reads them there), make the two agree.
        """
        limits = processor_pixel_limits(self.processor)
        return await super().process_multi_modal_info(
            [_with_pixel_limits(message, limits) for message in messages]
        )

    async def _processed_image(self, image: Any) -> Any:
        """Prepare the tool's image exactly as the prompt's image is prepared."""
        message = {"role": "user", "content": [{"type": "image", "image": image}]}
        processed = await self.process_multi_modal_info([message])
        images = processed.get("images")
        return images[0] if images else image
