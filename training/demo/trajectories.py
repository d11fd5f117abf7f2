"""Supervised trajectories for the demo model, in the exact conversation the agent uses.

Every synthetic sample becomes one conversation, rendered with the protocol strings
(:mod:`visionthink_agent.protocol`) as Qwen chat-template messages plus the images in order:

* ``visionthink`` — the VisionThink protocol (§1): system prompt with the tool declaration,
  the user template with the **first look**; then either the answer at once
  (``<think>…</think><answer>…</answer>``) or a ``resize_image`` call, the tool turn with the
  **full image** and the answer. With ``tool_mode="zoom"`` the call is ``image_zoom_in_tool``
  on the label that holds the small print (the whole first look for a coarse question), and the
  tool turn holds that region cut from the full image. This is what the LangGraph agent and the
  veRL agent loop show the model. Whether a conversation resizes is the caller's choice (by
  default: exactly the fine questions).
* ``full`` / ``low`` — the one-look baselines of ``visionthink eval`` (the authors' tool-free
  prompt, the image before the question) at full resolution or at the first look, so that the
  baseline columns measure what the model reads at each resolution.

The thoughts are short: a one-line description of what the model sees (the sample's caption,
e.g. ``I see a circle coloured red.``), or, before a resize call, that the detail is too small
to be sure of. Describing the image doubles the supervision the vision tower gets
from a sample (a shape question teaches both its colour and its kind) and is the reasoning a
VisionThink model writes before answering or asking for the full image.

Example:
    >>> from visionthink_agent.synthetic import make_synthetic_samples
    >>> fine = make_synthetic_samples(1, preset="demo", split="train")[0]
    >>> conv = render_trajectory(fine, "visionthink")
    >>> [m["role"] for m in conv.messages], [im.size for im in conv.images]
    (['system', 'user', 'assistant', 'user', 'assistant'], [(112, 112), (224, 224)])
    >>> conv.messages[-1]["content"]
    '<think>I see a small label with the digit 5.</think><answer>5</answer>'
"""

from __future__ import annotations

import dataclasses
import json
import random
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Final, Literal, TypeAlias

from PIL import Image

from visionthink_agent import protocol
from visionthink_agent.benchmark import EvalSample
from visionthink_agent.images import (
    crop_region,
    downsample_for_first_look,
    model_bbox,
    zoom_box,
)
from visionthink_agent.synthetic import SyntheticSample

__all__ = [
    "ASKED",
    "FORMATS",
    "GUESSES",
    "RESIZE_CALL",
    "RESIZE_THOUGHT",
    "ZOOM_THOUGHT",
    "Trajectory",
    "TrajectoryFormat",
    "first_look_box",
    "guessed",
    "render_trajectory",
    "synthetic_sample",
    "thoughts_corpus",
    "zoom_call",
]

TrajectoryFormat: TypeAlias = Literal["visionthink", "full", "low"]
FORMATS: Final[tuple[TrajectoryFormat, ...]] = ("visionthink", "full", "low")

ASKED: Final[dict[str, str]] = {
    "color": "The question asks for the colour.",
    "shape": "The question asks for the shape.",
    "digit": "The question asks for the large digit.",
    "serial": "The question asks for the small digit on the label.",
}
"""With ``name_question``, the first-look thought opens by naming what is asked, before the
resize-or-answer choice (the choice itself stays a coin: the warm start never ties it to the
question; GRPO has to)."""
RESIZE_THOUGHT: Final[str] = "Too small to be sure at this size. I need the full image."
"""First-look thought before the resize call (every other thought describes the image)."""
RESIZE_CALL: Final[str] = (
    "<tool_call>\n"
    + json.dumps(
        {"name": protocol.RESIZE_TOOL_NAME, "arguments": {"action": protocol.RESIZE_ACTION}}
    )
    + "\n</tool_call>"
)
"""The tool call as the released model writes it (one JSON line between the tags)."""
ZOOM_THOUGHT: Final[str] = "Too small to be sure at this size. I need a closer look."
"""First-look thought before a zoom call (starts like :data:`RESIZE_THOUGHT`: the decision is
the token after ``<think>``)."""
DemoToolMode: TypeAlias = Literal["resize", "zoom"]


def zoom_call(bbox: Sequence[int]) -> str:
    """The zoom call, written like :data:`RESIZE_CALL` (one JSON line between the tags).

    Example:
        >>> print(zoom_call([7, 14, 63, 42]))
        <tool_call>
        {"name": "image_zoom_in_tool", "arguments": {"bbox_2d": [7, 14, 63, 42]}}
        </tool_call>
    """
    arguments = {"bbox_2d": list(bbox)}
    return (
        "<tool_call>\n"
        + json.dumps({"name": protocol.ZOOM_TOOL_NAME, "arguments": arguments})
        + "\n</tool_call>"
    )


