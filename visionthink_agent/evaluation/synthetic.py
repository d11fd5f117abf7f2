"""A small synthetic benchmark: questions that need the full image, and questions that do not.

Some samples ask about **fine detail** — a serial number or a word printed in small type
(about 8 px high) on a cluttered label — which the half-size first look turns into a blur. The
others ask about **coarse content** — the colour of a large shape, its kind, a large digit or a
large word — which survives the downsample. A VisionThink model should answer the second kind
directly and resize for the first, so the benchmark exercises both paths of the agent.

Two presets: ``standard`` (896×672, the default) and ``demo`` (224×224: 64 visual tokens at
full resolution and 16 at the first look, for the small model trained on a CPU by
``python -m training.demo``; one question in four needs the full image, as in real VQA mixes).
Two splits: ``eval`` (the default, ``Random(seed)``) and ``train``, separate random streams, so
a model trained on ``train`` is evaluated on images it never saw.

The columns are the ones real VQA sets use (``id``, ``image``, ``question``, ``answer``) plus
``category``, ``needs_high_res``, ``caption`` and ``target_box``. A fine question's small print
lies on one compact label, and ``target_box`` is that label's ``[left, top, right, bottom]`` in
original pixels (right/bottom exclusive, as Pillow crops): cropping it from the original is
enough to answer, so a zoom tool can do with a fraction of the tokens of the whole image. Coarse
questions have ``target_box`` None. One call writes the same samples three ways:
a JSONL file with images beside it, a parquet file with the image bytes inline (the Hugging
Face ``Image`` struct ``{"bytes", "path"}``), and a ``datasets.save_to_disk`` folder.

Example:
    >>> import tempfile
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     bench = write_synthetic_benchmark(tmp, n=4, formats=("jsonl",))
    ...     bench.jsonl.name, sorted(s.category for s in make_synthetic_samples(4))
    ('synthetic.jsonl', ['color', 'serial', 'shape', 'word'])
"""

from __future__ import annotations

import io
import json
import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from PIL import Image, ImageDraw, ImageFont

from visionthink_agent.images import PixelBox

__all__ = [
    "PRESETS",
    "SPLITS",
    "SYNTHETIC_FORMATS",
    "SyntheticBenchmark",
    "SyntheticPreset",
    "SyntheticSample",
    "make_synthetic_samples",
    "write_synthetic_benchmark",
]

SYNTHETIC_FORMATS = ("jsonl", "parquet", "hf")
"""The on-disk layouts :func:`write_synthetic_benchmark` can write."""

DEFAULT_SIZE = (896, 672)
"""Full-resolution size of the standard preset: 768 visual tokens, 192 for the first look."""
SMALL_TEXT_PX = 8
"""Type size of the standard preset's fine-detail text: unreadable at half size (≈ 4 px)."""
SPLITS = ("eval", "train")
"""The two disjoint sample streams: ``eval`` (``Random(seed)``) and ``train``."""

_COLORS = {
    "red": (220, 30, 30),
    "green": (30, 160, 60),
    "blue": (30, 70, 220),
    "yellow": (235, 200, 20),
    "purple": (140, 50, 170),
    "orange": (245, 130, 20),
}
_SHAPES = ("circle", "square", "triangle")
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
_NUMBER_WORDS = {3: "three", 4: "four", 5: "five", 6: "six"}


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
            :func:`_small_label`), rather than one line of print.
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


@dataclass(frozen=True)
class SyntheticBenchmark:
    """Where :func:`write_synthetic_benchmark` put the files (None for a format not written).

    Attributes:
        root: the output folder.
        jsonl: ``synthetic.jsonl`` (images under ``images/``).
        parquet: ``synthetic.parquet`` (image bytes inline).
        hf: the ``datasets.save_to_disk`` folder ``hf/``.
        size: number of samples.
    """

    root: Path
    jsonl: Path | None
    parquet: Path | None
    hf: Path | None
    size: int


def _background(rng: random.Random, size: tuple[int, int], preset: SyntheticPreset) -> Image.Image:
    """A light, mildly cluttered background so the picture is not trivially blank."""
    image = Image.new("RGB", size, (rng.randint(225, 245),) * 3)
    draw = ImageDraw.Draw(image)
    w, h = size
    count, r_min, r_max = preset.clutter
    for _ in range(count):
        x, y = rng.randrange(w), rng.randrange(h)
        r = rng.randint(r_min, r_max)
        tone = tuple(rng.randint(180, 225) for _ in range(3))
        draw.ellipse((x - r, y - r, x + r, y + r), outline=tone, width=2)
    return image


