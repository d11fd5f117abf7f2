"""A run cancelled through the LangGraph API (``POST /threads/{id}/runs/{run_id}/cancel`` on a
real ``langgraph dev`` on 127.0.0.1) should stop the model call it started, and the next question
be answered promptly: over HTTP by closing the request to the OpenAI-compatible model server
(which is what lets vLLM or SGLang abort the generation), in process (``VISIONTHINK_MODEL=tiny``)
by stopping the generation between tokens."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import psutil
import pytest

from tests.graph.conftest import png_bytes, v1_block
from tests.graph.langgraph_dev import serve_langgraph_dev
from tests.graph.openai_server import STALL, ScriptedOpenAIServer, scripted_openai_server
from visionthink_agent.serving.load import listening_pid

pytest.importorskip("transformers")

QUESTION: Any = {
    "role": "user",
    "content": [{"type": "text", "text": "Which colour?"}, v1_block(png_bytes())],
}


class ServedRuns:
    """Runs on a ``langgraph dev`` server through its HTTP API (``langgraph_sdk``)."""

    def __init__(self, url: str) -> None:
        from langgraph_sdk import get_sync_client

        self.url = url
        self.sdk = get_sync_client(url=url)
        (assistant,) = self.sdk.assistants.search(graph_id="visionthink")
        self.assistant = assistant["assistant_id"]

    def start(self) -> tuple[str, str]:
        """Start a run of :data:`QUESTION` on a new thread: (thread id, run id)."""
        thread = self.sdk.threads.create()["thread_id"]
        run = self.sdk.runs.create(thread, self.assistant, input={"messages": [QUESTION]})
        return thread, run["run_id"]

    def cancel(self, thread: str, run: str) -> None:
        """Cancel through the API's own endpoint and wait for the run to end."""
        response = httpx.post(f"{self.url}/threads/{thread}/runs/{run}/cancel", timeout=30)
        assert response.status_code in (200, 202, 204), response.text
        deadline = time.monotonic() + 30
        while self.sdk.runs.get(thread, run)["status"] in ("pending", "running"):
            assert time.monotonic() < deadline, "the cancelled run never ended"
            time.sleep(0.1)
        assert self.sdk.runs.get(thread, run)["status"] == "interrupted"

    def ask(self) -> tuple[dict[str, Any], float]:
        """Ask :data:`QUESTION` on a new thread and wait: (final state, seconds)."""
        started = time.perf_counter()
        thread = self.sdk.threads.create()["thread_id"]
        result = self.sdk.runs.wait(thread, self.assistant, input={"messages": [QUESTION]})
        assert isinstance(result, dict)
        return result, time.perf_counter() - started


IDLE_CPU_SECONDS = 2.5
"""At most this many CPU-seconds in the 5 s after a cancel: a generation left running takes a
whole core (~5); the server's own upkeep on a busy machine, up to ~1.1 measured."""


def _server_pid(url: str) -> int:
    pid = listening_pid(url)
    assert pid is not None, f"nothing seen listening at {url}"
    return pid


def _cpu_seconds(pid: int, window: float) -> float:
    """CPU time the process used over ``window`` seconds of wall time (all its threads)."""
    process = psutil.Process(pid)
    before = process.cpu_times()
    time.sleep(window)
    after = process.cpu_times()
    return (after.user + after.system) - (before.user + before.system)


def _cancel_while_generating(runs: ServedRuns, server: int) -> float:
    """Start a question, cancel it once it is generating; the server's CPU-seconds in the 5 s
    after the cancel."""
    thread, run = runs.start()
    deadline = time.monotonic() + 120
    while _cpu_seconds(server, 0.5) < 0.2:  # the run has reached the model
        assert time.monotonic() < deadline, "the run never reached the model"
    time.sleep(1.0)  # generating: 20,000 tokens take minutes
    runs.cancel(thread, run)
    return _cpu_seconds(server, 5.0)


@pytest.mark.slow
@pytest.mark.timeout(900)  # a model load and four runs on a busy 2-core machine
def test_a_cancelled_run_stops_the_in_process_generation(tmp_path: Path) -> None:
    """The tiny random-weight model does not end its turns by itself: with 20,000 tokens to
    write, a run left generating would keep the server busy for minutes (about a core: ~5
    CPU-s in 5 s). The tiny model's every answer is that long, so "the next question is taken
    promptly" is shown by the next run reaching the model and being cancelled in turn (the
    served-over-HTTP test below has a next question answered in full)."""
    env = {
        "VISIONTHINK_BASE_URL": "",
        "VISIONTHINK_MODEL": "tiny",
        "VISIONTHINK_MAX_TOKENS": "20000",
    }
    with serve_langgraph_dev("", tmp_path, env=env) as url:
        runs, server = ServedRuns(url), _server_pid(url)
        _cancel_while_generating(runs, server)  # loads the model
        first = _cancel_while_generating(runs, server)
        started = time.perf_counter()
        second = _cancel_while_generating(runs, server)
        taken = time.perf_counter() - started - 5.0
    print(f"after each cancel: {first:.2f}, {second:.2f} CPU-s in 5 s; next taken in {taken:.1f} s")
    assert first < IDLE_CPU_SECONDS
    assert second < IDLE_CPU_SECONDS
    assert taken < 30


@pytest.fixture
def stalling_model() -> Iterator[ScriptedOpenAIServer]:
    with scripted_openai_server([STALL, "<think>Red.</think><answer>red</answer>"]) as server:
        yield server


@pytest.mark.slow
def test_a_cancelled_run_hangs_up_on_the_model_server(
    tmp_path: Path, stalling_model: ScriptedOpenAIServer
) -> None:
    env = {"VISIONTHINK_MODEL": "visionthink-test", "VISIONTHINK_MAX_TOKENS": "256"}
    with serve_langgraph_dev(stalling_model.base_url, tmp_path, env=env) as url:
        runs = ServedRuns(url)
        thread, run = runs.start()
        assert stalling_model.stalled.wait(60)
        cancelled = time.monotonic()
        runs.cancel(thread, run)
        assert stalling_model.hung_up.wait(5)
        hung_up = time.monotonic() - cancelled
        result, seconds = runs.ask()
    print(f"the model server saw the client leave {hung_up:.2f} s after the cancel")
    assert result["status"] == "answered"
    assert seconds < 10
