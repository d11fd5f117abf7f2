"""``visionthink eval --modes ...zoom...`` against an OpenAI-compatible server (scripted policy)."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import pytest

from tests.evaluation.vision_server import serve_oracle
from visionthink_agent.cli.eval_command import register, run
from visionthink_agent.evaluation import load_benchmark, load_records, write_synthetic_benchmark
from visionthink_agent.evaluation.scripted import ScriptedVisionModel


def _parse(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="visionthink")
    register(parser.add_subparsers())
    return parser.parse_args(argv)


@pytest.mark.slow
@pytest.mark.parametrize(
    ("served", "extra", "family", "boxes"),
    [
        ("scripted", [], "qwen2_5_vl", "first_look_pixels"),
        ("scripted-qwen3-vl", [], "qwen3_vl", "relative_1000"),  # the family from the name
        ("scripted", ["--family", "qwen3_vl"], "qwen3_vl", "relative_1000"),  # said outright
    ],
)
def test_zoom_and_both_modes_write_zoom_fields(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    served: str,
    extra: list[str],
    family: str,
    boxes: str,
) -> None:
    # the command writes the same synthetic samples (same seed) under OUT/data
    bench = write_synthetic_benchmark(tmp_path / "known", n=2, formats=("jsonl",))
    assert bench.jsonl
    model = ScriptedVisionModel.from_samples(load_benchmark(bench.jsonl))
    out = tmp_path / "run"
    with serve_oracle(model) as url:
        argv = ["eval", "synthetic", "--limit", "2", "--out", str(out), "--base-url", url,
                "--model", served, "--modes", "zoom,both,visionthink", *extra]  # fmt: skip
        assert run(_parse(argv)) == 0
    printed = capsys.readouterr().out
    assert "eval: 2 samples x 3 modes (6 run now, 0 errors)" in printed
    assert "zooms/q" in printed
    records = load_records(out / "records.jsonl")
    fine = records[("zoom", "syn-0000")]
    assert (fine.correct, fine.zooms, fine.resized, fine.high_res) == (True, 1, False, True)
    left, top, right, bottom = fine.zoom_boxes[0]
    t_left, t_top, t_right, t_bottom = fine.metadata["target_box"]
    assert left <= t_left < t_right <= right
    assert top <= t_top < t_bottom <= bottom
    assert (
        fine.visual_tokens["high_res"]
        < records[("visionthink", "syn-0000")].visual_tokens["high_res"]
    )
    assert records[("both", "syn-0000")].zooms == 1
    assert records[("zoom", "syn-0001")].zooms == 0  # a coarse question: answered at first look
    document = json.loads((out / "summary.json").read_text())
    assert (document["settings"]["family"], document["settings"]["boxes"]) == (family, boxes)
    summary = {s["mode"]: s for s in document["modes"]}
    assert [s["mode"] for s in document["modes"]] == ["visionthink", "zoom", "both"]
    assert (summary["zoom"]["zoom_ratio"], summary["zoom"]["high_res_ratio"]) == (0.5, 0.5)
    assert summary["visionthink"]["zooms_mean"] == 0.0
    assert summary["zoom"]["visual_tokens_pct"] < summary["visionthink"]["visual_tokens_pct"]
    assert (out / "accuracy_vs_tokens.png").read_bytes()[:4] == b"\x89PNG"


def test_family_without_a_server_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = ["eval", "synthetic", "--model", "tiny", "--family", "qwen3_vl", "--out", str(tmp_path)]
    assert run(_parse(argv)) == 2
    assert "--family describes a served model (--base-url)" in capsys.readouterr().err
