"""veRL's hybrid ``ActorRolloutRefWorker``, started on the CPU.

veRL's worker opens its process group as ``cpu:gloo,<device>:<backend>``; with the device being
the CPU that string names the CPU twice and torch rejects it. :class:`CPUActorRolloutRefWorker`
opens the same group first, with gloo for the CPU alone; veRL's own initialisation then finds it
open and goes on unchanged. :class:`training.trainer.VisionThinkTrainer` swaps this class in for
the hybrid role when ``trainer.device`` is ``cpu``, the way veRL's own async trainer swaps in its
``DetachActorWorker``. It also mends veRL's handling of mRoPE ``position_ids`` rows of equal
length in its process (:mod:`training.mrope_position_ids`), which otherwise fails the actor
update.

Example:
    >>> CPUActorRolloutRefWorker.__mro__[1].__name__
    'ActorRolloutRefWorker'
"""

from __future__ import annotations

import os
from datetime import timedelta
from typing import Any

import torch.distributed
from verl.workers.engine_workers import ActorRolloutRefWorker

from training import mrope_position_ids

__all__ = ["CPUActorRolloutRefWorker", "open_cpu_process_group"]


def open_cpu_process_group() -> None:
    """Open the default process group with gloo on the CPU (rank and size from Ray's env).

    Example:
        >>> open_cpu_process_group.__name__
        'open_cpu_process_group'
    """
    if torch.distributed.is_initialized():
        return
    torch.distributed.init_process_group(
        backend="gloo",
        rank=int(os.environ.get("RANK", "0")),
        world_size=int(os.environ.get("WORLD_SIZE", "1")),
        timeout=timedelta(hours=1),
        init_method=os.environ.get("DIST_INIT_METHOD"),
    )


class CPUActorRolloutRefWorker(ActorRolloutRefWorker):
    """``ActorRolloutRefWorker`` whose process group is gloo on the CPU (see the module doc)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        mrope_position_ids.install()
        open_cpu_process_group()
        super().__init__(*args, **kwargs)
