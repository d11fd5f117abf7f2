"""Reusing the KV cache of the previous call: which leading prompt tokens it covers, what to feed.

VisionThink's second turn repeats the first turn's prompt and answer, so only its tool turn
needs a prefill. A cached image counts only when its pixels are identical: an image is fed
whole or not at all.

Example:
    >>> import torch
    >>> cached = CachedPrefix(torch.tensor([1, 2, 3]), cache=None)
    >>> reusable_prefix(cached, torch.tensor([1, 2, 3, 4]), [])
    3
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import torch

__all__ = ["CachedPrefix", "ImageSpan", "image_spans", "reusable_prefix", "suffix_inputs"]

ImageSpan = tuple[int, int, torch.Tensor]
"""``(start, end, pixel rows)`` of one image's ``<|image_pad|>`` run in the prompt."""


@dataclass
class CachedPrefix:
    """The token ids whose keys/values sit in ``cache``, and the images among them."""

    token_ids: torch.Tensor  # (n,) on CPU
    cache: Any
    image_spans: list[ImageSpan] = field(default_factory=list)


def image_spans(ids: torch.Tensor, inputs: Any, image_token_id: int) -> list[ImageSpan]:
    """Each image's ``(start, end, pixel rows)`` in the prompt ``ids``, in order.

    Example:
        >>> image_spans(torch.tensor([5, 9, 9, 6]), {"image_grid_thw": None}, 9)
        []
    """
    grid = inputs.get("image_grid_thw")
    if grid is None:
        return []
    is_pad = (ids == image_token_id).int()
    edges = torch.diff(is_pad, prepend=torch.tensor([0]), append=torch.tensor([0]))
    starts = torch.nonzero(edges == 1).view(-1).tolist()
    ends = torch.nonzero(edges == -1).view(-1).tolist()
    rows = grid.prod(dim=-1).tolist()
    offsets = [0, *torch.tensor(rows).cumsum(0).tolist()]
    pixels = inputs["pixel_values"]
    return [
        (s, e, pixels[offsets[i] : offsets[i + 1]])
        for i, (s, e) in enumerate(zip(starts, ends, strict=True))
    ]


def reusable_prefix(prefix: CachedPrefix | None, ids: torch.Tensor, spans: list[ImageSpan]) -> int:
    """How many leading prompt tokens the cached KV covers, images checked pixel for pixel.

    Example:
        >>> cached = CachedPrefix(torch.tensor([1, 2, 7]), cache=None)
        >>> reusable_prefix(cached, torch.tensor([1, 2, 3]), [])
        2
    """
    if prefix is None:
        return 0
    cached = prefix.token_ids
    n = min(len(cached), len(ids) - 1)  # at least one token must be fed for logits
    mismatch = torch.nonzero(cached[:n] != ids[:n])
    if len(mismatch):
        n = int(mismatch[0])
    old = {s: (e, px) for s, e, px in prefix.image_spans}
    for start, end, pixels in spans:
        if start >= n:
            break
        match = old.get(start)
        same = match is not None and match[0] == end and torch.equal(match[1], pixels)
        if end > n or not same:
            # Cut before the image's <|vision_start|> so the image is fed whole.
            n = max(0, start - 1)
            break
    return n


def suffix_inputs(
    inputs: Any, spans: list[ImageSpan], reused: int, device: torch.device, dtype: torch.dtype
) -> dict[str, Any]:
    """Model inputs for the tokens after the reused prefix (and the images among them).

    Example:
        >>> ids = {"input_ids": torch.tensor([[1, 2, 3]])}
        >>> suffix_inputs(ids, [], 2, torch.device("cpu"), torch.float32)["input_ids"]
        tensor([[3]])
    """
    feed: dict[str, Any] = {"input_ids": inputs["input_ids"][:, reused:].to(device)}
    grid = inputs.get("image_grid_thw")
    if grid is None:
        return feed
    keep = [i for i, (start, _, _) in enumerate(spans) if start >= reused]
    if keep:
        feed["pixel_values"] = torch.cat([spans[i][2] for i in keep]).to(device, dtype)
        feed["image_grid_thw"] = grid[keep].to(device)
    return feed
