"""Qwen visual-token arithmetic (protocol §3): one LLM token per 28×28 pixels on Qwen2.5-VL.

These reproduce the Qwen image processors' ``smart_resize`` exactly (Python's ``round``, i.e.
round-half-to-even, included), so counts match ``image_grid_thw.prod() // 4``. Qwen3-VL uses the
same rule with 16-px patches merged 2×2 (one token per 32×32 pixels) and its own pixel limits:
pass :data:`QWEN3_VL` as ``geometry``.

Example:
    >>> visual_tokens(1920, 1080), visual_tokens(960, 540)
    (2691, 646)
    >>> visual_tokens(1920, 1080, geometry=QWEN3_VL), visual_tokens(960, 540, geometry=QWEN3_VL)
    (2040, 510)
"""

from __future__ import annotations

import math
from dataclasses import dataclass

__all__ = [
    "DEFAULT_MAX_PIXELS",
    "DEFAULT_MIN_PIXELS",
    "MAX_ASPECT_RATIO",
    "PIXELS_PER_TOKEN",
    "QWEN2_5_VL",
    "QWEN3_VL",
    "TokenAccount",
    "VisionGeometry",
    "smart_resize",
    "visual_tokens",
]

PATCH_FACTOR = 28
"""14-px patches merged 2×2: the processor resizes to multiples of 28."""
PIXELS_PER_TOKEN = PATCH_FACTOR * PATCH_FACTOR
DEFAULT_MIN_PIXELS = 3136
DEFAULT_MAX_PIXELS = 12845056
MAX_ASPECT_RATIO = 200
"""The processor refuses images whose long side exceeds 200× the short side."""


@dataclass(frozen=True)
class VisionGeometry:
    """How a model family's image processor turns pixels into LLM tokens.

    Attributes:
        factor: pixels per token side (patch size × spatial merge size).
        min_pixels: the processor's default ``min_pixels`` (``size["shortest_edge"]``).
        max_pixels: the processor's default ``max_pixels`` (``size["longest_edge"]``).

    Example:
        >>> QWEN3_VL.factor, QWEN2_5_VL.pixels_per_token
        (32, 784)
    """

    factor: int
    min_pixels: int
    max_pixels: int

    @property
    def pixels_per_token(self) -> int:
        """Pixels one LLM token covers."""
        return self.factor * self.factor


QWEN2_5_VL = VisionGeometry(
    factor=PATCH_FACTOR, min_pixels=DEFAULT_MIN_PIXELS, max_pixels=DEFAULT_MAX_PIXELS
)
"""Qwen2.5-VL: 14-px patches, 2×2 merge, the released checkpoints' limits."""
QWEN3_VL = VisionGeometry(factor=32, min_pixels=65536, max_pixels=16777216)
"""Qwen3-VL: 16-px patches, 2×2 merge, limits of the released ``preprocessor_config.json``."""


def smart_resize(
    height: int,
    width: int,
    *,
    factor: int = PATCH_FACTOR,
    min_pixels: int = DEFAULT_MIN_PIXELS,
    max_pixels: int = DEFAULT_MAX_PIXELS,
) -> tuple[int, int]:
    """The ``(height, width)`` the Qwen2.5-VL processor resizes an image to.

    Note the argument order (height first), as in the processor.

    Example:
        >>> smart_resize(1080, 1920)
        (1092, 1932)

    Raises:
        ValueError: for a non-positive side or an aspect ratio above 200.
    """
    if height <= 0 or width <= 0:
        raise ValueError(f"image sides must be positive, got {width}x{height}")
    if max(height, width) / min(height, width) > MAX_ASPECT_RATIO:
        raise ValueError(
            f"absolute aspect ratio must be smaller than {MAX_ASPECT_RATIO}, "
            f"got {max(height, width) / min(height, width):.1f} ({width}x{height})"
        )
    # As in the processor: no max(factor, ...) here (a side under 14 px rounds to 0 and lands in
    # the min_pixels branch, which changes the result for thin images).
    h_bar = round(height / factor) * factor
    w_bar = round(width / factor) * factor
    if h_bar * w_bar > max_pixels:
        beta = math.sqrt((height * width) / max_pixels)
        h_bar = max(factor, math.floor(height / beta / factor) * factor)
        w_bar = max(factor, math.floor(width / beta / factor) * factor)
    elif h_bar * w_bar < min_pixels:
        beta = math.sqrt(min_pixels / (height * width))
        h_bar = math.ceil(height * beta / factor) * factor
        w_bar = math.ceil(width * beta / factor) * factor
    return h_bar, w_bar


def visual_tokens(
    width: int,
    height: int,
    *,
    min_pixels: int | None = None,
    max_pixels: int | None = None,
    geometry: VisionGeometry = QWEN2_5_VL,
) -> int:
    """LLM tokens a ``width × height`` image costs (``<|image_pad|>`` count), Qwen2.5-VL default.

    The ``<|vision_start|>``/``<|vision_end|>`` pair adds 2 more tokens in the prompt.

    Args:
        width: image width in pixels.
        height: image height in pixels.
        min_pixels: override of ``geometry.min_pixels``.
        max_pixels: override of ``geometry.max_pixels``.
        geometry: the model family's processor geometry (:data:`QWEN2_5_VL`, :data:`QWEN3_VL`).

    Example:
        >>> visual_tokens(2048, 1024), visual_tokens(1024, 512), visual_tokens(4032, 3024)
        (2701, 666, 15552)
        >>> visual_tokens(100, 60, geometry=QWEN3_VL)  # lifted to Qwen3-VL's 65536-px minimum
        77
    """
    h, w = smart_resize(
        height,
        width,
        factor=geometry.factor,
        min_pixels=geometry.min_pixels if min_pixels is None else min_pixels,
        max_pixels=geometry.max_pixels if max_pixels is None else max_pixels,
    )
    return (h * w) // geometry.pixels_per_token


@dataclass(frozen=True)
class TokenAccount:
    """Visual tokens one question spent, against always sending the full-resolution image.

    Attributes:
        first_look: tokens of the downsampled first look.
        high_res: tokens of every high-resolution request (the resized image and/or zoomed
            regions), 0 when none was made.
        full_res_baseline: tokens the same question costs when only the full image is sent.

    Example:
        >>> acc = TokenAccount(first_look=646, high_res=0, full_res_baseline=2691)
        >>> acc.used, round(acc.ratio, 3), acc.saved
        (646, 0.24, 2045)
    """

    first_look: int
    high_res: int
    full_res_baseline: int

    @property
    def used(self) -> int:
        """Visual tokens actually in the context (the first look and every requested view)."""
        return self.first_look + self.high_res

    @property
    def saved(self) -> int:
        """Tokens saved against the baseline (negative after a resize: ≈ -0.25× baseline)."""
        return self.full_res_baseline - self.used

    @property
    def ratio(self) -> float:
        """``used / full_res_baseline`` (≈ 0.25 direct, ≈ 1.25 after a resize)."""
        return self.used / self.full_res_baseline if self.full_res_baseline else 0.0

    def as_dict(self) -> dict[str, int | float]:
        """Plain data for state, JSON and stream events.

        Example:
            >>> TokenAccount(10, 0, 40).as_dict()["ratio"]
            0.25
        """
        return {
            "first_look": self.first_look,
            "high_res": self.high_res,
            "full_res_baseline": self.full_res_baseline,
            "used": self.used,
            "saved": self.saved,
            "ratio": self.ratio,
        }
