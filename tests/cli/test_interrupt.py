"""Ctrl-C in ``visionthink ask`` and ``visionthink eval``: one line, exit 130, no traceback.

The model server on loopback accepts a chat completion and never answers, so the command is
interrupted while it waits on the model (as a user would press Ctrl-C during a slow answer).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from tests.cli.conftest import RECEIPT

VISIONTHINK = Path(sys.executable).with_name("visionthink")


class _StalledServer:
    """Lists one model, ``m``; holds each chat-completion request open until the test ends."""

    def __init__(self) -> None:
        self.received = threading.Event()
        self.release = threading.Event()
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def do_GET(self) -> None:  # the model list the commands read first
                body = json.dumps({"object": "list", "data": [{"id": "m"}]}).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def do_POST(self) -> None:
                self.rfile.read(int(self.headers.get("Content-Length", 0)))
                server.received.set()
                server.release.wait(30)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/v1"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.release.set()
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def stalled() -> Iterator[_StalledServer]:
    server = _StalledServer()
    try:
        yield server
    finally:
        server.close()


def _interrupt(argv: list[str], server: _StalledServer) -> tuple[int, str, float]:
    """Start the command, press Ctrl-C once the model is asked; (exit code, stderr, seconds).

    A command still running 30 s after Ctrl-C fails the test with the Python stacks of all its
    threads (faulthandler, on SIGABRT), which say what it was waiting for.
    """
    process = subprocess.Popen(
        [str(VISIONTHINK), *argv],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONFAULTHANDLER": "1"},
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),  # as in a terminal
    )
    try:
        # Start-up (imports, the benchmark, the first request) takes a minute on a busy machine.
        assert server.received.wait(180), "the command never called the model"
        pressed = time.monotonic()
        process.send_signal(signal.SIGINT)
        try:
            _, err = process.communicate(timeout=30)
        except subprocess.TimeoutExpired:
            process.send_signal(signal.SIGABRT)
            _, err = process.communicate(timeout=30)
            pytest.fail(f"still running 30 s after Ctrl-C; its threads:\n{err[-8000:]}")
        return process.returncode, err, time.monotonic() - pressed
    finally:
        if process.poll() is None:
            process.kill()


@pytest.mark.slow
def test_ctrl_c_in_ask(stalled: _StalledServer) -> None:
    argv = ["ask", str(RECEIPT), "Total?", "--base-url", stalled.url, "--model", "m"]
    code, err, seconds = _interrupt(argv, stalled)
    assert code == 130
    assert err == "interrupted: no answer (nothing is kept); run the command again to ask again\n"
    assert seconds < 10  # no wait for the stalled request


@pytest.mark.slow
def test_ctrl_c_in_eval_keeps_the_records_and_says_how_to_resume(
    stalled: _StalledServer, tmp_path: Path
) -> None:
    out = tmp_path / "run"
    argv = ["eval", "synthetic", "--limit", "2", "--base-url", stalled.url, "--model", "m"]
    code, err, seconds = _interrupt([*argv, "--out", str(out)], stalled)
    assert code == 130
    assert err.count("\n") == 1, err
    assert err.startswith("interrupted: 0 finished record(s) kept in ")
    assert str(out / "records.jsonl") in " ".join(err.split())
    assert err.rstrip().endswith("run the same command again to resume")
    assert seconds < 10
