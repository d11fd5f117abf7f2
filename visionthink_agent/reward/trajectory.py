"""The per-trajectory reward: the model's turns, their answer, resize flag and format, the sum.

veRL's ``compute_score`` never sees a whole group: :func:`split_model_turns` cuts the multi-turn
``solution_str`` into the model's turns, :func:`assess_turns` reads the answer, the resize flag
and the format off them, and :func:`trajectory_reward` adds the parts up once the judge has
spoken.

Example:
    >>> turns = ["<think>too small</think><tool_call>{}</tool_call>",
    ...          "<think>clear now</think><answer>42</answer>"]
    >>> facts = assess_turns(turns)
    >>> facts.answer, facts.resized, facts.format_ok, trajectory_reward(1, facts.format_ok)
    ('42', True, True, 1.5)
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass

from visionthink_agent.parsing import check_format, extract_answer, parse_tool_call
from visionthink_agent.protocol import (
    TOOL_ERROR_FOLLOWUP_PROMPT,
    TOOL_FOLLOWUP_PROMPT,
    ZOOM_FOLLOWUP_PROMPT,
    ToolMode,
)

__all__ = [
    "FORMAT_WEIGHT",
    "TrajectoryFacts",
    "assess_turns",
    "format_score",
    "is_resized",
    "split_model_turns",
    "trajectory_reward",
]

FORMAT_WEIGHT = 0.5
"""Weight of the format score in the reward."""

# The tool turn inside a decoded veRL response: an optional end of the model's turn, the role
# header of the turn the loop appended (``user`` as the checkpoints were trained, or ``tool``
# with a tool-aware template), its body (ends with one of the follow-up prompts: resize, zoom
# or error), and the header of the next model turn. Special tokens may have been kept or
# skipped when decoding.
_FOLLOWUPS = (TOOL_FOLLOWUP_PROMPT, ZOOM_FOLLOWUP_PROMPT, TOOL_ERROR_FOLLOWUP_PROMPT)
_TOOL_TURN = re.compile(
    r"(?:<\|im_end\|>)?\n?(?:<\|im_start\|>)?(?:user|tool)\n<tool_response>\n.*?"
    rf"(?:{'|'.join(re.escape(prompt) for prompt in _FOLLOWUPS)})"
    r"(?:<\|im_end\|>)?\n?(?:<\|im_start\|>)?assistant\n",
    re.DOTALL,
)
_TRAILING_END = re.compile(r"(?:<\|im_end\|>|<\|endoftext\|>)+\s*$")


def split_model_turns(solution_str: str) -> list[str]:
    """Cut a decoded multi-turn response into the model's own turns.

    veRL hands ``compute_score`` the whole response: the first model turn, the tool turn the
    agent loop appended (a ``user`` turn holding the high-resolution image, or the error turn),
    then the second model turn. The tool turn is recognised by its exact protocol text
    (:data:`~visionthink_agent.protocol.TOOL_FOLLOWUP_PROMPT` or the error follow-up), with or
    without the chat template's special tokens (``skip_special_tokens`` either way).

    Args:
        solution_str: the decoded response text.

    Returns:
        The model turns, in order, without role headers or a trailing ``<|im_end|>``.

    Example:
        >>> from visionthink_agent.protocol import render_parts, tool_success_turn
        >>> tool = render_parts(tool_success_turn(), image_token="")
        >>> text = ("<think>a</think><tool_call>{}</tool_call><|im_end|>\\n<|im_start|>user\\n"
        ...         + tool + "<|im_end|>\\n<|im_start|>assistant\\n<think>b</think>"
        ...         "<answer>7</answer><|im_end|>")
        >>> split_model_turns(text)
        ['<think>a</think><tool_call>{}</tool_call>', '<think>b</think><answer>7</answer>']
        >>> split_model_turns("<think>a</think><answer>7</answer>")
        ['<think>a</think><answer>7</answer>']
    """
    return [_TRAILING_END.sub("", turn) for turn in _TOOL_TURN.split(solution_str)]


def format_score(
    turns: Sequence[str], *, strict_tool_call: bool = False, mode: ToolMode = "resize"
) -> float:
    """1.0 when every turn is well formed (protocol §4), else 0.0.

    Args:
        turns: the model's turns (see :func:`split_model_turns`).
        strict_tool_call: also require each call to be a valid call of a tool of ``mode``
            (``resize_image`` in VisionThink), as the paper says; the released code (default)
            only checks the tags.
        mode: the tool mode the trajectory ran in (which calls ``strict_tool_call`` accepts).

    Example:
        >>> format_score(["<think>a</think><answer>b</answer>"])
        1.0
        >>> turns = ["<think>a</think><tool_call>oops</tool_call>",
        ...          "<think>b</think><answer>c</answer>"]
        >>> format_score(turns), format_score(turns, strict_tool_call=True)
        (1.0, 0.0)
    """
    if not check_format(list(turns)).ok:
        return 0.0
    if strict_tool_call and not all(parse_tool_call(turn, mode=mode).ok for turn in turns[:-1]):
        return 0.0
    return 1.0


def is_resized(turns: Sequence[str]) -> bool:
    """Whether the trajectory made a high-resolution request.

    "Resize" in the reward means any tool call (even an erroneous one) in a non-final turn: a
    resize of the whole image or a zoom on a region, in every tool mode.

    Example:
        >>> is_resized(["<think>a</think><tool_call>bad json</tool_call>", "<answer>x</answer>"])
        True
        >>> zoom = ('<tool_call>{"name": "image_zoom_in_tool", "arguments": '
        ...         '{"bbox_2d": [0, 0, 9, 9]}}</tool_call>')
        >>> is_resized([zoom, zoom, "<answer>x</answer>"])
        True
        >>> is_resized(["<think>a</think><tool_call>{}</tool_call>"])  # never got a second turn
        False
    """
    return any(parse_tool_call(turn).found for turn in turns[:-1])


@dataclass(frozen=True)
class TrajectoryFacts:
    """What the reward needs from a trajectory besides the judge's verdict.

    Attributes:
        answer: the extracted final answer (what the judge compares with the ground truth).
        resized: see :func:`is_resized`.
        format_ok: see :func:`format_score`.
        turns: the model turns it was read from.
    """

    answer: str
    resized: bool
    format_ok: bool
    turns: tuple[str, ...]


def assess_turns(
    turns: Sequence[str], *, strict_tool_call: bool = False, mode: ToolMode = "resize"
) -> TrajectoryFacts:
    """Read the answer, the resize flag and the format off a trajectory's model turns.

    ``strict_tool_call`` and ``mode`` are as in :func:`format_score`; the resize flag counts
    any high-resolution request, whatever the mode (:func:`is_resized`).

    Example:
        >>> facts = assess_turns(["<think>easy</think><answer>\\\\boxed{B}</answer>"])
        >>> facts.answer, facts.resized, facts.format_ok
        ('B', False, True)

    Raises:
        ValueError: when ``turns`` is empty.
    """
    if not turns:
        raise ValueError("a trajectory needs at least one model turn; got none")
    return TrajectoryFacts(
        answer=extract_answer(turns[-1]),
        resized=is_resized(turns),
        format_ok=format_score(turns, strict_tool_call=strict_tool_call, mode=mode) == 1.0,
        turns=tuple(turns),
    )


def trajectory_reward(
    acc: float, format_ok: float, penalty: float = 0.0, *, format_weight: float = FORMAT_WEIGHT
) -> float:
    """``acc + format_weight · format − penalty`` (protocol §4).

    Args:
        acc: accuracy in [0, 1] (the judge's verdict).
        format_ok: format score in [0, 1] (a bool works).
        penalty: the penalty control of the sample's group (0 in the per-trajectory pass).
        format_weight: weight of the format score (0.5 in VisionThink).

    Example:
        >>> trajectory_reward(1, True), trajectory_reward(1, 1, 0.1), trajectory_reward(0, 0)
        (1.5, 1.4, 0.0)

    Raises:
        ValueError: when a value is NaN or out of range.
    """
    for name, value in (("acc", acc), ("format_ok", format_ok)):
        if math.isnan(value) or not 0.0 <= value <= 1.0:
            raise ValueError(f"{name} must lie in [0, 1]; got {value!r}")
    if math.isnan(penalty) or penalty < 0.0:
        raise ValueError(f"penalty must be >= 0; got {penalty!r}")
    return round(float(acc) + format_weight * float(format_ok) - penalty, 10)
