"""Visual tokens per fine question: resize (VisionThink) against zoom, in one run, as a ratio.

The synthetic benchmark's fine questions (small print on one compact label, whose box each
sample records as ``target_box``) are answered by the ideal policy,
:class:`~visionthink_agent.evaluation.scripted.ScriptedVisionModel`, driven through the real
agent graph by ``run_evaluation`` in two modes on the same samples:

* **resize** (``visionthink`` mode, ``tool_mode="resize"``, the baseline): the model asks for
  the whole image at full resolution;
* **zoom** (``tool_mode="zoom"``): the model asks for the label's region, its box written in
  the family's convention (first-look pixels for Qwen2.5-VL, 0–1000 for Qwen3-VL), cropped from
  the original.

The token counts are the agent's own accounting (each record's ``visual_tokens``), for each
model family's processor geometry (Qwen2.5-VL: 28 px per token side; Qwen3-VL: 32 px and a
65,536-pixel minimum per image), and the same numbers are computed directly from
``SourceImage.token_account`` as a cross-check (``agent_equals_direct``). The ratio is
zoom / resize of the mean visual tokens per fine question (first look + high-resolution views).

Recorded (``--n 48``, seed 0; every fine label has the same size, so each row is one number):
zoom/resize = 0.210 (standard 896×672, Qwen2.5-VL: 202 vs 960 tokens), 0.295 (standard,
Qwen3-VL: 215 vs 728), 0.300 (demo 224×224, Qwen2.5-VL: 24 vs 80) and 1.062 (demo, Qwen3-VL:
136 vs 128). The last is not a saving: Qwen3-VL's processor lifts every image to at least
65,536 pixels (64 tokens), so on a 224×224 image the first look costs as much as the full image
and a 112×56 crop (72 tokens) more than it; zooming pays off on images well above that floor.

Run: ``.venv/bin/python benchmarks/bench_zoom_tokens.py [--n 48] [--presets standard,demo]``;
writes ``benchmarks/results/zoom_tokens.json`` and ``zoom_tokens.png`` (``--output`` elsewhere).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import platform
import statistics
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from visionthink_agent.backends.families import FAMILIES, FAMILY_METADATA_KEY, ModelFamily
from visionthink_agent.evaluation import EvalSample, load_benchmark, run_evaluation
from visionthink_agent.evaluation.records import EvalMode, SampleRecord
from visionthink_agent.evaluation.scripted import ScriptedVisionModel
from visionthink_agent.images import load_image, model_bbox
from visionthink_agent.judge import ExactMatchJudge
from visionthink_agent.synthetic import PRESETS, write_synthetic_benchmark

RESULTS = Path(__file__).resolve().parent / "results" / "zoom_tokens.json"
MODES: dict[str, EvalMode] = {"resize": "visionthink", "zoom": "zoom"}
"""Benchmark column → evaluation mode."""


@dataclass(frozen=True)
class Tokens:
    """Visual tokens of one question in one mode."""

    first_look: int
    high_res: int

    @property
    def used(self) -> int:
        return self.first_look + self.high_res


def direct_tokens(sample: EvalSample, family: ModelFamily) -> dict[str, Tokens]:
    """The cross-check: both modes' tokens from ``SourceImage.token_account``, no agent."""
    source = load_image(sample.image)
    target = sample.metadata["target_box"]
    bbox = model_bbox(
        (target[0], target[1], target[2], target[3]),
        original_size=source.size,
        first_look_size=source.first_look_size,
        boxes=family.boxes,
    )
    box = source.zoom_box(bbox, boxes=family.boxes)
    accounts = {
        "resize": source.token_account(resized=True, geometry=family.geometry),
        "zoom": source.token_account(resized=False, zooms=[box], geometry=family.geometry),
    }
    return {k: Tokens(a.first_look, a.high_res) for k, a in accounts.items()}


