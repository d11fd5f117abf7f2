"""The hydra configs compose on top of veRL's ppo_trainer and pass veRL's validate_config."""

from __future__ import annotations

import inspect
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

pytest.importorskip("verl")

from omegaconf import OmegaConf

from tests.training.conftest import compose_config
from training.main_ppo import CONFIG_DIR, resolve_packaged_paths, validate
from training.settings import ConfigError

pytestmark = pytest.mark.verl
REPO = Path(__file__).resolve().parents[2]


def test_efficient_recipe_composes_and_validates():
    config = compose_config()
    validate(config)
    rollout = config.actor_rollout_ref.rollout
    actor = config.actor_rollout_ref.actor
    assert config.algorithm.adv_estimator == "grpo"
    assert (rollout.n, rollout.temperature, rollout.limit_images) == (16, 1.0, 2)
    assert (config.data.train_batch_size, actor.ppo_mini_batch_size) == (512, 32)
    assert (actor.optim.lr, actor.kl_loss_coef, actor.kl_loss_type) == (1e-6, 0.001, "low_var_kl")
    assert (actor.entropy_coeff, actor.clip_ratio, actor.use_kl_loss) == (0.001, 0.2, True)
    turns = rollout.multi_turn
    assert (turns.max_assistant_turns, turns.max_user_turns, turns.format) == (2, 1, "visionthink")
    assert rollout.agent.default_agent_loop == "visionthink_agent"
    assert config.trainer.v1.trainer_mode == "sync"
    assert config.algorithm.filter_groups.enable
    assert config.reward.custom_reward_function.path == "pkg://training.reward"
    assert config.visionthink.penalty.semantics == "released"


def test_single_gpu_variant_composes_and_validates():
    config = compose_config("visionthink_single_gpu")
    validate(config)
    assert (config.trainer.n_gpus_per_node, config.trainer.nnodes) == (1, 1)
    assert config.actor_rollout_ref.rollout.tensor_model_parallel_size == 1


def test_bad_visionthink_block_is_named():
    config = compose_config(overrides=["visionthink.penalty.semantics=both"])
    with pytest.raises(ConfigError, match=r"^visionthink\.penalty\.semantics: "):
        validate(config)


def test_registry_yamls_name_our_classes():
    tools = yaml.safe_load((CONFIG_DIR / "tool_config.yaml").read_text())["tools"]
    assert [t["class_name"] for t in tools] == ["training.resize_tool.ResizeImageTool"]
    loops = yaml.safe_load((CONFIG_DIR / "agent_loop.yaml").read_text())
    assert loops == [
        {"name": "visionthink_agent", "_target_": "training.agent_loop.VisionThinkAgentLoop"}
    ]


def test_packaged_paths_resolve_from_any_directory(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    config = compose_config()
    resolve_packaged_paths(config)
    multi_turn = config.actor_rollout_ref.rollout.multi_turn
    assert multi_turn.tool_config_path == str(CONFIG_DIR / "tool_config.yaml")
    agent = config.actor_rollout_ref.rollout.agent
    assert agent.agent_loop_config_path == str(CONFIG_DIR / "agent_loop.yaml")


@pytest.mark.slow
def test_cfg_job_prints_the_recipe_on_cpu():
    result = subprocess.run(
        [sys.executable, "training/main_ppo.py", "--cfg", "job"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "CUDA_VISIBLE_DEVICES": ""},
        check=True,
    )
    printed = OmegaConf.create(yaml.safe_load(result.stdout))
    assert printed.actor_rollout_ref.rollout.n == 16
    assert printed.visionthink.penalty.theta == 0.2


def test_cpu_config_saves_at_the_end_and_resumes():
    """veRL saves on the last step whenever ``save_freq > 0``: ``save_freq`` follows
    ``total_training_steps``, so the CPU recipe saves once, at the end, unless told more."""
    import inspect

    from verl.trainer.ppo.v1.trainer_base import PPOTrainer

    fit = inspect.getsource(PPOTrainer.fit)
    assert "if self.config.trainer.save_freq > 0 and (" in fit
    assert "is_last_step or self.global_steps % self.config.trainer.save_freq == 0" in fit
    config = compose_config("visionthink_cpu", ["trainer.total_training_steps=10"])
    validate(config)
    assert (config.trainer.save_freq, config.trainer.resume_mode) == (10, "auto")
    every = compose_config("visionthink_cpu", ["trainer.save_freq=3"])
    assert every.trainer.save_freq == 3
    endless = compose_config("visionthink_cpu", ["trainer.total_training_steps=null"])
    with pytest.raises(ConfigError, match=r"^trainer\.save_freq is null .*trainer\.save_freq=N"):
        validate(endless)


def test_cpu_config_keeps_transfer_queue_threads_within_the_cores(caplog):
    """TransferQueue sets torch to ``TQ_NUM_THREADS`` (default 8) for each put / get and warns
    each time that is more than the physical cores; the CPU recipe's Ray processes get 1."""
    import logging

    import psutil
    import transfer_queue.client
    from transfer_queue.utils.common import limit_pytorch_auto_parallel_threads

    assert "TQ_NUM_THREADS" in inspect.getsource(transfer_queue.client)
    env = compose_config("visionthink_cpu").ray_kwargs.ray_init.runtime_env.env_vars
    threads = int(env.TQ_NUM_THREADS)
    assert 1 <= threads <= psutil.cpu_count(logical=False)
    caplog.set_level(logging.WARNING)
    with limit_pytorch_auto_parallel_threads(threads):
        pass
    assert "should not exceed" not in caplog.text
    with limit_pytorch_auto_parallel_threads(psutil.cpu_count(logical=False) + 1):
        pass
    assert "should not exceed" in caplog.text  # the warning this setting avoids


def _readme_scale_out_commands() -> list[list[str]]:
    """The ``python training/main_ppo.py`` lines of the README's scale-out block, as arguments."""
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    block = readme.split("Scale-out: ", 1)[1].split("```bash\n", 1)[1].split("```", 1)[0]
    prefix = "python training/main_ppo.py "
    return [line[len(prefix) :].split() for line in block.splitlines() if line.startswith(prefix)]


def test_readme_scale_out_commands_compose_and_pass_verl_checks():
    commands = _readme_scale_out_commands()
    worlds = []
    for args in commands:
        name = args[1] if args[0] == "--config-name" else "visionthink_efficient"
        config = compose_config(name, args[2:] if args[0] == "--config-name" else args)
        validate(config)  # veRL's checks include the batch sizes' divisibility by the world size
        trainer = config.trainer
        worlds.append((name, trainer.nnodes * trainer.n_gpus_per_node))
        if trainer.device == "cpu":  # the logical devices Ray must offer for the workers
            assert config.ray_kwargs.ray_init.num_gpus == trainer.n_gpus_per_node
    assert worlds == [
        ("visionthink_efficient", 8),
        ("visionthink_efficient", 32),
        ("visionthink_cpu", 2),
    ]
