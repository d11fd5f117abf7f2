"""The group penalty on a synthetic batch by uid, and the trainer's TransferQueue glue."""

from __future__ import annotations

import math
from types import SimpleNamespace
from typing import Any

import pytest
import torch

pytest.importorskip("verl")

from verl.utils.tensordict_utils import list_of_dict_to_tensordict

from training import trainer
from training.group_penalty import penalise_batch
from training.settings import PenaltySettings, VisionThinkSettings

pytestmark = pytest.mark.verl


def info(correct: bool | None, resized: bool, fmt: bool = True) -> dict[str, Any]:
    """A reward_extra_info as training.reward.compute_score returns it."""
    acc = float(bool(correct))
    return {
        "score": acc + 0.5 * fmt,
        "acc": acc,
        "format": float(fmt),
        "resized": float(resized),
        "judge_ok": float(correct is not None),
    }


# Group "a": 1 direct correct, 9 resize correct -> r = 0.1 < theta.
# Group "b": 2 direct correct, 1 resize correct, 1 resize wrong -> r = 2/3 >= theta.
# Group "c": nothing correct. Group "d": a judge failure.
BATCH = (
    [("a", info(True, False))]
    + [("a", info(True, True))] * 9
    + [("b", info(True, False))] * 2
    + [("b", info(True, True)), ("b", info(False, True))]
    + [("c", info(False, True)), ("c", info(False, False, fmt=False))]
    + [("d", info(True, True)), ("d", info(None, False))]
)
UIDS = [uid for uid, _ in BATCH]
INFOS = [i for _, i in BATCH]


def test_released_semantics_by_uid():
    out = penalise_batch(UIDS, INFOS, VisionThinkSettings())
    # a: every correct answer (direct too, since 0 < r < theta) loses 0.1.
    assert out.deltas[:10] == [-0.1] * 10
    # b: only correct resize answers lose 0.1; wrong ones never do.
    assert out.deltas[10:14] == [0.0, 0.0, -0.1, 0.0]
    # c: nothing correct, nothing changes.
    assert out.deltas[14:16] == [0.0, 0.0]
    # d: the judge failed: the group is neutralised (every score brought to 0).
    assert out.deltas[16:] == [-1.5, -0.5]
    m = out.metrics
    assert m["visionthink/penalty/groups"] == 4
    assert m["visionthink/penalty/penalised_fraction"] == pytest.approx(11 / 18)
    assert m["visionthink/penalty/direct_correct_ratio"] == pytest.approx((0.1 + 2 / 3) / 2)
    assert m["visionthink/penalty/groups_below_theta"] == 1
    assert (m["visionthink/judge_failed_groups"], m["visionthink/neutralised_groups"]) == (1, 1)
    assert m["visionthink/resize_ratio"] == pytest.approx(13 / 18)


def test_paper_semantics_by_uid():
    settings = VisionThinkSettings(penalty=PenaltySettings(semantics="paper"))
    out = penalise_batch(UIDS, INFOS, settings)
    assert out.deltas[:10] == [-0.1] + [0.0] * 9  # r < theta: the direct answer
    assert out.deltas[10:14] == [0.0, 0.0, -0.1, -0.1]  # r >= theta: every resize answer


def test_penalty_off_and_judge_failures_kept():
    settings = VisionThinkSettings(
        penalty=PenaltySettings(enable=False), neutralise_judge_failed_groups=False
    )
    out = penalise_batch(UIDS, INFOS, settings)
    assert set(out.deltas) == {0.0}
    assert out.metrics["visionthink/neutralised_groups"] == 0


def test_missing_reward_keys_name_the_fix():
    with pytest.raises(KeyError, match=r"pkg://training\.reward"):
        penalise_batch(["a"], [{"score": 1.0}], VisionThinkSettings())


class FakeTransferQueue:
    """In-memory stand-in for the two transfer_queue calls the trainer makes."""

    def __init__(self, rows: list[dict[str, Any]]) -> None:
        self.rows = {f"{row['uid']}_{i}_0": row for i, row in enumerate(rows)}

    def kv_batch_get(self, keys: list[str], partition_id: str, select_fields: list[str]) -> Any:
        assert partition_id == "train"
        return list_of_dict_to_tensordict(
            [{f: self.rows[k][f] for f in select_fields} for k in keys]
        )

    def kv_batch_put(self, keys: list[str], partition_id: str, fields: Any) -> None:
        for key, row in zip(keys, fields["rm_scores"].unbind(), strict=True):
            self.rows[key]["rm_scores"] = row


