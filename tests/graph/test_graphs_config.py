"""graphs/visionthink_graph.py: the served agent is configured by environment variables."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType

import pytest
from langchain_core.messages import HumanMessage

from tests.graph.conftest import ANSWER, v1_block
from tests.graph.openai_server import scripted_openai_server

GRAPH_FILE = Path(__file__).resolve().parents[2] / "graphs" / "visionthink_graph.py"


def load_module() -> ModuleType:
    spec = importlib.util.spec_from_file_location("visionthink_graph", GRAPH_FILE)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_env_configures_model_and_mode(image_bytes: bytes) -> None:
    with scripted_openai_server([ANSWER]) as server:
        graph = load_module().build_graph(
            {
                "VISIONTHINK_BASE_URL": server.base_url,
                "VISIONTHINK_MODEL": "my-model",
                "VISIONTHINK_API_KEY": "secret",
                "VISIONTHINK_MODE": "native",
                "VISIONTHINK_MAX_TOKENS": "77",
            }
        )
        message = HumanMessage(content=[{"type": "text", "text": "Q"}, v1_block(image_bytes)])
        result = graph.invoke({"messages": [message]})
    (request,) = server.requests
    assert request["model"] == "my-model"
    assert request["max_completion_tokens"] == request["max_tokens"] == 77
    assert request["temperature"] == 0
    assert request["tools"][0]["function"]["name"] == "resize_image"  # native mode
    assert result["answer"] == "42"
    assert graph.name == "visionthink"
    assert graph.checkpointer is None  # the server provides persistence


def test_bad_mode_is_a_clear_error() -> None:
    with pytest.raises(ValueError, match="VISIONTHINK_MODE"):
        load_module().build_graph({"VISIONTHINK_MODE": "fast"})


def test_env_chooses_the_zoom_tool_and_the_model_family(image_bytes: bytes) -> None:
    with scripted_openai_server([ANSWER]) as server:
        graph = load_module().build_graph(
            {
                "VISIONTHINK_BASE_URL": server.base_url,
                "VISIONTHINK_MODEL": "my-model",  # the scripted server lists no models
                "VISIONTHINK_MODE": "native",
                "VISIONTHINK_TOOL_MODE": "both",
                "VISIONTHINK_FAMILY": "qwen3_vl",
            }
        )
        message = HumanMessage(content=[{"type": "text", "text": "Q"}, v1_block(image_bytes)])
        graph.invoke({"messages": [message]})
    (request,) = server.requests
    tools = {t["function"]["name"]: t["function"] for t in request["tools"]}
    assert set(tools) == {"resize_image", "image_zoom_in_tool"}
    assert "from 0 to 1000" in str(tools["image_zoom_in_tool"]["parameters"])


def test_bad_tool_mode_is_a_clear_error() -> None:
    with pytest.raises(ValueError, match="VISIONTHINK_TOOL_MODE must be one of resize, zoom, both"):
        load_module().build_graph({"VISIONTHINK_TOOL_MODE": "crop"})
