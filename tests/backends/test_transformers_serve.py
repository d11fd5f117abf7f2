"""The agent against a real OpenAI-compatible server: ``transformers serve`` on loopback."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from langchain_core.messages import HumanMessage
from PIL import Image

from tests.loopback import free_port, wait_until_healthy
from visionthink_agent.backends.openai_compatible import create_openai_compatible_model
from visionthink_agent.graph.agent import create_visionthink_agent
from visionthink_agent.images import encode_image, load_image

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def server(tiny_checkpoint: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    port = free_port()
    hub = tmp_path_factory.mktemp("hub")
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "HF_HUB_CACHE": str(hub)}
    command = [
        str(Path(sys.executable).with_name("transformers")), "serve", str(tiny_checkpoint),
        "--device", "cpu", "--host", "127.0.0.1", "--port", str(port),
    ]  # fmt: skip
    process = subprocess.Popen(
        command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True
    )
    base = f"http://127.0.0.1:{port}"
    try:
        wait_until_healthy(
            f"{base}/health",
            process,
            name="transformers serve",
            timeout=90,
            log=lambda: process.stderr.read()[-2000:] if process.poll() is not None else "",  # type: ignore[union-attr]
            poll=0.5,
        )
        yield f"{base}/v1"
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def test_agent_answers_through_the_openai_compatible_backend(
    server: str, tiny_checkpoint: Path
) -> None:
    image = Image.linear_gradient("L").resize((448, 336)).convert("RGB")
    png = encode_image(image, "PNG")
    model = create_openai_compatible_model(str(tiny_checkpoint), base_url=server, max_tokens=8)
    graph = create_visionthink_agent(model).compile()
    question = HumanMessage(
        [
            {"type": "text", "text": "What is shown?"},
            {"type": "image", "base64": png.base64, "mime_type": "image/png"},
        ]
    )
    result = graph.invoke({"messages": [question]})
    account = load_image(image).token_account(resized=bool(result["resized"]))
    assert result["visual_tokens"] == account.as_dict()
    usage = result["usage"]
    # the server counted the first look's image tokens in the prompt and honoured max_tokens
    assert usage["input_tokens"] > account.first_look + 100
    assert 1 <= usage["output_tokens"] <= 8 * result["model_turns"]
    assert isinstance(result["answer"], str)
