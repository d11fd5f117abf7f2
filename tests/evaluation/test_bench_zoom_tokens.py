"""The resize-vs-zoom token benchmark runs end to end on a few samples (output in a tmp dir)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from tests.conftest import REPO


def test_bench_zoom_tokens_small_run(tmp_path: Path) -> None:
    output = tmp_path / "zoom_tokens.json"
    run = subprocess.run(
        [
            sys.executable,
            str(REPO / "benchmarks" / "bench_zoom_tokens.py"),
            "--n",
            "4",
            "--presets",
            "standard",
            "--output",
            str(output),
        ],
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
        cwd=REPO,
    )
    assert run.returncode == 0, run.stderr
    assert "zoom/resize visual tokens per fine question" in run.stdout
    report = json.loads(output.read_text())
    rows = {row["family"]: row for row in report["rows"]}
    assert set(rows) == {"Qwen2.5-VL", "Qwen3-VL"}
    for row in rows.values():
        assert row["fine_questions"] == 2
        assert row["agent_equals_direct"] is True  # the agent's accounts = token_account
        assert row["resize"]["accuracy_fine"] == row["zoom"]["accuracy_fine"] == 1.0
        assert (row["resize"]["resized"], row["zoom"]["zooms"]) == (2, 2)
        assert row["resize"]["first_look"] == row["zoom"]["first_look"]
        assert 0 < row["ratio_zoom_over_resize"] < 1
        assert row["ratio_zoom_over_resize"] == round(
            row["zoom"]["used"] / row["resize"]["used"], 4
        )
    # 896x672, Qwen2.5-VL: 192 + 768 tokens resized, 192 + 10 (a 151x45 label) zoomed
    assert (rows["Qwen2.5-VL"]["resize"]["used"], rows["Qwen2.5-VL"]["zoom"]["used"]) == (960, 202)
    assert output.with_suffix(".png").read_bytes()[:4] == b"\x89PNG"
