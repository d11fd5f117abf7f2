"""The VisionThink training reward (protocol §4): accuracy + 0.5 · format − penalty.

Pure functions, no I/O: the judge that decides accuracy lives in :mod:`visionthink_agent.judge`.
Two call sites use this module, and its shape follows them:

* **per trajectory** (veRL's ``compute_score``, which never sees a whole group):
  :func:`split_model_turns` cuts the multi-turn ``solution_str`` into the model's turns,
  :func:`assess_turns` reads the answer, the resize flag and the format off them, and
  :func:`trajectory_reward` adds the parts up once the judge has spoken;
* **per group** (the trainer side, where the GRPO ``uid`` is known): :func:`apply_group_penalty`
  applies the penalty control to the n rollouts of one prompt, and :func:`apply_penalty_by_uid`
  does it for a whole batch.

A sample whose judge failed has ``correct=None``: it is *invalid*, its group gets no penalty,
its score is NaN and the group's statistics say ``valid=False`` so the trainer drops the group
(as the authors did) instead of counting a judge outage as a wrong answer.

Example:
    >>> turns = ["<think>too small</think><tool_call>{}</tool_call>",
    ...          "<think>clear now</think><answer>42</answer>"]
    >>> facts = assess_turns(turns)
    >>> facts.answer, facts.resized, facts.format_ok
    ('42', True, True)
    >>> group = apply_group_penalty([Sample(True, resized=True), Sample(False, resized=False)])
    >>> group.scores, group.stats.penalised
    ([1.4, 0.5], (0,))
"""

from __future__ import annotations

import math
import re
from collections.abc import Hashable, Sequence
from dataclasses import dataclass
from typing import Literal, TypeAlias

from visionthink_agent.parsing import check_format, extract_answer, parse_tool_call
from visionthink_agent.protocol import (
    TOOL_ERROR_FOLLOWUP_PROMPT,
    TOOL_FOLLOWUP_PROMPT,
    ZOOM_FOLLOWUP_PROMPT,
    ToolMode,
)

__all__ = [
    "DEFAULT_PENALTY",
    "DEFAULT_THETA",
    "FORMAT_WEIGHT",
    "BatchPenalty",
    "GroupPenalty",
    "GroupStats",
    "PenaltySemantics",
    "Sample",
    "TrajectoryFacts",
    "apply_group_penalty",
    "apply_penalty_by_uid",
    "assess_turns",
    "format_score",
    "is_resized",
    "split_model_turns",
    "trajectory_reward",
]

FORMAT_WEIGHT = 0.5
"""Weight of the format score in the reward."""
DEFAULT_THETA = 0.2
"""Threshold θ on ``r = C_direct / (C_direct + C_high)`` (paper Eq. 5)."""
DEFAULT_PENALTY = 0.1
"""Size of the penalty control."""

PenaltySemantics: TypeAlias = Literal["released", "paper"]

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


@dataclass(frozen=True)
class Sample:
    """One rollout of a GRPO group, as the penalty sees it.

    Attributes:
        correct: the judge's verdict; None when the judge failed (the sample is invalid).
        resized: the rollout asked for the high-resolution image (:func:`is_resized`).
        format_ok: the rollout is well formed (:func:`format_score`).

    Example:
        >>> Sample(None, resized=False).valid
        False
    """

    correct: bool | None
    resized: bool
    format_ok: bool = True

    @property
    def valid(self) -> bool:
        """False when the judge could not decide this sample."""
        return self.correct is not None


