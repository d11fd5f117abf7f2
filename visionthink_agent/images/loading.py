"""Loading images from anything users hand us, lazily, with precise errors.

:func:`load_image` reads only the header: format, size, EXIF orientation and mode are known at
once, pixels are decoded on demand. :class:`SourceImage` then prepares the two views VisionThink
needs:

* the **first look** (half each side): JPEGs are decoded at half scale directly (libjpeg's DCT
  scaling), so a 12 MP photo is never decoded at full resolution on the direct-answer path;
  ``exact=True`` gives the training-identical path (full decode, LANCZOS);
* the **high-resolution** view: the original bytes, passed through untouched when a server can
  take them, decoded only when they cannot (EXIF rotation, CMYK, alpha, 16-bit, animation).

The bytes come from :mod:`~visionthink_agent.images.sources` (paths, URLs, base64), are opened
by :mod:`~visionthink_agent.images.decoding` (header only) and checked against
:mod:`~visionthink_agent.images.limits`; :class:`SourceImage` is
:mod:`~visionthink_agent.images.source_image`.

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

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any, TypeAlias

from PIL import Image, UnidentifiedImageError

from visionthink_agent.images.blocks import image_reference_from_block
from visionthink_agent.images.decoding import (
    ORIENTATION_TAG,
    pillow_reason,
    read_header,
)
from visionthink_agent.images.errors import (
    CorruptImageError,
    LocalFileError,
    NotAnImageError,
    UnsupportedSourceError,
)
from visionthink_agent.images.limits import (
    DEFAULT_LIMITS,
    DEFAULT_MAX_BYTES,
    DEFAULT_PIXEL_LIMIT,
    ImageLimits,
    check_bytes,
    check_size,
)
from visionthink_agent.images.source_image import SourceImage
from visionthink_agent.images.sources import (
    bytes_from_string,
    inline_image_bytes,
    names_local_file,
    read_file,
)
from visionthink_agent.urls import display_url

# The limits and inline_image_bytes are re-exported: they were first defined here.
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

ImageInput: TypeAlias = (
    "SourceImage | Image.Image | bytes | bytearray | memoryview | str | os.PathLike[str] | "
    "Mapping[str, Any]"
)


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
        if not allow_local_files and names_local_file(reference):
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
        return _from_bytes(read_file(path, max_bytes), max_pixels, max_bytes, str(path))
    if isinstance(source, str):
        data, origin = bytes_from_string(
            source, max_bytes=max_bytes, allow_private_urls=allow_private_urls, timeout=timeout
        )
        return _from_bytes(data, max_pixels, max_bytes, origin)
    raise UnsupportedSourceError(f"cannot load an image from a {type(source).__name__}")


def _from_bytes(data: bytes, max_pixels: int, max_bytes: int, origin: str) -> SourceImage:
    check_bytes(len(data), max_bytes, origin)
    if not data:
        raise NotAnImageError(f"{origin} is empty: 0 bytes")
    try:
        raw_size, image_format, mode, frames, orientation, sampling = read_header(data)
    except UnidentifiedImageError as exc:
        raise NotAnImageError(
            f"{origin} is not an image Pillow can read ({len(data)} bytes; JPEG, PNG, WebP, GIF, "
            "BMP, TIFF ... are)"
        ) from exc
    except (OSError, SyntaxError, ValueError) as exc:
        raise CorruptImageError(
            f"cannot read the image header of {origin} ({pillow_reason(exc)})"
        ) from exc
    check_size(raw_size, max_pixels)
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


def _from_pil(image: Image.Image, max_pixels: int) -> SourceImage:
    check_size(image.size, max_pixels)
    return SourceImage(
        data=None,
        pil=image,
        image_format=None,
        raw_size=image.size,
        orientation=int(image.getexif().get(ORIENTATION_TAG, 1) or 1),
        mode=image.mode,
        frames=getattr(image, "n_frames", 1),
    )
