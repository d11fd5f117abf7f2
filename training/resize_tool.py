"""``ResizeImageTool``: veRL's ``BaseTool`` returning the high-resolution image of a row.

The tool is configured in ``training/config/tool_config.yaml`` (``tool_config_both.yaml`` with
the zoom tool) and loaded by veRL's agent-loop worker (one instance per worker, shared by every
trajectory, so per-trajectory state is kept by ``instance_id``; see
:class:`training.image_tool.RowImageTool`). Each dataset row names its high-resolution image in
``extra_info.tools_kwargs.resize_image.create_kwargs`` (``image``: the encoded bytes, or
``image_path``; see :mod:`training.data`); a row without one falls back to the first image of the
conversation as it is (for datasets whose prompt image is already the full-resolution one).

The tool returns only the image; the VisionThink agent loop renders it inside the protocol's
tool turn (:func:`visionthink_agent.protocol.tool_success_turn`). Every call is counted in the
trajectory's ``extra_fields["resize_calls"]``, which reaches the reward function; a call beyond
:data:`~visionthink_agent.protocol.MAX_RESIZES` (possible in the ``both`` mode's longer
trajectories) gets an error text instead of a second copy of the image (the budget counts calls:
in the VisionThink loop only a call that parsed as valid reaches the tool).

Example:
    >>> import asyncio
    >>> from PIL import Image
    >>> tool = ResizeImageTool({}, None)
    >>> async def demo():
    ...     iid, _ = await tool.create(create_kwargs={"image": Image.new("RGB", (64, 48))})
    ...     response, _, metrics = await tool.execute(iid, {"action": "resize"})
    ...     await tool.release(iid)
    ...     return response.image[0].size, metrics
    >>> asyncio.run(demo())
    ((64, 48), {'resize_calls': 1})
"""

from __future__ import annotations

from typing import Any

from PIL import Image

from training.image_tool import RowImageTool
from training.names import RESIZE_CALLS_FIELD
from visionthink_agent import protocol
from visionthink_agent.images import SourceImage
from visionthink_agent.parsing import validate_tool_call

__all__ = ["ResizeImageTool"]


class ResizeImageTool(RowImageTool):
    """The VisionThink ``resize_image`` tool for veRL agent loops.

    Args:
        config: the ``config`` mapping of the tool YAML (``type: native``); unused keys are kept.
        tool_schema: the schema from the YAML; None uses
            :func:`visionthink_agent.protocol.resize_tool_schema` (the shipped YAML leaves it
            out so the schema exists once, in the core).

    Example:
        >>> ResizeImageTool({}, None).name
        'resize_image'
        >>> import asyncio
        >>> asyncio.run(ResizeImageTool({}, None).execute("none", {"action": "zoom"}))[0].text
        'Unknown Tool Type: zoom. Available function tools are: `resize`'
    """

    calls_field = RESIZE_CALLS_FIELD
    max_views = protocol.MAX_RESIZES
    uses_conversation_image = True
    no_image_text = "No image is available to resize"

    @classmethod
    def default_schema(cls) -> dict[str, Any]:
        """:func:`visionthink_agent.protocol.resize_tool_schema`."""
        return protocol.resize_tool_schema()

    def argument_error(self, parameters: dict[str, Any]) -> str | None:
        """The shared call rule (:func:`~visionthink_agent.parsing.validate_tool_call`): the
        action must be ``resize`` (the authors' message otherwise).
        """
        call = {"name": protocol.RESIZE_TOOL_NAME, "arguments": parameters}
        return validate_tool_call(call)[1]

    def budget_spent(self) -> str:
        """The image was resized already (the LangGraph agent's wording)."""
        return (
            "The image was already resized once; the high-resolution image is shown above, "
            "use it to answer"
        )

    def view(
        self, source: SourceImage, parameters: dict[str, Any], create_kwargs: dict[str, Any]
    ) -> Image.Image:
        """The high-resolution view: the original, at least 28 px a side."""
        return source.high_res()
