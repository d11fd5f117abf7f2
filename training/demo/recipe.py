"""The demo recipe's stages: data, supervised warm start, GRPO (stage 2), shipping.

* :func:`prepare_data` writes the synthetic **train** split (JSONL + PNG), a validation split
  from another train-split seed, the same training rows as veRL parquet
  (:func:`training.data.convert`, for the GRPO stage) and the random-weight starting checkpoint
  (:func:`~visionthink_agent.backends.qwen.tiny.build_untrained_checkpoint` with
  :data:`~training.demo.config.DEMO_SIZES`, or a copy of ``init_from``). It is skipped when
  ``OUT/data/manifest.json`` already records the same settings.
* :func:`~training.demo.sft.run_sft` is stage 1.
* :func:`label_need` labels the first ``grpo_samples`` training samples by measured need with
  the stage-1 checkpoint (:mod:`training.demo.need_labels`), as the authors labelled their data,
  and writes them as ``OUT/data/need/grpo.parquet`` (the label in ``use_tool``, the category
  beside it).
* :func:`run_grpo` is stage 2 (``training/main_ppo.py --config-name visionthink_cpu`` from the
  stage-1 checkpoint on the labelled parquet).
* :func:`ship` copies a checkpoint's inference files into the package
  (``visionthink_agent/data/demo_model``, what ``--model demo`` loads).

Example:
    >>> demo_corpus()[:1]
    ('What colour is the large circle in the middle of the image?',)
"""

from __future__ import annotations

import dataclasses
import json
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from training.demo.config import DEMO_PRESET, DemoConfig
from training.demo.grpo_stage import GRPOSettings
from training.demo.trajectories import thoughts_corpus
from visionthink_agent.backends.demo import demo_checkpoint_dir
from visionthink_agent.synthetic import make_synthetic_samples

__all__ = [
    "SHIPPED_FILES",
    "DataSummary",
    "demo_corpus",
    "label_need",
    "prepare_data",
    "run_grpo",
    "ship",
]

SHIPPED_FILES = (
    "config.json",
    "generation_config.json",
    "model.safetensors",
    "chat_template.jinja",
    "processor_config.json",
    "tokenizer.json",
    "tokenizer_config.json",
)
"""The files of a checkpoint that inference needs (no optimiser state)."""


def demo_corpus(tool_mode: Literal["resize", "zoom"] = "resize") -> tuple[str, ...]:
    """Strings the demo tokenizer learns as few tokens: the questions, captions and thoughts.

    Example:
        >>> "What colour is the large circle in the middle of the image?" in demo_corpus()
        True
    """
    samples = make_synthetic_samples(96, preset=DEMO_PRESET, split="train")
    questions = sorted({s.question for s in samples})
    captions = sorted({s.caption for s in samples})
    return (*questions, *captions, *thoughts_corpus(tool_mode))


@dataclass(frozen=True)
class DataSummary:
    """What :func:`prepare_data` wrote (or found).

    Attributes:
        train_rows: training samples.
        val_rows: validation samples.
        parquet: the veRL parquet of the training samples.
        init: the random-weight starting checkpoint.
        reused: the data was already there with the same settings.
    """

    train_rows: int
    val_rows: int
    parquet: Path
    init: Path
    reused: bool


def _manifest(cfg: DemoConfig) -> dict[str, object]:
    """The settings the data and the starting checkpoint depend on, as plain JSON."""
    settings = {
        "seed": cfg.seed,
        "train_samples": cfg.train_samples,
        "val_samples": cfg.val_samples,
        "fine_every": cfg.fine_every,
        "tool_mode": cfg.tool_mode,
        "preset": DEMO_PRESET,
        "sizes": dataclasses.asdict(cfg.sizes),
        "init_from": None if cfg.init_from is None else str(cfg.init_from.resolve()),
    }
    manifest: dict[str, object] = json.loads(json.dumps(settings))  # tuples become lists
    return manifest


def prepare_data(cfg: DemoConfig, *, progress: bool = True) -> DataSummary:
    """Write the train / validation splits, the veRL parquet and the starting checkpoint.

    Args:
        cfg: the run's settings.
        progress: show the parquet conversion's progress bar.
    """
    from training.data import convert
    from visionthink_agent.backends.qwen.tiny import build_untrained_checkpoint
    from visionthink_agent.synthetic import write_synthetic_benchmark

    manifest_path = cfg.data_dir / "manifest.json"
    manifest = _manifest(cfg)
    reused = (
        manifest_path.is_file()
        and json.loads(manifest_path.read_text(encoding="utf-8")) == manifest
        and cfg.train_parquet.is_file()
        and (cfg.init_dir / "model.safetensors").is_file()
    )
    if not reused:
        for folder in (cfg.data_dir, cfg.init_dir):
            shutil.rmtree(folder, ignore_errors=True)
        common = {"preset": DEMO_PRESET, "split": "train", "formats": ("jsonl",)}
        write_synthetic_benchmark(
            cfg.train_jsonl.parent,
            n=cfg.train_samples,
            seed=cfg.seed,
            fine_every=cfg.fine_every,
            **common,  # type: ignore[arg-type]
        )
        write_synthetic_benchmark(
            cfg.val_jsonl.parent,
            n=cfg.val_samples,
            seed=cfg.seed + 1,
            fine_every=2,
            **common,  # type: ignore[arg-type]
        )
        convert(
            cfg.train_jsonl,
            cfg.train_parquet,
            force=True,
            progress=progress,
            tool_mode=cfg.tool_mode,
        )
        if cfg.init_from is not None:
            shutil.copytree(cfg.init_from, cfg.init_dir)
        else:
            sizes = dataclasses.replace(cfg.sizes, extra_corpus=demo_corpus(cfg.tool_mode))
            build_untrained_checkpoint(cfg.init_dir, seed=cfg.seed, sizes=sizes)
        manifest_path.write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
    return DataSummary(cfg.train_samples, cfg.val_samples, cfg.train_parquet, cfg.init_dir, reused)


