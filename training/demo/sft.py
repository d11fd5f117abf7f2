"""Stage 1: the supervised warm start, with transformers' ``Trainer``.

The trainer sees batches of rendered trajectories (:mod:`training.demo.trajectories`) tokenised
by the checkpoint's own processor and chat template. The loss covers the assistant tokens only
(each assistant turn and its ``<|im_end|>``); the system prompt, the user turns, the tool turn
and every image token are context.

**Shared prefix.** Every VisionThink conversation starts with the same ~380 tokens (system
prompt with the tool declaration, then the user template up to the image), and each batch holds
one prompt family, so the batch's common text prefix is run once and its key/value cache is
broadcast to the batch. The loss and the gradients are those of running every row in full
(``tests/demo`` checks the equality); a step costs about a third.

**Validation** is teacher-forced: a turn counts as right when the greedy (argmax) token equals
the target at every position of the turn, i.e. exactly when greedy decoding would write that
turn. It gives, per format and per coarse / fine question, whether the model would answer
directly, call the resize tool, and read the answer from the full image.

Example:
    >>> split_turns([-100, 5, 6, -100, -100, 7, -100])
    [(1, 3), (5, 6)]
"""

from __future__ import annotations

import json
import math
import random
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import torch
from torch.nn import functional
from tqdm.auto import tqdm
from transformers import (
    AutoProcessor,
    Qwen2_5_VLForConditionalGeneration,
    Trainer,
    TrainerCallback,
    TrainingArguments,
)

from training.demo.config import DemoConfig
from training.demo.trajectories import (
    FORMATS,
    Trajectory,
    TrajectoryFormat,
    render_trajectory,
    synthetic_sample,
)
from visionthink_agent.backends.qwen.grouped_window_attention import enable_grouped_window_attention
from visionthink_agent.benchmark import EvalSample, load_benchmark

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

IGNORE = -100
"""Label of a token outside the loss."""
METRICS_FILE = "metrics.jsonl"
"""Per-step metrics of the stage, one JSON object a line (``kind`` = ``train`` or ``val``)."""


@dataclass(frozen=True)
class _Planned:
    sample: EvalSample
    format: TrajectoryFormat
    resize: bool
    guess: bool


def plan_batches(
    samples: Sequence[EvalSample],
    *,
    batch_size: int,
    format_mix: Sequence[float],
    seed: int,
    resize_rate: float | None = None,
    guess: bool = False,
) -> list[list[_Planned]]:
    """Give each sample a trajectory format and group them into batches of one shape.

    Args:
        samples: the split.
        batch_size: conversations a batch.
        format_mix: weights of the ``visionthink`` / ``full`` / ``low`` formats.
        seed: seed of the draws and the shuffling (the plan is deterministic).
        resize_rate: share of VisionThink conversations that resize, drawn per sample for
            coarse and fine questions alike; ``None`` resizes exactly the fine ones.
        guess: fine questions answered from the first look get a guess as their target
            (:func:`training.demo.trajectories.guessed`): the training plan; validation keeps
            the true answers, so it measures what the model reads.

    A batch holds one format and, for VisionThink, either resizing or direct conversations:
    its rows share a long prompt prefix and have similar lengths (little padding).

    Example:
        >>> samples = [EvalSample(str(i), "x.png", "Q?", "a", {"needs_high_res": i < 2})
        ...            for i in range(10)]
        >>> plan = plan_batches(samples, batch_size=4, format_mix=(1, 0, 0), seed=0)
        >>> sorted(len(b) for b in plan), {p.format for b in plan for p in b}
        ([2, 4, 4], {'visionthink'})
        >>> [p.resize for b in plan for p in b if p.sample.id in "01"]
        [True, True]
    """
    rng = random.Random(seed)
    planned = []
    for s in samples:
        fmt = rng.choices(FORMATS, weights=format_mix)[0]
        fine = bool(s.metadata.get("needs_high_res"))
        resize = fine if resize_rate is None else rng.random() < resize_rate
        planned.append(_Planned(s, fmt, resize and fmt == "visionthink", guess))
    groups: dict[tuple[str, bool], list[_Planned]] = defaultdict(list)
    for p in planned:
        groups[(p.format, p.resize)].append(p)
    batches: list[list[_Planned]] = []
    for key in sorted(groups):
        members = groups[key]
        rng.shuffle(members)
        batches += [members[i : i + batch_size] for i in range(0, len(members), batch_size)]
    rng.shuffle(batches)
    return batches


