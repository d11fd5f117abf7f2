"""Where an image's bytes come from: a path, a ``file://``, ``http(s)://`` or ``data:`` URL, base64.

The bytes are read (or downloaded, :mod:`visionthink_agent.images.fetch`) under the byte limit,
not decoded: :mod:`visionthink_agent.images.loading` opens them.

Example:
    >>> bytes_from_string("data:image/png;base64,iVBORw==", max_bytes=100,
    ...                   allow_private_urls=False, timeout=1.0)
    (b'\\x89PNG', 'the data URL')
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

from visionthink_agent.images.blocks import image_reference_from_block
from visionthink_agent.images.errors import (
    ImageTooLargeError,
    NotAnImageError,
    UnsupportedSourceError,
)
from visionthink_agent.images.fetch import fetch_url
from visionthink_agent.images.limits import DEFAULT_MAX_BYTES, check_bytes
from visionthink_agent.urls import display_url

__all__ = ["bytes_from_string", "inline_image_bytes", "names_local_file", "read_file"]

_B64_CHARS = re.compile(r"^[A-Za-z0-9+/=_\-\s]+$")


def inline_image_bytes(source: Any, *, max_bytes: int = DEFAULT_MAX_BYTES) -> bytes | None:
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
        check_bytes(len(data), max_bytes)
        return data
    reference = image_reference_from_block(source) if isinstance(source, Mapping) else source
    if isinstance(reference, str) and reference[:5] == "data:":
        return _from_data_url(reference.strip(), max_bytes)
    return None


def _scheme(reference: str) -> str:
    return urlsplit(reference).scheme.lower() if "://" in reference[:16] else ""


def names_local_file(reference: str) -> bool:
    """Whether a block's reference would be read from disk (not data, not an http(s) URL).

    Example:
        >>> names_local_file("/etc/hosts"), names_local_file("https://example.com/a.png")
        (True, False)
    """
    stripped = reference.strip()
    return not stripped.startswith("data:") and _scheme(stripped) in ("", "file")


def bytes_from_string(
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
        return read_file(path, max_bytes), str(path)
    if scheme:
        shown = display_url(stripped)[:80]
        raise UnsupportedSourceError(f"unsupported URL scheme {scheme!r} in {shown!r}")
    if len(stripped) < 4096 and ("/" in stripped or "." in stripped[-6:] or os.sep in stripped):
        path = Path(stripped).expanduser()
        if _exists(path) or not _B64_CHARS.match(stripped):
            return read_file(path, max_bytes), str(path)
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


def read_file(path: Path, max_bytes: int) -> bytes:
    """A file's bytes, refused over ``max_bytes`` before it is read.

    Example:
        >>> read_file(Path("/no/a.png"), 10)
        Traceback (most recent call last):
        ...
        visionthink_agent.images.errors.UnsupportedSourceError: no such image file: /no/a.png
    """
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
