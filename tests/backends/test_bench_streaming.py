"""The streaming benchmark runs in quick mode and records both ways on the same tokens."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.slow
def test_bench_streaming_quick(tmp_path: Path) -> None:
    output = tmp_path / "bench_streaming.json"
    subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "bench_streaming.py"), "--quick",
         "--repeats", "1", "--output", str(output)],
        check=True,
        cwd=ROOT,
        capture_output=True,
        timeout=180,
    )  # fmt: skip
    (row,) = json.loads(output.read_text())["rows"]
    assert row["tokens"] == 256
    assert row["same_text"] is True  # both ways stream the full decode's text
    assert row["incremental_us_per_token"] > 0
    assert row["redecode_us_per_token"] > 0
