"""Validation of the supervised warm start, teacher-forced.

**Validation** is teacher-forced: a turn counts as right when the greedy (argmax) token equals
the target at every position of the turn, i.e. exactly when greedy decoding would write that
turn. It gives, per format and per coarse / fine question, whether the model would answer
directly, call the resize tool, and read the answer from the full image.

Example:
    >>> split_turns([-100, 5, 6, -100, -100, 7, -100])
    [(1, 3), (5, 6)]
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from typing import Any

import torch

from training.demo.sft_batches import IGNORE, ConversationBatches, conversation_loss, encode_batch
from training.demo.trajectories import Trajectory

__all__ = ["split_turns", "validate"]


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