@dataclass(frozen=True)
class GroupStats:
    """Per-group statistics of the penalty control, for logging.

    Attributes:
        c_direct: correct answers without resize.
        c_high: correct answers with resize.
        ratio: ``c_direct / (c_direct + c_high)``; None when nothing is correct.
        penalised: indices (within the group) of the penalised samples.
        valid: False when a sample's judge failed: drop the group.
        size: number of samples in the group.
        resized: number of samples that resized.

    Example:
        >>> GroupStats(c_direct=1, c_high=3, ratio=0.25, penalised=(1, 2, 3), valid=True,
        ...            size=4, resized=3).as_dict()["penalty/ratio"]
        0.25
    """

    c_direct: int
    c_high: int
    ratio: float | None
    penalised: tuple[int, ...]
    valid: bool
    size: int
    resized: int

    def as_dict(self) -> dict[str, float]:
        """Flat numeric metrics (``ratio`` is NaN when undefined) for a metrics logger.

        Example:
            >>> stats = apply_group_penalty([Sample(False, resized=False)]).stats
            >>> stats.as_dict()["penalty/c_high"]
            0.0
        """
        return {
            "penalty/c_direct": float(self.c_direct),
            "penalty/c_high": float(self.c_high),
            "penalty/ratio": math.nan if self.ratio is None else self.ratio,
            "penalty/num_penalised": float(len(self.penalised)),
            "penalty/valid": float(self.valid),
            "penalty/resize_ratio": self.resized / self.size if self.size else math.nan,
        }


@dataclass(frozen=True)
class GroupPenalty:
    """The penalty control applied to one group.

    Attributes:
        scores: final rewards ``acc + 0.5 · format − penalty``, in sample order; NaN for
            invalid samples.
        penalties: the penalty of each sample (0.0 or the penalty size).
        stats: the group's :class:`GroupStats`.

    Example:
        >>> apply_group_penalty([Sample(True, resized=False)]).penalties
        [0.0]
    """

    scores: list[float]
    penalties: list[float]
    stats: GroupStats


def apply_group_penalty(
    samples: Sequence[Sample],
    *,
    semantics: PenaltySemantics = "released",
    theta: float = DEFAULT_THETA,
    penalty: float = DEFAULT_PENALTY,
    format_weight: float = FORMAT_WEIGHT,
) -> GroupPenalty:
    """Apply VisionThink's penalty control to the rollouts of one prompt (protocol §4).

    With ``C_direct`` / ``C_high`` the correct answers without / with resize and
    ``r = C_direct / (C_direct + C_high)``:

    * ``"released"`` (the authors' code, default): every *correct* resize answer loses
      ``penalty``; when ``0 < r < θ`` every correct direct answer loses it too. Wrong answers
      are never penalised.
    * ``"paper"`` (Eq. 5): every *direct* answer loses ``penalty`` when ``r < θ``, every
      *resize* answer when ``r ≥ θ``, correct or not.

    In both, a group with nothing correct (``r`` undefined) gets no penalty, and a group with an
    invalid sample (judge failed) gets no penalty and ``stats.valid = False``.

    Args:
        samples: the group's rollouts.
        semantics: ``"released"`` or ``"paper"``.
        theta: the threshold θ in [0, 1].
        penalty: the penalty size (>= 0).
        format_weight: weight of the format score.

    Example:
        >>> group = [Sample(True, resized=False)] + [Sample(True, resized=True)] * 9
        >>> apply_group_penalty(group).stats.penalised  # r = 0.1 < θ: all correct penalised
        (0, 1, 2, 3, 4, 5, 6, 7, 8, 9)
        >>> apply_group_penalty(group, semantics="paper").stats.penalised  # only the direct one
        (0,)

    Raises:
        ValueError: on an empty group, an unknown semantics or an out-of-range θ / penalty.
    """
    if not samples:
        raise ValueError("a group needs at least one sample; got none")
    if semantics not in ("released", "paper"):
        raise ValueError(f"semantics must be 'released' or 'paper'; got {semantics!r}")
    if not 0.0 <= theta <= 1.0:
        raise ValueError(f"theta must lie in [0, 1]; got {theta!r}")
    if penalty < 0.0:
        raise ValueError(f"penalty must be >= 0; got {penalty!r}")
    c_direct = sum(1 for s in samples if s.correct and not s.resized)
    c_high = sum(1 for s in samples if s.correct and s.resized)
    valid = all(s.valid for s in samples)
    ratio = c_direct / (c_direct + c_high) if c_direct + c_high else None
    hit = [valid and ratio is not None and _penalised(s, ratio, semantics, theta) for s in samples]
    penalties = [penalty if h else 0.0 for h in hit]
    scores = [
        trajectory_reward(float(s.correct), s.format_ok, p, format_weight=format_weight)
        if s.correct is not None
        else math.nan
        for s, p in zip(samples, penalties, strict=True)
    ]
    stats = GroupStats(
        c_direct=c_direct,
        c_high=c_high,
        ratio=ratio,
        penalised=tuple(i for i, h in enumerate(hit) if h),
        valid=valid,
        size=len(samples),
        resized=sum(1 for s in samples if s.resized),
    )
    return GroupPenalty(scores=scores, penalties=penalties, stats=stats)


