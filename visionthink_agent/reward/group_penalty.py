"""The group penalty (trainer side, where the GRPO ``uid`` is known): the penalty control.

:func:`apply_group_penalty` applies it to the n rollouts of one prompt, and
:func:`apply_penalty_by_uid` does it for a whole batch. A sample whose judge failed has
``correct=None``: it is *invalid*, its group gets no penalty, its score is NaN and the group's
statistics say ``valid=False`` so the trainer drops the group (as the authors did) instead of
counting a judge outage as a wrong answer.

Example:
    >>> group = apply_group_penalty([Sample(True, resized=True), Sample(False, resized=False)])
    >>> group.scores, group.stats.penalised
    ([1.4, 0.5], (0,))
"""

from __future__ import annotations

import math
from collections.abc import Hashable, Sequence
from dataclasses import dataclass
from typing import Literal, TypeAlias

from visionthink_agent.reward.trajectory import FORMAT_WEIGHT, trajectory_reward

__all__ = [
    "DEFAULT_PENALTY",
    "DEFAULT_THETA",
    "BatchPenalty",
    "GroupPenalty",
    "GroupStats",
    "PenaltySemantics",
    "Sample",
    "apply_group_penalty",
    "apply_penalty_by_uid",
]

DEFAULT_THETA = 0.2
"""Threshold θ on ``r = C_direct / (C_direct + C_high)`` (paper Eq. 5)."""
DEFAULT_PENALTY = 0.1
"""Size of the penalty control."""

PenaltySemantics: TypeAlias = Literal["released", "paper"]


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
