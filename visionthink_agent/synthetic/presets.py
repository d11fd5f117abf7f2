"""The presets of the synthetic benchmark: geometry, type sizes, vocabulary and question mix.

Example:
    >>> PRESETS["standard"].size, SPLITS
    ((896, 672), ('eval', 'train'))
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = [
    "COLORS",
    "DEFAULT_SIZE",
    "PRESETS",
    "SHAPES",
    "SMALL_TEXT_PX",
    "SPLITS",
    "SyntheticPreset",
]

DEFAULT_SIZE = (896, 672)
"""Full-resolution size of the standard preset: 768 visual tokens, 192 for the first look."""
SMALL_TEXT_PX = 8
"""Type size of the standard preset's fine-detail text: unreadable at half size (≈ 4 px)."""
SPLITS = ("eval", "train")
"""The two disjoint sample streams: ``eval`` (``Random(seed)``) and ``train``."""

COLORS = {
    "red": (220, 30, 30),
    "green": (30, 160, 60),
    "blue": (30, 70, 220),
    "yellow": (235, 200, 20),
    "purple": (140, 50, 170),
    "orange": (245, 130, 20),
}
SHAPES = ("circle", "square", "triangle")
_WORDS = (
    "harbor",
    "lantern",
    "meadow",
    "copper",
    "violet",
    "glacier",
    "saddle",
    "orchid",
    "pepper",
    "falcon",
    "timber",
    "walnut",
)
_LOOKALIKE_WORDS = (
    "bead",
    "bear",
    "beat",
    "dead",
    "dear",
    "deer",
    "head",
    "hear",
    "heat",
    "near",
)
"""Four-letter words that differ in a letter or two: alike at half size, distinct at full."""


@dataclass(frozen=True)
class SyntheticPreset:
    """The geometry and question mix of one flavour of the benchmark.

    Attributes:
        name: ``standard`` (896×672, six-digit serials) or ``demo`` (224×224 for the model
            trained on this machine: 64 visual tokens at full resolution, 16 at the first look).
        size: default full-resolution ``(width, height)``.
        min_size: smallest size the label layout fits in.
        small_text_px: type size of the fine-detail text.
        label: ``(width, height)`` of the small label.
        label_room: ``(left_min, right_room, top_min, bottom_room)``: the label's left edge is
            drawn from ``[left_min, width - right_room]``, its top from
            ``[top_min, height - bottom_room]``.
        text_at: offset of the fine-detail text inside the label.
        decoy: print a grey ``LOT / REF`` line above the text.
        clutter: ``(count, min_radius, max_radius)`` of the background circles.
        serial_digits: digits of the serial number.
        words: the vocabulary of the word questions.
        coarse: the coarse categories, in the order they cycle.
        fine: the fine-detail categories, in the order they cycle.
        fine_every: one fine-detail question every this many samples.
        grid: the label's corner lies on this pixel grid (14 = the vision patch: the small
            print sits at the same place within its patches wherever the label is).
        pitch: on a sheet, one character every ``pitch`` pixels.
        sheet: the label is a sheet with the small print repeated in rows (see
            :mod:`visionthink_agent.synthetic.rendering`), rather than one line of print.
        cell: on a sheet, ``(width, height)`` of the space each copy of the print takes.
        label_fill: ``(name, RGB)`` of the label (the name is used in the questions). The demo
            label is the grey that the vision processor normalises to zero, so a patch of label
            is all print: a model trained from scratch learns to read it many times faster than
            print on white, whose bright background dominates every patch's pixels.
        large_digit: ``(type size as a share of the shorter side, stroke width in pixels)`` of
            the large digit. The demo draws it across the whole image in bold strokes so that
            the first look's 16 visual tokens carry it (at half the size, 1.5 patches tall, a
            small model read it 8% of the time at the first look): a coarse question must be
            answerable from the first look.

    Example:
        >>> PRESETS["demo"].size, PRESETS["demo"].fine_every, PRESETS["standard"].coarse
        ((224, 224), 4, ('color', 'shape', 'digit'))
    """

    name: str
    size: tuple[int, int]
    min_size: tuple[int, int]
    small_text_px: int
    label: tuple[int, int]
    label_room: tuple[int, int, int, int]
    text_at: tuple[int, int]
    decoy: bool
    clutter: tuple[int, int, int]
    serial_digits: int
    words: tuple[str, ...]
    coarse: tuple[str, ...]
    fine_every: int
    fine: tuple[str, ...] = ("serial", "word")
    grid: int = 1
    pitch: int = 0
    sheet: bool = False
    cell: tuple[int, int] = (28, 14)
    label_fill: tuple[str, tuple[int, int, int]] = ("white", (255, 255, 255))
    large_digit: tuple[float, int] = (0.5, 0)


PRESETS: dict[str, SyntheticPreset] = {
    "standard": SyntheticPreset(
        name="standard",
        size=DEFAULT_SIZE,
        min_size=(320, 240),
        small_text_px=SMALL_TEXT_PX,
        label=(150, 44),
        label_room=(40, 200, 40, 80),
        text_at=(8, 22),
        decoy=True,
        clutter=(14, 10, 60),
        serial_digits=6,
        words=_WORDS,
        coarse=("color", "shape", "digit"),
        fine_every=2,
    ),
    "demo": SyntheticPreset(
        name="demo",
        size=(224, 224),
        min_size=(224, 224),
        small_text_px=7,
        label=(112, 56),
        label_room=(0, 112, 0, 56),
        text_at=(1, 3),
        decoy=False,
        clutter=(8, 5, 25),
        serial_digits=1,
        words=_LOOKALIKE_WORDS,
        coarse=("color", "shape", "digit"),
        fine_every=4,
        fine=("serial",),
        grid=28,
        pitch=6,
        sheet=True,
        label_fill=("grey", (122, 116, 104)),
        large_digit=(0.95, 6),
    ),
}
"""The presets by name (see :class:`SyntheticPreset`)."""
