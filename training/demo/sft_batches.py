"""Batches for the supervised warm start: planned, tokenised, and their shared-prefix loss.

**Shared prefix.** Every VisionThink conversation starts with the same ~380 tokens (system
prompt with the tool declaration, then the user template up to the image), and each batch holds
one prompt family, so the batch's common text prefix is run once and its key/value cache is
broadcast to the batch. The loss and the gradients are those of running every row in full
(``tests/demo`` checks the equality); a step costs about a third.

Example:
    >>> IGNORE
    -100
"""

from __future__ import annotations

import random
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

import torch
from torch.nn import functional

from training.demo.trajectories import (
    FORMATS,
    Trajectory,
    TrajectoryFormat,
    render_trajectory,
    synthetic_sample,
)
from visionthink_agent.benchmark import EvalSample

__all__ = ["IGNORE", "ConversationBatches", "conversation_loss", "encode_batch", "plan_batches"]

IGNORE = -100
"""Label of a token outside the loss."""


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
