"""Stage 1: the supervised warm start, with transformers' ``Trainer``.

The trainer sees batches of rendered trajectories (:mod:`training.demo.trajectories`) tokenised
by the checkpoint's own processor and chat template. The loss covers the assistant tokens only
(each assistant turn and its ``<|im_end|>``); the system prompt, the user turns, the tool turn
and every image token are context. The batches and their shared-prefix loss are
:mod:`training.demo.sft_batches`, the teacher-forced validation :mod:`training.demo.sft_validation`
(both re-exported here).

Example:
    >>> split_turns([-100, 5, 6, -100, -100, 7, -100])
    [(1, 3), (5, 6)]
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from tqdm.auto import tqdm
from transformers import (
    AutoProcessor,
    Qwen2_5_VLForConditionalGeneration,
    Trainer,
    TrainerCallback,
    TrainingArguments,
)

from training.demo.config import DemoConfig
from training.demo.sft_batches import (
    IGNORE,
    ConversationBatches,
    conversation_loss,
    encode_batch,
    plan_batches,
)
from training.demo.sft_validation import split_turns, validate
from visionthink_agent.backends.qwen.grouped_window_attention import enable_grouped_window_attention
from visionthink_agent.benchmark import load_benchmark

__all__ = [
    "IGNORE",
    "METRICS_FILE",
    "ConversationBatches",
    "SFTResult",
    "conversation_loss",
    "encode_batch",
    "plan_batches",
    "run_sft",
    "split_turns",
    "validate",
]

METRICS_FILE = "metrics.jsonl"
"""Per-step metrics of the stage, one JSON object a line (``kind`` = ``train`` or ``val``)."""


class _DemoTrainer(Trainer):
    """``Trainer`` with the shared-prefix loss; batches come pre-built from the dataset."""

    def compute_loss(
        self,
        model: Any,
        inputs: dict[str, Any],
        return_outputs: bool = False,
        num_items_in_batch: Any = None,
    ) -> Any:
        del num_items_in_batch  # each item is a whole batch: the mean is already per token
        loss, logits, _ = conversation_loss(model, inputs)
        return (loss, {"logits": logits}) if return_outputs else loss


def _unwrap(items: list[dict[str, torch.Tensor]]) -> dict[str, torch.Tensor]:
    (batch,) = items
    return batch


class _MetricsLog(TrainerCallback):
    """Writes train logs and periodic validation to ``metrics.jsonl`` (resume-safe)."""

    def __init__(self, path: Path, check: Callable[[Any], dict[str, float]], every: int) -> None:
        self.path = path
        self.check = check
        self.every = every
        self.last_checked = -1

    def _write(self, row: dict[str, Any]) -> None:
        with self.path.open("a", encoding="utf-8") as handle:
            handle.write(json.dumps(row) + "\n")

    def on_train_begin(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
        # A resumed run drops what the interrupted run logged after its last checkpoint.
        if self.path.exists():
            rows = [json.loads(line) for line in self.path.read_text().splitlines() if line]
            kept = [r for r in rows if r["step"] <= state.global_step]
            self.path.write_text("".join(json.dumps(r) + "\n" for r in kept))

    def on_log(
        self, args: Any, state: Any, control: Any, logs: dict[str, Any] | None = None, **kw: Any
    ) -> None:
        if logs and "loss" in logs:
            keep = ("loss", "grad_norm", "learning_rate")
            row = {k: logs[k] for k in keep if k in logs}
            self._write({"kind": "train", "step": state.global_step, "epoch": state.epoch, **row})

    def _check(self, state: Any, model: Any) -> None:
        metrics = self.check(model)
        self.last_checked = state.global_step
        self._write({"kind": "val", "step": state.global_step, "epoch": state.epoch, **metrics})
        shown = " ".join(f"{k}={v:.3f}" for k, v in metrics.items())
        tqdm.write(f"[val step {state.global_step}] {shown}")

    def on_step_end(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
        if state.global_step % self.every == 0:
            self._check(state, kwargs["model"])

    def on_train_end(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
        if self.last_checked != state.global_step:
            self._check(state, kwargs["model"])


@dataclass(frozen=True)
class SFTResult:
    """What :func:`run_sft` produced.

    Attributes:
        checkpoint: the final checkpoint (model, tokenizer, processor).
        metrics: the final validation metrics.
        steps: optimiser steps taken in total (resumed ones included).
        seconds: wall time of this call.
    """

    checkpoint: Path
    metrics: dict[str, float]
    steps: int
    seconds: float


def _last_checkpoint(folder: Path) -> Path | None:
    found = [p for p in folder.glob("checkpoint-*") if p.name.split("-")[-1].isdigit()]
    return max(found, key=lambda p: int(p.name.split("-")[-1]), default=None)


def run_sft(cfg: DemoConfig, *, resume: bool = True) -> SFTResult:
    """Train the initial checkpoint on the rendered train split; resumable.

    Reads ``cfg.train_jsonl`` / ``cfg.val_jsonl`` and ``cfg.init_dir`` (written by the data
    stage), writes ``checkpoint-N`` folders, ``metrics.jsonl``, ``learning_curve.png`` and the
    final checkpoint ``cfg.sft_final``.
    """
    import time

    from training.demo.curves import plot_learning_curves

    start = time.perf_counter()
    torch.set_num_threads(cfg.threads)
    torch.manual_seed(cfg.seed)
    processor = AutoProcessor.from_pretrained(cfg.init_dir)
    model = Qwen2_5_VLForConditionalGeneration.from_pretrained(cfg.init_dir, dtype=torch.float32)
    enable_grouped_window_attention(model)  # same maths, a few SDPA calls instead of one a window
    train = ConversationBatches(
        plan_batches(
            load_benchmark(cfg.train_jsonl),
            batch_size=cfg.batch_size,
            format_mix=cfg.format_mix,
            seed=cfg.seed,
            resize_rate=cfg.resize_rate,
            guess=True,
        ),
        processor,
        cfg.tool_mode,
        cfg.name_question,
    )
    val = ConversationBatches(
        plan_batches(
            load_benchmark(cfg.val_jsonl),
            batch_size=cfg.batch_size,
            format_mix=(0.5, 0.25, 0.25),
            seed=cfg.seed + 1,
            resize_rate=cfg.resize_rate,
        ),
        processor,
        cfg.tool_mode,
        cfg.name_question,
    )
    steps = math.ceil(len(train) * cfg.epochs)
    args = TrainingArguments(
        output_dir=str(cfg.sft_dir),
        per_device_train_batch_size=1,
        max_steps=steps,
        learning_rate=cfg.learning_rate,
        lr_scheduler_type="cosine",
        warmup_steps=round(cfg.warmup_ratio * steps),
        weight_decay=cfg.weight_decay,
        max_grad_norm=1.0,
        logging_steps=10,
        save_strategy="steps",
        save_steps=cfg.save_every,
        save_total_limit=2,
        seed=cfg.seed,
        data_seed=cfg.seed,
        report_to=[],
        use_cpu=True,
        dataloader_num_workers=0,
        remove_unused_columns=False,
    )
    cfg.sft_dir.mkdir(parents=True, exist_ok=True)
    metrics_path = cfg.sft_dir / METRICS_FILE
    log = _MetricsLog(metrics_path, lambda m: validate(m, val), cfg.eval_every)
    trainer = _DemoTrainer(
        model=model,
        args=args,
        train_dataset=train,
        data_collator=_unwrap,
        processing_class=processor,  # checkpoints are complete (loadable for a look mid-run)
        callbacks=[log],
    )
    checkpoint = _last_checkpoint(cfg.sft_dir) if resume else None
    if not resume:
        metrics_path.unlink(missing_ok=True)
    trainer.train(resume_from_checkpoint=str(checkpoint) if checkpoint else None)
    trainer.save_model(str(cfg.sft_final))
    processor.save_pretrained(cfg.sft_final)
    plot_learning_curves(metrics_path, cfg.sft_dir / "learning_curve.png")
    rows = [json.loads(line) for line in metrics_path.read_text().splitlines() if line]
    final = next(r for r in reversed(rows) if r["kind"] == "val")
    metrics = {k: v for k, v in final.items() if k not in ("kind", "step", "epoch")}
    return SFTResult(cfg.sft_final, metrics, trainer.state.global_step, time.perf_counter() - start)
