"""The VisionThink agent served by ``langgraph dev`` (or LangGraph Platform), set up by env vars.

==============================  ==========================================================
``VISIONTHINK_BASE_URL``        OpenAI-compatible endpoint (default ``http://127.0.0.1:8000/v1``,
                                e.g. ``vllm serve Senqiao/VisionThink-Efficient``)
``VISIONTHINK_MODEL``           model name (default ``Senqiao/VisionThink-Efficient``)
``VISIONTHINK_API_KEY``         API key (default ``OPENAI_API_KEY``, else ``EMPTY`` for vLLM)
``VISIONTHINK_MODE``            ``prompted`` (default, VisionThink checkpoints) or ``native``
``VISIONTHINK_TOOL_MODE``       ``resize`` (default, VisionThink), ``zoom`` (a region,
                                ``image_zoom_in_tool``) or ``both`` (the model chooses)
``VISIONTHINK_FAMILY``          ``qwen2_5_vl`` or ``qwen3_vl``: box convention and token
                                arithmetic (default: from the model name)
``VISIONTHINK_MAX_RESIZES``     high-resolution views per image (default 1)
``VISIONTHINK_TEMPERATURE``     sampling temperature (default 0, as the authors evaluate)
``VISIONTHINK_MAX_TOKENS``      tokens per model turn (default 8192, as the authors evaluate)
``VISIONTHINK_ALLOW_PRIVATE_URLS``  ``1`` lets image URLs point at private addresses
``VISIONTHINK_ALLOW_LOCAL_FILES``   ``1`` lets image blocks name files on the server
                                (``file_path``, ``file://``); off by default: any client
                                could otherwise make the server read its own files
==============================  ==========================================================

No checkpointer here: the server provides persistence.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

from visionthink_agent import create_visionthink_agent
from visionthink_agent.backends import DEFAULT_MODEL
from visionthink_agent.backends.openai_compatible import (
    DEFAULT_BASE_URL,
    create_openai_compatible_model,
)
from visionthink_agent.protocol import TOOL_MODES


def build_graph(env: Mapping[str, str] = os.environ) -> Any:
    """Compile the agent from environment settings (see the module docstring)."""
    mode = env.get("VISIONTHINK_MODE", "prompted")
    if mode not in ("prompted", "native"):
        raise ValueError(f"VISIONTHINK_MODE must be 'prompted' or 'native', got {mode!r}")
    model = create_openai_compatible_model(
        env.get("VISIONTHINK_MODEL", DEFAULT_MODEL),
        base_url=env.get("VISIONTHINK_BASE_URL", DEFAULT_BASE_URL),
        api_key=env.get("VISIONTHINK_API_KEY"),
        temperature=float(env.get("VISIONTHINK_TEMPERATURE", "0")),
        max_tokens=int(env.get("VISIONTHINK_MAX_TOKENS", "8192")),
        family=env.get("VISIONTHINK_FAMILY") or None,
    )
    tool_mode = env.get("VISIONTHINK_TOOL_MODE", "resize")
    if tool_mode not in TOOL_MODES:
        raise ValueError(
            f"VISIONTHINK_TOOL_MODE must be one of {', '.join(TOOL_MODES)}, got {tool_mode!r}"
        )
    agent = create_visionthink_agent(
        model,
        mode=mode,
        tool_mode=tool_mode,
        max_resizes=int(env.get("VISIONTHINK_MAX_RESIZES", "1")),
        allow_private_urls=env.get("VISIONTHINK_ALLOW_PRIVATE_URLS", "0") == "1",
        allow_local_files=env.get("VISIONTHINK_ALLOW_LOCAL_FILES", "0") == "1",
    )
    return agent.compile(name="visionthink")


graph = build_graph()
