"""The demo model against the issue's targets: SFT-only and GRPO checkpoints side by side.

Reads two ``visionthink eval synthetic`` run folders (the warm start, then the GRPO result, on
the same held-out samples) and reports, per checkpoint, accuracy in the three modes on coarse
and fine questions, the VisionThink mode's visual-token share and its resize ratio on coarse and
fine questions, with each target met or missed. Prints the table, writes
``benchmarks/results/demo_model.json`` and a plot::

    visionthink eval synthetic --model runs/demo/sft/final --preset demo --limit 200 \\
        --out runs/demo/eval-sft
    visionthink eval synthetic --model demo --limit 200 --out runs/demo/eval-grpo
    python benchmarks/demo_model_report.py sft=runs/demo/eval-sft grpo=runs/demo/eval-grpo

Example:
    >>> rows = [{"mode": "full", "correct": True, "resized": False,
    ...          "visual_tokens": {"used": 64, "full_res_baseline": 64},
    ...          "metadata": {"needs_high_res": True}}]
    >>> scores(rows)["full_fine_accuracy"]
    1.0
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


def _share(rows: list[dict[str, Any]], key: str) -> float:
    return sum(bool(r[key]) for r in rows) / len(rows) if rows else float("nan")


def scores(records: Sequence[dict[str, Any]]) -> dict[str, float]:
    """Accuracy per mode and kind (coarse / fine), VisionThink resize ratios and token share."""
    out: dict[str, float] = {}
    for mode in ("visionthink", "full", "low"):
        rows = [r for r in records if r["mode"] == mode]
        if not rows:
            continue
        out[f"{mode}_accuracy"] = _share(rows, "correct")
        for kind, fine in (("coarse", False), ("fine", True)):
            part = [r for r in rows if bool(r["metadata"]["needs_high_res"]) is fine]
            out[f"{mode}_{kind}_accuracy"] = _share(part, "correct")
            if mode == "visionthink":
                out[f"resize_ratio_{kind}"] = _share(part, "resized")
        used = sum(r["visual_tokens"]["used"] for r in rows)
        full = sum(r["visual_tokens"]["full_res_baseline"] for r in rows)
        out[f"{mode}_tokens_pct"] = 100.0 * used / full
    return out


def targets(s: dict[str, float]) -> dict[str, bool]:
    """The issue's targets, met or not."""
    return {
        "full-res accuracy >= 80%": s["full_accuracy"] >= 0.80,
        "low-res fine accuracy >= 30 points below full": s["low_fine_accuracy"]
        <= s["full_fine_accuracy"] - 0.30,
        "VisionThink accuracy >= 95% of full-res": s["visionthink_accuracy"]
        >= 0.95 * s["full_accuracy"],
        "VisionThink tokens <= 60% of full-res": s["visionthink_tokens_pct"] <= 60.0,
        "resize ratio <= 20% on coarse": s["resize_ratio_coarse"] <= 0.20,
        "resize ratio >= 80% on fine": s["resize_ratio_fine"] >= 0.80,
    }


def _load(folder: Path) -> list[dict[str, Any]]:
    lines = (folder / "records.jsonl").read_text(encoding="utf-8").splitlines()
    return [json.loads(line) for line in lines if line]


def _plot(named: dict[str, dict[str, float]], out: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (acc_ax, resize_ax) = plt.subplots(1, 2, figsize=(12, 4.5))
    groups = [
        ("full", "full_coarse_accuracy", "full_fine_accuracy"),
        ("low", "low_coarse_accuracy", "low_fine_accuracy"),
        ("visionthink", "visionthink_coarse_accuracy", "visionthink_fine_accuracy"),
    ]
    width = 0.8 / (2 * len(named))
    for i, (name, s) in enumerate(named.items()):
        for j, kind in enumerate(("coarse", "fine")):
            xs = [g + (2 * i + j) * width for g in range(len(groups))]
            ys = [s[group[1 + j]] for group in groups]
            acc_ax.bar(xs, ys, width, label=f"{name}: {kind}")
        resize_ax.bar(
            [i - 0.2, i + 0.2],
            [s["resize_ratio_coarse"], s["resize_ratio_fine"]],
            0.38,
            color=["tab:blue", "tab:orange"],
        )
    acc_ax.set_xticks([g + 0.4 - width / 2 for g in range(len(groups))], [g[0] for g in groups])
    acc_ax.set_ylabel("accuracy (held-out)")
    acc_ax.set_ylim(0, 1.05)
    acc_ax.legend(fontsize=8)
    resize_ax.set_xticks(range(len(named)), list(named))
    resize_ax.set_ylabel("VisionThink mode: share resized (coarse | fine)")
    resize_ax.set_ylim(0, 1.05)
    resize_ax.axhline(0.2, ls=":", color="tab:blue")
    resize_ax.axhline(0.8, ls=":", color="tab:orange")
    fig.suptitle("Demo model: accuracy by resolution and when it resizes")
    fig.tight_layout()
    fig.savefig(out, dpi=110)
    plt.close(fig)


def main(argv: Sequence[str] | None = None) -> int:
    """Compare the runs (``NAME=FOLDER`` or ``FOLDER``); prints the table, writes JSON and PNG."""
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("Example:")[0])
    parser.add_argument("runs", nargs="+", help="eval folders, optionally NAME=FOLDER")
    parser.add_argument("--out", type=Path, default=RESULTS / "demo_model.json")
    args = parser.parse_args(argv)
    named: dict[str, dict[str, float]] = {}
    for item in args.runs:
        name, _, folder = item.rpartition("=")
        named[name or Path(folder).name] = scores(_load(Path(folder)))
    table = Table(title="demo model, held-out synthetic split")
    table.add_column("checkpoint")
    for column in ("full", "low", "VisionThink", "tokens", "full fine", "low fine", "resize c/f"):
        table.add_column(column, justify="right")
    for name, s in named.items():
        table.add_row(
            name,
            f"{s['full_accuracy']:.1%}",
            f"{s['low_accuracy']:.1%}",
            f"{s['visionthink_accuracy']:.1%}",
            f"{s['visionthink_tokens_pct']:.0f}%",
            f"{s['full_fine_accuracy']:.1%}",
            f"{s['low_fine_accuracy']:.1%}",
            f"{s['resize_ratio_coarse']:.0%} / {s['resize_ratio_fine']:.0%}",
        )
    console = Console()
    console.print(table)
    report = {name: {"scores": s, "targets": targets(s)} for name, s in named.items()}
    for name, entry in report.items():
        missed = [t for t, ok in entry["targets"].items() if not ok]
        console.print(
            f"{name}: {'all targets met' if not missed else 'missed: ' + '; '.join(missed)}"
        )
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    _plot(named, args.out.with_suffix(".png"))
    console.print(f"-> {args.out}, {args.out.with_suffix('.png')}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
