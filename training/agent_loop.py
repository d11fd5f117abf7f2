"""The VisionThink agent loop for veRL: two model turns, one resize, the tool turn as a user turn.

veRL's built-in ``tool_agent`` loop appends tool results as a ``tool`` role message and stops a
trajectory on a malformed call; VisionThink was trained differently (protocol §1.4): after a call
comes a **user** turn ``<tool_response>…image…</tool_response>`` plus a follow-up prompt, and a bad
call gets the protocol's error turn and a second model turn. :class:`VisionThinkAgentLoop` keeps
veRL's state machine, token bookkeeping (Continuous Token merges, response mask, multimodal
inputs) and tool lifecycle, and changes only those two things:

* calls are read by the shared :func:`visionthink_agent.parsing.parse_tool_call` (registered as the
  ``visionthink`` tool parser, selected by ``multi_turn.format: visionthink``);
* the tool turn is :func:`visionthink_agent.protocol.tool_success_turn` (with the high-resolution
  image) or :func:`~visionthink_agent.protocol.tool_error_turn`, appended as a user message, so its
  tokens (image tokens included) get ``response_mask`` 0.

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
from typing import Any

from verl.experimental.agent_loop.agent_loop import AgentLoopOutput
from verl.experimental.agent_loop.tool_agent_loop import AgentData, AgentState, ToolAgentLoop
from verl.experimental.agent_loop.tool_parser import FunctionCall, ToolParser
from verl.tools.schemas import OpenAIFunctionToolSchema
from verl.utils.profiler import simple_timer
from verl.utils.ray_utils import get_event_loop

from training.names import RESIZE_CALLS_FIELD, TOOL_ERROR_FIELD, TOOL_PARSER_NAME
from visionthink_agent import protocol
from visionthink_agent.parsing import parse_tool_call

__all__ = [
    "VisionThinkAgentLoop",
    "VisionThinkToolParser",
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
        """Return the turn's text without the call, and the call (if the turn made one)."""
        text = await get_event_loop().run_in_executor(None, self.tokenizer.decode, responses_ids)
        parsed = parse_tool_call(text)
        if not parsed.found:
            return text, []
        arguments = json.dumps(parsed.call.arguments) if parsed.call is not None else "{}"
        content = text.split("<tool_call>", 1)[0]
        return content, [FunctionCall(name=protocol.RESIZE_TOOL_NAME, arguments=arguments)]


class VisionThinkAgentLoop(ToolAgentLoop):
    """veRL's tool agent loop speaking the VisionThink protocol (see the module docstring).

    Configure with ``multi_turn.format: visionthink``, ``multi_turn.max_assistant_turns: 2``,
    ``multi_turn.max_user_turns: 1`` and the ``resize_image`` tool (the shipped configs do).

    Example:
        >>> VisionThinkAgentLoop.__mro__[1].__name__
        'ToolAgentLoop'
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # The system prompt already declares the tool in VisionThink's words; handing schemas to
        # the chat template as well would declare it twice on templates that support ``tools``.
        self.tool_schemas = []

    async def run(self, sampling_params: dict[str, Any], **kwargs: Any) -> AgentLoopOutput:
        """Run one trajectory; ``extra_fields`` always carries the resize-call count.

        Example:
            >>> VisionThinkAgentLoop.run.__name__
            'run'
        """
        output: AgentLoopOutput = await super().run(sampling_params, **kwargs)
        output.extra_fields.setdefault(RESIZE_CALLS_FIELD, 0)
        output.extra_fields.setdefault(TOOL_ERROR_FIELD, None)
        return output

    async def _handle_processing_tools_state(self, agent_data: AgentData) -> AgentState:
        """Run the resize (or report the bad call) and append the protocol's user turn."""
        turn_text = self.tokenizer.decode(agent_data.response_ids)  # type: ignore[attr-defined]
        parsed = parse_tool_call(turn_text)
        image = None
        error = parsed.error
        if parsed.call is not None:
            call = FunctionCall(
                name=protocol.RESIZE_TOOL_NAME, arguments=json.dumps(parsed.call.arguments)
            )
            with simple_timer("tool_calls", agent_data.metrics):
                response, _reward, _metrics = await self._call_tool(
                    call, agent_data.tools_kwargs, agent_data
                )
            if response.image:
                image = await self._processed_image(response.image[0])
            else:
                error = response.text or "The tool returned no image"
        if image is not None:
            content = tool_turn_content(protocol.tool_success_turn(), image=image)
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
        agent_data.prompt_ids = merge_result.token_ids
        agent_data.response_mask = response_mask
        if agent_data.response_logprobs:
            agent_data.response_logprobs = response_logprobs or []
        if image is not None:
            agent_data.image_data = [*(agent_data.image_data or []), image]
        agent_data.user_turns += 1
        return AgentState.GENERATING

    async def _processed_image(self, image: Any) -> Any:
        """Prepare the tool's image exactly as the dataset prepares the prompt's image."""
        message = {"role": "user", "content": [{"type": "image", "image": image}]}
        processed = await self.process_multi_modal_info([message])
        images = processed.get("images")
        return images[0] if images else image
