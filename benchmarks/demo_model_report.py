"""The demo model against the issue's targets, per question category, with the spread over seeds.

Reads ``visionthink eval`` run folders (the same held-out samples through every checkpoint, in
the ``visionthink``, ``full`` and ``low`` modes) and reports, per checkpoint and per question
category (colour, shape, large digit, small digit), first-look accuracy, full-resolution
accuracy, VisionThink accuracy and the resize ratio; per measured need (the row's ``use_tool``:
the label the SFT checkpoint's rollouts gave it, see ``training/demo/need_labels.py``; the
generator's ``needs_high_res`` where a row has none) the resize ratio; and the VisionThink
mode's visual-token share. Runs named ``NAME@seedN`` are one recipe with several GRPO seeds:
the report gives the mean, min and max of every number over them. GRPO run folders given with
``--grpo`` add their per-category resize curves to the plot. Prints the tables, writes
``benchmarks/results/demo_model.json`` and a plot::

    python benchmarks/demo_model_report.py sft=runs/eval-sft grpo@seed0=runs/eval-s0 \\
        grpo@seed1=runs/eval-s1 unseen@seed0=runs/eval-unseen-s0 \\
        --grpo runs/demo/grpo-released-seed0 runs/demo/grpo-released-seed1

Example:
    >>> rows = [{"mode": "full", "correct": True, "resized": False,
    ...          "visual_tokens": {"used": 64, "full_res_baseline": 64},
    ...          "metadata": {"needs_high_res": True, "category": "serial"}}]
    >>> scores(rows)["full_fine_accuracy"], scores(rows)["full_serial_accuracy"]
    (1.0, 1.0)
    >>> spread([{"a": 0.5}, {"a": 0.7}])["a"]
    {'mean': 0.6, 'min': 0.5, 'max': 0.7}
"""

from __future__ import annotations

import argparse
import json
import math
from collections import defaultdict
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

RESULTS = Path(__file__).parent / "results"
CATEGORIES = ("color", "shape", "digit", "serial")
"""The demo preset's question categories: three the first look can answer, one it cannot."""
MODES = ("visionthink", "full", "low")


def _share(rows: list[dict[str, Any]], key: str) -> float:
    return sum(bool(r[key]) for r in rows) / len(rows) if rows else math.nan


def _needs_full(record: dict[str, Any]) -> bool:
    """The measured label (``use_tool``) where the row has one, else the generator's."""
    meta = record["metadata"]
    label = meta.get("use_tool")
    return bool(meta["needs_high_res"] if label is None else label)


def scores(records: Sequence[dict[str, Any]]) -> dict[str, float]:
    """Accuracy per mode, per need (coarse / fine) and per category; resize ratios; tokens."""
    out: dict[str, float] = {}
    for mode in MODES:
        rows = [r for r in records if r["mode"] == mode]
        if not rows:
            continue
        out[f"{mode}_accuracy"] = _share(rows, "correct")
        parts: dict[str, list[dict[str, Any]]] = defaultdict(list)
        for r in rows:
            parts["fine" if _needs_full(r) else "coarse"].append(r)
            parts[str(r["metadata"].get("category"))].append(r)
        for name in ("coarse", "fine", *CATEGORIES):
            out[f"{mode}_{name}_accuracy"] = _share(parts[name], "correct")
            if mode == "visionthink":
                out[f"resize_ratio_{name}"] = _share(parts[name], "resized")
        used = sum(r["visual_tokens"]["used"] for r in rows)
        full = sum(r["visual_tokens"]["full_res_baseline"] for r in rows)
        out[f"{mode}_tokens_pct"] = 100.0 * used / full
    out["samples"] = float(len({r["sample_id"] for r in records}))
    return out


def targets(s: dict[str, float]) -> dict[str, bool]:
    """The issue's targets, met or not."""
    full = s.get("full_accuracy", math.nan)  # nan (a run without the full mode): not met
    return {
        "full-res accuracy >= 80%": full >= 0.80,
        "VisionThink accuracy >= 95% of full-res": s["visionthink_accuracy"] >= 0.95 * full,
        "VisionThink tokens <= 60% of full-res": s["visionthink_tokens_pct"] <= 60.0,
        "resize ratio <= 20% where the first look suffices": s["resize_ratio_coarse"] <= 0.20,
        "resize ratio >= 80% where the full image is needed": s["resize_ratio_fine"] >= 0.80,
    }


def spread(runs: Sequence[dict[str, float]]) -> dict[str, dict[str, float]]:
    """Mean, min and max of every number over ``runs`` (one recipe, several seeds)."""
    keys = [k for k in runs[0] if all(k in r for r in runs)]
    return {
        k: {
            "mean": round(sum(r[k] for r in runs) / len(runs), 6),
            "min": min(r[k] for r in runs),
            "max": max(r[k] for r in runs),
        }
        for k in keys
    }


def _load(folder: Path) -> list[dict[str, Any]]:
    lines = (folder / "records.jsonl").read_text(encoding="utf-8").splitlines()
    return [json.loads(line) for line in lines if line]


def _grpo_curves(folder: Path) -> dict[str, list[tuple[int, float]]]:
    rows = [
        json.loads(line)
        for line in (folder / "metrics.jsonl").read_text(encoding="utf-8").splitlines()
        if line
    ]
    curves: dict[str, list[tuple[int, float]]] = defaultdict(list)
    for row in rows:
        for category in CATEGORIES:
            value = row.get(f"visionthink/by_category/{category}/resize_ratio")
            if value is not None and value == value:
                curves[category].append((int(row["step"]), float(value)))
    return curves