def agent_records(
    samples: Sequence[EvalSample], family: ModelFamily, out_dir: Path
) -> dict[str, list[SampleRecord]]:
    """Both modes through the agent graph with the scripted model of ``family``."""
    model = ScriptedVisionModel.from_samples(samples, metadata={FAMILY_METADATA_KEY: family.name})
    run = asyncio.run(
        run_evaluation(
            samples,
            model=model,
            judge=ExactMatchJudge(strict=True),
            out_dir=out_dir,
            modes=list(MODES.values()),
            progress=False,
            resume=False,
        )
    )
    return {k: [r for r in run.records if r.mode == mode] for k, mode in MODES.items()}


def _mean(values: Sequence[float]) -> float:
    return round(statistics.fmean(values), 3) if values else 0.0


def measure(
    preset: str, family: ModelFamily, samples: list[EvalSample], work: Path
) -> dict[str, Any]:
    """One row: a preset's fine questions on one family's geometry, both modes."""
    records = agent_records(samples, family, work / f"{preset}-{family.name}")
    fine_ids = {s.id for s in samples if s.metadata.get("needs_high_res")}
    direct = {s.id: direct_tokens(s, family) for s in samples if s.id in fine_ids}
    row: dict[str, Any] = {
        "preset": preset,
        "family": family.label,
        "boxes": family.boxes,
        "image_size": list(load_image(samples[0].image).size),
        "fine_questions": len(fine_ids),
        "questions": len(samples),
    }
    matches = True
    for key, mode_records in records.items():
        fine = [r for r in mode_records if r.sample_id in fine_ids]
        agent = [Tokens(r.visual_tokens["first_look"], r.visual_tokens["high_res"]) for r in fine]
        matches &= agent == [direct[r.sample_id][key] for r in fine]
        matches &= all(r.error is None for r in mode_records)
        row[key] = {
            "first_look": _mean([t.first_look for t in agent]),
            "high_res": _mean([t.high_res for t in agent]),
            "used": _mean([t.used for t in agent]),
            "full_res_baseline": _mean([r.visual_tokens["full_res_baseline"] for r in fine]),
            "accuracy_fine": _mean([float(r.correct) for r in fine]),
            "resized": sum(r.resized for r in fine),
            "zooms": sum(r.zooms for r in fine),
            "used_all_questions": _mean([r.visual_tokens["used"] for r in mode_records]),
            "accuracy_all": _mean([float(r.correct) for r in mode_records]),
        }
    resize, zoom = row["resize"], row["zoom"]
    row["ratio_zoom_over_resize"] = round(zoom["used"] / resize["used"], 4)
    row["ratio_high_res_only"] = round(zoom["high_res"] / resize["high_res"], 4)
    row["ratio_all_questions"] = round(zoom["used_all_questions"] / resize["used_all_questions"], 4)
    row["agent_equals_direct"] = matches
    return row


def plot(rows: Sequence[dict[str, Any]], path: Path) -> None:
    """Stacked bars, one panel per preset: first look + high-resolution tokens per fine question,
    resize vs zoom, per model family, with the zoom/resize ratio above each pair."""
    import matplotlib

    matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt

    presets = list(dict.fromkeys(r["preset"] for r in rows))
    fig, axes = plt.subplots(1, len(presets), figsize=(4.2 * len(presets), 4.6), dpi=120)
    axes = [axes] if len(presets) == 1 else list(axes)
    colours = {"resize": "#2ca02c", "zoom": "#d62728"}
    width = 0.38
    for ax, preset in zip(axes, presets, strict=True):
        group = [r for r in rows if r["preset"] == preset]
        for i, row in enumerate(group):
            for j, key in enumerate(("resize", "zoom")):
                x = i + (j - 0.5) * width
                first, high = row[key]["first_look"], row[key]["high_res"]
                ax.bar(x, first, width, color="#bbbbbb", edgecolor="black", linewidth=0.5,
                       label="first look" if i == j == 0 else None)  # fmt: skip
                ax.bar(
                    x, high, width, bottom=first, color=colours[key], edgecolor="black",
                    linewidth=0.5, label=f"{key} (high-res)" if i == 0 else None,
                )  # fmt: skip
                ax.annotate(f"{first + high:.0f}", (x, first + high), xytext=(0, 2),
                            textcoords="offset points", ha="center", fontsize=7)  # fmt: skip
            top = max(row["resize"]["used"], row["zoom"]["used"])
            ax.annotate(
                f"zoom/resize\n{row['ratio_zoom_over_resize']:.2f}", (i, top), xytext=(0, 14),
                textcoords="offset points", ha="center", fontsize=8, fontweight="bold",
            )  # fmt: skip
        ax.set_xticks(range(len(group)))
        ax.set_xticklabels([r["family"] for r in group], fontsize=8)
        size = "x".join(str(v) for v in group[0]["image_size"])
        ax.set_title(f"{preset} preset ({size}, {group[0]['fine_questions']} fine q)", fontsize=9)
        ax.set_ylim(0, 1.3 * max(max(r["resize"]["used"], r["zoom"]["used"]) for r in group))
        ax.grid(True, axis="y", alpha=0.3)
    axes[0].set_ylabel("visual tokens per fine question")
    axes[0].legend(fontsize=7, frameon=False, loc="upper right")
    fig.suptitle("Resize vs zoom on the synthetic benchmark's fine questions", fontsize=10)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


