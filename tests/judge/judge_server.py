"""A scripted OpenAI-compatible judge server for tests and benchmarks (aiohttp, loopback only).

The request's ``model`` field picks the behaviour, so parallel tests never share a script:

* ``echo`` — ``Score: 1`` when prediction and ground truth match (case/space-insensitive),
  else ``Score: 0`` (read off the judge prompt; the benchmark uses this);
* ``correct`` / ``wrong`` — always ``Score: 1`` / ``Score: 0``;
* ``tricky`` — ``Score: 0`` followed by text holding a ``1`` (the authors' parser says 1);
* ``garbage`` — a reply without a score;
* ``slow:SECONDS`` — sleeps, then ``Score: 1``;
* ``429xN`` / ``500xN`` / ``garbagexN`` / ``dropxN`` — the first N attempts for a given prompt
  fail that way (``drop`` closes the connection without a response), later ones say ``Score: 1``;
  ``N = inf`` fails forever;
* ``bad_request`` — HTTP 400 (not retryable).

``GET /stats`` returns every request seen (model, temperature, messages); ``POST /reset`` clears
them. Run as a script for a separate process: ``python tests/judge/judge_server.py --latency
0.05`` prints ``PORT <n>`` once it listens. ``--engine fast`` serves only the ``echo`` behaviour
from a bare ``asyncio.Protocol`` with the ``httptools`` parser on uvloop, several times cheaper
per request than aiohttp: the judge benchmark uses it so that the server is not what it measures.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import math
import re
import socket
import threading
from collections import Counter
from collections.abc import Iterator
from typing import Any, cast

from aiohttp import web


def _field(prompt: str, name: str) -> str:
    match = re.search(rf"\*\*{re.escape(name)}\*\*: (.*?)\n(?:\d\. |\n)", prompt, re.DOTALL)
    return match.group(1).strip().lower() if match else ""


class ScriptedJudge:
    """The aiohttp application state: scripted replies plus a log of requests."""

    def __init__(self, latency: float = 0.0, *, log_requests: bool = True) -> None:
        self.latency = latency
        self.log_requests = log_requests
        self.requests: list[dict[str, Any]] = []
        self.attempts: Counter[str] = Counter()
        self.count = 0
        self.inflight: Counter[str] = Counter()
        self.peak_inflight: Counter[str] = Counter()

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_post("/v1/chat/completions", self.chat)
        app.router.add_get("/stats", self.stats)
        app.router.add_post("/reset", self.reset)
        return app

    async def stats(self, request: web.Request) -> web.Response:
        stats = {"count": self.count, "peak": dict(self.peak_inflight), "requests": self.requests}
        return web.json_response(stats)

    async def reset(self, request: web.Request) -> web.Response:
        self.requests.clear()
        self.attempts.clear()
        self.count = 0
        self.peak_inflight.clear()
        return web.json_response({"ok": True})

    async def chat(self, request: web.Request) -> web.StreamResponse:
        body = await request.json()
        model = str(body.get("model", ""))
        self.inflight[model] += 1
        self.peak_inflight[model] = max(self.peak_inflight[model], self.inflight[model])
        try:
            return await self._chat(request, body, model)
        finally:
            self.inflight[model] -= 1

    async def _chat(
        self, request: web.Request, body: dict[str, Any], model: str
    ) -> web.StreamResponse:
        self.count += 1
        messages = body.get("messages", [])
        if self.log_requests:
            record = {"model": model, "temperature": body.get("temperature"), "messages": messages}
            self.requests.append(record)
        prompt = str(messages[-1]["content"]) if messages else ""
        key = model + "\x00" + prompt
        self.attempts[key] += 1
        if self.latency:
            await asyncio.sleep(self.latency)
        mode, _, times = model.partition("x")
        if times and mode in ("429", "500", "garbage", "drop"):
            limit = math.inf if times == "inf" else int(times)
            if self.attempts[key] <= limit:
                return self._fail(request, mode)
            return _reply(model, "Score: 1")
        if model.startswith("slow:"):
            await asyncio.sleep(float(model.split(":", 1)[1]))
            return _reply(model, "Score: 1")
        if model == "bad_request":
            return web.json_response({"error": {"message": "unknown model"}}, status=400)
        replies = {
            "correct": "Score: 1",
            "wrong": "Score: 0",
            "tricky": "Score: 0\nThe prediction says 1 item, the answer is 2.",
            "garbage": "I think the answer is quite good.",
        }
        if model in replies:
            return _reply(model, replies[model])
        same = _field(prompt, "Ground Truth Answer") == _field(prompt, "Model Predicted Answer")
        return _reply(model, f"Score: {int(same)}")

    def _fail(self, request: web.Request, mode: str) -> web.StreamResponse:
        if mode == "429":
            return web.json_response({"error": {"message": "rate limited"}}, status=429)
        if mode == "500":
            return web.json_response({"error": {"message": "server error"}}, status=500)
        if mode == "garbage":
            return _reply(mode, "no verdict here")
        assert request.transport is not None
        request.transport.close()  # drop: the client sees the connection die mid-request
        return web.Response()


def _reply(model: str, content: str) -> web.Response:
    body = {
        "id": "chatcmpl-test",
        "object": "chat.completion",
        "created": 0,
        "model": model,
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": content},
                "finish_reason": "stop",
            }
        ],
        "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2},
    }
    return web.Response(text=json.dumps(body), content_type="application/json")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextlib.contextmanager
def serve_in_thread(latency: float = 0.0) -> Iterator[tuple[str, ScriptedJudge]]:
    """Run the server on a free loopback port in a background thread.

    Yields:
        ``(base_url, state)`` where ``base_url`` ends with ``/v1``.
    """
    state = ScriptedJudge(latency)
    loop = asyncio.new_event_loop()
    runner = web.AppRunner(state.app(), access_log=None)
    port = _free_port()
    ready = threading.Event()

    def run() -> None:
        asyncio.set_event_loop(loop)
        loop.run_until_complete(runner.setup())
        loop.run_until_complete(web.TCPSite(runner, "127.0.0.1", port, backlog=2048).start())
        ready.set()
        loop.run_forever()

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    if not ready.wait(10):
        raise RuntimeError("judge server did not start within 10 s")
    try:
        yield f"http://127.0.0.1:{port}/v1", state
    finally:
        asyncio.run_coroutine_threadsafe(runner.cleanup(), loop).result(10)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(10)
        loop.close()


class _FastEcho(asyncio.Protocol):
    """The ``echo`` judge, minimal: keep-alive HTTP/1.1, a reply ``latency`` after each request."""

    def __init__(self, latency: float) -> None:
        import httptools

        self.latency = latency
        self.parser = httptools.HttpRequestParser(self)
        self.body = bytearray()
        self.loop = asyncio.get_running_loop()
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)  # uvloop's is not a subclass

    def data_received(self, data: bytes) -> None:
        self.parser.feed_data(data)

    def on_body(self, body: bytes) -> None:
        self.body += body

    def on_message_complete(self) -> None:
        prompt = json.loads(self.body)["messages"][-1]["content"]
        self.body.clear()
        same = _field(prompt, "Ground Truth Answer") == _field(prompt, "Model Predicted Answer")
        reply = _reply("echo", f"Score: {int(same)}").body
        assert isinstance(reply, bytes)
        head = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n"
        self.loop.call_later(self.latency, self._send, head % len(reply) + reply)

    def _send(self, data: bytes) -> None:
        if self.transport is not None and not self.transport.is_closing():
            self.transport.write(data)


def main() -> None:
    """Serve in this process (for benchmarks): prints ``PORT <n>`` when listening."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--latency", type=float, default=0.0)
    parser.add_argument("--uvloop", action="store_true", help="serve on uvloop (faster)")
    parser.add_argument("--engine", choices=["aiohttp", "fast"], default="aiohttp")
    args = parser.parse_args()
    port = args.port or _free_port()
    state = ScriptedJudge(args.latency, log_requests=False)

    async def serve() -> None:
        if args.engine == "fast":
            loop = asyncio.get_running_loop()
            await loop.create_server(
                lambda: _FastEcho(args.latency), "127.0.0.1", port, backlog=4096
            )
        else:
            runner = web.AppRunner(state.app(), access_log=None)
            await runner.setup()
            await web.TCPSite(runner, "127.0.0.1", port, backlog=4096).start()
        print(f"PORT {port}", flush=True)
        await asyncio.Event().wait()

    with contextlib.suppress(KeyboardInterrupt):
        if args.uvloop:
            import uvloop

            uvloop.run(serve())
        else:
            asyncio.run(serve())


if __name__ == "__main__":
    main()
