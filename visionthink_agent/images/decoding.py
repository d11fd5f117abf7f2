"""Opening image bytes with Pillow: the header without the pixels, EXIF orientation, our guard.

Example:
    >>> import io
    >>> from PIL import Image
    >>> buf = io.BytesIO(); Image.new("RGB", (4, 2)).save(buf, "PNG")
    >>> read_header(buf.getvalue())[:3]
    ((4, 2), 'PNG', 'RGB')
"""

from __future__ import annotations

import contextlib
import io
import threading
import warnings
from collections.abc import Iterator

from PIL import Image, JpegImagePlugin

__all__ = [
    "EXIF_TRANSPOSE",
    "JPEG_FORMATS",
    "ORIENTATION_TAG",
    "open_image",
    "pillow_guard_lifted",
    "pillow_reason",
    "read_header",
]

JPEG_FORMATS = frozenset({"JPEG", "MPO"})
"""MPO is what phone cameras write (a JPEG plus extra pictures): decoded like a JPEG."""
ORIENTATION_TAG = 0x0112
EXIF_TRANSPOSE = {
    2: Image.Transpose.FLIP_LEFT_RIGHT,
    3: Image.Transpose.ROTATE_180,
    4: Image.Transpose.FLIP_TOP_BOTTOM,
    5: Image.Transpose.TRANSPOSE,
    6: Image.Transpose.ROTATE_270,
    7: Image.Transpose.TRANSVERSE,
    8: Image.Transpose.ROTATE_90,
}
"""EXIF orientation → the transpose that makes it upright (as ``ImageOps.exif_transpose``)."""


def open_image(data: bytes) -> Image.Image:
    """Pillow's lazy open of ``data`` (nothing decoded), its bomb warning silenced."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", Image.DecompressionBombWarning)
        return Image.open(io.BytesIO(data))


_PILLOW_GUARD_LOCK = threading.RLock()


@contextlib.contextmanager
def pillow_guard_lifted(pixels: int | None = None) -> Iterator[None]:
    """Pillow's decompression-bomb guard set aside while an image we check ourselves is read.

    ``load_image`` checks the header against its own ``max_pixels`` before any pixel is decoded,
    so Pillow's guard (which refuses more than ``2 * PIL.Image.MAX_IMAGE_PIXELS`` in its own
    words) must not refuse what the caller allowed, nor name a limit the caller did not set.
    The setting is process-wide: it is lifted under a lock, only for images over it
    (``pixels``; ``None`` for a header not read yet), and restored at once.

    Example:
        >>> with pillow_guard_lifted(10**9):
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


def pillow_reason(exc: BaseException) -> str:
    """Pillow's reason for a failure, unless it quotes bytes of the file (some do: chunk ids)."""
    text = str(exc)
    if not text or "b'" in text or 'b"' in text or "\\x" in text:
        return type(exc).__name__
    return text[:160]


def read_header(data: bytes) -> tuple[tuple[int, int], str | None, str, int, int, int]:
    """(size, format, mode, frames, EXIF orientation, JPEG subsampling) of an image file.

    A header over Pillow's own guard is read again with the guard set aside: the caller's
    ``max_pixels``, checked next, decides, and says so in its own words.
    """
    try:
        return _header(data)
    except Image.DecompressionBombError:
        with pillow_guard_lifted():
            return _header(data)


def _header(data: bytes) -> tuple[tuple[int, int], str | None, str, int, int, int]:
    with open_image(data) as im:
        sampling = JpegImagePlugin.get_sampling(im) if im.format in JPEG_FORMATS else -1
        frames = getattr(im, "n_frames", 1)
        return im.size, im.format, im.mode, frames, _header_orientation(im, data), sampling


def _header_orientation(image: Image.Image, data: bytes) -> int:
    """The EXIF orientation tag, read without decoding pixels.

    Pillow's ``PngImageFile.getexif()`` decodes the whole image to find an ``eXIf`` chunk placed
    after the pixel data; for PNG the chunk list is walked instead (no decompression).
    """
    if image.format != "PNG":
        return int(image.getexif().get(ORIENTATION_TAG, 1) or 1)
    raw = image.info.get("exif") or _png_exif_chunk(data)
    if not raw:
        return 1
    exif = Image.Exif()
    exif.load(raw)
    return int(exif.get(ORIENTATION_TAG, 1) or 1)


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
