"""The VisionThink agent served by ``langgraph dev`` (or LangGraph Platform), set up by env vars.

==============================  ==========================================================
``VISIONTHINK_BASE_URL``        OpenAI-compatible endpoint (default ``http://127.0.0.1:8000/v1``,
                                e.g. ``vllm serve Senqiao/VisionThink-Efficient``)
``VISIONTHINK_MODEL``           model name (default: the first the server lists at
                                ``/v1/models``, as vLLM's ``--served-model-name``); without
                                ``VISIONTHINK_BASE_URL``, ``demo``, ``tiny``, ``tiny-qwen3-vl``
                                or a local checkpoint folder runs in this process
                                (``ChatQwenVL``): no second server
``VISIONTHINK_API_KEY``         API key (default ``OPENAI_API_KEY``, else ``EMPTY`` for vLLM)
``VISIONTHINK_MODE``            ``prompted`` (default, VisionThink checkpoints) or ``native``
``VISIONTHINK_TOOL_MODE``       ``resize`` (default, VisionThink), ``zoom`` (a region,
                                ``image_zoom_in_tool``) or ``both`` (the model chooses)
``VISIONTHINK_FAMILY``          ``qwen2_5_vl`` or ``qwen3_vl``: box convention and token
                                arithmetic (default: from the model name)
``VISIONTHINK_MAX_RESIZES``     high-resolution views per image (default 1)
``VISIONTHINK_TEMPERATURE``     sampling temperature (default 0, as the authors evaluate)
``VISIONTHINK_MAX_TOKENS``      tokens per model turn (default 8192, as the authors evaluate,
                                or the served model's context length, vLLM's
                                ``max_model_len``, when smaller; a value above it is refused)
``VISIONTHINK_ALLOW_PRIVATE_URLS``  ``1`` lets image URLs point at private addresses
``VISIONTHINK_ALLOW_LOCAL_FILES``   ``1`` lets image blocks name files on the server
                                (``file_path``, ``file://``); off by default: any client
                                could otherwise make the server read its own files
``VISIONTHINK_MAX_PIXELS``      refuse images with more pixels (default 89478485, Pillow's
                                own guard, which this limit replaces, above it as well)
``VISIONTHINK_MAX_BYTES``       refuse larger image files or downloads (default 52428800)
``VISIONTHINK_MAX_QUESTION_CHARS``  characters of question text (default 16000); a longer or
                                an empty question is refused before the model is called
``VISIONTHINK_IMAGE_CACHE_MB``  decoded images kept between turns, in MiB (default 256)
``VISIONTHINK_IMAGE_CACHE_ENTRY_PIXELS``  images with more pixels are never kept between
                                turns (default 16777216, 4096²)
``VISIONTHINK_RETURN_MEMORY_SECONDS``  give the memory finished runs freed back to the OS
                                this often (default 1; 0 never: glibc then keeps the peaks
                                of past runs resident, see ``visionthink_agent.heap``)
==============================  ==========================================================

The request body is capped by the API server itself: ``HTTP_MAX_REQUEST_BODY_BYTES`` (set to
72 MiB in ``langgraph.json``, which holds the largest image the graph accepts, 50 MiB, as
base64; the server's own default is 300 MB). A larger body is answered HTTP 413 as it streams
in, before it is parsed or stored.

The served graph adapts to the model server as ``visionthink ask --base-url`` does
(:func:`~visionthink_agent.backends.served_models.resolve_generation`): what is not set is read
from ``GET /v1/models`` when the first run needs the graph, not when ``langgraph dev`` starts,
so the API server comes up before the model server does. The graph is then built once for the
process; a failed build (the model server unreachable: one line naming its URL) is retried by
the next run.

No checkpointer here: the server provides persistence.
"""

from __future__ import annotations

import asyncio
import os
import threading
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from visionthink_agent import create_visionthink_agent
from visionthink_agent.backends.openai_compatible import (
    DEFAULT_BASE_URL,
    create_openai_compatible_model,
)
from visionthink_agent.backends.served_models import (
    DEFAULT_MAX_NEW_TOKENS,
    GRAPH_SETTINGS,
    resolve_generation,
)
from visionthink_agent.graph.image_store import (
    DEFAULT_CACHE_BYTES,
    DEFAULT_CACHE_ENTRY_PIXELS,
    configure_image_cache,
)
from visionthink_agent.heap import return_freed_memory_every
from visionthink_agent.images import DEFAULT_LIMITS, ImageLimits
from visionthink_agent.protocol import TOOL_MODES
from visionthink_agent.questions import DEFAULT_MAX_QUESTION_CHARS

IN_PROCESS_MODELS = ("demo", "tiny", "tiny-qwen3-vl")
"""``VISIONTHINK_MODEL`` names that run in the server's process (besides a checkpoint folder)."""


