"""A real OpenAI-compatible judge server on loopback, shared by the judge tests."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.judge.judge_server import ScriptedJudge, serve_in_thread


@pytest.fixture(scope="session")
def judge_server() -> Iterator[tuple[str, ScriptedJudge]]:
    """``(base_url, state)`` of a scripted judge server (see ``judge_server.py``)."""
    with serve_in_thread() as server:
        yield server


@pytest.fixture
def server(judge_server: tuple[str, ScriptedJudge]) -> tuple[str, ScriptedJudge]:
    """The shared server, with its request log and attempt counters cleared."""
    _, state = judge_server
    state.requests.clear()
    state.attempts.clear()
    state.count = 0
    state.peak_inflight.clear()
    return judge_server
