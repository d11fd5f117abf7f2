"""URL loading against a real HTTP server on 127.0.0.1: SSRF guard, caps, timeouts, redirects."""

from __future__ import annotations

import pytest

from tests.conftest import encode
from tests.core.conftest import LoopbackServer, Route, photo
from visionthink_agent.images import (
    DownloadError,
    UnsafeURLError,
    UnsupportedSourceError,
    check_url_is_public,
    fetch_url,
    load_image,
)
from visionthink_agent.images import fetch as fetch_module


@pytest.fixture
def png() -> bytes:
    return encode(photo(64, 48), "PNG")


@pytest.mark.parametrize(
    ("url", "kind"),
    [
        ("http://127.0.0.1/a.png", "loopback"),
        ("http://127.8.9.10:8080/a.png", "loopback"),
        ("http://localhost/a.png", "loopback"),
        ("http://[::1]/a.png", "loopback"),
        ("http://[::ffff:127.0.0.1]/a.png", "loopback"),
        ("http://10.0.0.1/a.png", "private"),
        ("http://192.168.1.1/a.png", "private"),
        ("http://172.16.0.1/a.png", "private"),
        ("http://169.254.169.254/latest/meta-data", "link-local"),
        ("http://[fe80::1]/a.png", "link-local"),
        ("http://0.0.0.0/a.png", "unspecified"),
        ("http://224.0.0.1/a.png", "multicast"),
        ("https://2130706433/a.png", "loopback"),  # 127.0.0.1 as an integer
        ("http://100.100.100.200/latest/meta-data", "non-global"),  # Alibaba Cloud metadata
    ],
)
def test_non_public_addresses_are_refused(url: str, kind: str) -> None:
    with pytest.raises(UnsafeURLError, match=kind):
        check_url_is_public(url)
    with pytest.raises(UnsafeURLError, match="allow_private_urls=True"):
        load_image(url)


def test_public_addresses_pass_the_check() -> None:
    check_url_is_public("http://93.184.215.14/a.png")  # a literal: no DNS needed
    check_url_is_public("https://[2606:4700::6810:84e5]/a.png")


def test_refused_before_any_connection(loopback_server: LoopbackServer, png: bytes) -> None:
    loopback_server.routes["/a.png"] = Route(body=png)
    with pytest.raises(UnsafeURLError):
        load_image(loopback_server.url("/a.png"))
    assert loopback_server.hits == []


def test_allowed_with_the_flag(loopback_server: LoopbackServer, png: bytes) -> None:
    loopback_server.routes["/a.png"] = Route(body=png, headers={"Content-Type": "image/png"})
    img = load_image(loopback_server.url("/a.png"), allow_private_urls=True)
    assert img.size == (64, 48)
    assert img.high_res_payload().data == png
    block = {"type": "image_url", "image_url": {"url": loopback_server.url("/a.png")}}
    assert load_image(block, allow_private_urls=True).size == (64, 48)


def test_http_error_status(loopback_server: LoopbackServer) -> None:
    with pytest.raises(DownloadError, match="HTTP 404"):
        load_image(loopback_server.url("/missing.png"), allow_private_urls=True)


def test_download_over_the_size_cap(loopback_server: LoopbackServer, png: bytes) -> None:
    loopback_server.routes["/a.png"] = Route(body=png)
    with pytest.raises(DownloadError, match=r"bytes, over the .*-byte limit"):
        load_image(loopback_server.url("/a.png"), allow_private_urls=True, max_bytes=len(png) - 1)
    # a server that does not announce its length is cut off while streaming
    loopback_server.routes["/chunked.png"] = Route(body=png, chunked_delay=0.001, send_length=False)
    assert fetch_url(loopback_server.url("/chunked.png"), allow_private=True) == png
    with pytest.raises(DownloadError, match="sent more than the 100-byte limit"):
        fetch_url(loopback_server.url("/chunked.png"), allow_private=True, max_bytes=100)


def test_download_timeout(loopback_server: LoopbackServer, png: bytes) -> None:
    loopback_server.routes["/slow.png"] = Route(body=png, delay=2.0)
    with pytest.raises(DownloadError, match="timed out"):
        load_image(loopback_server.url("/slow.png"), allow_private_urls=True, timeout=0.3)


def test_slow_body_hits_the_overall_deadline(loopback_server: LoopbackServer, png: bytes) -> None:
    """A server trickling bytes (each within the read timeout) still hits the overall deadline."""
    loopback_server.routes["/drip.png"] = Route(body=png * 4, chunked_delay=0.02)
    with pytest.raises(DownloadError, match="timed out"):
        fetch_url(loopback_server.url("/drip.png"), allow_private=True, timeout=0.5)


def test_redirects_are_followed_and_checked(loopback_server: LoopbackServer, png: bytes) -> None:
    server = loopback_server
    server.routes["/a.png"] = Route(body=png)
    server.routes["/r1"] = Route(status=302, headers={"Location": "/a.png"})
    server.routes["/r2"] = Route(status=301, headers={"Location": server.url("/r1")})
    assert load_image(server.url("/r2"), allow_private_urls=True).size == (64, 48)
    assert server.hits == ["/r2", "/r1", "/a.png"]


def test_redirect_count_limit(loopback_server: LoopbackServer, png: bytes) -> None:
    server = loopback_server
    server.routes["/a.png"] = Route(body=png)
    for i in range(5):
        server.routes[f"/r{i}"] = Route(status=307, headers={"Location": f"/r{i - 1}"})
    server.routes["/r0"] = Route(status=307, headers={"Location": "/a.png"})
    assert fetch_url(server.url("/r2"), allow_private=True, max_redirects=3) == png
    with pytest.raises(DownloadError, match="more than 3 redirects"):
        fetch_url(server.url("/r4"), allow_private=True, max_redirects=3)
    server.routes["/loop"] = Route(status=302, headers={"Location": "/loop"})
    with pytest.raises(DownloadError, match="redirects"):
        fetch_url(server.url("/loop"), allow_private=True)


def test_redirect_to_a_refused_target(loopback_server: LoopbackServer) -> None:
    server = loopback_server
    server.routes["/to-ftp"] = Route(status=302, headers={"Location": "ftp://example.com/a.png"})
    with pytest.raises(UnsupportedSourceError, match="ftp"):
        fetch_url(server.url("/to-ftp"), allow_private=True)
    server.routes["/no-location"] = Route(status=302)
    with pytest.raises(DownloadError, match="Location"):
        fetch_url(server.url("/no-location"), allow_private=True)


def test_unreachable_and_unresolvable() -> None:
    with pytest.raises(DownloadError, match="cannot resolve"):
        check_url_is_public("http://no-such-host.invalid/a.png")
    with pytest.raises(UnsupportedSourceError, match="without a host"):
        check_url_is_public("http:///a.png")


def test_every_redirect_hop_is_checked(
    loopback_server: LoopbackServer, png: bytes, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A public first URL redirecting to a private one must be refused at the second hop."""
    server = loopback_server
    server.routes["/public"] = Route(status=302, headers={"Location": "/private.png"})
    server.routes["/private.png"] = Route(body=png)
    real_check = fetch_module.check_url_is_public

    def pretend_first_hop_is_public(url: str, *, allow_private: bool = False) -> None:
        real_check(url, allow_private=allow_private or url.endswith("/public"))

    monkeypatch.setattr(fetch_module, "check_url_is_public", pretend_first_hop_is_public)
    with pytest.raises(UnsafeURLError, match=r"private\.png.*loopback"):
        fetch_url(server.url("/public"))
    assert server.hits == ["/public"]
