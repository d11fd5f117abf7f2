"""The inference benchmark runs end to end on CPU with the tiny model (smoke test)."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def test_bench_inference_smoke(tmp_path: Path) -> None:
    spec = importlib.util.spec_from_file_location(
        "bench_inference", REPO / "benchmarks" / "bench_inference.py"
    )
    assert spec is not None
    assert spec.loader is not None
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    out = tmp_path / "bench.json"
    argv = ["--model", "tiny", "--device", "cpu", "--sizes", "0.1", "--repeats", "1"]
    assert bench.main([*argv, "--out", str(out)]) == 0
    (row,) = json.loads(out.read_text())["sizes"]
    assert row["ratios"]["full_res"] == 1.0
    assert row["resize_reuse"]["reused_tokens"] > row["first_look"]["prompt_tokens"] - 2
    assert row["resize"]["visual_tokens"] == row["resize_reuse"]["visual_tokens"]
