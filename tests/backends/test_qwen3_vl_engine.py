"""The in-process backend on a Qwen3-VL checkpoint: engine, ChatQwenVL, and its family."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import torch
from langchain_core.messages import HumanMessage, SystemMessage
from PIL import Image
from transformers import AutoModelForImageTextToText

from visionthink_agent import protocol
from visionthink_agent.backends.families import QWEN2_5_VL_FAMILY, QWEN3_VL_FAMILY, family_of
from visionthink_agent.backends.qwen.engine import QwenVLEngine, qwen_content
from visionthink_agent.backends.qwen.grouped_window_attention import enable_grouped_window_attention
from visionthink_agent.backends.transformers_chat import ChatQwenVL
from visionthink_agent.images import encode_image, load_image, visual_tokens

GEOMETRY = QWEN3_VL_FAMILY.geometry
QUESTION = "What is written on the sign?"
ZOOM_ANSWER = (
    "<think>Too small.</think>\n<tool_call>\n"
    + json.dumps({"name": protocol.ZOOM_TOOL_NAME, "arguments": {"bbox_2d": [100, 100, 600, 500]}})
    + "\n</tool_call>"
)


@pytest.fixture(scope="module")
def engine(tiny_qwen3_checkpoint: Path) -> QwenVLEngine:
    return QwenVLEngine.load(tiny_qwen3_checkpoint, device="cpu")


@pytest.fixture
def photo() -> Image.Image:
    gradient = Image.linear_gradient("L").resize((300, 200))
    return Image.merge("RGB", (gradient, gradient.rotate(90), gradient.transpose(0)))


def first_turn() -> list[dict[str, Any]]:
    return [
        {"role": "system", "content": protocol.system_prompt("zoom", "relative_1000")},
        {"role": "user", "content": qwen_content(protocol.user_turn(QUESTION))},
    ]


def second_turn() -> list[dict[str, Any]]:
    return [
        *first_turn(),
        {"role": "assistant", "content": ZOOM_ANSWER},
        {"role": "user", "content": qwen_content(protocol.zoom_success_turn())},
    ]


def zoom_views(photo: Image.Image) -> list[Image.Image]:
    """The first look and the crop of :data:`ZOOM_ANSWER`'s box."""
    source = load_image(photo)
    box = source.zoom_box([100, 100, 600, 500], boxes="relative_1000")
    return [source.first_look(), source.zoom(box)]


def hf_generate(engine: QwenVLEngine, messages: Any, images: Any, n: int) -> list[int]:
    """Greedy tokens of transformers' own ``generate`` on the processor's full output."""
    inputs = engine.processor(text=[engine.render(messages)], images=images, return_tensors="pt")
    with torch.no_grad():
        out = engine.model.generate(**inputs, max_new_tokens=n, do_sample=False)
    tokens: list[int] = out[0, inputs["input_ids"].shape[1] :].tolist()
    return tokens


def test_the_engine_knows_its_family(engine: QwenVLEngine, tiny_checkpoint: Path) -> None:
    assert engine.family is QWEN3_VL_FAMILY
    assert QwenVLEngine.load(tiny_checkpoint, device="cpu").family is QWEN2_5_VL_FAMILY


def test_counts_visual_tokens_with_the_qwen3_geometry(
    engine: QwenVLEngine, photo: Image.Image
) -> None:
    result = engine.generate(first_turn(), [photo], max_new_tokens=2)
    assert result.visual_tokens == visual_tokens(*photo.size, geometry=GEOMETRY)
    assert result.visual_tokens != visual_tokens(*photo.size)  # not Qwen2.5-VL's count
    expected = engine.processor(text=[engine.render(first_turn())], images=[photo])
    assert result.prompt_tokens == len(expected["input_ids"][0])


def test_tokens_equal_transformers_generate(engine: QwenVLEngine, photo: Image.Image) -> None:
    """M-RoPE positions (from mm_token_type_ids) and DeepStack as transformers computes them."""
    engine.reset()
    ours = engine.generate(first_turn(), [photo], max_new_tokens=8, stop=None)
    assert ours.token_ids == hf_generate(engine, first_turn(), [photo], len(ours.token_ids))


