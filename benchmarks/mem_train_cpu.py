"""Peak memory of the CPU recipe (one GRPO step), before and after its memory cuts, in one run.

Runs ``python training/main_ppo.py --config-name visionthink_cpu`` for one step on the tiny model
(two synthetic prompts, two rollouts each) at world size 1 and 2, once with the settings the
recipe had before its cuts (``BEFORE``) and once as it is, and samples the summed PSS (shared
pages counted once) and RSS (shared pages in every process) of the run's whole process tree, Ray
included, split by process title. Prints a table, writes JSON (``--out``, after each run) with
the command::

    flock /tmp/verl.lock nice -n 10 .venv/bin/python benchmarks/mem_train_cpu.py

Example:
    >>> sorted(BEFORE)
    ['transfer_queue.backend.SimpleStorage.num_data_storage_units=2']
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import tempfile
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from benchmarks.bench_train_cpu import run_sampling_memory  # noqa: E402

BEFORE = ("transfer_queue.backend.SimpleStorage.num_data_storage_units=2",)
"""The overrides that restore the settings the recipe had before its memory cuts."""

PROMPTS, ROLLOUTS = 2, 2


def run_once(
    model: Path, data: Path, world: int, extra: tuple[str, ...], log_file: Path
) -> dict[str, Any]:
    """One single-step training run (its output to ``log_file``); its peak summed PSS / RSS
    (GiB) and PSS by process."""
    with tempfile.TemporaryDirectory(prefix="memtrain") as tmp:
        command = [
            sys.executable,
            str(REPO / "training" / "main_ppo.py"),
            "--config-name",
            "visionthink_cpu",
            f"actor_rollout_ref.model.path={model}",
            f"data.train_files={data}",
            f"data.val_files={data}",
            f"data.train_batch_size={PROMPTS}",
            f"actor_rollout_ref.actor.ppo_mini_batch_size={PROMPTS}",
            f"actor_rollout_ref.rollout.n={ROLLOUTS}",
            # 2 rows a rank at world size 2: micro-batches must divide that
            "actor_rollout_ref.actor.ppo_micro_batch_size_per_gpu=2",
            "actor_rollout_ref.rollout.log_prob_micro_batch_size_per_gpu=2",
            "actor_rollout_ref.ref.log_prob_micro_batch_size_per_gpu=2",
            "data.max_response_length=256",
            "trainer.total_training_steps=1",
            "trainer.save_freq=-1",
            f"trainer.n_gpus_per_node={world}",
            f"ray_kwargs.ray_init.num_gpus={world}",
            f"hydra.run.dir={tmp}/hydra",
            f"+ray_kwargs.ray_init._temp_dir={tmp}/ray",
            *extra,
        ]
        returncode, log, memory, wall = run_sampling_memory(command, cwd=tmp)
    log_file.write_text(log, encoding="utf-8")
    if returncode != 0:
        raise RuntimeError(f"training failed (world {world}, {extra}):\n{log[-3000:]}")
    return {
        "world": world,
        "overrides": list(extra),
        "wall_s": round(wall, 1),
        "peak_pss_gib": round(memory.peak / 2**30, 3),
        "peak_rss_gib": round(memory.peak_rss / 2**30, 3),
        "pss_gib_by_process": {
            name: round(size / 2**30, 3)
            for name, size in sorted(memory.by_name.items(), key=lambda kv: -kv[1])
        },
    }


def synthetic_data(root: Path) -> Path:
    """Two synthetic prompts as a training parquet file."""
    from training.data import convert
    from visionthink_agent.synthetic import write_synthetic_benchmark

    bench = write_synthetic_benchmark(root / "syn", n=PROMPTS, formats=("jsonl",))
    assert bench.jsonl is not None  # asked for
    convert(bench.jsonl, root / "train.parquet", progress=False)
    return root / "train.parquet"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--worlds", type=int, nargs="+", default=[1, 2])
    parser.add_argument(
        "--settings", nargs="+", choices=("before", "after"), default=["before", "after"]
    )
    parser.add_argument("--out", type=Path, default=REPO / "benchmarks/results/mem_train_cpu.json")
    args = parser.parse_args()
    from visionthink_agent.backends.demo import resolve_model_alias

    console = Console()
    model = Path(resolve_model_alias("tiny"))
    rows: list[dict[str, Any]] = []
    result = {
        "command": "flock /tmp/verl.lock nice -n 10 .venv/bin/python benchmarks/mem_train_cpu.py "
        + " ".join(sys.argv[1:]),
        "machine": f"{platform.node()}: 2 cores shared with other jobs",
        "before_overrides": list(BEFORE),
        "prompts": PROMPTS,
        "rollouts": ROLLOUTS,
        "runs": rows,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="memdata") as tmp:
        data = synthetic_data(Path(tmp))
        for world in args.worlds:
            for label in args.settings:
                extra = BEFORE if label == "before" else ()
                console.print(f"world {world}, {label}: training one step ...")
                log_file = args.out.with_suffix(f".world{world}.{label}.log")
                rows.append({"label": label, **run_once(model, data, world, extra, log_file)})
                args.out.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    table = Table(title="peak memory of one CPU GRPO step, all processes (GiB)")
    for column in ("world", "settings", "PSS", "RSS", "wall s"):
        table.add_column(column)
    for row in rows:
        pss, rss = f"{row['peak_pss_gib']:.2f}", f"{row['peak_rss_gib']:.2f}"
        table.add_row(str(row["world"]), row["label"], pss, rss, str(row["wall_s"]))
    console.print(table)
    summary = ", ".join(f"world {r['world']} {r['label']}: {r['peak_pss_gib']:.2f}" for r in rows)
    console.print(f"peak summed PSS (GiB) {summary}; wrote {args.out}")


if __name__ == "__main__":
    main()
