"""JsonPostClient against a raw loopback server that writes scripted bytes in small pieces."""

from __future__ import annotations

import asyncio
import shutil
import socket
import ssl
import subprocess
import warnings
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest

from visionthink_agent.judge.http import HTTPTimeoutError, HTTPTransportError, JsonPostClient

OK = b'{"ok": true}'
PLAIN = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 12\r\n\r\n" + OK
CHUNKED = (
    b"HTTP/1.1 100 Continue\r\n\r\n"
    b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
    b"5;ext=1\r\n" + OK[:5] + b"\r\n7\r\n" + OK[5:] + b"\r\n0\r\nX-Trailer: 1\r\n\r\n"
)
CLOSE = b"HTTP/1.1 503 Busy\r\nConnection: close\r\nContent-Length: 4\r\n\r\nbusy"

Script = Callable[[int], bytes | None]  # request number -> reply (None: close without reply)


async def _read_request(reader: asyncio.StreamReader) -> bytes:
    head = await reader.readuntil(b"\r\n\r\n")
    length = int(head.lower().split(b"content-length: ")[1].split(b"\r\n")[0])
    return head + await reader.readexactly(length)


class RawServer:
    """A loopback server that answers the n-th request with ``script(n)``, 7 bytes at a time."""

    def __init__(self) -> None:
        self.seen: list[bytes] = []
        self.counter = {"requests": 0, "connections": 0}
        self.servers: list[asyncio.Server] = []

    async def start(self, script: Script, *, close_after_reply: bool = False) -> str:
        async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            self.counter["connections"] += 1
            try:
                while True:
                    self.seen.append(await _read_request(reader))
                    self.counter["requests"] += 1
                    reply = script(self.counter["requests"])
                    if reply is None:
                        break
                    for i in range(0, len(reply), 7):  # dribble: exercise the parser's buffers
                        writer.write(reply[i : i + 7])
                        await writer.drain()
                        await asyncio.sleep(0)
                    if close_after_reply:
                        break
            except (asyncio.IncompleteReadError, ConnectionError):
                pass
            writer.close()

        server = await asyncio.start_server(handle, "127.0.0.1", 0)
        self.servers.append(server)
        port = server.sockets[0].getsockname()[1]
        return f"http://127.0.0.1:{port}/v1/chat/completions"


@pytest.fixture
async def raw_server() -> AsyncIterator[RawServer]:
    server = RawServer()
    yield server
    for listener in server.servers:
        listener.close()
        await listener.wait_closed()


async def test_content_length_and_keep_alive(raw_server: RawServer) -> None:
    url = await raw_server.start(lambda n: PLAIN)
    client = JsonPostClient(url, slots=1, timeout=5, headers={"Authorization": "Bearer k"})
    for _ in range(3):
        response = await client.post(0, b'{"q": 1}')
        assert (response.status, response.body) == (200, OK)
        assert response.headers["content-type"] == "application/json"
    client.close()
    assert raw_server.counter == {"requests": 3, "connections": 1}
    request = raw_server.seen[0]
    assert request.startswith(b"POST /v1/chat/completions HTTP/1.1\r\nHost: 127.0.0.1:")
    assert b"\r\nAuthorization: Bearer k\r\n" in request
    assert request.endswith(b"Content-Length: 8\r\n\r\n" + b'{"q": 1}')


async def test_chunked_body_after_an_interim_response(raw_server: RawServer) -> None:
    url = await raw_server.start(lambda n: CHUNKED)
    client = JsonPostClient(url, slots=1, timeout=5)
    assert (await client.post(0, b"{}")).body == OK
    assert (await client.post(0, b"{}")).body == OK  # the connection stays usable
    client.close()


async def test_body_until_close(raw_server: RawServer) -> None:
    reply = b"HTTP/1.0 200 OK\r\nContent-Type: application/json\r\n\r\n" + OK
    url = await raw_server.start(lambda n: reply, close_after_reply=True)
    client = JsonPostClient(url, slots=1, timeout=5)
    assert (await client.post(0, b"{}")).body == OK
    assert (await client.post(0, b"{}")).body == OK  # reconnects
    client.close()
    assert raw_server.counter["connections"] == 2


