"""SDPA attention that prefills a suffix after a KV cache without materialising a mask.

When the resize turn reuses the first turn's KV cache, its prefill has more keys than queries
(``q < kv``). transformers' ``sdpa`` then builds a dense ``q × kv`` mask, which sends
``scaled_dot_product_attention`` to a slower masked kernel. Causal attention aligned to the
*lower right* (each new query sees every cached key and the new keys up to itself) needs no
mask: PyTorch's ``causal_lower_right`` bias runs it on the flash kernel. Registered under
:data:`ATTENTION_NAME` for single-sequence (unpadded, batch-1) use, which is how
:class:`~visionthink_agent.backends.qwen.engine.QwenVLEngine` calls the model; everything else
(an explicit mask, non-causal vision attention, one-token decoding) goes to the stock ``sdpa``.

Example:
    >>> register_lower_right_attention()
    'sdpa_lower_right'
"""

from __future__ import annotations

from typing import Any

import torch
from torch.nn.attention.bias import causal_lower_right

__all__ = ["ATTENTION_NAME", "lower_right_sdpa_attention", "register_lower_right_attention"]

ATTENTION_NAME = "sdpa_lower_right"


def lower_right_sdpa_attention(
    module: torch.nn.Module,
    query: torch.Tensor,
    key: torch.Tensor,
    value: torch.Tensor,
    attention_mask: torch.Tensor | None,
    dropout: float = 0.0,
    scaling: float | None = None,
    is_causal: bool | None = None,
    **kwargs: Any,
) -> tuple[torch.Tensor, None]:
    """transformers attention function: lower-right causal SDPA when ``q < kv``, else ``sdpa``.

    Example:
        >>> q = torch.randn(1, 2, 3, 8); kv = torch.randn(1, 2, 5, 8)
        >>> out, _ = lower_right_sdpa_attention(torch.nn.Module(), q, kv, kv, None)
        >>> out.shape
        torch.Size([1, 3, 2, 8])
    """
    from transformers.integrations.sdpa_attention import repeat_kv, sdpa_attention_forward

    causal = is_causal if is_causal is not None else getattr(module, "is_causal", True)
    q_len, kv_len = query.shape[2], key.shape[2]
    if attention_mask is not None or not causal or q_len == 1 or q_len == kv_len:
        return sdpa_attention_forward(
            module, query, key, value, attention_mask, dropout, scaling, is_causal, **kwargs
        )
    groups = int(getattr(module, "num_key_value_groups", 1))
    out = torch.nn.functional.scaled_dot_product_attention(
        query,
        repeat_kv(key, groups),
        repeat_kv(value, groups),
        attn_mask=causal_lower_right(q_len, kv_len),
        dropout_p=dropout,
        scale=scaling,
    )
    return out.transpose(1, 2).contiguous(), None


def register_lower_right_attention() -> str:
    """Register the attention function with transformers; returns its name.

    Example:
        >>> from transformers import AttentionInterface
        >>> register_lower_right_attention() in AttentionInterface._global_mapping
        True
    """
    from transformers import AttentionInterface

    AttentionInterface.register(ATTENTION_NAME, lower_right_sdpa_attention)
    return ATTENTION_NAME
