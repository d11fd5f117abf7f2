"""The inference benchmark runs end to end on CPU with the tiny model (smoke test)."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[2]


def run_bench(tmp_path: Path, *options: str) -> dict[str, Any]:
    spec = importlib.util.spec_from_file_location(
        "bench_inference", REPO / "benchmarks" / "bench_inference.py"
    )
    assert spec is not None
    assert spec.loader is not None
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    out = tmp_path / "bench.json"
    argv = ["--model", "tiny", "--device", "cpu", "--sizes", "0.1", "--repeats", "1", *options]
    assert bench.main([*argv, "--out", str(out)]) == 0
    (row,) = json.loads(out.read_text())["sizes"]
    return dict(row)


def test_bench_inference_smoke(tmp_path: Path) -> None:
    row = run_bench(tmp_path)
    assert row["ratios"]["full_res"] == 1.0
    assert row["resize_reuse"]["reused_tokens"] > row["first_look"]["prompt_tokens"] - 2
    assert row["resize"]["visual_tokens"] == row["resize_reuse"]["visual_tokens"]


def test_warm_prefix_reuses_the_system_prompt_on_every_path(tmp_path: Path) -> None:
    cold = run_bench(tmp_path)
    warm = run_bench(tmp_path, "--warm-prefix")
    saved = {
        path: cold[path]["prefilled_tokens"] - warm[path]["prefilled_tokens"]
        for path in ("full_res", "first_look", "resize", "resize_reuse")
    }
    assert all(warm[p]["prompt_tokens"] == cold[p]["prompt_tokens"] for p in saved)
    prefix = saved["full_res"]  # the system prompt and the user turn's opening tokens
    assert prefix > 200  # ~250 with the tiny tokenizer's merges
    assert saved["first_look"] == saved["resize_reuse"] == prefix
    # without KV reuse the second turn still finds the shared prefix: saved on both turns
    assert saved["resize"] == 2 * prefix
