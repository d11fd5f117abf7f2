"""Label samples by measured need, as the VisionThink authors built their data.

The authors kept a sample as *needs high resolution* only when the base model failed it at the
low resolution over several rollouts and solved it at full resolution; a sample the base model
solved from the low resolution was one that does not. This module does the same with the warm
start (the SFT checkpoint): ``k`` sampled answers per sample (temperature 1) from the first look
and ``k`` from the full image, each in the one-look format the checkpoint learned (the
authors' tool-free prompt, as ``visionthink eval --modes low,full`` asks), scored by the
normalised exact match of the closed-set answers.

:func:`need_label` turns the two counts into the label: the first look suffices when at least
half its answers are right; the full image is needed when fewer are, and at least half of the
full-resolution answers are right; a sample solved at neither resolution gets no label and is
left out of the GRPO data (it teaches nothing about *when* to ask).

:func:`label_benchmark` writes the benchmark JSONL again with the measured label as
``use_tool`` (the column :mod:`training.data` carries into the parquet and the reward, and that
``visionthink eval`` summaries group by) beside the generator's own ``needs_high_res``, plus the
counts, and returns the split per category.

``python -m training.demo.need_labels CHECKPOINT BENCH.jsonl OUT.jsonl`` labels any benchmark
JSONL the same way (the demo recipe's ``--stage label`` does it for the GRPO data; the held-out
eval splits are labelled with it so ``visionthink eval`` reports per measured need).

Example:
    >>> need_label(low_correct=7, full_correct=8, k=8), need_label(1, 8, 8), need_label(0, 2, 8)
    (False, True, None)
"""

from __future__ import annotations

import argparse
import json
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import torch
from tqdm.auto import tqdm

from training.demo.trajectories import TrajectoryFormat, render_trajectory
from visionthink_agent.judge.rules import normalize_answer
from visionthink_agent.parsing import extract_answer
from visionthink_agent.synthetic import SyntheticSample

__all__ = [
    "NeedMeasurement",
    "label_benchmark",
    "main",
    "measure_need",
    "need_label",
    "split_summary",
    "write_measurements",
]


@dataclass(frozen=True)
class NeedMeasurement:
    """What ``k`` sampled answers at each resolution showed about one sample.

    Attributes:
        sample_id: the benchmark id.
        category: the generator's category (``color``, ``shape``, ``digit``, ``serial`` ...).
        needs_high_res: the generator's own label (by design).
        k: answers sampled at each resolution.
        low_correct: right answers from the first look.
        full_correct: right answers from the full image.
        resize_calls: of ``k`` sampled first turns in the VisionThink format, those that call
            the tool (the warm start's coin: the recipe wants it independent of the category).
    """

    sample_id: str
    category: str
    needs_high_res: bool
    k: int
    low_correct: int
    full_correct: int
    resize_calls: int = 0

    @property
    def label(self) -> bool | None:
        """The measured label (:func:`need_label`)."""
        return need_label(self.low_correct, self.full_correct, self.k)


def need_label(low_correct: int, full_correct: int, k: int) -> bool | None:
    """The measured need: ``False`` (the first look suffices), ``True`` (needs the full image),
    ``None`` (solved at neither resolution).

    Example:
        >>> need_label(4, 0, 8), need_label(3, 4, 8), need_label(3, 3, 8)
        (False, True, None)
    """
    if 2 * low_correct >= k:
        return False
    if 2 * full_correct >= k:
        return True
    return None


def _prompt(sample: SyntheticSample, fmt: TrajectoryFormat, processor: Any) -> tuple[str, Any]:
    conversation = render_trajectory(sample, fmt, resize=False, guess=False)
    text = processor.apply_chat_template(
        conversation.messages[:-1], tokenize=False, add_generation_prompt=True
    )
    return text, conversation.images[0]


