"""Downloading images over http(s) without becoming an SSRF vector.

Before any connection, the host is resolved and every address it resolves to is checked: private,
loopback, link-local (cloud metadata endpoints), multicast, reserved and unspecified addresses are
refused unless the caller allows them. Redirects are followed by hand (at most
``max_redirects``), each hop checked the same way. The body is streamed with a byte cap and an
overall deadline.

Limitation: the address is checked at resolution time; a DNS server that answers differently
between the check and the connection (DNS rebinding) is not defended against here. Deployments
that fetch untrusted URLs should also restrict egress at the network level.

Example:
    >>> fetch_url("http://127.0.0.1/cat.png")
    Traceback (most recent call last):
    ...
    visionthink_agent.images.errors.UnsafeURLError: refusing to fetch http://127.0.0.1/cat.png: \
127.0.0.1 is a loopback address (pass allow_private_urls=True to allow it)
"""

from __future__ import annotations

import ipaddress
import socket
import time
from urllib.parse import urljoin, urlsplit

import httpx

from visionthink_agent.images.errors import DownloadError, UnsafeURLError, UnsupportedSourceError
from visionthink_agent.urls import display_url

__all__ = ["check_url_is_public", "fetch_url"]

_Address = ipaddress.IPv4Address | ipaddress.IPv6Address


def _address_kind(ip: _Address) -> str | None:
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    for kind, flag in (
        ("loopback", ip.is_loopback),
        ("unspecified", ip.is_unspecified),  # before "private", which also covers 0.0.0.0
        ("link-local", ip.is_link_local),
        ("private", ip.is_private),
        ("multicast", ip.is_multicast),
        ("reserved", ip.is_reserved),
        # shared address space 100.64/10 (carrier-grade NAT; Alibaba Cloud's metadata service
        # is 100.100.100.200) and other special ranges none of the flags above cover
        ("non-global", not ip.is_global),
    ):
        if flag:
            return kind
    return None


def check_url_is_public(url: str, *, allow_private: bool = False) -> None:
    """Refuse a URL whose scheme is not http(s) or whose host resolves to a non-public address.

    Example:
        >>> check_url_is_public("http://169.254.169.254/latest/meta-data")
        Traceback (most recent call last):
        ...
        visionthink_agent.images.errors.UnsafeURLError: refusing to fetch \
http://169.254.169.254/latest/meta-data: 169.254.169.254 is a link-local address \
(pass allow_private_urls=True to allow it)

    Raises:
        UnsupportedSourceError: for another scheme or a URL without a host.
        UnsafeURLError: for a non-public address.
        DownloadError: when the host does not resolve.
    """
    parts = urlsplit(url)
    shown = display_url(url)  # messages never repeat a user:password@ part
    if parts.scheme not in ("http", "https"):
        raise UnsupportedSourceError(f"unsupported URL scheme {parts.scheme!r} in {shown!r}")
    host = parts.hostname
    if not host:
        raise UnsupportedSourceError(f"URL without a host: {shown!r}")
    if allow_private:
        return
    try:
        infos = socket.getaddrinfo(host, parts.port or 0, proto=socket.IPPROTO_TCP)
    except (socket.gaierror, UnicodeError) as exc:
        raise DownloadError(f"cannot resolve host {host!r} of {shown}: {exc}") from exc
    for info in infos:
        ip = ipaddress.ip_address(str(info[4][0]).split("%", 1)[0])
        kind = _address_kind(ip)
        if kind is not None:
            raise UnsafeURLError(
                f"refusing to fetch {shown}: {ip} is a {kind} address",
                setting="allow_private_urls",
            )


def fetch_url(
    url: str,
    *,
    allow_private: bool = False,
    max_bytes: int = 50 * 1024 * 1024,
    timeout: float = 10.0,
    max_redirects: int = 3,
) -> bytes:
    """Download ``url`` safely and return its body.

    Args:
        url: an http(s) URL.
        allow_private: allow private, loopback and link-local addresses (off by default).
        max_bytes: refuse bodies larger than this (checked on Content-Length and while reading).
        timeout: overall deadline in seconds for the whole download, redirects included.
        max_redirects: redirects followed, each checked like the first URL.

    Example:
        >>> fetch_url("ftp://example.com/a.png")
        Traceback (most recent call last):
        ...
        visionthink_agent.images.errors.UnsupportedSourceError: unsupported URL scheme 'ftp' in \
'ftp://example.com/a.png'

    Raises:
        UnsupportedSourceError, UnsafeURLError, DownloadError.
    """
    deadline = time.monotonic() + timeout
    current = url
    shown = display_url(url)  # messages never repeat a user:password@ part
    with httpx.Client(follow_redirects=False, trust_env=False) as client:
        for _ in range(max_redirects + 1):
            check_url_is_public(current, allow_private=allow_private)
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise DownloadError(
                    f"timed out after {timeout:g} s fetching {shown}", setting="timeout"
                )
            try:
                with client.stream("GET", current, timeout=remaining) as response:
                    if response.is_redirect:
                        location = response.headers.get("location")
                        if not location:
                            raise DownloadError(
                                f"redirect without Location from {display_url(current)}"
                            )
                        current = urljoin(current, location)
                        continue
                    if response.status_code >= 400:
                        raise DownloadError(
                            f"HTTP {response.status_code} fetching {display_url(current)}"
                        )
                    return _read_capped(
                        response, display_url(current), max_bytes, deadline, timeout
                    )
            except httpx.TimeoutException as exc:
                raise DownloadError(
                    f"timed out after {timeout:g} s fetching {shown}", setting="timeout"
                ) from exc
            except httpx.HTTPError as exc:
                raise DownloadError(f"cannot fetch {display_url(current)}: {exc}") from exc
    raise DownloadError(f"more than {max_redirects} redirects fetching {shown}")


def _read_capped(
    response: httpx.Response, url: str, max_bytes: int, deadline: float, timeout: float
) -> bytes:
    declared = response.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > max_bytes:
        raise DownloadError(
            f"{url} is {int(declared)} bytes, over the {max_bytes}-byte limit", setting="max_bytes"
        )
    chunks: list[bytes] = []
    size = 0
    for chunk in response.iter_bytes():
        size += len(chunk)
        if size > max_bytes:
            raise DownloadError(
                f"{url} sent more than the {max_bytes}-byte limit", setting="max_bytes"
            )
        if time.monotonic() > deadline:
            raise DownloadError(f"timed out after {timeout:g} s fetching {url}", setting="timeout")
        chunks.append(chunk)
    return b"".join(chunks)