def main(argv: Sequence[str] | None = None) -> None:
    """Measure, print the table, write the JSON and the plot."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=48, help="samples per preset (fine and coarse)")
    parser.add_argument("--seed", type=int, default=0, help="synthetic benchmark seed")
    parser.add_argument(
        "--presets", default="standard,demo", help=f"comma list of {sorted(PRESETS)}"
    )
    parser.add_argument(
        "--output", type=Path, default=RESULTS, help="the JSON (the plot goes beside it, .png)"
    )
    args = parser.parse_args(argv)
    presets = [p for p in args.presets.split(",") if p]
    rows: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        for preset in presets:
            bench = write_synthetic_benchmark(
                work / preset, n=args.n, seed=args.seed, preset=preset, formats=("jsonl",)
            )
            assert bench.jsonl is not None
            samples = load_benchmark(bench.jsonl)
            rows.extend(measure(preset, family, samples, work) for family in FAMILIES)
    table = Table(title="Visual tokens per fine question: resize vs zoom (scripted ideal policy)")
    headers = ("preset", "family", "fine q", "resize: look+high", "zoom: look+high")
    for header in (*headers, "zoom/resize", "high-res only", "all q", "agent = direct"):
        table.add_column(header, justify="left" if header in ("preset", "family") else "right")
    for row in rows:
        resize, zoom = row["resize"], row["zoom"]
        table.add_row(
            row["preset"],
            row["family"],
            str(row["fine_questions"]),
            f"{resize['first_look']:.0f}+{resize['high_res']:.1f} = {resize['used']:.1f}",
            f"{zoom['first_look']:.0f}+{zoom['high_res']:.1f} = {zoom['used']:.1f}",
            f"{row['ratio_zoom_over_resize']:.3f}",
            f"{row['ratio_high_res_only']:.3f}",
            f"{row['ratio_all_questions']:.3f}",
            "yes" if row["agent_equals_direct"] else "NO",
        )
    console = Console(width=140)
    console.print(table)
    report = {
        "benchmark": "bench_zoom_tokens",
        "samples_per_preset": args.n,
        "seed": args.seed,
        "model": "ScriptedVisionModel (ideal policy: zooms on target_box / resizes on fine "
        "questions, answers coarse ones from the first look)",
        "python": platform.python_version(),
        "ratio": "zoom / resize of the mean visual tokens per fine question (first look + "
        "high-resolution views); high-res only: the requested views alone; all q: every "
        "question, coarse ones answered at the first look included",
        "rows": rows,
    }
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(report, indent=2) + "\n")
    picture = args.output.with_suffix(".png")
    plot(rows, picture)
    ratios = ", ".join(
        f"{r['preset']}/{r['family']} {r['ratio_zoom_over_resize']:.3f}" for r in rows
    )
    console.print(f"zoom/resize visual tokens per fine question: {ratios}; saved {args.output}")
    if not all(r["agent_equals_direct"] for r in rows):
        raise SystemExit("the agent's token accounts differ from SourceImage.token_account")


if __name__ == "__main__":
    main()