@torch.no_grad()
def _sample_answers(
    model: Any,
    processor: Any,
    samples: Sequence[SyntheticSample],
    fmt: TrajectoryFormat,
    k: int,
    max_new_tokens: int,
) -> list[list[str]]:
    """``k`` sampled first turns per sample (temperature 1), decoded."""
    prompts = [_prompt(s, fmt, processor) for s in samples]
    processor.tokenizer.padding_side = "left"
    inputs = processor(
        text=[t for t, _ in prompts],
        images=[im for _, im in prompts],
        padding=True,
        return_tensors="pt",
    )
    out = model.generate(
        **inputs,
        do_sample=True,
        temperature=1.0,
        top_p=1.0,
        top_k=0,
        num_return_sequences=k,
        max_new_tokens=max_new_tokens,
    )
    texts = processor.batch_decode(out[:, inputs["input_ids"].shape[1] :], skip_special_tokens=True)
    return [texts[i * k : (i + 1) * k] for i in range(len(samples))]


def _correct(sample: SyntheticSample, answers: Sequence[str]) -> int:
    truth = normalize_answer(sample.answer)
    return sum(normalize_answer(extract_answer(a)) == truth for a in answers)


def measure_need(
    checkpoint: Path,
    samples: Sequence[SyntheticSample],
    *,
    k: int = 8,
    batch_size: int = 16,
    seed: int = 0,
    max_new_tokens: int = 48,
    progress: bool = True,
) -> list[NeedMeasurement]:
    """Sample ``k`` answers per sample at each resolution from ``checkpoint`` and count the
    right ones.

    Args:
        checkpoint: a Hugging Face checkpoint folder that learned the one-look formats (the
            demo recipe's SFT checkpoint).
        samples: the samples to label.
        k: answers sampled at each resolution (temperature 1).
        batch_size: samples per ``generate`` call (each expands to ``k`` sequences).
        seed: torch's seed for the sampling.
        max_new_tokens: the answer's token budget.
        progress: show a progress bar.
    """
    from transformers import AutoModelForImageTextToText, AutoProcessor

    torch.manual_seed(seed)
    processor = AutoProcessor.from_pretrained(checkpoint)
    model = AutoModelForImageTextToText.from_pretrained(checkpoint, dtype=torch.float32).eval()
    results: list[NeedMeasurement] = []
    batches = [samples[i : i + batch_size] for i in range(0, len(samples), batch_size)]
    for batch in tqdm(batches, desc="measuring need", unit="batch", disable=not progress):
        low = _sample_answers(model, processor, batch, "low", k, max_new_tokens)
        full = _sample_answers(model, processor, batch, "full", k, max_new_tokens)
        first = _sample_answers(model, processor, batch, "visionthink", k, max_new_tokens)
        results += [
            NeedMeasurement(
                s.id,
                s.category,
                s.needs_high_res,
                k,
                _correct(s, lo),
                _correct(s, fu),
                sum("<tool_call>" in turn for turn in vt),
            )
            for s, lo, fu, vt in zip(batch, low, full, first, strict=True)
        ]
    return results


def split_summary(measurements: Sequence[NeedMeasurement]) -> dict[str, dict[str, Any]]:
    """Per category (and ``all``): samples, measured labels, mean accuracy per resolution and
    the share of sampled VisionThink first turns that call the tool.

    Example:
        >>> m = [NeedMeasurement("1", "color", False, 4, 4, 4),
        ...      NeedMeasurement("2", "serial", True, 4, 0, 4)]
        >>> split_summary(m)["serial"]["needs_full"], split_summary(m)["all"]["first_look"]
        (1, 1)
    """
    groups: dict[str, list[NeedMeasurement]] = defaultdict(list)
    for m in measurements:
        groups[m.category].append(m)
        groups["all"].append(m)
    summary = {}
    for name, rows in sorted(groups.items()):
        labels = Counter(m.label for m in rows)
        summary[name] = {
            "samples": len(rows),
            "first_look": labels[False],
            "needs_full": labels[True],
            "unsolved": labels[None],
            "low_accuracy": sum(m.low_correct for m in rows) / sum(m.k for m in rows),
            "full_accuracy": sum(m.full_correct for m in rows) / sum(m.k for m in rows),
            "resize_rate": sum(m.resize_calls for m in rows) / sum(m.k for m in rows),
            "design_needs_full": sum(m.needs_high_res for m in rows),
        }
    return summary


