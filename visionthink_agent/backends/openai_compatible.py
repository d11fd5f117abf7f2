"""A ``ChatOpenAI`` configured for a VisionThink model behind an OpenAI-compatible server.

Works with vLLM, SGLang, ``transformers serve`` and the OpenAI API. The defaults follow the
VisionThink evaluation protocol (§6): greedy decoding (temperature 0) and up to 8192 new tokens
a turn; usage is streamed (``stream_usage=True``: off by default in ``ChatOpenAI`` for a custom
base URL) so the agent can report tokens; ``mm_processor_kwargs`` (e.g. a ``max_pixels`` cap)
travel in ``extra_body`` for vLLM / SGLang.

The served model's family (Qwen2.5-VL or Qwen3-VL: the box convention of its zoom calls and its
token geometry) cannot be asked of the server, so it is given with ``family=`` or inferred from
the model name (``Qwen3-VL`` in it → Qwen3-VL; a local checkpoint directory or a hub id in the
local cache → its ``config.json``; otherwise Qwen2.5-VL, VisionThink's base). It is stored in the
model's ``metadata["visionthink_family"]``, where
:func:`~visionthink_agent.backends.families.family_of` reads it.

Example:
    >>> model = create_openai_compatible_model(
    ...     "Senqiao/VisionThink-Efficient", base_url="http://127.0.0.1:8000/v1"
    ... )
    >>> model.temperature, model.max_tokens, model.stream_usage
    (0.0, 8192, True)
"""

from __future__ import annotations

import os
from typing import Any
from urllib.parse import urlsplit

from pydantic import SecretStr

from visionthink_agent.backends import DEFAULT_MODEL
from visionthink_agent.backends.families import FAMILY_METADATA_KEY, ModelFamily, resolve_family

__all__ = ["DEFAULT_BASE_URL", "create_openai_compatible_model"]

DEFAULT_BASE_URL = "http://127.0.0.1:8000/v1"
"""Where ``vllm serve`` listens by default."""


def create_openai_compatible_model(
    model: str = DEFAULT_MODEL,
    *,
    base_url: str = DEFAULT_BASE_URL,
    api_key: str | None = None,
    temperature: float = 0.0,
    max_tokens: int = 8192,
    timeout: float = 300.0,
    max_retries: int = 2,
    mm_processor_kwargs: dict[str, Any] | None = None,
    extra_body: dict[str, Any] | None = None,
    family: str | ModelFamily | None = None,
    **kwargs: Any,
) -> Any:
    """Build a ``ChatOpenAI`` for a VisionThink checkpoint served behind ``base_url``.

    Args:
        model: the served model name (``--served-model-name`` of vLLM, else the checkpoint id).
        base_url: the server's OpenAI API root, ending in ``/v1``.
        api_key: the server's key; ``"EMPTY"`` (local servers ignore it) unless given or set
            in ``OPENAI_API_KEY``.
        temperature: 0 decodes greedily, as VisionThink was evaluated.
        max_tokens: most new tokens a turn.
        timeout: seconds to wait for one request (high-resolution prefill can be slow).
        max_retries: retries on connection errors and 5xx answers.
        mm_processor_kwargs: per-request multimodal processor options for vLLM / SGLang,
            e.g. ``{"max_pixels": 12845056}``.
        extra_body: further fields of the request body (merged; ``mm_processor_kwargs`` wins).
        family: the served model's family (``qwen2_5_vl``, ``qwen3_vl``, ``Qwen3-VL``...);
            ``None`` infers it from ``model`` (see the module docs).
        **kwargs: passed to ``ChatOpenAI`` (e.g. ``top_p``, ``seed``, ``default_headers``;
            ``metadata`` is kept, with the family added).

    Returns:
        A ``langchain_openai.ChatOpenAI``.

    Raises:
        ImportError: ``langchain-openai`` is not installed (``pip install
            'visionthink-agent[graph]'``).
        ValueError: ``family`` names no supported family.

    Example:
        >>> model = create_openai_compatible_model(
        ...     "Qwen/Qwen2.5-VL-7B-Instruct",
        ...     base_url="http://127.0.0.1:8000/v1",
        ...     mm_processor_kwargs={"max_pixels": 1003520},
        ... )
        >>> model.extra_body
        {'max_tokens': 8192, 'mm_processor_kwargs': {'max_pixels': 1003520}}
        >>> model.openai_api_key.get_secret_value()
        'EMPTY'
        >>> model.metadata["visionthink_family"]
        'qwen2_5_vl'
        >>> served = create_openai_compatible_model("Qwen/Qwen3-VL-8B-Instruct")
        >>> named = create_openai_compatible_model("my-model", family="Qwen3-VL")
        >>> served.metadata["visionthink_family"], named.metadata["visionthink_family"]
        ('qwen3_vl', 'qwen3_vl')
    """
    try:
        from langchain_openai import ChatOpenAI
    except ImportError as exc:  # pragma: no cover - depends on the installed extras
        raise ImportError(
            "the OpenAI-compatible backend needs langchain-openai: "
            "pip install 'visionthink-agent[graph]'"
        ) from exc

    resolved = resolve_family(model, family)
    metadata = {**(kwargs.pop("metadata", None) or {}), FAMILY_METADATA_KEY: resolved.name}
    body = dict(extra_body or {})
    if urlsplit(base_url).hostname != "api.openai.com":
        # ChatOpenAI sends max_completion_tokens; some servers (transformers serve) read only
        # the legacy max_tokens. vLLM and SGLang accept both; OpenAI itself gets only the new.
        body.setdefault("max_tokens", max_tokens)
    if mm_processor_kwargs:
        body["mm_processor_kwargs"] = dict(mm_processor_kwargs)
    options: dict[str, Any] = {
        "model": model,
        "base_url": base_url,
        "api_key": SecretStr(api_key or os.environ.get("OPENAI_API_KEY") or "EMPTY"),
        "temperature": temperature,
        "max_tokens": max_tokens,
        "timeout": timeout,
        "max_retries": max_retries,
        "stream_usage": True,
        "extra_body": body or None,
        "metadata": metadata,
    }
    return ChatOpenAI(**options, **kwargs)