def _label_place(
    rng: random.Random, size: tuple[int, int], preset: SyntheticPreset
) -> tuple[int, int]:
    """The label's top-left corner: random, on the preset's grid, inside its margins."""
    w, h = size
    left_min, right_room, top_min, bottom_room = preset.label_room
    g = preset.grid
    left = left_min + g * rng.randint(0, (w - right_room - left_min) // g)
    top = top_min + g * rng.randint(0, (h - bottom_room - top_min) // g)
    return left, top


def _small_label(
    rng: random.Random, image: Image.Image, text: str, preset: SyntheticPreset
) -> PixelBox:
    """Print ``text`` in small type on a label at a random place; returns the label's box.

    The standard label is white with a decoy line and hatching. The demo label is a grey sheet
    with the text printed over and over, one copy per ``cell`` (``pitch`` px a character):
    with 28×14 cells on the 28-px grid, every visual token of the label holds the whole text
    twice, the same way. Everything drawn lies inside the returned box (right/bottom exclusive).
    """
    draw = ImageDraw.Draw(image)
    font = ImageFont.load_default(size=preset.small_text_px)
    left, top = _label_place(rng, image.size, preset)
    label_w, label_h = preset.label
    dx, dy = preset.text_at
    if preset.sheet:
        draw.rectangle(
            (left, top, left + label_w - 1, top + label_h - 1), fill=preset.label_fill[1]
        )
        per_token = max(1, preset.cell[0] // (preset.pitch * len(text) + 1))
        cell_w, cell_h = preset.cell[0] // per_token, preset.cell[1]
        for row in range(label_h // cell_h):
            for copy in range(label_w // cell_w):
                for i, char in enumerate(text):
                    x = left + copy * cell_w + i * preset.pitch + dx
                    draw.text((x, top + row * cell_h + dy), char, fill="black", font=font)
        return left, top, left + label_w, top + label_h
    draw.rectangle(
        (left, top, left + label_w, top + label_h), fill=preset.label_fill[1], outline=(90, 90, 90)
    )
    if preset.decoy:
        draw.text((left + 8, top + 6), "LOT / REF", fill=(120, 120, 120), font=font)
    draw.text((left + dx, top + dy), text, fill="black", font=font)
    for i in range(3):  # hatching beside the text: fine structure that also blurs away
        x = left + label_w - 40 + 10 * i
        draw.line((x, top + 6, x + 6, top + label_h - 6), fill=(60, 60, 60), width=1)
    return left, top, left + label_w + 1, top + label_h + 1  # the outline is inclusive


_Drawn = tuple[Image.Image, str, str, str, PixelBox | None]
"""``(image, question, answer, caption, target_box)``."""


def _serial(rng: random.Random, size: tuple[int, int], preset: SyntheticPreset) -> _Drawn:
    image = _background(rng, size, preset)
    digits, label = preset.serial_digits, preset.label_fill[0]
    if digits == 1:
        code = str(rng.randint(0, 9))
        box = _small_label(rng, image, code, preset)
        question = f"What is the small digit printed on the {label} label?"
        return image, question, code, f"a small label with the digit {code}", box
    code = f"{rng.randint(10 ** (digits - 1), 10**digits - 1)}"
    box = _small_label(rng, image, code, preset)
    question = (
        f"What is the {_NUMBER_WORDS[digits]}-digit number printed on the small {label} label?"
    )
    return image, question, code, f"a small label with the number {code}", box


def _word(rng: random.Random, size: tuple[int, int], preset: SyntheticPreset) -> _Drawn:
    image = _background(rng, size, preset)
    word = rng.choice(preset.words)
    box = _small_label(rng, image, word.upper(), preset)
    question = f"What word is printed in small capital letters on the {preset.label_fill[0]} label?"
    return image, question, word, f"a small label with the word {word}", box


def _draw_shape(
    draw: ImageDraw.ImageDraw, shape: str, box: tuple[int, int, int, int], fill: Any
) -> None:
    left, top, right, bottom = box
    if shape == "circle":
        draw.ellipse(box, fill=fill)
    elif shape == "square":
        draw.rectangle(box, fill=fill)
    else:
        draw.polygon([((left + right) // 2, top), (right, bottom), (left, bottom)], fill=fill)


def _big_shape(
    rng: random.Random, size: tuple[int, int], preset: SyntheticPreset
) -> tuple[Image.Image, str, str]:
    """A large shape in a random colour in the middle: ``(image, colour, shape)``."""
    image = _background(rng, size, preset)
    w, h = size
    half = min(w, h) // 4
    color, shape = rng.choice(sorted(_COLORS)), rng.choice(_SHAPES)
    box = (w // 2 - half, h // 2 - half, w // 2 + half, h // 2 + half)
    _draw_shape(ImageDraw.Draw(image), shape, box, _COLORS[color])
    return image, color, shape


def _color(rng: random.Random, size: tuple[int, int], preset: SyntheticPreset) -> _Drawn:
    image, color, shape = _big_shape(rng, size, preset)
    question = f"What colour is the large {shape} in the middle of the image?"
    return image, question, color, f"a {shape} coloured {color}", None


def _shape(rng: random.Random, size: tuple[int, int], preset: SyntheticPreset) -> _Drawn:
    image, color, shape = _big_shape(rng, size, preset)
    question = "Which shape is drawn large in the middle: circle, square or triangle?"
    return image, question, shape, f"a {shape} coloured {color}", None


def _write_large(image: Image.Image, text: str, px: int, stroke: int = 0) -> None:
    """Print ``text`` in ``px``-size type (strokes widened by ``stroke``) in the centre."""
    font = ImageFont.load_default(size=px)
    center = (image.width // 2, image.height // 2)
    ink = (20, 20, 20)
    ImageDraw.Draw(image).text(
        center, text, fill=ink, font=font, anchor="mm", stroke_width=stroke, stroke_fill=ink
    )


def _digit(rng: random.Random, size: tuple[int, int], preset: SyntheticPreset) -> _Drawn:
    image = _background(rng, size, preset)
    digit = str(rng.randint(0, 9))
    share, stroke = preset.large_digit
    _write_large(image, digit, int(min(size) * share), stroke)
    question = "Which digit is written in large type in the centre of the image?"
    return image, question, digit, f"the digit {digit}", None


def _text(rng: random.Random, size: tuple[int, int], preset: SyntheticPreset) -> _Drawn:
    image = _background(rng, size, preset)
    word = rng.choice(preset.words)
    _write_large(image, word.upper(), min(size) // 6)
    question = "What word is written in large letters in the centre of the image?"
    return image, question, word, f"the word {word}", None


_Maker = Callable[[random.Random, tuple[int, int], SyntheticPreset], _Drawn]
_MAKERS: dict[str, _Maker] = {
    "color": _color,
    "shape": _shape,
    "digit": _digit,
    "text": _text,
    "serial": _serial,
    "word": _word,
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
        image, question, answer, caption, box = _MAKERS[category](rng, size, style)
        sample_id = f"{prefix}{i:04d}" if split == "eval" else f"{prefix}{i:05d}"
        samples.append(
            SyntheticSample(sample_id, image, question, answer, category, fine, caption, box)
        )
    return samples


def _png(image: Image.Image) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


def write_synthetic_benchmark(
    out_dir: str | Path,
    *,
    n: int = 24,
    seed: int = 0,
    size: tuple[int, int] | None = None,
    formats: Sequence[str] = SYNTHETIC_FORMATS,
    preset: str = "standard",
    split: str = "eval",
    fine_every: int | None = None,
) -> SyntheticBenchmark:
    """Write the synthetic benchmark as JSONL + PNGs, parquet and/or a ``save_to_disk`` folder.

    Args:
        out_dir: folder to write into (created if missing).
        n: number of samples.
        seed: random seed.
        size: full-resolution image size (default: the preset's).
        formats: any of ``jsonl``, ``parquet``, ``hf`` (parquet needs ``pyarrow``, hf needs
            ``datasets``: the ``eval`` extra).
        preset: ``standard`` or ``demo`` (see :func:`make_synthetic_samples`).
        split: ``eval`` or ``train``.
        fine_every: one fine-detail question every this many samples (default: the preset's).

    Example:
        >>> import tempfile
        >>> with tempfile.TemporaryDirectory() as tmp:
        ...     bench = write_synthetic_benchmark(tmp, n=2, formats=("jsonl",))
        ...     json.loads(bench.jsonl.read_text().splitlines()[0])["image"]
        'images/syn-0000.png'

    Raises:
        ValueError: for an unknown format (or a bad argument of :func:`make_synthetic_samples`).
    """
    unknown = sorted(set(formats) - set(SYNTHETIC_FORMATS))
    if unknown:
        raise ValueError(f"unknown format(s) {unknown}; choose from {list(SYNTHETIC_FORMATS)}")
    root = Path(out_dir)
    root.mkdir(parents=True, exist_ok=True)
    samples = make_synthetic_samples(
        n, seed=seed, size=size, preset=preset, split=split, fine_every=fine_every
    )
    pngs = [_png(s.image) for s in samples]
    jsonl = parquet = hf = None
    if "jsonl" in formats:
        (root / "images").mkdir(exist_ok=True)
        lines = []
        for sample, png in zip(samples, pngs, strict=True):
            relative = f"images/{sample.id}.png"
            (root / relative).write_bytes(png)
            lines.append(json.dumps({**sample.row(), "image": relative}))
        jsonl = root / "synthetic.jsonl"
        jsonl.write_text("\n".join(lines) + "\n", encoding="utf-8")
    rows = [
        {**s.row(), "image": {"bytes": png, "path": f"{s.id}.png"}}
        for s, png in zip(samples, pngs, strict=True)
    ]
    if "parquet" in formats:
        import pyarrow as pa
        import pyarrow.parquet as pq

        parquet = root / "synthetic.parquet"
        pq.write_table(pa.Table.from_pylist(rows), parquet)
    if "hf" in formats:
        import datasets

        features = datasets.Features(
            {
                "id": datasets.Value("string"),
                "question": datasets.Value("string"),
                "answer": datasets.Value("string"),
                "category": datasets.Value("string"),
                "needs_high_res": datasets.Value("bool"),
                "caption": datasets.Value("string"),
                "target_box": datasets.Sequence(datasets.Value("int32")),
                "image": datasets.Image(),
            }
        )
        hf = root / "hf"
        datasets.Dataset.from_list(rows, features=features).save_to_disk(str(hf))
    return SyntheticBenchmark(root=root, jsonl=jsonl, parquet=parquet, hf=hf, size=len(samples))
