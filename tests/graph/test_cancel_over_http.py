"""A cancelled run stops the model call it started: the HTTP connection to the model server is
closed at once (vLLM and SGLang abort a generation whose client has gone), not left to finish."""

from __future__ import annotations

import asyncio
import select
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from langchain_core.messages import HumanMessage

from tests.graph.conftest import png_bytes, v1_block
from visionthink_agent import create_visionthink_agent
from visionthink_agent.backends.openai_compatible import create_openai_compatible_model


class SlowModelServer:
    """Accepts a chat completion and never answers; records when the client hangs up."""

    def __init__(self) -> None:
        self.received = threading.Event()
        self.hung_up = threading.Event()
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def do_POST(self) -> None:
                self.rfile.read(int(self.headers.get("Content-Length", 0)))
                server.received.set()
                deadline = time.monotonic() + 30
                while time.monotonic() < deadline:  # "generating" until the client leaves
                    readable, _, _ = select.select([self.connection], [], [], 0.05)
                    if readable and not self.connection.recv(1):
                        server.hung_up.set()
                        return

        self.http = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.http.daemon_threads = True
        self.base_url = f"http://127.0.0.1:{self.http.server_address[1]}/v1"
        threading.Thread(target=self.http.serve_forever, args=(0.05,), daemon=True).start()


@pytest.fixture
def slow_server() -> Iterator[SlowModelServer]:
    server = SlowModelServer()
    yield server
    server.http.shutdown()
    server.http.server_close()


async def test_a_cancelled_run_hangs_up_on_the_model_server(slow_server: SlowModelServer) -> None:
    model = create_openai_compatible_model("m", base_url=slow_server.base_url, max_retries=0)
    graph = create_visionthink_agent(model).compile()
    question = HumanMessage([{"type": "text", "text": "Total?"}, v1_block(png_bytes())])
    run = asyncio.create_task(graph.ainvoke({"messages": [question]}))
    assert await asyncio.to_thread(slow_server.received.wait, 20)
    run.cancel()
    with pytest.raises(asyncio.CancelledError):
        await run
    assert await asyncio.to_thread(slow_server.hung_up.wait, 2)
