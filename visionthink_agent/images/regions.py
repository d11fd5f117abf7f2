"""Zoom regions: a model's ``bbox_2d`` → a pixel box of the original image, and its crop.

The model writes a box in its family's convention (:data:`~visionthink_agent.protocol.
BoxConvention`): absolute pixels of the first look it was shown (Qwen2.5-VL), or 0–1000 relative
coordinates (Qwen3-VL). :func:`zoom_box` maps it onto the **original** image, so the crop has
the full resolution the first look lacked; :func:`crop_region` cuts it and applies the same
≥ 28 px rule as the high-resolution view (its token count then follows the processor's own
``smart_resize`` limits, like any image).

A box partly outside the image is clipped to it; a box with inverted corners, zero area, no
overlap with the image, or a shape no Qwen processor accepts (a strip more than 200 times longer
than wide) raises :class:`ZoomBoxError`, whose message is worded for the protocol's
error turn (a model mistake is a turn, not an exception, on every surface).

Example:
    >>> zoom_box([10, 20, 60, 45], original_size=(400, 200), first_look_size=(200, 100),
    ...          boxes="first_look_pixels")
    (20, 40, 120, 90)
    >>> zoom_box([500, 0, 1000, 500], original_size=(400, 200), first_look_size=(200, 100),
    ...          boxes="relative_1000")
    (200, 0, 400, 100)
"""

from __future__ import annotations

import contextlib
import json
import math
from collections.abc import Sequence
from typing import Any

from PIL import Image

from visionthink_agent.images.first_look import ensure_min_side, min_side_size
from visionthink_agent.images.tokens import MAX_ASPECT_RATIO
from visionthink_agent.protocol import BoxConvention

__all__ = [
    "PixelBox",
    "ZoomBoxError",
    "crop_region",
    "crop_size",
    "model_bbox",
    "parse_bbox",
    "zoom_box",
]

PixelBox = tuple[int, int, int, int]
"""``(left, top, right, bottom)`` in original pixels, right/bottom exclusive (Pillow's crop)."""

_RELATIVE_SCALE = 1000


class ZoomBoxError(ValueError):
    """A ``bbox_2d`` that names no region of the image; the message goes in the error turn."""


def parse_bbox(value: Any) -> tuple[float, float, float, float]:
    """Read ``bbox_2d`` as four finite numbers (a JSON string of them is accepted too).

    Example:
        >>> parse_bbox([1, 2, 3.5, 4])
        (1.0, 2.0, 3.5, 4.0)
        >>> parse_bbox("[1, 2, 3, 4]")
        (1.0, 2.0, 3.0, 4.0)

    Raises:
        ZoomBoxError: when it is not a list of four finite numbers.
    """
    if isinstance(value, str):
        with contextlib.suppress(ValueError):
            value = json.loads(value)
    if (
        not isinstance(value, Sequence)
        or isinstance(value, str)
        or len(value) != 4
        or not all(isinstance(v, int | float) and not isinstance(v, bool) for v in value)
        or not all(math.isfinite(v) for v in value)
    ):
        raise ZoomBoxError("bbox_2d must be a list of four numbers [x1, y1, x2, y2]")
    x1, y1, x2, y2 = (float(v) for v in value)
    return x1, y1, x2, y2


def _fmt(box: Sequence[float]) -> str:
    return "[" + ", ".join(f"{v:g}" for v in box) + "]"


