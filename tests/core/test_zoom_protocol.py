"""The region zoom tool's protocol: prompts, schemas, budgets, call validation.

``tool_mode="resize"`` must stay the released protocol byte for byte; ``zoom`` and ``both`` are
the project's own extension, so their exact strings are pinned here.
"""

from __future__ import annotations

import json

import pytest

from visionthink_agent import protocol
from visionthink_agent.parsing import check_format, parse_tool_call, validate_tool_call
from visionthink_agent.protocol import IMAGE


def _call(name: str, arguments: object) -> str:
    return (
        "<think>small print</think><tool_call>\n"
        + json.dumps({"name": name, "arguments": arguments})
        + "\n</tool_call>"
    )


def _declared_lines(prompt: str) -> list[dict[str, object]]:
    # One declaration per line; the released description holds a raw newline, hence "\n{".
    block = prompt.split("<tools>\n", 1)[1].split("\n</tools>", 1)[0]
    chunks = block.split("\n{")
    return [json.loads(c if i == 0 else "{" + c, strict=False) for i, c in enumerate(chunks)]


def test_resize_mode_is_the_released_prompt_and_schema() -> None:
    assert protocol.system_prompt("resize") == protocol.SYSTEM_PROMPT
    assert protocol.system_prompt("resize", "relative_1000") == protocol.SYSTEM_PROMPT
    assert protocol.tool_schemas("resize") == [protocol.resize_tool_schema()]
    assert protocol.tool_names("resize") == ("resize_image",)


@pytest.mark.parametrize(
    ("mode", "names"),
    [("zoom", ["image_zoom_in_tool"]), ("both", ["resize_image", "image_zoom_in_tool"])],
)
def test_zoom_prompts_declare_their_tools_in_the_released_style(
    mode: str, names: list[str]
) -> None:
    prompt = protocol.system_prompt(mode, "first_look_pixels")  # type: ignore[arg-type]
    head, tail = (
        protocol.SYSTEM_PROMPT.split("<tools>\n")[0],
        protocol.SYSTEM_PROMPT.split("\n</tools>")[1],
    )
    assert prompt.startswith(head.replace("the function tool shown", "the function tools shown"))
    assert prompt.endswith("\n</tools>" + tail)
    declared = _declared_lines(prompt)
    assert [d["function"]["name"] for d in declared] == names  # type: ignore[index]
    if mode == "both":  # the resize line is the released one, byte for byte
        released = protocol.SYSTEM_PROMPT.split("<tools>\n")[1].split("\n</tools>")[0]
        assert prompt.split("<tools>\n")[1].startswith(released + "\n")
    zoom = declared[-1]["function"]
    assert zoom["name_for_human"] == "image_zoom_in_tool"  # type: ignore[index]
    assert zoom["args_format"] == "Format the arguments as a JSON object."  # type: ignore[index]


def test_zoom_schema_states_the_family_box_convention() -> None:
    pixels = protocol.zoom_tool_schema("first_look_pixels")["function"]["parameters"]
    relative = protocol.zoom_tool_schema("relative_1000")["function"]["parameters"]
    assert pixels["required"] == relative["required"] == ["bbox_2d"]
    assert (
        "pixel coordinates of the image you were shown"
        in pixels["properties"]["bbox_2d"]["description"]
    )
    assert "from 0 to 1000" in relative["properties"]["bbox_2d"]["description"]
    assert pixels["properties"]["bbox_2d"]["minItems"] == 4
    assert "name_for_human" not in protocol.zoom_tool_schema()["function"]


def test_unknown_mode_or_convention_is_named() -> None:
    with pytest.raises(ValueError, match="unknown tool mode 'crop'"):
        protocol.system_prompt("crop")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="unknown box convention 'normalised'"):
        protocol.zoom_tool_schema("normalised")  # type: ignore[arg-type]


def test_budgets_bound_turns_and_images() -> None:
    assert protocol.tool_budget("resize").max_model_turns == protocol.MAX_MODEL_TURNS
    assert protocol.tool_budget("resize").max_images == protocol.MAX_IMAGES
    assert protocol.tool_budget("zoom") == protocol.ToolBudget(resizes=0, zooms=2)
    assert protocol.tool_budget("both").max_model_turns == 4


