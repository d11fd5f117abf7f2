"""Images in graph state: one normalised copy per image, a per-process cache of decoded views.

State holds plain data, so an image lives in the conversation once, as a LangChain v1 block
``{"type": "image", "base64": <original bytes>, "mime_type": ..., "id": <content hash>}`` inside
the user's message. Everything else (the first look sent to the model, the high-resolution turn)
refers to it by ``id`` (a zoomed-in region adds its pixel box, :func:`reference_block`) and is
rebuilt on demand; the :class:`~visionthink_agent.images.SourceImage`
behind an ``id`` is cached per process (keyed by the content hash), so its first look and
encodings are computed once, and re-created with ``load_image`` after a restart.

The cache is bounded three ways (:func:`configure_image_cache`): at most 16 images, at most
``max_bytes`` of what they may hold once decoded (:func:`decoded_bytes`: the full-resolution
RGB pixels, the first look and the file; 256 MiB by default), and no image over
``max_entry_pixels`` (16,777,216, 4096²) is kept at all: such an image is decoded for the turn
that needs it and let go, so a client sending large images costs time, not memory held.

Example:
    >>> from PIL import Image
    >>> block = normalise_image_block({"type": "image", "data": _PNG, "mimeType": "image/png"})
    >>> block["type"], block["mime_type"], block["id"].startswith("img-")
    ('image', 'image/png', True)
    >>> source_for_block(block).size
    (1, 1)
"""

from __future__ import annotations

import base64
import hashlib
import re
import threading
from collections import OrderedDict
from collections.abc import Mapping
from typing import Any

from visionthink_agent.images import (
    DEFAULT_LIMITS,
    ImageLimits,
    PixelBox,
    SourceImage,
    encode_image,
    image_reference_from_block,
    inline_image_bytes,
    is_image_block,
    load_image,
)

__all__ = [
    "DEFAULT_CACHE_BYTES",
    "DEFAULT_CACHE_ENTRY_PIXELS",
    "IMAGE_ID_PREFIX",
    "ZOOM_BOX_KEY",
    "block_zoom_box",
    "cache_image",
    "clear_image_cache",
    "configure_image_cache",
    "decoded_bytes",
    "has_image_data",
    "image_block_id",
    "image_cache_bytes",
    "image_key",
    "is_image_block",
    "normalise_image_block",
    "reference_block",
    "source_for_block",
]

_CANONICAL_BASE64 = re.compile(r"[A-Za-z0-9+/]*={0,2}")

IMAGE_ID_PREFIX = "img-"
ZOOM_BOX_KEY = "zoom_box"
"""Key, in a reference block's ``extras``, of the pixel box of the region it shows."""
_CACHE_SIZE = 16  # decoded views of large images are tens of MB each: keep the cache small
DEFAULT_CACHE_BYTES = 256 * 1024 * 1024
"""Default bound of the per-process image cache, in decoded bytes (:func:`decoded_bytes`)."""
DEFAULT_CACHE_ENTRY_PIXELS = 4096 * 4096
"""Default: images with more pixels than this are never kept in the cache."""
_DATA_KEYS = ("base64", "url", "data", "file_path", "image_url", "source", "path", "image")
_PNG = (  # a 1x1 PNG, for the examples
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg=="
)


def decoded_bytes(source: SourceImage) -> int:
    """What ``source`` may hold once its views are built, from its header alone: the
    full-resolution RGB pixels, the first look's, and the file bytes twice (the original and a
    re-encoded view).

    Example:
        >>> from PIL import Image
        >>> decoded_bytes(load_image(Image.new("RGB", (200, 100))))  # 3 × (200×100 + 100×50)
        75000
    """
    width, height = source.size
    first_width, first_height = source.first_look_size
    return 3 * (width * height + first_width * first_height) + 2 * len(source.data or b"")


class _SourceCache:
    """A small thread-safe LRU of ``SourceImage`` objects by key, bounded by entries, by
    :func:`decoded_bytes` and by pixels per entry."""

    def __init__(self, size: int, max_bytes: int, max_entry_pixels: int) -> None:
        self._size = size
        self.max_bytes = max_bytes
        self.max_entry_pixels = max_entry_pixels
        self._items: OrderedDict[str, SourceImage] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: str) -> SourceImage | None:
        with self._lock:
            item = self._items.get(key)
            if item is not None:
                self._items.move_to_end(key)
            return item

    def clear(self) -> None:
        with self._lock:
            self._items.clear()

    def configure(self, *, max_bytes: int | None, max_entry_pixels: int | None) -> None:
        with self._lock:
            items = list(self._items.items())
            self._items.clear()
            self.max_bytes = self.max_bytes if max_bytes is None else max_bytes
            if max_entry_pixels is not None:
                self.max_entry_pixels = max_entry_pixels
        for key, source in items:  # oldest first: the newest are kept
            self.put(key, source)

    def held_bytes(self) -> int:
        with self._lock:
            return sum(decoded_bytes(source) for source in self._items.values())

    def put(self, key: str, source: SourceImage) -> None:
        width, height = source.size
        size = decoded_bytes(source)
        with self._lock:
            self._items.pop(key, None)
            if width * height > self.max_entry_pixels or size > self.max_bytes:
                return  # used for this turn only
            self._items[key] = source
            held = sum(decoded_bytes(item) for item in self._items.values())
            while len(self._items) > self._size or held > self.max_bytes:
                _, oldest = self._items.popitem(last=False)
                held -= decoded_bytes(oldest)


