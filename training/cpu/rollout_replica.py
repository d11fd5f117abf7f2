"""The veRL side of the ``hf_cpu`` rollout: the replica that starts the server, and the worker's
handle that syncs the actor's weights into it.

* :class:`HFReplica` is the ``RolloutReplica`` veRL's ``LLMServerManager`` builds per replica:
  it starts one named :class:`~training.cpu.rollout_server.HFRolloutServer` actor beside the
  hybrid workers.
* :class:`HFServerAdapter` is the ``BaseRollout`` each hybrid worker holds: after every actor
  update veRL hands it the actor's full weights, which it copies into the server.

Example:
    >>> server_actor_name(1)
    'hf_cpu_server_1_0'
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from typing import Any

import ray
import torch
from verl.workers.config import HFModelConfig, RolloutConfig
from verl.workers.rollout.base import BaseRollout
from verl.workers.rollout.replica import RolloutReplica

from training.cpu.rollout_server import HFRolloutServer
from training.names import CPU_ROLLOUT_NAME as ROLLOUT_NAME

__all__ = ["HFReplica", "HFServerAdapter", "collect_weights", "server_actor_name"]


def server_actor_name(replica_rank: int, node_rank: int = 0) -> str:
    """The Ray actor name of a replica's server (the adapter finds its server by it).

    Example:
        >>> server_actor_name(0)
        'hf_cpu_server_0_0'
    """
    return f"{ROLLOUT_NAME}_server_{replica_rank}_{node_rank}"


class HFReplica(RolloutReplica):
    """One :class:`HFRolloutServer` per replica, beside the hybrid workers (no GPU resource)."""

    async def launch_servers(self) -> None:
        name = server_actor_name(self.replica_rank)
        node_id = ray.get_runtime_context().get_node_id()
        if self.workers:
            node_id = await self.workers[0].__ray_call__.remote(
                lambda worker: ray.get_runtime_context().get_node_id()
            )
        server: Any = (
            ray.remote(HFRolloutServer)
            .options(
                name=name,
                num_cpus=0,
                max_concurrency=self.max_concurrency,
                scheduling_strategy=ray.util.scheduling_strategies.NodeAffinitySchedulingStrategy(
                    node_id=node_id, soft=False
                ),
            )
            .remote(self.config, self.model_config, self.replica_rank)
        )
        await server.set_global_steps.remote(0)  # waits until the model is loaded
        self.servers = [server]
        self._server_handle = server
        self._server_address = f"{ROLLOUT_NAME}://{name}"

    async def sleep(self) -> None:
        """Nothing to offload (see :meth:`HFRolloutServer.sleep`)."""


def _full_cpu_tensor(tensor: torch.Tensor) -> torch.Tensor:
    full = tensor.full_tensor() if hasattr(tensor, "full_tensor") else tensor
    # A copy, never a view: the trainer may reuse the source buffer after the sync.
    return full.detach().to("cpu", copy=True).contiguous()


def collect_weights(weights: Iterable[tuple[str, torch.Tensor]]) -> dict[str, torch.Tensor]:
    """Materialise veRL's ``(name, tensor)`` stream as full, owned CPU tensors.

    Example:
        >>> source = torch.ones(2)
        >>> out = collect_weights([("w", source)])
        >>> out["w"].data_ptr() != source.data_ptr(), out["w"].tolist()
        (True, [1.0, 1.0])
    """
    return {name: _full_cpu_tensor(tensor) for name, tensor in weights}


class HFServerAdapter(BaseRollout):
    """The hybrid worker's handle on its replica's :class:`HFRolloutServer`.

    veRL calls :meth:`update_weights` after each actor update with the actor's full weights;
    rank 0 of each replica sends them to the server, the other ranks only take part in the
    all-gather that produced them.
    """

    def __init__(
        self,
        config: RolloutConfig,
        model_config: HFModelConfig,
        device_mesh: Any,
        replica_rank: int = -1,
    ) -> None:
        super().__init__(config, model_config, device_mesh)
        rank = int(os.environ.get("RANK", "0"))
        world = (
            self.config.tensor_model_parallel_size
            * self.config.data_parallel_size
            * self.config.pipeline_model_parallel_size
        )
        self.replica_rank = rank // world if replica_rank == -1 else replica_rank
        self.is_leader = rank % world == 0
        self._server: Any = None

    def _server_handle(self) -> Any:
        if self._server is None:
            self._server = ray.get_actor(server_actor_name(self.replica_rank))
        return self._server

    async def resume(self, tags: list[str]) -> None:
        """Weights and cache stay resident on the CPU."""

    async def release(self) -> None:
        """Weights and cache stay resident on the CPU."""

    async def update_weights(
        self,
        weights: Any,
        wire_format: str = "named_tensors",
        global_steps: int | None = None,
        **kwargs: Any,
    ) -> None:
        if wire_format != "named_tensors":
            raise ValueError(f"{ROLLOUT_NAME} takes full named tensors, not {wire_format!r}")
        if kwargs.get("peft_config") is not None:
            raise ValueError(f"{ROLLOUT_NAME} takes merged weights (set model.lora.merge=true)")
        state = collect_weights(weights)  # every rank iterates: the gather is collective
        if not self.is_leader:
            return
        server = self._server_handle()
        await server.update_weights.remote(state)
        if global_steps is not None:
            await server.set_global_steps.remote(global_steps)
