"""Real GRPO steps on the CPU: ``python training/main_ppo.py --config-name visionthink_cpu``.

One run of the real entry point (hydra, Ray, TransferQueue, veRL's sync trainer, the hf_cpu
rollout replica, the VisionThink agent loop and tool, the reward against a loopback judge, the
group penalty, advantages and the FSDP2 actor update with its KL reference) on the tiny model and
four prompts, two steps. The judge calls every answer correct, so the released penalty must hit
exactly the rollouts that called the tool; the actor saved after step 2 must differ from the
model it started from.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.judge.judge_server import serve_in_thread
from tests.training.conftest import gradient_image
from training.main_ppo import CONFIG_DIR
from training.step_log import parse_step_lines

pytestmark = [pytest.mark.slow, pytest.mark.verl]

REPO = CONFIG_DIR.parents[1]


@pytest.fixture(scope="module")
def four_prompts(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from training.data import convert

    root = tmp_path_factory.mktemp("cpu_train_data")
    rows = []
    for i, (question, answer) in enumerate(
        [("What is the total?", "42"), ("Which colour?", "red"), ("Count.", "3"), ("Word?", "oak")]
    ):
        gradient_image().rotate(90 * i).save(root / f"img{i}.png")
        rows.append({"image": f"img{i}.png", "question": question, "answer": answer, "id": str(i)})
    (root / "data.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows), "utf-8")
    convert(root / "data.jsonl", root / "train.parquet", progress=False)
    return root / "train.parquet"


@pytest.fixture(scope="module")
def judge_url() -> Iterator[str]:
    with serve_in_thread() as (url, _state):
        yield url


@pytest.fixture(scope="module")
def training_run(
    tmp_path_factory: pytest.TempPathFactory,
    tiny_checkpoint: Path,
    four_prompts: Path,
    judge_url: str,
) -> dict[str, Any]:
    out = tmp_path_factory.mktemp("cpu_train_run")
    command = [
        sys.executable,
        str(REPO / "training" / "main_ppo.py"),
        "--config-name",
        "visionthink_cpu",
        f"actor_rollout_ref.model.path={tiny_checkpoint}",
        f"data.train_files={four_prompts}",
        f"data.val_files={four_prompts}",
        "data.max_response_length=384",
        "trainer.total_training_steps=2",
        "trainer.save_freq=2",
        f"trainer.default_local_dir={out / 'checkpoints'}",
        "actor_rollout_ref.actor.checkpoint.save_contents=[model,hf_model]",
        f"reward.custom_reward_function.reward_kwargs.judge.base_url={judge_url}",
        "reward.custom_reward_function.reward_kwargs.judge.model=correct",
        "reward.custom_reward_function.reward_kwargs.judge.rules_first=false",
        "reward.custom_reward_function.reward_kwargs.judge.api_key_env=VISIONTHINK_TEST_KEY",
        f"hydra.run.dir={out / 'hydra'}",
    ]
    env = {**os.environ, "VISIONTHINK_TEST_KEY": "test", "RAY_DEDUP_LOGS": "0"}
    done = subprocess.run(
        command, cwd=out, env=env, capture_output=True, text=True, timeout=420, check=False
    )
    log = done.stdout + done.stderr
    (out / "train.log").write_text(log, "utf-8")
    return {"rc": done.returncode, "log": log, "out": out, "steps": parse_step_lines(log)}


def test_two_steps_run_and_exit_zero(training_run: dict[str, Any]) -> None:
    assert training_run["rc"] == 0, training_run["log"][-4000:]
    assert sorted(training_run["steps"]) == [1, 2]


@pytest.mark.parametrize("step", [1, 2])
def test_each_step_logs_the_visionthink_metrics(training_run: dict[str, Any], step: int) -> None:
    metrics = training_run["steps"][step]
    for key in (
        "visionthink/resize_ratio",
        "visionthink/penalty/penalised_fraction",
        "visionthink/accuracy_reward",
        "visionthink/format_reward",
        "visionthink/tool_image_tokens_in_loss",
        "actor/pg_loss",
        "actor/kl_loss",
        "critic/advantages/mean",
    ):
        assert key in metrics, key
    assert metrics["visionthink/accuracy_reward"] == 1.0  # the judge calls everything correct
    assert metrics["visionthink/judge_failed_groups"] == 0.0


@pytest.mark.parametrize("step", [1, 2])
def test_released_penalty_hits_exactly_the_correct_resizes(
    training_run: dict[str, Any], step: int
) -> None:
    metrics = training_run["steps"][step]
    # Every answer is correct: the released rule takes 0.1 from each correct resize answer and
    # from no direct one (the direct share is 1 - resize_ratio >= theta, or there is no resize).
    assert metrics["visionthink/penalty/penalised_fraction"] == pytest.approx(
        metrics["visionthink/resize_ratio"]
    )


def test_tool_turn_tokens_stay_out_of_the_loss(training_run: dict[str, Any]) -> None:
    for metrics in training_run["steps"].values():
        assert metrics["visionthink/tool_image_tokens_in_loss"] == 0.0


def test_actor_weights_changed(training_run: dict[str, Any], tiny_checkpoint: Path) -> None:
    import torch
    from transformers import AutoModelForImageTextToText

    saved = next((training_run["out"] / "checkpoints").glob("global_step_2/actor/huggingface"))
    before = AutoModelForImageTextToText.from_pretrained(tiny_checkpoint).state_dict()
    after = AutoModelForImageTextToText.from_pretrained(saved).state_dict()
    assert before.keys() == after.keys()
    changed = [k for k in before if not torch.equal(before[k].float(), after[k].float())]
    assert len(changed) > len(before) // 2, f"only {len(changed)} of {len(before)} tensors moved"
