"""The judge benchmark runs end to end in quick mode and records what it measured."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.slow
def test_bench_judge_quick(tmp_path: Path) -> None:
    output = tmp_path / "bench_judge.json"
    subprocess.run(
        [
            sys.executable,
            str(ROOT / "benchmarks" / "bench_judge.py"),
            "--quick",
            "--output",
            str(output),
        ],
        check=True,
        cwd=ROOT,
        capture_output=True,
        timeout=120,
    )
    result = json.loads(output.read_text())
    runs = result["runs"]
    assert [(r["client"].split()[:2], r["concurrency"]) for r in runs] == [
        (["LLMJudge", "(hand-written"], 64),
        (["LLMJudge", "(hand-written"], 256),
        (["LLMJudge", "(hand-written"], 1024),
        (["loop:", "hand-written"], 256),
        (["loop:", "aiohttp"], 256),
        (["loop:", "httpx"], 256),
        (["loop:", "httpx"], 256),
        (["AsyncOpenAI", "(asyncio+openai)"], 256),
        (["thread", "pool"], 100),
    ]
    for run in runs:
        assert run["failures"] == 0
        # 16 rollouts a prompt, every third one right: 6 of 16 are judged correct.
        assert run["correct"] == run["calls"] * 6 // 16
        assert run["ratio_to_ideal"] == pytest.approx(
            run["ideal_s"] / run["wall_s"], rel=0.05, abs=0.005
        )
    assert result["c256_speedup_vs_thread_pool"] > 0
    library = result["library_client"]
    assert library["candidate"] == "aiohttp"
    assert library["shipped"] == (library["c256_ratio_to_ideal"] >= library["needed"] == 0.85)
