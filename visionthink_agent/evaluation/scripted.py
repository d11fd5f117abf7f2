"""A scripted VisionThink model: the ideal policy, without weights, for plumbing and token checks.

:class:`ScriptedVisionModel` is a deterministic LangChain chat model that knows a benchmark's
answers, which questions need the full image and, for those, where the fine print is
(``target_box`` in the sample's metadata, as the synthetic benchmark writes it). It speaks the
prompted protocol:

* it finds the sample from the first image it is shown (a digest of its pixels: the first look
  in the agent modes, the original or the first look in the single-look baselines);
* it reads the tool mode and the box convention from the system prompt
  (:func:`visionthink_agent.protocol.system_prompt`), as a model trained on it would;
* a coarse question is answered from the first look; a fine one asks for high resolution:
  ``resize_image`` in ``resize`` mode, ``image_zoom_in_tool`` on the target box (written in the
  prompt's convention by :func:`~visionthink_agent.images.model_bbox`) in ``zoom`` and ``both``
  mode;
* after a high-resolution view it answers; after an error turn it answers :data:`UNREADABLE`;
* with the tool-free prompt it answers a fine question only when shown the original image.

So every evaluation mode has a known outcome, and the visual tokens of a run are the agent's own
accounting of an ideal policy (``benchmarks/bench_zoom_tokens.py``).

Example:
    >>> model_bbox((240, 460, 391, 505), original_size=(896, 672), first_look_size=(448, 336),
    ...            boxes="first_look_pixels")
    [120, 230, 196, 253]
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, BaseMessage, SystemMessage
from langchain_core.outputs import ChatGeneration, ChatResult
from PIL import Image

from visionthink_agent import protocol
from visionthink_agent.benchmark import EvalSample
from visionthink_agent.images import PixelBox, is_image_block, load_image, model_bbox
from visionthink_agent.protocol import BoxConvention, ToolMode

__all__ = ["UNREADABLE", "ScriptedSample", "ScriptedVisionModel"]

UNREADABLE = "unreadable"
"""The scripted model's answer when it could not see the fine print."""


@dataclass(frozen=True)
class ScriptedSample:
    """What the scripted model knows about one sample.

    Attributes:
        answer: the ground truth.
        needs_high_res: the answer is unreadable in the first look.
        target_box: where the fine print is, in original pixels (fine questions).
        size: the original ``(width, height)``.
    """

    answer: str
    needs_high_res: bool
    target_box: PixelBox | None
    size: tuple[int, int]


def _digest(image: Image.Image) -> str:
    """A digest of an image's RGB pixels and size."""
    rgb = image.convert("RGB")
    return hashlib.sha1(f"{rgb.size}".encode() + rgb.tobytes(), usedforsecurity=False).hexdigest()


def _prompts() -> dict[str, tuple[ToolMode, BoxConvention]]:
    """Every agent system prompt → the tool mode and box convention it declares."""
    known: dict[str, tuple[ToolMode, BoxConvention]] = {}
    for mode in ("resize", "zoom", "both"):
        for boxes in ("first_look_pixels", "relative_1000"):
            known.setdefault(protocol.system_prompt(mode, boxes), (mode, boxes))
    return known


def _call(name: str, arguments: Mapping[str, Any], why: str) -> str:
    body = json.dumps({"name": name, "arguments": dict(arguments)})
    return f"<think>{why}</think>\n<tool_call>\n{body}\n</tool_call>"


def _answer(answer: str, why: str) -> str:
    return f"<think>{why}</think><answer>{answer}</answer>"


