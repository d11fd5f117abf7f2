"""Qwen2.5-VL vision attention with one batched SDPA call per window length, not per window.

Qwen2.5-VL's vision tower attends within windows (112 px squares, 64 patches) on most layers and
over the whole image on a few. Without flash-attn's varlen kernel, transformers splits the
sequence at ``cu_seqlens`` and runs **one** ``scaled_dot_product_attention`` per window in a
Python loop — hundreds of windows per megapixel, on each of 28 window layers — so launch and
Python costs dominate the vision tower on a GPU.

All windows but those on the image's right and bottom edges have the same length, so grouping
windows by length leaves a handful of groups per image. :func:`grouped_segment_attention` gathers
each group into a ``(windows, heads, length, head_dim)`` batch, runs one SDPA call for it and
scatters the result back: the same maths (attention never crosses a segment boundary), a few
calls per layer. The token order of each length is computed once per ``cu_seqlens`` tensor and
shared by every layer that gets the same tensor.

:func:`enable_grouped_window_attention` installs it on one loaded model's vision attention
modules only (their ``forward`` is replaced on the instance; transformers itself is not patched),
and :func:`disable_grouped_window_attention` restores them. A model whose vision config asks for
flash attention already has a varlen kernel and is left alone.

Example:
    >>> q = k = v = torch.randn(2, 7, 4)  # (heads, tokens, head_dim)
    >>> cu = torch.tensor([0, 3, 6, 7])  # windows of 3, 3 and 1 tokens
    >>> grouped_segment_attention(q, k, v, cu).shape
    torch.Size([7, 2, 4])
"""

from __future__ import annotations

import inspect
import itertools
import sys
import types
from collections.abc import Callable
from typing import Any

import torch

__all__ = [
    "SegmentGroups",
    "disable_grouped_window_attention",
    "enable_grouped_window_attention",
    "grouped_segment_attention",
]

_ORIGINAL_FORWARD = "_visionthink_stock_forward"


class SegmentGroups:
    """The tokens of ``cu_seqlens``' segments, grouped by segment length.

    Args:
        cu_seqlens: cumulative segment boundaries ``[0, e1, e2, ..., total]`` (1-D, any device).

    Attributes:
        order: token indices, segments of each length in turn (a permutation of all tokens).
        inverse: the permutation that puts ``order``-ordered tokens back in place.
        groups: ``(length, count)`` per distinct segment length, in ``order``'s order.

    Raises:
        ValueError: ``cu_seqlens`` is not 1-D, does not start at 0 or decreases.

    Example:
        >>> g = SegmentGroups(torch.tensor([0, 2, 3, 5]))
        >>> g.groups, g.order.tolist()
        ([(2, 2), (1, 1)], [0, 1, 3, 4, 2])
    """

    def __init__(self, cu_seqlens: torch.Tensor) -> None:
        bounds = [int(b) for b in cu_seqlens.tolist()]
        if cu_seqlens.dim() != 1 or not bounds or bounds[0] != 0:
            raise ValueError(f"cu_seqlens must be 1-D and start at 0, got {bounds[:4]}...")
        lengths = [end - start for start, end in itertools.pairwise(bounds)]
        if any(n < 0 for n in lengths):
            raise ValueError("cu_seqlens must not decrease")
        starts: dict[int, list[int]] = {}
        for start, length in zip(bounds, lengths, strict=False):
            if length:
                starts.setdefault(length, []).append(start)
        device = cu_seqlens.device
        pieces = [
            (torch.tensor(s, device=device)[:, None] + torch.arange(n, device=device)).reshape(-1)
            for n, s in starts.items()
        ]
        self.groups = [(n, len(s)) for n, s in starts.items()]
        empty = torch.zeros(0, dtype=torch.long, device=device)
        self.order = torch.cat(pieces) if pieces else empty
        self.inverse = torch.empty_like(self.order)
        self.inverse[self.order] = torch.arange(len(self.order), device=device)


def grouped_segment_attention(
    query: torch.Tensor,
    key: torch.Tensor,
    value: torch.Tensor,
    cu_seqlens: torch.Tensor,
    *,
    scale: float | None = None,
    groups: SegmentGroups | None = None,
) -> torch.Tensor:
    """Non-causal attention within each ``cu_seqlens`` segment, one SDPA call per length.

    Args:
        query: ``(heads, tokens, head_dim)``; ``key`` and ``value`` likewise.
        cu_seqlens: segment boundaries over ``tokens``.
        scale: softmax scale (default ``head_dim ** -0.5``).
        groups: the precomputed :class:`SegmentGroups` of ``cu_seqlens``.

    Returns:
        ``(tokens, heads, head_dim)``, token ``i`` attending only to its own segment.

    Example:
        >>> x = torch.randn(1, 4, 2)
        >>> whole = torch.nn.functional.scaled_dot_product_attention(x, x, x)
        >>> torch.allclose(grouped_segment_attention(x, x, x, torch.tensor([0, 4]))[:, 0], whole[0])
        True
    """
    plan = groups if groups is not None else SegmentGroups(cu_seqlens)
    heads, head_dim = query.shape[0], query.shape[-1]
    # (heads, tokens, d) -> (tokens in group order, heads, d): every group is then a slice.
    q, k, v = (t.transpose(0, 1)[plan.order] for t in (query, key, value))
    outputs, offset = [], 0
    for length, count in plan.groups:
        size = length * count
        qb, kb, vb = (
            t[offset : offset + size].view(count, length, heads, head_dim).transpose(1, 2)
            for t in (q, k, v)
        )  # (windows, heads, length, head_dim)
        out = torch.nn.functional.scaled_dot_product_attention(qb, kb, vb, scale=scale)
        outputs.append(out.transpose(1, 2).reshape(size, heads, head_dim))
        offset += size
    return torch.cat(outputs)[plan.inverse]


