"""Drawing one synthetic image and its question: small print on a label, or large content.

Example:
    >>> import random
    >>> from visionthink_agent.synthetic.presets import PRESETS
    >>> image, question, answer, caption, box = draw_sample(
    ...     "color", random.Random(0), (224, 224), PRESETS["demo"]
    ... )
    >>> image.size, box
    ((224, 224), None)
"""

from __future__ import annotations

import random
from collections.abc import Callable
from typing import Any

from PIL import Image, ImageDraw, ImageFont

from visionthink_agent.images import PixelBox
from visionthink_agent.synthetic.presets import COLORS, SHAPES, SyntheticPreset

__all__ = ["Drawn", "draw_sample"]

_NUMBER_WORDS = {3: "three", 4: "four", 5: "five", 6: "six"}


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


Drawn = tuple[Image.Image, str, str, str, PixelBox | None]
"""``(image, question, answer, caption, target_box)``."""


def _serial(rng: random.Random, size: tuple[int, int], preset: SyntheticPreset) -> Drawn:
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


def _word(rng: random.Random, size: tuple[int, int], preset: SyntheticPreset) -> Drawn:
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
    color, shape = rng.choice(sorted(COLORS)), rng.choice(SHAPES)
    box = (w // 2 - half, h // 2 - half, w // 2 + half, h // 2 + half)
    _draw_shape(ImageDraw.Draw(image), shape, box, COLORS[color])
    return image, color, shape


def _color(rng: random.Random, size: tuple[int, int], preset: SyntheticPreset) -> Drawn:
    image, color, shape = _big_shape(rng, size, preset)
    question = f"What colour is the large {shape} in the middle of the image?"
    return image, question, color, f"a {shape} coloured {color}", None


def _shape(rng: random.Random, size: tuple[int, int], preset: SyntheticPreset) -> Drawn:
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


def _digit(rng: random.Random, size: tuple[int, int], preset: SyntheticPreset) -> Drawn:
    image = _background(rng, size, preset)
    digit = str(rng.randint(0, 9))
    share, stroke = preset.large_digit
    _write_large(image, digit, int(min(size) * share), stroke)
    question = "Which digit is written in large type in the centre of the image?"
    return image, question, digit, f"the digit {digit}", None


def _text(rng: random.Random, size: tuple[int, int], preset: SyntheticPreset) -> Drawn:
    image = _background(rng, size, preset)
    word = rng.choice(preset.words)
    _write_large(image, word.upper(), min(size) // 6)
    question = "What word is written in large letters in the centre of the image?"
    return image, question, word, f"the word {word}", None


_Maker = Callable[[random.Random, tuple[int, int], SyntheticPreset], Drawn]
_MAKERS: dict[str, _Maker] = {
    "color": _color,
    "shape": _shape,
    "digit": _digit,
    "text": _text,
    "serial": _serial,
    "word": _word,
}


def draw_sample(
    category: str, rng: random.Random, size: tuple[int, int], preset: SyntheticPreset
) -> Drawn:
    """Draw one image of ``category`` with its question, answer, caption and target box.

    Example:
        >>> from visionthink_agent.synthetic.presets import PRESETS
        >>> draw_sample("digit", random.Random(1), (224, 224), PRESETS["demo"])[1]
        'Which digit is written in large type in the centre of the image?'
    """
    return _MAKERS[category](rng, size, preset)
