"""A CPU training run killed with SIGKILL mid-step resumes from its checkpoint, at world size 2.

One pair of real ``python training/main_ppo.py --config-name visionthink_cpu`` runs on the tiny
model and four prompts, two steps of two prompts, on two logical devices
(``trainer.n_gpus_per_node=2``, ``ray_kwargs.ray_init.num_gpus=2``: two FSDP ranks over gloo, two
``hf_cpu`` rollout servers), with validation after every step (veRL's
metrics and ours per category). The first run checkpoints step 1 (per rank) and is killed with
SIGKILL (its whole process tree, Ray included) during step 2's rollouts; the second run, same
command and folder, resumes: it runs step 2 only, on the two prompts step 1 did not see (the
data-loader position came back; a fresh loader would replay step 1's prompts), after veRL
restored the model, the optimiser and the RNG states (``load_rng_state``, which needed the CPU
device module's ``set_rng_state``), and its metrics continue at step 2. Each run starts its own
Ray cluster in its own temporary folder. No TransferQueue thread warning is printed.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import psutil
import pytest

from tests.training.conftest import FOUR_ANSWERS
from training.main_ppo import CONFIG_DIR
from training.step_log import parse_step_lines

pytestmark = [pytest.mark.slow, pytest.mark.verl, pytest.mark.timeout(3000)]

STEPS, WORLD, PROMPTS, ROLLOUTS = 2, 2, 2, 2
RUN_LIMIT_S = 1200  # a run starts in ~1 min on a quiet 2-core machine, ~8 on a loaded one
CONTINUED = (
    "training/global_step",
    "actor/pg_loss",
    "visionthink/resize_ratio",
    "visionthink/accuracy_reward",
    "timing_s/save_checkpoint",
)


def _overrides(model: Path, data: Path, out: Path) -> list[str]:
    return [
        f"actor_rollout_ref.model.path={model}",
        f"data.train_files={data}",
        f"data.val_files={data}",
        f"data.val_max_samples={PROMPTS}",  # one validation batch
        f"data.train_batch_size={PROMPTS}",
        f"actor_rollout_ref.actor.ppo_mini_batch_size={PROMPTS}",
        f"actor_rollout_ref.rollout.n={ROLLOUTS}",
        # each rank holds PROMPTS * ROLLOUTS / WORLD = 2 rows: micro-batches must divide that
        "actor_rollout_ref.actor.ppo_micro_batch_size_per_gpu=2",
        "actor_rollout_ref.rollout.log_prob_micro_batch_size_per_gpu=2",
        "actor_rollout_ref.ref.log_prob_micro_batch_size_per_gpu=2",
        "data.max_response_length=256",
        f"trainer.total_training_steps={STEPS}",
        "trainer.save_freq=1",
        f"trainer.default_local_dir={out / 'checkpoints'}",
        f"trainer.rollout_data_dir={out / 'rollouts'}",
        "trainer.val_before_train=false",  # validation after each step is enough
        "trainer.test_freq=1",
        f"trainer.n_gpus_per_node={WORLD}",
        f"ray_kwargs.ray_init.num_gpus={WORLD}",
        f"hydra.run.dir={out / 'hydra'}",
    ]


def _kill_tree(pid: int, ray_dir: str) -> None:
    """SIGKILL the run's process and its descendants, then any process of its Ray folder."""
    try:
        root = psutil.Process(pid)
        processes = [root, *root.children(recursive=True)]
    except psutil.NoSuchProcess:
        processes = []
    for process in psutil.process_iter(["cmdline"]):
        if any(ray_dir in part for part in process.info["cmdline"] or ()):
            processes.append(process)
    for process in processes:
        try:
            process.send_signal(signal.SIGKILL)
        except psutil.NoSuchProcess:
            continue
    psutil.wait_procs(processes, timeout=30)


def _train(args: list[str], out: Path, name: str, *, kill_during_step: int | None = None) -> str:
    """Run ``main_ppo.py`` to its end, or SIGKILL it once step ``kill_during_step`` is under way
    (its previous step's line is printed after that step's checkpoint); returns the log."""
    ray_dir = tempfile.mkdtemp(prefix="vtray", dir="/tmp")  # short: Ray's socket paths
    command = [
        sys.executable,
        str(CONFIG_DIR.parent / "main_ppo.py"),
        "--config-name",
        "visionthink_cpu",
        *args,
        f"+ray_kwargs.ray_init._temp_dir={ray_dir}",
    ]
    env = {key: value for key, value in os.environ.items() if key != "RAY_ADDRESS"}
    env.setdefault("RAY_raylet_start_wait_time_s", "300")  # a busy 2-core machine starts slowly
    process = subprocess.Popen(
        command, cwd=out, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env
    )
    watchdog = threading.Timer(RUN_LIMIT_S, _kill_tree, (process.pid, ray_dir))
    watchdog.start()
    lines: list[str] = []
    killed = False
    try:
        assert process.stdout is not None
        for line in process.stdout:
            lines.append(line)
            before = kill_during_step and parse_step_lines(line).get(kill_during_step - 1)
            if before and "actor/pg_loss" in before:
                # The line comes after the previous step's checkpoint and the next step starts
                # at once (a step takes seconds even on a quiet machine): kill it now, once the
                # previous step's rollouts are dumped (a thread writes them as the line prints).
                dump = out / "rollouts" / f"{kill_during_step - 1}.jsonl"
                for _ in range(100):
                    if dump.is_file() and dump.read_text().count("\n") >= PROMPTS * ROLLOUTS:
                        break
                    time.sleep(0.02)
                _kill_tree(process.pid, ray_dir)
                killed = True
                break
        process.wait(timeout=60)
    finally:
        watchdog.cancel()
        _kill_tree(process.pid, ray_dir)
        shutil.rmtree(ray_dir, ignore_errors=True)
    log = "".join(lines)
    (out / f"{name}.log").write_text(log, encoding="utf-8")
    if killed != (kill_during_step is not None) or (not killed and process.returncode != 0):
        raise RuntimeError(f"{name} ended (exit {process.returncode}) unexpectedly:\n{log[-4000:]}")
    return log