class _PlanCache:
    """The :class:`SegmentGroups` of the last few ``cu_seqlens`` tensors (one forward's worth).

    It holds the tensors themselves, so an identity match can never be a recycled object.
    """

    def __init__(self, size: int = 4) -> None:
        self.size = size
        self.entries: list[tuple[torch.Tensor, SegmentGroups]] = []

    def get(self, cu_seqlens: torch.Tensor) -> SegmentGroups:
        for tensor, plan in self.entries:
            if tensor is cu_seqlens:
                return plan
        plan = SegmentGroups(cu_seqlens)
        self.entries = [(cu_seqlens, plan), *self.entries][: self.size]
        return plan


def _grouped_forward(
    rotary: Callable[..., tuple[torch.Tensor, torch.Tensor]], plans: _PlanCache
) -> Callable[..., torch.Tensor]:
    """A vision-attention ``forward`` (qkv, rotary, grouped attention, proj) for one module."""

    def forward(
        self: Any,
        hidden_states: torch.Tensor,
        cu_seqlens: torch.Tensor,
        position_embeddings: tuple[torch.Tensor, torch.Tensor] | None = None,
        **kwargs: Any,
    ) -> torch.Tensor:
        dropout = self.training and self.attention_dropout
        if position_embeddings is None or dropout or _flash_requested(self):
            return getattr(self, _ORIGINAL_FORWARD)(
                hidden_states, cu_seqlens, position_embeddings=position_embeddings, **kwargs
            )
        seq_length = hidden_states.shape[0]
        qkv = self.qkv(hidden_states).reshape(seq_length, 3, self.num_heads, -1)
        query, key, value = qkv.permute(1, 0, 2, 3).unbind(0)  # (tokens, heads, d) each
        cos, sin = position_embeddings
        query, key = rotary(query, key, cos, sin)
        out = grouped_segment_attention(
            query.transpose(0, 1),
            key.transpose(0, 1),
            value.transpose(0, 1),
            cu_seqlens,
            scale=self.scaling,
            groups=plans.get(cu_seqlens),
        )
        return self.proj(out.reshape(seq_length, -1))

    return forward


def _flash_requested(module: torch.nn.Module) -> bool:
    """The module's config asks for a flash kernel (which has varlen attention already)."""
    config = getattr(module, "config", None)
    return "flash" in str(getattr(config, "_attn_implementation", None) or "")


def _is_vision_attention(module: torch.nn.Module) -> bool:
    """A Qwen2.5-VL-style vision attention: qkv/proj linears, forward(hidden, cu_seqlens, ...)."""
    if not type(module).__name__.endswith("VisionAttention"):
        return False
    if not all(hasattr(module, a) for a in ("qkv", "proj", "num_heads", "scaling")):
        return False
    parameters = inspect.signature(type(module).forward).parameters
    return "cu_seqlens" in parameters and "position_embeddings" in parameters


def enable_grouped_window_attention(model: torch.nn.Module) -> int:
    """Give ``model``'s vision attention modules the grouped forward; returns how many.

    Only this model instance changes. Returns 0 (and changes nothing) when no module matches
    the expected structure (another transformers layout) or when the vision tower is configured
    for flash attention, which already runs all windows in one varlen call. Calling it again is
    harmless.

    Example:
        >>> enable_grouped_window_attention(torch.nn.Linear(2, 2))
        0
    """
    patched = 0
    plans = _PlanCache()
    for module in model.modules():
        if not _is_vision_attention(module):
            continue
        rotary = getattr(sys.modules[type(module).__module__], "apply_rotary_pos_emb_vision", None)
        if _flash_requested(module) or rotary is None:
            continue
        if not hasattr(module, _ORIGINAL_FORWARD):
            setattr(module, _ORIGINAL_FORWARD, module.forward)
        module.forward = types.MethodType(_grouped_forward(rotary, plans), module)
        patched += 1
    return patched


def disable_grouped_window_attention(model: torch.nn.Module) -> int:
    """Put back the stock forward of every module :func:`enable_grouped_window_attention` changed.

    Example:
        >>> disable_grouped_window_attention(torch.nn.Linear(2, 2))
        0
    """
    restored = 0
    for module in model.modules():
        if hasattr(module, _ORIGINAL_FORWARD):
            module.forward = getattr(module, _ORIGINAL_FORWARD)
            delattr(module, _ORIGINAL_FORWARD)
            restored += 1
    return restored
