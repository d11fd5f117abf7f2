"""The served model a ``--base-url`` command talks to, and the token cap it may ask for.

``ask`` and ``eval`` ask the server before any work: its model list gives the name when
``--model`` is not given and the context length (vLLM's ``max_model_len``) that bounds the
generation cap; an unreachable server or an unknown model is one line and exit 1.

Example:
    >>> resolve_served_model("http://127.0.0.1:1/v1", model=None, api_key=None,
    ...                      max_new_tokens=None)  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    visionthink_agent.cli.errors.CommandError: cannot reach the model server at http://127.0...
"""

from __future__ import annotations

from visionthink_agent.backends.served_models import (
    GenerationCapError,
    ServerProbeError,
    resolve_generation,
)
from visionthink_agent.cli.errors import CommandError

__all__ = ["resolve_served_model"]


def resolve_served_model(
    base_url: str, *, model: str | None, api_key: str | None, max_new_tokens: int | None
) -> tuple[str, int]:
    """``(model name, max tokens a turn)`` for the server at ``base_url``.

    ``max_new_tokens`` (``--max-new-tokens``) is kept when given, and refused when the
    server's context cannot hold it; otherwise the cap is 8192 or the context length,
    whichever is smaller.

    Raises:
        CommandError: the server is unreachable or does not serve ``model`` (exit 1);
            ``max_new_tokens`` exceeds its context length (exit 2).
    """
    try:
        return resolve_generation(
            base_url, model=model, api_key=api_key, max_new_tokens=max_new_tokens
        )
    except GenerationCapError as exc:
        raise CommandError(str(exc), 2) from exc
    except ServerProbeError as exc:
        raise CommandError(str(exc), 1) from exc
