"""What an OpenAI-compatible server serves: its model names and their context lengths.

``GET {base_url}/models`` lists the served models; vLLM adds each one's ``max_model_len`` (the
prompt and the generated tokens together). :func:`find_served_model` picks the model a command
talks to (the one named, else the first listed) and :func:`generation_cap` turns the context
length into the most tokens a turn may ask for, so that a server started with a small
``--max-model-len`` is not sent a cap it refuses (vLLM answers HTTP 400 to a ``max_tokens``
above ``max_model_len``, and itself lowers a cap that the prompt leaves no room for).

:func:`resolve_generation` does both for a client (``visionthink ask`` / ``eval --base-url``,
the served graph): the model name and the cap, a requested cap above the context refused.
Failures are one line that names the URL (without its user-info) and the setting to change
(the command-line flags, or the served graph's environment variables: :class:`SettingNames`);
they never quote the body.

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
    "CLI_SETTINGS",
    "DEFAULT_MAX_NEW_TOKENS",
    "GRAPH_SETTINGS",
    "GenerationCapError",
    "ServedModel",
    "ServerProbeError",
    "SettingNames",
    "find_served_model",
    "generation_cap",
    "list_served_models",
    "resolve_generation",
]

DEFAULT_MAX_NEW_TOKENS = 8192
"""Tokens a turn may generate, as VisionThink is evaluated (protocol §6)."""


@dataclass(frozen=True)
class SettingNames:
    """How the user names each setting, for the fix an error message suggests.

    Example:
        >>> CLI_SETTINGS.given(CLI_SETTINGS.max_tokens, 9000)
        '--max-new-tokens 9000'
        >>> GRAPH_SETTINGS.given(GRAPH_SETTINGS.max_tokens, 9000)
        'VISIONTHINK_MAX_TOKENS=9000'
    """

    base_url: str
    model: str
    api_key: str
    max_tokens: str
    separator: str
    """Between a setting and its value: ``" "`` for a flag, ``"="`` for a variable."""

    def given(self, setting: str, value: object) -> str:
        """``setting`` with ``value``, as the user wrote it."""
        return f"{setting}{self.separator}{value}"


CLI_SETTINGS = SettingNames("--base-url", "--model", "--api-key", "--max-new-tokens", " ")
"""``visionthink ask`` / ``eval`` flags."""

GRAPH_SETTINGS = SettingNames(
    "VISIONTHINK_BASE_URL",
    "VISIONTHINK_MODEL",
    "VISIONTHINK_API_KEY",
    "VISIONTHINK_MAX_TOKENS",
    "=",
)
"""The served graph's environment variables (``graphs/visionthink_graph.py``)."""


class ServerProbeError(RuntimeError):
    """The server's model list could not be read, or does not hold the model asked for.

    The message is one line naming the URL and the fix; ``unreachable`` tells a refused or
    timed-out connection from an answer that was not the expected list. (A ``RuntimeError``:
    the LangGraph API server shows such a run error's message to the client; it replaces the
    message of an ``Exception`` outside the builtin kinds with "An internal error occurred".)

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
    base_url: str,
    *,
    api_key: str | None = None,
    timeout: float = 10.0,
    names: SettingNames = CLI_SETTINGS,
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
            f"cannot reach the model server at {shown} ({reason}): is it running? Check "
            f"{names.base_url}",
            unreachable=True,
        ) from exc
    if response.status_code >= 400:
        raise ServerProbeError(
            f"{shown_url} answered HTTP {response.status_code}: check {names.base_url} and "
            f"{names.api_key}, or name the model with {names.model}"
        )
    try:
        entries = response.json()["data"]
        return [_served_model(entry) for entry in entries]
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        raise ServerProbeError(
            f"{shown_url} did not answer with a model list: is {names.base_url} an "
            "OpenAI-compatible API?"
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
    names: SettingNames = CLI_SETTINGS,
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
        served = list_served_models(base_url, api_key=api_key, timeout=timeout, names=names)
    except ServerProbeError as exc:
        if model and not exc.unreachable:
            return ServedModel(model)
        raise
    if not served:
        raise ServerProbeError(
            f"the server at {display_url(base_url)} serves no model; set {names.model}"
        )
    if model is None:
        return served[0]
    for entry in served:
        if entry.name == model:
            return entry
    listed = ", ".join(entry.name for entry in served[:5])
    raise ServerProbeError(
        f"the server at {display_url(base_url)} does not serve the model {model!r} (it serves: "
        f"{listed}): "
        f"pass one of those with {names.model}, or leave {names.model} out to use the first"
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


class GenerationCapError(ServerProbeError):
    """A requested generation cap the server's context length cannot hold.

    Example:
        >>> issubclass(GenerationCapError, ServerProbeError)
        True
    """


def resolve_generation(
    base_url: str,
    *,
    model: str | None,
    api_key: str | None,
    max_new_tokens: int | None,
    names: SettingNames = CLI_SETTINGS,
    timeout: float = 10.0,
) -> tuple[str, int]:
    """``(model name, max tokens a turn)`` for a client of the server at ``base_url``.

    The name is ``model``, else the server's first; ``max_new_tokens`` is kept when given and
    refused when the server's context cannot hold it; otherwise the cap is 8192 or the context
    length, whichever is smaller (:func:`generation_cap`).

    Raises:
        GenerationCapError: ``max_new_tokens`` exceeds the served model's context length.
        ServerProbeError: the server is unreachable or does not serve ``model``.

    Example:
        >>> resolve_generation("http://127.0.0.1:1/v1", model=None, api_key=None,
        ...                    max_new_tokens=None, names=GRAPH_SETTINGS)  # doctest: +ELLIPSIS
        Traceback (most recent call last):
        ...
        visionthink_agent.backends.served_models.ServerProbeError: ... Check VISIONTHINK_BASE_URL
    """
    served = find_served_model(base_url, model, api_key=api_key, timeout=timeout, names=names)
    limit = served.max_model_len
    if max_new_tokens is not None and limit is not None and max_new_tokens > limit:
        raise GenerationCapError(
            f"{names.given(names.max_tokens, max_new_tokens)} exceeds the context length of "
            f"{served.name!r} at {display_url(base_url)} (max_model_len {limit}): lower "
            f"{names.max_tokens}, or leave it out to follow the server"
        )
    return served.name, generation_cap(max_new_tokens, served)
