"""Converting any Pillow mode to RGB without surprises.

Alpha is composited on white (``convert("RGB")`` would expose whatever colour the transparent
pixels hold, often black); 16- and 32-bit greyscale is scaled to 8 bits instead of clipped.

Example:
    >>> from PIL import Image
    >>> to_rgb(Image.new("RGBA", (1, 1), (0, 0, 0, 0))).getpixel((0, 0))
    (255, 255, 255)
"""

from __future__ import annotations

from PIL import Image

__all__ = ["to_rgb"]


def to_rgb(image: Image.Image) -> Image.Image:
    """Return an RGB version of ``image`` (the image itself when it already is RGB).

    Example:
        >>> to_rgb(Image.new("I;16", (1, 1), 65535)).getpixel((0, 0))
        (255, 255, 255)
    """
    mode = image.mode
    if mode == "RGB":
        return image
    if mode == "P" and "transparency" in image.info:
        image, mode = image.convert("RGBA"), "RGBA"
    if mode in ("RGBA", "LA", "PA", "RGBa", "La"):
        rgba = image.convert("RGBA")
        background = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        return Image.alpha_composite(background, rgba).convert("RGB")
    if mode.startswith("I;16"):
        return image.convert("I").point(lambda v: v * (1 / 256)).convert("L").convert("RGB")
    if mode in ("I", "F"):
        extrema = image.getextrema()
        low, high = float(extrema[0]), float(extrema[1])  # type: ignore[arg-type]
        scale = 255 / (high - low) if high > low else 0
        return image.convert("F").point(lambda v: (v - low) * scale).convert("L").convert("RGB")
    return image.convert("RGB")
