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
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.judge.judge_server import serve_in_thread
from training.demo.grpo_stage import GRPOSettings, run_grpo_stage

pytestmark = [pytest.mark.slow, pytest.mark.verl]


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
    """Two steps through the demo recipe's GRPO stage (``main_ppo.py`` in a subprocess)."""
    out = tmp_path_factory.mktemp("cpu_train_run")
    settings = GRPOSettings(
        steps=2,
        prompts_per_step=2,
        rollouts=4,
        max_response_length=384,
        save_every=2,
        judge_model="correct",  # the loopback judge calls every answer correct
        judge_base_url=judge_url,
    )
    os.environ.setdefault("VISIONTHINK_TEST_KEY", "test")
    judge = "reward.custom_reward_function.reward_kwargs.judge"
    final = run_grpo_stage(
        tiny_checkpoint,
        four_prompts,
        four_prompts,
        out,
        settings,
        extra_overrides=[f"{judge}.rules_first=false", f"{judge}.api_key_env=VISIONTHINK_TEST_KEY"],
    )
    rows = [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines()]
    return {"out": out, "final": final, "steps": {int(r["step"]): r for r in rows}}


def test_two_steps_run_and_leave_curves_and_a_checkpoint(training_run: dict[str, Any]) -> None:
    assert sorted(training_run["steps"]) == [1, 2]
    assert (training_run["out"] / "learning_curve.png").stat().st_size > 10_000
    from transformers import AutoProcessor

    assert AutoProcessor.from_pretrained(training_run["final"]).image_processor is not None


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

    saved = training_run["final"]
    before = AutoModelForImageTextToText.from_pretrained(tiny_checkpoint).state_dict()
    after = AutoModelForImageTextToText.from_pretrained(saved).state_dict()
    assert before.keys() == after.keys()
    changed = [k for k in before if not torch.equal(before[k].float(), after[k].float())]
    assert len(changed) > len(before) // 2, f"only {len(changed)} of {len(before)} tensors moved"
