"""Judge throughput for one GRPO step: 8,192 calls (512 prompts × 16 rollouts), 50 ms a call.

A scripted OpenAI-compatible judge (``tests/judge/judge_server.py --engine fast``: a bare
asyncio protocol with the httptools parser on uvloop, in its own process on loopback) answers
every request after 50 ms. Measured in the same run:

* **LLMJudge** (``visionthink_agent.judge``: asyncio + its lean HTTP/1.1 client) at
  concurrency 64, 256 and 1024;
* **httpx** at concurrency 256: the same asyncio design on ``httpx`` at its best here (one
  one-connection client per slot, ``TCP_NODELAY``), the first eighth of the calls;
* **AsyncOpenAI** at concurrency 256: the same asyncio design through the ``openai`` client
  (its retries off, one pool), which shows what the client library costs; it is so slow that it
  runs the first eighth of the calls only;
* **thread pool**: the authors' design, the synchronous ``openai`` client in a
  ``ThreadPoolExecutor(100)``;
* **aiohttp reference** at concurrency 256: a bare ``aiohttp`` client (C-accelerated HTTP
  parser; not a core dependency), an estimate of what this server and machine allow a leaner
  client to reach.

For each: wall time, calls/s and the ratio to the ideal ``calls × latency / concurrency``.
Every call is a distinct prediction and caching is off, so every call reaches the server.

Run: ``.venv/bin/python benchmarks/bench_judge.py [--quick]``; writes
``benchmarks/results/bench_judge.json`` (``--quick``: 256 calls, a smoke run that writes
``bench_judge.quick.json`` instead; ``--output`` overrides).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path

import httpx
import httpx2
import openai
from rich.console import Console
from rich.table import Table

from visionthink_agent.judge import LLMJudge, judge_messages, parse_score

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results"
SERVER = ROOT / "tests" / "judge" / "judge_server.py"
MODEL = "echo"  # the scripted server compares prediction and ground truth

Triple = tuple[str, str, str]


@dataclass(frozen=True)
class Run:
    """One measured configuration."""

    client: str
    concurrency: int
    calls: int
    wall_s: float
    calls_per_s: float
    ideal_s: float
    ratio_to_ideal: float
    correct: int
    failures: int


def workload(prompts: int, rollouts: int) -> list[Triple]:
    """``prompts × rollouts`` distinct judgements; every third rollout is right.

    Right predictions differ only in trailing spaces (the echo judge ignores them), so no two
    judgements are the same request.
    """
    return [
        (
            f"Question {p}: what is written on sign {p}?",
            f"answer {p}",
            f"answer {p}" + " " * r if r % 3 == 0 else f"answer {p}-{r}",
        )
        for p in range(prompts)
        for r in range(rollouts)
    ]


@contextmanager
def judge_server(latency: float) -> Iterator[str]:
    """Start the scripted judge in its own process; yield its base URL."""
    proc = subprocess.Popen(
        [sys.executable, str(SERVER), "--latency", str(latency), "--uvloop", "--engine", "fast"],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        if not line.startswith("PORT "):
            raise RuntimeError(f"judge server did not start: {line!r}")
        yield f"http://127.0.0.1:{int(line.split()[1])}/v1"
    finally:
        proc.terminate()
        proc.wait(10)


Runner = Callable[[str, int, list[Triple]], list[int]]


def measure(
    client: str, concurrency: int, items: list[Triple], latency: float, run: Runner, url: str
) -> Run:
    """Time ``run(url, concurrency, items)`` (one score per item, -1 for a failure)."""
    start = time.perf_counter()
    scores = run(url, concurrency, items)
    wall = time.perf_counter() - start
    ideal = len(items) * latency / concurrency
    return Run(
        client=client,
        concurrency=concurrency,
        calls=len(items),
        wall_s=round(wall, 3),
        calls_per_s=round(len(items) / wall, 1),
        ideal_s=round(ideal, 3),
        ratio_to_ideal=round(ideal / wall, 3),
        correct=sum(1 for s in scores if s == 1),
        failures=sum(1 for s in scores if s < 0),
    )


def run_llm_judge(url: str, concurrency: int, items: list[Triple]) -> list[int]:
    """Our judge: one LLMJudge, ``score_many`` over the whole step."""
    judge = LLMJudge(url, MODEL, concurrency=concurrency, cache=False, failure_policy="zero")
    results = judge.score_many_sync(items)
    return [-1 if r.status != "ok" else int(r.score or 0) for r in results]


def run_httpx(url: str, concurrency: int, items: list[Triple]) -> list[int]:
    """asyncio + httpx, tuned: a one-connection client per slot (a big httpcore pool scans all
    its connections on every request), ``TCP_NODELAY`` (httpx sends headers and body apart) and
    one shared TLS context."""

    async def main() -> list[int]:
        nodelay = [(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)]
        tls = httpx.create_ssl_context()  # shared: building one costs tens of ms
        clients = [
            httpx.AsyncClient(
                transport=httpx.AsyncHTTPTransport(verify=tls, socket_options=nodelay)
            )
            for _ in range(concurrency)
        ]
        slots: asyncio.Queue[int] = asyncio.Queue()
        for slot in range(concurrency):
            slots.put_nowait(slot)

        async def one(item: Triple) -> int:
            body = {"model": MODEL, "messages": judge_messages(*item), "temperature": 0.0}
            slot = await slots.get()
            try:
                reply = await clients[slot].post(url + "/chat/completions", json=body)
            finally:
                slots.put_nowait(slot)
            score = parse_score(reply.json()["choices"][0]["message"]["content"])
            return -1 if score is None else score

        try:
            return list(await asyncio.gather(*(one(item) for item in items)))
        finally:
            await asyncio.gather(*(client.aclose() for client in clients))

    return asyncio.run(main())


def run_async_openai(url: str, concurrency: int, items: list[Triple]) -> list[int]:
    """The same asyncio design through ``openai.AsyncOpenAI`` (retries off, one client)."""

    async def main() -> list[int]:
        client = openai.AsyncOpenAI(
            base_url=url,
            api_key="unused",
            max_retries=0,
            http_client=openai.DefaultAsyncHttpxClient(
                limits=httpx2.Limits(  # the openai client runs on httpx2
                    max_connections=concurrency, max_keepalive_connections=concurrency
                ),
                timeout=60,
            ),
        )
        slots = asyncio.Semaphore(concurrency)

        async def one(item: Triple) -> int:
            async with slots:
                reply = await client.chat.completions.create(
                    model=MODEL,
                    messages=judge_messages(*item),  # type: ignore[arg-type]
                    temperature=0.0,
                )
            score = parse_score(reply.choices[0].message.content or "")
            return -1 if score is None else score

        try:
            return list(await asyncio.gather(*(one(item) for item in items)))
        finally:
            await client.close()

    return asyncio.run(main())


def run_aiohttp_reference(url: str, concurrency: int, items: list[Triple]) -> list[int]:
    """A bare aiohttp client, one session, a semaphore: the reference for a lean client."""
    import aiohttp  # dev dependency (the loopback judge server runs on it)

    async def main() -> list[int]:
        connector = aiohttp.TCPConnector(limit=concurrency)
        slots = asyncio.Semaphore(concurrency)
        async with aiohttp.ClientSession(connector=connector) as session:

            async def one(item: Triple) -> int:
                body = {"model": MODEL, "messages": judge_messages(*item), "temperature": 0.0}
                async with slots, session.post(url + "/chat/completions", json=body) as reply:
                    data = await reply.json()
                score = parse_score(data["choices"][0]["message"]["content"])
                return -1 if score is None else score

            return list(await asyncio.gather(*(one(item) for item in items)))

    return asyncio.run(main())


def run_thread_pool(url: str, workers: int, items: list[Triple]) -> list[int]:
    """The authors' design: synchronous ``openai`` client calls in a 100-thread pool."""
    client = openai.OpenAI(base_url=url, api_key="unused")

    def one(item: Triple) -> int:
        reply = client.chat.completions.create(
            model=MODEL,
            messages=judge_messages(*item),  # type: ignore[arg-type]
            temperature=0.0,
        )
        score = parse_score(reply.choices[0].message.content or "")
        return -1 if score is None else score

    with ThreadPoolExecutor(workers) as pool:
        scores = list(pool.map(one, items))
    client.close()
    return scores


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="256 calls: a smoke run")
    parser.add_argument("--latency", type=float, default=0.05, help="judge latency in seconds")
    parser.add_argument("--output", type=Path, help="where to write the JSON results")
    args = parser.parse_args()
    prompts, rollouts = (16, 16) if args.quick else (512, 16)
    items = workload(prompts, rollouts)
    output = args.output or RESULTS / (
        "bench_judge.quick.json" if args.quick else "bench_judge.json"
    )
    console = Console()
    console.print(
        f"[bold]bench_judge[/]: {len(items)} judge calls ({prompts} prompts × {rollouts} "
        f"rollouts), judge latency {args.latency * 1000:.0f} ms, {os.cpu_count()} CPU cores"
    )
    plan: list[tuple[str, int, Runner, list[Triple]]] = [
        ("LLMJudge", 64, run_llm_judge, items),
        ("LLMJudge", 256, run_llm_judge, items),
        ("LLMJudge", 1024, run_llm_judge, items),
        ("httpx (tuned)", 256, run_httpx, items[: len(items) // 8]),
        ("AsyncOpenAI (asyncio+openai)", 256, run_async_openai, items[: len(items) // 8]),
        ("thread pool (authors: sync openai)", 100, run_thread_pool, items),
        ("aiohttp reference (not shipped)", 256, run_aiohttp_reference, items),
    ]
    runs: list[Run] = []
    with judge_server(args.latency) as url:
        run_llm_judge(url, 16, items[:64])  # warm up the server and the imports
        for index, (name, concurrency, fn, calls) in enumerate(plan, 1):
            with console.status(f"[{index}/{len(plan)}] {name} at concurrency {concurrency}"):
                result = measure(name, concurrency, calls, args.latency, fn, url)
            runs.append(result)
            console.print(
                f"[{index}/{len(plan)}] {name} c={concurrency}: {result.wall_s:.2f} s, "
                f"{result.calls_per_s:.0f} calls/s, {result.ratio_to_ideal:.0%} of ideal"
            )

    table = Table(title=f"Judge throughput, {args.latency * 1000:.0f} ms a call")
    for column in (
        "client",
        "concurrency",
        "calls",
        "wall s",
        "calls/s",
        "ideal s",
        "of ideal",
        "fails",
    ):
        table.add_column(column, justify="left" if column == "client" else "right")
    for r in runs:
        table.add_row(
            r.client,
            str(r.concurrency),
            str(r.calls),
            f"{r.wall_s:.2f}",
            f"{r.calls_per_s:.0f}",
            f"{r.ideal_s:.2f}",
            f"{r.ratio_to_ideal:.0%}",
            str(r.failures),
        )
    console.print(table)
    ours = next(r for r in runs if r.client == "LLMJudge" and r.concurrency == 256)
    baseline = next(r for r in runs if r.client.startswith("thread pool"))
    speedup = ours.calls_per_s / baseline.calls_per_s
    summary = {
        "calls": len(items),
        "latency_s": args.latency,
        "cpu_count": os.cpu_count(),
        "python": platform.python_version(),
        "httpx": httpx.__version__,
        "openai": openai.__version__,
        "load_average_1m": os.getloadavg()[0],
        "runs": [asdict(r) for r in runs],
        "c256_ratio_to_ideal": ours.ratio_to_ideal,
        "c256_speedup_vs_thread_pool": round(speedup, 2),
        "target_met": ours.ratio_to_ideal >= 0.85 and speedup >= 2.0,
    }
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(json.dumps(summary, indent=2) + "\n")
    console.print(
        f"LLMJudge at concurrency 256: {ours.ratio_to_ideal:.0%} of ideal, {speedup:.1f}× the "
        f"100-thread baseline (target ≥ 85% and ≥ 2×: "
        f"{'met' if summary['target_met'] else 'NOT met'}); wrote {output}"
    )


if __name__ == "__main__":
    main()
