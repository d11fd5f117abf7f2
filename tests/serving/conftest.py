"""One real vLLM server for the module's tests, started by the project's own command.

The server environment is built beforehand (README command 2 and ``.ci/run`` run
``python -m visionthink_agent.serving.vllm_server --build-only``); a missing environment or a
server that does not start fails the tests, it does not skip them. ``VISIONTHINK_VLLM_ENV``
points at another environment folder; ``VISIONTHINK_VLLM_URL`` reuses a server already running
(the demo model served as ``demo`` in float32 with ``--max-model-len 4096``).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.loopback import free_port
from visionthink_agent.backends.demo import demo_checkpoint_dir
from visionthink_agent.serving.vllm_env import DEFAULT_ENV_DIR, ServerEnvironment, detect_device
from visionthink_agent.serving.vllm_server import VllmServer

MAX_MODEL_LEN = 4096


@pytest.fixture(scope="session")
def vllm_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """``http://127.0.0.1:PORT/v1`` of a vLLM server serving the demo model as ``demo``."""
    running = os.environ.get("VISIONTHINK_VLLM_URL")
    if running:
        yield running
        return
    path = Path(os.environ.get("VISIONTHINK_VLLM_ENV") or DEFAULT_ENV_DIR)
    env = ServerEnvironment(path, detect_device())
    if not env.python.exists():
        pytest.fail(
            f"no vLLM environment at {path}: build it with python -m "
            "visionthink_agent.serving.vllm_server --build-only (README command 2 does)"
        )
    log = tmp_path_factory.mktemp("vllm") / "server.log"
    server = VllmServer(
        env, str(demo_checkpoint_dir()), port=free_port(), max_model_len=MAX_MODEL_LEN, log=log
    )
    server.start(timeout=900)
    try:
        yield server.base_url
    finally:
        server.stop()
