"""Image state copies, the per-process cache, and rendering edge cases."""

from __future__ import annotations

import base64

import pytest
from langchain_core.messages import AIMessage, HumanMessage, ToolMessage

from tests.graph.conftest import decode_block, png_bytes, v1_block
from visionthink_agent.graph import image_store, native_messages, prompted_messages
from visionthink_agent.graph.image_store import (
    cache_image,
    clear_image_cache,
    image_key,
    normalise_image_block,
    reference_block,
    source_for_block,
)
from visionthink_agent.graph.rendering import resolve_image
from visionthink_agent.images import NotAnImageError, load_image


def test_normalised_block_is_idempotent_and_keyed_by_content() -> None:
    data = png_bytes()
    block = normalise_image_block(v1_block(data))
    assert block["id"] == image_key(data)
    assert normalise_image_block(block) == block
    assert normalise_image_block(data) == block  # raw bytes give the same state copy


def test_reference_to_an_image_missing_everywhere_is_a_clear_error() -> None:
    clear_image_cache()
    with pytest.raises(ValueError, match="not in the conversation"):
        resolve_image(reference_block("img-nothere"), [])
    with pytest.raises(KeyError, match="img-nothere"):
        source_for_block(reference_block("img-nothere"))


def test_reference_reloads_from_the_conversation_after_a_restart() -> None:
    data = png_bytes((90, 60))
    block = normalise_image_block(v1_block(data))
    clear_image_cache()
    source = resolve_image(reference_block(block["id"]), [HumanMessage(content=[block])])
    assert source.size == (90, 60)
    assert source_for_block(reference_block(block["id"])) is source  # cached again


def test_cache_forgets_the_oldest_images() -> None:
    clear_image_cache()
    for i in range(40):
        cache_image(f"img-{i}", load_image(png_bytes((30 + i, 30))))
    with pytest.raises(KeyError):
        source_for_block(reference_block("img-0"))
    assert source_for_block(reference_block("img-39")).size == (69, 30)


def test_bad_image_data_raises_an_image_error() -> None:
    with pytest.raises(NotAnImageError):
        normalise_image_block({"type": "image", "base64": "aGVsbG8=", "mime_type": "image/png"})


def test_prompted_messages_refuse_two_images_in_one_question() -> None:
    blocks = [normalise_image_block(png_bytes()), normalise_image_block(png_bytes(colour="blue"))]
    with pytest.raises(ValueError, match="one image"):
        prompted_messages([HumanMessage(content=blocks)])


def test_native_messages_keep_tool_calls_and_swap_images() -> None:
    block = normalise_image_block(png_bytes())
    call = {"name": "resize_image", "args": {"action": "resize"}, "id": "c1"}
    messages = [
        HumanMessage(content=[{"type": "text", "text": "Q"}, block]),
        AIMessage(content="", tool_calls=[call]),
        ToolMessage(content="ok", tool_call_id="c1"),
    ]
    sent = native_messages(messages)
    assert [m.type for m in sent] == ["human", "ai", "tool"]
    assert decode_block(sent[0].content[1]).size == (112, 56)
    assert sent[1].tool_calls == messages[1].tool_calls
    assert sent[2] is messages[2]


def test_an_image_seen_before_is_not_opened_again(monkeypatch: pytest.MonkeyPatch) -> None:
    data = png_bytes((70, 50))
    clear_image_cache()
    opened: list[object] = []
    real = image_store.load_image

    def spy(source: object, **kwargs: object) -> object:
        opened.append(source)
        return real(source, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(image_store, "load_image", spy)
    first = normalise_image_block(v1_block(data))
    again = normalise_image_block({"type": "image_url", "image_url": {"url": _data_url(data)}})
    assert again == first  # same state copy, whatever the incoming block format
    assert len(opened) == 1  # hashed, found in the cache, not parsed a second time
    clear_image_cache()  # as after a restart: read (and checked) again
    assert normalise_image_block(v1_block(data)) == first
    assert len(opened) == 2


def _data_url(data: bytes) -> str:
    return "data:image/png;base64," + base64.b64encode(data).decode()
