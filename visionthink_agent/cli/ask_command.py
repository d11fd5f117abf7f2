"""``visionthink ask IMAGE QUESTION``: one question about one image, with the token account.

::

    visionthink ask examples/images/receipt.png "What is the total?" --model tiny
    visionthink ask photo.jpg "How many birds?"                  # Senqiao/VisionThink-Efficient
    visionthink ask photo.jpg "How many birds?" --base-url http://127.0.0.1:8000/v1

The model's thinking streams as it is generated; a rule marks the moment it asks for the
full-resolution image; the command ends with the answer and the visual-token account (first
look, high-res, used, and saved against sending the full-resolution image at once).

Exit codes: 0 answered, 1 the model or server failed, 2 bad input (unreadable image, bad
option, missing extras).
"""

from __future__ import annotations

import argparse
import json
import time
from typing import Any

from rich.console import Console
from rich.markup import escape
from rich.rule import Rule
from rich.table import Table

from visionthink_agent.backends import DEFAULT_MODEL
from visionthink_agent.images import ImageError, SourceImage, load_image

__all__ = ["register", "run"]

TINY_DEFAULT_NEW_TOKENS = 256


def register(subparsers: Any) -> argparse.ArgumentParser:
    """Add the ``ask`` subcommand to a ``visionthink`` argument parser.

    Example:
        >>> p = argparse.ArgumentParser(); sub = p.add_subparsers()
        >>> args = p.parse_args(["ask", "a.png", "Q?", "--model", "tiny", "--json"])
        Traceback (most recent call last):
        SystemExit: 2
        >>> _ = register(sub)
        >>> args = p.parse_args(["ask", "a.png", "Q?", "--model", "tiny", "--json"])
        >>> args.model, args.json, args.max_new_tokens
        ('tiny', True, None)
    """
    parser: argparse.ArgumentParser = subparsers.add_parser(
        "ask",
        help="ask one question about one image",
        description=(__doc__ or "").replace("``", "").replace("\n::\n", "\nExamples:\n"),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("image", help="image file, http(s) URL or data: URL")
    parser.add_argument("question", help="the question about the image")
    parser.add_argument(
        "--model",
        default=None,
        help=(
            "in process: a Hugging Face id, a local checkpoint directory, or 'tiny' (a tiny "
            f"random-weight model written locally, no download; default {DEFAULT_MODEL}); "
            "with --base-url: the served model name (default: the server's first model)"
        ),
    )
    parser.add_argument(
        "--base-url",
        default=None,
        help="OpenAI-compatible server (vLLM, SGLang, transformers serve), e.g. "
        "http://127.0.0.1:8000/v1; without it the model runs in this process",
    )
    parser.add_argument(
        "--api-key",
        default=None,
        help="the server's API key (default: $OPENAI_API_KEY, else 'EMPTY' for local servers)",
    )
    parser.add_argument(
        "--mode",
        choices=("prompted", "native"),
        default="prompted",
        help="prompted: the VisionThink protocol in the prompt, <tool_call> parsed from text "
        "(VisionThink / Qwen2.5-VL checkpoints; default); native: the server's tool calling",
    )
    parser.add_argument(
        "--max-new-tokens",
        type=int,
        default=None,
        help=f"most tokens generated per model turn (default 8192; "
        f"{TINY_DEFAULT_NEW_TOKENS} with --model tiny, whose random text rarely stops)",
    )
    parser.add_argument(
        "--temperature", type=float, default=0.0, help="0 = greedy (default), > 0 samples"
    )
    parser.add_argument(
        "--device",
        default="auto",
        help="in-process device: auto (CUDA, MPS, CPU), cpu, cuda, cuda:1 ... (default auto)",
    )
    parser.add_argument(
        "--dtype",
        default="auto",
        help="in-process dtype: auto (bfloat16 on GPU, float32 on CPU), bfloat16, float16, "
        "float32 (default auto)",
    )
    parser.add_argument(
        "--timeout", type=float, default=300.0, help="seconds per server request (default 300)"
    )
    parser.add_argument(
        "--json",
        action="store_true",
        help="print one JSON object (answer, status, resized, visual_tokens, usage, turns) "
        "instead of the streamed view",
    )
    parser.set_defaults(func=run)
    return parser


class CommandError(Exception):
    """A failure reported to the user as one clear message, with an exit code."""

    def __init__(self, message: str, code: int) -> None:
        super().__init__(message)
        self.code = code


def run(args: argparse.Namespace) -> int:
    """Answer ``args.question`` about ``args.image``; returns the exit code.

    Example:
        >>> run(argparse.Namespace(image="/no/such/image.png", question="Q?", json=True))
        2
    """
    err = Console(stderr=True)
    try:
        source = _load(args.image)
        model = _build_model(args)
        return _ask(args, source, model)
    except CommandError as exc:
        err.print(f"[bold red]error:[/] {escape(str(exc))}", highlight=False, soft_wrap=True)
        return exc.code
    except ImportError as exc:
        extra = "graph" if getattr(args, "base_url", None) else "local"
        hint = f"pip install 'visionthink-agent[{extra}]'"
        message = f"missing dependency {exc.name}: {hint}" if exc.name else str(exc)
        err.print(f"[bold red]error:[/] {escape(message)}", highlight=False, soft_wrap=True)
        return 2
    except KeyboardInterrupt:
        err.print("interrupted")
        return 130


def _load(image: str) -> SourceImage:
    try:
        return load_image(image)
    except ImageError as exc:
        raise CommandError(f"cannot read image {image!r}: {exc}", 2) from exc


def _build_model(args: argparse.Namespace) -> Any:
    max_tokens = args.max_new_tokens or (
        TINY_DEFAULT_NEW_TOKENS if args.model == "tiny" and not args.base_url else 8192
    )
    if args.base_url:
        from visionthink_agent.backends.openai_compatible import create_openai_compatible_model

        name = args.model or _first_served_model(args.base_url, args.api_key)
        return create_openai_compatible_model(
            name,
            base_url=args.base_url,
            api_key=args.api_key,
            temperature=args.temperature,
            max_tokens=max_tokens,
            timeout=args.timeout,
        )
    from visionthink_agent.backends.qwen_engine import ModelLoadError
    from visionthink_agent.backends.transformers_chat import ChatQwenVL

    model = ChatQwenVL(
        model=args.model or DEFAULT_MODEL,
        device=args.device,
        dtype=args.dtype,
        max_new_tokens=max_tokens,
        temperature=args.temperature,
        streaming=True,
    )
    try:
        model.engine()  # load now, so a missing checkpoint fails before any output
    except ModelLoadError as exc:
        raise CommandError(str(exc), 1) from exc
    except ValueError as exc:
        raise CommandError(str(exc), 2) from exc
    return model


def _first_served_model(base_url: str, api_key: str | None) -> str:
    """The first model a server lists at ``/models`` (and a clear error when unreachable)."""
    import httpx

    url = base_url.rstrip("/") + "/models"
    headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
    try:
        response = httpx.get(url, headers=headers, timeout=10.0)
        response.raise_for_status()
        models = response.json().get("data") or []
    except httpx.HTTPError as exc:
        raise CommandError(f"cannot reach the model server at {base_url}: {exc}", 1) from exc
    except ValueError as exc:
        raise CommandError(f"{url} did not answer with JSON: is it an OpenAI API?", 1) from exc
    if not models:
        raise CommandError(f"the server at {base_url} serves no model; pass --model", 1)
    return str(models[0]["id"])


def _ask(args: argparse.Namespace, source: SourceImage, model: Any) -> int:
    from langchain_core.messages import HumanMessage

    from visionthink_agent.graph.agent import create_visionthink_agent

    payload = source.high_res_payload()
    message = HumanMessage(
        [
            {"type": "text", "text": args.question},
            {"type": "image", "base64": payload.base64, "mime_type": payload.mime_type},
        ]
    )
    graph = create_visionthink_agent(model, mode=args.mode).compile()
    view = _View(Console(highlight=False), source, quiet=args.json)
    started = time.perf_counter()
    final: dict[str, Any] = {}
    try:
        events: Any = graph.stream(
            {"messages": [message]}, stream_mode=["messages", "updates", "values"]
        )
        for kind, data in events:
            if kind == "messages":
                view.token(data[0])
            elif kind == "updates":
                view.update(data)
            else:
                final = data
    except Exception as exc:  # one clear line for server / model failures
        raise CommandError(_describe_failure(exc, args.base_url), 1) from exc
    view.finish(final, time.perf_counter() - started, as_json=args.json)
    return 0


def _describe_failure(exc: Exception, base_url: str | None) -> str:
    name = type(exc).__name__
    if base_url and name in ("APIConnectionError", "APITimeoutError", "ConnectError"):
        return f"cannot reach the model server at {base_url}: {exc}"
    return f"the model failed ({name}): {exc}"


class _View:
    """Rich rendering of the streamed run: thinking, the resize, the answer and the account."""

    def __init__(self, console: Console, source: SourceImage, *, quiet: bool) -> None:
        self.console = console
        self.source = source
        self.quiet = quiet
        self.turn = 0
        self.streamed = False
        if not quiet:
            w, h = source.size
            fw, fh = source.first_look_size
            console.print(
                f"[bold]image[/] {w}×{h} → first look {fw}×{fh} "
                f"({source.token_account(resized=False).first_look} visual tokens)"
            )
            console.print(Rule("model turn 1 (first look)", style="cyan"))

    def token(self, chunk: Any) -> None:
        text = getattr(chunk, "content", "")
        if self.quiet or not isinstance(text, str) or not text:
            return
        self.streamed = True
        self.console.print(text, end="", style="dim", markup=False)

    def update(self, data: dict[str, Any]) -> None:
        if self.quiet:
            return
        if "model" in data:
            messages = (data["model"] or {}).get("messages") or []
            last = messages[-1] if messages else None
            if last is not None and not self.streamed:  # servers that do not stream
                self.console.print(getattr(last, "text", ""), style="dim", markup=False)
            self.streamed = False
        if "tools" in data:
            self.console.print()
            w, h = self.source.high_res_size
            account = self.source.token_account(resized=True)
            self.console.print(
                Rule(
                    f"the model asked for the full image: {w}×{h} "
                    f"(+{account.high_res} visual tokens) — model turn 2",
                    style="yellow",
                )
            )

    def finish(self, final: dict[str, Any], seconds: float, *, as_json: bool) -> None:
        turns = [m.text for m in final.get("messages", []) if getattr(m, "type", "") == "ai"]
        result = {
            "answer": final.get("answer"),
            "status": final.get("status"),
            "resized": final.get("resized"),
            "visual_tokens": final.get("visual_tokens"),
            "usage": final.get("usage"),
            "model_turns": final.get("model_turns"),
            "turns": turns,
            "seconds": round(seconds, 2),
        }
        if as_json:
            print(json.dumps(result, ensure_ascii=False, indent=2))
            return
        self.console.print()
        self.console.print(Rule("answer", style="green"))
        self.console.print(result["answer"] or "(no answer)", markup=False)
        tokens = final.get("visual_tokens") or {}
        table = Table(title="visual tokens", show_header=False, title_justify="left")
        table.add_column(justify="left")
        table.add_column(justify="right")
        for key, label in (
            ("first_look", "first look"),
            ("high_res", "high-res"),
            ("used", "used"),
            ("full_res_baseline", "full-res baseline"),
            ("saved", "saved vs full-res"),
        ):
            if key in tokens:
                table.add_row(label, str(tokens[key]))
        if "ratio" in tokens:
            table.add_row("used / full-res", f"{tokens['ratio']:.2f}")
        self.console.print(table)
        usage = final.get("usage") or {}
        self.console.print(
            f"{final.get('status')} after {final.get('model_turns')} model turn(s), "
            f"resized={bool(final.get('resized'))}, {usage.get('input_tokens', 0)} prompt + "
            f"{usage.get('output_tokens', 0)} generated tokens, {seconds:.1f}s",
            highlight=False,
        )
