"""Validation during training reports the ``visionthink/*`` outcome metrics per category.

veRL's ``_validate`` collects each held-out rollout's ``reward_extra_info`` into columns and hands
them to ``_val_metrics_update``; :class:`training.trainer.VisionThinkTrainer` adds ours there. The
call goes through the real class (veRL's method included) on the columns our reward returns.
"""

from __future__ import annotations

import math

import pytest

pytestmark = pytest.mark.verl


def _columns() -> tuple[list[str], list[str], dict[str, list[object]]]:
    """Four held-out rollouts with the keys ``training.reward.compute_score`` returns."""
    rows = [  # category, needs the full image, correct, resized
        ("digit", 1.0, 1.0, 1.0),
        ("digit", 1.0, 0.0, 0.0),
        ("colour", 0.0, 1.0, 0.0),
        ("colour", 0.0, 1.0, 0.0),
    ]
    infos = [
        {
            "score": acc + 0.5,
            "needs_high_res": need,
            "category": category,
            "acc": acc,
            "format": 1.0,
            "resized": resized,
            "judge_ok": 1.0,
            "judge_status": "exact",
            "pred": "7",
        }
        for category, need, acc, resized in rows
    ]
    columns: dict[str, list[object]] = {"reward": [info["score"] for info in infos]}
    for key in infos[0]:
        columns[key] = [info[key] for info in infos]
    return ["synthetic"] * 4, [f"u{i}" for i in range(4)], columns


def test_validation_reports_metrics_per_category() -> None:
    from training.trainer import VisionThinkTrainer

    sources, uids, columns = _columns()
    trainer = object.__new__(VisionThinkTrainer)  # _val_metrics_update reads only its arguments
    metrics = trainer._val_metrics_update(sources, uids, columns, [2, 1, 1, 1])
    assert "val-core/synthetic/acc/mean@1" in metrics  # veRL's own, still there
    by = "val-aux/visionthink/by_category"
    assert metrics[f"{by}/digit/resize_ratio"] == 0.5
    assert metrics[f"{by}/digit/accuracy"] == 0.5
    assert metrics[f"{by}/colour/resize_ratio"] == 0.0
    assert metrics[f"{by}/colour/accuracy"] == 1.0
    assert metrics["val-aux/visionthink/by_need/fine/resize_ratio"] == 0.5
    assert metrics["val-aux/visionthink/resize_ratio"] == 0.25
    assert metrics["val-aux/visionthink/accuracy_reward"] == 0.75
    assert not any(math.isnan(v) for k, v in metrics.items() if "visionthink" in k)


def test_rollouts_without_our_reward_keys_are_left_out() -> None:
    from training.trainer import validation_outcome_metrics

    assert validation_outcome_metrics({"reward": [1.0, 0.0]}) == {}
    _, _, columns = _columns()
    columns = {key: [*values, None] for key, values in columns.items()}
    metrics = validation_outcome_metrics(columns)
    assert metrics["val-aux/visionthink/by_category/colour/accuracy"] == 1.0