def label_benchmark(
    source: Path, target: Path, measurements: Sequence[NeedMeasurement], *, keep_unsolved: bool
) -> dict[str, dict[str, Any]]:
    """Write ``source`` (a benchmark JSONL) to ``target`` with the measured labels.

    Each measured row gains ``use_tool`` (the measured label), ``low_correct``,
    ``full_correct`` and ``need_k``; rows without a measurement are left out; image paths are
    made absolute so ``target`` may live elsewhere.

    Args:
        source: the JSONL written by ``write_synthetic_benchmark``.
        target: where to write.
        measurements: the measured rows of ``source`` (matched by id).
        keep_unsolved: keep rows solved at neither resolution (``use_tool`` null), as the eval
            split does; the GRPO data leaves them out.

    Returns:
        :func:`split_summary` of the measurements.
    """
    by_id = {m.sample_id: m for m in measurements}
    rows = []
    for line in source.read_text(encoding="utf-8").splitlines():
        if not line.strip():
            continue
        row = json.loads(line)
        measured = by_id.get(str(row["id"]))
        if measured is None or (measured.label is None and not keep_unsolved):
            continue
        image = Path(row["image"])
        row["image"] = str(image if image.is_absolute() else (source.parent / image).resolve())
        row.update(
            use_tool=measured.label,
            low_correct=measured.low_correct,
            full_correct=measured.full_correct,
            need_k=measured.k,
        )
        rows.append(json.dumps(row))
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text("\n".join(rows) + "\n", encoding="utf-8")
    return split_summary(measurements)


def write_measurements(path: Path, measurements: Sequence[NeedMeasurement]) -> None:
    """Save the raw counts (one JSON object a line, with the label)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(
        "".join(json.dumps({**asdict(m), "label": m.label}) + "\n" for m in measurements),
        encoding="utf-8",
    )


def main(argv: Sequence[str] | None = None) -> int:
    """Label a benchmark JSONL by measured need; prints the split per category.

    Example:
        >>> main(["no-such-checkpoint", "b.jsonl", "o.jsonl"])
        error: no checkpoint at no-such-checkpoint
        2
    """
    parser = argparse.ArgumentParser(
        prog="python -m training.demo.need_labels", description=(__doc__ or "").split("\n")[0]
    )
    parser.add_argument("checkpoint", type=Path, help="the reference model (the SFT checkpoint)")
    parser.add_argument("source", type=Path, help="a synthetic benchmark JSONL")
    parser.add_argument("target", type=Path, help="the labelled JSONL to write")
    parser.add_argument("--k", type=int, default=8, help="answers sampled per resolution")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--drop-unsolved", action="store_true", help="leave out samples solved at neither"
    )
    args = parser.parse_args(argv)
    if not (args.checkpoint / "config.json").is_file():
        print(f"error: no checkpoint at {args.checkpoint}")
        return 2
    from training.demo.trajectories import synthetic_sample
    from visionthink_agent.benchmark import load_benchmark

    samples = [synthetic_sample(row) for row in load_benchmark(args.source)]
    measured = measure_need(args.checkpoint, samples, k=args.k, seed=args.seed)
    write_measurements(args.target.with_suffix(".counts.jsonl"), measured)
    split = label_benchmark(
        args.source, args.target, measured, keep_unsolved=not args.drop_unsolved
    )
    for name, row in split.items():
        print(
            f"{name}: {row['samples']} samples, first look {row['first_look']}, needs full "
            f"{row['needs_full']}, unsolved {row['unsolved']} (low acc {row['low_accuracy']:.2f}, "
            f"full acc {row['full_accuracy']:.2f}, resizes {row['resize_rate']:.2f})"
        )
    print(f"-> {args.target}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
