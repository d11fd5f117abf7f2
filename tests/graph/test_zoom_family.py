"""The agent takes the box convention and token arithmetic of its model's family by default."""

from __future__ import annotations

from langchain_core.messages import HumanMessage

from tests.graph.conftest import ANSWER, png_bytes, render_text, scripted, v1_block, zoom_call
from visionthink_agent.backends.families import FAMILY_METADATA_KEY
from visionthink_agent.graph import create_visionthink_agent
from visionthink_agent.images import QWEN2_5_VL, QWEN3_VL, load_image


def _ask(model, **options):
    agent = create_visionthink_agent(model, tool_mode="zoom", **options).compile()
    question = HumanMessage(
        content=[{"type": "text", "text": "Q"}, v1_block(png_bytes((448, 224)))]
    )
    return agent.invoke({"messages": [question]})


def test_a_qwen3_vl_model_zooms_in_relative_boxes_and_counts_32_px_tokens() -> None:
    model = scripted(zoom_call([500, 0, 1000, 500]), ANSWER)
    model.metadata = {FAMILY_METADATA_KEY: "qwen3_vl"}
    result = _ask(model)
    assert "from 0 to 1000" in render_text(model.seen[0][0])  # the system prompt says so
    source = load_image(png_bytes((448, 224)))
    expected = source.token_account(resized=False, zooms=[(224, 0, 448, 112)], geometry=QWEN3_VL)
    assert result["visual_tokens"] == expected.as_dict()
    assert result["zooms"] == 1


def test_other_models_keep_the_qwen2_5_vl_convention_and_explicit_options_win() -> None:
    model = scripted(zoom_call([112, 0, 224, 56]), ANSWER)
    result = _ask(model)
    assert "pixel coordinates of the image you were shown" in render_text(model.seen[0][0])
    source = load_image(png_bytes((448, 224)))
    expected = source.token_account(resized=False, zooms=[(224, 0, 448, 112)], geometry=QWEN2_5_VL)
    assert result["visual_tokens"] == expected.as_dict()
    qwen3 = scripted(zoom_call([112, 0, 224, 56]), ANSWER)
    qwen3.metadata = {FAMILY_METADATA_KEY: "qwen3_vl"}
    overridden = _ask(qwen3, boxes="first_look_pixels", geometry=QWEN2_5_VL)
    assert overridden["visual_tokens"] == expected.as_dict()
