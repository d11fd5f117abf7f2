"""benchmarks/demo_model_report.py: per-category numbers, measured need, targets, seed spread."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from tests.conftest import REPO


def _record(mode: str, category: str, correct: bool, resized: bool, **meta: object) -> dict:
    used = {"low": 16, "full": 64, "visionthink": 80 if resized else 16}[mode]
    return {
        "sample_id": f"{category}-{meta.get('n', 0)}",
        "mode": mode,
        "correct": correct,
        "resized": resized,
        "visual_tokens": {"used": used, "full_res_baseline": 64},
        "metadata": {"category": category, "needs_high_res": category == "serial", **meta},
    }


def _run(folder: Path, resize_colour: bool) -> Path:
    rows = []
    for category in ("color", "shape", "digit", "serial"):
        fine = category == "serial"
        rows += [
            _record("visionthink", category, True, fine or (resize_colour and category == "color")),
            _record("full", category, True, False),
            _record("low", category, not fine, False),
        ]
    # a serial-looking row the reference model read from the first look: measured, not needed
    rows.append(_record("visionthink", "serial", True, False, use_tool=False, n=1))
    folder.mkdir()
    (folder / "records.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    return folder


def test_report_per_category_targets_and_spread(tmp_path: Path) -> None:
    good, bad = _run(tmp_path / "s0", False), _run(tmp_path / "s1", True)
    out = tmp_path / "out" / "demo_model.json"
    done = subprocess.run(
        [sys.executable, str(REPO / "benchmarks" / "demo_model_report.py"),
         f"grpo@seed0={good}", f"grpo@seed1={bad}", "--out", str(out)],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    report = json.loads(out.read_text())
    s0 = report["grpo@seed0"]["scores"]
    assert s0["resize_ratio_serial"] == 0.5  # the measured-first-look serial row did not resize
    assert s0["resize_ratio_fine"] == 1.0  # ... and does not count as needing the full image
    assert s0["resize_ratio_coarse"] == 0.0
    assert s0["low_serial_accuracy"] == 0.0
    assert s0["visionthink_tokens_pct"] == 100.0 * (80 + 4 * 16) / (5 * 64)
    assert report["grpo@seed0"]["targets"]["resize ratio <= 20% where the first look suffices"]
    s1_targets = report["grpo@seed1"]["targets"]
    assert not s1_targets["resize ratio <= 20% where the first look suffices"]  # 1 of 4 coarse
    spread = report["seed_spread"]["grpo"]["resize_ratio_coarse"]
    assert spread == {"mean": 0.125, "min": 0.0, "max": 0.25}
    assert "grpo over 2 seeds" in done.stdout
    assert out.with_suffix(".png").is_file()
