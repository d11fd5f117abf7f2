"""``langgraph dev`` serving graphs/langgraph.json on loopback, for tests that drive it."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path

from tests.loopback import free_port, wait_until_healthy

GRAPHS = Path(__file__).resolve().parents[2] / "graphs"
LANGGRAPH = Path(sys.executable).with_name("langgraph")


@contextmanager
def serve_langgraph_dev(
    model_base_url: str, log_dir: Path, env: Mapping[str, str] | None = None
) -> Iterator[str]:
    """Run ``langgraph dev`` against a model server; yields its URL, stops it afterwards.

    ``env`` adds settings (``VISIONTHINK_*``) to the served graph's environment.
    """
    port = free_port()
    settings = {
        **os.environ,
        "VISIONTHINK_BASE_URL": model_base_url,
        "VISIONTHINK_MODEL": "visionthink-test",
        "LANGSMITH_TRACING": "false",
        "LANGGRAPH_CLI_NO_ANALYTICS": "1",
        **(env or {}),
    }
    command = [str(LANGGRAPH), "dev", "--no-browser", "--no-reload"]
    command += ["--host", "127.0.0.1", "--port", str(port)]
    log_path = log_dir / "langgraph-dev.log"
    log = log_path.open("wb")
    process = subprocess.Popen(
        command,
        cwd=GRAPHS,
        env=settings,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_until_healthy(
            f"{url}/ok", process, name="langgraph dev", timeout=60, log=log_path.read_text
        )
        yield url
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
        log.close()
