"""An OpenAI-compatible chat server on 127.0.0.1 that answers as a test model.

It lets ``visionthink eval --base-url`` run against a real HTTP server: requests go through
``ChatOpenAI``, images travel as data URLs, and the replies are the model's VisionThink-format
text: :class:`OracleVisionModel` (a ``<tool_call>`` when the small print is unreadable in the
image it was sent) or the scripted ideal policy
(:class:`~visionthink_agent.evaluation.scripted.ScriptedVisionModel`, which resizes or zooms).
"""

from __future__ import annotations

import contextlib
import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from langchain_core.messages import convert_to_messages

from tests.evaluation.fakes import OracleVisionModel
from tests.loopback import free_port
from visionthink_agent.evaluation.scripted import ScriptedVisionModel


@contextlib.contextmanager
def serve_oracle(oracle: OracleVisionModel | ScriptedVisionModel) -> Iterator[str]:
    """Serve ``oracle`` at ``http://127.0.0.1:<free port>/v1`` while the block runs."""

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            oracle.calls += 1
            text = oracle.reply(convert_to_messages(body["messages"]))
            payload = json.dumps(
                {
                    "id": "chatcmpl-oracle",
                    "object": "chat.completion",
                    "created": 0,
                    "model": body["model"],
                    "choices": [
                        {
                            "index": 0,
                            "message": {"role": "assistant", "content": text},
                            "finish_reason": "stop",
                        }
                    ],
                    "usage": {"prompt_tokens": 100, "completion_tokens": 10, "total_tokens": 110},
                }
            ).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

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
