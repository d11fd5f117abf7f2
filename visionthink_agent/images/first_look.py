"""The first-look downsample rule (protocol §3), on sizes and on pixels.

The first look is the original resized to ``(W // 2, H // 2)`` with LANCZOS (a quarter of the
pixels, so about a quarter of the visual tokens); then, as in the authors' code, an image with a
side under 28 px is scaled up (both sides, keeping the aspect) until both sides are at least 28.
The same ≥ 28 px rule applies to the high-resolution view.

Example:
    >>> first_look_size(1920, 1080)
    (960, 540)
    >>> first_look_size(40, 300)
    (28, 210)
"""

from __future__ import annotations

from PIL import Image

__all__ = [
    "MIN_SIDE",
    "downsample_for_first_look",
    "ensure_min_side",
    "first_look_size",
    "min_side_size",
]

MIN_SIDE = 28


def min_side_size(width: int, height: int) -> tuple[int, int]:
    """Size after the authors' "both sides ≥ 28 px" upscale (unchanged when already large enough).

    The authors computed ``int(side * max(28 / w, 28 / h))``; float rounding there can give 27 for
    the limiting side, so this clamps each side to at least 28 (a documented one-pixel fix).

    Example:
        >>> min_side_size(10, 100), min_side_size(100, 100)
        ((28, 280), (100, 100))
    """
    if width >= MIN_SIDE and height >= MIN_SIDE:
        return width, height
    scale = max(MIN_SIDE / width, MIN_SIDE / height)
    return max(MIN_SIDE, int(width * scale)), max(MIN_SIDE, int(height * scale))


def first_look_size(width: int, height: int) -> tuple[int, int]:
    """Size of the first look for an original of ``width × height`` (oriented) pixels.

    Example:
        >>> first_look_size(4032, 3024)
        (2016, 1512)
    """
    return min_side_size(max(1, width // 2), max(1, height // 2))


def ensure_min_side(image: Image.Image) -> Image.Image:
    """Scale an image up (LANCZOS) so both sides are at least 28 px; returns it unchanged otherwise.

    Example:
        >>> ensure_min_side(Image.new("RGB", (14, 56))).size
        (28, 112)
    """
    size = min_side_size(*image.size)
    return image if size == image.size else image.resize(size, Image.Resampling.LANCZOS)


def downsample_for_first_look(image: Image.Image) -> Image.Image:
    """The training-identical first look: full-resolution pixels → half each side, LANCZOS.

    This is exactly what the released checkpoints were trained and evaluated on. The pipeline's
    fast path (:meth:`SourceImage.first_look`) reaches the same size by decoding JPEGs at half
    scale instead; use this function where pixel parity with training matters.

    Example:
        >>> downsample_for_first_look(Image.new("RGB", (101, 60))).size
        (50, 30)
    """
    half = (max(1, image.width // 2), max(1, image.height // 2))
    return ensure_min_side(image.resize(half, Image.Resampling.LANCZOS))
