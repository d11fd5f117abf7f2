"""``ResizeImageTool``: the high-resolution image from the row's reference or the conversation."""

from __future__ import annotations

import io
from types import SimpleNamespace

import pytest
from PIL import Image

pytest.importorskip("verl")

from verl.tools.schemas import OpenAIFunctionToolSchema

from tests.training.conftest import HIGH_RES_SIZE, gradient_image
from training.resize_tool import ResizeImageTool
from visionthink_agent import protocol

pytestmark = pytest.mark.verl

RESIZE = {"action": "resize"}


def _agent_data(images: list[Image.Image] | None = None) -> SimpleNamespace:
    """The two AgentData attributes the tool reads."""
    return SimpleNamespace(extra_fields={}, image_data=images)


def _png() -> bytes:
    buf = io.BytesIO()
    gradient_image().save(buf, "PNG")
    return buf.getvalue()


def test_schema_is_the_protocols():
    tool = ResizeImageTool({"type": "native"}, None)
    expected = OpenAIFunctionToolSchema.model_validate(protocol.resize_tool_schema())
    assert tool.tool_schema == expected
    assert tool.name == protocol.RESIZE_TOOL_NAME


@pytest.mark.parametrize("kind", ["bytes", "path"])
async def test_returns_the_high_res_image_and_counts_calls(kind, tmp_path):
    tool = ResizeImageTool({}, None)
    if kind == "bytes":
        create_kwargs = {"image": _png(), "image_path": None}
    else:
        gradient_image().save(tmp_path / "img.png")
        create_kwargs = {"image": None, "image_path": str(tmp_path / "img.png")}
    agent_data = _agent_data()
    instance, _ = await tool.create(create_kwargs=create_kwargs)
    response, reward, metrics = await tool.execute(instance, RESIZE, agent_data=agent_data)
    await tool.release(instance)
    assert response.text is None
    assert [image.size for image in response.image] == [HIGH_RES_SIZE]
    assert response.image[0].tobytes() == gradient_image().tobytes()
    assert (reward, metrics, agent_data.extra_fields) == (
        0.0,
        {"resize_calls": 1},
        {"resize_calls": 1},
    )
    _, _, metrics = await tool.execute(instance, RESIZE, agent_data=agent_data)
    assert agent_data.extra_fields["resize_calls"] == 2


async def test_falls_back_to_the_conversation_image():
    tool = ResizeImageTool({}, None)
    picture = gradient_image((56, 56))
    instance, _ = await tool.create(create_kwargs={})
    response, _, _ = await tool.execute(instance, RESIZE, agent_data=_agent_data([picture]))
    assert response.image[0].size == (56, 56)


async def test_errors_are_text_for_the_error_turn(tmp_path):
    tool = ResizeImageTool({}, None)
    instance, _ = await tool.create(create_kwargs={"image_path": str(tmp_path / "gone.png")})
    response, _, _ = await tool.execute(instance, RESIZE, agent_data=_agent_data())
    assert response.image is None
    assert response.text.startswith("The image could not be loaded")
    response, _, _ = await tool.execute(instance, {"action": "zoom"}, agent_data=_agent_data())
    assert response.text == "Unknown Tool Type: zoom. Available function tools are: `resize`"
    other, _ = await tool.create(create_kwargs={})
    response, _, _ = await tool.execute(other, RESIZE, agent_data=_agent_data())
    assert response.text == "No image is available to resize"


async def test_instances_are_kept_apart():
    tool = ResizeImageTool({}, None)
    a, _ = await tool.create(create_kwargs={"image": _png()})
    b, _ = await tool.create(create_kwargs={"image": gradient_image((28, 56))})
    (ra, _, _), (rb, _, _) = [await tool.execute(i, RESIZE) for i in (a, b)]
    assert (ra.image[0].size, rb.image[0].size) == (HIGH_RES_SIZE, (28, 56))
    await tool.release(a)
    response, _, _ = await tool.execute(a, RESIZE)
    assert response.text == "No image is available to resize"
