"""Every error that names a URL shows it without its user-info (``user:password@``).

One row per message that can name a URL: image fetches (refused, unresolvable, HTTP error,
oversize, timeout, redirect loop, refused connection, unsupported scheme, a ``file://`` block)
and the command line's model-server messages. The secret must not appear; the host must.
"""

from __future__ import annotations

from collections.abc import Callable

import httpx2
import openai
import pytest

from tests.conftest import encode
from tests.core.conftest import LoopbackServer, Route, photo
from tests.loopback import free_port
from visionthink_agent.cli.errors import CommandError, describe_model_failure
from visionthink_agent.cli.served import resolve_served_model
from visionthink_agent.images import ImageError, fetch_url, load_image
from visionthink_agent.urls import display_url

SECRET = "hunter2"


def _with_secret(url: str) -> str:
    return url.replace("://", f"://alice:{SECRET}@", 1)


def _message(call: Callable[[], object], error: type[Exception] = ImageError) -> str:
    with pytest.raises(error) as caught:
        call()
    return str(caught.value)


def _check(message: str, host: str) -> None:
    """The message names ``host`` and none of the user-info."""
    assert SECRET not in message
    assert "alice" not in message
    assert host in message


def test_display_url_drops_only_the_user_info() -> None:
    assert (
        display_url(f"http://alice:{SECRET}@127.0.0.1:9/v1?q=a@b") == "http://127.0.0.1:9/v1?q=a@b"
    )
    assert display_url(f"https://{SECRET}@[::1]/x") == "https://[::1]/x"
    assert display_url(f"http://u:{SECRET}@[::1/x@y") == "http://[::1/x@y"  # malformed IPv6
    assert display_url("http://host/path@not-user-info") == "http://host/path@not-user-info"


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1/a.png",  # loopback: refused before any connection
        "http://169.254.169.254/latest/meta-data",  # link-local
        "ftp://example.com/a.png",  # unsupported scheme
        "gopher://example.com/a.png",  # unsupported scheme, through load_image's own check
        "http://no-such-host.invalid/a.png",  # does not resolve
    ],
)
def test_refused_urls_are_named_without_user_info(url: str) -> None:
    message = _message(lambda: load_image(_with_secret(url)))
    _check(message, display_url(_with_secret(url)).split("/")[2])


def test_a_file_url_block_is_named_without_user_info() -> None:
    block = {"type": "image", "url": _with_secret("file://host/etc/passwd")}
    message = _message(lambda: load_image(block))
    _check(message, "file://host/etc/passwd")


@pytest.fixture
def server(loopback_server: LoopbackServer) -> LoopbackServer:
    png = encode(photo(64, 48), "PNG")
    loopback_server.routes["/big.png"] = Route(body=png)
    loopback_server.routes["/slow.png"] = Route(body=png, delay=1.0)
    loopback_server.routes["/loop"] = Route(status=302, headers={"Location": "/loop"})
    loopback_server.routes["/nowhere"] = Route(status=302)
    loopback_server.routes["/models"] = Route(status=401, body=b"nope")
    loopback_server.routes["/v2/models"] = Route(body=b"not json")
    loopback_server.routes["/v3/models"] = Route(body=b'{"data": []}')
    return loopback_server


@pytest.mark.parametrize(
    ("path", "kwargs"),
    [
        ("/missing.png", {}),  # HTTP 404
        ("/big.png", {"max_bytes": 10}),  # over the byte limit
        ("/slow.png", {"timeout": 0.2}),  # timed out
        ("/loop", {"max_redirects": 1}),  # redirect loop
        ("/nowhere", {}),  # redirect without Location
    ],
)
def test_fetch_errors_name_the_url_without_user_info(
    server: LoopbackServer, path: str, kwargs: dict[str, float]
) -> None:
    url = _with_secret(server.url(path))
    message = _message(lambda: fetch_url(url, allow_private=True, **kwargs))  # type: ignore[arg-type]
    _check(message, server.base.split("//")[1])


def _first_served_model(base_url: str) -> tuple[str, int]:
    return resolve_served_model(base_url, model=None, api_key=None, max_new_tokens=None)


def test_a_refused_connection_is_named_without_user_info() -> None:
    url = _with_secret(f"http://127.0.0.1:{free_port()}/a.png")
    message = _message(lambda: load_image(url, allow_private_urls=True))
    _check(message, "127.0.0.1")


@pytest.mark.parametrize("root", ["", "/v2", "/v3"])
def test_the_model_list_errors_name_the_server_without_user_info(
    server: LoopbackServer, root: str
) -> None:
    message = _message(lambda: _first_served_model(_with_secret(server.url(root))), CommandError)
    _check(message, server.base.split("//")[1])


def test_an_unreachable_model_server_is_named_without_user_info() -> None:
    base_url = _with_secret(f"http://127.0.0.1:{free_port()}/v1")
    message = _message(lambda: _first_served_model(base_url), CommandError)
    _check(message, "127.0.0.1")
    request = httpx2.Request("POST", base_url)
    for exc in (
        openai.APIConnectionError(request=request),
        openai.APITimeoutError(request=request),
        openai.AuthenticationError("no", response=httpx2.Response(401, request=request), body=None),
    ):
        line = describe_model_failure(exc, base_url=base_url, attempts=1, timeout=5)
        _check(line, "http://127.0.0.1:")
