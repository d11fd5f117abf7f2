"""Loading images from anything users hand us, lazily, with precise errors.

:func:`load_image` reads only the header: format, size, EXIF orientation and mode are known at
once, pixels are decoded on demand. :class:`SourceImage` then prepares the two views VisionThink
needs:

* the **first look** (half each side): JPEGs are decoded at half scale directly (libjpeg's DCT
  scaling), so a 12 MP photo is never decoded at full resolution on the direct-answer path;
  ``exact=True`` gives the training-identical path (full decode, LANCZOS);
* the **high-resolution** view: the original bytes, passed through untouched when a server can
  take them, decoded only when they cannot (EXIF rotation, CMYK, alpha, 16-bit, animation).

Example:
    >>> import io
    >>> from PIL import Image
    >>> buf = io.BytesIO(); Image.new("RGB", (640, 480), "white").save(buf, "JPEG")
    >>> img = load_image(buf.getvalue())
    >>> img.size, img.first_look_size, img.first_look().size
    ((640, 480), (320, 240), (320, 240))
    >>> img.high_res_payload().data == buf.getvalue()   # passed through untouched
    True
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import io
import os
import re
import threading
import warnings
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeAlias
from urllib.parse import unquote, urlsplit

from PIL import Image, ImageOps, JpegImagePlugin, UnidentifiedImageError

from visionthink_agent.images.blocks import image_reference_from_block
from visionthink_agent.images.encoding import (
    MIME_TYPES,
    EncodedImage,
    encode_image,
    wire_format_for,
)
from visionthink_agent.images.errors import (
    CorruptImageError,
    ImageTooLargeError,
    ImageTooSmallError,
    LocalFileError,
    NotAnImageError,
    UnsupportedSourceError,
)
from visionthink_agent.images.fetch import fetch_url
from visionthink_agent.images.first_look import (
    downsample_for_first_look,
    ensure_min_side,
    first_look_size,
    min_side_size,
)
from visionthink_agent.images.modes import to_rgb
from visionthink_agent.images.regions import PixelBox, crop_region, crop_size, zoom_box
from visionthink_agent.images.tokens import (
    MAX_ASPECT_RATIO,
    QWEN2_5_VL,
    TokenAccount,
    VisionGeometry,
    visual_tokens,
)
from visionthink_agent.protocol import BoxConvention
from visionthink_agent.urls import display_url

__all__ = [
    "DEFAULT_LIMITS",
    "DEFAULT_MAX_BYTES",
    "DEFAULT_PIXEL_LIMIT",
    "ImageInput",
    "ImageLimits",
    "SourceImage",
    "inline_image_bytes",
    "load_image",
]

DEFAULT_PIXEL_LIMIT = 89_478_485
"""Decompression-bomb guard: Pillow's own default (≈ 9459²), configurable per call. The limit a
call sets replaces Pillow's process-wide ``PIL.Image.MAX_IMAGE_PIXELS`` for that image, above
it as well as below (see :func:`_pillow_guard_lifted`)."""
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
            >>> ImageLimits(max_pixels=99).check(load_image(Image.new("L", (10, 10))))
            Traceback (most recent call last):
            ...
            visionthink_agent.images.errors.ImageTooLargeError: image is 10x10 = 100 pixels, \
over the limit of 99 (raise max_pixels to allow it)

        Raises:
            ImageTooLargeError: as :func:`load_image` would for the same image.
        """
        if source.data is not None and len(source.data) > self.max_bytes:
            raise ImageTooLargeError(
                f"{source.origin} is {len(source.data)} bytes, over the {self.max_bytes}-byte "
                "limit",
                setting="max_bytes",
            )
        _check_size(source.size, self.max_pixels)
        return source


DEFAULT_LIMITS = ImageLimits()
"""``load_image``'s own defaults: 89,478,485 pixels, 50 MiB."""


