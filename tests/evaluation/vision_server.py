"""An OpenAI-compatible chat server on 127.0.0.1 that answers as a test model.

It lets ``visionthink eval --base-url`` run against a real HTTP server: requests go through
``ChatOpenAI``, images travel as data URLs, and the replies are the model's VisionThink-format
text: :class:`OracleVisionModel` (a ``<tool_call>`` when the small print is unreadable in the
image it was sent) or the scripted ideal policy
(:class:`~visionthink_agent.evaluation.scripted.ScriptedVisionModel`, which resizes or zooms).

Given ``models`` (``/v1/models`` entries, e.g. ``{"id": "m", "max_model_len": 4096}``), it
lists them (unless ``listed=False``) and answers as vLLM does: HTTP 404 for another model, HTTP
400 for a token cap above ``max_model_len`` (given, it is enforced even when not listed).
"""

from __future__ import annotations

import contextlib
import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from langchain_core.messages import convert_to_messages

from tests.evaluation.fakes import OracleVisionModel
from tests.loopback import free_port
from visionthink_agent.evaluation.scripted import ScriptedVisionModel


@contextlib.contextmanager
def serve_oracle(
    oracle: OracleVisionModel | ScriptedVisionModel,
    *,
    models: list[dict[str, Any]] | None = None,
    max_model_len: int | None = None,
    listed: bool = True,
) -> Iterator[str]:
    """Serve ``oracle`` at ``http://127.0.0.1:<free port>/v1`` while the block runs."""

    class Handler(BaseHTTPRequestHandler):
        def _send(self, status: int, document: dict[str, Any]) -> None:
            payload = json.dumps(document).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        def _refuse(self, status: int, kind: str, message: str) -> None:
            self._send(status, {"error": {"message": message, "type": kind, "code": status}})

        def do_GET(self) -> None:
            if models is None or not listed or not self.path.endswith("/v1/models"):
                self._refuse(404, "NotFoundError", "no such route")
                return
            self._send(200, {"object": "list", "data": [{"object": "model", **m} for m in models]})

        def do_POST(self) -> None:
            body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            if models is not None and body["model"] not in {m["id"] for m in models}:
                self._refuse(404, "NotFoundError", f"The model `{body['model']}` does not exist.")
                return
            cap = body.get("max_completion_tokens") or body.get("max_tokens")
            if max_model_len is not None and cap is not None and cap > max_model_len:
                self._refuse(400, "BadRequestError", f"max_tokens={cap} > {max_model_len}")
                return
            oracle.calls += 1
            text = oracle.reply(convert_to_messages(body["messages"]))
            usage = {"prompt_tokens": 100, "completion_tokens": 10, "total_tokens": 110}
            if body.get("stream"):  # one content chunk, then the usage chunk (SSE)
                self._stream(body["model"], text, usage)
                return
            choice = {"index": 0, "message": {"role": "assistant", "content": text}}
            self._send(
                200,
                {
                    "id": "chatcmpl-oracle",
                    "object": "chat.completion",
                    "created": 0,
                    "model": body["model"],
                    "choices": [{**choice, "finish_reason": "stop"}],
                    "usage": usage,
                },
            )

        def _stream(self, model: str, text: str, usage: dict[str, int]) -> None:
            self.send_response(200)
            self.send_header("Content-Type", "text/event-stream")
            self.end_headers()
            base = {"id": "chatcmpl-oracle", "object": "chat.completion.chunk", "created": 0}
            delta = {"role": "assistant", "content": text}
            for chunk in (
                {**base, "model": model, "choices": [{"index": 0, "delta": delta}]},
                {
                    **base,
                    "model": model,
                    "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}],
                },
                {**base, "model": model, "choices": [], "usage": usage},
            ):
                self.wfile.write(f"data: {json.dumps(chunk)}\n\n".encode())
            self.wfile.write(b"data: [DONE]\n\n")

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", free_port()), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/v1"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(10)
