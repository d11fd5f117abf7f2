"""Grouped window attention: same outputs as transformers' per-window loop, far fewer SDPA calls."""

from __future__ import annotations

import itertools
from pathlib import Path
from typing import Any

import pytest
import torch
from PIL import Image

from visionthink_agent.backends.qwen.engine import QwenVLEngine
from visionthink_agent.backends.qwen.grouped_window_attention import (
    SegmentGroups,
    disable_grouped_window_attention,
    enable_grouped_window_attention,
    grouped_segment_attention,
)


def per_segment_attention(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, cu: list[int]) -> Any:
    """The reference: one SDPA call per segment, as transformers' non-flash path does."""
    outs = [
        torch.nn.functional.scaled_dot_product_attention(
            q[:, a:b][None], k[:, a:b][None], v[:, a:b][None]
        )[0]
        for a, b in itertools.pairwise(cu)
    ]
    return torch.cat(outs, dim=1).transpose(0, 1)


def test_matches_per_segment_attention_with_mixed_and_empty_segments() -> None:
    torch.manual_seed(0)
    cu = [0, 4, 8, 8, 10, 14, 15, 17, 21]  # lengths 4, 4, 0, 2, 4, 1, 2, 4
    q, k, v = (torch.randn(3, 21, 8) for _ in range(3))
    out = grouped_segment_attention(q, k, v, torch.tensor(cu, dtype=torch.int32))
    torch.testing.assert_close(out, per_segment_attention(q, k, v, cu))
    assert SegmentGroups(torch.tensor(cu)).groups == [(4, 4), (2, 2), (1, 1)]


@pytest.mark.parametrize("bad", [[1, 3], [0, 4, 2]])
def test_rejects_malformed_boundaries(bad: list[int]) -> None:
    with pytest.raises(ValueError, match="cu_seqlens"):
        SegmentGroups(torch.tensor(bad))


@pytest.fixture
def sdpa_calls(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Counts calls of ``torch.nn.functional.scaled_dot_product_attention`` (one list per run)."""
    calls = [0]
    stock = torch.nn.functional.scaled_dot_product_attention

    def counting(*args: Any, **kwargs: Any) -> torch.Tensor:
        calls[0] += 1
        return stock(*args, **kwargs)

    monkeypatch.setattr(torch.nn.functional, "scaled_dot_product_attention", counting)
    return calls


def test_vision_tower_and_logits_match_the_stock_loop_with_fewer_sdpa_calls(
    tiny_checkpoint: Path, sdpa_calls: list[int]
) -> None:
    engine = QwenVLEngine.load(tiny_checkpoint, device="cpu", dtype="float32")
    model = engine.model
    assert not engine.grouped_window_attention  # off by default on CPU
    # 364 x 280 px -> 26 x 20 patches: windows of 64, 32, 16 and 8 patches on the edges
    image = Image.effect_noise((364, 280), 64).convert("RGB")
    messages = [{"role": "user", "content": [{"type": "image"}, {"type": "text", "text": "Hi"}]}]
    inputs = engine.processor(
        text=[engine.render(messages)], images=[image], return_tensors="pt"
    ).to("cpu")
    grid = inputs["image_grid_thw"]
    assert grid.tolist() == [[1, 20, 26]]

    def run() -> tuple[torch.Tensor, torch.Tensor, int]:
        sdpa_calls[0] = 0
        with torch.no_grad():
            vision = model.model.visual(inputs["pixel_values"], grid_thw=grid).pooler_output
            vision_calls = sdpa_calls[0]
            logits = model(**inputs).logits
        return vision, logits, vision_calls

    stock_vision, stock_logits, stock_calls = run()
    assert enable_grouped_window_attention(model) == 2  # both vision blocks
    vision, logits, calls = run()
    torch.testing.assert_close(vision, stock_vision, rtol=1e-5, atol=1e-5)
    torch.testing.assert_close(logits, stock_logits, rtol=1e-5, atol=1e-5)
    # stock: 12 windows (window layer) + 1 image (full layer); grouped: 4 lengths + 1
    assert (stock_calls, calls) == (13, 5)
    assert disable_grouped_window_attention(model) == 2
    assert run()[2] == stock_calls


def test_engine_option_enables_it(tiny_checkpoint: Path) -> None:
    engine = QwenVLEngine.load(tiny_checkpoint, device="cpu", grouped_window_attention=True)
    assert engine.grouped_window_attention
    attention = [m for m in engine.model.modules() if type(m).__name__.endswith("VisionAttention")]
    assert attention
    assert all("forward" in vars(m) for m in attention)  # replaced on the instance
    image = Image.new("RGB", (84, 56))
    result = engine.generate(
        [{"role": "user", "content": [{"type": "image"}, {"type": "text", "text": "Hi"}]}],
        [image],
        max_new_tokens=2,
    )
    assert result.visual_tokens == 6
