"""Supervised trajectories for the demo model, in the exact conversation the agent uses.

Every synthetic sample becomes one conversation, rendered with the protocol strings
(:mod:`visionthink_agent.protocol`) as Qwen chat-template messages plus the images in order:

* ``visionthink`` — the VisionThink protocol (§1): system prompt with the tool declaration,
  the user template with the **first look**; a coarse question is answered at once
  (``<think>…</think><answer>…</answer>``), a fine one calls ``resize_image``, gets the tool
  turn with the **full image** and then answers. This is what the LangGraph agent and the veRL
  agent loop show the model.
* ``full`` / ``low`` — the one-look baselines of ``visionthink eval`` (the authors' tool-free
  prompt, the image before the question) at full resolution or at the first look, so that the
  baseline columns measure what the model reads at each resolution.

The thoughts are short: a one-line description of what the model sees (the sample's caption,
e.g. ``I see a red circle.``), or, for a fine question at the first look, that the label is too
small to read. Describing the image doubles the supervision the vision tower gets from a sample
(a shape question teaches both its colour and its kind) and is the reasoning a VisionThink
model writes before answering or asking for the full image.

Example:
    >>> from visionthink_agent.evaluation import make_synthetic_samples
    >>> fine = make_synthetic_samples(1, preset="demo", split="train")[0]
    >>> conv = render_trajectory(fine, "visionthink")
    >>> [m["role"] for m in conv.messages], [im.size for im in conv.images]
    (['system', 'user', 'assistant', 'user', 'assistant'], [(112, 112), (224, 224)])
    >>> conv.messages[-1]["content"]
    '<think>I see a small label with the number 6901.</think><answer>6901</answer>'
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Final, Literal, TypeAlias

from PIL import Image

from visionthink_agent import protocol
from visionthink_agent.evaluation.synthetic import SyntheticSample
from visionthink_agent.images import downsample_for_first_look

__all__ = [
    "FINE_THOUGHT",
    "FORMATS",
    "RESIZE_CALL",
    "Trajectory",
    "TrajectoryFormat",
    "render_trajectory",
    "thoughts_corpus",
]

TrajectoryFormat: TypeAlias = Literal["visionthink", "full", "low"]
FORMATS: Final[tuple[TrajectoryFormat, ...]] = ("visionthink", "full", "low")

FINE_THOUGHT: Final[str] = (
    "I see a small white label, but its text is too small to read here. I need the full image."
)
"""First-look thought before the resize call (every other thought describes the image)."""
RESIZE_CALL: Final[str] = (
    "<tool_call>\n"
    + json.dumps(
        {"name": protocol.RESIZE_TOOL_NAME, "arguments": {"action": protocol.RESIZE_ACTION}}
    )
    + "\n</tool_call>"
)
"""The tool call as the released model writes it (one JSON line between the tags)."""

_Content: TypeAlias = "str | list[dict[str, Any]]"


@dataclass(frozen=True)
class Trajectory:
    """One rendered conversation.

    Attributes:
        messages: Qwen chat-template messages (``{"type": "image"}`` parts where images go).
        images: the images, in the order of the image parts.
        sample_id: the synthetic sample's id.
        category: the sample's category.
        needs_high_res: whether the sample is a fine-detail question.
        format: ``visionthink``, ``full`` or ``low``.
    """

    messages: list[dict[str, Any]]
    images: list[Image.Image]
    sample_id: str
    category: str
    needs_high_res: bool
    format: TrajectoryFormat


def _content(parts: Sequence[protocol.Part]) -> list[dict[str, Any]]:
    return [
        {"type": "image"}
        if isinstance(part, protocol.ImageSlot)
        else {"type": "text", "text": part}
        for part in parts
    ]


def _answer(sample: SyntheticSample) -> str:
    return f"<think>I see {sample.caption}.</think><answer>{sample.answer}</answer>"


def render_trajectory(sample: SyntheticSample, fmt: TrajectoryFormat) -> Trajectory:
    """Render ``sample`` as the target conversation of format ``fmt``.

    Example:
        >>> from visionthink_agent.evaluation import make_synthetic_samples
        >>> coarse = make_synthetic_samples(2, preset="demo", split="train")[1]
        >>> render_trajectory(coarse, "visionthink").messages[-1]["content"]
        '<think>I see an orange square.</think><answer>orange</answer>'
        >>> low = render_trajectory(coarse, "low")
        >>> low.messages[1]["content"][0], low.images[0].size
        ({'type': 'image'}, (112, 112))

    Raises:
        ValueError: an unknown format.
    """
    if fmt not in FORMATS:
        raise ValueError(f"unknown trajectory format {fmt!r}; choose from {list(FORMATS)}")
    first_look = downsample_for_first_look(sample.image)
    messages: list[dict[str, Any]]
    if fmt == "visionthink":
        messages = [
            {"role": "system", "content": protocol.SYSTEM_PROMPT},
            {"role": "user", "content": _content(protocol.user_turn(sample.question))},
        ]
        images = [first_look]
        if sample.needs_high_res:
            messages += [
                {"role": "assistant", "content": f"<think>{FINE_THOUGHT}</think>\n{RESIZE_CALL}"},
                {"role": "user", "content": _content(protocol.tool_success_turn())},
                {"role": "assistant", "content": _answer(sample)},
            ]
            images.append(sample.image)
        else:
            messages.append({"role": "assistant", "content": _answer(sample)})
    else:
        image = sample.image if fmt == "full" else first_look
        messages = [
            {"role": "system", "content": protocol.GENERAL_QA_SYSTEM_PROMPT},
            {
                "role": "user",
                "content": [{"type": "image"}, {"type": "text", "text": sample.question}],
            },
            {"role": "assistant", "content": _answer(sample)},
        ]
        images = [image]
    return Trajectory(
        messages, images, sample.id, sample.category, sample.needs_high_res, format=fmt
    )


def thoughts_corpus() -> tuple[str, ...]:
    """The fixed assistant strings, for the tokenizer's BPE corpus.

    Example:
        >>> RESIZE_CALL in thoughts_corpus()
        True
    """
    return (FINE_THOUGHT, RESIZE_CALL, "<think>I see ")