def _penalised(sample: Sample, ratio: float, semantics: PenaltySemantics, theta: float) -> bool:
    if semantics == "paper":
        return (not sample.resized and ratio < theta) or (sample.resized and ratio >= theta)
    if not sample.correct:
        return False
    return sample.resized or 0.0 < ratio < theta


@dataclass(frozen=True)
class BatchPenalty:
    """The penalty control applied to a batch of several groups.

    Attributes:
        scores: final rewards in batch order (NaN for invalid samples).
        penalties: the penalty of each sample, in batch order.
        groups: each group's statistics, keyed by its uid.

    Example:
        >>> out = apply_penalty_by_uid(["a", "b"], [Sample(True, True), Sample(None, False)])
        >>> out.scores[0], out.groups["b"].valid, out.invalid_uids
        (1.4, False, ('b',))
    """

    scores: list[float]
    penalties: list[float]
    groups: dict[Hashable, GroupStats]

    @property
    def invalid_uids(self) -> tuple[Hashable, ...]:
        """The groups to drop because a judge call failed."""
        return tuple(uid for uid, stats in self.groups.items() if not stats.valid)


def apply_penalty_by_uid(
    uids: Sequence[Hashable],
    samples: Sequence[Sample],
    *,
    semantics: PenaltySemantics = "released",
    theta: float = DEFAULT_THETA,
    penalty: float = DEFAULT_PENALTY,
    format_weight: float = FORMAT_WEIGHT,
) -> BatchPenalty:
    """Group a batch by ``uid`` (veRL's GRPO group id) and apply :func:`apply_group_penalty`.

    Args:
        uids: one group id per sample (same length as ``samples``; order is free).
        samples: the batch's rollouts.
        semantics, theta, penalty, format_weight: as in :func:`apply_group_penalty`.

    Example:
        >>> out = apply_penalty_by_uid([0, 0, 1], [Sample(True, True), Sample(False, False),
        ...                                         Sample(True, False)])
        >>> out.scores, out.groups[1].ratio
        ([1.4, 0.5, 1.5], 1.0)

    Raises:
        ValueError: when the lengths differ (or as :func:`apply_group_penalty`).
    """
    if len(uids) != len(samples):
        raise ValueError(f"got {len(uids)} uids for {len(samples)} samples; need one per sample")
    members: dict[Hashable, list[int]] = {}
    for index, uid in enumerate(uids):
        members.setdefault(uid, []).append(index)
    scores = [0.0] * len(samples)
    penalties = [0.0] * len(samples)
    groups: dict[Hashable, GroupStats] = {}
    for uid, indices in members.items():
        group = apply_group_penalty(
            [samples[i] for i in indices],
            semantics=semantics,
            theta=theta,
            penalty=penalty,
            format_weight=format_weight,
        )
        for i, score, pen in zip(indices, group.scores, group.penalties, strict=True):
            scores[i], penalties[i] = score, pen
        groups[uid] = group.stats
    return BatchPenalty(scores=scores, penalties=penalties, groups=groups)
