"""The LangGraph surface: the VisionThink agent graph, the resize and zoom tools, the middleware.

* :func:`create_visionthink_agent` — the agent as an uncompiled ``StateGraph``
  (``tool_mode="resize"``, ``"zoom"`` or ``"both"``), its options one
  :class:`AgentSettings` value or keyword arguments;
* :func:`create_resize_image_tool` / :func:`create_zoom_image_tool` — the ``resize_image`` and
  ``image_zoom_in_tool`` tools for any ``ToolNode`` (:func:`turn_after_tool_results` keeps their
  image turn after the other tools' results);
* :func:`high_res_reply` — the one answer to a resize / zoom call, for graphs of your own;
* :class:`VisionThinkMiddleware` — the same behaviour for ``langchain.agents.create_agent``;
* :func:`prompted_messages` / :func:`native_messages` — what the model is shown, for graphs of
  your own; :func:`prompted_conversation` — the prompted conversation for given model turns.

Input ``{"messages": [HumanMessage(content=[text block, image block])]}``; result keys in
:mod:`visionthink_agent.graph.state`.

Example:
    >>> from visionthink_agent.graph import VisionThinkState
    >>> "visual_tokens" in VisionThinkState.__annotations__
    True
"""

from visionthink_agent.graph.agent import (
    NATIVE_SYSTEM_PROMPT,
    Mode,
    create_visionthink_agent,
    native_system_prompt,
    normalise_new_messages,
)
from visionthink_agent.graph.middleware import VisionThinkAgentState, VisionThinkMiddleware
from visionthink_agent.graph.rendering import native_messages, prompted_messages
from visionthink_agent.graph.replies import (
    high_res_reply,
    request_budget,
    resize_reply,
    turn_after_tool_results,
)
from visionthink_agent.graph.resize_tool import create_resize_image_tool
from visionthink_agent.graph.settings import AgentSettings
from visionthink_agent.graph.state import (
    STATUSES,
    TOKEN_ACCOUNT_EVENT,
    Status,
    TokenUsage,
    VisionThinkInput,
    VisionThinkOutput,
    VisionThinkState,
)
from visionthink_agent.graph.turns import parse_model_turn, prompted_conversation
from visionthink_agent.graph.zoom_tool import create_zoom_image_tool

__all__ = [
    "NATIVE_SYSTEM_PROMPT",
    "STATUSES",
    "TOKEN_ACCOUNT_EVENT",
    "AgentSettings",
    "Mode",
    "Status",
    "TokenUsage",
    "VisionThinkAgentState",
    "VisionThinkInput",
    "VisionThinkMiddleware",
    "VisionThinkOutput",
    "VisionThinkState",
    "create_resize_image_tool",
    "create_visionthink_agent",
    "create_zoom_image_tool",
    "high_res_reply",
    "native_messages",
    "native_system_prompt",
    "normalise_new_messages",
    "parse_model_turn",
    "prompted_conversation",
    "prompted_messages",
    "request_budget",
    "resize_reply",
    "turn_after_tool_results",
]
