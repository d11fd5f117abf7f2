"""``visionthink ask IMAGE QUESTION``: one question about one image, with the token account.

::

    visionthink ask examples/images/receipt.png "What is the total?" --model tiny
    visionthink ask photo.jpg "How many birds?"                  # Senqiao/VisionThink-Efficient
    visionthink ask photo.jpg "How many birds?" --base-url http://127.0.0.1:8000/v1

The model's thinking streams as it is generated; a rule marks the moment it asks for the
full-resolution image; the command ends with the answer and the visual-token account (first
look, high-res, used, and saved against sending the full-resolution image at once).

Exit codes: 0 answered, 1 the model or server failed, 2 bad input (unreadable image, empty
question, bad option, missing extras), 130 interrupted (Ctrl-C).
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.markup import escape

from visionthink_agent.backends import DEFAULT_MODEL
from visionthink_agent.cli.ask_view import AskView, stream_in_background
from visionthink_agent.cli.errors import CommandError, describe_image_error, describe_model_failure
from visionthink_agent.cli.help_format import HelpFormatter, plain_description
from visionthink_agent.cli.options import add_max_new_tokens
from visionthink_agent.images import (
    DEFAULT_MAX_BYTES,
    DEFAULT_PIXEL_LIMIT,
    ImageError,
    ImageLimits,
    SourceImage,
    load_image,
)
from visionthink_agent.protocol import TOOL_MODES
from visionthink_agent.questions import (
    DEFAULT_MAX_QUESTION_CHARS,
    QuestionError,
    check_question_text,
)

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
        description=plain_description(__doc__),
        formatter_class=HelpFormatter,
    )
    parser.add_argument("image", help="image file, http(s) URL or data: URL")
    parser.add_argument("question", help="the question about the image")
    parser.add_argument(
        "--model",
        default=None,
        help=(
            "in process: a Hugging Face id, a local checkpoint directory, 'demo' (the small "
            "model shipped in the package, trained on the synthetic task) or 'tiny' (a tiny "
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
        "(VisionThink / Qwen2.5-VL checkpoints); native: the server's tool calling",
    )
    parser.add_argument(
        "--tool-mode",
        choices=TOOL_MODES,
        default="resize",
        help="the high-resolution request the model may make: resize (the whole image, "
        "VisionThink), zoom (a region, image_zoom_in_tool) or both",
    )
    add_max_new_tokens(
        parser,
        default=None,
        help=f"most tokens generated per model turn (default 8192; with --base-url at most "
        f"the server's context length, max_model_len; {TINY_DEFAULT_NEW_TOKENS} with --model "
        "tiny, whose random text rarely stops)",
    )
    parser.add_argument("--temperature", type=float, default=0.0, help="0 = greedy, > 0 samples")
    parser.add_argument(
        "--device",
        default="auto",
        help="in-process device: auto (CUDA, MPS, CPU), cpu, cuda, cuda:1 ...",
    )
    parser.add_argument(
        "--dtype",
        default="auto",
        help="in-process dtype: auto (bfloat16 on GPU, float32 on CPU), bfloat16, float16, float32",
    )
    parser.add_argument(
        "--timeout",
        type=float,
        default=300.0,
        help="seconds per server request, and for downloading an image URL",
    )
    parser.add_argument(
        "--max-pixels",
        type=int,
        default=DEFAULT_PIXEL_LIMIT,
        help="refuse larger images (decompression-bomb guard)",
    )
    parser.add_argument(
        "--max-bytes", type=int, default=DEFAULT_MAX_BYTES, help="refuse larger image files"
    )
    parser.add_argument(
        "--allow-private-urls",
        action="store_true",
        help="let an image URL point at a private, loopback or link-local address "
        "(refused by default)",
    )
    parser.add_argument(
        "--max-question-chars",
        type=int,
        default=DEFAULT_MAX_QUESTION_CHARS,
        help="refuse longer questions",
    )
    parser.add_argument(
        "--json",
        action="store_true",
        help="print one JSON object (answer, status, resized, visual_tokens, usage, turns) "
        "instead of the streamed view",
    )
    parser.set_defaults(func=run)
    return parser


def run(args: argparse.Namespace) -> int:
    """Answer ``args.question`` about ``args.image``; returns the exit code.

    The image is read and fully decoded, and the question checked, before any model is loaded.

    Example:
        >>> from visionthink_agent.cli import build_parser
        >>> run(build_parser().parse_args(["ask", "/no/such/image.png", "Q?"]))
        2
    """
    err = Console(stderr=True)
    try:
        if not args.question.strip():
            raise CommandError(
                "the question is empty: pass it after the image, e.g. visionthink ask photo.jpg "
                '"What is the total?"',
                2,
            )
        try:
            check_question_text(args.question, max_chars=args.max_question_chars)
        except QuestionError as exc:
            raise CommandError(
                f"{exc.problem} (raise --max-question-chars to allow it)", 2
            ) from exc
        source = _load(args)
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
        err.print("interrupted: no answer (nothing is kept); run the command again to ask again")
        return 130


def _load(args: argparse.Namespace) -> SourceImage:
    """The image, fully decoded: a truncated or damaged file fails here, before any model."""
    image: str = args.image
    is_url = image.startswith("data:") or "://" in image[:16]
    try:
        source = load_image(
            image if is_url else Path(image),
            max_pixels=args.max_pixels,
            max_bytes=args.max_bytes,
            allow_private_urls=args.allow_private_urls,
            timeout=args.timeout,
        )
        source.decode()
    except ImageError as exc:
        raise CommandError(describe_image_error(exc), 2) from exc
    return source


def _build_model(args: argparse.Namespace) -> Any:
    if args.base_url:
        import langchain_openai  # noqa: F401  (a missing extra is named before the server is asked)

        from visionthink_agent.backends.openai_compatible import create_openai_compatible_model
        from visionthink_agent.cli.served import resolve_served_model

        name, max_tokens = resolve_served_model(
            args.base_url,
            model=args.model,
            api_key=args.api_key,
            max_new_tokens=args.max_new_tokens,
        )
        return create_openai_compatible_model(
            name,
            base_url=args.base_url,
            api_key=args.api_key,
            temperature=args.temperature,
            max_tokens=max_tokens,
            timeout=args.timeout,
        )
    from visionthink_agent.backends.demo import check_checkpoint_folder

    try:
        check_checkpoint_folder(args.model or DEFAULT_MODEL)  # before torch is imported
    except FileNotFoundError as exc:
        raise CommandError(str(exc), 2) from exc
    from visionthink_agent.backends.qwen.engine import ModelLoadError
    from visionthink_agent.backends.transformers_chat import ChatQwenVL

    max_tokens = args.max_new_tokens or (TINY_DEFAULT_NEW_TOKENS if args.model == "tiny" else 8192)
    model = ChatQwenVL(
        model=args.model or DEFAULT_MODEL,
        device=args.device,
        dtype=args.dtype,
        max_new_tokens=max_tokens,
        temperature=args.temperature,
        streaming=True,
        max_pixels=args.max_pixels,
        max_bytes=args.max_bytes,
    )
    try:
        model.engine()  # load now, so a missing checkpoint fails before any output
    except ModelLoadError as exc:
        raise CommandError(str(exc), 1) from exc
    except ValueError as exc:
        raise CommandError(str(exc), 2) from exc
    return model


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
    graph = create_visionthink_agent(
        model,
        mode=args.mode,
        tool_mode=args.tool_mode,
        max_question_chars=args.max_question_chars,
        image_limits=ImageLimits(max_pixels=args.max_pixels, max_bytes=args.max_bytes),
    ).compile()
    from visionthink_agent.backends.families import family_of

    geometry = family_of(model).geometry
    view = AskView(Console(highlight=False), source, quiet=args.json, geometry=geometry)
    started = time.perf_counter()
    final: dict[str, Any] = {}
    try:
        events = stream_in_background(
            graph, {"messages": [message]}, ["messages", "updates", "values"]
        )
        for kind, data in events:
            if kind == "messages":
                view.token(data[0])
            elif kind == "updates":
                view.update(data)
            else:
                final = data
    except ImageError as exc:
        raise CommandError(describe_image_error(exc), 2) from exc
    except Exception as exc:  # one clear line for server / model failures
        attempts = (getattr(model, "max_retries", None) or 0) + 1
        failure = describe_model_failure(
            exc, base_url=args.base_url, attempts=attempts, timeout=args.timeout
        )
        raise CommandError(failure, 1) from exc
    view.finish(final, time.perf_counter() - started, as_json=args.json)
    return 0
