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
from functools import cache
from importlib import resources
from typing import Any, Final, TypeAlias

__all__ = [
    "GENERAL_QA_SYSTEM_PROMPT",
    "IMAGE",
    "IMAGE_PLACEHOLDER",
    "JUDGE_QUERY_TEMPLATE",
    "JUDGE_SYSTEM_PROMPT",
    "MAX_IMAGES",
    "MAX_MODEL_TURNS",
    "MAX_RESIZES",
    "QWEN_IMAGE_TOKENS",
    "RESIZE_ACTION",
    "RESIZE_TOOL_NAME",
    "SYSTEM_PROMPT",
    "TOOL_ERROR_FOLLOWUP_PROMPT",
    "TOOL_ERROR_TEMPLATE",
    "TOOL_FOLLOWUP_PROMPT",
    "TOOL_SUCCESS_PREFIX",
    "TOOL_SUCCESS_SUFFIX",
    "USER_PROMPT_TEMPLATE",
    "ImageSlot",
    "Part",
    "load_strings",
    "render_parts",
    "resize_tool_schema",
    "tool_error_turn",
    "tool_success_turn",
    "user_turn",
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
