"""The options of the VisionThink agent, as one value: :class:`AgentSettings`.

:func:`~visionthink_agent.graph.create_visionthink_agent` reads its options from an
:class:`AgentSettings`; its keyword arguments (typed by :class:`AgentOptions`) build one, or
change the fields of one passed as ``settings``. Keep one for a family of agents and
:func:`dataclasses.replace` what differs.

Example:
    >>> from dataclasses import replace
    >>> zoom = AgentSettings(tool_mode="zoom", max_zooms=2)
    >>> replace(zoom, mode="native").mode, zoom.image_reading["allow_local_files"]
    ('native', False)
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from typing_extensions import TypedDict

from visionthink_agent import protocol
from visionthink_agent.images import DEFAULT_LIMITS, ImageLimits, VisionGeometry
from visionthink_agent.questions import DEFAULT_MAX_QUESTION_CHARS

__all__ = ["AgentOptions", "AgentSettings", "Mode"]

Mode = Literal["prompted", "native"]


@dataclass(frozen=True)
class AgentSettings:
    """Everything about the agent but its model.

    Attributes:
        mode: ``"prompted"`` shows the model exactly the VisionThink protocol and parses
            ``<tool_call>`` from its text (VisionThink / Qwen2.5-VL checkpoints); ``"native"``
            uses native tool calling (GPT-4o, Qwen3-VL behind a tool parser).
        tool_mode: the high-resolution request the model may make: ``"resize"`` (the whole
            image, VisionThink; the default, byte-exact to the released protocol), ``"zoom"``
            (a region, ``image_zoom_in_tool`` with ``bbox_2d``, cropped from the original) or
            ``"both"`` (the model chooses).
        boxes: how the model writes ``bbox_2d``: ``"first_look_pixels"`` (Qwen2.5-VL: pixels
            of the first look it was shown) or ``"relative_1000"`` (Qwen3-VL: 0-1000); default
            the model family's (:func:`~visionthink_agent.backends.families.family_of`).
        max_resizes: high-resolution views allowed per image (a further call gets the
            protocol's error turn).
        max_zooms: regions allowed per question (a further zoom gets the error turn).
        max_model_turns: model calls per question; default one per allowed request plus the
            answer (``protocol.tool_budget(tool_mode).max_model_turns``: 2 for resize, 3 for
            zoom, 4 for both). A model still calling a tool on its last turn ends the question
            with status ``turn_limit``.
        system_prompt: the system message; default ``protocol.system_prompt(tool_mode, boxes)``
            (prompted; ``protocol.SYSTEM_PROMPT`` for resize) or
            :func:`~visionthink_agent.graph.agent.native_system_prompt` (native).
        image_in_tool_message: native mode only: return the image inside the ``ToolMessage``
            (OpenAI Responses API) instead of a following ``HumanMessage``.
        allow_private_urls: let image URLs point at private / loopback addresses.
        allow_local_files: let image blocks name local files (``file_path``, ``file://``, a
            path); off by default, like private URLs.
        image_limits: the pixel and byte limits every image is read under
            (:class:`~visionthink_agent.images.ImageLimits`; ``load_image``'s defaults).
        drop_history_images: on a follow-up, leave the earlier questions' images out of the
            request (a short note stands in for each; the image the question is about keeps its
            first look, and it may be resized again). Off by default: the whole conversation
            is re-sent, and the token account counts those images under ``history``.
        geometry: the token arithmetic for the token account; default the model family's
            (:data:`~visionthink_agent.images.QWEN3_VL` for a Qwen3-VL model, else
            :data:`~visionthink_agent.images.QWEN2_5_VL`).
        max_question_chars: the most characters of question text; a longer (or an empty)
            question raises :class:`~visionthink_agent.questions.QuestionError` before any
            image is read or the model is called.

    Raises:
        ValueError: an unknown mode, or ``image_in_tool_message`` in prompted mode.

    Example:
        >>> AgentSettings(image_in_tool_message=True)
        Traceback (most recent call last):
        ...
        ValueError: image_in_tool_message needs mode='native' (prompted turns are user turns)
    """

    mode: Mode = "prompted"
    tool_mode: protocol.ToolMode = "resize"
    boxes: protocol.BoxConvention | None = None
    max_resizes: int = protocol.MAX_RESIZES
    max_zooms: int = protocol.MAX_ZOOMS
    max_model_turns: int | None = None
    system_prompt: str | None = None
    image_in_tool_message: bool = False
    allow_private_urls: bool = False
    allow_local_files: bool = False
    image_limits: ImageLimits = DEFAULT_LIMITS
    drop_history_images: bool = False
    geometry: VisionGeometry | None = None
    max_question_chars: int = DEFAULT_MAX_QUESTION_CHARS

    def __post_init__(self) -> None:
        if self.mode not in ("prompted", "native"):
            raise ValueError(f"mode must be 'prompted' or 'native', got {self.mode!r}")
        if self.image_in_tool_message and self.mode == "prompted":
            raise ValueError(
                "image_in_tool_message needs mode='native' (prompted turns are user turns)"
            )

    @property
    def image_reading(self) -> dict[str, Any]:
        """How images are read: the keyword arguments every image-reading step takes.

        Example:
            >>> sorted(AgentSettings().image_reading)
            ['allow_local_files', 'allow_private_urls', 'image_limits']
        """
        return {
            "allow_private_urls": self.allow_private_urls,
            "allow_local_files": self.allow_local_files,
            "image_limits": self.image_limits,
        }


class AgentOptions(TypedDict, total=False):
    """The fields of :class:`AgentSettings` as keyword arguments (their types, for checkers).

    Example:
        >>> set(AgentOptions.__annotations__) == set(AgentSettings.__dataclass_fields__)
        True
    """

    mode: Mode
    tool_mode: protocol.ToolMode
    boxes: protocol.BoxConvention | None
    max_resizes: int
    max_zooms: int
    max_model_turns: int | None
    system_prompt: str | None
    image_in_tool_message: bool
    allow_private_urls: bool
    allow_local_files: bool
    image_limits: ImageLimits
    drop_history_images: bool
    geometry: VisionGeometry | None
    max_question_chars: int
