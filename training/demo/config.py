"""The demo recipe's settings: model sizes, data sizes, optimiser, folders.

Everything that decides the trained model is here, with the values the shipped checkpoint was
trained with; ``python -m training.demo --help`` exposes the ones worth changing.

Example:
    >>> cfg = DemoConfig(out_dir=Path("runs/demo"))
    >>> cfg.sft_dir, cfg.train_parquet
    (PosixPath('runs/demo/sft'), PosixPath('runs/demo/data/train.parquet'))
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Final, Literal

from visionthink_agent.backends.qwen.tiny import ModelSizes

__all__ = ["DEMO_PRESET", "DEMO_SIZES", "DemoConfig"]

DEMO_PRESET: Final[str] = "demo"
"""The synthetic benchmark preset the demo model is trained and evaluated on."""

DEMO_SIZES: Final[ModelSizes] = ModelSizes(
    vision_depth=4,
    vision_hidden=128,
    vision_intermediate=256,
    vision_heads=4,
    vision_full_attention=(1, 3),
    text_hidden=192,
    text_intermediate=512,
    text_layers=4,
    text_heads=6,
    text_kv_heads=2,
    mrope_section=(4, 6, 6),
)
"""About 3 M parameters (12 MB in float32): a 4-block vision tower, a 4-layer language model."""


@dataclass(frozen=True)
class DemoConfig:
    """Settings of one run of the recipe.

    Attributes:
        out_dir: the run folder (data, checkpoints, metrics, plots).
        seed: seed of the weights, the data and the shuffling.
        train_samples: synthetic train-split samples (seed ``seed``).
        val_samples: validation samples, from the train split with seed ``seed + 1`` (a stream
            disjoint from both the training samples and the eval split).
        fine_every: one fine-detail question every this many training samples (the eval
            split has one in four; training sees more, they are the hard part).
        format_mix: shares of the ``visionthink`` / ``full`` / ``low`` trajectory formats.
        resize_rate: share of the warm start's VisionThink conversations that resize, drawn
            per sample for coarse and fine questions alike. At 0.5 the warm start teaches *how*
            to answer and to resize but not *when*; the GRPO stage learns when resizing pays.
        tool_mode: the high-resolution request the model learns: ``resize`` (the released
            protocol, the shipped model) or ``zoom`` (``image_zoom_in_tool`` on the label).
        epochs: passes over the training samples.
        batch_size: conversations per optimiser step (one format per batch).
        learning_rate: peak AdamW learning rate (linear warm-up, cosine decay).
        warmup_ratio: share of the steps spent warming up.
        weight_decay: AdamW weight decay.
        need_k: answers sampled at each resolution per sample when the SFT checkpoint labels
            the GRPO data by measured need (:mod:`training.demo.need_labels`).
        grpo_samples: training samples (the first of the train split) labelled for GRPO.
        eval_every: optimiser steps between validation passes.
        save_every: optimiser steps between resumable checkpoints.
        threads: torch CPU threads.
        name_question: the first-look thought names what the question asks for before the
            resize-or-answer choice (:data:`training.demo.trajectories.ASKED`): the choice is
            then made where the model's own words say what is asked; the choice itself stays a
            coin in the warm start.
        init_from: start the supervised stage from this checkpoint's weights (and tokenizer)
            instead of random weights: a second round of the warm start with a fresh learning-
            rate schedule, for a run whose first round did not learn something (the shipped
            model's first round never learned to read the small print).
    """

    out_dir: Path
    seed: int = 0
    train_samples: int = 8000
    val_samples: int = 96
    fine_every: int = 2
    format_mix: tuple[float, float, float] = (0.55, 0.3, 0.15)
    resize_rate: float = 0.5
    tool_mode: Literal["resize", "zoom"] = "resize"
    epochs: float = 3.0
    batch_size: int = 16
    learning_rate: float = 1e-3
    warmup_ratio: float = 0.05
    weight_decay: float = 0.01
    need_k: int = 8
    grpo_samples: int = 512
    eval_every: int = 50
    save_every: int = 50
    threads: int = 2
    name_question: bool = True
    init_from: Path | None = None
    sizes: ModelSizes = field(default=DEMO_SIZES)

    @property
    def data_dir(self) -> Path:
        """``OUT/data``: the train and validation splits (JSONL + PNG) and the veRL parquet."""
        return self.out_dir / "data"

    @property
    def train_jsonl(self) -> Path:
        """The training split as the benchmark JSONL."""
        return self.data_dir / "train" / "synthetic.jsonl"

    @property
    def val_jsonl(self) -> Path:
        """The validation split as the benchmark JSONL."""
        return self.data_dir / "val" / "synthetic.jsonl"

    @property
    def train_parquet(self) -> Path:
        """The training split in veRL's parquet layout (the GRPO stage reads it)."""
        return self.data_dir / "train.parquet"

    @property
    def need_dir(self) -> Path:
        """``OUT/data/need``: the measured-need counts, split and the labelled GRPO data."""
        return self.data_dir / "need"

    @property
    def grpo_parquet(self) -> Path:
        """The GRPO stage's data: the labelled training samples in veRL's parquet layout."""
        return self.need_dir / "grpo.parquet"

    @property
    def init_dir(self) -> Path:
        """The random-weight starting checkpoint."""
        return self.out_dir / "init"

    @property
    def sft_dir(self) -> Path:
        """The supervised stage's folder (``checkpoint-N`` for resuming, ``final``)."""
        return self.out_dir / "sft"

    @property
    def sft_final(self) -> Path:
        """The supervised stage's final checkpoint (the GRPO stage starts from it)."""
        return self.sft_dir / "final"
