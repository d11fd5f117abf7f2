"""Labelling by measured need: the rule, the labelled JSONL and parquet, and a real measurement."""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from training.data import convert
from training.demo.need_labels import (
    NeedMeasurement,
    label_benchmark,
    measure_need,
    need_label,
    split_summary,
)
from visionthink_agent.backends.demo import demo_checkpoint_dir
from visionthink_agent.synthetic import make_synthetic_samples, write_synthetic_benchmark


@pytest.mark.parametrize(
    ("low", "full", "label"),
    [(8, 8, False), (4, 0, False), (3, 8, True), (0, 4, True), (3, 3, None), (0, 0, None)],
)
def test_the_first_look_decides_first_then_the_full_image(low: int, full: int, label) -> None:
    assert need_label(low, full, 8) is label


def _measured(folder: Path) -> list[NeedMeasurement]:
    rows = [json.loads(line) for line in (folder / "synthetic.jsonl").read_text().splitlines()]
    counts = {"serial": (0, 8), "color": (8, 8), "shape": (1, 1), "digit": (6, 8)}
    return [
        NeedMeasurement(r["id"], r["category"], r["needs_high_res"], 8, *counts[r["category"]])
        for r in rows[:4]  # the fifth row is not measured
    ]


def test_labelled_rows_carry_the_measured_label_into_the_parquet(tmp_path: Path) -> None:
    source = tmp_path / "bench"
    write_synthetic_benchmark(source, n=5, preset="demo", split="train", formats=("jsonl",))
    measured = _measured(source)
    target = tmp_path / "labelled" / "grpo.jsonl"
    split = label_benchmark(source / "synthetic.jsonl", target, measured, keep_unsolved=False)
    rows = [json.loads(line) for line in target.read_text().splitlines()]
    # the shape sample (solved at neither resolution) and the unmeasured row are left out
    assert [(r["category"], r["use_tool"]) for r in rows] == [
        ("serial", True),
        ("color", False),
        ("digit", False),
    ]
    assert all(Path(r["image"]).is_absolute() for r in rows)
    assert split["shape"]["unsolved"] == 1
    assert split["all"] == {
        "samples": 4,
        "first_look": 2,
        "needs_full": 1,
        "unsolved": 1,
        "low_accuracy": 15 / 32,
        "full_accuracy": 25 / 32,
        "resize_rate": 0.0,
        "design_needs_full": 1,
    }
    convert(target, tmp_path / "grpo.parquet", progress=False)
    infos = [r["extra_info"] for r in pq.read_table(tmp_path / "grpo.parquet").to_pylist()]
    assert [(i["category"], i["use_tool"]) for i in infos] == [
        ("serial", True),
        ("color", False),
        ("digit", False),
    ]
    kept = label_benchmark(
        source / "synthetic.jsonl", tmp_path / "all.jsonl", measured, keep_unsolved=True
    )
    assert kept == split
    kept_rows = [json.loads(line) for line in (tmp_path / "all.jsonl").read_text().splitlines()]
    assert [r["use_tool"] for r in kept_rows] == [True, False, None, False]


@pytest.mark.slow
def test_the_shipped_model_reads_colour_and_shape_from_the_first_look() -> None:
    samples = [
        s for s in make_synthetic_samples(12, preset="demo", split="train", seed=9)
        if s.category in ("color", "shape")
    ][:4]  # fmt: skip
    measured = measure_need(demo_checkpoint_dir(), samples, k=4, progress=False)
    assert [m.sample_id for m in measured] == [s.id for s in samples]
    # at least half of the sampled first-look answers are right: the first look suffices
    assert {m.label for m in measured} == {False}, measured
    assert split_summary(measured)["all"]["first_look"] == 4