_PASSTHROUGH_FORMATS = frozenset({"JPEG", "PNG", "WEBP"})
_JPEG_FORMATS = frozenset({"JPEG", "MPO"})
"""MPO is what phone cameras write (a JPEG plus extra pictures): decoded like a JPEG."""
_PASSTHROUGH_MODES = frozenset({"RGB", "L"})
_ORIENTATION_TAG = 0x0112
_EXIF_TRANSPOSE = {
    2: Image.Transpose.FLIP_LEFT_RIGHT,
    3: Image.Transpose.ROTATE_180,
    4: Image.Transpose.FLIP_TOP_BOTTOM,
    5: Image.Transpose.TRANSPOSE,
    6: Image.Transpose.ROTATE_270,
    7: Image.Transpose.TRANSVERSE,
    8: Image.Transpose.ROTATE_90,
}
"""EXIF orientation → the transpose that makes it upright (as ``ImageOps.exif_transpose``)."""
_B64_CHARS = re.compile(r"^[A-Za-z0-9+/=_\-\s]+$")

ImageInput: TypeAlias = (
    "SourceImage | Image.Image | bytes | bytearray | memoryview | str | os.PathLike[str] | "
    "Mapping[str, Any]"
)


class SourceImage:
    """One original image, read lazily, with its first-look and high-resolution views.

    Build it with :func:`load_image`. Views are computed once and cached on the object; the
    object holds one copy of the original bytes (or the caller's PIL image) and nothing per turn.

    Example:
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
            >>> load_image(Image.new("RGB", (400, 200))).zoom((20, 40, 120, 90)).size
            (100, 50)
        """

        def crop() -> Image.Image:
            with _pillow_guard_lifted(self._pixels):  # Image.crop repeats Pillow's check
                return crop_region(self.decode(), box)

        return self._cached(f"zoom{box}", crop)

    def zoom_payload(self, box: PixelBox) -> EncodedImage:
        """The region ``box``, encoded like the other views (cached per box).

        Example:
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
            >>> load_image(Image.new("RGB", (101, 61))).first_look().size
            (50, 30)
        """
        if exact or self.format not in _JPEG_FORMATS:
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
            with _pillow_guard_lifted(self._pixels), _open(self._data) as im:
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
            with _pillow_guard_lifted(self._pixels), _open(self._data) as im:
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
        transpose = _EXIF_TRANSPOSE.get(self.orientation)
        return image if transpose is None else image.transpose(transpose)

    def _corrupt(self, exc: BaseException) -> CorruptImageError:
        return CorruptImageError(
            f"cannot decode {self.origin}: a damaged or truncated {self.format} file "
            f"({_pillow_reason(exc)})"
        )

    def __repr__(self) -> str:
        w, h = self.size
        return f"SourceImage({self.format or 'PIL'} {w}x{h}, mode={self.mode})"


def load_image(
    source: ImageInput,
    *,
    max_pixels: int = DEFAULT_PIXEL_LIMIT,
    max_bytes: int = DEFAULT_MAX_BYTES,
    allow_private_urls: bool = False,
    allow_local_files: bool = False,
    timeout: float = 10.0,
) -> SourceImage:
    """Read an image from any supported source, header only.

    Sources: a file path (``str`` or ``PathLike``), ``file://`` / ``http(s)://`` / ``data:`` URL,
    raw bytes, base64 text, a PIL image, a :class:`SourceImage` (returned as is), or an image
    content block (LangChain v1 ``{"type": "image", "base64"|"url", "mime_type"}``, legacy
    ``source_type`` blocks, OpenAI ``{"type": "image_url", "image_url": {"url"}}``, Responses
    ``input_image``, and the camelCase ``{"type": "image", "data", "mimeType"}`` that some chat
    UIs send).

    Args:
        source: the image.
        max_pixels: refuse images with more pixels than this (decompression bombs), checked
            on the header before any pixel is decoded. It replaces Pillow's own guard
            (``PIL.Image.MAX_IMAGE_PIXELS``) for this image: a bomb is refused in these words,
            and an image allowed above Pillow's limit (179 MP) is decoded.
        max_bytes: refuse files or downloads larger than this.
        allow_private_urls: allow URLs that resolve to private, loopback or link-local addresses.
        allow_local_files: let an image *content block* name a local file (``file_path``, a
            ``file://`` URL or a path). Off by default, like private URLs: blocks may come from
            a client (a chat UI, a ``langgraph dev`` server), which must not make this process
            read its own files. A path or ``file://`` URL passed directly as ``source`` is the
            caller's own choice and is always read.
        timeout: overall download deadline for URLs, in seconds.

    Example:
        >>> png = ("iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmM"
        ...        "IQAAAABJRU5ErkJggg==")
        >>> url = "data:image/png;base64," + png
        >>> load_image({"type": "image_url", "image_url": {"url": url}}).size
        (1, 1)

        >>> load_image({"type": "image", "file_path": "/etc/passwd"})
        Traceback (most recent call last):
        ...
        visionthink_agent.images.errors.LocalFileError: refusing to read '/etc/passwd' named in \
an image block: local files are off (pass allow_local_files=True to allow it)

    Raises:
        NotAnImageError, CorruptImageError, ImageTooLargeError, ImageTooSmallError,
        UnsupportedSourceError, UnsafeURLError, LocalFileError, DownloadError (all
        :class:`ImageError`; messages name the source, never bytes of a file or a response).
    """
    if isinstance(source, SourceImage):
        return source
    if isinstance(source, Image.Image):
        return _from_pil(source, max_pixels)
    if isinstance(source, Mapping):
        reference = image_reference_from_block(source)
        if not allow_local_files and _names_local_file(reference):
            raise LocalFileError(
                f"refusing to read {display_url(reference)[:200]!r} named in an image block: "
                "local files are off",
                setting="allow_local_files",
            )
        source = reference
    if isinstance(source, (bytes, bytearray, memoryview)):
        return _from_bytes(bytes(source), max_pixels, max_bytes, "the image data")
    if isinstance(source, os.PathLike):
        path = Path(source)
        return _from_bytes(_read_file(path, max_bytes), max_pixels, max_bytes, str(path))
    if isinstance(source, str):
        data, origin = _bytes_from_string(
            source, max_bytes=max_bytes, allow_private_urls=allow_private_urls, timeout=timeout
        )
        return _from_bytes(data, max_pixels, max_bytes, origin)
    raise UnsupportedSourceError(f"cannot load an image from a {type(source).__name__}")


