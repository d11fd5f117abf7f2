"""The tiny Qwen3-VL checkpoint: real classes, Qwen3-VL tokens, the stock chat template."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import torch
from langchain_core.messages import AIMessage, HumanMessage, SystemMessage, ToolMessage
from PIL import Image
from transformers import AutoModelForImageTextToText, AutoProcessor

from visionthink_agent import protocol
from visionthink_agent.backends.demo import resolve_model_alias
from visionthink_agent.backends.families import QWEN3_VL_FAMILY, family_for_checkpoint
from visionthink_agent.backends.qwen.engine import qwen_content
from visionthink_agent.backends.qwen.template import QWEN3_VL_CHAT_TEMPLATE
from visionthink_agent.backends.qwen.tiny import (
    QWEN3_VL_ADDED_TOKENS,
    TINY_IMAGE_TOKEN_ID,
    TINY_QWEN3_VL_ALIAS,
    default_tiny_dir,
    main,
    write_tiny_checkpoint,
)
from visionthink_agent.backends.transformers_chat import to_qwen_messages
from visionthink_agent.images import encode_image, load_image, visual_tokens, zoom_box

QUESTION = "What does the small sign say?"
ZOOM_BOX = [600, 80, 900, 240]
ZOOM_CALL = {"name": protocol.ZOOM_TOOL_NAME, "arguments": {"bbox_2d": ZOOM_BOX}}
ZOOM_ANSWER = (
    f"<think>The sign is too small.</think>\n<tool_call>\n{json.dumps(ZOOM_CALL)}\n</tool_call>"
)
IMAGE = protocol.QWEN_IMAGE_TOKENS


@pytest.fixture(scope="module")
def processor(tiny_qwen3_checkpoint: Path) -> Any:
    return AutoProcessor.from_pretrained(tiny_qwen3_checkpoint)


def zoom_conversation() -> list[dict[str, Any]]:
    return [
        {"role": "system", "content": protocol.system_prompt("zoom", "relative_1000")},
        {"role": "user", "content": qwen_content(protocol.user_turn(QUESTION))},
        {"role": "assistant", "content": ZOOM_ANSWER},
        {"role": "user", "content": qwen_content(protocol.zoom_success_turn())},
    ]


def test_loads_with_the_auto_classes(tiny_qwen3_checkpoint: Path, processor: Any) -> None:
    model = AutoModelForImageTextToText.from_pretrained(tiny_qwen3_checkpoint)
    assert type(model).__name__ == "Qwen3VLForConditionalGeneration"
    assert type(processor).__name__ == "Qwen3VLProcessor"
    assert model.config.model_type == "qwen3_vl"
    assert model.config.vision_config.deepstack_visual_indexes == [0, 1]
    assert processor.image_processor.patch_size == 16
    assert processor.image_processor.merge_size == 2
    assert processor.image_processor.temporal_patch_size == 2
    assert family_for_checkpoint(tiny_qwen3_checkpoint) is QWEN3_VL_FAMILY
    assert sum(p.numel() for p in model.parameters()) < 1_000_000


def test_every_qwen3_added_token_is_one_token_with_the_configured_id(
    tiny_qwen3_checkpoint: Path, processor: Any
) -> None:
    tokenizer = processor.tokenizer
    config = json.loads((tiny_qwen3_checkpoint / "config.json").read_text())
    for token, _ in QWEN3_VL_ADDED_TOKENS:
        assert len(tokenizer.encode(token, add_special_tokens=False)) == 1, token
    assert tokenizer.convert_tokens_to_ids("<|image_pad|>") == config["image_token_id"]
    assert config["image_token_id"] == TINY_IMAGE_TOKEN_ID
    assert tokenizer.convert_tokens_to_ids("<|vision_start|>") == config["vision_start_token_id"]
    assert tokenizer.convert_tokens_to_ids("<|vision_end|>") == config["vision_end_token_id"]


def test_think_and_tool_tags_survive_decoding_without_special_tokens(processor: Any) -> None:
    tokenizer = processor.tokenizer
    text = f"{ZOOM_ANSWER}\n<tool_response>\nok\n</tool_response><|im_end|>"
    decoded = tokenizer.decode(tokenizer.encode(text), skip_special_tokens=True)
    assert decoded == text.removesuffix("<|im_end|>")


def test_zoom_conversation_renders_with_the_images_in_place(processor: Any) -> None:
    assert processor.chat_template == QWEN3_VL_CHAT_TEMPLATE
    rendered = processor.apply_chat_template(zoom_conversation(), add_generation_prompt=True)
    user, zoom = protocol.user_turn(QUESTION), protocol.zoom_success_turn()
    assert rendered == (
        f"<|im_start|>system\n{protocol.system_prompt('zoom', 'relative_1000')}<|im_end|>\n"
        f"<|im_start|>user\n{user[0]}{IMAGE}{user[2]}<|im_end|>\n"
        f"<|im_start|>assistant\n{ZOOM_ANSWER}<|im_end|>\n"
        f"<|im_start|>user\n{zoom[0]}{IMAGE}{zoom[2]}<|im_end|>\n"
        "<|im_start|>assistant\n"
    )
    # No default system turn, unlike Qwen2.5-VL's template.
    plain = processor.apply_chat_template([{"role": "user", "content": "hi"}])
    assert plain == "<|im_start|>user\nhi<|im_end|>\n"


def test_processor_expands_each_image_where_it_belongs(processor: Any) -> None:
    source = load_image(Image.linear_gradient("L").resize((1280, 960)).convert("RGB"))
    box = zoom_box(
        ZOOM_BOX,
        original_size=source.size,
        first_look_size=source.first_look_size,
        boxes=QWEN3_VL_FAMILY.boxes,
    )
    first_look, crop = source.first_look(), source.zoom(box)
    text = processor.apply_chat_template(zoom_conversation(), add_generation_prompt=True)
    inputs = processor(text=[text], images=[first_look, crop], return_tensors="pt")
    ids = inputs["input_ids"][0]
    tokenizer = processor.tokenizer
    is_pad = ids == TINY_IMAGE_TOKEN_ID
    # The processor marks exactly the image pads as image tokens (what M-RoPE needs).
    assert torch.equal(inputs["mm_token_type_ids"][0].bool(), is_pad)
    edges = torch.diff(is_pad.int(), prepend=torch.tensor([0]), append=torch.tensor([0]))
    starts = torch.nonzero(edges == 1).view(-1).tolist()
    ends = torch.nonzero(edges == -1).view(-1).tolist()
    runs = [end - start for start, end in zip(starts, ends, strict=True)]
    geometry = QWEN3_VL_FAMILY.geometry
    assert runs == [
        visual_tokens(*first_look.size, geometry=geometry),
        visual_tokens(*crop.size, geometry=geometry),
    ]
    start_id, end_id = (
        tokenizer.convert_tokens_to_ids(t) for t in ("<|vision_start|>", "<|vision_end|>")
    )
    for start, end in zip(starts, ends, strict=True):
        assert (int(ids[start - 1]), int(ids[end])) == (start_id, end_id)
    im_start = tokenizer.convert_tokens_to_ids("<|im_start|>")
    turns = torch.nonzero(ids == im_start).view(-1).tolist()  # system, user, assistant, user, gen
    assert turns[1] < starts[0] < ends[0] < turns[2], "the first look is in the user turn"
    call_end = torch.nonzero(ids == tokenizer.convert_tokens_to_ids("</tool_call>")).view(-1)
    assert turns[2] < int(call_end[-1]) < turns[3] < starts[1] < ends[1] < turns[4], (
        "the crop is in the tool turn after the assistant's call"
    )


def test_langchain_tool_turns_render_like_qwen3_native_tool_messages(processor: Any) -> None:
    """ToolMessage → user turn with <tool_response>: the same text as the template's tool role."""
    png = encode_image(Image.new("RGB", (64, 48), "teal"), "PNG")
    image_block = {"type": "image", "base64": png.base64, "mime_type": png.mime_type}
    call = {"name": ZOOM_CALL["name"], "args": ZOOM_CALL["arguments"], "id": "call_1"}
    lc_messages = [
        SystemMessage("sys"),
        HumanMessage([image_block, {"type": "text", "text": QUESTION}]),
        AIMessage("<think>small</think>", tool_calls=[call]),
        ToolMessage([image_block, {"type": "text", "text": "region"}], tool_call_id="call_1"),
    ]
    converted, images = to_qwen_messages(lc_messages)
    native = [
        {"role": "system", "content": "sys"},
        {"role": "user", "content": [{"type": "image"}, {"type": "text", "text": QUESTION}]},
        {
            "role": "assistant",
            "content": "<think>small</think>",
            "tool_calls": [{"function": {"name": call["name"], "arguments": call["args"]}}],
        },
        {"role": "tool", "content": [{"type": "image"}, {"type": "text", "text": "region"}]},
    ]
    ours = processor.apply_chat_template(converted, add_generation_prompt=True)
    assert ours == processor.apply_chat_template(native, add_generation_prompt=True)
    assert len(images) == 2
    assert ours.count(IMAGE) == 2


