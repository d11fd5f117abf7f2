"""Choosing the next token (greedy or nucleus sampling) and cutting the text at a stop string.

Example:
    >>> import torch
    >>> next_token(torch.tensor([0.1, 2.0, 0.3]), 0.0, 1.0, None), final_text("ab</s>c", ["</s>"])
    (1, 'ab')
"""

from __future__ import annotations

from collections.abc import Sequence

import torch

__all__ = ["final_text", "next_token"]


def final_text(text: str, stop: Sequence[str]) -> str:
    """``text`` cut at its first stop string."""
    cuts = [i for s in stop if s and (i := text.find(s)) >= 0]
    return text[: min(cuts)] if cuts else text


def next_token(
    logits: torch.Tensor, temperature: float, top_p: float, generator: torch.Generator | None
) -> int:
    """The argmax at ``temperature`` 0, else a sample from the top-``top_p`` probability mass."""
    if temperature <= 0:
        return int(torch.argmax(logits))
    probs = torch.softmax(logits.float() / temperature, dim=-1)
    if top_p < 1.0:
        sorted_probs, order = torch.sort(probs, descending=True)
        keep = torch.cumsum(sorted_probs, dim=-1) - sorted_probs < top_p
        probs = torch.zeros_like(probs).scatter(0, order[keep], sorted_probs[keep])
    return int(torch.multinomial(probs, 1, generator=generator))
