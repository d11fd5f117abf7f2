"""``visionthink eval``: run evaluation modes over a benchmark and summarise them.

::

    visionthink eval synthetic --model demo --limit 200 --out runs/demo  # offline, trained model
    visionthink eval synthetic --model tiny --out runs/synthetic        # offline plumbing check
    visionthink eval bench.jsonl --base-url http://127.0.0.1:8000/v1 \\
        --model Senqiao/VisionThink-Efficient --judge llm --judge-base-url ... --out runs/x
    visionthink eval synthetic --modes visionthink,zoom,both,full,low ...  # every mode

The modes: ``visionthink`` (the agent: first look, the whole image at full resolution when the
model asks), ``zoom`` (the agent: first look, regions cropped from the original when the model
asks), ``both`` (the agent with both tools), ``full`` (the original image only) and ``low`` (the
first look only). The default is ``visionthink,full,low``: the released checkpoints know the
resize tool only.

``DATA`` is a ``.jsonl`` / ``.parquet`` file, a ``datasets.save_to_disk`` folder, or the word
``synthetic`` (the project's generated benchmark, eval split, written under ``OUT/data``; the
224×224 ``demo`` preset with ``--model demo``, else ``--preset``). The run writes
``records.jsonl`` (resumable), ``summary.json`` (settings and per-mode results) and
``accuracy_vs_tokens.png`` (with matplotlib) into ``OUT`` and prints the summary table.

With ``--base-url`` the server is asked first: without ``--model`` its first model is
evaluated, and the token cap stays within its context length (vLLM's ``max_model_len``). A
server that cannot be reached, or refuses the model or the requests (HTTP 400/401/403/404),
stops the run with one line; the records finished before it are kept.

Running the same command again resumes: only missing or errored samples run. Ctrl-C stops the
run and keeps every finished record. Exit codes: 0 done, 1 the model or server failed (the
finished records are kept), 2 bad input, 130 interrupted.

Example:
    >>> import argparse
    >>> parser = argparse.ArgumentParser(); subparsers = parser.add_subparsers()
    >>> _ = register(subparsers)
    >>> args = parser.parse_args(["eval", "synthetic", "--modes", "low,full"])
    >>> args.modes, args.model, args.concurrency, args.max_new_tokens
    (['low', 'full'], None, 2, None)
    >>> parser.parse_args(["eval", "synthetic", "--modes", "zoom,both"]).modes
    ['zoom', 'both']
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import Any

import openai

from visionthink_agent.backends.served_models import DEFAULT_MAX_NEW_TOKENS
from visionthink_agent.cli.errors import CommandError, describe_model_failure
from visionthink_agent.cli.help_format import HelpFormatter, plain_description
from visionthink_agent.cli.interruptible import run_interruptible
from visionthink_agent.cli.options import add_max_new_tokens
from visionthink_agent.evaluation.records import DEFAULT_MODES, MODES, load_records, pending
from visionthink_agent.evaluation.runner import RECORDS_FILE

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
        help="evaluate the agent on a benchmark: resize / zoom agent modes, full / low baselines",
        description=plain_description(__doc__),
        formatter_class=HelpFormatter,
    )
    parser.add_argument(
        "data", help="benchmark: a .jsonl or .parquet file, a save_to_disk folder, or 'synthetic'"
    )
    parser.add_argument("--out", default="runs/eval", help="run folder (records, summary, plot)")
    parser.add_argument(
        "--model",
        help="in process: 'demo', 'tiny' (the default), a Hugging Face id or a checkpoint "
        "folder; with --base-url: the served model name (default: the server's first model)",
    )
    parser.add_argument(
        "--base-url",
        help="OpenAI-compatible server (vLLM, SGLang, transformers serve), e.g. "
        "http://127.0.0.1:8000/v1; without it the model runs in this process",
    )
    parser.add_argument(
        "--api-key",
        help="the server's API key (default: $OPENAI_API_KEY, else 'EMPTY' for local servers)",
    )
    parser.add_argument(
        "--family",
        choices=("qwen2_5_vl", "qwen3_vl"),
        default=None,
        help="with --base-url: the served model's family (zoom box convention, token "
        "arithmetic) when its name does not say (default: 'Qwen3-VL' in the name means "
        "qwen3_vl); in-process checkpoints read theirs from their config",
    )
    add_max_new_tokens(
        parser,
        default=None,
        help="most tokens generated per model turn; with --base-url at most the server's "
        "context length, max_model_len (default: 8192)",
    )
    parser.add_argument(
        "--modes",
        type=_modes,
        default=",".join(DEFAULT_MODES),
        help="comma list of the modes to run: visionthink (first look, resize on demand), "
        "zoom (first look, regions of the original on demand), both (resize or zoom), "
        "full (the original image), low (the first look only)",
    )
    parser.add_argument(
        "--agent-mode",
        choices=("prompted", "native"),
        default="prompted",
        help="the agent's tool protocol: prompted (VisionThink checkpoints) or native tool calls",
    )
    parser.add_argument(
        "--judge",
        choices=("rules", "llm"),
        default="rules",
        help="rules: exact, choice, numeric and math rules; llm: the rules, then an LLM judge",
    )
    parser.add_argument(
        "--judge-base-url", help="OpenAI-compatible server of the LLM judge (needed by --judge llm)"
    )
    parser.add_argument("--judge-model", default="gpt-4o", help="the LLM judge's model")
    parser.add_argument(
        "--judge-api-key",
        default=os.environ.get("JUDGE_API_KEY"),
        help="the LLM judge's API key (default: $JUDGE_API_KEY)",
    )
    parser.add_argument("--concurrency", type=int, default=2, help="samples in flight at once")
    parser.add_argument(
        "--limit", type=int, help="only the first N samples (synthetic: N generated; default 24)"
    )
    parser.add_argument(
        "--preset",
        choices=("standard", "demo"),
        help="synthetic benchmark preset (default: demo with --model demo, else standard)",
    )
    parser.add_argument(
        "--no-resume", action="store_true", help="discard the records of an earlier run in --out"
    )
    for role in ("image", "question", "answer", "id"):
        parser.add_argument(
            f"--{role}-column", help=f"name of the {role} column (default: found by its usual name)"
        )
    parser.add_argument(
        "--split", help="split of a saved DatasetDict (default: test, or its only split)"
    )
    parser.set_defaults(func=run)
    return parser


def build_model(args: argparse.Namespace) -> Any:
    """The chat model under evaluation (see ``evaluation.models.create_eval_model``).

    Example:
        >>> args = argparse.Namespace(model="tiny", base_url=None, api_key="", max_new_tokens=8)
        >>> build_model(args)._llm_type
        'qwen-vl-transformers'

    Raises:
        CommandError: ``--family`` without ``--base-url``.
    """
    from visionthink_agent.evaluation.models import create_eval_model

    family = getattr(args, "family", None)
    if family and not args.base_url:
        raise CommandError(
            "--family describes a served model (--base-url); an in-process checkpoint names "
            "its family in its config.json",
            2,
        )
    return create_eval_model(
        args.model,
        base_url=args.base_url,
        api_key=args.api_key,
        max_tokens=args.max_new_tokens,
        family=family,
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
            raise CommandError(
                "--judge llm needs --judge-base-url (an OpenAI-compatible server)", 2
            )
        llm = LLMJudge(
            args.judge_base_url,
            args.judge_model,
            api_key=args.judge_api_key,
            cache=Path(args.out) / "judge-cache.sqlite",
            failure_policy="raise",
        )
        return CompositeJudge(llm)
    return CompositeJudge()


def _preset(args: argparse.Namespace) -> str:
    """The synthetic preset: ``--preset``, else ``demo`` for the in-process demo model."""
    chosen: str | None = getattr(args, "preset", None)
    demo = args.model == "demo" and not getattr(args, "base_url", None)
    return chosen or ("demo" if demo else "standard")


def _samples(args: argparse.Namespace) -> tuple[list[Any], str]:
    from visionthink_agent.benchmark import load_benchmark
    from visionthink_agent.synthetic import write_synthetic_benchmark

    if args.data == "synthetic":
        bench = write_synthetic_benchmark(
            Path(args.out) / "data", n=args.limit or 24, formats=("jsonl",), preset=_preset(args)
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
    """Run ``visionthink eval``; prints the table and a one-line summary, returns the exit code.

    Bad input is one ``error:`` line and exit 2; Ctrl-C one line saying what was kept and how
    to resume, and exit 130.

    Example:
        >>> from visionthink_agent.cli import build_parser
        >>> run(build_parser().parse_args(["eval", "/no/such.jsonl", "--out", "/tmp/x"]))
        2
    """
    from rich.console import Console
    from rich.markup import escape

    err = Console(stderr=True)
    try:
        return _run(args)
    except CommandError as exc:
        err.print(f"[bold red]error:[/] {escape(str(exc))}", highlight=False, soft_wrap=True)
        return exc.code
    except ImportError as exc:
        hint = f"missing dependency {exc.name}: pip install 'visionthink-agent[eval]'"
        err.print(f"[bold red]error:[/] {escape(hint)}", highlight=False, soft_wrap=True)
        return 2
    except KeyboardInterrupt:
        records = Path(args.out) / RECORDS_FILE
        kept = len(load_records(records)) if records.is_file() else 0
        err.print(
            f"interrupted: {kept} finished record(s) kept in {records}; run the same command "
            "again to resume",
            highlight=False,
            soft_wrap=True,
        )
        return 130


def _run(args: argparse.Namespace) -> int:
    from rich.console import Console

    from visionthink_agent.benchmark import BenchmarkError
    from visionthink_agent.evaluation import summary_table

    console = Console(width=None if sys.stdout.isatty() else 110)  # full table in logs too
    _resolve_model(args)
    if not args.base_url:
        from visionthink_agent.backends.demo import check_checkpoint_folder

        try:
            check_checkpoint_folder(args.model)  # before torch or the benchmark is loaded
        except FileNotFoundError as exc:
            raise CommandError(str(exc), 2) from exc
    if args.concurrency < 1:
        raise CommandError(f"--concurrency must be at least 1, got {args.concurrency}", 2)
    if args.max_new_tokens < 1:
        raise CommandError(f"--max-new-tokens must be at least 1, got {args.max_new_tokens}", 2)
    try:
        samples, name = _samples(args)
    except BenchmarkError as exc:
        raise CommandError(str(exc), 2) from exc
    judge = build_judge(args)
    title = f"{name} · {args.model}"
    model = build_model(args)
    load = getattr(model, "engine", None)  # in-process models: load the weights now, so the
    if callable(load) and _work_left(args, samples):  # first sample's latency measures
        with console.status(f"loading {args.model}"):  # inference, not the load
            load()
    try:
        result = _evaluate(args, samples, model, judge, title, name)
    except (openai.APIConnectionError, openai.APIStatusError) as exc:  # see stops_the_run
        attempts = 1 if isinstance(exc, openai.APIStatusError) else model.max_retries + 1
        failure = describe_model_failure(exc, base_url=args.base_url, attempts=attempts, timeout=0)
        records = Path(args.out) / RECORDS_FILE
        kept = len(load_records(records)) if records.is_file() else 0
        raise CommandError(
            f"{failure}; {kept} finished record(s) kept in {records}: run the same command "
            "again to resume",
            1,
        ) from exc
    console.print(summary_table(result.summaries, title=title))
    if result.plot_path is None:
        console.print(
            "no plot: matplotlib is not installed (pip install 'visionthink-agent[eval]')"
        )
    errors = sum(s.errors for s in result.summaries)
    parts = [
        f"{s.mode} {100 * s.accuracy:.1f}% @ {s.visual_tokens_pct:.0f}% tokens"
        for s in result.summaries
    ]
    console.print(
        f"eval: {len(samples)} samples x {len(args.modes)} modes ({result.ran} run now, "
        f"{errors} errors): {'; '.join(parts)} -> {result.records_path.parent}",
        soft_wrap=True,  # one line, whatever the width: logs and scripts read it whole
    )
    return 0


def _work_left(args: argparse.Namespace, samples: list[Any]) -> bool:
    """Whether a sample is left to run (a resumed run with none needs no model loaded)."""
    records = Path(args.out) / RECORDS_FILE
    if args.no_resume or not records.is_file():
        return True
    return bool(pending(samples, args.modes, load_records(records)))


def _evaluate(
    args: argparse.Namespace, samples: list[Any], model: Any, judge: Any, title: str, name: str
) -> Any:
    from visionthink_agent.evaluation import run_evaluation

    return run_interruptible(
        run_evaluation(
            samples,
            model=model,
            judge=judge,
            out_dir=args.out,
            modes=args.modes,
            agent_mode=args.agent_mode,
            concurrency=args.concurrency,
            resume=not args.no_resume,
            title=title,
            settings=_settings(args, name),
        )
    )


def _resolve_model(args: argparse.Namespace) -> None:
    """Fill in ``--model`` and ``--max-new-tokens``: from the server with ``--base-url``
    (:func:`~visionthink_agent.cli.served.resolve_served_model`), else ``tiny`` and 8192."""
    if args.base_url:
        from visionthink_agent.cli.served import resolve_served_model

        args.model, args.max_new_tokens = resolve_served_model(
            args.base_url,
            model=args.model,
            api_key=args.api_key,
            max_new_tokens=args.max_new_tokens,
        )
    else:
        args.model = args.model or "tiny"
        if args.max_new_tokens is None:
            args.max_new_tokens = DEFAULT_MAX_NEW_TOKENS


def _settings(args: argparse.Namespace, data_name: str) -> dict[str, Any]:
    """What ``summary.json`` records about how the run was made (no API keys)."""
    judge: dict[str, Any] = {"kind": args.judge}
    if args.judge == "llm":
        judge.update(model=args.judge_model, base_url=args.judge_base_url)
    return {
        "data": f"{data_name} ({_preset(args)})" if args.data == "synthetic" else str(args.data),
        "model": args.model,
        "backend": f"openai-compatible {args.base_url}" if args.base_url else "in-process",
        "judge": judge,
        "max_new_tokens": args.max_new_tokens,
        "limit": args.limit,
    }