def _assistant_labels(input_ids: torch.Tensor, header: Sequence[int], end: int) -> torch.Tensor:
    """Labels equal to ``input_ids`` inside assistant turns (after the header, through
    ``<|im_end|>``), :data:`IGNORE` elsewhere."""
    labels = torch.full_like(input_ids, IGNORE)
    width, head = len(header), list(header)
    for row, ids in enumerate(input_ids.tolist()):
        i, n = 0, len(ids)
        while i <= n - width:
            if ids[i : i + width] == head:
                j = i + width
                while j < n and ids[j] != end:
                    j += 1
                labels[row, i + width : j + 1] = input_ids[row, i + width : j + 1]
                i = j
            i += 1
    return labels


def _shared_prefix(input_ids: torch.Tensor, mm_token_type_ids: torch.Tensor) -> int:
    """Length of the text prefix every row shares, stopping before the first image token."""
    first_image = int((mm_token_type_ids != 0).int().argmax(dim=1).min())
    same = (input_ids[:, :first_image] == input_ids[:1, :first_image]).all(dim=0)
    differs = (~same).nonzero()
    return int(differs[0]) if len(differs) else first_image


def encode_batch(trajectories: Sequence[Trajectory], processor: Any) -> dict[str, torch.Tensor]:
    """Tokenise trajectories with the checkpoint's chat template and processor (right padding).

    Returns:
        ``input_ids``, ``attention_mask``, ``mm_token_type_ids``, ``pixel_values``,
        ``image_grid_thw``, ``labels`` (assistant tokens only) and ``prefix_len`` (the shared
        text prefix, see :func:`conversation_loss`).
    """
    texts = [processor.apply_chat_template(t.messages, tokenize=False) for t in trajectories]
    images = [image for t in trajectories for image in t.images]
    processor.tokenizer.padding_side = "right"
    batch = dict(processor(text=texts, images=images, padding=True, return_tensors="pt"))
    tokenizer = processor.tokenizer
    header = tokenizer.encode("<|im_start|>assistant\n", add_special_tokens=False)
    end = tokenizer.convert_tokens_to_ids("<|im_end|>")
    labels = _assistant_labels(batch["input_ids"], header, end)
    prefix = _shared_prefix(batch["input_ids"], batch["mm_token_type_ids"])
    if bool((labels[:, : prefix + 1] != IGNORE).any()):
        raise ValueError("an assistant token falls inside the shared prefix")
    batch["labels"] = labels
    batch["prefix_len"] = torch.tensor(prefix)
    return batch


