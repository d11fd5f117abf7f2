"""The size limits every image is read under: pixels (decompression bombs) and bytes.

Example:
    >>> DEFAULT_LIMITS.max_pixels, check_size((10, 10), DEFAULT_PIXEL_LIMIT)
    (89478485, None)
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from visionthink_agent.images.errors import ImageTooLargeError, ImageTooSmallError
from visionthink_agent.images.first_look import first_look_size
from visionthink_agent.images.tokens import MAX_ASPECT_RATIO

if TYPE_CHECKING:
    from visionthink_agent.images.source_image import SourceImage

__all__ = [
    "DEFAULT_LIMITS",
    "DEFAULT_MAX_BYTES",
    "DEFAULT_PIXEL_LIMIT",
    "ImageLimits",
    "check_bytes",
    "check_size",
]

DEFAULT_PIXEL_LIMIT = 89_478_485
"""Decompression-bomb guard: Pillow's own default (≈ 9459²), configurable per call. The limit a
call sets replaces Pillow's process-wide ``PIL.Image.MAX_IMAGE_PIXELS`` for that image, above
it as well as below (see :func:`pillow_guard_lifted`)."""
DEFAULT_MAX_BYTES = 50 * 1024 * 1024


@dataclass(frozen=True)
class ImageLimits:
    """The two size limits of :func:`load_image`, as one value the graph passes along.

    Every layer that reads an image a caller handed it (the graph's first look and
    high-resolution turn, the renderers, ``ChatQwenVL``) reads it under the same limits, so a
    limit raised once is honoured all the way to the model.

    Example:
        >>> ImageLimits(max_pixels=200_000_000).max_bytes == DEFAULT_MAX_BYTES
        True
    """

    max_pixels: int = DEFAULT_PIXEL_LIMIT
    """Refuse images with more pixels than this (decompression bombs)."""
    max_bytes: int = DEFAULT_MAX_BYTES
    """Refuse files, data or downloads larger than this."""

    def check(self, source: SourceImage) -> SourceImage:
        """``source`` if it is within these limits (an image read earlier, under others).

        Example:
            >>> from PIL import Image
            >>> from visionthink_agent.images import load_image
            >>> ImageLimits(max_pixels=99).check(load_image(Image.new("L", (10, 10))))
            Traceback (most recent call last):
            ...
            visionthink_agent.images.errors.ImageTooLargeError: image is 10x10 = 100 pixels, \
over the limit of 99 (raise max_pixels to allow it)

        Raises:
            ImageTooLargeError: as :func:`load_image` would for the same image.
        """
        if source.data is not None:
            check_bytes(len(source.data), self.max_bytes, source.origin)
        check_size(source.size, self.max_pixels)
        return source


DEFAULT_LIMITS = ImageLimits()
"""``load_image``'s own defaults: 89,478,485 pixels, 50 MiB."""


def check_bytes(length: int, max_bytes: int, origin: str = "image") -> None:
    """Refuse ``length`` bytes over ``max_bytes`` (the message names ``origin``).

    Example:
        >>> try:
        ...     check_bytes(10, 4, "photo.png")
        ... except ImageTooLargeError as exc:
        ...     print(exc)
        photo.png is 10 bytes, over the 4-byte limit (raise max_bytes to allow it)
    """
    if length > max_bytes:
        raise ImageTooLargeError(
            f"{origin} is {length} bytes, over the {max_bytes}-byte limit", setting="max_bytes"
        )


def check_size(size: tuple[int, int], max_pixels: int) -> None:
    """Refuse an image size: a zero side, over ``max_pixels``, or an aspect ratio Qwen refuses.

    Example:
        >>> check_size((0, 5), 100)
        Traceback (most recent call last):
        ...
        visionthink_agent.images.errors.ImageTooSmallError: image has a zero side: 0x5
    """
    width, height = size
    if width <= 0 or height <= 0:
        raise ImageTooSmallError(f"image has a zero side: {width}x{height}")
    if width * height > max_pixels:
        raise ImageTooLargeError(
            f"image is {width}x{height} = {width * height} pixels, over the limit of {max_pixels}",
            setting="max_pixels",
        )
    for what, (w, h) in (("image", size), ("its first look", first_look_size(width, height))):
        if max(w, h) / min(w, h) > MAX_ASPECT_RATIO:
            raise ImageTooLargeError(
                f"image is {width}x{height}: {what} ({w}x{h}) has an aspect ratio over "
                f"{MAX_ASPECT_RATIO}, which Qwen2.5-VL cannot process"
            )
