"""Trained resize vs trained zoom: visual tokens per question of the two demo models.

The same recipe (``python -m training.demo``: SFT warm start, then GRPO) trained twice, once
with ``--tool-mode resize`` (the shipped ``--model demo``) and once with ``--tool-mode zoom``.
Reads the two ``visionthink eval synthetic`` run folders (same held-out samples, the resize
model in the ``visionthink`` mode, the zoom model in the ``zoom`` mode) and reports, for coarse
and fine questions, accuracy, the share that made a high-resolution request and the mean visual
tokens per question, with zoom / resize as a ratio. Prints the table and writes
``benchmarks/results/demo_zoom.json`` and ``demo_zoom.png``::

    visionthink eval synthetic --model demo --limit 200 --modes visionthink --out runs/eval-resize
    visionthink eval synthetic --model runs/demo_zoom/grpo/final --preset demo --limit 200 \\
        --modes zoom --out runs/eval-zoom
    python benchmarks/demo_zoom_report.py runs/eval-resize runs/eval-zoom

Example:
    >>> rows = [{"mode": "zoom", "correct": True, "resized": False, "zooms": 1,
    ...          "visual_tokens": {"used": 24}, "metadata": {"needs_high_res": True}}]
    >>> kind_scores(rows, "zoom")["fine"]["tokens_per_question"]
    24.0
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

RESULTS = Path(__file__).parent / "results"


def kind_scores(records: Sequence[dict[str, Any]], mode: str) -> dict[str, dict[str, float]]:
    """Per kind (coarse / fine): samples, accuracy, high-res request share, tokens per question."""
    out: dict[str, dict[str, float]] = {}
    for kind, fine in (("coarse", False), ("fine", True)):
        rows = [
            r
            for r in records
            if r["mode"] == mode and bool(r["metadata"]["needs_high_res"]) is fine
        ]
        if not rows:
            continue
        n = len(rows)
        out[kind] = {
            "samples": n,
            "accuracy": sum(bool(r["correct"]) for r in rows) / n,
            "high_res_requests": sum(bool(r["resized"]) or r.get("zooms", 0) > 0 for r in rows) / n,
            "tokens_per_question": sum(r["visual_tokens"]["used"] for r in rows) / n,
        }
    return out


def _records(folder: Path) -> list[dict[str, Any]]:
    lines = (folder / "records.jsonl").read_text(encoding="utf-8").splitlines()
    return [json.loads(line) for line in lines if line.strip()]


def _plot(report: dict[str, Any], out: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(10, 4))
    for axis, kind in zip(axes, ("coarse", "fine"), strict=True):
        names = ["resize model", "zoom model"]
        values = [
            report["resize"][kind]["tokens_per_question"],
            report["zoom"][kind]["tokens_per_question"],
        ]
        bars = axis.bar(names, values, color=["tab:green", "tab:red"])
        for bar, name in zip(bars, ("resize", "zoom"), strict=True):
            accuracy = report[name][kind]["accuracy"]
            axis.annotate(
                f"{bar.get_height():.1f} tok\nacc {accuracy:.0%}",
                (bar.get_x() + bar.get_width() / 2, bar.get_height()),
                ha="center",
                va="bottom",
            )
        axis.set_title(f"{kind} questions (n={report['zoom'][kind]['samples']:.0f})")
        axis.set_ylabel("visual tokens per question")
        axis.set_ylim(0, max(values) * 1.35)
    fig.suptitle("Demo models trained with the same recipe: resize vs zoom")
    fig.tight_layout()
    fig.savefig(out, dpi=110)
    plt.close(fig)


def main(argv: Sequence[str] | None = None) -> int:
    """Compare the two runs; returns the exit code."""
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("Example:")[0])
    parser.add_argument("resize_run", type=Path, help="eval folder of the resize model")
    parser.add_argument("zoom_run", type=Path, help="eval folder of the zoom model")
    parser.add_argument("--out", type=Path, default=RESULTS, help="folder for JSON and plot")
    args = parser.parse_args(argv)
    report: dict[str, Any] = {
        "resize": kind_scores(_records(args.resize_run), "visionthink"),
        "zoom": kind_scores(_records(args.zoom_run), "zoom"),
        "runs": {"resize": str(args.resize_run), "zoom": str(args.zoom_run)},
    }
    report["ratio_zoom_over_resize"] = {
        kind: report["zoom"][kind]["tokens_per_question"]
        / report["resize"][kind]["tokens_per_question"]
        for kind in ("coarse", "fine")
    }
    table = Table(title="tokens per question, trained resize vs trained zoom")
    for column in ("kind", "model", "n", "accuracy", "high-res req.", "tokens / q", "zoom/resize"):
        table.add_column(column, justify="right")
    for kind in ("coarse", "fine"):
        for name in ("resize", "zoom"):
            s = report[name][kind]
            ratio = f"{report['ratio_zoom_over_resize'][kind]:.3f}" if name == "zoom" else ""
            table.add_row(
                kind,
                name,
                f"{s['samples']:.0f}",
                f"{s['accuracy']:.1%}",
                f"{s['high_res_requests']:.1%}",
                f"{s['tokens_per_question']:.1f}",
                ratio,
            )
    Console().print(table)
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "demo_zoom.json").write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    _plot(report, args.out / "demo_zoom.png")
    fine = report["ratio_zoom_over_resize"]["fine"]
    print(f"fine questions: the zoom model uses {fine:.3f}x the resize model's visual tokens")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