_CACHE = _SourceCache(_CACHE_SIZE, DEFAULT_CACHE_BYTES, DEFAULT_CACHE_ENTRY_PIXELS)


def image_key(data: bytes) -> str:
    """The id of an image in state: a hash of its original bytes.

    Example:
        >>> image_key(b"abc")
        'img-ba7816bf8f01cfea414140de'
    """
    return IMAGE_ID_PREFIX + hashlib.sha256(data).hexdigest()[:24]


def cache_image(key: str, source: SourceImage) -> None:
    """Remember ``source`` under ``key`` in this process (used by the loaders and tests).

    Example:
        >>> from PIL import Image
        >>> cache_image("img-demo", load_image(Image.new("RGB", (2, 2))))
        >>> source_for_block(reference_block("img-demo")).size
        (2, 2)
    """
    _CACHE.put(key, source)


def configure_image_cache(
    *, max_bytes: int | None = None, max_entry_pixels: int | None = None
) -> None:
    """Set this process' image-cache bounds (each left as is when None); trims it at once.

    Args:
        max_bytes: the most :func:`decoded_bytes` the cached images may hold together
            (default :data:`DEFAULT_CACHE_BYTES`, 256 MiB); 0 keeps no image.
        max_entry_pixels: images with more pixels are never cached (default
            :data:`DEFAULT_CACHE_ENTRY_PIXELS`, 4096²).

    Example:
        >>> configure_image_cache(max_bytes=64 * 1024 * 1024)
        >>> image_cache_bytes() <= 64 * 1024 * 1024
        True
        >>> configure_image_cache(max_bytes=DEFAULT_CACHE_BYTES)
    """
    if max_bytes is not None and max_bytes < 0:
        raise ValueError(f"max_bytes must be >= 0, got {max_bytes}")
    if max_entry_pixels is not None and max_entry_pixels < 0:
        raise ValueError(f"max_entry_pixels must be >= 0, got {max_entry_pixels}")
    _CACHE.configure(max_bytes=max_bytes, max_entry_pixels=max_entry_pixels)


def image_cache_bytes() -> int:
    """The :func:`decoded_bytes` the cached images may hold together, now.

    Example:
        >>> clear_image_cache()
        >>> image_cache_bytes()
        0
    """
    return _CACHE.held_bytes()


def clear_image_cache() -> None:
    """Forget every cached image (as a process restart would); images reload from state.

    Example:
        >>> clear_image_cache()
    """
    _CACHE.clear()


def image_block_id(block: Mapping[str, Any]) -> str | None:
    """The state id of an image block (None for a block that was never normalised).

    Example:
        >>> image_block_id({"type": "image", "id": "img-1"}), image_block_id({"type": "image"})
        ('img-1', None)
    """
    value = block.get("id")
    return value if isinstance(value, str) and value.startswith(IMAGE_ID_PREFIX) else None


def has_image_data(block: Mapping[str, Any]) -> bool:
    """Whether an image block carries the image (data, URL or path), not just a reference.

    Example:
        >>> has_image_data({"type": "image", "id": "img-1"}), has_image_data({"url": "x"})
        (False, True)
    """
    return any(block.get(k) for k in _DATA_KEYS)


def reference_block(key: str, *, box: PixelBox | None = None) -> dict[str, Any]:
    """An image block that only names an image already in the conversation (or a region of it).

    Args:
        key: the image's id in state.
        box: the region ``(left, top, right, bottom)`` in original pixels, for a zoomed-in
            view; kept in the block's ``extras`` (:data:`ZOOM_BOX_KEY`) and cropped by the
            renderers.

    Example:
        >>> reference_block("img-1")
        {'type': 'image', 'id': 'img-1'}
        >>> reference_block("img-1", box=(20, 40, 120, 90))["extras"]
        {'zoom_box': [20, 40, 120, 90]}
    """
    block: dict[str, Any] = {"type": "image", "id": key}
    if box is not None:
        block["extras"] = {ZOOM_BOX_KEY: list(box)}
    return block


