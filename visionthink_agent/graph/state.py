"""The state and result schema of the VisionThink agent graph.

Input (what callers send): ``{"messages": [HumanMessage(content=[text block, image block])]}``.
The image block may be in any format :func:`visionthink_agent.images.load_image` reads
(LangChain v1 ``{"type": "image", "base64"|"url", "mime_type"}``, OpenAI
``{"type": "image_url", "image_url": {"url": ...}}``, camelCase ``{"type": "image", "data",
"mimeType"}``, a file path or URL); a plain string content asks a text-only question.

Output (the final state, keys set for the *latest* question of the thread):

====================  ====================================================================
``messages``          the conversation as LangGraph sees it: the user's message (its image
                      normalised to one LangChain v1 base64 block with an ``id``), each model turn
                      as an ``AIMessage`` (raw text; ``tool_calls`` / ``invalid_tool_calls`` parsed
                      from ``<tool_call>`` in prompted mode), a ``ToolMessage`` per call and the
                      protocol's tool turn as a ``HumanMessage`` (marked in ``additional_kwargs``
                      under ``"visionthink"``; its image is a reference to the user's image by
                      ``id``, plus the region's pixel box for a zoom, not a second copy).
``answer``            the final answer, :func:`visionthink_agent.parsing.extract_answer` of the
                      last model turn (``<answer>`` content, ``\\boxed{}`` inside it).
``resized``           True when the high-resolution image was given to the model.
``zooms``             how many zoomed-in regions (crops of the original) were given to the model.
``high_res_request``  True when either was given (a resize or at least one zoom).
``status``            how the question ended, one of :data:`STATUSES`.
``visual_tokens``     the token account (Qwen2.5-VL arithmetic unless ``geometry`` is given),
                      ``SourceImage.token_account(resized=..., zooms=[boxes]).as_dict()``:
                      ``first_look``, ``high_res`` (the high-resolution image and every crop),
                      ``full_res_baseline``, ``used``, ``saved``, ``ratio``; None
                      for a question without an image. On a follow-up, the earlier questions'
                      images the request re-sends are counted too: ``history`` (their tokens,
                      in ``used``), and the baseline includes their user images at full
                      resolution (``drop_history_images`` leaves them out of requests and
                      account). Also streamed as a custom event (``stream_mode="custom"``, see
                      :data:`TOKEN_ACCOUNT_EVENT`).
``usage``             the model's ``usage_metadata`` summed over this question's model turns
                      (``input_tokens``, ``output_tokens``, ``total_tokens``); zeros when the
                      model reports none.
``model_turns``       how many times the model was called for this question.
====================  ====================================================================

Example:
    >>> sorted(VisionThinkOutput.__annotations__)[:4]
    ['answer', 'high_res_request', 'messages', 'model_turns']
    >>> STATUSES
    ('answered', 'no_image', 'turn_limit', 'no_answer')
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from langchain_core.messages import AnyMessage
from langgraph.graph.message import add_messages
from typing_extensions import NotRequired, TypedDict

__all__ = [
    "STATUSES",
    "TOKEN_ACCOUNT_EVENT",
    "Status",
    "TokenUsage",
    "VisionThinkInput",
    "VisionThinkOutput",
    "VisionThinkResult",
    "VisionThinkState",
]

Status = Literal["answered", "no_image", "turn_limit", "no_answer"]
"""``answered``: the model gave a final turn without a tool call, about an image;
``no_image``: the same, for a question with no image in the conversation (no first look, no
resize possible); ``turn_limit``: the model still called the tool on its last allowed turn (the
call is answered by a ``ToolMessage`` saying so, and ``answer`` is extracted from that turn);
``no_answer``: the final turn holds no answer (empty, ``<think>`` only, a stray
``</answer>``: :func:`visionthink_agent.parsing.is_answer` is false for its answer text)."""
STATUSES: tuple[str, ...] = ("answered", "no_image", "turn_limit", "no_answer")

TOKEN_ACCOUNT_EVENT = "visionthink_token_account"
"""``event`` key of the custom stream event: ``{"event": TOKEN_ACCOUNT_EVENT, "status": ...,
"resized": ..., "visual_tokens": {...}}``."""


class TokenUsage(TypedDict):
    """Summed ``usage_metadata`` of the model turns of one question."""

    input_tokens: int
    output_tokens: int
    total_tokens: int


class VisionThinkInput(TypedDict):
    """What to send: the new user message(s), appended to the thread's conversation."""

    messages: Annotated[list[AnyMessage], add_messages]


class VisionThinkResult(TypedDict):
    """The result keys of one question (see the module docstring), without ``messages``.

    Shared by the agent graph's output and the ``create_agent`` middleware's state.
    """

    answer: NotRequired[str | None]
    resized: NotRequired[bool]
    zooms: NotRequired[int]
    high_res_request: NotRequired[bool]
    status: NotRequired[Status | None]
    visual_tokens: NotRequired[dict[str, Any] | None]
    usage: NotRequired[TokenUsage]
    model_turns: NotRequired[int]


class VisionThinkOutput(VisionThinkResult):
    """The graph's result: the conversation and the latest question's result keys."""

    messages: Annotated[list[AnyMessage], add_messages]


class VisionThinkState(VisionThinkOutput):
    """The full, checkpointable state: plain data only (messages, strings, numbers, dicts)."""
