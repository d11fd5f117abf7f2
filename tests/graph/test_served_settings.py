"""graphs/visionthink_graph.py: the in-process model without a second server, and the limits
its environment sets."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from langchain_core.messages import HumanMessage

from tests.graph.conftest import png_bytes, v1_block
from tests.graph.test_graphs_config import load_module
from visionthink_agent.graph.image_store import (
    DEFAULT_CACHE_BYTES,
    DEFAULT_CACHE_ENTRY_PIXELS,
    clear_image_cache,
    configure_image_cache,
    image_cache_bytes,
)
from visionthink_agent.questions import QuestionError

pytest.importorskip("transformers")


@pytest.fixture(autouse=True)
def default_cache() -> Iterator[None]:
    yield
    configure_image_cache(
        max_bytes=DEFAULT_CACHE_BYTES, max_entry_pixels=DEFAULT_CACHE_ENTRY_PIXELS
    )
    clear_image_cache()


def _question(
    text: str = "What is the large digit?", size: tuple[int, int] = (224, 112)
) -> dict[str, object]:
    block = v1_block(png_bytes(size))
    return {"messages": [HumanMessage([{"type": "text", "text": text}, block])]}


@pytest.mark.slow
def test_the_demo_model_runs_in_the_server_process() -> None:
    """No VISIONTHINK_BASE_URL: nothing listens on the default one, so an answer with token
    counts comes from the in-process model."""
    graph = load_module().build_graph({"VISIONTHINK_MODEL": "demo", "VISIONTHINK_MAX_TOKENS": "64"})
    result = graph.invoke(_question())
    assert result["model_turns"] >= 1
    assert result["usage"]["input_tokens"] > result["visual_tokens"]["first_look"]


def test_the_environment_sets_the_question_and_cache_limits() -> None:
    remote = {  # never reached: the model and its cap are set, so the server is not asked
        "VISIONTHINK_BASE_URL": "http://127.0.0.1:9/v1",
        "VISIONTHINK_MODEL": "m",
        "VISIONTHINK_MAX_TOKENS": "64",
    }
    limits = {
        "VISIONTHINK_MAX_QUESTION_CHARS": "10",
        "VISIONTHINK_IMAGE_CACHE_MB": "1",
        "VISIONTHINK_IMAGE_CACHE_ENTRY_PIXELS": "20000",
    }
    graph = load_module().build_graph({**remote, **limits})
    with pytest.raises(QuestionError, match="11 characters, over the limit of 10"):
        graph.invoke(_question("x" * 11))
    for size in ((600, 600), (224, 112)):  # over 1 MiB decoded; over 20,000 pixels
        clear_image_cache()
        with pytest.raises(QuestionError, match="empty"):  # the image is read, then refused
            graph.invoke(_question(" ", size))
        assert image_cache_bytes() == 0
    clear_image_cache()
    with pytest.raises(QuestionError, match="empty"):
        load_module().build_graph(remote).invoke(_question(" ", (600, 600)))
    assert image_cache_bytes() > 0  # the defaults keep it
