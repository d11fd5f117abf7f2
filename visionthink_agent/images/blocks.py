"""Reading image content blocks in the formats met in practice.

Example:
    >>> image_reference_from_block({"type": "image", "data": "iVBOR", "mimeType": "image/png"})
    'data:image/png;base64,iVBOR'
    >>> image_reference_from_block({"type": "image_url", "image_url": {"url": "https://x/y.png"}})
    'https://x/y.png'
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from visionthink_agent.images.errors import UnsupportedSourceError

__all__ = ["IMAGE_BLOCK_TYPES", "image_reference_from_block", "is_image_block"]

IMAGE_BLOCK_TYPES = frozenset({"image", "image_url", "input_image"})


def is_image_block(block: object) -> bool:
    """Whether ``block`` is a content block that carries an image.

    Example:
        >>> is_image_block({"type": "text", "text": "hi"}), is_image_block({"type": "image_url"})
        (False, True)
    """
    return isinstance(block, Mapping) and block.get("type") in IMAGE_BLOCK_TYPES


def _data_url(data: str, mime_type: str | None) -> str:
    if data.startswith("data:"):
        return data
    return f"data:{mime_type or 'image/*'};base64,{data}"


def image_reference_from_block(block: Mapping[str, Any]) -> str:
    """Turn an image content block into a URL, data URL or path that ``load_image`` reads.

    Handles LangChain v1 blocks (``base64`` / ``url`` / ``file_path``), LangChain's legacy
    ``source_type`` blocks, OpenAI ``image_url`` blocks (object or string), Responses
    ``input_image`` blocks, Anthropic-style ``source`` blocks, Qwen-style ``{"image": path}``, and
    the camelCase ``{"data", "mimeType"}`` blocks some LangGraph chat UIs send.

    Raises:
        UnsupportedSourceError: the block carries no image reference this reader understands
            (for example a provider ``file_id``).
    """
    kind = block.get("type")
    if kind == "image_url" or kind == "input_image":
        ref = block.get("image_url")
        if isinstance(ref, Mapping):
            ref = ref.get("url")
        if isinstance(ref, str) and ref:
            return ref
        raise UnsupportedSourceError(f"{kind} block without a URL: keys {sorted(block)}")
    mime = block.get("mime_type") or block.get("mimeType") or block.get("media_type")
    source = block.get("source")
    if isinstance(source, Mapping):  # Anthropic-style {"source": {"type": "base64", "data": ...}}
        return image_reference_from_block({"type": "image", **source})
    source_type = block.get("source_type")
    if source_type == "base64" or "base64" in block:
        data = block.get("base64") or block.get("data")
        if isinstance(data, str) and data:
            return _data_url(data, mime)
    if source_type == "url" or "url" in block:
        url = block.get("url")
        if isinstance(url, str) and url:
            return url
    if isinstance(block.get("data"), str) and block["data"]:
        return _data_url(block["data"], mime)
    for key in ("file_path", "path", "image"):
        value = block.get(key)
        if isinstance(value, str) and value:
            return value
    raise UnsupportedSourceError(
        f"image block carries no url, base64 data or path (keys: {sorted(block)}); "
        "provider file ids cannot be loaded"
    )