def test_zoom_turn_with_kv_reuse_equals_transformers_generate(
    engine: QwenVLEngine, photo: Image.Image
) -> None:
    views = zoom_views(photo)
    engine.reset()
    first = engine.generate(first_turn(), views[:1], max_new_tokens=3)
    reused = engine.generate(second_turn(), views, max_new_tokens=10)
    assert reused.reused_tokens >= first.prompt_tokens - 1
    engine.reset()
    fresh = engine.generate(second_turn(), views, max_new_tokens=10)
    assert fresh.reused_tokens == 0
    assert reused.token_ids == fresh.token_ids
    assert fresh.token_ids == hf_generate(engine, second_turn(), views, len(fresh.token_ids))
    assert fresh.visual_tokens == sum(visual_tokens(*v.size, geometry=GEOMETRY) for v in views)


def test_grouped_vision_attention_gives_the_same_logits(
    tiny_qwen3_checkpoint: Path, engine: QwenVLEngine, photo: Image.Image
) -> None:
    """On CUDA the engine groups the vision tower's attention; Qwen3-VL's matches too."""
    model = AutoModelForImageTextToText.from_pretrained(tiny_qwen3_checkpoint).eval()
    inputs = engine.processor(
        text=[engine.render(second_turn())], images=zoom_views(photo), return_tensors="pt"
    )
    with torch.no_grad():
        stock = model(**inputs).logits
        assert enable_grouped_window_attention(model) == len(model.model.visual.blocks)
        grouped = model(**inputs).logits
    torch.testing.assert_close(grouped, stock, rtol=1e-4, atol=1e-4)


@pytest.fixture(scope="module")
def chat(tiny_qwen3_checkpoint: Path) -> ChatQwenVL:
    return ChatQwenVL(model=str(tiny_qwen3_checkpoint), device="cpu", max_tokens=5)


def image_message(size: tuple[int, int] = (120, 90)) -> HumanMessage:
    png = encode_image(Image.new("RGB", size, "navy"), "PNG")
    return HumanMessage(
        [
            {"type": "image", "base64": png.base64, "mime_type": png.mime_type},
            {"type": "text", "text": "Colour?"},
        ]
    )


def test_chat_model_replies_to_text_and_image(chat: ChatQwenVL) -> None:
    reply = chat.invoke([SystemMessage("Answer briefly."), image_message()])
    assert isinstance(reply.content, str)
    assert reply.response_metadata["visual_tokens"] == visual_tokens(120, 90, geometry=GEOMETRY)
    usage = reply.usage_metadata
    assert usage is not None
    assert 1 <= usage["output_tokens"] <= 5
    assert usage["input_tokens"] > reply.response_metadata["visual_tokens"]


def test_chat_model_family_before_and_after_loading(tiny_qwen3_checkpoint: Path) -> None:
    fresh = ChatQwenVL(model=str(tiny_qwen3_checkpoint), device="cpu", dtype="float32")
    assert fresh.family is QWEN3_VL_FAMILY  # from config.json, no weights loaded
    assert ChatQwenVL(model="tiny-qwen3-vl").family is QWEN3_VL_FAMILY  # from the name
    assert ChatQwenVL(model="tiny").family is QWEN2_5_VL_FAMILY


def test_family_of_a_loaded_and_a_bound_chat_model(chat: ChatQwenVL) -> None:
    chat.invoke([image_message()])
    assert chat.family is QWEN3_VL_FAMILY
    bound = chat.bind_tools([protocol.zoom_tool_schema(chat.family.boxes)])
    assert family_of(bound) is QWEN3_VL_FAMILY


def test_native_zoom_tool_is_declared_and_forced_in_hermes_format(
    chat: ChatQwenVL, engine: QwenVLEngine
) -> None:
    schema = protocol.zoom_tool_schema("relative_1000")
    prompt = engine.render([{"role": "user", "content": "hi"}], tools=[schema])
    assert prompt.count("# Tools") == 1  # the template's own declaration, not a second one
    assert f"<tools>\n{json.dumps(schema, ensure_ascii=False)}\n</tools>" in prompt
    bound = chat.bind_tools([schema], tool_choice=protocol.ZOOM_TOOL_NAME)
    reply = bound.invoke([image_message()])
    assert reply.content.startswith(  # type: ignore[union-attr]
        '<tool_call>\n{"name": "image_zoom_in_tool", "arguments": '
    )
