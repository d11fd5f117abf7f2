"""The bad-input catalogue, one table, through the CLI, the graph and the ``langgraph dev`` server.

Each row is one input and its documented outcome on each surface: the CLI's exit code and a
phrase of its one ``error:`` line; the graph's exception (or ``answered``) and a phrase of its
message; the server's run error (the same message) or answer. ``None`` means the row does not
apply there: a graph takes an image without a question (a chat UI may send one), and a graph's
model is the caller's own object, so the closed port is the CLI's row.

Every non-image file and every image's bytes carry :data:`SECRET`; no message may contain it
(nor a ``b'...'`` literal, nor a traceback). An image that fails is refused before any model is
called (the graph's model sees no request; the CLI never loads one).

Each flag that relaxes a limit (``--max-pixels``, ``--max-bytes``, ``--allow-private-urls``, local
files) has a ``relaxed`` row beside the row its default refuses: the CLI gets the flag, the graph
:data:`RELAXED_GRAPH` and the server :data:`RELAXED_ENV`, and the image then reaches an answer.
"""

from __future__ import annotations

import base64
import functools
import struct
import threading
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from langchain_core.messages import HumanMessage
from PIL import Image

from tests.conftest import encode
from tests.graph.conftest import ANSWER, scripted
from tests.graph.langgraph_dev import serve_langgraph_dev
from tests.graph.openai_server import ScriptedOpenAIServer, scripted_openai_server
from tests.loopback import free_port
from visionthink_agent import create_visionthink_agent
from visionthink_agent.cli import main
from visionthink_agent.images import DEFAULT_MAX_BYTES, DEFAULT_PIXEL_LIMIT, ImageLimits

SECRET = "s3cr3t-bytes"
ANSWERED = "answered"
BIG_SIZE = (9500, 9420)
"""Just over the default pixel limit (89,490,000 > 89,478,485): a solid colour, a small PNG."""
RAISED_PIXELS = 100_000_000
RAISED_BYTES = DEFAULT_MAX_BYTES + 2**20
RELAXED_GRAPH: dict[str, Any] = {
    "allow_private_urls": True,
    "allow_local_files": True,
    "image_limits": ImageLimits(max_pixels=RAISED_PIXELS, max_bytes=RAISED_BYTES),
}
"""``create_visionthink_agent`` options of the relaxed rows."""
RELAXED_ENV = {
    "VISIONTHINK_ALLOW_PRIVATE_URLS": "1",
    "VISIONTHINK_ALLOW_LOCAL_FILES": "1",
    "VISIONTHINK_MAX_PIXELS": str(RAISED_PIXELS),
    "VISIONTHINK_MAX_BYTES": str(RAISED_BYTES),
}
"""The served graph's settings for the relaxed rows."""


@dataclass(frozen=True)
class Inputs:
    """The files of the catalogue, written once per test session."""

    folder: Path
    one_pixel: Path
    truncated: Path
    not_an_image: Path
    bomb: Path
    real_png: Path
    big_image: Path
    big_file: Path
    closed_port: int
    image_port: int
    """A loopback HTTP server serving :attr:`folder`."""

    @property
    def missing(self) -> Path:
        return self.folder / "missing.png"

    @property
    def closed_url(self) -> str:
        return f"http://127.0.0.1:{self.closed_port}/v1"

    @property
    def loopback_image_url(self) -> str:
        return f"http://127.0.0.1:{self.image_port}/real.png"


def _png_chunk(kind: bytes, body: bytes) -> bytes:
    crc = struct.pack(">I", zlib.crc32(kind + body))
    return struct.pack(">I", len(body)) + kind + body + crc


def _png_claiming(width: int, height: int) -> bytes:
    """A tiny PNG whose header claims ``width × height`` pixels (a decompression bomb)."""
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + _png_chunk(b"IHDR", header) + _png_chunk(b"IEND", b"")