def zoom_box(
    bbox: Any,
    *,
    original_size: tuple[int, int],
    first_look_size: tuple[int, int],
    boxes: BoxConvention,
) -> PixelBox:
    """Map a model's ``bbox_2d`` onto the original image (clipped to it).

    Args:
        bbox: ``[x1, y1, x2, y2]`` as the model wrote it.
        original_size: ``(width, height)`` of the original (EXIF-rotated) image.
        first_look_size: ``(width, height)`` of the first look the model was shown.
        boxes: the family's box convention.

    Example:
        >>> zoom_box([-5, -5, 10, 10], original_size=(100, 100), first_look_size=(50, 50),
        ...          boxes="first_look_pixels")
        (0, 0, 20, 20)

    Raises:
        ZoomBoxError: for a malformed box, inverted corners, zero area, a box outside the
            image, or a region thinner than the processors' 200:1 aspect limit.
    """
    x1, y1, x2, y2 = parse_bbox(bbox)
    if x2 < x1 or y2 < y1:
        raise ZoomBoxError(
            f"bbox_2d {_fmt((x1, y1, x2, y2))} has inverted corners: "
            "it must be [x1, y1, x2, y2] with x1 < x2 and y1 < y2"
        )
    if x2 == x1 or y2 == y1:
        raise ZoomBoxError(f"bbox_2d {_fmt((x1, y1, x2, y2))} has zero area")
    width, height = original_size
    if boxes == "relative_1000":
        frame_w = frame_h = _RELATIVE_SCALE
        where = "the 0-1000 range"
    elif boxes == "first_look_pixels":
        frame_w, frame_h = first_look_size
        where = f"the image, which is {frame_w}x{frame_h} pixels"
    else:
        raise ValueError(f"unknown box convention {boxes!r}")
    if x2 <= 0 or y2 <= 0 or x1 >= frame_w or y1 >= frame_h:
        raise ZoomBoxError(f"bbox_2d {_fmt((x1, y1, x2, y2))} lies outside {where}")
    sx, sy = width / frame_w, height / frame_h
    left = max(0, math.floor(max(x1, 0.0) * sx))
    top = max(0, math.floor(max(y1, 0.0) * sy))
    right = min(width, math.ceil(min(x2, frame_w) * sx))
    bottom = min(height, math.ceil(min(y2, frame_h) * sy))
    # floor/ceil keep at least one pixel of a box with positive area inside the frame.
    right, bottom = max(right, left + 1), max(bottom, top + 1)
    w, h = right - left, bottom - top
    if max(w, h) > MAX_ASPECT_RATIO * min(w, h):
        raise ZoomBoxError(
            f"bbox_2d {_fmt((x1, y1, x2, y2))} is a {w}x{h}-pixel strip of the original: "
            f"a region must be at most {MAX_ASPECT_RATIO} times longer than it is wide"
        )
    return left, top, right, bottom


def model_bbox(
    box: PixelBox,
    *,
    original_size: tuple[int, int],
    first_look_size: tuple[int, int],
    boxes: BoxConvention,
) -> list[int]:
    """The ``bbox_2d`` a model writes to see all of ``box`` (original pixels) in a zoom.

    The inverse of :func:`visionthink_agent.images.zoom_box`, rounded outwards and kept inside
    the model's frame: the region the agent crops contains ``box``.

    Args:
        box: ``(left, top, right, bottom)`` in original pixels.
        original_size: ``(width, height)`` of the original image.
        first_look_size: ``(width, height)`` of the first look the model was shown.
        boxes: the family's convention: first-look pixels or 0–1000.

    Example:
        >>> sizes = dict(original_size=(901, 677), first_look_size=(450, 338))
        >>> bbox = model_bbox((333, 101, 500, 147), boxes="relative_1000", **sizes)
        >>> bbox, zoom_box(bbox, boxes="relative_1000", **sizes)
        ([369, 149, 555, 218], (332, 100, 501, 148))
    """
    width, height = original_size
    if boxes == "relative_1000":
        frame_w = frame_h = _RELATIVE_SCALE
    else:
        frame_w, frame_h = first_look_size
    left, top, right, bottom = box
    sx, sy = frame_w / width, frame_h / height
    return [
        max(0, math.floor(left * sx)),
        max(0, math.floor(top * sy)),
        min(frame_w, math.ceil(right * sx)),
        min(frame_h, math.ceil(bottom * sy)),
    ]


def crop_size(box: PixelBox) -> tuple[int, int]:
    """Size of the crop of ``box`` as sent to the model (≥ 28 px a side, like the high-res view).

    Example:
        >>> crop_size((0, 0, 10, 100)), crop_size((0, 0, 300, 200))
        ((28, 280), (300, 200))
    """
    left, top, right, bottom = box
    return min_side_size(right - left, bottom - top)


def crop_region(image: Image.Image, box: PixelBox) -> Image.Image:
    """Cut ``box`` out of the original image, scaled up (LANCZOS) to ≥ 28 px a side if needed.

    Example:
        >>> crop_region(Image.new("RGB", (400, 200)), (20, 40, 120, 90)).size
        (100, 50)
    """
    return ensure_min_side(image.crop(box))
