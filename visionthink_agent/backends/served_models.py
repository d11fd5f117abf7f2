"""What an OpenAI-compatible server serves: its model names and their context lengths.

``GET {base_url}/models`` lists the served models; vLLM adds each one's ``max_model_len`` (the
prompt and the generated tokens together). :func:`find_served_model` picks the model a command
talks to (the one named, else the first listed) and :func:`generation_cap` turns the context
length into the most tokens a turn may ask for, so that a server started with a small
``--max-model-len`` is not sent a cap it refuses (vLLM answers HTTP 400 to a ``max_tokens``
above ``max_model_len``, and itself lowers a cap that the prompt leaves no room for).

Failures are one line that names the URL (without its user-info) and what to change; they
never quote the body.

Example:
    >>> generation_cap(None, ServedModel("demo", max_model_len=4096))
    4096
    >>> generation_cap(None, ServedModel("big", max_model_len=32768)), generation_cap(
    ...     100, ServedModel("demo", max_model_len=4096))
    (8192, 100)
"""

from __future__ import annotations

from dataclasses import dataclass

import httpx

from visionthink_agent.urls import display_url

__all__ = [
    "DEFAULT_MAX_NEW_TOKENS",
    "ServedModel",
    "ServerProbeError",
    "find_served_model",
    "generation_cap",
    "list_served_models",
]

DEFAULT_MAX_NEW_TOKENS = 8192
"""Tokens a turn may generate, as VisionThink is evaluated (protocol §6)."""


class ServerProbeError(Exception):
    """The server's model list could not be read, or does not hold the model asked for.

    The message is one line naming the URL and the fix; ``unreachable`` tells a refused or
    timed-out connection from an answer that was not the expected list.

    Example:
        >>> ServerProbeError("x", unreachable=True).unreachable
        True
    """

    def __init__(self, message: str, *, unreachable: bool = False) -> None:
        super().__init__(message)
        self.unreachable = unreachable


@dataclass(frozen=True)
class ServedModel:
    """One entry of a server's ``/models`` list.

    Attributes:
        name: the id to send as ``model``.
        max_model_len: the context length (prompt + generated tokens) when the server tells it
            (vLLM does), else ``None``.

    Example:
        >>> ServedModel("demo").max_model_len is None
        True
    """

    name: str
    max_model_len: int | None = None


def list_served_models(
    base_url: str, *, api_key: str | None = None, timeout: float = 10.0
) -> list[ServedModel]:
    """The models ``GET {base_url}/models`` lists, in the server's order.

    Raises:
        ServerProbeError: the server cannot be reached, answers an HTTP error, or its answer
            is not an OpenAI model list.

    Example:
        >>> list_served_models("http://127.0.0.1:1/v1")  # doctest: +ELLIPSIS
        Traceback (most recent call last):
        ...
        visionthink_agent.backends.served_models.ServerProbeError: cannot reach the model server...
    """
    url = base_url.rstrip("/") + "/models"
    headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
    shown, shown_url = display_url(base_url), display_url(url)
    try:
        response = httpx.get(url, headers=headers, timeout=timeout)
    except httpx.HTTPError as exc:
        reason = str(exc) or type(exc).__name__
        raise ServerProbeError(
            f"cannot reach the model server at {shown} ({reason}): is it running? Check --base-url",
            unreachable=True,
        ) from exc
    if response.status_code >= 400:
        raise ServerProbeError(
            f"{shown_url} answered HTTP {response.status_code}: check --base-url and --api-key, or "
            "name the model with --model"
        )
    try:
        entries = response.json()["data"]
        return [_served_model(entry) for entry in entries]
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        raise ServerProbeError(
            f"{shown_url} did not answer with a model list: is --base-url an OpenAI-compatible API?"
        ) from exc


def _served_model(entry: dict[str, object]) -> ServedModel:
    length = entry.get("max_model_len")
    return ServedModel(
        name=str(entry["id"]),
        max_model_len=length if isinstance(length, int) and length > 0 else None,
    )


def find_served_model(
    base_url: str,
    model: str | None = None,
    *,
    api_key: str | None = None,
    timeout: float = 10.0,
) -> ServedModel:
    """The served model a command talks to: ``model`` when given, else the first listed.

    A ``model`` the server does not list is refused (naming what it serves); a server without
    a model list (HTTP error) is still used when ``model`` is given, with no known length.

    Raises:
        ServerProbeError: unreachable server; no ``model`` and no list; ``model`` not listed.

    Example:
        >>> find_served_model("http://127.0.0.1:1/v1", "m")  # doctest: +ELLIPSIS
        Traceback (most recent call last):
        ...
        visionthink_agent.backends.served_models.ServerProbeError: cannot reach the model server...
    """
    try:
        served = list_served_models(base_url, api_key=api_key, timeout=timeout)
    except ServerProbeError as exc:
        if model and not exc.unreachable:
            return ServedModel(model)
        raise
    if not served:
        raise ServerProbeError(
            f"the server at {display_url(base_url)} serves no model; pass --model"
        )
    if model is None:
        return served[0]
    for entry in served:
        if entry.name == model:
            return entry
    names = ", ".join(entry.name for entry in served[:5])
    raise ServerProbeError(
        f"the server at {display_url(base_url)} does not serve the model {model!r} (it serves: "
        f"{names}): "
        "pass one of those with --model, or leave --model out to use the first"
    )


def generation_cap(
    requested: int | None, served: ServedModel, *, default: int = DEFAULT_MAX_NEW_TOKENS
) -> int:
    """The ``max_tokens`` to send: ``requested`` when given, else ``default`` within the server.

    The cap never exceeds the server's context length (vLLM refuses that with HTTP 400); the
    prompt's share of the context is the server's to subtract (vLLM does).

    Example:
        >>> generation_cap(None, ServedModel("m")), generation_cap(None, ServedModel("m", 2048))
        (8192, 2048)
    """
    if requested is not None:
        return requested
    if served.max_model_len is None:
        return default
    return min(default, served.max_model_len)
