"""The tiny checkpoint loads with the real Qwen2.5-VL classes and behaves like the real layout."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from PIL import Image
from transformers import AutoProcessor, Qwen2_5_VLForConditionalGeneration

from visionthink_agent import protocol
from visionthink_agent.backends.qwen.template import QWEN2_5_VL_CHAT_TEMPLATE
from visionthink_agent.backends.qwen.tiny import (
    QWEN_ADDED_TOKENS,
    TINY_IMAGE_TOKEN_ID,
    main,
    write_tiny_checkpoint,
)
from visionthink_agent.images import visual_tokens


@pytest.fixture(scope="module")
def processor(tiny_checkpoint: Path) -> object:
    return AutoProcessor.from_pretrained(tiny_checkpoint)


def test_every_qwen_added_token_is_one_token_with_the_configured_id(
    tiny_checkpoint: Path, processor: object
) -> None:
    tokenizer = processor.tokenizer  # type: ignore[attr-defined]
    config = json.loads((tiny_checkpoint / "config.json").read_text())
    for token, _ in QWEN_ADDED_TOKENS:
        assert len(tokenizer.encode(token, add_special_tokens=False)) == 1, token
    assert tokenizer.convert_tokens_to_ids("<|image_pad|>") == config["image_token_id"]
    assert tokenizer.convert_tokens_to_ids("<|video_pad|>") == config["video_token_id"]
    assert tokenizer.convert_tokens_to_ids("<|vision_start|>") == config["vision_start_token_id"]
    assert tokenizer.convert_tokens_to_ids("<|vision_end|>") == config["vision_end_token_id"]
    assert config["image_token_id"] == TINY_IMAGE_TOKEN_ID


def test_tool_call_tags_survive_decoding_without_special_tokens(processor: object) -> None:
    tokenizer = processor.tokenizer  # type: ignore[attr-defined]
    text = '<think>small</think>\n<tool_call>\n{"name": "resize_image"}\n</tool_call><|im_end|>'
    decoded = tokenizer.decode(tokenizer.encode(text), skip_special_tokens=True)
    assert decoded == text.removesuffix("<|im_end|>")


def test_chat_template_renders_like_the_stock_qwen_template(processor: object) -> None:
    messages = [
        {"role": "system", "content": protocol.SYSTEM_PROMPT},
        {"role": "user", "content": [{"type": "image"}, {"type": "text", "text": "Total?"}]},
        {"role": "assistant", "content": "<think>x</think><answer>1</answer>"},
    ]
    rendered = processor.apply_chat_template(messages, add_generation_prompt=True)  # type: ignore[attr-defined]
    assert processor.chat_template == QWEN2_5_VL_CHAT_TEMPLATE  # type: ignore[attr-defined]
    assert rendered == (
        f"<|im_start|>system\n{protocol.SYSTEM_PROMPT}<|im_end|>\n"
        "<|im_start|>user\n<|vision_start|><|image_pad|><|vision_end|>Total?<|im_end|>\n"
        "<|im_start|>assistant\n<think>x</think><answer>1</answer><|im_end|>\n"
        "<|im_start|>assistant\n"
    )
    default_system = processor.apply_chat_template([{"role": "user", "content": "hi"}])  # type: ignore[attr-defined]
    assert default_system.startswith("<|im_start|>system\nYou are a helpful assistant.<|im_end|>")


@pytest.mark.parametrize("size", [(640, 480), (1920, 1080), (333, 97)])
def test_processor_expands_image_pad_to_the_core_token_count(
    processor: object, size: tuple[int, int]
) -> None:
    text = f"<|im_start|>user\n{protocol.QWEN_IMAGE_TOKENS}hi<|im_end|>\n"
    inputs = processor(text=[text], images=[Image.new("RGB", size)], return_tensors="pt")  # type: ignore[operator]
    grid = inputs["image_grid_thw"]
    pads = int((inputs["input_ids"] == TINY_IMAGE_TOKEN_ID).sum())
    assert pads == int(grid.prod()) // 4 == visual_tokens(*size)


def test_model_generates_from_an_image_prompt(tiny_checkpoint: Path, processor: object) -> None:
    model = Qwen2_5_VLForConditionalGeneration.from_pretrained(tiny_checkpoint)
    text = f"<|im_start|>user\n{protocol.QWEN_IMAGE_TOKENS}hi<|im_end|>\n<|im_start|>assistant\n"
    inputs = processor(text=[text], images=[Image.new("RGB", (200, 120))], return_tensors="pt")  # type: ignore[operator]
    with torch.no_grad():
        out = model.generate(**inputs, max_new_tokens=5, do_sample=False, min_new_tokens=5)
    assert out.shape[1] == inputs["input_ids"].shape[1] + 5


def test_writer_is_idempotent_and_refuses_foreign_directories(tmp_path: Path) -> None:
    first = write_tiny_checkpoint(tmp_path / "t", seed=3)
    stamp = (first / "model.safetensors").stat().st_mtime_ns
    assert write_tiny_checkpoint(first, seed=3) == first
    assert (first / "model.safetensors").stat().st_mtime_ns == stamp
    with pytest.raises(FileExistsError, match="overwrite"):
        write_tiny_checkpoint(first, seed=4)
    (tmp_path / "other").mkdir()
    with pytest.raises(FileExistsError, match="not a tiny checkpoint"):
        write_tiny_checkpoint(tmp_path / "other")
    assert write_tiny_checkpoint(first, seed=4, overwrite=True) == first
    assert not list(tmp_path.glob(".t-*")), "staging directories are cleaned up"


def test_same_seed_gives_same_weights(tmp_path: Path, tiny_checkpoint: Path) -> None:
    again = write_tiny_checkpoint(tmp_path / "again", seed=0)
    assert (again / "model.safetensors").read_bytes() == (
        tiny_checkpoint / "model.safetensors"
    ).read_bytes()


def test_command_line_prints_the_directory(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main([str(tmp_path / "cli")]) == 0
    assert capsys.readouterr().out.strip() == str(tmp_path / "cli")
