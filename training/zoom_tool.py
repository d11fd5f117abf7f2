"""``ZoomImageTool``: veRL's ``BaseTool`` returning a region of a row's original image.

The region zoom tool (:data:`~visionthink_agent.protocol.ZOOM_TOOL_NAME`, arguments ``bbox_2d``
``[x1, y1, x2, y2]`` and an optional ``label``), registered by
``training/config/tool_config_zoom.yaml`` / ``tool_config_both.yaml`` and run by the VisionThink
agent loop in the ``zoom`` and ``both`` tool modes. The model writes the box in its family's
convention (``boxes``: pixels of the first look it was shown, or 0–1000); the tool maps it onto
the **original** image (:meth:`visionthink_agent.images.SourceImage.zoom_box`) and returns that
crop at full resolution (:meth:`~visionthink_agent.images.SourceImage.zoom`), which the loop
renders inside :func:`visionthink_agent.protocol.zoom_success_turn`.

``create_kwargs`` are the resize tool's (the row's ``image`` bytes / path or ``image_path``: the
agent loop hands the row's ``resize_image`` entry to this tool, so data files name the original
once) plus ``boxes``, the convention, which the loop sets from ``visionthink.boxes``
(``first_look_pixels`` when absent). A box with inverted corners, zero area or outside the image,
and a call after :data:`~visionthink_agent.protocol.MAX_ZOOMS` regions were shown, get an error
text for the protocol's error turn. Calls are counted in ``extra_fields["zoom_calls"]`` (bad
boxes too), the regions shown in ``extra_fields["zoom_views"]``.

Example:
    >>> import asyncio
    >>> from PIL import Image
    >>> tool = ZoomImageTool({}, None)
    >>> async def demo(bbox):
    ...     iid, _ = await tool.create(create_kwargs={"image": Image.new("RGB", (400, 200))})
    ...     response, _, metrics = await tool.execute(iid, {"bbox_2d": bbox})
    ...     await tool.release(iid)
    ...     return (response.image[0].size if response.image else response.text), metrics
    >>> asyncio.run(demo([10, 20, 60, 45]))  # first look 200x100 -> original pixels x2
    ((100, 50), {'zoom_calls': 1})
    >>> asyncio.run(demo([60, 20, 10, 45]))[0].split(":")[0]
    'bbox_2d [60, 20, 10, 45] has inverted corners'
"""

from __future__ import annotations

from typing import Any

from PIL import Image

from training.image_tool import RowImageTool
from training.names import ZOOM_CALLS_FIELD, ZOOM_VIEWS_FIELD
from visionthink_agent import protocol
from visionthink_agent.images import SourceImage
from visionthink_agent.parsing import validate_tool_call
from visionthink_agent.protocol import BoxConvention

__all__ = ["ZoomImageTool"]


class ZoomImageTool(RowImageTool):
    """The ``image_zoom_in_tool`` for veRL agent loops (see the module docstring).

    Args:
        config: the ``config`` mapping of the tool YAML (``type: native``); unused keys are kept.
        tool_schema: the schema from the YAML; None uses
            :func:`visionthink_agent.protocol.zoom_tool_schema` (its name is what the loop
            dispatches on; the model reads the declaration in the system prompt).

    Example:
        >>> ZoomImageTool({}, None).name
        'image_zoom_in_tool'
    """

    calls_field = ZOOM_CALLS_FIELD
    views_field = ZOOM_VIEWS_FIELD
    max_views = protocol.MAX_ZOOMS
    no_image_text = "No image is available to zoom in on"

    @classmethod
    def default_schema(cls) -> dict[str, Any]:
        """:func:`visionthink_agent.protocol.zoom_tool_schema`."""
        return protocol.zoom_tool_schema()

    def argument_error(self, parameters: dict[str, Any]) -> str | None:
        """The shared call rule (:func:`~visionthink_agent.parsing.validate_tool_call`): four
        finite numbers in ``bbox_2d``, a string ``label``; where the box lies is :meth:`view`'s.
        """
        call = {"name": protocol.ZOOM_TOOL_NAME, "arguments": parameters}
        return validate_tool_call(call, mode="zoom")[1]

    def budget_spent(self) -> str:
        """The regions allowed were shown (the LangGraph agent's wording)."""
        return (
            f"You already zoomed in {protocol.MAX_ZOOMS} times for this question, the limit; "
            "the regions are shown above, use them to answer"
        )

    def view(
        self, source: SourceImage, parameters: dict[str, Any], create_kwargs: dict[str, Any]
    ) -> Image.Image:
        """The region ``bbox_2d`` names, cut from the original (≥ 28 px a side).

        Raises:
            ZoomBoxError: the box names no region of the image.
        """
        boxes: BoxConvention = create_kwargs.get("boxes") or "first_look_pixels"
        return source.zoom(source.zoom_box(parameters["bbox_2d"], boxes=boxes))