def _png_over_default_bytes() -> bytes:
    """A 64x48 PNG just over the default byte limit: an ancillary chunk after the pixels."""
    png = encode(Image.new("RGB", (64, 48), "green"), "PNG")
    body = (SECRET.encode() * (DEFAULT_MAX_BYTES // len(SECRET) + 1))[:DEFAULT_MAX_BYTES]
    return png[:-12] + _png_chunk(b"vtXt", body) + png[-12:]  # before IEND


class _QuietFiles(SimpleHTTPRequestHandler):
    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture(scope="module")
def inputs(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Inputs]:
    folder = tmp_path_factory.mktemp("catalogue")
    files = {
        "one_pixel.png": encode(Image.new("RGB", (1, 1), "red"), "PNG"),
        # a JPEG cut short: its header reads, its pixels do not
        "truncated.jpg": encode(Image.effect_noise((640, 480), 60).convert("RGB"), "JPEG")[:5000],
        "not_an_image.png": f"{SECRET}:x:0:0:root:/root:/bin/sh\n".encode() * 30,
        "bomb.png": _png_claiming(30000, 30000),
        "real.png": encode(Image.new("RGB", (64, 48), "blue"), "PNG"),
        "big_image.png": encode(Image.new("L", BIG_SIZE, 90), "PNG"),
        "big_file.png": _png_over_default_bytes(),
    }
    for name, data in files.items():
        (folder / name).write_bytes(data)
    images = ThreadingHTTPServer(
        ("127.0.0.1", 0), functools.partial(_QuietFiles, directory=str(folder))
    )
    threading.Thread(target=images.serve_forever, daemon=True).start()
    try:
        yield Inputs(
            folder=folder,
            one_pixel=folder / "one_pixel.png",
            truncated=folder / "truncated.jpg",
            not_an_image=folder / "not_an_image.png",
            bomb=folder / "bomb.png",
            real_png=folder / "real.png",
            big_image=folder / "big_image.png",
            big_file=folder / "big_file.png",
            closed_port=free_port(),
            image_port=images.server_address[1],
        )
    finally:
        images.shutdown()
        images.server_close()


def _inline(path: Path) -> dict[str, Any]:
    data = base64.b64encode(path.read_bytes()).decode()
    return {"type": "image", "base64": data, "mime_type": "image/png"}


@dataclass(frozen=True)
class Case:
    """One row: the input on each surface and what each surface must answer.

    Attributes:
        name: the row's id.
        argv: CLI arguments after ``ask`` (``{model}`` is the scripted server's URL), or None.
        cli: (exit code, phrase of the error line; "" for exit 0).
        block: the image block the graph and the server receive, or None.
        graph: (exception class name, or ``answered``; phrase of its message).
        relaxed: the graph is built with :data:`RELAXED_GRAPH`, the server runs with
            :data:`RELAXED_ENV` (the CLI's flag is in ``argv``).
    """

    name: str
    argv: Callable[[Inputs], list[str]] | None
    cli: tuple[int, str] | None
    block: Callable[[Inputs], dict[str, Any]] | None
    graph: tuple[str, str] | None
    relaxed: bool = False


CATALOGUE = [
    Case(
        "truncated",
        lambda i: [str(i.truncated), "Q?"],
        (2, "damaged or truncated JPEG"),
        lambda i: _inline(i.truncated),
        ("CorruptImageError", "damaged or truncated JPEG"),
    ),
    Case(
        "not-an-image",
        lambda i: [str(i.not_an_image), "Q?"],
        (2, "is not an image Pillow can read"),
        lambda i: _inline(i.not_an_image),
        ("NotAnImageError", "is not an image Pillow can read"),
    ),
    Case(
        "bomb",  # over Pillow's own limit too: refused in our words, with our limit
        lambda i: [str(i.bomb), "Q?"],
        (2, f"= 900000000 pixels, over the limit of {DEFAULT_PIXEL_LIMIT} (raise --max-pixels"),
        lambda i: _inline(i.bomb),
        ("ImageTooLargeError", f"over the limit of {DEFAULT_PIXEL_LIMIT} (raise max_pixels"),
    ),
    Case(
        "big-image",
        lambda i: [str(i.big_image), "Q?"],
        (2, "= 89490000 pixels, over the limit of 89478485 (raise --max-pixels to allow it)"),
        lambda i: _inline(i.big_image),
        ("ImageTooLargeError", "over the limit of 89478485 (raise max_pixels to allow it)"),
    ),
    Case(
        "big-image-allowed",
        lambda i: [str(i.big_image), "Q?", "--max-pixels", str(RAISED_PIXELS)],
        (0, ""),
        lambda i: _inline(i.big_image),
        (ANSWERED, ""),
        relaxed=True,
    ),
    Case(
        "big-file",
        lambda i: [str(i.big_file), "Q?"],
        (2, f"over the {DEFAULT_MAX_BYTES}-byte limit (raise --max-bytes to allow it)"),
        lambda i: _inline(i.big_file),
        ("ImageTooLargeError", f"over the {DEFAULT_MAX_BYTES}-byte limit (raise max_bytes"),
    ),
    Case(
        "big-file-allowed",
        lambda i: [str(i.big_file), "Q?", "--max-bytes", str(RAISED_BYTES)],
        (0, ""),
        lambda i: _inline(i.big_file),
        (ANSWERED, ""),
        relaxed=True,
    ),
    Case(
        "missing",
        lambda i: [str(i.missing), "Q?"],
        (2, "no such image file"),
        lambda i: {"type": "image", "id": "img-000000000000000000000000"},  # never sent
        ("UnsupportedSourceError", "carries no url, base64 data or path"),
    ),
    Case(
        "one-pixel-works",
        lambda i: [str(i.one_pixel), "What colour?"],
        (0, ""),
        lambda i: _inline(i.one_pixel),
        (ANSWERED, ""),
    ),
    Case(
        "private-url",
        lambda i: ["http://10.20.30.40/cat.png", "Q?"],
        (2, "10.20.30.40 is a private address (pass --allow-private-urls to allow it)"),
        lambda i: {"type": "image", "url": "http://10.20.30.40/cat.png"},
        ("UnsafeURLError", "10.20.30.40 is a private address (pass allow_private_urls=True"),
    ),
    Case(
        "loopback-url",
        lambda i: [f"http://127.0.0.1:{i.closed_port}/cat.png", "Q?"],
        (2, "127.0.0.1 is a loopback address (pass --allow-private-urls to allow it)"),
        lambda i: {"type": "image_url", "image_url": {"url": f"http://127.0.0.1:{i.closed_port}/"}},
        ("UnsafeURLError", "127.0.0.1 is a loopback address (pass allow_private_urls=True"),
    ),
    Case(
        "loopback-url-allowed",
        lambda i: [i.loopback_image_url, "Q?", "--allow-private-urls"],
        (0, ""),
        lambda i: {"type": "image", "url": i.loopback_image_url},
        (ANSWERED, ""),
        relaxed=True,
    ),
    Case(
        "file-url",  # the CLI's own argument is the user's file; a block's is a client's
        lambda i: [i.real_png.as_uri(), "Q?"],
        (0, ""),
        lambda i: {"type": "image", "url": i.real_png.as_uri()},
        ("LocalFileError", "local files are off (pass allow_local_files=True to allow it)"),
    ),
    Case(
        "file-path",
        None,
        None,
        lambda i: {"type": "image", "file_path": str(i.real_png)},
        ("LocalFileError", "local files are off (pass allow_local_files=True to allow it)"),
    ),
    Case(
        "file-path-allowed",
        None,
        None,
        lambda i: {"type": "image", "file_path": str(i.real_png)},
        (ANSWERED, ""),
        relaxed=True,
    ),
    Case(
        "empty-question",
        lambda i: [str(i.one_pixel), "  \t"],
        (2, "the question is empty"),
        None,
        None,
    ),
    Case(
        "closed-port",
        lambda i: [str(i.one_pixel), "Q?", "--model", "m", "--base-url", i.closed_url],
        (1, "Connection refused): is it running? Check --base-url"),
        None,
        None,
    ),
]
IDS = [case.name for case in CATALOGUE]


def assert_clean(message: str) -> None:
    """No file or response bytes, no traceback."""
    assert SECRET not in message, message
    assert "b'" not in message, message
    assert "\\x" not in message, message
    assert "Traceback" not in message, message


@pytest.fixture(scope="module")
def model_server() -> Iterator[ScriptedOpenAIServer]:
    with scripted_openai_server([]) as server:  # answers "<answer>?</answer>" to everything
        yield server


@pytest.mark.parametrize("case", [c for c in CATALOGUE if c.argv], ids=lambda c: c.name)
def test_cli(
    case: Case,
    inputs: Inputs,
    model_server: ScriptedOpenAIServer,
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert case.argv is not None
    assert case.cli is not None
    argv = case.argv(inputs)
    if "--base-url" not in argv:
        argv += ["--base-url", model_server.base_url, "--model", "m"]
    code, phrase = case.cli
    before = len(model_server.requests)
    assert main(["ask", *argv, "--timeout", "10"]) == code
    out, err = capsys.readouterr()
    assert_clean(out + err)
    if code == 0:
        assert err == ""
        assert len(model_server.requests) > before
        return
    assert err.startswith("error: ")
    assert err.count("\n") == 1, err  # one line
    assert phrase in " ".join(err.split()), err
    if code == 2:
        assert len(model_server.requests) == before  # refused before any model call


@pytest.mark.parametrize("case", [c for c in CATALOGUE if c.block], ids=lambda c: c.name)
def test_graph(case: Case, inputs: Inputs) -> None:
    assert case.block is not None
    assert case.graph is not None
    expected, phrase = case.graph
    model = scripted(ANSWER)
    graph = create_visionthink_agent(model, **(RELAXED_GRAPH if case.relaxed else {})).compile()
    question = HumanMessage(content=[{"type": "text", "text": "Q?"}, case.block(inputs)])
    if expected == ANSWERED:
        assert graph.invoke({"messages": [question]})["status"] == ANSWERED
        return
    with pytest.raises(Exception) as caught:  # noqa: PT011 - the row names the exact type
        graph.invoke({"messages": [question]})
    assert type(caught.value).__name__ == expected
    assert phrase in str(caught.value)
    assert "\n" not in str(caught.value)
    assert_clean(str(caught.value))
    assert model.seen == []  # refused before the model was called


@pytest.fixture(scope="module")
def dev_server(model_server: ScriptedOpenAIServer, inputs: Inputs) -> Iterator[str]:
    with serve_langgraph_dev(model_server.base_url, inputs.folder) as url:
        yield url


@pytest.fixture(scope="module")
def relaxed_dev_server(model_server: ScriptedOpenAIServer, inputs: Inputs) -> Iterator[str]:
    with serve_langgraph_dev(model_server.base_url, inputs.folder, env=RELAXED_ENV) as url:
        yield url


@pytest.mark.slow
def test_langgraph_dev_server(dev_server: str, inputs: Inputs) -> None:
    """Every row with a block, against the served graph with its default settings."""
    _check_served([c for c in CATALOGUE if not c.relaxed], dev_server, inputs)


@pytest.mark.slow
def test_langgraph_dev_server_with_relaxed_limits(relaxed_dev_server: str, inputs: Inputs) -> None:
    """The relaxed rows, against the served graph with :data:`RELAXED_ENV`."""
    _check_served([c for c in CATALOGUE if c.relaxed], relaxed_dev_server, inputs)


def _check_served(cases: list[Case], url: str, inputs: Inputs) -> None:
    from langgraph_sdk import get_sync_client

    client = get_sync_client(url=url)
    (assistant,) = client.assistants.search(graph_id="visionthink")
    for case in cases:
        if case.block is None or case.graph is None:
            continue
        expected, phrase = case.graph
        thread = client.threads.create()
        message = {"role": "user", "content": [{"type": "text", "text": "Q?"}, case.block(inputs)]}
        run = {"input": {"messages": [message]}}
        if expected == ANSWERED:
            result = client.runs.wait(thread["thread_id"], assistant["assistant_id"], **run)
            assert isinstance(result, dict)
            assert result["status"] == ANSWERED, case.name
            continue
        with pytest.raises(Exception) as caught:  # noqa: PT011 - the SDK raises a bare Exception
            client.runs.wait(thread["thread_id"], assistant["assistant_id"], **run)
        message_text = str(caught.value)
        assert message_text.startswith(f"{expected}: "), (case.name, message_text)
        assert phrase in message_text, (case.name, message_text)
        assert_clean(message_text)
