"""The served graph (``graphs/visionthink_graph.py``) adapts to its model server as
``visionthink ask --base-url`` does: the model name and the token cap from ``/v1/models``, asked
when the first run needs the graph; an unreachable server is one line naming its URL."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from langchain_core.messages import HumanMessage

from tests.evaluation.fakes import OracleVisionModel
from tests.evaluation.vision_server import serve_oracle
from tests.graph.test_graphs_config import load_module
from tests.loopback import free_port
from tests.serving.conftest import MAX_MODEL_LEN
from visionthink_agent.backends.served_models import GenerationCapError, ServerProbeError
from visionthink_agent.images import encode_image
from visionthink_agent.synthetic import make_synthetic_samples


def _question(n: int = 1) -> tuple[dict[str, Any], str]:
    sample = make_synthetic_samples(n, preset="demo")[n - 1]
    png = encode_image(sample.image, "PNG")
    picture = {"type": "image", "base64": png.base64, "mime_type": png.mime_type}
    message = HumanMessage(content=[{"type": "text", "text": sample.question}, picture])
    return {"messages": [message]}, sample.answer


@pytest.fixture
def no_graph_settings(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    for name in ("VISIONTHINK_MODEL", "VISIONTHINK_MAX_TOKENS", "VISIONTHINK_BASE_URL"):
        monkeypatch.delenv(name, raising=False)
    return monkeypatch


def test_the_graph_is_built_on_the_first_run_with_the_served_model_once(
    no_graph_settings: pytest.MonkeyPatch,
) -> None:
    """A server like vLLM (404 for another model, 400 for a cap over its context) listing
    ``served-demo`` with a 4096 context: without the model or the cap set, the graph asks for
    it (it used to send ``Senqiao/VisionThink-Efficient`` and 8192)."""
    sample = make_synthetic_samples(1, preset="demo")[0]
    oracle = OracleVisionModel(
        answers={sample.question: (sample.answer, sample.needs_high_res)}, full_width=224
    )
    with serve_oracle(oracle, models=[{"id": "served-demo", "max_model_len": 4096}]) as url:
        no_graph_settings.setenv("VISIONTHINK_BASE_URL", url)
        module = load_module()
        graph = asyncio.run(module.graph())
        assert asyncio.run(module.graph()) is graph
        question, answer = _question()
        result = graph.invoke(question)
    assert (result["status"], result["answer"]) == ("answered", answer)
    assert oracle.calls >= 1


def test_an_unreachable_model_server_fails_the_run_in_one_line_and_is_asked_again(
    no_graph_settings: pytest.MonkeyPatch,
) -> None:
    url = f"http://127.0.0.1:{free_port()}/v1"
    no_graph_settings.setenv("VISIONTHINK_BASE_URL", url)
    module = load_module()
    for _ in range(2):  # a failure is not kept: the next run asks again
        with pytest.raises(ServerProbeError) as caught:
            asyncio.run(module.graph())
        message = str(caught.value)
        assert message.startswith(f"cannot reach the model server at {url} (")
        assert message.endswith("is it running? Check VISIONTHINK_BASE_URL")
        assert "\n" not in message
    # the LangGraph API server shows a RuntimeError's message to the client ("An internal
    # error occurred" for other exception kinds)
    assert isinstance(caught.value, RuntimeError)


@pytest.mark.slow
@pytest.mark.timeout(1800)  # the first test of the session starts vLLM
def test_the_served_graph_follows_the_vllm_server(vllm_url: str) -> None:
    """Against vLLM started with ``--max-model-len 4096``: no model, no cap set, and the graph
    answers (the old defaults got HTTP 404 for the model, then 400 for 8192 tokens); a cap over
    the context is refused in one line naming the setting."""
    module = load_module()
    graph = module.build_graph({"VISIONTHINK_BASE_URL": vllm_url})
    question, answer = _question()
    result = graph.invoke(question)
    assert (result["status"], result["answer"]) == ("answered", answer)
    too_many = {"VISIONTHINK_BASE_URL": vllm_url, "VISIONTHINK_MAX_TOKENS": "5000"}
    with pytest.raises(GenerationCapError) as caught:
        module.build_graph(too_many)
    assert str(caught.value) == (
        f"VISIONTHINK_MAX_TOKENS=5000 exceeds the context length of 'demo' at {vllm_url} "
        f"(max_model_len {MAX_MODEL_LEN}): lower VISIONTHINK_MAX_TOKENS, or leave it out to "
        "follow the server"
    )