class ScriptedVisionModel(BaseChatModel):
    """The ideal VisionThink policy on known samples (see the module docstring).

    Build it with :meth:`from_samples`. Prompted protocol only (no native tool calls).

    Example:
        >>> from PIL import Image
        >>> sample = EvalSample("a", Image.new("RGB", (64, 64), "red"), "Colour?", "red",
        ...                     {"needs_high_res": False})
        >>> model = ScriptedVisionModel.from_samples([sample])
        >>> len(model.samples), model.calls
        (2, 0)
    """

    samples: dict[str, ScriptedSample]
    """Digest of the original or of the first look → the sample."""
    calls: int = 0

    @classmethod
    def from_samples(cls, samples: Sequence[EvalSample], **fields: Any) -> ScriptedVisionModel:
        """Index ``samples`` by their original and first-look pixels.

        Each sample's ``metadata`` gives ``needs_high_res`` (default False) and ``target_box``.
        ``fields`` are other model fields, e.g. ``metadata={"visionthink_family": "qwen3_vl"}``
        (the family whose box convention and token geometry an evaluation uses).

        Raises:
            ValueError: two samples have the same image (the model could not tell them apart)
                or a fine question has no ``target_box``.
        """
        index: dict[str, ScriptedSample] = {}
        for sample in samples:
            source = load_image(sample.image)
            box = sample.metadata.get("target_box")
            known = ScriptedSample(
                answer=sample.answer,
                needs_high_res=bool(sample.metadata.get("needs_high_res", False)),
                target_box=None
                if box is None
                else (int(box[0]), int(box[1]), int(box[2]), int(box[3])),
                size=source.size,
            )
            if known.needs_high_res and known.target_box is None:
                raise ValueError(
                    f"sample {sample.id!r} needs high resolution but has no target_box"
                )
            for view in (source.decode(), source.first_look()):
                key = _digest(view)
                if key in index and index[key] != known:
                    raise ValueError(f"sample {sample.id!r} shares its image with another sample")
                index[key] = known
        return cls(samples=index, **fields)

    @property
    def _llm_type(self) -> str:
        return "scripted-vision"

    def bind_tools(self, tools: Sequence[Any], **kwargs: Any) -> ScriptedVisionModel:
        """The tools are declared in the prompt; nothing to bind."""
        return self

    def reply(self, messages: Sequence[BaseMessage]) -> str:
        """The next turn of the conversation ``messages`` (see the module docstring).

        Raises:
            ValueError: no image of a known sample in the conversation, or a system prompt
                that is neither an agent prompt nor the tool-free one.
        """
        system = messages[0].content if isinstance(messages[0], SystemMessage) else None
        agent = _prompts().get(system) if isinstance(system, str) else None
        if agent is None and system != protocol.GENERAL_QA_SYSTEM_PROMPT:
            raise ValueError(
                "the scripted model plays the prompted protocol: unknown system prompt"
            )
        images = [(i, block) for i, m in enumerate(messages) for block in _image_blocks(m)]
        if not images:
            raise ValueError("the scripted model needs an image of a known sample")
        first = load_image(images[0][1]).decode()
        sample = self.samples.get(_digest(first))
        if sample is None:
            raise ValueError("the scripted model was not given this image")
        if not sample.needs_high_res:
            return _answer(sample.answer, "The answer is large enough to read.")
        if agent is None:  # a single-look baseline: the original, or the first look
            readable = first.size == sample.size
            return _answer(sample.answer if readable else UNREADABLE, "One look is all I get.")
        last_turn = max((i for i, m in enumerate(messages) if isinstance(m, AIMessage)), default=-1)
        if last_turn >= 0:  # the reply to my request: a high-resolution view or an error turn
            shown = any(i > last_turn for i, _ in images)
            return _answer(sample.answer if shown else UNREADABLE, "I asked for a closer look.")
        mode, boxes = agent
        why = "The print is too small to read at this resolution."
        if mode == "resize":
            return _call(protocol.RESIZE_TOOL_NAME, {"action": protocol.RESIZE_ACTION}, why)
        assert sample.target_box is not None
        bbox = model_bbox(
            sample.target_box, original_size=sample.size, first_look_size=first.size, boxes=boxes
        )
        return _call(protocol.ZOOM_TOOL_NAME, {"bbox_2d": bbox, "label": "the small label"}, why)

    def _generate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: Any = None,
        **kwargs: Any,
    ) -> ChatResult:
        self.calls += 1
        return ChatResult(generations=[ChatGeneration(message=AIMessage(self.reply(messages)))])


def _image_blocks(message: BaseMessage) -> list[Any]:
    content = message.content
    return [b for b in content if is_image_block(b)] if isinstance(content, list) else []
