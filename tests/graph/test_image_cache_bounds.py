"""The per-process image cache is bounded by decoded bytes and by pixels per entry."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from langchain_core.messages import HumanMessage

from tests.graph.conftest import ANSWER, RESIZE_CALL, png_bytes, scripted, v1_block
from visionthink_agent import create_visionthink_agent
from visionthink_agent.graph.image_store import (
    DEFAULT_CACHE_BYTES,
    DEFAULT_CACHE_ENTRY_PIXELS,
    clear_image_cache,
    configure_image_cache,
    decoded_bytes,
    image_cache_bytes,
    normalise_image_block,
    reference_block,
    source_for_block,
)

MIB = 1024 * 1024


@pytest.fixture(autouse=True)
def default_bounds() -> Iterator[None]:
    clear_image_cache()
    yield
    configure_image_cache(
        max_bytes=DEFAULT_CACHE_BYTES, max_entry_pixels=DEFAULT_CACHE_ENTRY_PIXELS
    )
    clear_image_cache()


def test_the_cache_holds_no_more_than_its_byte_bound() -> None:
    configure_image_cache(max_bytes=8 * MIB)
    blocks = [normalise_image_block(png_bytes((1000, 1000 + i))) for i in range(6)]
    each = decoded_bytes(source_for_block(blocks[-1]))
    assert 3 * MIB < each < 4 * MIB  # two fit, a third does not
    assert image_cache_bytes() <= 8 * MIB
    with pytest.raises(KeyError):  # the oldest were let go
        source_for_block(reference_block(blocks[0]["id"]))
    assert source_for_block(reference_block(blocks[-1]["id"])).size == (1000, 1005)


def test_an_image_over_the_entry_pixels_is_never_kept() -> None:
    configure_image_cache(max_entry_pixels=500 * 500)
    block = normalise_image_block(png_bytes((600, 500)))
    assert image_cache_bytes() == 0
    with pytest.raises(KeyError):
        source_for_block(reference_block(block["id"]))
    small = normalise_image_block(png_bytes((500, 500)))
    assert image_cache_bytes() == decoded_bytes(source_for_block(small))


def test_lowering_the_bound_trims_the_cache_at_once() -> None:
    for i in range(3):
        normalise_image_block(png_bytes((800, 800 + i)))
    assert image_cache_bytes() > 4 * MIB
    configure_image_cache(max_bytes=4 * MIB)
    assert 0 < image_cache_bytes() <= 4 * MIB


def test_an_uncached_image_is_still_answered_with_its_high_resolution_view() -> None:
    configure_image_cache(max_bytes=0)  # nothing is kept: every view is rebuilt from state
    model = scripted(RESIZE_CALL, ANSWER)
    question = HumanMessage([{"type": "text", "text": "Total?"}, v1_block(png_bytes((448, 224)))])
    result = create_visionthink_agent(model).compile().invoke({"messages": [question]})
    assert result["status"] == "answered"
    assert result["resized"] is True
    assert result["visual_tokens"]["high_res"] == 128
    assert image_cache_bytes() == 0
