"""visionthink-agent: VisionThink's "cheap look first, full image on demand" for LangGraph, veRL.

The core (``protocol``, ``images``, ``parsing``, ``reward``, ``judge``) depends only on Pillow,
pydantic, httpx and openai. The LangGraph surface is imported lazily, so ``import
visionthink_agent`` stays light and works without the ``graph`` extra.

Example:
    >>> import visionthink_agent
    >>> visionthink_agent.visual_tokens(1920, 1080)
    2691
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

from visionthink_agent.images import load_image, visual_tokens
from visionthink_agent.parsing import extract_answer, parse_tool_call

__version__ = "0.1.0"

# Public names served lazily from their surface modules (they need the ``graph`` extra).
_LAZY = {
    "create_visionthink_agent": "visionthink_agent.graph",
    "create_resize_image_tool": "visionthink_agent.graph",
    "create_zoom_image_tool": "visionthink_agent.graph",
    "VisionThinkMiddleware": "visionthink_agent.graph",
}

__all__ = [
    "VisionThinkMiddleware",
    "__version__",
    "create_resize_image_tool",
    "create_visionthink_agent",
    "create_zoom_image_tool",
    "extract_answer",
    "load_image",
    "parse_tool_call",
    "visual_tokens",
]


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'visionthink_agent' has no attribute {name!r}")
    return getattr(import_module(module), name)