async def test_connection_close_reopens(raw_server: RawServer) -> None:
    url = await raw_server.start(lambda n: CLOSE if n == 1 else PLAIN)
    client = JsonPostClient(url, slots=1, timeout=5)
    first = await client.post(0, b"{}")
    assert (first.status, first.text) == (503, "busy")
    assert (await client.post(0, b"{}")).status == 200
    client.close()
    assert raw_server.counter["connections"] == 2


async def test_an_idle_close_is_retried_once_on_a_fresh_connection(raw_server: RawServer) -> None:
    url = await raw_server.start(lambda n: None if n == 2 else PLAIN)
    client = JsonPostClient(url, slots=1, timeout=5)
    assert (await client.post(0, b"{}")).status == 200
    assert (await client.post(0, b"{}")).status == 200  # request 2 dropped, resent as 3
    client.close()
    assert raw_server.counter == {"requests": 3, "connections": 2}


async def test_a_fresh_connection_that_drops_is_an_error(raw_server: RawServer) -> None:
    url = await raw_server.start(lambda n: None)
    client = JsonPostClient(url, slots=1, timeout=5)
    with pytest.raises(HTTPTransportError, match="connection closed"):
        await client.post(0, b"{}")
    client.close()


async def test_malformed_and_slow_responses(raw_server: RawServer) -> None:
    url = await raw_server.start(
        lambda n: b"HTTP/1.1\r\n\r\n" if n == 1 else b"HTTP/1.1 200 OK\r\n"
    )
    client = JsonPostClient(url, slots=1, timeout=0.2)
    with pytest.raises(HTTPTransportError, match="malformed HTTP response"):
        await client.post(0, b"{}")
    with pytest.raises(HTTPTimeoutError, match=r"no response within 0\.2 s"):
        await client.post(0, b"{}")
    client.close()


async def test_nothing_listening() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    client = JsonPostClient(f"http://127.0.0.1:{port}/x", slots=1, timeout=2)
    with pytest.raises(HTTPTransportError, match="cannot connect"):
        await client.post(0, b"{}")


def test_bad_url() -> None:
    with pytest.raises(ValueError, match="url must be http"):
        JsonPostClient("ftp://host/x", slots=1, timeout=1)


def test_a_proxy_setting_it_does_not_follow_is_named(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("NO_PROXY", "no_proxy", "HTTP_PROXY", "http_proxy", "HTTPS_PROXY", "https_proxy"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HTTPS_PROXY", "http://user:secret@proxy.internal:3128")
    with pytest.warns(UserWarning, match="HTTPS_PROXY is set, but the judge connects to") as seen:
        JsonPostClient("https://judge.example/v1/chat/completions", slots=1, timeout=1)
    assert "secret" not in str(seen[0].message)  # the proxy URL (and its password) is not echoed
    monkeypatch.setenv("NO_PROXY", "judge.example")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        JsonPostClient("https://judge.example/v1/chat/completions", slots=1, timeout=1)
        JsonPostClient("http://judge.example/v1/chat/completions", slots=1, timeout=1)


@pytest.mark.skipif(shutil.which("openssl") is None, reason="needs the openssl command")
async def test_https_with_a_trusted_self_signed_certificate(tmp_path: Path) -> None:
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
         "-subj", "/CN=localhost", "-addext", "subjectAltName=DNS:localhost",
         "-keyout", str(key), "-out", str(cert)],
        check=True, capture_output=True,
    )  # fmt: skip
    server_tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server_tls.load_cert_chain(cert, key)

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await _read_request(reader)
        writer.write(PLAIN)
        await writer.drain()
        writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", 0, ssl=server_tls)
    port = server.sockets[0].getsockname()[1]
    trusted = ssl.create_default_context(cafile=str(cert))
    client = JsonPostClient(
        f"https://localhost:{port}/v1/chat/completions", slots=1, timeout=5, ssl_context=trusted
    )
    try:
        assert (await client.post(0, b"{}")).body == OK
        untrusting = JsonPostClient(f"https://localhost:{port}/x", slots=1, timeout=5)
        with pytest.raises(HTTPTransportError, match="CERTIFICATE_VERIFY_FAILED"):
            await untrusting.post(0, b"{}")
    finally:
        client.close()
        server.close()
        await server.wait_closed()
