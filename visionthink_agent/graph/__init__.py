"""The LangGraph surface: the VisionThink agent graph, the resize tool and the agent middleware.

Example:
    >>> from visionthink_agent.graph import VisionThinkState
    >>> "visual_tokens" in VisionThinkState.__annotations__
    True
"""

from visionthink_agent.graph.state import (
    STATUSES,
    TOKEN_ACCOUNT_EVENT,
    Status,
    TokenUsage,
    VisionThinkInput,
    VisionThinkOutput,
    VisionThinkState,
)

__all__ = [
    "STATUSES",
    "TOKEN_ACCOUNT_EVENT",
    "Status",
    "TokenUsage",
    "VisionThinkInput",
    "VisionThinkOutput",
    "VisionThinkState",
]
