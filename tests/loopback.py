"""Helpers for tests that start a real server on 127.0.0.1."""

from __future__ import annotations

import subprocess
import time
from collections.abc import Callable

import httpx
import pytest

from visionthink_agent.serving.langgraph_dev import free_port as free_port  # one copy


def wait_until_healthy(
    url: str,
    process: subprocess.Popen[str] | subprocess.Popen[bytes],
    *,
    name: str,
    timeout: float,
    log: Callable[[], str],
    poll: float = 0.3,
) -> None:
    """Poll ``url`` until it answers 200; fail the test if ``process`` exits or time runs out.

    ``log`` returns what the server printed, quoted in the failure message.
    """
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"{name} exited: {log()}")
        try:
            if httpx.get(url, timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            time.sleep(poll)
    pytest.fail(f"{name} did not come up within {timeout:g} s: {log()}")