def build_graph(env: Mapping[str, str] = os.environ) -> Any:
    """Compile the agent from environment settings (see the module docstring).

    Served by an OpenAI-compatible server, the model name and the token cap not set in ``env``
    are read from the server's ``/v1/models``.

    Raises:
        ValueError: a setting names no mode, tool mode...
        ServerProbeError: the model server cannot be reached, does not serve
            ``VISIONTHINK_MODEL``, or its context length is below ``VISIONTHINK_MAX_TOKENS``.
    """
    mode = env.get("VISIONTHINK_MODE", "prompted")
    if mode not in ("prompted", "native"):
        raise ValueError(f"VISIONTHINK_MODE must be 'prompted' or 'native', got {mode!r}")
    tool_mode = env.get("VISIONTHINK_TOOL_MODE", "resize")
    if tool_mode not in TOOL_MODES:
        raise ValueError(
            f"VISIONTHINK_TOOL_MODE must be one of {', '.join(TOOL_MODES)}, got {tool_mode!r}"
        )
    limits = ImageLimits(
        max_pixels=int(env.get("VISIONTHINK_MAX_PIXELS", DEFAULT_LIMITS.max_pixels)),
        max_bytes=int(env.get("VISIONTHINK_MAX_BYTES", DEFAULT_LIMITS.max_bytes)),
    )
    model = _model(env, limits)
    configure_image_cache(
        max_bytes=int(env.get("VISIONTHINK_IMAGE_CACHE_MB", DEFAULT_CACHE_BYTES // 2**20)) * 2**20,
        max_entry_pixels=int(
            env.get("VISIONTHINK_IMAGE_CACHE_ENTRY_PIXELS", DEFAULT_CACHE_ENTRY_PIXELS)
        ),
    )
    agent = create_visionthink_agent(
        model,
        mode=mode,
        tool_mode=tool_mode,
        max_resizes=int(env.get("VISIONTHINK_MAX_RESIZES", "1")),
        allow_private_urls=env.get("VISIONTHINK_ALLOW_PRIVATE_URLS", "0") == "1",
        allow_local_files=env.get("VISIONTHINK_ALLOW_LOCAL_FILES", "0") == "1",
        image_limits=limits,
        max_question_chars=int(
            env.get("VISIONTHINK_MAX_QUESTION_CHARS", DEFAULT_MAX_QUESTION_CHARS)
        ),
    )
    return agent.compile(name="visionthink")


def _model(env: Mapping[str, str], limits: ImageLimits) -> Any:
    """The in-process model for ``demo`` / ``tiny`` / a checkpoint folder without a base URL,
    else the OpenAI-compatible client."""
    name = env.get("VISIONTHINK_MODEL") or None
    requested = env.get("VISIONTHINK_MAX_TOKENS")
    max_tokens = int(requested) if requested else None
    temperature = float(env.get("VISIONTHINK_TEMPERATURE", "0"))
    base_url = env.get("VISIONTHINK_BASE_URL")
    if not base_url and name and (name in IN_PROCESS_MODELS or Path(name).expanduser().is_dir()):
        from visionthink_agent.backends.transformers_chat import ChatQwenVL

        return ChatQwenVL(
            model=name,
            max_new_tokens=max_tokens or DEFAULT_MAX_NEW_TOKENS,
            temperature=temperature,
            max_pixels=limits.max_pixels,
            max_bytes=limits.max_bytes,
        )
    base_url = base_url or DEFAULT_BASE_URL
    api_key = env.get("VISIONTHINK_API_KEY")
    if name is None or max_tokens is None:
        name, max_tokens = resolve_generation(
            base_url, model=name, api_key=api_key, max_new_tokens=max_tokens, names=GRAPH_SETTINGS
        )
    return create_openai_compatible_model(
        name,
        base_url=base_url,
        api_key=api_key,
        temperature=temperature,
        max_tokens=max_tokens,
        family=env.get("VISIONTHINK_FAMILY") or None,
    )


_built: Any = None
_building = threading.Lock()


def _build_once() -> Any:
    global _built
    with _building:
        if _built is None:
            _built = build_graph()
            seconds = float(os.environ.get("VISIONTHINK_RETURN_MEMORY_SECONDS", "1"))
            if seconds > 0:  # a long-lived server: see visionthink_agent.heap
                return_freed_memory_every(seconds)
        return _built


async def graph() -> Any:
    """The graph ``langgraph.json`` serves (a graph factory the API server calls per run): built
    from ``os.environ`` on the first run, in a worker thread (the model server may be asked),
    then the same graph for every run of the process.

    Raises:
        ServerProbeError: the model server cannot be reached (one line naming its URL); the
            next run tries again.
    """
    return await asyncio.to_thread(_build_once)
