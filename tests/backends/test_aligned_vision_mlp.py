"""Zero-padded vision MLPs: same vision features and logits, wider vision GEMMs only."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from PIL import Image

from visionthink_agent.backends.qwen.aligned_vision_mlp import align_vision_mlp, unalign_vision_mlp
from visionthink_agent.backends.qwen.engine import QwenVLEngine


def mlp_widths(model: torch.nn.Module) -> dict[str, int]:
    return {
        name: module.gate_proj.out_features
        for name, module in model.named_modules()
        if hasattr(module, "gate_proj")
    }


def test_padding_keeps_vision_features_and_logits(tiny_checkpoint: Path) -> None:
    engine = QwenVLEngine.load(tiny_checkpoint, device="cpu", dtype="float32")
    model = engine.model
    image = Image.effect_noise((364, 280), 64).convert("RGB")
    messages = [{"role": "user", "content": [{"type": "image"}, {"type": "text", "text": "Hi"}]}]
    inputs = engine.processor(text=[engine.render(messages)], images=[image], return_tensors="pt")

    def run() -> tuple[torch.Tensor, torch.Tensor]:
        with torch.no_grad():
            grid = inputs["image_grid_thw"]
            vision = model.model.visual(inputs["pixel_values"], grid_thw=grid).pooler_output
            return vision, model(**inputs).logits

    stock_vision, stock_logits = run()
    before = mlp_widths(model)
    assert align_vision_mlp(model, multiple=48) == 2  # the tiny tower's two blocks: 64 -> 96
    after = mlp_widths(model)
    changed = {name for name in before if before[name] != after[name]}
    assert changed
    assert all(".visual." in f".{name}." for name in changed)
    assert {after[name] for name in changed} == {96}
    vision, logits = run()
    torch.testing.assert_close(vision, stock_vision, rtol=1e-5, atol=1e-5)
    torch.testing.assert_close(logits, stock_logits, rtol=1e-5, atol=1e-5)
    assert align_vision_mlp(model, multiple=48) == 0  # already padded
    assert unalign_vision_mlp(model) == 2
    assert mlp_widths(model) == before
    torch.testing.assert_close(run()[1], stock_logits, rtol=1e-5, atol=1e-5)


def test_engine_option_leaves_an_aligned_width_alone(tiny_checkpoint: Path) -> None:
    engine = QwenVLEngine.load(tiny_checkpoint, device="cpu", aligned_vision_mlp=True)
    assert not engine.aligned_vision_mlp  # the tiny tower's width 64 is already a multiple


def test_rejects_a_non_positive_multiple() -> None:
    with pytest.raises(ValueError, match="multiple must be positive"):
        align_vision_mlp(torch.nn.Linear(2, 2), multiple=0)