def label_need(cfg: DemoConfig, *, progress: bool = True) -> dict[str, dict[str, Any]]:
    """Label the GRPO data by measured need with the stage-1 checkpoint.

    Writes ``OUT/data/need/``: ``measurements.jsonl`` (the counts per sample), ``grpo.jsonl``
    (the labelled samples; those solved at neither resolution are left out), ``grpo.parquet``
    (what :func:`run_grpo` trains on) and ``split.json`` (:func:`split_summary` per category).

    Returns:
        The split per category.

    Raises:
        FileNotFoundError: stage 1 has not produced its checkpoint yet.
    """
    from training.data import convert
    from training.demo.need_labels import label_benchmark, measure_need, write_measurements
    from training.demo.trajectories import synthetic_sample
    from visionthink_agent.benchmark import load_benchmark

    if not (cfg.sft_final / "config.json").is_file():
        raise FileNotFoundError(f"no stage-1 checkpoint at {cfg.sft_final}: run --stage sft first")
    rows = load_benchmark(cfg.train_jsonl, limit=cfg.grpo_samples)
    samples = [synthetic_sample(row) for row in rows]
    measured = measure_need(cfg.sft_final, samples, k=cfg.need_k, seed=cfg.seed, progress=progress)
    write_measurements(cfg.need_dir / "measurements.jsonl", measured)
    labelled = cfg.need_dir / "grpo.jsonl"
    split = label_benchmark(cfg.train_jsonl, labelled, measured, keep_unsolved=False)
    (cfg.need_dir / "split.json").write_text(json.dumps(split, indent=2) + "\n", encoding="utf-8")
    convert(labelled, cfg.grpo_parquet, force=True, progress=progress, tool_mode=cfg.tool_mode)
    return split


def run_grpo(cfg: DemoConfig, settings: GRPOSettings | None = None) -> Path:
    """Stage 2: GRPO from the stage-1 checkpoint (:mod:`training.demo.grpo_stage`).

    ``python training/main_ppo.py --config-name visionthink_cpu tool_mode=<cfg.tool_mode>`` with
    ``cfg.sft_final`` as the policy and the measured-need parquet (:func:`label_need`) as data;
    everything goes to ``cfg.out_dir / settings.name`` (e.g. ``grpo-released-seed0``).

    Returns:
        The final Hugging Face checkpoint (``<run>/final``), which :func:`ship` can copy.

    Raises:
        FileNotFoundError: stage 1 or the labelling has not produced its output yet.

    Example:
        >>> run_grpo(DemoConfig(out_dir=Path("no-such-run")))  # doctest: +ELLIPSIS
        Traceback (most recent call last):
        ...
        FileNotFoundError: no stage-1 checkpoint at no-such-run/sft/final: run --stage sft first
    """
    from training.demo.grpo_stage import run_grpo_stage

    if not (cfg.sft_final / "config.json").is_file():
        raise FileNotFoundError(f"no stage-1 checkpoint at {cfg.sft_final}: run --stage sft first")
    if not cfg.grpo_parquet.is_file():
        raise FileNotFoundError(f"no labelled GRPO data at {cfg.grpo_parquet}: run --stage label")
    settings = settings or GRPOSettings()
    # Absolute paths: veRL's workers do not run in this directory (a relative model path reads
    # as a hub id there).
    return run_grpo_stage(
        cfg.sft_final.resolve(),
        cfg.grpo_parquet.resolve(),
        cfg.grpo_parquet.resolve(),  # validation is off during the stage (trainer.test_freq=-1)
        cfg.out_dir.resolve() / settings.name,
        settings,
        extra_overrides=[f"tool_mode={cfg.tool_mode}"],  # the hydra group: tools, turn limits
    )


def ship(checkpoint: Path, target: Path | None = None) -> Path:
    """Copy a checkpoint's inference files into the package (what ``--model demo`` loads).

    Args:
        checkpoint: a Hugging Face checkpoint folder (e.g. ``OUT/sft/final``).
        target: where to copy (default: the package's ``data/demo_model``).

    Returns:
        The target folder.

    Raises:
        FileNotFoundError: ``checkpoint`` lacks one of :data:`SHIPPED_FILES`.

    Example:
        >>> ship(Path("no-such-checkpoint"))  # doctest: +ELLIPSIS
        Traceback (most recent call last):
        ...
        FileNotFoundError: no-such-checkpoint lacks config.json, ...
    """
    missing = [name for name in SHIPPED_FILES if not (checkpoint / name).is_file()]
    if missing:
        raise FileNotFoundError(f"{checkpoint} lacks {', '.join(missing)}")
    target = target or demo_checkpoint_dir()
    target.mkdir(parents=True, exist_ok=True)
    for name in SHIPPED_FILES:
        shutil.copyfile(checkpoint / name, target / name)
    return target
