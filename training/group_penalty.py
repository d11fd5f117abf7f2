"""The group penalty on a training batch: per-``uid`` groups, shared reward code, metrics.

veRL computes rewards one trajectory at a time (:mod:`training.reward`), so the penalty control,
which compares the rollouts of one prompt, runs on the trainer side. This module is the numeric
part, free of veRL state: it reads each rollout's ``reward_extra_info`` (the keys
:func:`training.reward.compute_score` returns), calls
:func:`visionthink_agent.reward.apply_penalty_by_uid` and says how much to subtract from each
rollout's score, plus the statistics to log. :class:`training.trainer.VisionThinkTrainer` applies
it to the batch.

Example:
    >>> infos = [{"acc": 1.0, "resized": 1.0, "format": 1.0, "judge_ok": 1.0},
    ...          {"acc": 1.0, "resized": 0.0, "format": 1.0, "judge_ok": 1.0}]
    >>> out = penalise_batch(["g", "g"], infos, VisionThinkSettings())
    >>> out.deltas, out.metrics["visionthink/penalty/penalised_fraction"]
    ([-0.1, 0.0], 0.5)
"""

from __future__ import annotations

import math
from collections.abc import Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from training.settings import VisionThinkSettings
from visionthink_agent.reward import Sample, apply_penalty_by_uid

__all__ = ["BatchAdjustment", "outcome_metrics", "penalise_batch", "sample_from_reward_info"]


def sample_from_reward_info(info: Mapping[str, Any]) -> Sample:
    """Read one rollout's reward facts off its ``reward_extra_info``.

    Example:
        >>> sample_from_reward_info({"acc": 0.0, "resized": 1.0, "format": 0.0, "judge_ok": 0.0})
        Sample(correct=None, resized=True, format_ok=False)

    Raises:
        KeyError: a key :func:`training.reward.compute_score` always returns is missing (the
            reward function is not ours).
    """
    missing = [k for k in ("acc", "resized", "format", "judge_ok") if k not in info]
    if missing:
        raise KeyError(
            f"reward_extra_info lacks {missing}: set reward.custom_reward_function to "
            "pkg://training.reward compute_score"
        )
    correct = bool(float(info["acc"]) >= 0.5) if float(info["judge_ok"]) >= 0.5 else None
    return Sample(correct, resized=bool(float(info["resized"])), format_ok=bool(info["format"]))


def _mean(values: Iterable[float]) -> float:
    items = list(values)
    return sum(items) / len(items) if items else math.nan


def _labelled_resize_ratios(
    samples: Sequence[Sample], infos: Sequence[Mapping[str, Any]]
) -> dict[str, float]:
    """Resize ratio on rows labelled as needing high resolution (fine) and not (coarse)."""
    ratios = {}
    for name, label in (("fine", 1.0), ("coarse", 0.0)):
        chosen = [
            float(s.resized)
            for s, info in zip(samples, infos, strict=True)
            if float(info.get("needs_high_res", -1.0)) == label
        ]
        ratios[f"visionthink/resize_ratio/{name}"] = _mean(chosen)
    return ratios


def _buckets(infos: Sequence[Mapping[str, Any]]) -> dict[str, list[int]]:
    """Row indices per ``by_category/<category>`` and ``by_need/<fine|coarse>``."""
    buckets: dict[str, list[int]] = {}
    for i, info in enumerate(infos):
        buckets.setdefault(f"by_category/{info.get('category') or 'unknown'}", []).append(i)
        label = float(info.get("needs_high_res", -1.0))
        if label in (0.0, 1.0):
            buckets.setdefault(f"by_need/{'fine' if label else 'coarse'}", []).append(i)
    return dict(sorted(buckets.items()))


def outcome_metrics(infos: Sequence[Mapping[str, Any]]) -> dict[str, float]:
    """What the rollouts did, overall, per question category and per need label.

    ``visionthink/resize_ratio`` (and ``/fine``, ``/coarse``), ``visionthink/accuracy_reward``,
    ``visionthink/format_reward``, and ``visionthink/by_category/<category>/<name>`` and
    ``visionthink/by_need/<fine|coarse>/<name>`` with ``resize_ratio`` and ``accuracy``. Training
    logs them for each batch (with the penalty's figures, :func:`penalise_batch`); validation
    (:class:`training.trainer.VisionThinkTrainer`) for the held-out rollouts.

    Args:
        infos: each rollout's ``reward_extra_info`` (:func:`training.reward.compute_score`).

    Example:
        >>> infos = [{"acc": 1.0, "resized": 1.0, "format": 1.0, "judge_ok": 1.0,
        ...           "category": "digit", "needs_high_res": 1.0},
        ...          {"acc": 0.0, "resized": 0.0, "format": 1.0, "judge_ok": 1.0,
        ...           "category": "colour", "needs_high_res": 0.0}]
        >>> metrics = outcome_metrics(infos)
        >>> metrics["visionthink/by_category/digit/resize_ratio"]
        1.0
        >>> metrics["visionthink/by_need/coarse/accuracy"]
        0.0
    """
    samples = [sample_from_reward_info(info) for info in infos]
    metrics = {
        "visionthink/resize_ratio": sum(s.resized for s in samples) / max(1, len(samples)),
        **_labelled_resize_ratios(samples, infos),
        "visionthink/accuracy_reward": _mean(float(info["acc"]) for info in infos),
        "visionthink/format_reward": _mean(float(info["format"]) for info in infos),
    }
    for name, rows in _buckets(infos).items():
        metrics[f"visionthink/{name}/resize_ratio"] = _mean(float(samples[i].resized) for i in rows)
        metrics[f"visionthink/{name}/accuracy"] = _mean(float(infos[i]["acc"]) for i in rows)
    return metrics