def inline_image_bytes(source: ImageInput, *, max_bytes: int = DEFAULT_MAX_BYTES) -> bytes | None:
    """The file bytes of an image carried inline, without opening it; None otherwise.

    Inline means raw bytes, a ``data:`` URL, or a content block holding base64 data (any of the
    block formats :func:`load_image` reads). Paths, http(s) URLs and PIL images give None:
    reading those is :func:`load_image`'s work. The bytes are not checked to be an image.

    Raises:
        NotAnImageError: the data is not valid base64, or a data URL of a non-image type.
        ImageTooLargeError: the data is over ``max_bytes``.
        UnsupportedSourceError: a malformed data URL.

    Example:
        >>> inline_image_bytes({"type": "image", "base64": "iVBORw==", "mime_type": "image/png"})
        b'\\x89PNG'
        >>> inline_image_bytes({"type": "image", "url": "https://example.com/a.png"}) is None
        True
    """
    if isinstance(source, (bytes, bytearray, memoryview)):
        data = bytes(source)
        if len(data) > max_bytes:
            raise ImageTooLargeError(
                f"image is {len(data)} bytes, over the {max_bytes}-byte limit", setting="max_bytes"
            )
        return data
    reference = image_reference_from_block(source) if isinstance(source, Mapping) else source
    if isinstance(reference, str) and reference[:5] == "data:":
        return _from_data_url(reference.strip(), max_bytes)
    return None


def _scheme(reference: str) -> str:
    return urlsplit(reference).scheme.lower() if "://" in reference[:16] else ""


def _names_local_file(reference: str) -> bool:
    """Whether a block's reference would be read from disk (not data, not an http(s) URL)."""
    stripped = reference.strip()
    return not stripped.startswith("data:") and _scheme(stripped) in ("", "file")


