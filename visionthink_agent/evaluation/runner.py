"""The evaluation loop: every sample in every mode, concurrently, resumable, judged, summarised.

The agent modes (``visionthink``, ``zoom``, ``both``) each run a compiled agent graph with its
``tool_mode``; the zoom boxes are read in the model family's convention and every token account
uses its geometry (:func:`visionthink_agent.backends.families.family_of`, unless given).

:func:`run_evaluation` writes into one output folder:

* ``records.jsonl`` — one :class:`~.records.SampleRecord` per (mode, sample), appended as each
  finishes (an interrupted run continues where it stopped; errored samples are retried);
* ``summary.json`` — the run's settings and the per-mode :class:`~.summary.ModeSummary` list
  (:func:`~.summary.summary_document`);
* ``accuracy_vs_tokens.png`` — the plot (skipped when matplotlib is not installed).

A failure that every other sample would meet too (:func:`stops_the_run`: the model server is
unreachable, or refuses the model, the key or the request's settings) stops the run at once
and is raised; the records finished before it stay on disk for the resumed run.

Example:
    >>> import asyncio  # doctest: +SKIP
    >>> run = asyncio.run(run_evaluation(load_benchmark("bench.jsonl"), model=chat_model,
    ...                                  judge=judge, out_dir="runs/demo"))  # doctest: +SKIP
    >>> run.summaries[0].accuracy  # doctest: +SKIP
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, is_dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

import openai

from visionthink_agent.backends.families import family_of
from visionthink_agent.benchmark import EvalSample
from visionthink_agent.evaluation.modes import ModeOutcome, run_single_look, run_visionthink
from visionthink_agent.evaluation.plot import plot_accuracy_vs_tokens
from visionthink_agent.evaluation.records import (
    AGENT_TOOL_MODES,
    DEFAULT_MODES,
    MODES,
    EvalMode,
    SampleRecord,
    append_record,
    load_records,
    pending,
)
from visionthink_agent.evaluation.summary import ModeSummary, summarize, write_summary
from visionthink_agent.images import QWEN2_5_VL, VisionGeometry, load_image
from visionthink_agent.protocol import BoxConvention, ToolMode

if TYPE_CHECKING:
    from visionthink_agent.graph import Mode

__all__ = ["EvalRun", "Judge", "run_evaluation", "run_one", "stops_the_run"]

RECORDS_FILE = "records.jsonl"
SUMMARY_FILE = "summary.json"
PLOT_FILE = "accuracy_vs_tokens.png"


class Judge(Protocol):
    """Anything with the shared judges' ``score`` (``visionthink_agent.judge``)."""

    async def score(self, question: str, ground_truth: str, prediction: str) -> Any:
        """Judge one prediction; the result has a 0/1 ``score`` (or a ``correct`` flag)."""


@dataclass(frozen=True)
class EvalRun:
    """The outcome of :func:`run_evaluation`.

    Attributes:
        records: every record of the run (resumed ones included), mode-major order.
        summaries: one summary per mode.
        records_path: ``records.jsonl``.
        summary_path: ``summary.json``.
        plot_path: ``accuracy_vs_tokens.png``; ``None`` when matplotlib is not installed.
        ran: how many (mode, sample) pairs this call ran (the rest came from the records).
    """

    records: list[SampleRecord]
    summaries: list[ModeSummary]
    records_path: Path
    summary_path: Path
    plot_path: Path | None
    ran: int


def stops_the_run(exc: BaseException) -> bool:
    """Whether a model call's failure would fail every sample alike, so the run stops on it.

    The server cannot be reached (a timeout is not: one slow sample may time out alone), or it
    refuses the request as such: HTTP 400 (e.g. a token cap above its context), 401 / 403 (the
    key), 404 (the model name).

    Example:
        >>> import httpx
        >>> request = httpx.Request("POST", "http://127.0.0.1:1/v1/chat/completions")
        >>> stops_the_run(openai.APIConnectionError(request=request))
        True
        >>> stops_the_run(openai.APITimeoutError(request=request)), stops_the_run(ValueError())
        (False, False)
    """
    refused = (
        openai.BadRequestError,
        openai.AuthenticationError,
        openai.PermissionDeniedError,
        openai.NotFoundError,
    )
    unreachable = isinstance(exc, openai.APIConnectionError)
    return isinstance(exc, refused) or (unreachable and not isinstance(exc, openai.APITimeoutError))


