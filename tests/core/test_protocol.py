"""The protocol core reproduces the released checkpoints' strings and turns byte for byte."""

from __future__ import annotations

import json

import pytest

from tests.conftest import SHARED_DOCS
from visionthink_agent import protocol
from visionthink_agent.protocol import IMAGE


def test_bundled_strings_equal_the_shared_reference() -> None:
    reference = SHARED_DOCS / "visionthink_strings.json"
    if not reference.exists():
        pytest.skip("../shared/docs is not beside this checkout")
    assert protocol.load_strings() == json.loads(reference.read_text(encoding="utf-8"))


def test_tool_schema_is_read_off_the_system_prompt() -> None:
    schema = protocol.resize_tool_schema()
    fn = schema["function"]
    assert schema["type"] == "function"
    assert fn["name"] == "resize_image"
    assert fn["description"] == "Resize the image resolution."
    assert fn["parameters"]["properties"]["action"]["enum"] == ["resize"]
    assert (
        "\n* `resize`: Double the resolution"
        in fn["parameters"]["properties"]["action"]["description"]
    )
    assert "name_for_human" not in fn
    assert protocol.resize_tool_schema(qwen_agent_fields=True)["function"]["args_format"]
    fn["name"] = "mutated"
    assert protocol.resize_tool_schema()["function"]["name"] == "resize_image"


def test_user_turn_places_the_image_where_the_question_begins() -> None:
    parts = protocol.user_turn("How many cats?")
    assert parts[1] is IMAGE
    assert protocol.render_parts(parts, "<image>") == protocol.USER_PROMPT_TEMPLATE.replace(
        "{Question}", "<image>\nHow many cats?"
    )
    assert isinstance(parts[0], str)
    assert "\\boxed{}" in parts[0]


def test_user_turn_keeps_an_embedded_placeholder() -> None:
    parts = protocol.user_turn("Look: <image> what is it?")
    assert parts[-2] is IMAGE
    assert parts[-1] == " what is it?"
    with pytest.raises(ValueError, match="2 '<image>'"):
        protocol.user_turn("<image><image>")


def test_tool_turns_match_the_authors_rendering() -> None:
    rendered = protocol.render_parts(protocol.tool_success_turn(), protocol.QWEN_IMAGE_TOKENS)
    assert rendered == (
        "<tool_response>\nThe resized image is shown below:\n"
        "<|vision_start|><|image_pad|><|vision_end|>\n</tool_response>\n"
        + protocol.TOOL_FOLLOWUP_PROMPT
    )
    error = protocol.render_parts(protocol.tool_error_turn("bad"))
    assert error == (
        "<tool_response>\nERROR occurs during the function tool call. Error Information: bad."
        "\n</tool_response>\n" + protocol.TOOL_ERROR_FOLLOWUP_PROMPT
    )
    assert "<image>" not in error
