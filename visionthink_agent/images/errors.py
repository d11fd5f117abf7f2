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
    "LocalFileError",
    "NotAnImageError",
    "UnsafeURLError",
    "UnsupportedSourceError",
    "remedy_for",
]


def remedy_for(setting: str, name: str | None = None) -> str:
    """How to change the outcome through ``setting``, spelled ``name`` (default: ``setting=``).

    Example:
        >>> remedy_for("allow_private_urls"), remedy_for("max_pixels", "--max-pixels")
        ('pass allow_private_urls=True to allow it', 'raise --max-pixels to allow it')
    """
    if setting.startswith("allow_"):
        return f"pass {name or setting + '=True'} to allow it"
    if setting == "timeout":
        return f"raise {name or setting} to wait longer"
    return f"raise {name or setting} to allow it"


class ImageError(ValueError):
    """Base class: the input could not be used as an image.

    Args:
        problem: what is wrong, naming the source (never bytes of the file or of a response).
        setting: the ``load_image`` keyword that would change the outcome (``allow_private_urls``,
            ``allow_local_files``, ``max_pixels``, ``max_bytes``, ``timeout``), if any. The
            message then ends with how to change it, and a command line can name its own flag.

    Example:
        >>> err = ImageTooLargeError("image is 10x10 = 100 pixels, over 99", setting="max_pixels")
        >>> str(err), err.problem, err.setting
        ('image is 10x10 = 100 pixels, over 99 (raise max_pixels to allow it)', \
'image is 10x10 = 100 pixels, over 99', 'max_pixels')
    """

    def __init__(self, problem: str, *, setting: str | None = None) -> None:
        remedy = f" ({remedy_for(setting)})" if setting is not None else ""
        super().__init__(problem + remedy)
        self.problem = problem
        self.setting = setting


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


class LocalFileError(ImageError):
    """An image block names a local file (``file_path``, ``file://``, a path); none may be read."""


class DownloadError(ImageError):
    """The download failed: HTTP error, timeout, or more bytes than allowed."""
