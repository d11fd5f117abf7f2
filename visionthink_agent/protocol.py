"""The VisionThink conversation protocol: prompts, tool schema and turn rendering.

This module is the single source of truth that both surfaces (the LangGraph agent and the
veRL training plugin) import. The strings come byte for byte from the released checkpoints'
training and evaluation code (bundled as ``data/visionthink_strings.json``); nothing here
rebuilds them.

A turn is rendered as a list of :data:`Part` — plain text or the :data:`IMAGE` slot — so each
surface turns it into its own message format (LangChain content blocks, a Qwen chat-template
content list, or a raw prompt with ``<image>`` placeholders) without re-deciding where the
image goes.

Example:
    >>> from visionthink_agent import protocol
    >>> parts = protocol.user_turn("How many cats?")
    >>> parts[1] is protocol.IMAGE
    True
    >>> protocol.render_parts(parts).endswith("question:\\n<image>\\nHow many cats?")
    True
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any, Final, Literal, TypeAlias, get_args

__all__ = [
    "GENERAL_QA_SYSTEM_PROMPT",
    "IMAGE",
    "IMAGE_PLACEHOLDER",
    "JUDGE_QUERY_TEMPLATE",
    "JUDGE_SYSTEM_PROMPT",
    "MAX_IMAGES",
    "MAX_MODEL_TURNS",
    "MAX_RESIZES",
    "MAX_ZOOMS",
    "QWEN_IMAGE_TOKENS",
    "RESIZE_ACTION",
    "RESIZE_TOOL_NAME",
    "SYSTEM_PROMPT",
    "TOOL_ERROR_FOLLOWUP_PROMPT",
    "TOOL_ERROR_TEMPLATE",
    "TOOL_FOLLOWUP_PROMPT",
    "TOOL_MODES",
    "TOOL_SUCCESS_PREFIX",
    "TOOL_SUCCESS_SUFFIX",
    "USER_PROMPT_TEMPLATE",
    "ZOOM_FOLLOWUP_PROMPT",
    "ZOOM_SUCCESS_PREFIX",
    "ZOOM_TOOL_NAME",
    "BoxConvention",
    "ImageSlot",
    "Part",
    "ToolBudget",
    "ToolMode",
    "load_strings",
    "render_parts",
    "resize_tool_schema",
    "system_prompt",
    "tool_budget",
    "tool_error_turn",
    "tool_names",
    "tool_schemas",
    "tool_success_turn",
    "user_turn",
    "zoom_success_turn",
    "zoom_tool_schema",
]


@cache
def load_strings() -> dict[str, str]:
    """Return the exact VisionThink strings bundled with the package.

    Example:
        >>> load_strings()["tool_success_prefix"]
        '<tool_response>\\nThe resized image is shown below:\\n'
    """
    text = resources.files("visionthink_agent").joinpath("data/visionthink_strings.json")
    return dict(json.loads(text.read_text(encoding="utf-8")))


_S = load_strings()

SYSTEM_PROMPT: Final[str] = _S["system_prompt"]
"""System message with the Qwen-Agent style ``<tools>`` declaration of ``resize_image``."""
USER_PROMPT_TEMPLATE: Final[str] = _S["user_prompt_template"]
"""User message template; ``{Question}`` is replaced (never ``str.format``: it holds ``{}``)."""
TOOL_SUCCESS_PREFIX: Final[str] = _S["tool_success_prefix"]
TOOL_SUCCESS_SUFFIX: Final[str] = _S["tool_success_suffix"]
TOOL_FOLLOWUP_PROMPT: Final[str] = _S["tool_followup_prompt"]
TOOL_ERROR_TEMPLATE: Final[str] = _S["tool_error_template"]
TOOL_ERROR_FOLLOWUP_PROMPT: Final[str] = _S["tool_error_followup_prompt"]
GENERAL_QA_SYSTEM_PROMPT: Final[str] = _S["general_qa_system_prompt"]
JUDGE_SYSTEM_PROMPT: Final[str] = _S["judge_system_prompt"]
JUDGE_QUERY_TEMPLATE: Final[str] = _S["judge_query_template"]

RESIZE_TOOL_NAME: Final[str] = "resize_image"
RESIZE_ACTION: Final[str] = "resize"
MAX_MODEL_TURNS: Final[int] = 2
"""At most two model turns per question (first look, then after the resize)."""
MAX_RESIZES: Final[int] = 1
MAX_IMAGES: Final[int] = 2
IMAGE_PLACEHOLDER: Final[str] = "<image>"
"""Where the image goes in a raw-text prompt (the authors' and veRL's convention)."""
QWEN_IMAGE_TOKENS: Final[str] = "<|vision_start|><|image_pad|><|vision_end|>"
"""What ``<image>`` becomes in a Qwen2.5-VL prompt before the processor expands the pad."""


class ImageSlot:
    """The place of an image inside a rendered turn (a singleton: use :data:`IMAGE`)."""

    _instance: ImageSlot | None = None

    def __new__(cls) -> ImageSlot:
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __repr__(self) -> str:
        return "IMAGE"


IMAGE: Final[ImageSlot] = ImageSlot()
Part: TypeAlias = "str | ImageSlot"


def user_turn(question: str) -> list[Part]:
    """Render the first user message: the template with the image where the question begins.

    As in the authors' evaluation, a question without ``<image>`` gets ``<image>\\n`` prepended;
    a question that already holds ``<image>`` (the training data's ``problem`` column) keeps it
    where it is. Exactly one image slot results.

    Example:
        >>> parts = user_turn("What does the sign say?")
        >>> parts[0].endswith("Here is the image and question:\\n"), parts[2]
        (True, '\\nWhat does the sign say?')
        >>> user_turn("<image>Read it.")[2]
        'Read it.'

    Raises:
        ValueError: if the question holds more than one ``<image>``.
    """
    count = question.count(IMAGE_PLACEHOLDER)
    if count > 1:
        raise ValueError(
            f"question holds {count} '<image>' placeholders; VisionThink asks about one image"
        )
    if count == 0:
        question = IMAGE_PLACEHOLDER + "\n" + question
    return _split_placeholders(USER_PROMPT_TEMPLATE.replace("{Question}", question))


def tool_success_turn() -> list[Part]:
    """Render the user turn that returns the high-resolution image (protocol §1.4).

    Example:
        >>> parts = tool_success_turn()
        >>> parts[1] is IMAGE and parts[2].startswith("\\n</tool_response>\\nPlease carefully")
        True
    """
    return [TOOL_SUCCESS_PREFIX, IMAGE, TOOL_SUCCESS_SUFFIX + TOOL_FOLLOWUP_PROMPT]


def tool_error_turn(error: str) -> list[Part]:
    """Render the user turn that reports a bad tool call (no image).

    Example:
        >>> tool_error_turn("Unknown action 'zoom'")[0].splitlines()[1]
        "ERROR occurs during the function tool call. Error Information: Unknown action 'zoom'."
    """
    return [TOOL_ERROR_TEMPLATE.replace("{error}", error) + TOOL_ERROR_FOLLOWUP_PROMPT]


def render_parts(parts: list[Part], image_token: str = IMAGE_PLACEHOLDER) -> str:
    """Join a rendered turn into text, writing ``image_token`` at each image slot.

    Example:
        >>> render_parts(["a", IMAGE, "b"], image_token=QWEN_IMAGE_TOKENS)
        'a<|vision_start|><|image_pad|><|vision_end|>b'
    """
    return "".join(image_token if isinstance(p, ImageSlot) else p for p in parts)


def _split_placeholders(text: str) -> list[Part]:
    parts: list[Part] = []
    for i, chunk in enumerate(text.split(IMAGE_PLACEHOLDER)):
        if i:
            parts.append(IMAGE)
        if chunk:
            parts.append(chunk)
    return parts


@cache
def _declared_tool() -> dict[str, Any]:
    # The <tools> line of the system prompt is Qwen-Agent's declaration. Its description holds a
    # raw newline, so it is not strict JSON; strict=False reads it without rewriting the prompt.
    line = SYSTEM_PROMPT.split("<tools>\n", 1)[1].split("\n</tools>", 1)[0]
    declared: dict[str, Any] = json.loads(line, strict=False)
    return declared


def resize_tool_schema(*, qwen_agent_fields: bool = False) -> dict[str, Any]:
    """The ``resize_image`` tool as an OpenAI function schema, read off the system prompt.

    The same dict serves LangChain's ``bind_tools``, veRL's ``OpenAIFunctionToolSchema`` and any
    OpenAI-compatible ``tools=`` field, so every surface declares the tool the checkpoints saw.

    Args:
        qwen_agent_fields: keep the Qwen-Agent only keys ``name_for_human`` and ``args_format``
            (as printed in the system prompt); off for OpenAI-style consumers.

    Example:
        >>> schema = resize_tool_schema()
        >>> schema["function"]["name"], schema["function"]["parameters"]["required"]
        ('resize_image', ['action'])
    """
    declared = json.loads(json.dumps(_declared_tool()))  # deep copy: callers may mutate
    function = declared["function"]
    if not qwen_agent_fields:
        function.pop("name_for_human", None)
        function.pop("args_format", None)
    return {"type": "function", "function": function}


# -- Beyond whole-image resize: the region zoom tool --------------------------------------------
# No released VisionThink checkpoint saw these strings: the project wrote them, in the released
# prompt's own style (Qwen-Agent declaration lines inside <tools>, a <tool_response> user turn),
# so a model trained with ``tool_mode="zoom"`` or ``"both"`` on either surface sees one protocol.
# ``tool_mode="resize"`` (the default everywhere) stays byte-exact to the released checkpoints.

ToolMode: TypeAlias = Literal["resize", "zoom", "both"]
"""Which high-resolution request the model may make: the whole image, a region, or either."""
TOOL_MODES: Final[tuple[str, ...]] = get_args(ToolMode)
BoxConvention: TypeAlias = Literal["first_look_pixels", "relative_1000"]
"""How ``bbox_2d`` is written: absolute pixels of the first look the model was shown
(Qwen2.5-VL's grounding convention) or 0–1000 relative coordinates (Qwen3-VL's)."""

ZOOM_TOOL_NAME: Final[str] = "image_zoom_in_tool"
"""The name Qwen3-VL's "think with images" cookbook, DeepEyes and Mini-o3 use for the same tool."""
MAX_ZOOMS: Final[int] = 2
"""Region views allowed per question (a third call gets the error turn)."""
ZOOM_SUCCESS_PREFIX: Final[str] = "<tool_response>\nThe zoomed-in region is shown below:\n"
ZOOM_FOLLOWUP_PROMPT: Final[str] = (
    "Please carefully analyze the region returned from the image zoom-in tool in combination "
    "with the original question and image from the user, continue your reasoning process inside "
    "<think> and </think> and then write your final answer inside <answer> and </answer>."
)

_BOX_DESCRIPTIONS: Final[dict[str, str]] = {
    "first_look_pixels": (
        "The region to zoom in on, as [x1, y1, x2, y2]: the top-left and bottom-right corners "
        "in pixel coordinates of the image you were shown (x to the right, y down)."
    ),
    "relative_1000": (
        "The region to zoom in on, as [x1, y1, x2, y2]: the top-left and bottom-right corners "
        "in relative coordinates from 0 to 1000 (x to the right, y down)."
    ),
}


@dataclass(frozen=True)
class ToolBudget:
    """High-resolution requests one question may make in a tool mode.

    Example:
        >>> tool_budget("both")
        ToolBudget(resizes=1, zooms=2)
        >>> tool_budget("zoom").max_model_turns
        3
    """

    resizes: int
    zooms: int

    @property
    def max_model_turns(self) -> int:
        """One turn per allowed request, plus the answer."""
        return self.resizes + self.zooms + 1

    @property
    def max_images(self) -> int:
        """The first look plus one image per allowed request."""
        return self.resizes + self.zooms + 1


def _check_mode(mode: str) -> None:
    if mode not in TOOL_MODES:
        raise ValueError(f"unknown tool mode {mode!r}: use one of {', '.join(TOOL_MODES)}")


def _check_boxes(boxes: str) -> None:
    if boxes not in _BOX_DESCRIPTIONS:
        raise ValueError(
            f"unknown box convention {boxes!r}: use one of {', '.join(_BOX_DESCRIPTIONS)}"
        )


def tool_budget(mode: ToolMode) -> ToolBudget:
    """The requests allowed per question in ``mode`` (resize: 1 resize; zoom: 2 zooms; both).

    Example:
        >>> tool_budget("resize")
        ToolBudget(resizes=1, zooms=0)

    Raises:
        ValueError: for an unknown mode.
    """
    _check_mode(mode)
    return ToolBudget(
        resizes=MAX_RESIZES if mode != "zoom" else 0,
        zooms=MAX_ZOOMS if mode != "resize" else 0,
    )


def tool_names(mode: ToolMode) -> tuple[str, ...]:
    """The function names a model may call in ``mode``.

    Example:
        >>> tool_names("both")
        ('resize_image', 'image_zoom_in_tool')
    """
    budget = tool_budget(mode)
    return tuple(
        name
        for name, allowed in ((RESIZE_TOOL_NAME, budget.resizes), (ZOOM_TOOL_NAME, budget.zooms))
        if allowed
    )


def zoom_tool_schema(
    boxes: BoxConvention = "first_look_pixels", *, qwen_agent_fields: bool = False
) -> dict[str, Any]:
    """The ``image_zoom_in_tool`` as an OpenAI function schema.

    ``bbox_2d`` is required; ``label`` (what the region holds) is optional, as in Qwen3-VL's
    own zoom tool. The ``bbox_2d`` description states the coordinate convention of the family.

    Args:
        boxes: the box convention of the model family.
        qwen_agent_fields: add ``name_for_human`` and ``args_format`` (the system prompt's style).

    Example:
        >>> fn = zoom_tool_schema("relative_1000")["function"]
        >>> fn["name"], fn["parameters"]["required"], "0 to 1000" in str(fn["parameters"])
        ('image_zoom_in_tool', ['bbox_2d'], True)
    """
    _check_boxes(boxes)
    function: dict[str, Any] = {
        "name": ZOOM_TOOL_NAME,
        "description": (
            "Zoom in on a region of the image: returns that region cropped from the original "
            "full-resolution image. You should only use this tool if the critical information "
            "needed to answer the question is too small to read at the current resolution."
        ),
        "parameters": {
            "properties": {
                "bbox_2d": {
                    "description": _BOX_DESCRIPTIONS[boxes],
                    "type": "array",
                    "items": {"type": "number"},
                    "minItems": 4,
                    "maxItems": 4,
                },
                "label": {
                    "description": "The name of the object or text in the region.",
                    "type": "string",
                },
            },
            "required": ["bbox_2d"],
            "type": "object",
        },
    }
    if qwen_agent_fields:
        function = {
            "name_for_human": ZOOM_TOOL_NAME,
            **function,
            "args_format": "Format the arguments as a JSON object.",
        }
    return {"type": "function", "function": function}


def tool_schemas(
    mode: ToolMode = "resize", boxes: BoxConvention = "first_look_pixels"
) -> list[dict[str, Any]]:
    """The OpenAI function schemas of the tools of ``mode`` (for ``bind_tools`` / ``tools=``).

    Example:
        >>> [s["function"]["name"] for s in tool_schemas("both")]
        ['resize_image', 'image_zoom_in_tool']
    """
    names = tool_names(mode)
    schemas = [resize_tool_schema()] if RESIZE_TOOL_NAME in names else []
    return schemas + ([zoom_tool_schema(boxes)] if ZOOM_TOOL_NAME in names else [])


def system_prompt(mode: ToolMode = "resize", boxes: BoxConvention = "first_look_pixels") -> str:
    """The system message for ``mode``: the released prompt for ``resize``, byte for byte.

    For ``zoom`` and ``both``, the released prompt with its ``<tools>`` block holding one
    Qwen-Agent declaration line per tool (the zoom line states the box convention).

    Example:
        >>> system_prompt() == SYSTEM_PROMPT
        True
        >>> prompt = system_prompt("both", "relative_1000")
        >>> prompt.count('"name": "resize_image"'), prompt.count('"name": "image_zoom_in_tool"')
        (1, 1)
    """
    _check_mode(mode)
    _check_boxes(boxes)
    if mode == "resize":
        return SYSTEM_PROMPT
    head, rest = SYSTEM_PROMPT.split("<tools>\n", 1)
    resize_line, tail = rest.split("\n</tools>", 1)
    lines = [resize_line] if mode == "both" else []
    lines.append(json.dumps(zoom_tool_schema(boxes, qwen_agent_fields=True), ensure_ascii=False))
    head = head.replace("the function tool shown below", "the function tools shown below")
    return head + "<tools>\n" + "\n".join(lines) + "\n</tools>" + tail


def zoom_success_turn() -> list[Part]:
    """Render the user turn that returns a zoomed-in region (the resize turn's shape).

    Example:
        >>> parts = zoom_success_turn()
        >>> parts[0].splitlines()[1], parts[1] is IMAGE
        ('The zoomed-in region is shown below:', True)
    """
    return [ZOOM_SUCCESS_PREFIX, IMAGE, TOOL_SUCCESS_SUFFIX + ZOOM_FOLLOWUP_PROMPT]
