"""The ``image_zoom_in_tool``: a region of the original image, at full resolution, on request.

:func:`create_zoom_image_tool` returns a ``BaseTool`` that works in any ``ToolNode``; it answers
with :func:`~visionthink_agent.graph.replies.high_res_reply`: a ``ToolMessage`` (text) and a
``HumanMessage`` holding ``protocol.zoom_success_turn()`` with the region named by ``bbox_2d``
cropped from the **original** image (the box read in the model family's convention, see
:func:`visionthink_agent.images.zoom_box`), or, for a bad call (a box outside the image, with zero
area or inverted corners, not four numbers, more than ``max_zooms`` zooms in one question), an
error ``ToolMessage`` and the protocol's error turn. Model mistakes never raise.

Example:
    >>> tool = create_zoom_image_tool(boxes="relative_1000")
    >>> tool.name, tool.tool_call_schema["required"]
    ('image_zoom_in_tool', ['bbox_2d'])
"""

from __future__ import annotations

from typing import Any

from langchain_core.tools import BaseTool
from langgraph.prebuilt import ToolRuntime
from pydantic import BaseModel, ConfigDict

from visionthink_agent import protocol
from visionthink_agent.graph.replies import ProtocolTool, reply_in_tool_node, request_budget
from visionthink_agent.images import DEFAULT_LIMITS, ImageLimits

__all__ = ["create_zoom_image_tool"]


class _ZoomArgs(BaseModel):
    # Lenient on purpose: a malformed bbox_2d or label gets the protocol's error turn from
    # high_res_reply, not a pydantic error. The model is shown the protocol's schema.
    model_config = ConfigDict(arbitrary_types_allowed=True)

    bbox_2d: Any = None
    label: Any = None
    runtime: ToolRuntime | None = None  # injected by ToolNode; None when invoked directly


def create_zoom_image_tool(
    *,
    boxes: protocol.BoxConvention = "first_look_pixels",
    max_zooms: int = protocol.MAX_ZOOMS,
    image_in_tool_message: bool = False,
    embed_image: bool = True,
    allow_private_urls: bool = False,
    allow_local_files: bool = False,
    image_limits: ImageLimits = DEFAULT_LIMITS,
) -> BaseTool:
    """The zoom tool for any ``ToolNode`` (or ``create_agent``): a crop of the original image.

    The tool finds the conversation's current image (the last one a user sent) in the state the
    ``ToolNode`` injects (its ``runtime``), maps ``bbox_2d`` onto the original (clipped to it)
    and returns a ``Command`` whose update holds a ``ToolMessage`` and a ``HumanMessage`` with the
    crop between the protocol's texts (with ``image_in_tool_message``, just the
    ``ToolMessage``). Invoked directly, outside a graph, it answers with an error message saying
    where to run it. Its schema is the protocol's ``image_zoom_in_tool``
    (``{"bbox_2d": [x1, y1, x2, y2], "label": ...}``, ``protocol.zoom_tool_schema(boxes)``).

    As with the resize tool, apply :func:`~visionthink_agent.graph.turn_after_tool_results` in
    the ``ToolNode``'s ``wrap_tool_call`` when the model may call other tools in the same turn.

    Args:
        boxes: how the model writes ``bbox_2d``: ``"first_look_pixels"`` (Qwen2.5-VL: pixels
            of the first look it was shown) or ``"relative_1000"`` (Qwen3-VL: 0-1000).
        max_zooms: regions allowed per question; a further call gets the protocol's error
            turn (not an exception).
        image_in_tool_message: return the crop inside the ``ToolMessage`` instead (OpenAI
            Responses API, which accepts images in function outputs).
        embed_image: put the crop's data in the reply (default, for any graph); False puts a
            reference to the user's image with the region's pixel box, resolved by
            :func:`native_messages` / :func:`prompted_messages` (what the VisionThink agent and
            middleware do, so state keeps one copy of each image).
        allow_private_urls: let image URLs point at private / loopback addresses.
        allow_local_files: let image blocks name local files (``file_path``, ``file://``, a
            path); off by default, like private URLs.
        image_limits: the pixel and byte limits every image is read under
            (:class:`~visionthink_agent.images.ImageLimits`; ``load_image``'s defaults).

    Raises:
        ValueError: an unknown ``boxes`` or a negative ``max_zooms``.

    Example:
        >>> from langchain_core.utils.function_calling import convert_to_openai_tool
        >>> convert_to_openai_tool(create_zoom_image_tool()) == protocol.zoom_tool_schema()
        True
    """
    request_budget("zoom", boxes, max_zooms=max_zooms)

    def image_zoom_in_tool(
        bbox_2d: Any = None, label: Any = None, runtime: ToolRuntime | None = None
    ) -> Any:
        args = {k: v for k, v in (("bbox_2d", bbox_2d), ("label", label)) if v is not None}
        return reply_in_tool_node(
            runtime,
            {"name": protocol.ZOOM_TOOL_NAME, "args": args},
            tool_mode="zoom",
            boxes=boxes,
            max_zooms=max_zooms,
            image_in_tool_message=image_in_tool_message,
            embed_image=embed_image,
            allow_private_urls=allow_private_urls,
            allow_local_files=allow_local_files,
            image_limits=image_limits,
        )

    function = protocol.zoom_tool_schema(boxes)["function"]
    return ProtocolTool(
        name=protocol.ZOOM_TOOL_NAME,
        description=function["description"],
        func=image_zoom_in_tool,
        args_schema=_ZoomArgs,
        parameters=function["parameters"],
    )
