"""The scripted ideal policy: its zoom boxes, and its turns under each system prompt."""

from __future__ import annotations

import random

import pytest
from langchain_core.messages import AIMessage, HumanMessage, SystemMessage

from tests.evaluation.fakes import contains
from visionthink_agent import protocol
from visionthink_agent.benchmark import EvalSample
from visionthink_agent.evaluation.scripted import UNREADABLE, ScriptedVisionModel
from visionthink_agent.graph.rendering import image_payload_block, parts_to_content
from visionthink_agent.images import load_image, model_bbox, zoom_box
from visionthink_agent.synthetic import make_synthetic_samples


@pytest.mark.parametrize("boxes", ["first_look_pixels", "relative_1000"])
def test_model_bbox_is_the_tight_inverse_of_zoom_box(boxes: str) -> None:
    rng = random.Random(7)
    for _ in range(300):
        width, height = rng.randint(28, 3000), rng.randint(28, 3000)
        first_look = (max(1, width // 2), max(1, height // 2))
        left, top = rng.randrange(width - 1), rng.randrange(height - 1)
        right, bottom = rng.randint(left + 1, width), rng.randint(top + 1, height)
        if max(right - left, bottom - top) > 20 * min(right - left, bottom - top):
            continue  # a strip: zoom_box refuses regions over 200:1 (tested with the core)
        box = (left, top, right, bottom)
        sizes = {"original_size": (width, height), "first_look_size": first_look}
        bbox = model_bbox(box, boxes=boxes, **sizes)  # type: ignore[arg-type]
        frame = (1000, 1000) if boxes == "relative_1000" else first_look
        assert 0 <= bbox[0] < bbox[2] <= frame[0]
        assert 0 <= bbox[1] < bbox[3] <= frame[1]
        got = zoom_box(bbox, boxes=boxes, **sizes)  # type: ignore[arg-type]
        assert contains(got, box), (box, bbox, got)
        # outward rounding costs at most about two steps of the model's grid on each side
        step_x = width / (1000 if boxes == "relative_1000" else first_look[0])
        step_y = height / (1000 if boxes == "relative_1000" else first_look[1])
        assert got[0] >= box[0] - 2 * step_x - 1
        assert got[2] <= box[2] + 2 * step_x + 1
        assert got[1] >= box[1] - 2 * step_y - 1
        assert got[3] <= box[3] + 2 * step_y + 1


def _question(sample: EvalSample) -> HumanMessage:
    payload = image_payload_block(load_image(sample.image).first_look_payload())
    return HumanMessage(content=parts_to_content(protocol.user_turn(sample.question), payload))


def test_the_scripted_policy_turn_by_turn() -> None:
    fine, coarse = (EvalSample(s.id, s.image, s.question, s.answer, s.row()) for s in
                    make_synthetic_samples(2, size=(448, 336)))  # fmt: skip
    model = ScriptedVisionModel.from_samples([fine, coarse])
    zoom_prompt = SystemMessage(protocol.system_prompt("zoom", "relative_1000"))
    call = model.reply([zoom_prompt, _question(fine)])
    assert '"name": "image_zoom_in_tool"' in call
    resize = model.reply([SystemMessage(protocol.SYSTEM_PROMPT), _question(fine)])
    assert '"name": "resize_image"' in resize
    assert model.reply([zoom_prompt, _question(coarse)]).endswith(
        f"<answer>{coarse.answer}</answer>"
    )
    # after an error turn (no image), it gives up rather than ask again
    error = HumanMessage(protocol.render_parts(protocol.tool_error_turn("bbox_2d lies outside")))
    after_error = model.reply([zoom_prompt, _question(fine), AIMessage(call), error])
    assert after_error.endswith(f"<answer>{UNREADABLE}</answer>")
    with pytest.raises(ValueError, match="unknown system prompt"):
        model.reply([SystemMessage("You are helpful."), _question(fine)])
    stranger = EvalSample("x", fine.image, fine.question, fine.answer, {})
    with pytest.raises(ValueError, match="shares its image"):
        ScriptedVisionModel.from_samples([fine, stranger])
    with pytest.raises(ValueError, match="has no target_box"):
        ScriptedVisionModel.from_samples(
            [EvalSample("y", fine.image, "Q", "1", {"needs_high_res": True})]
        )
