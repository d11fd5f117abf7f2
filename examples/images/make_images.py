"""Draw the demo images used by the README and the examples (deterministic, no download).

``receipt.png`` is a synthetic shop receipt: a tall page of small print (items, prices, tax) with
the total near the bottom — small text that a half-resolution first look may not read, the case
VisionThink's resize tool exists for.

``label.png`` and ``triangle.png`` are the first two samples of the synthetic benchmark's
held-out ``demo`` split (the task the shipped ``--model demo`` was trained on): a small digit
printed on a grey label (unreadable at the first look), and a large red triangle (readable at
once). See :data:`DEMO_QUESTIONS`.

Run ``python examples/images/make_images.py`` to regenerate the committed files.

Example:
    >>> image = draw_receipt()
    >>> image.size
    (600, 620)
"""

from __future__ import annotations

from pathlib import Path

from PIL import Image, ImageDraw, ImageFont

HERE = Path(__file__).resolve().parent

ITEMS: list[tuple[str, float]] = [
    ("Espresso", 2.80),
    ("Oat milk flat white", 4.20),
    ("Blueberry muffin", 3.10),
    ("Sparkling water 0.5l", 1.90),
    ("Avocado toast", 8.50),
    ("Side salad", 4.75),
    ("Chocolate cookie", 2.25),
    ("Orange juice", 3.60),
]
TAX_RATE = 0.08
DEMO_QUESTIONS: dict[str, tuple[str, str]] = {
    "label.png": ("What is the small digit printed on the grey label?", "1"),
    "triangle.png": ("What colour is the large triangle in the middle of the image?", "red"),
}
"""The demo images' questions and answers (the held-out samples ``syn-0000`` and ``syn-0001``)."""


def receipt_total() -> float:
    """The total printed on the receipt (subtotal plus tax), rounded to cents.

    Example:
        >>> receipt_total()
        33.59
    """
    subtotal = round(sum(price for _, price in ITEMS), 2)
    return round(subtotal + round(subtotal * TAX_RATE, 2), 2)


def draw_receipt(width: int = 600, height: int = 620) -> Image.Image:
    """Draw the receipt: shop header, item lines in small print, subtotal, tax and total.

    Example:
        >>> draw_receipt().getpixel((0, 0))
        (250, 248, 240)
    """
    image = Image.new("RGB", (width, height), (250, 248, 240))
    draw = ImageDraw.Draw(image)
    small = ImageFont.load_default(size=13)
    large = ImageFont.load_default(size=22)
    margin, y = 40, 40
    draw.text((width // 2, y), "CORNER CAFE", font=large, fill=(20, 20, 20), anchor="mt")
    y += 40
    for line in ("12 Harbour Street, Portsmouth", "Tue 24 Nov 2026  09:41  Till 3"):
        draw.text((width // 2, y), line, font=small, fill=(60, 60, 60), anchor="mt")
        y += 22
    y += 30
    subtotal = round(sum(price for _, price in ITEMS), 2)
    tax = round(subtotal * TAX_RATE, 2)
    rows = [(name, f"{price:.2f}") for name, price in ITEMS]
    rows += [("", ""), ("Subtotal", f"{subtotal:.2f}"), (f"VAT {TAX_RATE:.0%}", f"{tax:.2f}")]
    for name, price in rows:
        draw.text((margin, y), name, font=small, fill=(30, 30, 30))
        draw.text((width - margin, y), price, font=small, fill=(30, 30, 30), anchor="ra")
        y += 26
    y += 16
    draw.line((margin, y, width - margin, y), fill=(30, 30, 30), width=1)
    y += 16
    draw.text((margin, y), "TOTAL", font=small, fill=(0, 0, 0))
    draw.text(
        (width - margin, y), f"{receipt_total():.2f}", font=small, fill=(0, 0, 0), anchor="ra"
    )
    y += 60
    draw.text(
        (width // 2, y), "Thank you for your visit!", font=small, fill=(60, 60, 60), anchor="mt"
    )
    return image


def main() -> None:
    """Write every demo image next to this script."""
    from visionthink_agent.synthetic import make_synthetic_samples

    path = HERE / "receipt.png"
    draw_receipt().save(path, optimize=True)
    print(f"wrote {path} (total {receipt_total():.2f})")
    samples = make_synthetic_samples(len(DEMO_QUESTIONS), preset="demo")
    for (name, (question, answer)), sample in zip(DEMO_QUESTIONS.items(), samples, strict=True):
        if (sample.question, sample.answer) != (question, answer):
            raise RuntimeError(f"the demo split changed: {name} is now {sample.question!r}")
        sample.image.save(HERE / name, optimize=True)
        print(f"wrote {HERE / name} ({question} -> {answer})")


if __name__ == "__main__":
    main()