def first_look_box(sample: SyntheticSample) -> list[int]:
    """Where to zoom, in first-look pixels: the label with the small print, else everything.

    The target box (original pixels) is scaled to the first look, rounded outwards, so the
    region the tool cuts covers the whole label.

    Example:
        >>> from visionthink_agent.synthetic import make_synthetic_samples
        >>> fine, coarse = make_synthetic_samples(2, preset="demo", split="train")
        >>> fine.target_box, first_look_box(fine), first_look_box(coarse)
        ((0, 168, 112, 224), [0, 84, 56, 112], [0, 0, 112, 112])
    """
    width, height = sample.image.size
    return model_bbox(
        sample.target_box or (0, 0, width, height),
        original_size=(width, height),
        first_look_size=downsample_for_first_look(sample.image).size,
        boxes="first_look_pixels",
    )


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
        resized: whether the conversation calls ``resize_image`` (VisionThink format only).
    """

    messages: list[dict[str, Any]]
    images: list[Image.Image]
    sample_id: str
    category: str
    needs_high_res: bool
    format: TrajectoryFormat
    resized: bool = False


def _content(parts: Sequence[protocol.Part]) -> list[dict[str, Any]]:
    return [
        {"type": "image"}
        if isinstance(part, protocol.ImageSlot)
        else {"type": "text", "text": part}
        for part in parts
    ]


def _answer(sample: SyntheticSample, opening: str = "") -> str:
    return f"<think>{opening}I see {sample.caption}.</think><answer>{sample.answer}</answer>"


GUESSES: Final[dict[str, tuple[str, ...]]] = {"serial": tuple("0123456789")}
"""What a guess at a fine category's answer is drawn from (see :func:`guessed`)."""


def guessed(sample: SyntheticSample) -> SyntheticSample:
    """``sample`` with its answer (and caption) replaced by a guess drawn from its id.

    The demo print is rendered the same way every time, so even its half-size blur identifies
    the digit to a reader trained on it (a linear probe on first-look pixels is 100% right):
    a model taught that would read a rendering artefact, not small print. Training targets for a
    fine question answered from the first look are therefore guesses, independent of the image.

    Example:
        >>> from visionthink_agent.synthetic import make_synthetic_samples
        >>> fine = make_synthetic_samples(1, preset="demo", split="train")[0]
        >>> guess = guessed(fine)
        >>> guess.answer in "0123456789", guess.caption.endswith(guess.answer)
        (True, True)

    Raises:
        ValueError: a category without a guess set.
    """
    if sample.category not in GUESSES:
        raise ValueError(f"no guesses for category {sample.category!r}")
    guess = random.Random(f"guess-{sample.id}").choice(GUESSES[sample.category])
    caption = sample.caption.removesuffix(sample.answer) + guess
    return dataclasses.replace(sample, answer=guess, caption=caption)


def synthetic_sample(sample: EvalSample) -> SyntheticSample:
    """A synthetic benchmark row read back from its JSONL (:func:`load_benchmark`).

    Example:
        >>> import tempfile
        >>> from pathlib import Path
        >>> from visionthink_agent.synthetic import write_synthetic_benchmark
        >>> from visionthink_agent.benchmark import load_benchmark
        >>> folder = Path(tempfile.mkdtemp())
        >>> _ = write_synthetic_benchmark(folder, n=2, preset="demo", formats=("jsonl",))
        >>> row = synthetic_sample(load_benchmark(folder / "synthetic.jsonl")[0])
        >>> row.image.size, row.needs_high_res
        ((224, 224), True)
    """
    with Image.open(str(sample.image)) as image:
        pixels = image.convert("RGB")
    meta = sample.metadata
    box = meta.get("target_box")
    return SyntheticSample(
        sample.id,
        pixels,
        sample.question,
        sample.answer,
        str(meta["category"]),
        bool(meta["needs_high_res"]),
        str(meta["caption"]),
        None if box is None else (int(box[0]), int(box[1]), int(box[2]), int(box[3])),
    )