def _training_steps(log: str) -> dict[int, dict[str, float]]:
    """The training steps' metric lines (validation before training logs a line of its own)."""
    return {step: row for step, row in parse_step_lines(log).items() if "actor/pg_loss" in row}


@pytest.fixture(scope="module")
def crashed_and_resumed(
    tmp_path_factory: pytest.TempPathFactory, tiny_checkpoint: Path, four_prompts: Path
) -> dict[str, Any]:
    out = tmp_path_factory.mktemp("resume_cpu")
    args = _overrides(tiny_checkpoint, four_prompts, out)
    killed = _train(args, out, "killed", kill_during_step=2)
    tracker = (out / "checkpoints" / "latest_checkpointed_iteration.txt").read_text()
    after_kill = sorted(p.name for p in (out / "checkpoints").iterdir())
    resumed = _train(args, out, "resumed")
    return {
        "out": out,
        "killed": killed,
        "resumed": resumed,
        "tracker_after_kill": tracker,
        "after_kill": after_kill,
    }


def test_the_kill_landed_in_step_2_after_step_1s_checkpoint(
    crashed_and_resumed: dict[str, Any],
) -> None:
    assert sorted(_training_steps(crashed_and_resumed["killed"])) == [1]
    assert crashed_and_resumed["tracker_after_kill"] == "1"
    saved = [name for name in crashed_and_resumed["after_kill"] if name.startswith("global_step_")]
    assert saved == ["global_step_1"]


def test_resume_runs_only_the_interrupted_step(crashed_and_resumed: dict[str, Any]) -> None:
    steps = _training_steps(crashed_and_resumed["resumed"])
    assert sorted(steps) == [2]
    assert steps[2]["training/global_step"] == 2.0
    first = _training_steps(crashed_and_resumed["killed"])[1]
    for key in CONTINUED:  # the metrics continue where the killed run left them
        assert key in first, key
        assert key in steps[2], key
    checkpoints = crashed_and_resumed["out"] / "checkpoints"
    assert (checkpoints / "latest_checkpointed_iteration.txt").read_text() == str(STEPS)


def test_the_data_loader_position_came_back(crashed_and_resumed: dict[str, Any]) -> None:
    rollouts = crashed_and_resumed["out"] / "rollouts"
    seen = {}
    for step in (1, 2):
        rows = [json.loads(line) for line in (rollouts / f"{step}.jsonl").read_text().splitlines()]
        seen[step] = {row["gts"] for row in rows}
        assert len(rows) == PROMPTS * ROLLOUTS
    assert len(seen[1]) == len(seen[2]) == PROMPTS
    assert seen[1] | seen[2] == set(FOUR_ANSWERS)  # a fresh loader would replay step 1's two


@pytest.mark.parametrize("step", [1, 2])
def test_every_rank_saved_its_shard(crashed_and_resumed: dict[str, Any], step: int) -> None:
    actor = crashed_and_resumed["out"] / "checkpoints" / f"global_step_{step}" / "actor"
    for rank in range(WORLD):
        for kind in ("model", "optim", "extra_state"):
            assert (actor / f"{kind}_world_size_{WORLD}_rank_{rank}.pt").is_file(), (kind, rank)


def test_validation_runs_and_reaches_the_logger(crashed_and_resumed: dict[str, Any]) -> None:
    killed = parse_step_lines(crashed_and_resumed["killed"])
    resumed = _training_steps(crashed_and_resumed["resumed"])
    for row in (killed[1], resumed[2]):  # after steps 1 and 2
        keys = [key for key in row if key.startswith("val-")]
        assert any(key.startswith("val-core/") and key.endswith("/acc/mean@1") for key in keys)
        assert any(key.endswith("/resized/mean@1") for key in keys), keys
        by_category = [key for key in keys if key.startswith("val-aux/visionthink/by_category/")]
        assert {key.rsplit("/", 1)[1] for key in by_category} == {"resize_ratio", "accuracy"}
        assert 0.0 <= row["val-aux/visionthink/resize_ratio"] <= 1.0


def test_the_rng_states_were_saved_per_rank(crashed_and_resumed: dict[str, Any]) -> None:
    """veRL restores them with ``load_rng_state`` when the resumed run loads step 1 (which
    failed on the CPU before the device module had ``set_rng_state``)."""
    import torch

    actor = crashed_and_resumed["out"] / "checkpoints" / "global_step_1" / "actor"
    states = []
    for rank in range(WORLD):
        extra = torch.load(
            actor / f"extra_state_world_size_{WORLD}_rank_{rank}.pt", weights_only=False
        )
        assert set(extra["rng"]) >= {"cpu", "numpy", "random"}
        states.append(extra["rng"]["cpu"])
    assert all(isinstance(state, torch.Tensor) and state.numel() > 0 for state in states)


def test_no_transfer_queue_thread_warning(crashed_and_resumed: dict[str, Any]) -> None:
    for run in ("killed", "resumed"):
        assert "should not exceed total physical CPU cores" not in crashed_and_resumed[run]
