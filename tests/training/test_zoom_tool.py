"""``ZoomImageTool``: a region of the row's original image, or the error turn's text."""

from __future__ import annotations

import io
from types import SimpleNamespace

import pytest
from PIL import Image

pytest.importorskip("verl")

from verl.tools.schemas import OpenAIFunctionToolSchema

from tests.training.conftest import HIGH_RES_SIZE, gradient_image
from training.resize_tool import ResizeImageTool
from training.zoom_tool import ZoomImageTool
from visionthink_agent import protocol
from visionthink_agent.images import load_image

pytestmark = pytest.mark.verl


def _agent_data(images: list[Image.Image] | None = None) -> SimpleNamespace:
    """The two AgentData attributes the tool reads."""
    return SimpleNamespace(extra_fields={}, image_data=images)


def _png() -> bytes:
    buf = io.BytesIO()
    gradient_image().save(buf, "PNG")
    return buf.getvalue()


async def _zoom(create_kwargs, bbox, agent_data=None):
    tool = ZoomImageTool({}, None)
    instance, _ = await tool.create(create_kwargs=create_kwargs)
    try:
        return await tool.execute(instance, {"bbox_2d": bbox}, agent_data=agent_data)
    finally:
        await tool.release(instance)


def test_schema_is_the_protocols():
    tool = ZoomImageTool({"type": "native"}, None)
    expected = OpenAIFunctionToolSchema.model_validate(protocol.zoom_tool_schema())
    assert tool.tool_schema == expected
    assert tool.name == protocol.ZOOM_TOOL_NAME


@pytest.mark.parametrize("kind", ["bytes", "path"])
async def test_returns_the_region_of_the_original_and_counts_calls(kind, tmp_path):
    if kind == "bytes":
        create_kwargs = {"image": _png(), "image_path": None}
    else:
        gradient_image().save(tmp_path / "img.png")
        create_kwargs = {"image": None, "image_path": str(tmp_path / "img.png")}
    agent_data = _agent_data()
    # The first look is 112x84: its (10, 10)-(60, 50) is the original's (20, 20)-(120, 100).
    response, reward, metrics = await _zoom(create_kwargs, [10, 10, 60, 50], agent_data)
    assert response.text is None
    expected = gradient_image().crop((20, 20, 120, 100))
    assert response.image[0].size == (100, 80)
    assert response.image[0].tobytes() == expected.tobytes()
    assert (reward, metrics, agent_data.extra_fields) == (
        0.0,
        {"zoom_calls": 1},
        {"zoom_calls": 1, "zoom_views": 1},
    )


async def test_relative_boxes_come_from_create_kwargs():
    response, _, _ = await _zoom(
        {"image": _png(), "boxes": "relative_1000"}, [0, 0, 500, 500]
    )  # fmt: skip
    assert response.image[0].size == (HIGH_RES_SIZE[0] // 2, HIGH_RES_SIZE[1] // 2)
    assert response.image[0].tobytes() == gradient_image().crop((0, 0, 112, 84)).tobytes()


async def test_a_thin_box_is_scaled_up_to_28_px():
    response, _, _ = await _zoom({"image": _png()}, [0, 0, 2, 40])
    assert response.image[0].size == load_image(gradient_image()).zoom((0, 0, 4, 80)).size
    assert min(response.image[0].size) == 28


@pytest.mark.parametrize(
    ("bbox", "message"),
    [
        (
            [60, 20, 10, 45],
            "bbox_2d [60, 20, 10, 45] has inverted corners: it must be [x1, y1, x2, y2] "
            "with x1 < x2 and y1 < y2",
        ),
        ([10, 20, 10, 45], "bbox_2d [10, 20, 10, 45] has zero area"),
        (
            [120, 0, 200, 40],
            "bbox_2d [120, 0, 200, 40] lies outside the image, which is 112x84 pixels",
        ),
        ([1, 2, 3], "bbox_2d must be a list of four numbers [x1, y1, x2, y2]"),
        ("corner", "bbox_2d must be a list of four numbers [x1, y1, x2, y2]"),
    ],
)
async def test_bad_boxes_are_text_for_the_error_turn(bbox, message):
    response, reward, metrics = await _zoom({"image": _png()}, bbox, _agent_data())
    assert (response.image, response.text) == (None, message)
    assert (reward, metrics) == (0.0, {"zoom_calls": 1})


async def test_other_bad_calls_are_text_too(tmp_path):
    tool = ZoomImageTool({}, None)
    instance, _ = await tool.create(create_kwargs={"image": _png()})
    response, _, _ = await tool.execute(instance, {"label": "x"})
    assert response.text == "The zoom-in call needs 'bbox_2d': [x1, y1, x2, y2]"
    response, _, _ = await tool.execute(instance, {"bbox_2d": [0, 0, 9, 9], "label": 3})
    assert response.text == "The zoom-in call's 'label' must be a string"
    gone, _ = await tool.create(create_kwargs={"image_path": str(tmp_path / "gone.png")})
    response, _, _ = await tool.execute(gone, {"bbox_2d": [0, 0, 9, 9]})
    assert response.text.startswith("The image could not be loaded")


async def test_without_a_reference_there_is_no_image_to_zoom_in_on():
    # Unlike the resize tool, the zoom tool does not fall back to the conversation's image:
    # the box is in the frame of a first look it could not reconstruct.
    response, _, _ = await _zoom({}, [0, 0, 9, 9], _agent_data([gradient_image()]))
    assert response.text == "No image is available to zoom in on"


async def test_a_third_zoom_is_refused():
    agent_data = _agent_data()
    texts = [(await _zoom({"image": _png()}, [0, 0, 30, 30], agent_data))[0].text for _ in range(3)]
    assert texts == [
        None,
        None,
        "You already zoomed in 2 times for this question, the limit; "
        "the regions are shown above, use them to answer",
    ]
    assert agent_data.extra_fields == {"zoom_calls": 3, "zoom_views": 2}


async def test_a_bad_box_does_not_use_up_the_budget():
    agent_data = _agent_data()
    boxes = [[9, 9, 1, 1], [0, 0, 30, 30], [200, 0, 300, 9], [0, 0, 30, 30]]
    responses = [(await _zoom({"image": _png()}, box, agent_data))[0] for box in boxes]
    assert [r.image is not None for r in responses] == [False, True, False, True]
    assert agent_data.extra_fields == {"zoom_calls": 4, "zoom_views": 2}


async def test_a_second_resize_is_refused_in_the_same_trajectory():
    tool = ResizeImageTool({}, None)
    agent_data = _agent_data()
    instance, _ = await tool.create(create_kwargs={"image": _png()})
    first, _, _ = await tool.execute(instance, {"action": "resize"}, agent_data=agent_data)
    second, _, _ = await tool.execute(instance, {"action": "resize"}, agent_data=agent_data)
    assert first.image[0].size == HIGH_RES_SIZE
    assert second.image is None
    assert second.text == (
        "The image was already resized once; the high-resolution image is shown above, "
        "use it to answer"
    )