def test_trainer_adjusts_rm_scores_in_the_store(monkeypatch):
    rows = []
    for uid, reward_info in BATCH:
        scores = torch.zeros(5)
        scores[-1] = reward_info["score"]
        rows.append(
            {"uid": uid, "rm_scores": scores, "extra_fields": {"reward_extra_info": reward_info}}
        )
    rows.append(dict(rows[0]))  # a padding copy appended to balance the batch
    store = FakeTransferQueue(rows)
    monkeypatch.setattr(trainer, "tq", store)
    keys = list(store.rows)
    tags = [{"is_padding": False}] * len(BATCH) + [{"is_padding": True}]
    batch = SimpleNamespace(keys=keys, partition_id="train", tags=tags)
    metrics = trainer.adjust_batch_rewards(batch, VisionThinkSettings())
    final = [float(store.rows[k]["rm_scores"][-1]) for k in keys]
    expected = [
        i["score"] + d
        for i, d in zip(
            INFOS, penalise_batch(UIDS, INFOS, VisionThinkSettings()).deltas, strict=True
        )
    ]
    assert final[:-1] == pytest.approx(expected)
    assert final[-1] == pytest.approx(1.5)  # padding untouched
    assert all(float(store.rows[k]["rm_scores"][:-1].abs().sum()) == 0 for k in keys)
    assert not math.isnan(metrics["visionthink/penalty/direct_correct_ratio"])


def test_resize_ratio_is_split_by_the_rows_label() -> None:
    from training.group_penalty import penalise_batch
    from training.settings import VisionThinkSettings

    def info(resized: float, label: float) -> dict[str, float]:
        return {
            "acc": 1.0,
            "format": 1.0,
            "judge_ok": 1.0,
            "resized": resized,
            "needs_high_res": label,
        }

    infos = [info(1, 1), info(1, 1), info(0, 1), info(0, 0), info(1, 0), info(1, -1)]
    metrics = penalise_batch(list("aaabbc"), infos, VisionThinkSettings()).metrics
    assert metrics["visionthink/resize_ratio/fine"] == pytest.approx(2 / 3)
    assert metrics["visionthink/resize_ratio/coarse"] == pytest.approx(1 / 2)
    assert metrics["visionthink/resize_ratio"] == pytest.approx(4 / 6)


def _coarse_trap_batch() -> tuple[list[str], list[dict[str, Any]]]:
    """A colour group that mostly resizes (r = 1/9 < θ) and a serial group that mostly fails
    direct; every answer in the colour group is right."""
    colour = [{**info(True, False), "category": "color", "needs_high_res": 0.0}]
    colour += [{**info(True, True), "category": "color", "needs_high_res": 0.0}] * 8
    serial = [{**info(False, False), "category": "serial", "needs_high_res": 1.0}] * 2
    serial += [{**info(True, True), "category": "serial", "needs_high_res": 1.0}] * 2
    return ["c"] * 9 + ["s"] * 4, colour + serial


def test_per_category_metrics_show_the_released_rules_trap() -> None:
    uids, infos = _coarse_trap_batch()
    metrics = penalise_batch(uids, infos, VisionThinkSettings()).metrics
    colour = "visionthink/by_category/color"
    assert metrics[f"{colour}/resize_ratio"] == pytest.approx(8 / 9)
    assert metrics[f"{colour}/accuracy"] == 1.0
    # released: 0 < r < θ docks the correct direct answer as much as every correct resize
    assert metrics[f"{colour}/penalised_direct"] == 1.0
    assert metrics[f"{colour}/penalised_resize"] == 1.0
    assert metrics[f"{colour}/penalised_groups"] == 1.0
    serial = "visionthink/by_category/serial"
    assert metrics[f"{serial}/accuracy"] == 0.5
    assert metrics[f"{serial}/penalised_direct"] == 0.0  # the wrong direct answers: nothing
    assert metrics["visionthink/by_need/coarse/resize_ratio"] == pytest.approx(8 / 9)
    assert metrics["visionthink/by_need/fine/resize_ratio"] == 0.5


def test_per_category_metrics_under_the_papers_rule() -> None:
    uids, infos = _coarse_trap_batch()
    settings = VisionThinkSettings(penalty=PenaltySettings(semantics="paper"))
    metrics = penalise_batch(uids, infos, settings).metrics
    # Eq. 5 below θ: only the direct answer is docked, which pushes the colour group further
    # towards resizing
    assert metrics["visionthink/by_category/color/penalised_direct"] == 1.0
    assert metrics["visionthink/by_category/color/penalised_resize"] == 0.0
    # r = 0 in the serial group: its direct answers (wrong ones too) are docked
    assert metrics["visionthink/by_category/serial/penalised_direct"] == 1.0


def test_rows_without_a_category_are_reported_as_unknown() -> None:
    metrics = penalise_batch(["g"], [info(True, False)], VisionThinkSettings()).metrics
    assert metrics["visionthink/by_category/unknown/resize_ratio"] == 0.0
    assert not any(key.startswith("visionthink/by_need/") for key in metrics)
