"""Fixtures of the core tests: image bytes in every format, and a real loopback HTTP server."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from PIL import Image

from tests.conftest import encode


def photo(width: int = 640, height: int = 480) -> Image.Image:
    """An RGB image with structure in both directions, so resampling and rotation show."""
    grad = Image.linear_gradient("L").resize((width, height))
    return Image.merge(
        "RGB",
        (
            grad,
            grad.transpose(Image.Transpose.ROTATE_90).resize(grad.size),
            Image.effect_noise((width, height), 40),
        ),
    )


@dataclass
class Route:
    """What the loopback server answers for one path."""

    status: int = 200
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0
    chunked_delay: float = 0.0
    """When set, the body is sent in 64-byte pieces with this pause between them."""
    send_length: bool = True


@dataclass
class LoopbackServer:
    """A real HTTP server on 127.0.0.1 with routes set by the test."""

    base: str
    routes: dict[str, Route]
    hits: list[str]

    def url(self, path: str) -> str:
        return f"{self.base}{path}"


@pytest.fixture
def loopback_server() -> Iterator[LoopbackServer]:
    routes: dict[str, Route] = {}
    hits: list[str] = []

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            hits.append(self.path)
            route = routes.get(self.path, Route(status=404, body=b"not found"))
            time.sleep(route.delay)
            self.send_response(route.status)
            for key, value in route.headers.items():
                self.send_header(key, value)
            try:
                if route.send_length:
                    self.send_header("Content-Length", str(len(route.body)))
                self.end_headers()  # HTTP/1.0: without a length, the body ends when we close
                step = 64 if route.chunked_delay else len(route.body) or 1
                for i in range(0, len(route.body), step):
                    self.wfile.write(route.body[i : i + step])
                    self.wfile.flush()
                    time.sleep(route.chunked_delay)
            except (BrokenPipeError, ConnectionResetError):
                pass  # the client gave up (byte cap, deadline): what the test wanted

        def log_message(self, format: str, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, args=(0.02,), daemon=True)
    thread.start()
    port = server.server_address[1]
    try:
        yield LoopbackServer(f"http://127.0.0.1:{port}", routes, hits)
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture
def jpeg_bytes() -> bytes:
    return encode(photo(), "JPEG", quality=90)


@pytest.fixture
def png_bytes() -> bytes:
    return encode(photo(), "PNG")