def _verdict(result: Any) -> tuple[bool, dict[str, Any]]:
    """Read a judge result (pydantic model, dataclass or mapping) into ``(correct, details)``."""
    if hasattr(result, "model_dump"):
        details = result.model_dump(mode="json")
    elif is_dataclass(result) and not isinstance(result, type):
        details = json.loads(json.dumps(asdict(result), default=str))
    elif isinstance(result, Mapping):
        details = json.loads(json.dumps(dict(result), default=str))
    else:
        raise TypeError(f"the judge returned {type(result).__name__}, not a verdict")
    correct = details.get("correct", getattr(result, "correct", None))
    if correct is None:  # no verdict (an undecided or failed judge) counts as wrong
        score = details.get("score")
        correct = score is not None and float(score) >= 1.0
    return bool(correct), details


async def run_one(
    mode: EvalMode,
    sample: EvalSample,
    *,
    model: Any,
    agent: Any,
    judge: Judge,
    geometry: VisionGeometry = QWEN2_5_VL,
) -> SampleRecord:
    """Run and judge one sample in one mode; a failure becomes the record's ``error``.

    A model call's failure that :func:`stops_the_run` is raised instead (no record).

    Args:
        mode: the evaluation mode.
        sample: the benchmark sample.
        model: the chat model (used by the ``full`` / ``low`` baselines).
        agent: the compiled VisionThink graph of the mode's ``tool_mode`` (agent modes).
        judge: the judge.
        geometry: the model family's token arithmetic (the baselines' token accounts).
    """
    base = SampleRecord(
        sample_id=sample.id,
        mode=mode,
        question=sample.question,
        ground_truth=sample.answer,
        metadata=sample.metadata,
    )
    outcome: ModeOutcome | None = None
    try:
        source = load_image(sample.image)
        if mode == "full" or mode == "low":
            outcome = await run_single_look(model, source, sample.question, mode, geometry)
        else:
            outcome = await run_visionthink(agent, source, sample.question)
        correct, details = _verdict(
            await judge.score(sample.question, sample.answer, outcome.prediction)
        )
    except Exception as exc:  # one bad sample must not end the run: it is recorded and retried
        if outcome is None and stops_the_run(exc):
            raise
        return base.model_copy(update={"error": f"{type(exc).__name__}: {exc}"})
    return base.model_copy(
        update=dict(
            prediction=outcome.prediction,
            output=outcome.output,
            correct=correct,
            judge=details,
            resized=outcome.resized,
            zooms=outcome.zooms,
            zoom_boxes=outcome.zoom_boxes,
            status=outcome.status,
            visual_tokens=outcome.visual_tokens,
            usage=outcome.usage,
            latency_s=round(outcome.latency_s, 4),
        )
    )


def _compile_agent(
    model: Any,
    agent_mode: Mode,
    tool_mode: ToolMode,
    boxes: BoxConvention,
    geometry: VisionGeometry,
) -> Any:
    from visionthink_agent.graph import create_visionthink_agent

    return create_visionthink_agent(
        model, mode=agent_mode, tool_mode=tool_mode, boxes=boxes, geometry=geometry
    ).compile()