def test_tools_are_declared_by_the_template(processor: Any) -> None:
    schema = protocol.zoom_tool_schema("relative_1000")
    rendered = processor.apply_chat_template(
        [{"role": "system", "content": "sys"}, {"role": "user", "content": "hi"}],
        tools=[schema],
        add_generation_prompt=True,
    )
    assert rendered.startswith("<|im_start|>system\nsys\n\n# Tools\n")
    assert f"<tools>\n{json.dumps(schema, ensure_ascii=False)}\n</tools>" in rendered
    assert '<tool_call>\n{"name": <function-name>, "arguments": <args-json-object>}' in rendered


def test_hf_generate_runs_on_an_image_prompt(tiny_qwen3_checkpoint: Path, processor: Any) -> None:
    model = AutoModelForImageTextToText.from_pretrained(tiny_qwen3_checkpoint)
    text = processor.apply_chat_template(zoom_conversation()[:2], add_generation_prompt=True)
    inputs = processor(text=[text], images=[Image.new("RGB", (200, 120))], return_tensors="pt")
    assert "mm_token_type_ids" in inputs
    with torch.no_grad():
        out = model.generate(**inputs, max_new_tokens=4, do_sample=False, min_new_tokens=4)
    assert out.shape[1] == inputs["input_ids"].shape[1] + 4