def conversation_loss(
    model: Any, batch: dict[str, torch.Tensor]
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Mean cross-entropy over the assistant tokens, running the shared prefix once.

    Returns:
        ``(loss, logits, targets)``: the logits of the rows after the prefix (each predicting
        the next token) and the labels they are scored against.
    """
    ids, mask = batch["input_ids"], batch["attention_mask"]
    positions, _ = model.model.get_rope_index(
        ids,
        mm_token_type_ids=batch["mm_token_type_ids"],
        image_grid_thw=batch["image_grid_thw"],
        attention_mask=mask,
    )
    prefix = int(batch["prefix_len"])
    cache = None
    if prefix > 0:
        cache = model.model.language_model(
            input_ids=ids[:1, :prefix], position_ids=positions[:, :1, :prefix], use_cache=True
        ).past_key_values
        for layer in cache.layers:  # one copy of the prefix, seen by every row
            layer.keys = layer.keys.expand(ids.shape[0], -1, -1, -1)
            layer.values = layer.values.expand(ids.shape[0], -1, -1, -1)
    out = model(
        input_ids=ids[:, prefix:],
        attention_mask=mask,
        position_ids=positions[:, :, prefix:],
        past_key_values=cache,
        pixel_values=batch["pixel_values"],
        image_grid_thw=batch["image_grid_thw"],
        use_cache=cache is not None,
    )
    logits = out.logits[:, :-1]
    targets = batch["labels"][:, prefix + 1 :]
    loss = functional.cross_entropy(
        logits.reshape(-1, logits.shape[-1]).float(),
        targets.reshape(-1),
        ignore_index=IGNORE,
        reduction="sum",
    ) / (targets != IGNORE).sum().clamp(min=1)
    return loss, logits, targets


class ConversationBatches(torch.utils.data.Dataset[dict[str, torch.Tensor]]):
    """Planned batches, rendered and tokenised when fetched (one item = one optimiser batch)."""

    def __init__(
        self,
        batches: list[list[_Planned]],
        processor: Any,
        tool_mode: Literal["resize", "zoom"] = "resize",
        name_question: bool = False,
    ) -> None:
        self.batches = batches
        self.processor = processor
        self.tool_mode: Literal["resize", "zoom"] = tool_mode
        self.name_question = name_question

    def __len__(self) -> int:
        return len(self.batches)

    def trajectories(self, index: int) -> list[Trajectory]:
        """The rendered conversations of batch ``index``."""
        return [
            render_trajectory(
                synthetic_sample(p.sample),
                p.format,
                resize=p.resize,
                guess=p.guess,
                tool_mode=self.tool_mode,
                name_question=self.name_question,
            )
            for p in self.batches[index]
        ]

    def __getitem__(self, index: int) -> dict[str, torch.Tensor]:
        return encode_batch(self.trajectories(index), self.processor)


def split_turns(labels: Sequence[int]) -> list[tuple[int, int]]:
    """``[start, end)`` spans of consecutive labelled tokens: one per assistant turn."""
    spans, start = [], None
    for i, label in enumerate(labels):
        if label != IGNORE and start is None:
            start = i
        elif label == IGNORE and start is not None:
            spans.append((start, i))
            start = None
    if start is not None:
        spans.append((start, len(labels)))
    return spans


def _turn_names(trajectory: Trajectory) -> list[str]:
    kind = "fine" if trajectory.needs_high_res else "coarse"
    if trajectory.format != "visionthink":
        return [f"{trajectory.format}_{kind}"]
    if trajectory.resized:
        return ["vt_call", f"vt_{kind}_after_resize"]
    return [f"vt_{kind}_direct"]


@torch.no_grad()
def validate(model: Any, data: ConversationBatches) -> dict[str, float]:
    """Teacher-forced validation: loss and, per turn kind, the share greedy decoding gets right.

    Keys: ``val_loss``; in the VisionThink format ``vt_coarse_direct`` / ``vt_fine_direct``
    (answers from the first look), ``vt_call`` (writes the resize call where the conversation
    has one), ``vt_coarse_after_resize`` / ``vt_fine_after_resize`` (reads the answer from the
    full image); ``full_coarse``, ``full_fine``, ``low_coarse``, ``low_fine`` (one-look
    answers).
    """
    was_training = model.training
    model.eval()
    hits: dict[str, list[int]] = defaultdict(list)
    total_loss = total_tokens = 0.0
    for index in range(len(data)):
        trajectories = data.trajectories(index)
        batch = encode_batch(trajectories, data.processor)
        loss, logits, targets = conversation_loss(model, batch)
        tokens = float((targets != IGNORE).sum())
        total_loss += float(loss) * tokens
        total_tokens += tokens
        correct = logits.argmax(-1) == targets
        for row, trajectory in enumerate(trajectories):
            spans = split_turns(targets[row].tolist())
            for name, (a, b) in zip(_turn_names(trajectory), spans, strict=True):
                wrong = int((~correct[row, a:b]).sum())
                # resize or answer: the warm start's coin, not a skill (one token may differ)
                coin = name == "vt_call" or name.endswith("_direct")
                hits[name].append(int(wrong <= int(coin)))
    model.train(was_training)
    metrics = {"val_loss": total_loss / max(total_tokens, 1.0)}
    metrics.update({name: sum(v) / len(v) for name, v in sorted(hits.items())})
    return metrics


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
