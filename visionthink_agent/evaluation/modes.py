"""Running one sample in one evaluation mode against any LangChain chat model.

* ``visionthink``, ``zoom`` and ``both`` run the VisionThink agent graph
  (:func:`visionthink_agent.graph.create_visionthink_agent`) with ``tool_mode`` ``resize``,
  ``zoom`` or ``both``: the model sees the first look and may ask once for the full image, or
  for up to two regions cropped from the original, or either; the graph reports ``answer``,
  ``resized``, ``zooms``, ``status``, the token account (crops counted exactly) and usage.
* ``full`` and ``low`` are the two fixed-resolution baselines on the **same model**: one
  single-turn call with the authors' tool-free prompt (``GENERAL_QA_SYSTEM_PROMPT``: think, then
  ``<answer>``) and the image — the original for ``full``, the first look for ``low`` — before
  the question. No tool is declared, so the model cannot spend a turn asking for an image it
  will not get: the baselines measure what the model reads at that resolution, in one call,
  like the paper's full-resolution and ¼-resolution columns. (Declaring the tool and refusing
  every call would add an error turn, its latency and its tokens to every baseline answer.)

Example:
    >>> from visionthink_agent.images import load_image
    >>> from PIL import Image
    >>> round(single_look_tokens(load_image(Image.new("RGB", (1920, 1080))), "low")["ratio"], 3)
    0.24
    >>> from visionthink_agent.images import QWEN3_VL
    >>> single_look_tokens(load_image(Image.new("RGB", (1920, 1080))), "full", QWEN3_VL)["used"]
    2040
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any, Literal

from visionthink_agent.graph.conversation import zoom_boxes
from visionthink_agent.graph.rendering import image_payload_block
from visionthink_agent.images import QWEN2_5_VL, SourceImage, TokenAccount, VisionGeometry
from visionthink_agent.parsing import extract_answer, is_answer
from visionthink_agent.protocol import GENERAL_QA_SYSTEM_PROMPT

__all__ = [
    "ModeOutcome",
    "run_single_look",
    "run_visionthink",
    "run_visionthink_sync",
    "single_look_tokens",
]


@dataclass(frozen=True)
class ModeOutcome:
    """What one mode produced for one sample (before judging).

    Attributes:
        prediction: the extracted final answer (protocol §1.6).
        output: the model's last turn, raw.
        resized: the model got the whole high-resolution image after the first look.
        status: the agent's end status (``answered`` or ``no_answer`` for the single-look
            baselines).
        visual_tokens: the token account as plain data.
        usage: summed ``usage_metadata`` of the model calls.
        latency_s: wall time of the model calls.
        zooms: how many regions of the original the model was shown (zoom / both modes).
        zoom_boxes: those regions, ``[left, top, right, bottom]`` in original pixels.
    """

    prediction: str
    output: str
    resized: bool
    status: str | None
    visual_tokens: dict[str, Any]
    usage: dict[str, int] = field(default_factory=dict)
    latency_s: float = 0.0
    zooms: int = 0
    zoom_boxes: list[list[int]] = field(default_factory=list)


def single_look_tokens(
    source: SourceImage, view: Literal["full", "low"], geometry: VisionGeometry = QWEN2_5_VL
) -> dict[str, Any]:
    """The token account of a one-image baseline: the original (``full``) or the first look.

    Args:
        source: the loaded image.
        view: ``full`` or ``low``.
        geometry: the model family's token arithmetic (Qwen2.5-VL by default).

    Example:
        >>> from visionthink_agent.images import load_image
        >>> from PIL import Image
        >>> single_look_tokens(load_image(Image.new("RGB", (1920, 1080))), "full")["used"]
        2691
    """
    account = source.token_account(resized=False, geometry=geometry)
    if view == "low":
        return account.as_dict()
    baseline = account.full_res_baseline
    return TokenAccount(first_look=0, high_res=baseline, full_res_baseline=baseline).as_dict()


def _message_text(message: Any) -> str:
    text = getattr(message, "text", None)
    if isinstance(text, str):
        return text
    return str(message.content) if isinstance(message.content, str) else ""


def _usage(message: Any) -> dict[str, int]:
    usage = getattr(message, "usage_metadata", None) or {}
    return {k: int(usage.get(k, 0)) for k in ("input_tokens", "output_tokens", "total_tokens")}


async def run_single_look(
    model: Any,
    source: SourceImage,
    question: str,
    view: Literal["full", "low"],
    geometry: VisionGeometry = QWEN2_5_VL,
) -> ModeOutcome:
    """Ask ``model`` once, with the full image or the first look and the tool-free prompt.

    Args:
        model: a LangChain chat model (anything with ``ainvoke``).
        source: the loaded image.
        question: the question.
        view: ``full`` (the original image) or ``low`` (the first look).
        geometry: the model family's token arithmetic, for the token account.

    Example:
        >>> import asyncio
        >>> from langchain_core.language_models.fake_chat_models import FakeListChatModel
        >>> from visionthink_agent.images import load_image
        >>> from PIL import Image
        >>> model = FakeListChatModel(responses=["<think>red</think><answer>red</answer>"])
        >>> out = asyncio.run(run_single_look(model, load_image(Image.new("RGB", (64, 64))),
        ...                                   "Colour?", "low"))
        >>> out.prediction, out.resized, out.visual_tokens["first_look"]
        ('red', False, 4)
    """
    from langchain_core.messages import HumanMessage, SystemMessage

    payload = source.high_res_payload() if view == "full" else source.first_look_payload()
    messages = [
        SystemMessage(content=GENERAL_QA_SYSTEM_PROMPT),
        HumanMessage(content=[image_payload_block(payload), {"type": "text", "text": question}]),
    ]
    start = time.perf_counter()
    reply = await model.ainvoke(messages)
    latency = time.perf_counter() - start
    text = _message_text(reply)
    prediction = extract_answer(text)
    return ModeOutcome(
        prediction=prediction,
        output=text,
        resized=False,
        status="answered" if is_answer(prediction) else "no_answer",
        visual_tokens=single_look_tokens(source, view, geometry),
        usage=_usage(reply),
        latency_s=latency,
    )


def _visionthink_input(source: SourceImage, question: str) -> dict[str, Any]:
    from langchain_core.messages import HumanMessage

    block = image_payload_block(source.high_res_payload())
    return {"messages": [HumanMessage(content=[{"type": "text", "text": question}, block])]}


def _visionthink_outcome(result: dict[str, Any], latency: float) -> ModeOutcome:
    model_turns = [m for m in result.get("messages", []) if getattr(m, "type", None) == "ai"]
    output = _message_text(model_turns[-1]) if model_turns else ""
    answer = result.get("answer")
    return ModeOutcome(
        prediction=answer if answer is not None else extract_answer(output),
        output=output,
        resized=bool(result.get("resized", False)),
        zooms=int(result.get("zooms", 0)),
        zoom_boxes=[list(box) for box in zoom_boxes(result.get("messages", []))],
        status=result.get("status"),
        visual_tokens=dict(result.get("visual_tokens") or {}),
        usage={k: int(v) for k, v in (result.get("usage") or {}).items()},
        latency_s=latency,
    )


async def run_visionthink(agent: Any, source: SourceImage, question: str) -> ModeOutcome:
    """Run the compiled VisionThink agent graph on one question about one image.

    Args:
        agent: ``create_visionthink_agent(model, ...).compile()``.
        source: the loaded image (sent as its original bytes; the graph makes the first look).
        question: the question.

    Example:
        >>> import asyncio  # doctest: +SKIP
        >>> from visionthink_agent.graph import create_visionthink_agent  # doctest: +SKIP
        >>> agent = create_visionthink_agent(model).compile()  # doctest: +SKIP
        >>> source = load_image("receipt.png")  # doctest: +SKIP
        >>> asyncio.run(run_visionthink(agent, source, "Total?")).resized  # doctest: +SKIP
    """
    payload = _visionthink_input(source, question)
    start = time.perf_counter()
    result = await agent.ainvoke(payload)
    return _visionthink_outcome(result, time.perf_counter() - start)


def run_visionthink_sync(agent: Any, source: SourceImage, question: str) -> ModeOutcome:
    """:func:`run_visionthink` for synchronous callers (e.g. lmms-eval).

    Example:
        >>> from langchain_core.language_models import FakeListChatModel
        >>> from visionthink_agent.graph import create_visionthink_agent
        >>> from visionthink_agent.images import load_image
        >>> from PIL import Image
        >>> agent = create_visionthink_agent(
        ...     FakeListChatModel(responses=["<think>ok</think><answer>7</answer>"])).compile()
        >>> out = run_visionthink_sync(agent, load_image(Image.new("RGB", (56, 56))), "Digit?")
        >>> out.prediction, out.resized, out.status
        ('7', False, 'answered')
    """
    payload = _visionthink_input(source, question)
    start = time.perf_counter()
    result = agent.invoke(payload)
    return _visionthink_outcome(result, time.perf_counter() - start)
