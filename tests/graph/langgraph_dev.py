"""``langgraph dev`` serving graphs/langgraph.json on loopback, for tests that drive it
(:func:`visionthink_agent.serving.langgraph_dev.serve_langgraph_dev`, here with a model server's
URL first)."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path

from visionthink_agent.serving import langgraph_dev


@contextmanager
def serve_langgraph_dev(
    model_base_url: str, log_dir: Path, env: Mapping[str, str] | None = None
) -> Iterator[str]:
    """Run ``langgraph dev`` against a model server; yields its URL, stops it afterwards.

    ``env`` adds settings (``VISIONTHINK_*``) to the served graph's environment.
    """
    settings = {
        "VISIONTHINK_BASE_URL": model_base_url,
        "VISIONTHINK_MODEL": "visionthink-test",
        **(env or {}),
    }
    with langgraph_dev.serve_langgraph_dev(log_dir, settings) as dev:
        yield dev.url
