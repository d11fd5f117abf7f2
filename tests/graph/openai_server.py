"""A scripted OpenAI-compatible chat-completions server on loopback, recording every request.

Replies are given in order: a string is an assistant text; a dict ``{"tool_calls": [...]}`` is a
native tool call; :data:`STALL` holds the request unanswered, as a long generation would, until
the client hangs up (``stalled`` is set when it arrives, ``hung_up`` when the client leaves).
Both streaming (SSE, with a usage chunk when asked) and plain JSON are served.
"""

from __future__ import annotations

import json
import select
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

USAGE = {"prompt_tokens": 700, "completion_tokens": 20, "total_tokens": 720}
STALL: dict[str, Any] = {"stall": "until the client hangs up"}
"""A reply that never comes: the request is held until the client closes its connection."""


class ScriptedOpenAIServer:
    """Serves ``/v1/chat/completions`` from a list of scripted replies."""

    def __init__(self, replies: list[str | dict[str, Any]]) -> None:
        self.replies = list(replies)
        self.requests: list[dict[str, Any]] = []
        self.stalled = threading.Event()
        self.hung_up = threading.Event()
        self._lock = threading.Lock()
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", 0))
                body = json.loads(self.rfile.read(length))
                if not self.path.endswith("/chat/completions"):
                    self.send_error(404)
                    return
                with server._lock:
                    server.requests.append(body)
                    reply = server.replies.pop(0) if server.replies else "<answer>?</answer>"
                if reply is STALL:
                    self._stall()
                elif body.get("stream"):
                    self._stream(body, reply)
                else:
                    self._json(reply)

            def _stall(self, limit: float = 60) -> None:
                server.stalled.set()
                deadline = time.monotonic() + limit
                while time.monotonic() < deadline:  # "generating" until the client leaves
                    readable, _, _ = select.select([self.connection], [], [], 0.05)
                    if readable and not self.connection.recv(1):
                        server.hung_up.set()
                        return

            def _message(self, reply: str | dict[str, Any]) -> dict[str, Any]:
                if isinstance(reply, str):
                    return {"role": "assistant", "content": reply}
                return {"role": "assistant", "content": None, **reply}

            def _json(self, reply: str | dict[str, Any]) -> None:
                payload = {
                    "id": "chatcmpl-1",
                    "object": "chat.completion",
                    "created": int(time.time()),
                    "model": "visionthink",
                    "choices": [
                        {"index": 0, "message": self._message(reply), "finish_reason": "stop"}
                    ],
                    "usage": USAGE,
                }
                data = json.dumps(payload).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def _stream(self, body: dict[str, Any], reply: str | dict[str, Any]) -> None:
                self.send_response(200)
                self.send_header("Content-Type", "text/event-stream")
                self.end_headers()
                base = {
                    "id": "chatcmpl-1",
                    "object": "chat.completion.chunk",
                    "created": int(time.time()),
                    "model": "visionthink",
                }

                def send(delta: dict[str, Any], finish: str | None = None) -> None:
                    chunk = {
                        **base,
                        "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
                    }
                    self.wfile.write(f"data: {json.dumps(chunk)}\n\n".encode())

                send({"role": "assistant", "content": ""})
                if isinstance(reply, str):
                    for i in range(0, len(reply), 16):
                        send({"content": reply[i : i + 16]})
                else:
                    calls = [{"index": i, **c} for i, c in enumerate(reply["tool_calls"])]
                    send({"tool_calls": calls})
                send({}, finish="stop")
                if (body.get("stream_options") or {}).get("include_usage"):
                    usage_chunk = {**base, "choices": [], "usage": USAGE}
                    self.wfile.write(f"data: {json.dumps(usage_chunk)}\n\n".encode())
                self.wfile.write(b"data: [DONE]\n\n")

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self._server.server_address[1]
        self.base_url = f"http://127.0.0.1:{self.port}/v1"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def start(self) -> ScriptedOpenAIServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()


@contextmanager
def scripted_openai_server(replies: list[str | dict[str, Any]]) -> Iterator[ScriptedOpenAIServer]:
    """Run a :class:`ScriptedOpenAIServer` for the duration of the block."""
    server = ScriptedOpenAIServer(replies).start()
    try:
        yield server
    finally:
        server.stop()
