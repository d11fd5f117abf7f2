"""Generating synthetic samples: the deterministic mix of fine-detail and coarse questions.

Example:
    >>> [s.category for s in make_synthetic_samples(4)]
    ['serial', 'color', 'word', 'shape']
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Any

from PIL import Image

from visionthink_agent.images import PixelBox
from visionthink_agent.synthetic.presets import PRESETS, SPLITS
from visionthink_agent.synthetic.rendering import draw_sample

__all__ = ["SyntheticSample", "make_synthetic_samples"]


@dataclass(frozen=True)
class SyntheticSample:
    """One generated question about one generated image.

    Attributes:
        id: stable sample id (``syn-0000``... in the eval split, ``syn-train-00000``... in the
            train split).
        image: the full-resolution image.
        question: the question, in plain English.
        answer: the ground truth (lower case, no punctuation).
        category: ``serial`` or ``word`` (fine detail), ``color``, ``shape``, ``digit`` or
            ``text`` (coarse).
        needs_high_res: whether the answer is unreadable in the half-size first look.
        caption: what the image shows, in words (e.g. ``a circle coloured red``, ``a small label
            with the number 6901``): supervision for a trained model's reasoning.
        target_box: for a fine question, the small label that holds all of the print it asks
            about, ``(left, top, right, bottom)`` in original pixels (right/bottom exclusive):
            the region a zoom needs; None for a coarse question.

    Example:
        >>> s = make_synthetic_samples(1)[0]
        >>> s.id, s.needs_high_res, s.image.size, s.target_box
        ('syn-0000', True, (896, 672), (657, 334, 808, 379))
    """

    id: str
    image: Image.Image
    question: str
    answer: str
    category: str
    needs_high_res: bool
    caption: str = ""
    target_box: PixelBox | None = None

    def row(self) -> dict[str, Any]:
        """The sample's columns without the image.

        Example:
            >>> sorted(make_synthetic_samples(1)[0].row())
            ['answer', 'caption', 'category', 'id', 'needs_high_res', 'question', 'target_box']
        """
        return {
            "id": self.id,
            "question": self.question,
            "answer": self.answer,
            "category": self.category,
            "needs_high_res": self.needs_high_res,
            "caption": self.caption,
            "target_box": None if self.target_box is None else list(self.target_box),
        }


def make_synthetic_samples(
    n: int = 24,
    *,
    seed: int = 0,
    size: tuple[int, int] | None = None,
    preset: str = "standard",
    split: str = "eval",
    fine_every: int | None = None,
) -> list[SyntheticSample]:
    """Generate ``n`` samples, mixing fine-detail and coarse questions (deterministic).

    Sample ``i`` is a fine-detail question when ``i % fine_every == 0`` (the next of the preset's
    fine categories: serial and word alternate in ``standard``, ``demo`` asks for the small
    digit), else the next coarse category in the preset's cycle.

    Args:
        n: number of samples (≥ 1).
        seed: random seed; the same seed gives the same images and answers.
        size: full-resolution ``(width, height)`` (default: the preset's), at least the
            preset's ``min_size``.
        preset: ``standard`` or ``demo`` (see :data:`PRESETS`).
        split: ``eval`` or ``train``: separate random streams, so no seed of one split
            reproduces the other's samples.
        fine_every: one fine-detail question every this many samples (default: the preset's;
            2 alternates).

    Example:
        >>> [s.needs_high_res for s in make_synthetic_samples(4)]
        [True, False, True, False]
        >>> [s.category for s in make_synthetic_samples(5, preset="demo", split="train")]
        ['serial', 'color', 'shape', 'digit', 'serial']

    Raises:
        ValueError: for ``n < 1``, an unknown preset or split, ``fine_every < 1`` or a size
            under the preset's minimum.
    """
    if n < 1:
        raise ValueError(f"n must be at least 1, got {n}")
    if preset not in PRESETS:
        raise ValueError(f"unknown preset {preset!r}; choose from {sorted(PRESETS)}")
    if split not in SPLITS:
        raise ValueError(f"unknown split {split!r}; choose from {list(SPLITS)}")
    style = PRESETS[preset]
    size = size or style.size
    every = style.fine_every if fine_every is None else fine_every
    if every < 1:
        raise ValueError(f"fine_every must be at least 1, got {every}")
    if size[0] < style.min_size[0] or size[1] < style.min_size[1]:
        low_w, low_h = style.min_size
        raise ValueError(f"size must be at least {low_w}x{low_h} so the label fits, got {size}")
    rng = random.Random(seed) if split == "eval" else random.Random(f"{split}-{seed}")
    prefix = "syn-" if split == "eval" else f"syn-{split}-"
    samples = []
    for i in range(n):
        fine = i % every == 0
        if fine:
            category = style.fine[(i // every) % len(style.fine)]
        else:
            category = style.coarse[(i - i // every - 1) % len(style.coarse)]
        image, question, answer, caption, box = draw_sample(category, rng, size, style)
        sample_id = f"{prefix}{i:04d}" if split == "eval" else f"{prefix}{i:05d}"
        samples.append(
            SyntheticSample(sample_id, image, question, answer, category, fine, caption, box)
        )
    return samples