def _bytes_from_string(
    source: str, *, max_bytes: int, allow_private_urls: bool, timeout: float
) -> tuple[bytes, str]:
    """The file bytes a string names, and how to name their source in messages."""
    stripped = source.strip()
    if stripped.startswith("data:"):
        return _from_data_url(stripped, max_bytes), "the data URL"
    scheme = _scheme(stripped)
    if scheme in ("http", "https"):
        data = fetch_url(
            stripped, allow_private=allow_private_urls, max_bytes=max_bytes, timeout=timeout
        )
        return data, display_url(stripped)
    if scheme == "file":
        path = Path(unquote(urlsplit(stripped).path))
        return _read_file(path, max_bytes), str(path)
    if scheme:
        shown = display_url(stripped)[:80]
        raise UnsupportedSourceError(f"unsupported URL scheme {scheme!r} in {shown!r}")
    if len(stripped) < 4096 and ("/" in stripped or "." in stripped[-6:] or os.sep in stripped):
        path = Path(stripped).expanduser()
        if _exists(path) or not _B64_CHARS.match(stripped):
            return _read_file(path, max_bytes), str(path)
    if _B64_CHARS.match(stripped):
        return _decode_base64(stripped, max_bytes, what="base64 text"), "the base64 text"
    raise UnsupportedSourceError(
        f"{stripped[:80]!r} is not an existing file, an http(s)/file/data URL or base64 image data"
    )


def _from_data_url(url: str, max_bytes: int) -> bytes:
    header, sep, payload = url.partition(",")
    if not sep:
        raise UnsupportedSourceError("malformed data URL: no ',' separating header and data")
    if not header.endswith(";base64"):
        raise UnsupportedSourceError("data URLs must be base64-encoded (';base64')")
    mime = header[5:].split(";", 1)[0]
    if mime and not mime.startswith("image/"):
        raise NotAnImageError(f"data URL holds {mime!r}, not an image")
    return _decode_base64(payload, max_bytes, what="data URL")


def _decode_base64(text: str, max_bytes: int, *, what: str) -> bytes:
    if len(text) * 3 // 4 > max_bytes:
        raise ImageTooLargeError(f"{what} is over the {max_bytes}-byte limit", setting="max_bytes")
    with contextlib.suppress(binascii.Error, ValueError):
        # Canonical base64 (what clients send) decodes as is: no whitespace scan over megabytes.
        return base64.b64decode(text, validate=True)
    cleaned = re.sub(r"\s+", "", text)
    try:
        if "-" in cleaned or "_" in cleaned:
            return base64.urlsafe_b64decode(cleaned + "=" * (-len(cleaned) % 4))
        return base64.b64decode(cleaned + "=" * (-len(cleaned) % 4), validate=True)
    except (binascii.Error, ValueError) as exc:
        raise NotAnImageError(f"{what} is not valid base64: {exc}") from exc


def _exists(path: Path) -> bool:
    try:
        return path.exists()
    except (OSError, ValueError):  # a name too long for the file system, a NUL byte
        return False


def _read_file(path: Path, max_bytes: int) -> bytes:
    try:
        size = path.stat().st_size
    except FileNotFoundError as exc:
        raise UnsupportedSourceError(f"no such image file: {path}") from exc
    except (OSError, ValueError) as exc:
        raise UnsupportedSourceError(f"cannot read {str(path)[:200]}: {exc}") from exc
    if not path.is_file():
        raise UnsupportedSourceError(f"{path} is not a file")
    if size > max_bytes:
        raise ImageTooLargeError(
            f"{path} is {size} bytes, over the {max_bytes}-byte limit", setting="max_bytes"
        )
    try:
        return path.read_bytes()
    except OSError as exc:
        raise UnsupportedSourceError(f"cannot read {path}: {exc.strerror or exc}") from exc


def _open(data: bytes) -> Image.Image:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", Image.DecompressionBombWarning)
        return Image.open(io.BytesIO(data))


_PILLOW_GUARD_LOCK = threading.RLock()


@contextlib.contextmanager
def _pillow_guard_lifted(pixels: int | None = None) -> Iterator[None]:
    """Pillow's decompression-bomb guard set aside while an image we check ourselves is read.

    ``load_image`` checks the header against its own ``max_pixels`` before any pixel is decoded,
    so Pillow's guard (which refuses more than ``2 * PIL.Image.MAX_IMAGE_PIXELS`` in its own
    words) must not refuse what the caller allowed, nor name a limit the caller did not set.
    The setting is process-wide: it is lifted under a lock, only for images over it
    (``pixels``; ``None`` for a header not read yet), and restored at once.

    Example:
        >>> with _pillow_guard_lifted(10**9):
        ...     Image.MAX_IMAGE_PIXELS is None
        True
        >>> Image.MAX_IMAGE_PIXELS
        89478485
    """
    limit = Image.MAX_IMAGE_PIXELS
    if limit is None or (pixels is not None and pixels <= limit):
        yield
        return
    with _PILLOW_GUARD_LOCK:
        saved, Image.MAX_IMAGE_PIXELS = Image.MAX_IMAGE_PIXELS, None
        try:
            yield
        finally:
            Image.MAX_IMAGE_PIXELS = saved


