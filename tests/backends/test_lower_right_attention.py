"""Lower-right causal SDPA equals attention with the explicit cached-prefix mask."""

from __future__ import annotations

import torch
from transformers.integrations.sdpa_attention import repeat_kv

from visionthink_agent.backends.qwen.lower_right_attention import lower_right_sdpa_attention


def test_matches_an_explicit_lower_right_mask_with_grouped_kv_heads() -> None:
    torch.manual_seed(0)
    query, key, value = torch.randn(1, 4, 3, 8), torch.randn(1, 2, 7, 8), torch.randn(1, 2, 7, 8)
    module = torch.nn.Module()
    module.num_key_value_groups = 2  # type: ignore[assignment]
    out, _ = lower_right_sdpa_attention(module, query, key, value, None)
    # query i (of 3) sits at position 4 + i of 7 and sees keys 0 .. 4 + i
    mask = torch.ones(3, 7, dtype=torch.bool).tril(diagonal=4)
    expected = torch.nn.functional.scaled_dot_product_attention(
        query, repeat_kv(key, 2), repeat_kv(value, 2), attn_mask=mask
    ).transpose(1, 2)
    torch.testing.assert_close(out, expected)


def test_equal_lengths_and_non_causal_calls_use_stock_sdpa() -> None:
    torch.manual_seed(1)
    x = torch.randn(1, 2, 5, 8)
    module = torch.nn.Module()
    causal, _ = lower_right_sdpa_attention(module, x, x, x, None)
    full, _ = lower_right_sdpa_attention(module, x, x, x, None, is_causal=False)
    ref = torch.nn.functional.scaled_dot_product_attention(x, x, x, is_causal=True)
    torch.testing.assert_close(causal, ref.transpose(1, 2))
    assert not torch.allclose(causal, full)