async def run_evaluation(
    samples: Sequence[EvalSample],
    *,
    model: Any,
    judge: Judge,
    out_dir: str | Path,
    modes: Sequence[EvalMode] = DEFAULT_MODES,
    agent_mode: Mode = "prompted",
    boxes: BoxConvention | None = None,
    geometry: VisionGeometry | None = None,
    concurrency: int = 4,
    resume: bool = True,
    progress: bool = True,
    title: str = "Accuracy vs visual tokens",
    settings: Mapping[str, Any] | None = None,
) -> EvalRun:
    """Evaluate ``model`` on ``samples`` in each mode and write records, summary and plot.

    Args:
        samples: the benchmark (:func:`~.benchmark.load_benchmark`).
        model: a LangChain chat model (OpenAI-compatible server, in-process transformers...).
        judge: scores predictions (``visionthink_agent.judge``: rule judges or an LLM judge).
        out_dir: the run folder.
        modes: which of :data:`~.records.MODES` to run (``visionthink``, ``zoom``, ``both``,
            ``full``, ``low``).
        agent_mode: the agent's tool protocol, ``prompted`` or ``native``.
        boxes: how the model writes zoom boxes; default the model family's (first-look pixels
            for Qwen2.5-VL, 0–1000 for Qwen3-VL).
        geometry: the token arithmetic of every token account; default the model family's.
        concurrency: samples in flight at once.
        resume: keep the finished records already in ``out_dir`` (else start afresh).
        progress: show a progress bar per mode.
        title: the plot title.
        settings: what ``summary.json`` records about the run beyond what this function knows
            (the model, its backend, the judge, max tokens, the data); the modes, agent mode,
            model family, box convention, sample count and concurrency are added here.

    Raises:
        ValueError: an unknown mode, no samples, or ``concurrency < 1``.
        ResumeMismatchError: ``out_dir`` holds records of other samples.
    """
    unknown = sorted(set(modes) - set(MODES))
    if unknown:
        raise ValueError(f"unknown mode(s) {unknown}; choose from {list(MODES)}")
    if not samples:
        raise ValueError("no samples to evaluate")
    if concurrency < 1:
        raise ValueError(f"concurrency must be at least 1, got {concurrency}")
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    records_path = out / RECORDS_FILE
    if not resume:
        records_path.unlink(missing_ok=True)
    done = load_records(records_path)
    todo = pending(samples, modes, done)
    family = family_of(model)
    boxes = family.boxes if boxes is None else boxes
    geometry = family.geometry if geometry is None else geometry
    agents = {
        mode: _compile_agent(model, agent_mode, AGENT_TOOL_MODES[mode], boxes, geometry)
        for mode in {m for m, _ in todo if m in AGENT_TOOL_MODES}
    }
    semaphore = asyncio.Semaphore(concurrency)
    lock = asyncio.Lock()

    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeElapsedColumn

    with Progress(
        "[progress.description]{task.description}",
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        disable=not progress,
    ) as bar:
        tasks = {
            mode: bar.add_task(
                mode, total=len(samples), completed=len(samples) - sum(m == mode for m, _ in todo)
            )
            for mode in modes
        }

        async def work(mode: EvalMode, sample: EvalSample) -> None:
            async with semaphore:
                record = await run_one(
                    mode,
                    sample,
                    model=model,
                    agent=agents.get(mode),
                    judge=judge,
                    geometry=geometry,
                )
            async with lock:
                append_record(records_path, record)
                done[record.key] = record
                bar.advance(tasks[mode])

        runs = [asyncio.ensure_future(work(mode, sample)) for mode, sample in todo]
        try:
            await asyncio.gather(*runs)
        except BaseException:  # a failure that stops the run, or Ctrl-C: end the others too
            for pending_run in runs:
                pending_run.cancel()
            await asyncio.gather(*runs, return_exceptions=True)
            raise

    records = [done[(m, s.id)] for m in modes for s in samples]
    summaries = summarize(records)
    run_settings = {
        **(settings or {}),
        "modes": list(modes),
        "agent_mode": agent_mode,
        "family": family.name,
        "boxes": boxes,
        "token_geometry": asdict(geometry),
        "samples": len(samples),
        "concurrency": concurrency,
    }
    summary_path = write_summary(out / SUMMARY_FILE, summaries, run_settings)
    plot_path: Path | None = out / PLOT_FILE
    try:
        plot_accuracy_vs_tokens(summaries, out / PLOT_FILE, title=title)
    except ImportError as exc:
        if (exc.name or "").partition(".")[0] != "matplotlib":
            raise
        plot_path = None
    return EvalRun(records, summaries, records_path, summary_path, plot_path, ran=len(todo))
