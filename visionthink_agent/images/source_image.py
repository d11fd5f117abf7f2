"""One original image, read lazily: its size and format at once, its views when asked for.

Built by :func:`~visionthink_agent.images.loading.load_image`; see that module for the sources.

Example:
    >>> from PIL import Image
    >>> from visionthink_agent.images import load_image
    >>> load_image(Image.new("RGB", (640, 480))).first_look_size
    (320, 240)
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from typing import Any

from PIL import Image, ImageOps

from visionthink_agent.images.decoding import (
    EXIF_TRANSPOSE,
    JPEG_FORMATS,
    open_image,
    pillow_guard_lifted,
    pillow_reason,
)
from visionthink_agent.images.encoding import (
    MIME_TYPES,
    EncodedImage,
    encode_image,
    wire_format_for,
)
from visionthink_agent.images.errors import (
    CorruptImageError,
)
from visionthink_agent.images.first_look import (
    downsample_for_first_look,
    ensure_min_side,
    first_look_size,
    min_side_size,
)
from visionthink_agent.images.modes import to_rgb
from visionthink_agent.images.regions import PixelBox, crop_region, crop_size, zoom_box
from visionthink_agent.images.tokens import (
    QWEN2_5_VL,
    TokenAccount,
    VisionGeometry,
    visual_tokens,
)
from visionthink_agent.protocol import BoxConvention

__all__ = ["SourceImage"]

_PASSTHROUGH_FORMATS = frozenset({"JPEG", "PNG", "WEBP"})
_PASSTHROUGH_MODES = frozenset({"RGB", "L"})


class SourceImage:
    """One original image, read lazily, with its first-look and high-resolution views.

    Build it with :func:`load_image`. Views are computed once and cached on the object; the
    object holds one copy of the original bytes (or the caller's PIL image) and nothing per turn.

    Example:
        >>> from visionthink_agent.images import load_image
        >>> src = load_image(Image.new("RGB", (1920, 1080)))
        >>> src.token_account(resized=True).as_dict()["used"]
        3337
    """

    def __init__(
        self,
        *,
        data: bytes | None,
        pil: Image.Image | None,
        image_format: str | None,
        raw_size: tuple[int, int],
        orientation: int,
        mode: str,
        frames: int,
        jpeg_subsampling: int | None = None,
        origin: str = "the image",
    ) -> None:
        self._data = data
        self._pil = pil
        self.format = image_format
        """Pillow's format name of the source (``JPEG``, ``PNG``, ...), None for a PIL input."""
        self._raw_size = raw_size
        self.orientation = orientation
        """EXIF orientation tag (1 = upright)."""
        self.mode = mode
        """Pillow mode of the source pixels (``RGB``, ``P``, ``CMYK``, ``I;16`` ...)."""
        self.frames = frames
        self.jpeg_subsampling = jpeg_subsampling
        """Chroma subsampling of a JPEG source (0 = 4:4:4, 1 = 4:2:2, 2 = 4:2:0), else None.
        JPEG re-encodes keep it: no more chroma loss than the source had, faster encoding."""
        self.origin = origin
        """Where the image came from, for messages: a path, a URL, ``the image data`` ..."""
        self._lock = threading.RLock()
        self._cache: dict[str, Any] = {}

    # -- facts known from the header -------------------------------------------------------
    @property
    def size(self) -> tuple[int, int]:
        """``(width, height)`` as displayed, i.e. after EXIF rotation."""
        w, h = self._raw_size
        return (h, w) if self.orientation in (5, 6, 7, 8) else (w, h)

    @property
    def first_look_size(self) -> tuple[int, int]:
        """Size of the first look (protocol §3), known without decoding."""
        return first_look_size(*self.size)

    @property
    def high_res_size(self) -> tuple[int, int]:
        """Size of the high-resolution view (the original, ≥ 28 px a side)."""
        return min_side_size(*self.size)

    @property
    def data(self) -> bytes | None:
        """The original file bytes (None when built from a PIL image)."""
        return self._data

    @property
    def mime_type(self) -> str | None:
        """MIME type of the source file, when it came as a file."""
        return MIME_TYPES.get(self.format or "")

    def token_account(
        self,
        *,
        resized: bool,
        zooms: Sequence[PixelBox] = (),
        min_pixels: int | None = None,
        max_pixels: int | None = None,
        geometry: VisionGeometry = QWEN2_5_VL,
    ) -> TokenAccount:
        """Visual tokens of one question on this image (Qwen2.5-VL arithmetic by default).

        Args:
            resized: the whole high-resolution image was requested.
            zooms: the pixel boxes of the regions requested (each crop counts its own tokens).
            min_pixels: override of the geometry's ``min_pixels``.
            max_pixels: override of the geometry's ``max_pixels``.
            geometry: the model family's processor geometry.

        Example:
            >>> from visionthink_agent.images import load_image
            >>> src = load_image(Image.new("RGB", (1920, 1080)))
            >>> src.token_account(resized=False).saved
            2045
            >>> src.token_account(resized=False, zooms=[(0, 0, 560, 280)]).high_res
            200
        """

        def tokens(size: tuple[int, int]) -> int:
            return visual_tokens(
                *size, min_pixels=min_pixels, max_pixels=max_pixels, geometry=geometry
            )

        full = tokens(self.high_res_size)
        return TokenAccount(
            first_look=tokens(self.first_look_size),
            high_res=(full if resized else 0) + sum(tokens(crop_size(box)) for box in zooms),
            full_res_baseline=full,
        )

    def zoom_box(self, bbox: Any, *, boxes: BoxConvention) -> PixelBox:
        """The pixel box of the original that a model's ``bbox_2d`` names (see :mod:`.regions`).

        Example:
            >>> from visionthink_agent.images import load_image
            >>> load_image(Image.new("RGB", (400, 200))).zoom_box(
            ...     [10, 20, 60, 45], boxes="first_look_pixels")
            (20, 40, 120, 90)

        Raises:
            ZoomBoxError: the box names no region of the image (message for the error turn).
        """
        return zoom_box(
            bbox, original_size=self.size, first_look_size=self.first_look_size, boxes=boxes
        )

    def zoom(self, box: PixelBox) -> Image.Image:
        """The region ``box`` of the original, RGB, ≥ 28 px a side (cached per box).

        Example:
            >>> from visionthink_agent.images import load_image
            >>> load_image(Image.new("RGB", (400, 200))).zoom((20, 40, 120, 90)).size
            (100, 50)
        """

        def crop() -> Image.Image:
            with pillow_guard_lifted(self._pixels):  # Image.crop repeats Pillow's check
                return crop_region(self.decode(), box)

        return self._cached(f"zoom{box}", crop)

    def zoom_payload(self, box: PixelBox) -> EncodedImage:
        """The region ``box``, encoded like the other views (cached per box).

        Example:
            >>> from visionthink_agent.images import load_image
            >>> load_image(Image.new("RGB", (400, 200))).zoom_payload((0, 0, 10, 10)).width
            28
        """
        return self._cached(f"zoom_payload{box}", lambda: self._encode(self.zoom(box)))

    # -- pixels ------------------------------------------------------------------------------
    def decode(self) -> Image.Image:
        """The full-resolution RGB pixels, EXIF-rotated (decoded once, then cached).

        Raises:
            CorruptImageError: the file cannot be decoded (e.g. truncated).
        """
        return self._cached("full", self._decode)

    def first_look(self, *, exact: bool = False) -> Image.Image:
        """The downsampled first look, exactly :attr:`first_look_size`.

        Args:
            exact: reproduce training pixel for pixel (full decode, then LANCZOS). Off by
                default: JPEGs are decoded at half scale, which is several times faster and
                visually equivalent.

        Example:
            >>> from visionthink_agent.images import load_image
            >>> load_image(Image.new("RGB", (101, 61))).first_look().size
            (50, 30)
        """
        if exact or self.format not in JPEG_FORMATS:
            return self._cached(
                "first_look_exact", lambda: downsample_for_first_look(self.decode())
            )
        return self._cached("first_look_fast", self._fast_first_look)

    def high_res(self) -> Image.Image:
        """The high-resolution view as RGB pixels (the original, ≥ 28 px a side)."""
        return self._cached("high_res", lambda: ensure_min_side(self.decode()))

    # -- payloads for the wire ----------------------------------------------------------------
    def first_look_payload(self, *, exact: bool = False) -> EncodedImage:
        """The first look, encoded (JPEG for JPEG sources, WebP for WebP, PNG otherwise).

        Example:
            >>> from visionthink_agent.images import load_image
            >>> load_image(Image.new("RGB", (64, 64))).first_look_payload().mime_type
            'image/png'
        """
        key = "first_look_payload_exact" if exact else "first_look_payload"
        return self._cached(key, lambda: self._encode(self.first_look(exact=exact)))

    def high_res_payload(self) -> EncodedImage:
        """The high-resolution view, encoded: the original bytes untouched when possible.

        The original passes through when it is a still JPEG/PNG/WebP in RGB or greyscale,
        upright, with both sides ≥ 28 px; otherwise the decoded view is re-encoded.
        """
        return self._cached("high_res_payload", self._high_res_payload)

    @property
    def can_pass_through(self) -> bool:
        """Whether :meth:`high_res_payload` sends the original bytes as they are."""
        return (
            self._data is not None
            and self.format in _PASSTHROUGH_FORMATS
            and self.mode in _PASSTHROUGH_MODES
            and self.orientation == 1
            and self.frames == 1
            and self.high_res_size == self.size
        )

    def _high_res_payload(self) -> EncodedImage:
        if self.can_pass_through:
            assert self._data is not None
            assert self.format is not None
            w, h = self.size
            return EncodedImage(self._data, MIME_TYPES[self.format], w, h)
        return self._encode(self.high_res())

    def _encode(self, image: Image.Image) -> EncodedImage:
        return encode_image(
            image, wire_format_for(self.format), jpeg_subsampling=self.jpeg_subsampling
        )

    # -- internals ---------------------------------------------------------------------------
    @property
    def _pixels(self) -> int:
        width, height = self._raw_size
        return width * height

    def _cached(self, key: str, build: Any) -> Any:
        with self._lock:
            if key not in self._cache:
                self._cache[key] = build()
            return self._cache[key]

    def _decode(self) -> Image.Image:
        if self._pil is not None:
            return to_rgb(ImageOps.exif_transpose(self._pil))
        assert self._data is not None
        try:
            with pillow_guard_lifted(self._pixels), open_image(self._data) as im:
                im.seek(0)
                im.load()
                return to_rgb(ImageOps.exif_transpose(im))
        except (OSError, SyntaxError, ValueError) as exc:
            raise self._corrupt(exc) from exc

    def _fast_first_look(self) -> Image.Image:
        """JPEG only: decode at half scale (libjpeg DCT scaling), then finish with LANCZOS."""
        assert self._data is not None
        raw_w, raw_h = self._raw_size
        try:
            with pillow_guard_lifted(self._pixels), open_image(self._data) as im:
                drafted = im.draft("RGB", (max(1, raw_w // 2), max(1, raw_h // 2)))
                im.load()
                image = to_rgb(im)
        except (OSError, SyntaxError, ValueError) as exc:
            raise self._corrupt(exc) from exc
        target = first_look_size(raw_w, raw_h)  # the rule commutes with rotation
        if image.size != target:
            # A scale-1/s draft of an odd side has ceil(side / s) pixels, the last one partial:
            # the box is the source's true extent, so the geometry matches the exact path.
            # reducing_gap box-reduces first when the draft could not scale (much faster).
            box = drafted[1] if drafted else (0, 0, raw_w, raw_h)
            image = image.resize(target, Image.Resampling.LANCZOS, box=box, reducing_gap=3.0)
        transpose = EXIF_TRANSPOSE.get(self.orientation)
        return image if transpose is None else image.transpose(transpose)

    def _corrupt(self, exc: BaseException) -> CorruptImageError:
        return CorruptImageError(
            f"cannot decode {self.origin}: a damaged or truncated {self.format} file "
            f"({pillow_reason(exc)})"
        )

    def __repr__(self) -> str:
        w, h = self.size
        return f"SourceImage({self.format or 'PIL'} {w}x{h}, mode={self.mode})"
