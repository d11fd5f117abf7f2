"""The CPU pieces register through veRL's own extension points, and the veRL behaviour each one
works around is still there. When veRL changes under us, one of these fails and names the piece
to revisit (or delete)."""

from __future__ import annotations

import inspect
import os
import socket

import pytest
import torch

pytestmark = pytest.mark.verl


def test_plugin_registers_platform_rollout_and_engine(monkeypatch: pytest.MonkeyPatch) -> None:
    from verl.plugin.platform.platform_manager import PlatformRegistry
    from verl.workers.engine.base import EngineRegistry
    from verl.workers.rollout.base import get_rollout_class
    from verl.workers.rollout.replica import get_rollout_replica_class

    import training.cpu.plugin
    from training.cpu.engine import CPUFSDPEngineWithLMHead
    from training.cpu.platform import PlatformCPU
    from training.cpu.rollout_replica import HFReplica, HFServerAdapter

    training.cpu.plugin.register()  # idempotent
    assert PlatformRegistry.get("cpu") is PlatformCPU
    assert get_rollout_replica_class("hf_cpu") is HFReplica
    assert get_rollout_class("hf_cpu", "async") is HFServerAdapter
    monkeypatch.setenv("VERL_ENGINE_DEVICE", "cpu")
    monkeypatch.setenv("VERL_ENGINE_VENDOR", "cpu")
    for backend in ("fsdp", "fsdp2"):
        assert EngineRegistry.get_engine_cls("language_model", backend) is CPUFSDPEngineWithLMHead


def test_cpu_platform_is_never_auto_detected() -> None:
    from training.cpu.platform import PlatformCPU

    platform = PlatformCPU()
    assert not platform.is_platform_available(use_smi_check=True)
    assert platform.ray_resource_options(1) == {"num_gpus": 1}
    module = platform.device_module
    assert module.memory_reserved() > 0
    assert module.max_memory_allocated() > 0
    free, total = module.mem_get_info()
    assert 0 < free <= total


def test_device_id_is_a_torch_device_on_the_cpu() -> None:
    """veRL moves modules with ``.to(get_device_id())``; an int would mean ``cuda:N``."""
    from training.cpu.platform import PlatformCPU

    device = PlatformCPU().current_device()
    assert torch.nn.Linear(1, 1).to(device=device).weight.device.type == "cpu"
    assert torch.device(device).type == "cpu"


def test_verl_still_names_the_cpu_twice_in_its_backend_string() -> None:
    """Why ``CPUActorRolloutRefWorker`` opens a gloo group first (torch rejects ``cpu`` twice)."""
    from verl.utils import distributed

    source = inspect.getsource(distributed.initialize_global_process_group_ray)
    assert 'f"cpu:gloo,{get_device_name()}:{get_nccl_backend()}"' in source
    assert "if not torch.distributed.is_initialized()" in source


def test_an_open_gloo_group_makes_verl_skip_its_own(monkeypatch: pytest.MonkeyPatch) -> None:
    from verl.utils.distributed import initialize_global_process_group_ray

    from training.cpu.worker import open_cpu_process_group

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    for key, value in {
        "RANK": "0",
        "WORLD_SIZE": "1",
        "MASTER_ADDR": "127.0.0.1",
        "MASTER_PORT": str(port),
    }.items():
        monkeypatch.setenv(key, value)
    assert not torch.distributed.is_initialized()
    try:
        open_cpu_process_group()
        initialize_global_process_group_ray(backend="cpu:gloo,cpu:gloo")  # would raise if called
        assert torch.distributed.get_backend() == "gloo"
    finally:
        torch.distributed.destroy_process_group()


def test_forward_only_fsdp2_engines_still_pin_memory() -> None:
    """Why ``CPUFSDPEngineWithLMHead`` builds the reference like a trainable engine."""
    from verl.workers.engine.fsdp.transformer_impl import FSDPEngineWithLMHead

    source = inspect.getsource(FSDPEngineWithLMHead._build_fsdp_module)
    assert "self.engine_config.forward_only" in source
    assert "CPUOffloadPolicy(pin_memory=True)" in source


def test_resource_check_counts_gpu_units() -> None:
    """Why the CPU config starts Ray with logical ``num_gpus`` and the platform names ``GPU``."""
    from verl.single_controller.ray.base import ResourcePoolManager

    source = inspect.getsource(ResourcePoolManager._check_resource_available)
    assert 'node_info.get("GPU", 0)' in source


def test_trainer_swaps_worker_classes_where_verl_does() -> None:
    """``VisionThinkTrainer._init_resource_pool_mgr`` edits the mapping veRL's builds."""
    from verl.trainer.ppo.v1.trainer_base import PPOTrainer

    source = inspect.getsource(PPOTrainer._init_resource_pool_mgr)
    assert "self.role_worker_mapping[role] = ray.remote(ActorRolloutRefWorker)" in source


def test_rollout_class_table_is_keyed_by_name_and_mode() -> None:
    from verl.workers.rollout import base

    assert ("vllm", "async") in base._ROLLOUT_REGISTRY
    assert "_ROLLOUT_REGISTRY[(rollout_name, mode)]" in inspect.getsource(base.get_rollout_class)


def test_driver_adopts_the_configured_platform(monkeypatch: pytest.MonkeyPatch) -> None:
    from omegaconf import OmegaConf
    from verl.plugin.platform import platform_manager

    from training.main_ppo import adopt_worker_env

    for key in ("VERL_PLATFORM", "VERL_USE_EXTERNAL_MODULES"):
        monkeypatch.delenv(key, raising=False)
    previous = platform_manager._current_platform
    config = OmegaConf.create(
        {
            "ray_kwargs": {
                "ray_init": {
                    "runtime_env": {
                        "env_vars": {
                            "VERL_PLATFORM": "cpu",
                            "VERL_USE_EXTERNAL_MODULES": "training.cpu.plugin",
                            "TOKENIZERS_PARALLELISM": "false",
                        }
                    }
                }
            }
        }
    )
    try:
        adopted = adopt_worker_env(config)
        assert adopted == {
            "VERL_PLATFORM": "cpu",
            "VERL_USE_EXTERNAL_MODULES": "training.cpu.plugin",
        }
        assert platform_manager.get_platform().device_name == "cpu"
        assert os.environ["VERL_PLATFORM"] == "cpu"
    finally:
        platform_manager._current_platform = previous


def test_verl_checkpoint_rng_round_trip_on_the_cpu_platform() -> None:
    """veRL's checkpoint load restores the ``"cpu"`` RNG state through the platform's device
    module too (its save skips the device RNG for ``cpu``, its load finds ``"cpu"`` in every
    state): the device module must carry ``get_rng_state`` / ``set_rng_state``."""
    import random

    import numpy as np
    from verl.plugin.platform import platform_manager
    from verl.utils.checkpoint.checkpoint_manager import BaseCheckpointManager

    from training.cpu.platform import PlatformCPU

    previous = platform_manager._current_platform
    platform_manager._current_platform = PlatformCPU()
    try:
        state = BaseCheckpointManager.get_rng_state()
        assert "cpu" in state  # the key veRL's load looks up on the device module
        drawn = (torch.rand(3), np.random.rand(), random.random())
        BaseCheckpointManager.load_rng_state(state)
        again = (torch.rand(3), np.random.rand(), random.random())
    finally:
        platform_manager._current_platform = previous
    assert torch.equal(drawn[0], again[0])
    assert drawn[1:] == again[1:]
