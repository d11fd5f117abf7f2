"""``ResizeImageTool``: veRL's ``BaseTool`` returning the high-resolution image of a row.

The tool is configured in ``training/config/tool_config.yaml`` and loaded by veRL's agent-loop
worker (one instance per worker, shared by every trajectory, so per-trajectory state is kept by
``instance_id``). Each dataset row names its high-resolution image in
``extra_info.tools_kwargs.resize_image.create_kwargs`` (``image``: the encoded bytes, or
``image_path``; see :mod:`training.data`); a row without one falls back to the first image of the
conversation as it is (for datasets whose prompt image is already the full-resolution one).

The tool returns only the image; the VisionThink agent loop renders it inside the protocol's
tool turn (:func:`visionthink_agent.protocol.tool_success_turn`). Every call is counted in the
trajectory's ``extra_fields["resize_calls"]``, which reaches the reward function.

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

import os
from typing import Any

from PIL import Image
from verl.tools.base_tool import BaseTool
from verl.tools.schemas import OpenAIFunctionToolSchema, ToolResponse

from training.names import RESIZE_CALLS_FIELD
from visionthink_agent import protocol
from visionthink_agent.images import ImageError, load_image

__all__ = ["ResizeImageTool"]


class ResizeImageTool(BaseTool):
    """The VisionThink ``resize_image`` tool for veRL agent loops.

    Args:
        config: the ``config`` mapping of the tool YAML (``type: native``); unused keys are kept.
        tool_schema: the schema from the YAML; None uses
            :func:`visionthink_agent.protocol.resize_tool_schema` (the shipped YAML leaves it
            out so the schema exists once, in the core).

    Example:
        >>> ResizeImageTool({}, None).name
        'resize_image'
    """

    def __init__(self, config: dict[str, Any], tool_schema: OpenAIFunctionToolSchema | None):
        schema = tool_schema or OpenAIFunctionToolSchema.model_validate(
            protocol.resize_tool_schema()
        )
        # BaseTool.__init__ only sets these three and prints the schema to stdout once per
        # worker; set them here to keep logs (and doctests) clean.
        self.config = config
        self.tool_schema = schema
        self.name = schema.function.name
        self._references: dict[str, Any] = {}

    async def create(
        self, instance_id: str | None = None, **kwargs: Any
    ) -> tuple[str, ToolResponse]:
        """Remember the row's high-resolution reference for one trajectory.

        Args:
            instance_id: id to use; a fresh one when None.
            **kwargs: ``create_kwargs`` from the row's ``tools_kwargs`` (veRL passes it under that
                name): ``image`` (encoded bytes, a PIL image or a path) or ``image_path``; a
                row with neither falls back to the conversation's first image, as given.

        Example:
            >>> import asyncio
            >>> asyncio.run(ResizeImageTool({}, None).create("t1", create_kwargs={}))[0]
            't1'
        """
        instance_id, response = await super().create(instance_id)
        create_kwargs = kwargs.get("create_kwargs") or {}
        self._references[instance_id] = create_kwargs.get("image") or create_kwargs.get(
            "image_path"
        )
        return instance_id, response

    async def execute(
        self, instance_id: str, parameters: dict[str, Any], **kwargs: Any
    ) -> tuple[ToolResponse, float, dict[str, Any]]:
        """Return the high-resolution image, or a text error the loop turns into the error turn.

        Args:
            instance_id: the trajectory's id from :meth:`create`.
            parameters: the call's arguments (``{"action": "resize"}``).
            **kwargs: veRL passes ``agent_data`` (the trajectory state); its ``extra_fields``
                get the call counter and its images serve as the fallback source.

        Example:
            >>> import asyncio
            >>> tool = ResizeImageTool({}, None)
            >>> asyncio.run(tool.execute("none", {"action": "zoom"}))[0].text
            'Unknown Tool Type: zoom. Available function tools are: `resize`'
        """
        agent_data = kwargs.get("agent_data")
        calls = 1
        if agent_data is not None:
            calls = int(agent_data.extra_fields.get(RESIZE_CALLS_FIELD, 0)) + 1
            agent_data.extra_fields[RESIZE_CALLS_FIELD] = calls
        metrics = {RESIZE_CALLS_FIELD: calls}
        action = parameters.get("action")
        if action != protocol.RESIZE_ACTION:
            text = f"Unknown Tool Type: {action}. Available function tools are: `resize`"
            return ToolResponse(text=text), 0.0, metrics
        reference = self._references.get(instance_id)
        if reference is None and agent_data is not None and agent_data.image_data:
            reference = agent_data.image_data[0]
        if reference is None:
            return ToolResponse(text="No image is available to resize"), 0.0, metrics
        try:
            image = _high_res(reference)
        except (ImageError, OSError) as exc:
            return ToolResponse(text=f"The image could not be loaded: {exc}"), 0.0, metrics
        return ToolResponse(image=[image]), 0.0, metrics

    async def release(self, instance_id: str, **kwargs: Any) -> None:
        """Forget the trajectory's reference.

        Example:
            >>> import asyncio
            >>> asyncio.run(ResizeImageTool({}, None).release("unknown")) is None
            True
        """
        self._references.pop(instance_id, None)


def _high_res(reference: Any) -> Image.Image:
    if isinstance(reference, str) and reference.startswith("~"):
        reference = os.path.expanduser(reference)
    return load_image(reference).high_res()
