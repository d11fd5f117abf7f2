"""CPU GRPO on veRL: seconds per step, and the rollout replica against its floor.

Three measurements in one run, on the same model and the same prompts (the synthetic benchmark's
questions in the VisionThink conversation):

1. **First turns against the batched floor** (:func:`rollout_measurements.measure_first_turns`):
   the replica's tokens/s, all prompts at once as the agent loop sends them, against ONE batched
   ``model.generate`` over the same prompts and lengths (and both one prompt at a time).
2. **Second turns with prefix reuse** (:func:`rollout_measurements.measure_second_turns`): every
   trajectory's second turn reusing its first turn's keys and values, against a full re-prefill.
3. **Seconds per step** of the real entry point, ``python training/main_ppo.py --config-name
   visionthink_cpu``, at a fixed batch (``--prompts`` prompts x ``--n`` rollouts), read off
   veRL's ``step:N`` lines: generation, log-probs, reference, update and weight sync (the first
   step pays one-time warm-up), the rollout server's prefix-cache lines, and the summed peak
   memory of the run's processes.

Run: ``.venv/bin/python benchmarks/bench_train_cpu.py [--model DIR] [--steps 3]
[--before OLD.json]``; writes ``benchmarks/results/bench_train_cpu.json`` (with ``--before``,
an earlier run's results under ``"before"``). Without ``--model`` it uses the tiny random model.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import psutil
import torch
from rich.console import Console
from rich.table import Table

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from benchmarks.rollout_measurements import (  # noqa: E402
    measure_first_turns,
    measure_second_turns,
)
from training.step_log import parse_step_lines  # noqa: E402

RESULTS = REPO / "benchmarks" / "results" / "bench_train_cpu.json"
ROLLOUT_LINE = re.compile(
    r"hf_cpu rollouts: \d+ batches \(rows x seconds: ([^)]*)\); prefix cache: (\d+) turns "
    r"reused (\d+) cached tokens, (\d+) prefilled in full"
)
"""The rollout server's line at each weight update (the end of a step's rollouts)."""
STEP_KEYS = (
    "timing_s/step",
    "timing_s/gen",
    "timing_s/old_log_prob",
    "timing_s/ref",
    "timing_s/update_actor",
    "timing_s/update_weights",
    "response_length/mean",
)


def measure_training(model: Path, prompts: int, n: int, steps: int) -> dict[str, Any]:
    from training.data import convert
    from visionthink_agent.synthetic import write_synthetic_benchmark

    with tempfile.TemporaryDirectory() as tmp:
        bench = write_synthetic_benchmark(Path(tmp) / "syn", n=prompts, formats=("jsonl",))
        assert bench.jsonl is not None  # asked for
        convert(bench.jsonl, Path(tmp) / "train.parquet", progress=False)
        command = [
            sys.executable,
            str(REPO / "training" / "main_ppo.py"),
            "--config-name",
            "visionthink_cpu",
            f"actor_rollout_ref.model.path={model}",
            f"data.train_files={Path(tmp) / 'train.parquet'}",
            f"data.val_files={Path(tmp) / 'train.parquet'}",
            f"data.train_batch_size={prompts}",
            f"actor_rollout_ref.actor.ppo_mini_batch_size={prompts}",
            f"actor_rollout_ref.rollout.n={n}",
            "data.max_response_length=1536",
            f"trainer.total_training_steps={steps}",
            "trainer.save_freq=-1",  # no checkpoint: the last step's time stays a step's
            f"hydra.run.dir={Path(tmp) / 'hydra'}",
        ]
        returncode, log, memory, wall = run_sampling_memory(command, cwd=tmp)
    if returncode != 0:
        raise RuntimeError(f"training failed:\n{log[-3000:]}")
    per_step = parse_step_lines(log)
    rows = {step: {k: per_step[step].get(k, float("nan")) for k in STEP_KEYS} for step in per_step}
    later = [rows[s] for s in sorted(rows)[1:]] or [rows[min(rows)]]
    return {
        "prompts": prompts,
        "n": n,
        "steps": steps,
        "wall_s": wall,
        "per_step": rows,
        "steady_mean": {k: statistics.mean(r[k] for r in later) for k in STEP_KEYS},
        "rollouts_per_step": [
            {
                "batches": [
                    {"rows": int(rows), "seconds": float(seconds)}
                    for rows, seconds in (batch.split("x") for batch in batches.split())
                ],
                "reused_turns": int(hits),
                "reused_tokens": int(tokens),
                "prefilled_in_full": int(misses),
            }
            for batches, hits, tokens, misses in ROLLOUT_LINE.findall(log)
        ],
        "peak_pss_gib": memory.peak / 2**30,
        "peak_rss_gib": memory.peak_rss / 2**30,
        "peak_pss_gib_by_process": {k: v / 2**30 for k, v in memory.by_name.items()},
    }


class PeakTreeMemory(threading.Thread):
    """Samples the summed memory of a process and all its descendants (Ray's too).

    ``peak`` is the highest summed PSS seen (bytes: each shared page, such as torch's libraries
    that every actor maps, counted once, in shares), ``peak_rss`` the highest summed RSS (shared
    pages counted in every process), ``by_name`` the peak PSS sample split by process title (Ray
    names its actors ``ray::<Class>``). Example:
        >>> sampler = PeakTreeMemory(os.getpid(), every_s=0.01)
        >>> sampler.start(); time.sleep(0.05); sampler.stop()
        >>> sampler.peak_rss >= sampler.peak > 0
        True
    """

    def __init__(self, pid: int, every_s: float = 0.5) -> None:
        super().__init__(daemon=True)
        self.pid, self.every_s = pid, every_s
        self.peak = self.peak_rss = 0
        self.by_name: dict[str, int] = {}
        self._done = threading.Event()

    def run(self) -> None:
        while not self._done.is_set():
            sample: dict[str, int] = {}
            rss = 0
            try:
                root = psutil.Process(self.pid)
                processes = [root, *root.children(recursive=True)]
            except psutil.NoSuchProcess:
                return
            for process in processes:
                try:
                    name = _title(process.cmdline())
                    memory = process.memory_full_info()
                except (psutil.NoSuchProcess, psutil.AccessDenied):
                    continue
                sample[name] = sample.get(name, 0) + memory.pss
                rss += memory.rss
            self.peak_rss = max(self.peak_rss, rss)
            if sum(sample.values()) > self.peak:
                self.peak, self.by_name = sum(sample.values()), sample
            self._done.wait(self.every_s)

    def stop(self) -> None:
        self._done.set()
        self.join()


def run_sampling_memory(
    command: list[str], cwd: str | Path
) -> tuple[int, str, PeakTreeMemory, float]:
    """Run ``command`` to its end while :class:`PeakTreeMemory` samples its process tree:
    (exit code, its output with stderr, the sampler, wall seconds).

    Example:
        >>> code, out, memory, wall = run_sampling_memory([sys.executable, "-c", "print(1)"], ".")
        >>> code, out.strip(), wall > 0
        (0, '1', True)
    """
    start = time.perf_counter()
    process = subprocess.Popen(
        command, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    memory = PeakTreeMemory(process.pid)
    memory.start()
    log, _ = process.communicate()
    memory.stop()
    return process.returncode, log, memory, time.perf_counter() - start


def _title(cmdline: list[str]) -> str:
    """A process's short name: Ray's ``ray::Actor`` title, else its program and script."""
    if not cmdline:
        return "?"
    if cmdline[0].startswith("ray::"):
        return cmdline[0].split()[0]
    words = [Path(w).name for w in cmdline[:2] if not w.startswith("-")]
    return " ".join(words)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--model", type=Path, help="checkpoint dir (default: the tiny model)")
    parser.add_argument("--prompts", type=int, default=4)
    parser.add_argument("--n", type=int, default=4)
    parser.add_argument("--steps", type=int, default=3)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--max-new-tokens", type=int, default=64)
    parser.add_argument("--out", type=Path, default=RESULTS)
    parser.add_argument(
        "--before", type=Path, help="an earlier run's JSON, kept under 'before' for comparison"
    )
    parser.add_argument(
        "--rollout-only",
        action="store_true",
        help="measure the replica and the second turn only; keep --out's training section as is",
    )
    args = parser.parse_args()
    if args.model is None:
        from visionthink_agent.backends.qwen.tiny import default_tiny_dir, write_tiny_checkpoint

        args.model = write_tiny_checkpoint(default_tiny_dir())
    console = Console()
    first = measure_first_turns(args.model, args.prompts, args.rounds, args.max_new_tokens)
    second = measure_second_turns(args.model, args.prompts, args.rounds, args.max_new_tokens)
    training = None
    if not args.rollout_only:
        console.print("[bold]training run[/] (real entry point; a few minutes)")
        training = measure_training(args.model, args.prompts, args.n, args.steps)

    table = Table(title="first turns: hf_cpu replica vs model.generate (greedy, same tokens)")
    for column in ("path", "median s / round", "tokens/s"):
        table.add_column(column)
    for name in ("plain", "batched_floor", "replica", "replica_concurrent"):
        table.add_row(name, f"{first['median_s'][name]:.3f}", f"{first['tokens_per_s'][name]:.1f}")
    table.add_row("replica / plain", "", f"{first['replica_over_plain_tokens_per_s']:.3f}")
    table.add_row(
        "concurrent / plain", "", f"{first['concurrent_replica_over_plain_tokens_per_s']:.3f}"
    )
    floor_ratio = first["concurrent_replica_over_batched_floor_tokens_per_s"]
    table.add_row("concurrent / batched floor", "", f"{floor_ratio:.3f}")
    console.print(table)
    reuse_ratio = second["reuse_over_full_prefill_s"]
    console.print(
        f"second turns ({second['second_turn_prompt_tokens_mean']:.0f} prompt tokens, "
        f"{second['cached_tokens_mean']:.0f} of them cached): prefix reuse "
        f"{second['median_s']['second_turn_reuse']:.3f} s, full re-prefill "
        f"{second['median_s']['second_turn_full_prefill']:.3f} s (ratio {reuse_ratio:.2f})"
    )
    result: dict[str, Any] = {
        "command": " ".join(["python", *sys.argv]),
        "model": str(args.model),
        "machine": {"cpus": os.cpu_count(), "platform": platform.platform()},
        "torch_threads": torch.get_num_threads(),
        "first_turns": first,
        "second_turns": second,
    }
    if args.before is not None:
        result["before"] = json.loads(args.before.read_text(encoding="utf-8"))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    if training is None:
        earlier = json.loads(args.out.read_text()) if args.out.is_file() else {}
        result["training"] = earlier.get("training")
        result["training_note"] = "not re-measured by this run (--rollout-only)"
        args.out.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
        console.print(
            f"concurrent replica / batched floor tokens/s {floor_ratio:.3f}; second turn reuse "
            f"/ re-prefill {reuse_ratio:.2f}; wrote {args.out}"
        )
        return
    steps = Table(title=f"GRPO step on the CPU ({args.prompts} prompts x n={args.n})")
    steps.add_column("step")
    for key in STEP_KEYS:
        steps.add_column(key.split("/", 1)[1])
    for step, row in sorted(training["per_step"].items()):
        steps.add_row(str(step), *(f"{row[k]:.2f}" for k in STEP_KEYS))
    console.print(steps)
    for step, rollouts in enumerate(training["rollouts_per_step"], start=1):
        batches = " ".join(f"{b['rows']}x{b['seconds']:.1f}s" for b in rollouts["batches"])
        console.print(
            f"step {step} rollouts: batches (rows x seconds) {batches}; "
            f"{rollouts['reused_turns']} second turns reused {rollouts['reused_tokens']} "
            f"cached tokens, {rollouts['prefilled_in_full']} turns prefilled in full"
        )
    memory = Table(title="peak memory of the training run's processes (summed PSS), GiB")
    memory.add_column("process")
    memory.add_column("GiB")
    for name, gib in sorted(training["peak_pss_gib_by_process"].items(), key=lambda kv: -kv[1]):
        memory.add_row(name, f"{gib:.2f}")
    memory.add_row("total PSS", f"{training['peak_pss_gib']:.2f}")
    memory.add_row(
        "total RSS (shared pages counted per process)", f"{training['peak_rss_gib']:.2f}"
    )
    console.print(memory)
    result["training"] = training
    args.out.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    console.print(
        f"concurrent replica / batched floor tokens/s {floor_ratio:.3f}; second turn reuse "
        f"/ re-prefill {reuse_ratio:.2f}; steady step "
        f"{training['steady_mean']['timing_s/step']:.1f} s; peak PSS "
        f"{training['peak_pss_gib']:.1f} GiB (RSS {training['peak_rss_gib']:.1f}); wrote {args.out}"
    )


if __name__ == "__main__":
    main()
