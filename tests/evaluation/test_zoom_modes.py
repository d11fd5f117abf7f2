"""The zoom and both modes end to end: the scripted ideal policy through the real agent graph."""

from __future__ import annotations

import json
from pathlib import Path

from tests.evaluation.fakes import contains
from visionthink_agent.evaluation import (
    SyntheticBenchmark,
    load_benchmark,
    run_evaluation,
)
from visionthink_agent.evaluation.records import MODES
from visionthink_agent.evaluation.scripted import ScriptedVisionModel
from visionthink_agent.images import QWEN3_VL, load_image, visual_tokens
from visionthink_agent.judge import ExactMatchJudge


async def test_every_mode_with_the_scripted_policy(
    synthetic: SyntheticBenchmark, tmp_path: Path
) -> None:
    assert synthetic.jsonl
    samples = load_benchmark(synthetic.jsonl)
    model = ScriptedVisionModel.from_samples(samples)
    run = await run_evaluation(
        samples,
        model=model,
        judge=ExactMatchJudge(strict=True),
        out_dir=tmp_path,
        modes=MODES,
        progress=False,
    )
    by_mode = {s.mode: s for s in run.summaries}
    assert list(by_mode) == ["visionthink", "zoom", "both", "full", "low"]
    assert all(r.error is None for r in run.records)
    assert {m: s.accuracy for m, s in by_mode.items()} == {
        "visionthink": 1.0, "zoom": 1.0, "both": 1.0, "full": 1.0, "low": 0.5,
    }  # fmt: skip
    # the fine half asks for high resolution: the whole image, or one region (both: a zoom)
    assert {m: s.high_res_ratio for m, s in by_mode.items()} == {
        "visionthink": 0.5, "zoom": 0.5, "both": 0.5, "full": 0.0, "low": 0.0,
    }  # fmt: skip
    assert (by_mode["visionthink"].resize_ratio, by_mode["visionthink"].zooms_mean) == (0.5, 0)
    assert (by_mode["zoom"].resize_ratio, by_mode["zoom"].zoom_ratio) == (0.0, 0.5)
    assert (by_mode["both"].resize_ratio, by_mode["both"].zooms_mean) == (0.0, 0.5)
    # 448x336: 48 tokens the first look, 192 full, 10 a 151x45 label: zoom < resize
    assert by_mode["visionthink"].visual_tokens_pct == 75.0
    assert by_mode["zoom"].visual_tokens_pct < 30.0
    for record in run.records:
        fine = record.metadata["needs_high_res"]
        if record.mode not in ("zoom", "both"):
            assert (record.zooms, record.zoom_boxes) == (0, [])
            continue
        assert record.zooms == int(fine)
        assert record.resized is False
        if not fine:
            assert record.visual_tokens["high_res"] == 0
            continue
        (box,) = record.zoom_boxes
        assert contains(box, record.metadata["target_box"])  # the crop holds all the print
        source = load_image(next(s.image for s in samples if s.id == record.sample_id))
        crop = source.token_account(resized=False, zooms=[(box[0], box[1], box[2], box[3])])
        assert record.visual_tokens == crop.as_dict()
        assert record.visual_tokens["high_res"] == 10
    settings = json.loads(run.summary_path.read_text())["settings"]
    assert (settings["family"], settings["boxes"]) == ("qwen2_5_vl", "first_look_pixels")
    assert settings["token_geometry"]["factor"] == 28
    assert run.plot_path.read_bytes()[:4] == b"\x89PNG"


async def test_a_qwen3_vl_model_zooms_in_0_1000_and_counts_32_px_tokens(
    synthetic: SyntheticBenchmark, tmp_path: Path
) -> None:
    assert synthetic.jsonl
    samples = load_benchmark(synthetic.jsonl)[:2]  # a fine question and a coarse one
    model = ScriptedVisionModel.from_samples(samples, metadata={"visionthink_family": "qwen3_vl"})
    run = await run_evaluation(
        samples,
        model=model,
        judge=ExactMatchJudge(strict=True),
        out_dir=tmp_path,
        modes=["zoom", "full"],
        progress=False,
    )
    records = {r.key: r for r in run.records}
    zoom = records[("zoom", samples[0].id)]
    assert zoom.correct
    assert zoom.zooms == 1
    assert contains(zoom.zoom_boxes[0], zoom.metadata["target_box"])
    full = records[("full", samples[0].id)].visual_tokens
    assert full["used"] == visual_tokens(448, 336, geometry=QWEN3_VL)
    assert zoom.visual_tokens["first_look"] == visual_tokens(224, 168, geometry=QWEN3_VL)
    settings = json.loads(run.summary_path.read_text())["settings"]
    assert (settings["family"], settings["boxes"]) == ("qwen3_vl", "relative_1000")
