"""A bounded load on the served graph: many client threads, each with its own images.

:func:`load_plan` gives every client thread its own questions: held-out samples of the
synthetic ``demo`` preset (224x224, the images the shipped demo model answers correctly, 100 % on
200 held-out samples, resizing exactly for the small-print ones), so the expected answer, the
resize and the token account of each question are known without asking a model; every
``bad_every``-th question is a bad input instead (a private URL, a corrupt image, an empty
question, an over-long question), which must be refused in one line. :func:`run_load` sends
them all at once from ``len(plan)`` threads through the LangGraph SDK (each question on a new
server thread, as an app would), timing each one and sampling the resident memory of the server
process trees; :func:`load_problems` lists every question that was lost, crossed (an answer,
resize or token account that is not its own image's, or another question echoed back), or a bad
input not refused cleanly.

Example:
    >>> plan = load_plan(threads=2, questions=2, bad_every=4)
    >>> [[q.kind for q in thread] for thread in plan]
    [['good', 'good'], ['good', 'private url']]
    >>> [(q.sample_id, q.expected_answer, q.expected_resized) for q in plan[0]]
    [('syn-0000', '1', True), ('syn-0001', 'red', False)]
    >>> plan[1][1].refusal
    'UnsafeURLError'
"""

from __future__ import annotations

import base64
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import psutil

from visionthink_agent.images import encode_image, load_image
from visionthink_agent.judge.rules import normalize_answer
from visionthink_agent.questions import DEFAULT_MAX_QUESTION_CHARS
from visionthink_agent.synthetic import make_synthetic_samples

__all__ = [
    "BAD_INPUTS",
    "LoadQuestion",
    "LoadRun",
    "Outcome",
    "listening_pid",
    "load_plan",
    "load_problems",
    "percentile",
    "run_load",
    "tree_usage",
]


def _png_block(data: bytes) -> dict[str, Any]:
    return {"type": "image", "base64": base64.b64encode(data).decode(), "mime_type": "image/png"}


def _text(text: str) -> dict[str, Any]:
    return {"type": "text", "text": text}


def _bad_private_url(png: bytes) -> list[dict[str, Any]]:
    return [_text("What is shown?"), {"type": "image", "url": "http://10.1.2.3/a.png"}]


