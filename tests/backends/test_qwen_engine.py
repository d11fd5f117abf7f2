"""The in-process engine: exact token counts, streaming, and KV reuse that changes nothing."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import torch
from PIL import Image

from visionthink_agent import protocol
from visionthink_agent.backends.qwen.engine import (
    ModelLoadError,
    QwenVLEngine,
    qwen_content,
    resolve_dtype,
)
from visionthink_agent.images import load_image, visual_tokens

QUESTION = "What is written on the sign?"
ANSWER = (
    "<think>Too small.</think>\n<tool_call>\n"
    '{"name": "resize_image", "arguments": {"action": "resize"}}\n</tool_call>'
)


@pytest.fixture(scope="module")
def engine(tiny_checkpoint: Path) -> QwenVLEngine:
    return QwenVLEngine.load(tiny_checkpoint, device="cpu")


@pytest.fixture
def photo() -> Image.Image:
    gradient = Image.linear_gradient("L").resize((300, 200))
    return Image.merge("RGB", (gradient, gradient.rotate(90), gradient.transpose(0)))


def first_turn() -> list[dict[str, Any]]:
    return [
        {"role": "system", "content": protocol.SYSTEM_PROMPT},
        {"role": "user", "content": qwen_content(protocol.user_turn(QUESTION))},
    ]


def second_turn(answer: str) -> list[dict[str, Any]]:
    return [
        *first_turn(),
        {"role": "assistant", "content": answer},
        {"role": "user", "content": qwen_content(protocol.tool_success_turn())},
    ]


def test_counts_prompt_and_visual_tokens_exactly(engine: QwenVLEngine, photo: Image.Image) -> None:
    result = engine.generate(first_turn(), [photo], max_new_tokens=2)
    assert result.visual_tokens == visual_tokens(*photo.size)
    prompt = engine.render(first_turn())
    expected = engine.processor(text=[prompt], images=[photo], return_tensors="pt")
    assert result.prompt_tokens == expected["input_ids"].shape[1]
    assert result.output_tokens == len(result.token_ids) <= 2


def test_streamed_pieces_join_to_the_text(engine: QwenVLEngine, photo: Image.Image) -> None:
    pieces: list[str] = []
    result = engine.generate(first_turn(), [photo], max_new_tokens=12, on_text=pieces.append)
    assert "".join(pieces) == result.text


def test_kv_reuse_gives_the_same_tokens_and_logits(
    engine: QwenVLEngine, photo: Image.Image
) -> None:
    source = load_image(photo)
    small, full = source.first_look(), source.high_res()
    engine.reset()
    first = engine.generate(first_turn(), [small], max_new_tokens=4)
    reused = engine.generate(second_turn(ANSWER), [small, full], max_new_tokens=16)
    engine.reset()
    fresh = engine.generate(second_turn(ANSWER), [small, full], max_new_tokens=16)
    assert reused.reused_tokens >= first.prompt_tokens - 1
    assert fresh.reused_tokens == 0
    assert reused.token_ids == fresh.token_ids
    assert reused.prompt_tokens == fresh.prompt_tokens


def test_first_step_logits_match_with_and_without_reuse(
    engine: QwenVLEngine, photo: Image.Image
) -> None:
    source = load_image(photo)
    small, full = source.first_look(), source.high_res()
    captured: list[torch.Tensor] = []
    hook = engine.model.register_forward_hook(
        lambda _m, _i, out: captured.append(out.logits[0, -1].clone())
    )
    try:
        engine.reset()
        engine.generate(first_turn(), [small], max_new_tokens=1)
        captured.clear()
        engine.generate(second_turn(ANSWER), [small, full], max_new_tokens=1)
        with_reuse = captured[0]
        engine.reset()
        captured.clear()
        engine.generate(second_turn(ANSWER), [small, full], max_new_tokens=1)
        without = captured[0]
    finally:
        hook.remove()
    torch.testing.assert_close(with_reuse, without, rtol=1e-4, atol=1e-4)


def test_a_different_image_of_the_same_size_is_not_reused(
    engine: QwenVLEngine, photo: Image.Image
) -> None:
    other = photo.transpose(Image.Transpose.FLIP_LEFT_RIGHT)
    engine.reset()
    first = engine.generate(first_turn(), [photo], max_new_tokens=1)
    again = engine.generate(first_turn(), [other], max_new_tokens=1)
    engine.reset()
    fresh = engine.generate(first_turn(), [other], max_new_tokens=1)
    pad = engine.tokenizer.convert_tokens_to_ids("<|vision_start|>")
    ids = engine.processor(text=[engine.render(first_turn())], images=[other])["input_ids"][0]
    assert again.reused_tokens < list(ids).index(pad) + 1 <= first.prompt_tokens
    assert again.token_ids == fresh.token_ids


def test_sampling_is_seeded(engine: QwenVLEngine, photo: Image.Image) -> None:
    runs = [
        engine.generate(first_turn(), [photo], max_new_tokens=8, temperature=1.0, seed=7)
        for _ in range(2)
    ]
    assert runs[0].token_ids == runs[1].token_ids


def test_stop_strings_end_generation(engine: QwenVLEngine, photo: Image.Image) -> None:
    free = engine.generate(first_turn(), [photo], max_new_tokens=12)
    stop = free.text[3:6]
    assert stop
    cut = engine.generate(first_turn(), [photo], max_new_tokens=12, stop=[stop])
    assert cut.finish_reason == "stop"
    assert cut.text == free.text.split(stop, 1)[0]


def test_unknown_model_fails_with_the_ways_forward(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(ModelLoadError) as info:
        QwenVLEngine.load("no-such-org/no-such-model", device="cpu")
    message = str(info.value)
    assert "--model tiny" in message
    assert "--base-url" in message
    assert "local" in message


def test_bad_dtype_is_named() -> None:
    with pytest.raises(ValueError, match="unknown dtype 'float8'"):
        resolve_dtype("float8", "cpu")


def test_cancel_stops_and_keeps_the_cache_consistent(
    engine: QwenVLEngine, photo: Image.Image
) -> None:
    import threading

    cancel = threading.Event()
    engine.reset()
    cut = engine.generate(
        first_turn(), [photo], max_new_tokens=50, on_text=lambda _: cancel.set(), cancel=cancel
    )
    assert cut.finish_reason == "cancelled"
    assert cut.output_tokens < 50
    continued = second_turn(cut.text)
    reused = engine.generate(continued, [photo, photo], max_new_tokens=6)
    engine.reset()
    fresh = engine.generate(continued, [photo, photo], max_new_tokens=6)
    assert reused.reused_tokens > cut.prompt_tokens - 2
    assert reused.token_ids == fresh.token_ids


def test_a_failed_call_leaves_no_stale_prefix(engine: QwenVLEngine, photo: Image.Image) -> None:
    engine.generate(first_turn(), [photo], max_new_tokens=2)

    def boom(_: str) -> None:
        raise RuntimeError("consumer failed")

    with pytest.raises(RuntimeError, match="consumer failed"):
        engine.generate(second_turn(ANSWER), [photo, photo], max_new_tokens=8, on_text=boom)
    after = engine.generate(second_turn(ANSWER), [photo, photo], max_new_tokens=2)
    assert after.reused_tokens == 0
