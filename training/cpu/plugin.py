"""Registers the CPU pieces in veRL's registries; imported through ``VERL_USE_EXTERNAL_MODULES``.

``import verl`` imports the modules named in ``VERL_USE_EXTERNAL_MODULES`` in every process (the
driver, the trainer's Ray actor, the workers, the agent-loop workers), so naming this module
there (the ``visionthink_cpu`` config does, for every Ray process) registers:

* the ``cpu`` platform (:class:`training.cpu.platform.PlatformCPU`), used when
  ``VERL_PLATFORM=cpu``;
* the ``hf_cpu`` rollout: the replica (:class:`training.cpu.rollout_replica.HFReplica`) in
  ``RolloutReplicaRegistry`` and the worker-side adapter in veRL's rollout-class table;
* veRL's FSDP training engine for the ``cpu`` device in ``EngineRegistry``
  (:class:`training.cpu.engine.CPUFSDPEngineWithLMHead`; veRL registers it for cuda and npu).

Registering is idempotent and cheap: nothing heavy is imported until a CPU run asks for it.

Example:
    >>> register()
    >>> from verl.workers.rollout.replica import RolloutReplicaRegistry
    >>> RolloutReplicaRegistry.get("hf_cpu").__name__
    'HFReplica'
"""

from __future__ import annotations

from typing import Any

__all__ = ["register"]

_ADAPTER = "training.cpu.rollout_replica.HFServerAdapter"


def _load_replica() -> type[Any]:
    from training.cpu.rollout_replica import HFReplica

    return HFReplica


def _register_engines() -> None:
    from verl.workers.engine.base import EngineRegistry

    from training.cpu.engine import CPUFSDPEngineWithLMHead

    registered = EngineRegistry._engines.get("language_model", {})
    for backend in ("fsdp", "fsdp2"):
        if "cpu" not in registered.get(backend, {}):
            EngineRegistry.register(model_type="language_model", backend=backend, device="cpu")(
                CPUFSDPEngineWithLMHead
            )


def register() -> None:
    """Register the platform, the rollout and the engines (safe to call more than once)."""
    from verl.plugin.platform.platform_manager import PlatformRegistry
    from verl.workers.rollout import base as rollout_base
    from verl.workers.rollout.replica import RolloutReplicaRegistry

    from training.cpu.platform import PlatformCPU
    from training.names import CPU_PLATFORM_NAME, CPU_ROLLOUT_NAME

    if PlatformRegistry.get(CPU_PLATFORM_NAME) is None:
        PlatformRegistry.register(platform=CPU_PLATFORM_NAME)(PlatformCPU)
    RolloutReplicaRegistry.register(CPU_ROLLOUT_NAME, _load_replica)
    rollout_base._ROLLOUT_REGISTRY[(CPU_ROLLOUT_NAME, "async")] = _ADAPTER
    _register_engines()


register()
