"""``RowImageTool``: what the resize and zoom tools share (veRL ``BaseTool`` plumbing).

veRL loads one tool instance per agent-loop worker and shares it between trajectories; its
agent loop calls ``create`` → ``execute`` → ``release`` for every call, handing ``create`` the
row's ``tools_kwargs[<tool name>]["create_kwargs"]``. A :class:`RowImageTool` keeps those per
``instance_id`` (the row's image reference: ``image`` bytes / a PIL image / a path, or
``image_path``), counts the trajectory's calls in ``agent_data.extra_fields`` (which reach the
reward function), refuses requests beyond its budget, and turns every failure (a bad argument,
an image that cannot be loaded, a request too many) into the text the VisionThink agent loop puts
in the protocol's error turn. Subclasses say how to check the arguments and which view to return.

Example:
    >>> from PIL import Image
    >>> from training.resize_tool import ResizeImageTool
    >>> issubclass(ResizeImageTool, RowImageTool), ResizeImageTool.max_views
    (True, 1)
"""

from __future__ import annotations

import os
from abc import abstractmethod
from typing import Any, ClassVar

from PIL import Image
from verl.tools.base_tool import BaseTool
from verl.tools.schemas import OpenAIFunctionToolSchema, ToolResponse

from visionthink_agent.images import ImageError, SourceImage, ZoomBoxError, load_image

__all__ = ["RowImageTool"]


class RowImageTool(BaseTool):
    """A tool that answers with a view of the row's image (see the module docstring).

    Subclasses set :attr:`calls_field`, :attr:`max_views` (and :attr:`views_field`,
    :attr:`uses_conversation_image`, :attr:`no_image_text`) and implement
    :meth:`default_schema`, :meth:`argument_error`, :meth:`budget_spent` and :meth:`view`.

    Args:
        config: the ``config`` mapping of the tool YAML (``type: native``); kept as given.
        tool_schema: the schema from the YAML; None uses :meth:`default_schema` (the shipped
            YAMLs leave it out so each schema exists once, in the protocol module).
    """

    calls_field: ClassVar[str]
    """``extra_fields`` key counting the trajectory's calls of this tool (failed ones too)."""
    views_field: ClassVar[str | None] = None
    """``extra_fields`` key counting the views returned; None: the budget counts calls."""
    max_views: ClassVar[int]
    """Views one trajectory may get; a further call gets :meth:`budget_spent`."""
    uses_conversation_image: ClassVar[bool] = False
    """Without a reference in the row, use the conversation's first image as it is."""
    no_image_text: ClassVar[str] = "No image is available"

    def __init__(self, config: dict[str, Any], tool_schema: OpenAIFunctionToolSchema | None):
        schema = tool_schema or OpenAIFunctionToolSchema.model_validate(self.default_schema())
        # BaseTool.__init__ only sets these three and prints the schema to stdout once per
        # worker; set them here to keep logs (and doctests) clean.
        self.config = config
        self.tool_schema = schema
        self.name = schema.function.name
        self._create_kwargs: dict[str, dict[str, Any]] = {}

    @classmethod
    @abstractmethod
    def default_schema(cls) -> dict[str, Any]:
        """The tool's OpenAI function schema from :mod:`visionthink_agent.protocol`."""

    @abstractmethod
    def argument_error(self, parameters: dict[str, Any]) -> str | None:
        """Why the call's arguments are unusable (checked before the image is loaded)."""

    @abstractmethod
    def budget_spent(self) -> str:
        """The error text for a call beyond :attr:`max_views`."""

    @abstractmethod
    def view(
        self, source: SourceImage, parameters: dict[str, Any], create_kwargs: dict[str, Any]
    ) -> Image.Image:
        """The image to return for a valid call.

        Raises:
            ZoomBoxError: the arguments name no region of this image (error-turn text).
        """

    async def create(
        self, instance_id: str | None = None, **kwargs: Any
    ) -> tuple[str, ToolResponse]:
        """Remember the row's ``create_kwargs`` for one call of one trajectory.

        Args:
            instance_id: id to use; a fresh one when None.
            **kwargs: ``create_kwargs`` from the row's ``tools_kwargs`` (veRL passes it under that
                name): ``image`` (encoded bytes, a PIL image or a path) or ``image_path``, and
                whatever the subclass reads.
        """
        instance_id, response = await super().create(instance_id)
        self._create_kwargs[instance_id] = dict(kwargs.get("create_kwargs") or {})
        return instance_id, response

    async def execute(
        self, instance_id: str, parameters: dict[str, Any], **kwargs: Any
    ) -> tuple[ToolResponse, float, dict[str, Any]]:
        """Return the view, or a text error the loop turns into the error turn (never raises).

        Args:
            instance_id: the id from :meth:`create`.
            parameters: the call's arguments.
            **kwargs: veRL passes ``agent_data`` (the trajectory state); its ``extra_fields``
                get the counters and its images may serve as the fallback source.
        """
        agent_data = kwargs.get("agent_data")
        fields: dict[str, Any] = agent_data.extra_fields if agent_data is not None else {}
        calls = int(fields.get(self.calls_field, 0)) + 1
        fields[self.calls_field] = calls
        metrics = {self.calls_field: calls}
        views = calls - 1 if self.views_field is None else int(fields.get(self.views_field, 0))

        def error(text: str) -> tuple[ToolResponse, float, dict[str, Any]]:
            return ToolResponse(text=text), 0.0, metrics

        if views >= self.max_views:
            return error(self.budget_spent())
        problem = self.argument_error(parameters)
        if problem is not None:
            return error(problem)
        create_kwargs = self._create_kwargs.get(instance_id, {})
        reference = create_kwargs.get("image") or create_kwargs.get("image_path")
        if reference is None and self.uses_conversation_image and agent_data is not None:
            reference = (agent_data.image_data or [None])[0]
        if reference is None:
            return error(self.no_image_text)
        try:
            if isinstance(reference, str) and reference.startswith("~"):
                reference = os.path.expanduser(reference)
            image = self.view(load_image(reference), parameters, create_kwargs)
        except ZoomBoxError as exc:
            return error(str(exc))
        except (ImageError, OSError) as exc:
            return error(f"The image could not be loaded: {exc}")
        if self.views_field is not None:
            fields[self.views_field] = views + 1
        return ToolResponse(image=[image]), 0.0, metrics

    async def release(self, instance_id: str, **kwargs: Any) -> None:
        """Forget the call's ``create_kwargs``."""
        self._create_kwargs.pop(instance_id, None)
