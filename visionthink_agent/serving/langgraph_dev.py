"""``langgraph dev`` serving the project's ``graphs/langgraph.json`` on 127.0.0.1.

The served graph as a user runs it (``cd graphs && langgraph dev --no-browser``), started for
tests and benchmarks that drive it over HTTP; its settings are ``VISIONTHINK_*`` variables
(``graphs/visionthink_graph.py``). It needs a source checkout (the ``graphs/`` folder) and the
``dev`` extra (``langgraph-cli[inmem]``).

Example:
    >>> GRAPHS_DIR.name, (GRAPHS_DIR / "langgraph.json").exists()
    ('graphs', True)
    >>> settings = {"VISIONTHINK_MODEL": "demo"}
    >>> with serve_langgraph_dev(Path("log"), settings) as dev:  # doctest: +SKIP
    ...     dev.url
    'http://127.0.0.1:PORT'
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

import httpx

__all__ = ["GRAPHS_DIR", "DevServer", "LangGraphDevError", "free_port", "serve_langgraph_dev"]

GRAPHS_DIR = Path(__file__).resolve().parents[2] / "graphs"
"""The checkout's ``graphs/`` folder (``langgraph.json``, ``visionthink_graph.py``)."""


class LangGraphDevError(RuntimeError):
    """``langgraph dev`` exited or did not answer in time; the message names its log file."""


@dataclass(frozen=True)
class DevServer:
    """A running ``langgraph dev``: its URL and the process id its process tree starts at."""

    url: str
    pid: int


def free_port() -> int:
    """A TCP port of 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _command() -> str:
    beside = Path(sys.executable).with_name("langgraph")
    found = str(beside) if beside.exists() else shutil.which("langgraph")
    if found is None:
        raise LangGraphDevError(
            "no langgraph command: pip install 'visionthink-agent[dev]' (langgraph-cli[inmem])"
        )
    return found


@contextlib.contextmanager
def serve_langgraph_dev(
    log_dir: Path,
    env: Mapping[str, str] | None = None,
    *,
    graphs_dir: Path = GRAPHS_DIR,
    timeout: float = 60.0,
) -> Iterator[DevServer]:
    """Run ``langgraph dev`` on a free port of 127.0.0.1; yield it, stop it afterwards.

    ``env`` is added to this process's environment (``VISIONTHINK_*`` settings); its output goes
    to ``log_dir/langgraph-dev.log``. The server runs in its own session and is stopped with its
    process group (SIGTERM, SIGKILL after 15 s).

    Raises:
        LangGraphDevError: it exited, or ``/ok`` did not answer within ``timeout`` seconds.
    """
    port = free_port()
    settings = {
        **os.environ,
        "LANGSMITH_TRACING": "false",
        "LANGGRAPH_CLI_NO_ANALYTICS": "1",
        **(env or {}),
    }
    command = [_command(), "dev", "--no-browser", "--no-reload"]
    command += ["--host", "127.0.0.1", "--port", str(port)]
    log_dir.mkdir(parents=True, exist_ok=True)
    log_path = log_dir / "langgraph-dev.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            command,
            cwd=graphs_dir,
            env=settings,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_until_ok(url, process, timeout, log_path)
        yield DevServer(url, process.pid)
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


def _wait_until_ok(url: str, process: subprocess.Popen[bytes], timeout: float, log: Path) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise LangGraphDevError(
                f"langgraph dev exited with code {process.returncode}; its log: {log}"
            )
        with contextlib.suppress(httpx.HTTPError):
            if httpx.get(f"{url}/ok", timeout=2).status_code == 200:
                return
        time.sleep(0.3)
    raise LangGraphDevError(f"langgraph dev did not come up within {timeout:g} s; its log: {log}")