def test_writer_keeps_families_apart(tmp_path: Path, tiny_checkpoint: Path) -> None:
    qwen3 = write_tiny_checkpoint(tmp_path / "q3", family="qwen3_vl")
    marker = json.loads((qwen3 / "visionthink_tiny.json").read_text())
    assert marker == {"format": 1, "seed": 0, "family": "qwen3_vl"}
    assert write_tiny_checkpoint(qwen3, family="qwen3_vl") == qwen3
    with pytest.raises(FileExistsError, match=r"not a tiny checkpoint \(Qwen2.5-VL, seed 0\)"):
        write_tiny_checkpoint(qwen3)
    with pytest.raises(FileExistsError, match=r"Qwen3-VL, seed 0"):
        write_tiny_checkpoint(tiny_checkpoint, family="qwen3_vl")


def test_alias_and_command_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("VISIONTHINK_CACHE", str(tmp_path))
    assert default_tiny_dir("qwen3_vl") == tmp_path / "tiny-qwen3-vl"
    assert resolve_model_alias(TINY_QWEN3_VL_ALIAS) == str(tmp_path / "tiny-qwen3-vl")
    assert family_for_checkpoint(tmp_path / "tiny-qwen3-vl") is QWEN3_VL_FAMILY
    assert main(["--family", "qwen3_vl"]) == 0  # the cached checkpoint: printed, not rebuilt
    assert capsys.readouterr().out.strip() == str(tmp_path / "tiny-qwen3-vl")