def block_zoom_box(block: Mapping[str, Any]) -> PixelBox | None:
    """The region an image block shows (:func:`reference_block`), None for the whole image.

    Example:
        >>> block_zoom_box(reference_block("img-1", box=(0, 0, 28, 28)))
        (0, 0, 28, 28)
        >>> block_zoom_box(reference_block("img-1")) is None
        True
    """
    extras = block.get("extras")
    box = extras.get(ZOOM_BOX_KEY) if isinstance(extras, Mapping) else None
    if box is None:
        return None
    left, top, right, bottom = (int(v) for v in box)
    return left, top, right, bottom


def normalise_image_block(
    block: Any,
    *,
    allow_private_urls: bool = False,
    allow_local_files: bool = False,
    image_limits: ImageLimits = DEFAULT_LIMITS,
) -> dict[str, Any]:
    """Load an image block in any supported format and return its one state copy.

    The result is a LangChain v1 base64 block of the **original** file bytes (a PIL-built image
    is stored as PNG) whose ``id`` is :func:`image_key` of those bytes. Blocks that are already
    normalised are returned unchanged.

    Args:
        block: an image content block, or anything ``load_image`` reads (path, URL, bytes).
        allow_private_urls: let ``load_image`` fetch loopback / private addresses.
        allow_local_files: let image blocks name local files (``file_path``, ``file://``, a
            path); off by default, like private URLs.
        image_limits: the pixel and byte limits every image is read under
            (:class:`~visionthink_agent.images.ImageLimits`; ``load_image``'s defaults).

    Raises:
        visionthink_agent.images.ImageError: the image cannot be read; the message says why.
    """
    if isinstance(block, Mapping) and image_block_id(block) and block.get("base64"):
        return dict(block)
    key, data, source = _state_copy(
        block,
        allow_private_urls=allow_private_urls,
        allow_local_files=allow_local_files,
        image_limits=image_limits,
    )
    if source.data is None:  # built from a PIL image: the state copy is a PNG
        mime_type = "image/png"
    else:
        mime_type = source.mime_type or "application/octet-stream"
    return {
        "type": "image",
        "base64": _incoming_base64(block, data) or base64.b64encode(data).decode("ascii"),
        "mime_type": mime_type,
        "id": key,
    }


def _state_copy(
    block: Any, *, allow_private_urls: bool, allow_local_files: bool, image_limits: ImageLimits
) -> tuple[str, bytes, SourceImage]:
    """(id, file bytes, source) of an image, the source cached under its id.

    Inline data is hashed before it is opened: an image this process has already read (the same
    picture asked about again) is not parsed a second time.
    """
    data = inline_image_bytes(block, max_bytes=image_limits.max_bytes)
    if data is not None:
        key = image_key(data)
        cached = _CACHE.get(key)
        if cached is not None:
            return key, data, image_limits.check(cached)
    source = load_image(
        block if data is None else data,
        max_pixels=image_limits.max_pixels,
        max_bytes=image_limits.max_bytes,
        allow_private_urls=allow_private_urls,
        allow_local_files=allow_local_files,
    )
    data = source.data or encode_image(source.decode(), "PNG").data
    key = image_key(data)
    if _CACHE.get(key) is None:
        _CACHE.put(key, source)
    return key, data, source


def _incoming_base64(block: Any, data: bytes) -> str | None:
    """The block's own base64 text when it already encodes ``data`` canonically (no re-encode)."""
    if not is_image_block(block):
        return None
    reference = image_reference_from_block(block)
    if not reference.startswith("data:") or ";base64," not in reference[:100]:
        return None
    text = reference.split(",", 1)[1]
    if len(text) != 4 * ((len(data) + 2) // 3) or not _CANONICAL_BASE64.fullmatch(text):
        return None
    return text


def source_for_block(
    block: Mapping[str, Any],
    *,
    allow_private_urls: bool = False,
    allow_local_files: bool = False,
    image_limits: ImageLimits = DEFAULT_LIMITS,
) -> SourceImage:
    """The ``SourceImage`` behind an image block, from the per-process cache when possible.

    A reference block (``id`` only) must name an image this process has seen, or that
    :func:`normalise_image_block` can re-load; after a restart, find the stored copy in the
    conversation (``conversation.find_image_block``) and pass that.

    Raises:
        KeyError: a reference block names an image that is not cached.
        visionthink_agent.images.ImageError: the image cannot be read.
    """
    key = image_block_id(block)
    if key is not None:
        cached = _CACHE.get(key)
        if cached is not None:
            return image_limits.check(cached)
        if not has_image_data(block):
            raise KeyError(f"image {key!r} is not in this process' cache")
    source = load_image(
        block,
        max_pixels=image_limits.max_pixels,
        max_bytes=image_limits.max_bytes,
        allow_private_urls=allow_private_urls,
        allow_local_files=allow_local_files,
    )
    if key is not None:
        _CACHE.put(key, source)
    return source