def test_zoom_success_turn_is_pinned() -> None:
    parts = protocol.zoom_success_turn()
    assert parts[1] is IMAGE
    text = protocol.render_parts(parts)
    assert text == (
        "<tool_response>\nThe zoomed-in region is shown below:\n<image>\n</tool_response>\n"
        "Please carefully analyze the region returned from the image zoom-in tool in combination"
        " with the original question and image from the user, continue your reasoning process"
        " inside <think> and </think> and then write your final answer inside <answer> and"
        " </answer>."
    )


def test_zoom_calls_are_accepted_only_where_the_mode_offers_them() -> None:
    text = _call("image_zoom_in_tool", {"bbox_2d": [10, 20, 60, 45], "label": "price"})
    assert parse_tool_call(text).error == (
        "Unknown function 'image_zoom_in_tool'. Available function tools are: `resize_image`"
    )
    parsed = parse_tool_call(text, mode="zoom")
    assert parsed.ok
    assert parsed.call is not None
    assert parsed.call.is_zoom
    assert parsed.call.arguments == {"bbox_2d": [10.0, 20.0, 60.0, 45.0], "label": "price"}
    assert parse_tool_call(_call("resize_image", {"action": "resize"}), mode="zoom").error == (
        "Unknown function 'resize_image'. Available function tools are: `image_zoom_in_tool`"
    )
    both = parse_tool_call(_call("resize_image", {"action": "resize"}), mode="both")
    assert both.call is not None
    assert not both.call.is_zoom


@pytest.mark.parametrize(
    ("arguments", "error"),
    [
        ({}, "The zoom-in call needs 'bbox_2d': [x1, y1, x2, y2]"),
        ({"bbox_2d": [1, 2, 3]}, "bbox_2d must be a list of four numbers [x1, y1, x2, y2]"),
        ({"bbox_2d": "1,2,3,4"}, "bbox_2d must be a list of four numbers [x1, y1, x2, y2]"),
        ({"bbox_2d": [1, 2, True, 4]}, "bbox_2d must be a list of four numbers [x1, y1, x2, y2]"),
        ({"bbox_2d": [1, 2, 3, 4], "label": 5}, "The zoom-in call's 'label' must be a string"),
        (
            {"bbox_2d": [1, 2, 3, 4], "img_idx": 1},
            "Only the user's image (img_idx 0) can be zoomed in on",
        ),
        ("not json", "The tool call needs an 'arguments' object with a 'bbox_2d'"),
    ],
)
def test_malformed_zoom_calls_get_an_error_turn_message(arguments: object, error: str) -> None:
    parsed = parse_tool_call(_call("image_zoom_in_tool", arguments), mode="zoom")
    assert parsed.found
    assert parsed.error == error


def test_string_arguments_and_json_string_boxes_are_read() -> None:
    obj = {"name": "image_zoom_in_tool", "arguments": '{"bbox_2d": "[0, 0, 5, 5]"}'}
    call, error = validate_tool_call(obj, mode="both")
    assert error is None
    assert call is not None
    assert call.arguments["bbox_2d"] == [0.0, 0.0, 5.0, 5.0]


def test_two_calls_in_a_zoom_turn_are_one_error() -> None:
    one = _call("image_zoom_in_tool", {"bbox_2d": [0, 0, 5, 5]})
    parsed = parse_tool_call(one + one, mode="zoom")
    assert parsed.error == "You should only call ONE function tool per step."
    resize = _call("resize_image", {"action": "resize"})
    assert parse_tool_call(resize + resize).error == (
        "You should only call function `resize` once per function call."
    )


def test_a_two_zoom_trajectory_has_the_training_format() -> None:
    zoom = _call("image_zoom_in_tool", {"bbox_2d": [0, 0, 5, 5]})
    assert check_format([zoom, zoom, "<think>now legible</think><answer>7</answer>"]).ok