def _penalty_reach(
    uids: Sequence[Hashable],
    samples: Sequence[Sample],
    infos: Sequence[Mapping[str, Any]],
    penalties: Sequence[float],
) -> dict[str, float]:
    """Per question category and per need label, the penalty's reach.

    ``visionthink/by_category/<category>/<name>`` and ``visionthink/by_need/<fine|coarse>/<name>``
    with ``penalised_groups`` (share of the groups with a penalised rollout),
    ``penalised_direct`` and ``penalised_resize`` (share of the direct / resizing rollouts that
    were penalised: the trap of a θ-gated penalty shows as correct direct answers docked on
    questions that do not need the full image).
    """
    metrics: dict[str, float] = {}
    for name, rows in _buckets(infos).items():
        direct = [i for i in rows if not samples[i].resized]
        resized = [i for i in rows if samples[i].resized]
        groups: dict[Hashable, bool] = {}
        for i in rows:
            groups[uids[i]] = groups.get(uids[i], False) or penalties[i] > 0
        prefix = f"visionthink/{name}"
        metrics |= {
            f"{prefix}/penalised_groups": _mean(float(hit) for hit in groups.values()),
            f"{prefix}/penalised_direct": _mean(float(penalties[i] > 0) for i in direct),
            f"{prefix}/penalised_resize": _mean(float(penalties[i] > 0) for i in resized),
        }
    return metrics


@dataclass(frozen=True)
class BatchAdjustment:
    """What to add to each rollout's score, and the statistics to log.

    Attributes:
        deltas: per rollout, the amount added to its score (``-penalty``; for a neutralised group
            ``-score``, so every rollout of it ends at 0).
        metrics: averages over the batch's groups under ``visionthink/penalty/*``, and per
            question category and need label under ``visionthink/by_category/*`` and
            ``visionthink/by_need/*``.
    """

    deltas: list[float]
    metrics: dict[str, float]


def penalise_batch(
    uids: Sequence[Hashable],
    infos: Sequence[Mapping[str, Any]],
    settings: VisionThinkSettings,
    *,
    scores: Sequence[float] | None = None,
) -> BatchAdjustment:
    """Apply the penalty control (and the judge-failure rule) to a batch grouped by ``uid``.

    Args:
        uids: GRPO group id of each rollout.
        infos: each rollout's ``reward_extra_info``.
        settings: the validated ``visionthink`` config block.
        scores: each rollout's current score; needed to neutralise judge-failed groups
            (defaults to ``info["score"]``).

    Example:
        >>> bad = {"acc": 0.0, "resized": 0.0, "format": 1.0, "judge_ok": 0.0, "score": 0.5}
        >>> penalise_batch(["u"], [bad], VisionThinkSettings()).deltas
        [-0.5]

    Raises:
        ValueError: when the lengths differ.
    """
    if len(uids) != len(infos):
        raise ValueError(f"got {len(uids)} uids for {len(infos)} reward infos")
    if scores is None:
        scores = [float(info.get("score", 0.0)) for info in infos]
    samples = [sample_from_reward_info(info) for info in infos]
    penalty = settings.penalty
    result = apply_penalty_by_uid(
        uids,
        samples,
        semantics=penalty.semantics,
        theta=penalty.theta,
        penalty=penalty.amount if penalty.enable else 0.0,
    )
    invalid = set(result.invalid_uids) if settings.neutralise_judge_failed_groups else set()
    deltas = [
        -float(score) if uid in invalid else 0.0 - pen
        for uid, score, pen in zip(uids, scores, result.penalties, strict=True)
    ]
    groups = list(result.groups.values())
    ratios = [g.ratio for g in groups if g.valid and g.ratio is not None]
    metrics = {
        "visionthink/penalty/groups": float(len(groups)),
        "visionthink/penalty/penalised_fraction": sum(len(g.penalised) for g in groups)
        / max(1, len(samples)),
        "visionthink/penalty/direct_correct_ratio": (
            sum(ratios) / len(ratios) if ratios else math.nan
        ),
        "visionthink/penalty/groups_below_theta": float(
            sum(1 for r in ratios if r < penalty.theta)
        ),
        **outcome_metrics(infos),
        **_penalty_reach(uids, samples, infos, result.penalties),
        "visionthink/judge_failed_groups": float(len(result.invalid_uids)),
        "visionthink/neutralised_groups": float(len(invalid)),
    }
    return BatchAdjustment(deltas=deltas, metrics=metrics)
