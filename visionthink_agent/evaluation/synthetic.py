"""A small synthetic benchmark: questions that need the full image, and questions that do not.

Half of the samples ask about **fine detail** — a six-digit serial number or a word printed in
small type (about 8 px high) on a cluttered label — which the half-size first look turns into a
blur. The other half ask about **coarse content** — the colour of a large shape, its kind, or a
large digit — which survives the downsample. A VisionThink model should answer the second kind
directly and resize for the first, so the benchmark exercises both paths of the agent.

The columns are the ones real VQA sets use (``id``, ``image``, ``question``, ``answer``) plus
``category`` and ``needs_high_res``. One call writes the same samples three ways: a JSONL file
with images beside it, a parquet file with the image bytes inline (the Hugging Face ``Image``
struct ``{"bytes", "path"}``), and a ``datasets.save_to_disk`` folder.

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

__all__ = [
    "SYNTHETIC_FORMATS",
    "SyntheticBenchmark",
    "SyntheticSample",
    "make_synthetic_samples",
    "write_synthetic_benchmark",
]

SYNTHETIC_FORMATS = ("jsonl", "parquet", "hf")
"""The on-disk layouts :func:`write_synthetic_benchmark` can write."""

DEFAULT_SIZE = (896, 672)
"""Full-resolution size: 768 visual tokens, 192 for the first look."""
SMALL_TEXT_PX = 8
"""Type size of the fine-detail text: unreadable at half size (≈ 4 px)."""

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


@dataclass(frozen=True)
class SyntheticSample:
    """One generated question about one generated image.

    Attributes:
        id: stable sample id (``syn-0000``...).
        image: the full-resolution image.
        question: the question, in plain English.
        answer: the ground truth (lower case, no punctuation).
        category: ``serial`` or ``word`` (fine detail), ``color``, ``shape`` or ``digit``
            (coarse).
        needs_high_res: whether the answer is unreadable in the half-size first look.

    Example:
        >>> s = make_synthetic_samples(1)[0]
        >>> s.id, s.needs_high_res, s.image.size
        ('syn-0000', True, (896, 672))
    """

    id: str
    image: Image.Image
    question: str
    answer: str
    category: str
    needs_high_res: bool

    def row(self) -> dict[str, Any]:
        """The sample's columns without the image.

        Example:
            >>> sorted(make_synthetic_samples(1)[0].row())
            ['answer', 'category', 'id', 'needs_high_res', 'question']
        """
        return {
            "id": self.id,
            "question": self.question,
            "answer": self.answer,
            "category": self.category,
            "needs_high_res": self.needs_high_res,
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


def _background(rng: random.Random, size: tuple[int, int]) -> Image.Image:
    """A light, mildly cluttered background so the picture is not trivially blank."""
    image = Image.new("RGB", size, (rng.randint(225, 245),) * 3)
    draw = ImageDraw.Draw(image)
    w, h = size
    for _ in range(14):
        x, y = rng.randrange(w), rng.randrange(h)
        r = rng.randint(10, 60)
        tone = tuple(rng.randint(180, 225) for _ in range(3))
        draw.ellipse((x - r, y - r, x + r, y + r), outline=tone, width=2)
    return image


def _small_label(rng: random.Random, image: Image.Image, text: str) -> None:
    """Print ``text`` in small type on a label with decoy scribbles at a random place."""
    draw = ImageDraw.Draw(image)
    font = ImageFont.load_default(size=SMALL_TEXT_PX)
    w, h = image.size
    left, top = rng.randint(40, w - 200), rng.randint(40, h - 80)
    draw.rectangle((left, top, left + 150, top + 44), fill="white", outline=(90, 90, 90))
    draw.text((left + 8, top + 6), "LOT / REF", fill=(120, 120, 120), font=font)
    draw.text((left + 8, top + 22), text, fill="black", font=font)
    for i in range(3):  # hatching beside the text: fine structure that also blurs away
        x = left + 110 + 10 * i
        draw.line((x, top + 6, x + 6, top + 38), fill=(60, 60, 60), width=1)


def _serial(rng: random.Random, size: tuple[int, int]) -> tuple[Image.Image, str, str]:
    image = _background(rng, size)
    code = f"{rng.randint(100000, 999999)}"
    _small_label(rng, image, code)
    return image, "What is the six-digit number printed on the small white label?", code


def _word(rng: random.Random, size: tuple[int, int]) -> tuple[Image.Image, str, str]:
    image = _background(rng, size)
    word = rng.choice(_WORDS)
    _small_label(rng, image, word.upper())
    return image, "What word is printed in small capital letters on the white label?", word


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


def _big_shape(rng: random.Random, size: tuple[int, int]) -> tuple[Image.Image, str, str]:
    """A large shape in a random colour in the middle: ``(image, colour, shape)``."""
    image = _background(rng, size)
    w, h = size
    half = min(w, h) // 4
    color, shape = rng.choice(sorted(_COLORS)), rng.choice(_SHAPES)
    box = (w // 2 - half, h // 2 - half, w // 2 + half, h // 2 + half)
    _draw_shape(ImageDraw.Draw(image), shape, box, _COLORS[color])
    return image, color, shape


def _color(rng: random.Random, size: tuple[int, int]) -> tuple[Image.Image, str, str]:
    image, color, shape = _big_shape(rng, size)
    return image, f"What colour is the large {shape} in the middle of the image?", color


def _shape(rng: random.Random, size: tuple[int, int]) -> tuple[Image.Image, str, str]:
    image, _, shape = _big_shape(rng, size)
    return image, "Which shape is drawn large in the middle: circle, square or triangle?", shape


def _digit(rng: random.Random, size: tuple[int, int]) -> tuple[Image.Image, str, str]:
    image = _background(rng, size)
    digit = str(rng.randint(0, 9))
    font = ImageFont.load_default(size=min(size) // 2)
    draw = ImageDraw.Draw(image)
    draw.text((size[0] // 2, size[1] // 2), digit, fill=(20, 20, 20), font=font, anchor="mm")
    return image, "Which digit is written in large type in the centre of the image?", digit


_Maker = Callable[[random.Random, tuple[int, int]], tuple[Image.Image, str, str]]
_FINE: tuple[tuple[str, _Maker], ...] = (("serial", _serial), ("word", _word))
_COARSE: tuple[tuple[str, _Maker], ...] = (("color", _color), ("shape", _shape), ("digit", _digit))


def make_synthetic_samples(
    n: int = 24, *, seed: int = 0, size: tuple[int, int] = DEFAULT_SIZE
) -> list[SyntheticSample]:
    """Generate ``n`` samples, alternating fine-detail and coarse questions (deterministic).

    Args:
        n: number of samples (≥ 1).
        seed: random seed; the same seed gives the same images and answers.
        size: full-resolution ``(width, height)``, at least 320×240.

    Example:
        >>> [s.needs_high_res for s in make_synthetic_samples(4)]
        [True, False, True, False]

    Raises:
        ValueError: for ``n < 1`` or a size under 320×240.
    """
    if n < 1:
        raise ValueError(f"n must be at least 1, got {n}")
    if size[0] < 320 or size[1] < 240:
        raise ValueError(f"size must be at least 320x240 so the label fits, got {size}")
    rng = random.Random(seed)
    samples = []
    for i in range(n):
        fine = i % 2 == 0
        family = _FINE if fine else _COARSE
        category, make = family[(i // 2) % len(family)]
        image, question, answer = make(rng, size)
        samples.append(
            SyntheticSample(f"syn-{i:04d}", image, question, answer, category, needs_high_res=fine)
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
    size: tuple[int, int] = DEFAULT_SIZE,
    formats: Sequence[str] = SYNTHETIC_FORMATS,
) -> SyntheticBenchmark:
    """Write the synthetic benchmark as JSONL + PNGs, parquet and/or a ``save_to_disk`` folder.

    Args:
        out_dir: folder to write into (created if missing).
        n: number of samples.
        seed: random seed.
        size: full-resolution image size.
        formats: any of ``jsonl``, ``parquet``, ``hf`` (parquet needs ``pyarrow``, hf needs
            ``datasets``: the ``eval`` extra).

    Example:
        >>> import tempfile
        >>> with tempfile.TemporaryDirectory() as tmp:
        ...     bench = write_synthetic_benchmark(tmp, n=2, formats=("jsonl",))
        ...     json.loads(bench.jsonl.read_text().splitlines()[0])["image"]
        'images/syn-0000.png'

    Raises:
        ValueError: for an unknown format.
    """
    unknown = sorted(set(formats) - set(SYNTHETIC_FORMATS))
    if unknown:
        raise ValueError(f"unknown format(s) {unknown}; choose from {list(SYNTHETIC_FORMATS)}")
    root = Path(out_dir)
    root.mkdir(parents=True, exist_ok=True)
    samples = make_synthetic_samples(n, seed=seed, size=size)
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
                "image": datasets.Image(),
            }
        )
        hf = root / "hf"
        datasets.Dataset.from_list(rows, features=features).save_to_disk(str(hf))
    return SyntheticBenchmark(root=root, jsonl=jsonl, parquet=parquet, hf=hf, size=len(samples))
