"""Names under which the VisionThink pieces are registered in veRL (importable without veRL).

Example:
    >>> AGENT_NAME, TOOL_PARSER_NAME
    ('visionthink_agent', 'visionthink')
"""

from __future__ import annotations

__all__ = [
    "AGENT_NAME",
    "CPU_PLATFORM_NAME",
    "CPU_ROLLOUT_NAME",
    "RESIZE_CALLS_FIELD",
    "TOOL_ERROR_FIELD",
    "TOOL_MODE_FIELD",
    "TOOL_PARSER_NAME",
    "ZOOM_CALLS_FIELD",
    "ZOOM_TOKENS_FIELD",
    "ZOOM_VIEWS_FIELD",
]

AGENT_NAME = "visionthink_agent"
"""Name of the agent loop in ``agent_loop.yaml`` and in each row's ``agent_name`` column."""
TOOL_PARSER_NAME = "visionthink"
"""Value of ``actor_rollout_ref.rollout.multi_turn.format`` that selects the shared parser."""
RESIZE_CALLS_FIELD = "resize_calls"
"""``extra_fields`` key counting the trajectory's calls of the resize tool."""
ZOOM_CALLS_FIELD = "zoom_calls"
"""``extra_fields`` key counting the trajectory's calls of the zoom tool (zoom and both modes;
calls with a bad box too)."""
ZOOM_VIEWS_FIELD = "zoom_views"
"""``extra_fields`` key counting the regions the zoom tool returned (its budget: ``MAX_ZOOMS``)."""
ZOOM_TOKENS_FIELD = "zoom_tokens"
"""``extra_fields`` key summing the visual tokens of the regions the zoom tool returned."""
TOOL_MODE_FIELD = "tool_mode"
"""``extra_fields`` key naming the tool mode of a zoom or both trajectory (absent in resize mode);
the reward reads it (``strict_tool_call`` accepts that mode's calls)."""
TOOL_ERROR_FIELD = "tool_error"
"""``extra_fields`` key holding the error text of the last rejected call (None when there was
none)."""
CPU_PLATFORM_NAME = "cpu"
"""``VERL_PLATFORM`` value that selects the CPU platform (:mod:`training.cpu.platform`)."""
CPU_ROLLOUT_NAME = "hf_cpu"
"""``actor_rollout_ref.rollout.name`` of the in-process transformers rollout
(:mod:`training.cpu.rollout_server`)."""