def render_trajectory(
    sample: SyntheticSample,
    fmt: TrajectoryFormat,
    *,
    resize: bool | None = None,
    guess: bool = False,
    tool_mode: DemoToolMode = "resize",
    name_question: bool = False,
) -> Trajectory:
    """Render ``sample`` as the target conversation of format ``fmt``.

    Args:
        sample: the synthetic sample.
        fmt: ``visionthink`` (first look, then optionally the resize call and the full image),
            ``full`` or ``low`` (one look at that resolution, general QA prompt).
        resize: in the VisionThink format, whether the conversation resizes (default: when the
            sample needs the full image). The recipe's warm start draws it at random, for
            coarse and fine questions alike, so that GRPO has the *when* to learn.
        guess: a fine question answered from the first look gets a guess as its target
            (:func:`guessed`), as the warm start trains; ``False`` keeps the true answer.
        tool_mode: ``resize`` (the released protocol) or ``zoom`` (the high-resolution request
            is ``image_zoom_in_tool`` on :func:`first_look_box`; the tool turn holds the crop).
        name_question: in the VisionThink format, the first-look thought opens with
            :data:`ASKED` (what the question asks for), then makes the choice.

    Example:
        >>> from visionthink_agent.synthetic import make_synthetic_samples
        >>> coarse = make_synthetic_samples(2, preset="demo", split="train")[1]
        >>> render_trajectory(coarse, "visionthink").messages[-1]["content"]
        '<think>I see a square coloured orange.</think><answer>orange</answer>'
        >>> low = render_trajectory(coarse, "low")
        >>> low.messages[1]["content"][0], low.images[0].size
        ({'type': 'image'}, (112, 112))

    Raises:
        ValueError: an unknown format.
    """
    if fmt not in FORMATS:
        raise ValueError(f"unknown trajectory format {fmt!r}; choose from {list(FORMATS)}")
    if tool_mode not in ("resize", "zoom"):
        raise ValueError(f"the demo recipe trains tool_mode 'resize' or 'zoom', not {tool_mode!r}")
    first_look = downsample_for_first_look(sample.image)
    messages: list[dict[str, Any]]
    resized = sample.needs_high_res if resize is None else resize
    from_first_look = fmt == "low" or (fmt == "visionthink" and not resized)
    said = guessed(sample) if guess and sample.needs_high_res and from_first_look else sample
    opening = f"{ASKED.get(sample.category, '')} " if name_question else ""
    if fmt == "visionthink":
        messages = [
            {"role": "system", "content": protocol.system_prompt(tool_mode)},
            {"role": "user", "content": _content(protocol.user_turn(sample.question))},
        ]
        images = [first_look]
        if resized and tool_mode == "zoom":
            bbox = first_look_box(sample)
            box = zoom_box(
                bbox,
                original_size=sample.image.size,
                first_look_size=first_look.size,
                boxes="first_look_pixels",
            )
            call = f"<think>{opening}{ZOOM_THOUGHT}</think>\n{zoom_call(bbox)}"
            messages += [
                {"role": "assistant", "content": call},
                {"role": "user", "content": _content(protocol.zoom_success_turn())},
                {"role": "assistant", "content": _answer(sample)},
            ]
            images.append(crop_region(sample.image, box))
        elif resized:
            messages += [
                {
                    "role": "assistant",
                    "content": f"<think>{opening}{RESIZE_THOUGHT}</think>\n{RESIZE_CALL}",
                },
                {"role": "user", "content": _content(protocol.tool_success_turn())},
                {"role": "assistant", "content": _answer(sample)},
            ]
            images.append(sample.image)
        else:
            messages.append({"role": "assistant", "content": _answer(said, opening)})
    else:
        image = sample.image if fmt == "full" else first_look
        messages = [
            {"role": "system", "content": protocol.GENERAL_QA_SYSTEM_PROMPT},
            {
                "role": "user",
                "content": [{"type": "image"}, {"type": "text", "text": sample.question}],
            },
            {"role": "assistant", "content": _answer(said)},
        ]
        images = [image]
    return Trajectory(
        messages,
        images,
        sample.id,
        sample.category,
        sample.needs_high_res,
        format=fmt,
        resized=resized and fmt == "visionthink",
    )


def thoughts_corpus(tool_mode: DemoToolMode = "resize") -> tuple[str, ...]:
    """The fixed assistant strings, for the tokenizer's BPE corpus.

    Example:
        >>> RESIZE_CALL in thoughts_corpus()
        True
        >>> zoom_call([0, 0, 1, 1]).split('"bbox_2d"')[0] in thoughts_corpus("zoom")[1]
        True
    """
    if tool_mode == "zoom":
        return (ZOOM_THOUGHT, zoom_call([]), "<think>I see ")
    return (RESIZE_THOUGHT, RESIZE_CALL, "<think>I see ")