def _bad_corrupt_image(png: bytes) -> list[dict[str, Any]]:
    return [_text("What is shown?"), _png_block(png[: len(png) // 2])]


def _bad_empty_question(png: bytes) -> list[dict[str, Any]]:
    return [_text("   "), _png_block(png)]


def _bad_long_question(png: bytes) -> list[dict[str, Any]]:
    return [_text("x" * (DEFAULT_MAX_QUESTION_CHARS + 1)), _png_block(png)]


BAD_INPUTS: dict[str, tuple[Callable[[bytes], list[dict[str, Any]]], str]] = {
    "private url": (_bad_private_url, "UnsafeURLError"),
    "corrupt image": (_bad_corrupt_image, "CorruptImageError"),
    "empty question": (_bad_empty_question, "QuestionError"),
    "over-long question": (_bad_long_question, "over the limit of 16000"),
}
"""Bad input kind: (its message content from an image's PNG bytes, a phrase of its refusal)."""


@dataclass(frozen=True)
class LoadQuestion:
    """One question of the load, with what its answer must be.

    Attributes:
        thread: the client thread that asks it.
        kind: ``good``, or the :data:`BAD_INPUTS` kind.
        content: the user message's content blocks.
        sample_id: the synthetic sample asked about (a good question).
        expected_answer: its ground truth (a good question).
        expected_resized: whether the model must ask for the full image (a good question).
        expected_tokens: its token account (``visual_tokens``: first look, high-res, ...).
        refusal: a phrase the one-line refusal holds (a bad input).
    """

    thread: int
    kind: str
    content: list[dict[str, Any]] = field(repr=False)
    sample_id: str | None = None
    expected_answer: str | None = None
    expected_resized: bool | None = None
    expected_tokens: dict[str, Any] | None = field(default=None, repr=False)
    refusal: str | None = None


def load_plan(
    threads: int, questions: int, *, bad_every: int = 4, seed: int = 0
) -> list[list[LoadQuestion]]:
    """``questions`` questions for each of ``threads`` client threads.

    Question ``k`` (counted over all threads, thread by thread) is a bad input when
    ``k % bad_every == bad_every - 1`` (the kinds in turn), else the next held-out demo sample:
    no two good questions share an image.
    """
    total = threads * questions
    good = total - total // bad_every
    rendered = make_synthetic_samples(max(good, 1), seed=seed, preset="demo")
    samples, plain = iter(rendered), encode_image(rendered[0].image, "PNG").data
    kinds = list(BAD_INPUTS)
    plan: list[list[LoadQuestion]] = []
    for thread in range(threads):
        asked = []
        for j in range(questions):
            k = thread * questions + j
            if k % bad_every == bad_every - 1:
                kind = kinds[(k // bad_every) % len(kinds)]
                content, phrase = BAD_INPUTS[kind]
                asked.append(LoadQuestion(thread, kind, content(plain), refusal=phrase))
                continue
            sample = next(samples)
            account = load_image(sample.image).token_account(resized=sample.needs_high_res)
            asked.append(
                LoadQuestion(
                    thread,
                    "good",
                    [_text(sample.question), _png_block(encode_image(sample.image, "PNG").data)],
                    sample_id=sample.id,
                    expected_answer=sample.answer,
                    expected_resized=sample.needs_high_res,
                    expected_tokens=account.as_dict(),
                )
            )
        plan.append(asked)
    return plan


@dataclass
class Outcome:
    """What one question got: the run's final state, or the error the client saw."""

    question: LoadQuestion
    seconds: float
    result: dict[str, Any] | None = None
    error: str | None = None


@dataclass
class LoadRun:
    """A finished load: every outcome, the wall time, and for each watched process tree its
    peak RSS (bytes) and the CPU seconds it spent during the load."""

    outcomes: list[Outcome]
    seconds: float
    peak_rss: dict[str, int]
    cpu_seconds: dict[str, float]

    def latencies(self, kind: str = "good") -> list[float]:
        """Seconds per question: the good ones (``kind="good"``), else the bad inputs."""
        return [o.seconds for o in self.outcomes if (o.question.kind == "good") == (kind == "good")]

    def summary(self) -> dict[str, Any]:
        """p50 / p95 latency, questions a second, counts, peak RSS (MiB) and CPU seconds."""
        good = self.latencies("good")
        answered = sum(1 for o in self.outcomes if o.question.kind == "good" and o.result)
        return {
            "questions": len(self.outcomes),
            "good": len(good),
            "bad": len(self.outcomes) - len(good),
            "answered": answered,
            "seconds": round(self.seconds, 2),
            "questions_per_s": round(answered / self.seconds, 3) if self.seconds else 0.0,
            "p50_latency_s": round(percentile(good, 0.5), 3),
            "p95_latency_s": round(percentile(good, 0.95), 3),
            "refusal_p50_s": round(percentile(self.latencies("bad"), 0.5), 3),
            "peak_rss_mib": {k: round(v / 2**20) for k, v in self.peak_rss.items()},
            "cpu_s": {k: round(v, 1) for k, v in self.cpu_seconds.items()},
            "cpu_s_per_answer": round(sum(self.cpu_seconds.values()) / answered, 3)
            if answered
            else 0.0,
        }


def percentile(values: Sequence[float], q: float) -> float:
    """The ``q`` quantile by nearest rank (0 for no values).

    Example:
        >>> percentile([3, 1, 2], 0.5), percentile([], 0.9)
        (2, 0.0)
    """
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def tree_usage(pid: int) -> tuple[int, float]:
    """Resident bytes and CPU seconds (user + system) of a process and its descendants
    (``(0, 0.0)`` once it is gone).

    Example:
        >>> import os
        >>> rss, cpu = tree_usage(os.getpid())
        >>> rss > 0 and cpu > 0
        True
    """
    try:
        root = psutil.Process(pid)
        processes = [root, *root.children(recursive=True)]
    except psutil.NoSuchProcess:
        return 0, 0.0
    rss, cpu = 0, 0.0
    for process in processes:
        try:
            with process.oneshot():
                rss += process.memory_info().rss
                times = process.cpu_times()
        except psutil.NoSuchProcess:
            continue
        cpu += times.user + times.system
    return rss, cpu


def listening_pid(url: str) -> int | None:
    """The id of the process listening on ``url`` 's port on this machine (None if none is
    seen: another user's process, or nothing listening).

    Example:
        >>> listening_pid("http://127.0.0.1:1/v1") is None
        True
    """
    port = urlsplit(url).port
    for connection in psutil.net_connections("tcp"):
        if (
            connection.laddr
            and connection.laddr.port == port
            and connection.status == psutil.CONN_LISTEN
            and connection.pid
        ):
            return int(connection.pid)
    return None


class _Watch:
    """Samples the watched process trees every ``interval`` seconds on a daemon thread: the
    peak RSS, and the CPU seconds between entering and leaving (of the processes seen)."""

    def __init__(self, pids: dict[str, int], interval: float = 0.25) -> None:
        self.pids = pids
        self.interval = interval
        first = {name: tree_usage(pid) for name, pid in pids.items()}
        self.peak = {name: rss for name, (rss, _) in first.items()}
        self._cpu_start = {name: cpu for name, (_, cpu) in first.items()}
        self.cpu = dict.fromkeys(pids, 0.0)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _sample(self) -> None:
        for name, pid in self.pids.items():
            rss, cpu = tree_usage(pid)
            self.peak[name] = max(self.peak[name], rss)
            self.cpu[name] = max(self.cpu[name], cpu - self._cpu_start[name])

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            self._sample()

    def __enter__(self) -> _Watch:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self._sample()


def run_load(
    url: str,
    plan: list[list[LoadQuestion]],
    *,
    watch: dict[str, int] | None = None,
    graph_id: str = "visionthink",
    timeout: float = 600.0,
    on_outcome: Callable[[Outcome], None] | None = None,
) -> LoadRun:
    """Ask every question of ``plan``, one client thread per entry, all threads at once.

    Each thread has its own ``langgraph_sdk`` client and asks its questions one after another,
    each on a new server thread (``threads.create`` + ``runs.wait``). ``watch`` names process
    ids whose process trees are watched (peak RSS, CPU seconds); ``on_outcome`` is called
    (from the client threads) as each question ends, e.g. to advance a progress bar.
    """
    from langgraph_sdk import get_sync_client

    (assistant,) = get_sync_client(url=url, timeout=timeout).assistants.search(graph_id=graph_id)
    start = threading.Barrier(len(plan))
    outcomes: list[list[Outcome]] = [[] for _ in plan]

    def client(index: int) -> None:
        sdk = get_sync_client(url=url, timeout=timeout)
        start.wait()
        for question in plan[index]:
            began = time.perf_counter()
            try:
                created = sdk.threads.create()
                run_input: Any = {"messages": [{"role": "user", "content": question.content}]}
                result = sdk.runs.wait(
                    created["thread_id"], assistant["assistant_id"], input=run_input
                )
                outcome = Outcome(question, 0.0, result=result if isinstance(result, dict) else {})
            except Exception as exc:  # the SDK raises a bare Exception
                outcome = Outcome(question, 0.0, error=str(exc))
            outcome.seconds = time.perf_counter() - began
            outcomes[index].append(outcome)
            if on_outcome is not None:
                on_outcome(outcome)

    workers = [threading.Thread(target=client, args=(i,)) for i in range(len(plan))]
    with _Watch(watch or {}) as usage:
        began = time.perf_counter()
        for worker in workers:
            worker.start()
        for worker in workers:
            worker.join()
        seconds = time.perf_counter() - began
    flat = [o for thread in outcomes for o in thread]
    return LoadRun(flat, seconds, dict(usage.peak), dict(usage.cpu))


def load_problems(run: LoadRun) -> list[str]:
    """One line per question that went wrong (empty when none did).

    A good question must come back answered with its own image's answer, resize and token
    account and its own question as the run's first message; a bad input must fail with one
    line holding its refusal phrase. A question that got nothing is lost.
    """
    problems = []
    for outcome in run.outcomes:
        question = outcome.question
        name = f"thread {question.thread} {question.kind} {question.sample_id or ''}".strip()
        if question.kind != "good":
            error = outcome.error or ""
            if outcome.error is None:
                problems.append(f"{name}: answered, not refused")
            elif "\n" in error.strip() or (question.refusal or "") not in error:
                problems.append(f"{name}: refusal without {question.refusal!r}: {error[:200]}")
            continue
        problems.extend(f"{name}: {why}" for why in _good_problems(question, outcome))
    return problems


def _good_problems(question: LoadQuestion, outcome: Outcome) -> list[str]:
    result = outcome.result
    if result is None:
        return [f"lost: {(outcome.error or '')[:200]}"]
    why = []
    answer = result.get("answer")
    if result.get("status") != "answered" or answer is None:
        why.append(f"status {result.get('status')!r}, answer {answer!r}")
    elif normalize_answer(str(answer)) != normalize_answer(question.expected_answer or ""):
        why.append(f"answer {answer!r}, its image's is {question.expected_answer!r}")
    if result.get("resized") != question.expected_resized:
        why.append(f"resized {result.get('resized')}, expected {question.expected_resized}")
    tokens = result.get("visual_tokens") or {}
    expected = question.expected_tokens or {}
    if any(tokens.get(key) != value for key, value in expected.items()):
        why.append(f"token account {tokens}, its image's is {expected}")
    if not (result.get("usage") or {}).get("input_tokens"):
        why.append("no token usage")
    first = (result.get("messages") or [{}])[0].get("content")
    if _asked(first) != _asked(question.content):
        why.append("another question came back as the first message")
    return why


def _asked(content: Any) -> tuple[str | None, str | None]:
    """The question text and the image's base64 of a user message's content."""
    blocks = content if isinstance(content, list) else []
    text = next((b.get("text") for b in blocks if b.get("type") == "text"), None)
    image = next((b.get("base64") for b in blocks if b.get("type") == "image"), None)
    return text, image
