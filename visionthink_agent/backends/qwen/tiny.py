"""Tiny random-weight Qwen2.5-VL and Qwen3-VL checkpoints, written in seconds, with no download.

A checkpoint has its family's real layout where it matters for plumbing — Qwen2.5-VL: 14-px
patches, windowed vision attention, M-RoPE; Qwen3-VL: 16-px patches, DeepStack, interleaved
M-RoPE; both: 2×2 merge, temporal patch 2, the Qwen special tokens as single tokens, the stock
chat template, the real processor classes and the released image-processor limits — and tiny
hidden sizes everywhere else. Its answers are random text; the processor, the image-token
arithmetic, generation and parsing are real.

The model is built by :mod:`.untrained`, its tokenizer by :mod:`.tiny_tokenizer` (a byte-level
BPE trained on a small built-in corpus); this module caches the result in a directory.

Command line::

    python -m visionthink_agent.backends.qwen.tiny [DIR] [--seed N] [--family F] [--overwrite]

Example:
    >>> import tempfile
    >>> from transformers import AutoProcessor
    >>> path = write_tiny_checkpoint(tempfile.mkdtemp() + "/tiny")
    >>> processor = AutoProcessor.from_pretrained(path)
    >>> processor.tokenizer.convert_tokens_to_ids("<|image_pad|>") == TINY_IMAGE_TOKEN_ID
    True
    >>> path = write_tiny_checkpoint(tempfile.mkdtemp() + "/tiny3", family="qwen3_vl")
    >>> type(AutoProcessor.from_pretrained(path)).__name__
    'Qwen3VLProcessor'
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Final

from visionthink_agent.backends.families import (
    QWEN2_5_VL_FAMILY,
    QWEN3_VL_FAMILY,
    FamilyName,
    ModelFamily,
    get_family,
)
from visionthink_agent.backends.qwen.tiny_tokenizer import (
    QWEN3_VL_ADDED_TOKENS,
    QWEN_ADDED_TOKENS,
    TINY_IMAGE_TOKEN_ID,
)
from visionthink_agent.backends.qwen.untrained import (
    TINY_QWEN3_VL_SIZES,
    TINY_SIZES,
    ModelSizes,
    build_untrained_checkpoint,
)

# The sizes, tokens and builder are re-exported: tests and training import them from here.
__all__ = [
    "QWEN3_VL_ADDED_TOKENS",
    "QWEN_ADDED_TOKENS",
    "TINY_IMAGE_TOKEN_ID",
    "TINY_MODEL_ALIAS",
    "TINY_QWEN3_VL_ALIAS",
    "TINY_QWEN3_VL_SIZES",
    "TINY_SIZES",
    "ModelSizes",
    "build_untrained_checkpoint",
    "default_tiny_dir",
    "main",
    "write_tiny_checkpoint",
]

TINY_MODEL_ALIAS: Final[str] = "tiny"
"""The model name (``--model tiny``) that selects the tiny Qwen2.5-VL checkpoint."""
TINY_QWEN3_VL_ALIAS: Final[str] = "tiny-qwen3-vl"
"""The model name (``--model tiny-qwen3-vl``) that selects the tiny Qwen3-VL checkpoint."""

_FORMAT_VERSION: Final[int] = 1
_MARKER: Final[str] = "visionthink_tiny.json"


def default_tiny_dir(family: FamilyName | ModelFamily = "qwen2_5_vl") -> Path:
    """Where the CLI keeps a family's tiny checkpoint: ``$VISIONTHINK_CACHE`` or ``~/.cache``.

    Example:
        >>> default_tiny_dir().name, default_tiny_dir("qwen3_vl").name
        ('tiny-qwen2.5-vl', 'tiny-qwen3-vl')
    """
    root = os.environ.get("VISIONTHINK_CACHE") or Path.home() / ".cache" / "visionthink-agent"
    return Path(root) / f"tiny-{get_family(family).label.lower()}"


def write_tiny_checkpoint(
    path: str | os.PathLike[str],
    *,
    seed: int = 0,
    overwrite: bool = False,
    family: FamilyName | ModelFamily = "qwen2_5_vl",
) -> Path:
    """Write a tiny random-weight checkpoint of ``family`` to ``path`` (idempotent, atomic).

    A directory already holding a tiny checkpoint of the same format and seed is returned as
    is (a cache hit takes microseconds), so tests and commands can call this freely. The
    checkpoint is built in a temporary sibling directory and renamed into place, so concurrent
    writers never see half a checkpoint.

    Args:
        path: target directory.
        seed: seed of the random weights (same seed, same weights).
        overwrite: replace whatever ``path`` holds (also a tiny checkpoint of another seed).
        family: ``qwen2_5_vl`` (default) or ``qwen3_vl``.

    Returns:
        The checkpoint directory, loadable with ``AutoModelForImageTextToText`` and
        ``AutoProcessor`` ``.from_pretrained``.

    Raises:
        FileExistsError: ``path`` exists, is not this tiny checkpoint and ``overwrite`` is off.

    Example:
        >>> import tempfile
        >>> p = write_tiny_checkpoint(tempfile.mkdtemp() + "/tiny", seed=1)
        >>> (p / "model.safetensors").is_file(), write_tiny_checkpoint(p, seed=1) == p
        (True, True)
    """
    fam = get_family(family)
    target = Path(path).expanduser()
    if target.exists():
        if not overwrite and _is_tiny_checkpoint(target, seed, fam):
            return target
        if not overwrite:
            raise FileExistsError(
                f"{target} exists and is not a tiny checkpoint ({fam.label}, seed {seed}); "
                "pass overwrite=True (--overwrite) or choose another directory"
            )
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{target.name}-", dir=target.parent))
    try:
        build_untrained_checkpoint(staging, seed=seed, family=fam)
        marker = _marker(seed, fam)
        (staging / _MARKER).write_text(json.dumps(marker) + "\n", encoding="utf-8")
        if target.exists():  # overwrite, or a concurrent writer finished first
            if not overwrite and _is_tiny_checkpoint(target, seed, fam):
                return target
            shutil.rmtree(target)
        os.replace(staging, target)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return target


def _marker(seed: int, family: ModelFamily) -> dict[str, Any]:
    """The marker file's content (Qwen2.5-VL's has no family: caches written before stay valid)."""
    marker: dict[str, Any] = {"format": _FORMAT_VERSION, "seed": seed}
    if family is not QWEN2_5_VL_FAMILY:
        marker["family"] = family.name
    return marker


def _is_tiny_checkpoint(path: Path, seed: int, family: ModelFamily) -> bool:
    try:
        marker = json.loads((path / _MARKER).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return bool(marker == _marker(seed, family))


def main(argv: Sequence[str] | None = None) -> int:
    """Command line: write the tiny checkpoint and print its directory.

    Example:
        >>> import tempfile
        >>> main([tempfile.mkdtemp() + "/tiny"])  # doctest: +ELLIPSIS
        /.../tiny
        0
    """
    parser = argparse.ArgumentParser(
        prog="python -m visionthink_agent.backends.qwen.tiny",
        description="Write a tiny random-weight Qwen2.5-VL or Qwen3-VL checkpoint (no download).",
    )
    parser.add_argument(
        "path",
        nargs="?",
        type=Path,
        default=None,
        help=f"target directory (default: {default_tiny_dir()} or {default_tiny_dir('qwen3_vl')})",
    )
    parser.add_argument("--seed", type=int, default=0, help="seed of the random weights")
    parser.add_argument(
        "--family",
        choices=[QWEN2_5_VL_FAMILY.name, QWEN3_VL_FAMILY.name],
        default=QWEN2_5_VL_FAMILY.name,
        help="model family (default: %(default)s)",
    )
    parser.add_argument("--overwrite", action="store_true", help="replace what the directory holds")
    args = parser.parse_args(argv)
    path = write_tiny_checkpoint(
        args.path or default_tiny_dir(args.family),
        seed=args.seed,
        overwrite=args.overwrite,
        family=args.family,
    )
    print(path)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
