"""The image benchmark runs end to end in its quick (smoke) mode."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from tests.conftest import REPO


def test_bench_images_quick(tmp_path: Path) -> None:
    output = tmp_path / "bench.json"
    run = subprocess.run(
        [
            sys.executable,
            str(REPO / "benchmarks" / "bench_images.py"),
            "--quick",
            "--output",
            str(output),
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        cwd=REPO,
    )
    assert run.returncode == 0, run.stderr
    assert "first look:" in run.stdout
    result = json.loads(output.read_text())
    assert result["quick"] is True
    assert [row["sample"].split()[1] for row in result["rows"]] == ["JPEG", "PNG", "WebP"]
    for row in result["rows"]:
        assert row["ours_first_look_ms"] > 0
        assert row["first_look_vs_straightforward"] > 0
    assert result["rows"][0]["draft_floor_ms"] > 0
