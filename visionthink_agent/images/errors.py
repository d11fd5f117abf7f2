"""Typed errors of the image pipeline: each names what was wrong with the input.

All derive from :class:`ImageError` (itself a ``ValueError``), so callers can catch one type.

Example:
    >>> from visionthink_agent.images import load_image, ImageError
    >>> try:
    ...     load_image(b"not an image")
    ... except ImageError as exc:
    ...     print(type(exc).__name__)
    NotAnImageError
"""

from __future__ import annotations

__all__ = [
    "CorruptImageError",
    "DownloadError",
    "ImageError",
    "ImageTooLargeError",
    "ImageTooSmallError",
    "NotAnImageError",
    "UnsafeURLError",
    "UnsupportedSourceError",
]


class ImageError(ValueError):
    """Base class: the input could not be used as an image."""


class NotAnImageError(ImageError):
    """The bytes are not in an image format the pipeline reads."""


class CorruptImageError(ImageError):
    """The file looks like an image but cannot be decoded (truncated or damaged)."""


class ImageTooLargeError(ImageError):
    """Too many pixels (decompression-bomb guard), too many bytes, or an absurd aspect ratio."""


class ImageTooSmallError(ImageError):
    """A side of zero pixels."""


class UnsupportedSourceError(ImageError):
    """The source is of a kind or URL scheme the pipeline does not load."""


class UnsafeURLError(ImageError):
    """The URL resolves to a private, loopback, link-local or otherwise reserved address."""


class DownloadError(ImageError):
    """The download failed: HTTP error, timeout, or more bytes than allowed."""