def _plot(
    named: dict[str, dict[str, float]],
    grpo: dict[str, dict[str, list[tuple[int, float]]]],
    out: Path,
) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    panels = 3 if grpo else 2
    fig, axes = plt.subplots(1, panels, figsize=(6 * panels, 4.5))
    acc_ax, resize_ax = axes[0], axes[1]
    width = 0.8 / len(named)
    for i, (name, s) in enumerate(named.items()):
        xs = [c + i * width for c in range(len(CATEGORIES))]
        acc_ax.bar(xs, [s[f"visionthink_{c}_accuracy"] for c in CATEGORIES], width, label=name)
        resize_ax.bar(xs, [s[f"resize_ratio_{c}"] for c in CATEGORIES], width, label=name)
    for axis, ylabel in (
        (acc_ax, "VisionThink accuracy (held-out)"),
        (resize_ax, "VisionThink mode: share resized"),
    ):
        axis.set_xticks([c + 0.4 - width / 2 for c in range(len(CATEGORIES))], CATEGORIES)
        axis.set_ylabel(ylabel)
        axis.set_ylim(0, 1.05)
        axis.legend(fontsize=7)
    resize_ax.axhline(0.2, ls=":", color="grey")
    resize_ax.axhline(0.8, ls=":", color="grey")
    if grpo:
        curve_ax = axes[2]
        styles = ["-", "--", ":", "-."]
        colors = {"color": "tab:red", "shape": "tab:green", "digit": "tab:blue"}
        for j, (run, curves) in enumerate(grpo.items()):
            for category, points in curves.items():
                steps, values = zip(*points, strict=True)
                window = 3  # a running mean over 3 steps: each step sees a few groups per category
                smooth = [
                    sum(values[max(0, k - window + 1) : k + 1])
                    / len(values[max(0, k - window + 1) : k + 1])
                    for k in range(len(values))
                ]
                curve_ax.plot(
                    steps,
                    smooth,
                    styles[j % len(styles)],
                    color=colors.get(category, "tab:orange"),
                    label=f"{category} ({run})",
                )
        curve_ax.set_xlabel("GRPO step")
        curve_ax.set_ylabel("resize ratio over the step's rollouts (3-step mean)")
        curve_ax.set_ylim(-0.02, 1.02)
        curve_ax.legend(fontsize=6)
        curve_ax.grid(alpha=0.3)
    fig.suptitle("Demo model: when it resizes, per question category")
    fig.tight_layout()
    fig.savefig(out, dpi=110)
    plt.close(fig)


def _category_table(named: dict[str, dict[str, float]]) -> Table:
    table = Table(title="per category: first look / full / VisionThink accuracy, resize ratio")
    table.add_column("checkpoint")
    for category in CATEGORIES:
        table.add_column(category, justify="right")
    for name, s in named.items():
        table.add_row(
            name,
            *(
                " / ".join(
                    f"{s.get(f'{mode}_{c}_accuracy', math.nan):.0%}" for mode in ("low", "full")
                )
                + f" / {s[f'visionthink_{c}_accuracy']:.0%}  r {s[f'resize_ratio_{c}']:.0%}"
                for c in CATEGORIES
            ),
        )
    return table


def main(argv: Sequence[str] | None = None) -> int:
    """Compare the runs (``NAME=FOLDER``); prints the tables, writes JSON and PNG."""
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("Example:")[0])
    parser.add_argument("runs", nargs="+", help="eval folders, NAME=FOLDER (NAME@seedN: seeds)")
    parser.add_argument("--grpo", nargs="*", type=Path, default=[], help="GRPO run folders")
    parser.add_argument("--out", type=Path, default=RESULTS / "demo_model.json")
    args = parser.parse_args(argv)
    named: dict[str, dict[str, float]] = {}
    for item in args.runs:
        name, _, folder = item.rpartition("=")
        named[name or Path(folder).name] = scores(_load(Path(folder)))
    table = Table(title="demo model, held-out synthetic split")
    table.add_column("checkpoint")
    for column in ("samples", "full", "low", "VisionThink", "tokens", "resize coarse/fine"):
        table.add_column(column, justify="right")
    for name, s in named.items():
        table.add_row(
            name,
            f"{s['samples']:.0f}",
            f"{s.get('full_accuracy', math.nan):.1%}",
            f"{s.get('low_accuracy', math.nan):.1%}",
            f"{s['visionthink_accuracy']:.1%}",
            f"{s['visionthink_tokens_pct']:.0f}%",
            f"{s['resize_ratio_coarse']:.0%} / {s['resize_ratio_fine']:.0%}",
        )
    console = Console()
    console.print(table)
    console.print(_category_table(named))
    report: dict[str, Any] = {
        name: {"scores": s, "targets": targets(s)} for name, s in named.items()
    }
    groups: dict[str, list[dict[str, float]]] = defaultdict(list)
    for name, s in named.items():
        if "@" in name:
            groups[name.split("@", 1)[0]].append(s)
    report["seed_spread"] = {group: spread(runs) for group, runs in groups.items() if len(runs) > 1}
    for name in named:
        missed = [t for t, ok in report[name]["targets"].items() if not ok]
        console.print(
            f"{name}: {'all targets met' if not missed else 'missed: ' + '; '.join(missed)}"
        )
    for group, numbers in report["seed_spread"].items():
        shown = ", ".join(
            f"{key} {numbers[key]['min']:.3g}–{numbers[key]['max']:.3g}"
            for key in (
                "visionthink_accuracy",
                "visionthink_tokens_pct",
                "resize_ratio_coarse",
                "resize_ratio_fine",
            )
        )
        console.print(f"{group} over {len(groups[group])} seeds: {shown}")
    grpo = {folder.name: _grpo_curves(folder) for folder in args.grpo}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    _plot(named, grpo, args.out.with_suffix(".png"))
    console.print(f"-> {args.out}, {args.out.with_suffix('.png')}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
