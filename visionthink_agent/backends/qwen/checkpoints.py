"""Loading a Qwen-VL checkpoint: the device and dtype, offline-first hub options, the load error.

Example:
    >>> resolve_device("cpu"), hub_options("/")
    ('cpu', {})
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import torch

__all__ = ["ModelLoadError", "hub_options", "load_error_message", "resolve_device", "resolve_dtype"]


class ModelLoadError(RuntimeError):
    """The checkpoint could not be loaded (not found locally and no network, or not a model)."""


def resolve_device(device: str | None) -> str:
    """``auto``/None → ``cuda`` when available, else ``mps``, else ``cpu``; others as given.

    Example:
        >>> resolve_device("cpu")
        'cpu'
    """
    if device not in (None, "auto"):
        return str(device)
    if torch.cuda.is_available():
        return "cuda"
    if torch.backends.mps.is_available():
        return "mps"
    return "cpu"


def resolve_dtype(dtype: str | torch.dtype | None, device: str) -> torch.dtype:
    """``auto``/None → bfloat16 on GPUs, float32 on CPU; or a name like ``"float16"``.

    Example:
        >>> resolve_dtype("auto", "cpu"), resolve_dtype("bfloat16", "cpu")
        (torch.float32, torch.bfloat16)
    """
    if isinstance(dtype, torch.dtype):
        return dtype
    if dtype in (None, "auto"):
        return torch.float32 if device == "cpu" else torch.bfloat16
    resolved = getattr(torch, str(dtype), None)
    if not isinstance(resolved, torch.dtype):
        raise ValueError(f"unknown dtype {dtype!r}; use auto, bfloat16, float16 or float32")
    return resolved


def hub_options(source: str) -> dict[str, Any]:
    """Load from the local cache only when the hub is known to be unreachable or turned off.

    Example:
        >>> hub_options("/")  # a local directory needs no hub
        {}
    """
    if Path(source).is_dir():
        return {}
    if os.environ.get("HF_HUB_OFFLINE", "").lower() in ("1", "true", "yes") or not _hub_reachable():
        return {"local_files_only": True}
    return {}


def _hub_reachable(timeout: float = 3.0) -> bool:
    import socket

    endpoint = os.environ.get("HF_ENDPOINT", "https://huggingface.co")
    host = endpoint.split("://", 1)[-1].split("/", 1)[0]
    try:
        with socket.create_connection((host, 443), timeout=timeout):
            return True
    except OSError:
        return False


def load_error_message(model: str, exc: Exception) -> str:
    """What went wrong loading ``model`` and the ways forward (the flags that load another).

    Example:
        >>> load_error_message("x", OSError("gone")).splitlines()[0]
        "could not load model 'x': gone"
    """
    return (
        f"could not load model {model!r}: {exc}\n"
        "It is not a local checkpoint directory and could not be fetched from the Hugging Face "
        "hub (no network, or not downloaded yet). Ways forward:\n"
        "  --model demo            the small model shipped in the package (synthetic task)\n"
        "  --model tiny            a tiny random-weight model written locally (plumbing only)\n"
        "  --model /path/to/ckpt   a local Qwen2.5-VL or Qwen3-VL checkpoint directory\n"
        "  --base-url URL          an OpenAI-compatible server (vLLM, SGLang, transformers serve)"
    )