def _pillow_reason(exc: BaseException) -> str:
    """Pillow's reason for a failure, unless it quotes bytes of the file (some do: chunk ids)."""
    text = str(exc)
    if not text or "b'" in text or 'b"' in text or "\\x" in text:
        return type(exc).__name__
    return text[:160]


def _from_bytes(data: bytes, max_pixels: int, max_bytes: int, origin: str) -> SourceImage:
    if len(data) > max_bytes:
        raise ImageTooLargeError(
            f"{origin} is {len(data)} bytes, over the {max_bytes}-byte limit", setting="max_bytes"
        )
    if not data:
        raise NotAnImageError(f"{origin} is empty: 0 bytes")
    try:
        raw_size, image_format, mode, frames, orientation, sampling = _read_header(data)
    except UnidentifiedImageError as exc:
        raise NotAnImageError(
            f"{origin} is not an image Pillow can read ({len(data)} bytes; JPEG, PNG, WebP, GIF, "
            "BMP, TIFF ... are)"
        ) from exc
    except (OSError, SyntaxError, ValueError) as exc:
        raise CorruptImageError(
            f"cannot read the image header of {origin} ({_pillow_reason(exc)})"
        ) from exc
    _check_size(raw_size, max_pixels)
    return SourceImage(
        data=data,
        pil=None,
        image_format=image_format,
        raw_size=raw_size,
        orientation=orientation if 1 <= orientation <= 8 else 1,
        mode=mode,
        frames=frames,
        jpeg_subsampling=sampling if sampling in (0, 1, 2) else None,
        origin=origin,
    )


def _read_header(data: bytes) -> tuple[tuple[int, int], str | None, str, int, int, int]:
    """(size, format, mode, frames, EXIF orientation, JPEG subsampling) of an image file.

    A header over Pillow's own guard is read again with the guard set aside: the caller's
    ``max_pixels``, checked next, decides, and says so in its own words.
    """
    try:
        return _header(data)
    except Image.DecompressionBombError:
        with _pillow_guard_lifted():
            return _header(data)


def _header(data: bytes) -> tuple[tuple[int, int], str | None, str, int, int, int]:
    with _open(data) as im:
        sampling = JpegImagePlugin.get_sampling(im) if im.format in _JPEG_FORMATS else -1
        frames = getattr(im, "n_frames", 1)
        return im.size, im.format, im.mode, frames, _header_orientation(im, data), sampling


def _header_orientation(image: Image.Image, data: bytes) -> int:
    """The EXIF orientation tag, read without decoding pixels.

    Pillow's ``PngImageFile.getexif()`` decodes the whole image to find an ``eXIf`` chunk placed
    after the pixel data; for PNG the chunk list is walked instead (no decompression).
    """
    if image.format != "PNG":
        return int(image.getexif().get(_ORIENTATION_TAG, 1) or 1)
    raw = image.info.get("exif") or _png_exif_chunk(data)
    if not raw:
        return 1
    exif = Image.Exif()
    exif.load(raw)
    return int(exif.get(_ORIENTATION_TAG, 1) or 1)


def _png_exif_chunk(data: bytes) -> bytes | None:
    offset = 8  # after the PNG signature
    while offset + 8 <= len(data):
        length = int.from_bytes(data[offset : offset + 4], "big")
        kind = data[offset + 4 : offset + 8]
        if kind == b"eXIf":
            return data[offset + 8 : offset + 8 + length]
        if kind == b"IEND":
            break
        offset += 12 + length
    return None


def _from_pil(image: Image.Image, max_pixels: int) -> SourceImage:
    _check_size(image.size, max_pixels)
    return SourceImage(
        data=None,
        pil=image,
        image_format=None,
        raw_size=image.size,
        orientation=int(image.getexif().get(_ORIENTATION_TAG, 1) or 1),
        mode=image.mode,
        frames=getattr(image, "n_frames", 1),
    )


def _check_size(size: tuple[int, int], max_pixels: int) -> None:
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
