"""benchmarks/demo_zoom_report.py: trained resize vs trained zoom from two eval folders."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from tests.conftest import REPO


def _run(folder: Path, mode: str, fine_tokens: int, zooms: int) -> Path:
    folder.mkdir()
    rows = [
        {"mode": mode, "correct": True, "resized": mode == "visionthink", "zooms": zooms,
         "visual_tokens": {"used": fine_tokens}, "metadata": {"needs_high_res": True}},
        {"mode": mode, "correct": False, "resized": False, "zooms": 0,
         "visual_tokens": {"used": 16}, "metadata": {"needs_high_res": False}},
        {"mode": "full", "correct": True, "resized": False, "zooms": 0,
         "visual_tokens": {"used": 64}, "metadata": {"needs_high_res": True}},
    ]  # fmt: skip
    (folder / "records.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    return folder


def test_report_compares_tokens_per_fine_question(tmp_path: Path) -> None:
    resize = _run(tmp_path / "resize", "visionthink", 80, 0)
    zoom = _run(tmp_path / "zoom", "zoom", 24, 1)
    out = tmp_path / "out"
    run = subprocess.run(
        [sys.executable, str(REPO / "benchmarks" / "demo_zoom_report.py"), str(resize), str(zoom),
         "--out", str(out)],
        capture_output=True, text=True, timeout=120, check=False, cwd=REPO,
    )  # fmt: skip
    assert run.returncode == 0, run.stderr
    assert "0.300x the resize model's visual tokens" in run.stdout
    report = json.loads((out / "demo_zoom.json").read_text())
    assert report["ratio_zoom_over_resize"] == {"coarse": 1.0, "fine": 0.3}
    assert report["zoom"]["fine"]["high_res_requests"] == 1.0
    assert report["resize"]["coarse"]["accuracy"] == 0.0
    assert (out / "demo_zoom.png").stat().st_size > 10_000
