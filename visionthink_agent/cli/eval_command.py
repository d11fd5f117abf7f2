"""``visionthink eval``: run the three evaluation modes over a benchmark and summarise them.

::

    visionthink eval synthetic --model tiny --out runs/synthetic        # offline demo
    visionthink eval bench.jsonl --base-url http://127.0.0.1:8000/v1 \\
        --model Senqiao/VisionThink-Efficient --judge llm --judge-base-url ... --out runs/x

``DATA`` is a ``.jsonl`` / ``.parquet`` file, a ``datasets.save_to_disk`` folder, or the word
``synthetic`` (the project's generated benchmark, written under ``OUT/data``). The run writes
``records.jsonl`` (resumable), ``summary.json`` and ``accuracy_vs_tokens.png`` into ``OUT`` and
prints the summary table.

Example:
    >>> import argparse
    >>> parser = argparse.ArgumentParser(); subparsers = parser.add_subparsers()
    >>> _ = register(subparsers)
    >>> args = parser.parse_args(["eval", "synthetic", "--modes", "low,full"])
    >>> args.modes, args.model, args.concurrency
    (['low', 'full'], 'tiny', 2)
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
from pathlib import Path
from typing import Any

from visionthink_agent.evaluation.records import MODES

__all__ = ["build_judge", "build_model", "register", "run"]


def _modes(text: str) -> list[str]:
    modes = [m.strip() for m in text.split(",") if m.strip()]
    unknown = [m for m in modes if m not in MODES]
    if unknown or not modes:
        raise argparse.ArgumentTypeError(f"modes must be a comma list of {list(MODES)}: {text!r}")
    return modes


def register(subparsers: Any) -> argparse.ArgumentParser:
    """Add the ``eval`` subcommand to a ``visionthink`` argument parser.

    Example:
        >>> p = argparse.ArgumentParser(); register(p.add_subparsers()).prog.endswith("eval")
        True
    """
    parser: argparse.ArgumentParser = subparsers.add_parser(
        "eval",
        help="evaluate the agent on a benchmark in visionthink / full / low modes",
        description=__doc__.split("Example:")[0] if __doc__ else None,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("data", help="benchmark file/folder, or 'synthetic'")
    parser.add_argument("--out", default="runs/eval", help="run folder (default: runs/eval)")
    parser.add_argument(
        "--model", default="tiny", help="model: 'tiny', a checkpoint, or the server's model name"
    )
    parser.add_argument("--base-url", help="OpenAI-compatible server (vLLM); else in-process")
    parser.add_argument("--api-key", help="the server's key (default: $OPENAI_API_KEY or EMPTY)")
    parser.add_argument("--max-tokens", type=int, default=8192, help="tokens per model turn")
    parser.add_argument(
        "--modes", type=_modes, default=list(MODES), help="comma list (default: all three)"
    )
    parser.add_argument("--agent-mode", choices=("prompted", "native"), default="prompted")
    parser.add_argument("--judge", choices=("rules", "llm"), default="rules")
    parser.add_argument("--judge-base-url", help="OpenAI-compatible server of the LLM judge")
    parser.add_argument("--judge-model", default="gpt-4o", help="the LLM judge's model")
    parser.add_argument("--judge-api-key", default=os.environ.get("JUDGE_API_KEY"))
    parser.add_argument("--concurrency", type=int, default=2, help="samples in flight")
    parser.add_argument("--limit", type=int, help="first N samples (synthetic: N generated)")
    parser.add_argument("--no-resume", action="store_true", help="discard earlier records")
    for role in ("image", "question", "answer", "id"):
        parser.add_argument(f"--{role}-column", help=f"name of the {role} column")
    parser.add_argument("--split", help="split of a saved DatasetDict")
    parser.set_defaults(func=run)
    return parser


def build_model(args: argparse.Namespace) -> Any:
    """The chat model under evaluation (see ``evaluation.models.create_eval_model``).

    Example:
        >>> args = argparse.Namespace(model="tiny", base_url=None, api_key="", max_tokens=8)
        >>> build_model(args)._llm_type
        'qwen-vl-transformers'
    """
    from visionthink_agent.evaluation.models import create_eval_model

    return create_eval_model(
        args.model, base_url=args.base_url, api_key=args.api_key, max_tokens=args.max_tokens
    )


def build_judge(args: argparse.Namespace) -> Any:
    """The judge: the shared rule judges, then (``--judge llm``) the LLM judge for the rest.

    The LLM judge's failures raise, so the sample is recorded with an error and retried when
    the run is resumed; its verdicts are cached in ``OUT/judge-cache.sqlite``.

    Example:
        >>> build_judge(argparse.Namespace(judge="rules")).score_sync("Q", "7", "7.0").score
        1
    """
    from visionthink_agent.judge import CompositeJudge, LLMJudge

    if args.judge == "llm":
        if not args.judge_base_url:
            raise SystemExit("--judge llm needs --judge-base-url (an OpenAI-compatible server)")
        llm = LLMJudge(
            args.judge_base_url,
            args.judge_model,
            api_key=args.judge_api_key,
            cache=Path(args.out) / "judge-cache.sqlite",
            failure_policy="raise",
        )
        return CompositeJudge(llm)
    return CompositeJudge()


def _samples(args: argparse.Namespace) -> tuple[list[Any], str]:
    from visionthink_agent.evaluation import load_benchmark, write_synthetic_benchmark

    if args.data == "synthetic":
        bench = write_synthetic_benchmark(
            Path(args.out) / "data", n=args.limit or 24, formats=("jsonl",)
        )
        assert bench.jsonl is not None
        return load_benchmark(bench.jsonl), "synthetic"
    samples = load_benchmark(
        args.data,
        image_column=args.image_column,
        question_column=args.question_column,
        answer_column=args.answer_column,
        id_column=args.id_column,
        split=args.split,
        limit=args.limit,
    )
    return samples, Path(args.data).name


def run(args: argparse.Namespace) -> int:
    """Run ``visionthink eval``; prints the table and a one-line summary, returns 0.

    Example:
        >>> run(argparse.Namespace(data="synthetic", ...))  # doctest: +SKIP
    """
    from rich.console import Console

    from visionthink_agent.evaluation import BenchmarkError, run_evaluation, summary_table

    console = Console(width=None if sys.stdout.isatty() else 110)  # full table in logs too
    if args.concurrency < 1:
        raise SystemExit(f"--concurrency must be at least 1, got {args.concurrency}")
    try:
        samples, name = _samples(args)
    except BenchmarkError as exc:
        raise SystemExit(f"visionthink eval: {exc}") from exc
    title = f"{name} · {args.model}"
    model = build_model(args)
    load = getattr(model, "engine", None)  # in-process models: load the weights now, so the
    if callable(load):  # first sample's latency measures inference, not the load
        with console.status(f"loading {args.model}"):
            load()
    result = asyncio.run(
        run_evaluation(
            samples,
            model=model,
            judge=build_judge(args),
            out_dir=args.out,
            modes=args.modes,
            agent_mode=args.agent_mode,
            concurrency=args.concurrency,
            resume=not args.no_resume,
            title=title,
        )
    )
    console.print(summary_table(result.summaries, title=title))
    errors = sum(s.errors for s in result.summaries)
    parts = [
        f"{s.mode} {100 * s.accuracy:.1f}% @ {s.visual_tokens_pct:.0f}% tokens"
        for s in result.summaries
    ]
    console.print(
        f"eval: {len(samples)} samples x {len(args.modes)} modes ({result.ran} run now, "
        f"{errors} errors): {'; '.join(parts)} -> {result.records_path.parent}"
    )
    return 0
