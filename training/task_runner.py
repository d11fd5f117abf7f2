"""The task runner that registers the VisionThink pieces inside veRL's trainer Ray actor.

veRL builds its trainer inside a Ray actor (``TaskRunnerV1``); registrations made in the driver
process do not reach it. :class:`VisionThinkTaskRunner` subclasses the actor class and, in the
actor, imports the modules whose import registers our pieces (the ``visionthink`` tool parser)
and runs the trainer with :class:`training.trainer.VisionThinkTrainer` in place of
``PPOTrainerSync`` (``trainer.v1.trainer_mode`` stays ``sync``, the literal other veRL code
checks). The agent loop, the tool and the reward function are wired by config paths and need no
registration here.

Example:
    >>> VisionThinkTaskRunner.__ray_actor_class__.__mro__[1].__name__
    'TaskRunnerV1'
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import ray
from omegaconf import DictConfig
from verl.trainer.main_ppo import TaskRunnerV1
from verl.trainer.ppo.v1 import trainer_base

__all__ = ["VisionThinkTaskRunner", "visionthink_trainer_for"]

_SYNC = "sync"


@contextmanager
def visionthink_trainer_for(mode: str) -> Iterator[None]:
    """Within the block, veRL's trainer lookup for ``mode`` returns ``VisionThinkTrainer``.

    Example:
        >>> from verl.trainer.ppo.v1 import get_trainer_cls
        >>> with visionthink_trainer_for("sync"):
        ...     inside = get_trainer_cls("sync").__name__
        >>> inside, get_trainer_cls("sync").__name__
        ('VisionThinkTrainer', 'PPOTrainerSync')
    """
    from training.trainer import VisionThinkTrainer

    registry = trainer_base.TRAINER_REGISTRY
    previous = registry[mode]
    registry[mode] = VisionThinkTrainer
    try:
        yield
    finally:
        registry[mode] = previous


class _VisionThinkTaskRunner(TaskRunnerV1.__ray_actor_class__):  # type: ignore[name-defined]
    """``TaskRunnerV1`` running :class:`~training.trainer.VisionThinkTrainer`."""

    def run(self, config: DictConfig) -> Any:
        import training.agent_loop  # noqa: F401  (registers the `visionthink` tool parser)

        mode = config.trainer.v1.trainer_mode
        if mode != _SYNC:
            raise ValueError(
                f"trainer.v1.trainer_mode={mode!r}: the VisionThink penalty runs in the "
                f"{_SYNC!r} trainer only"
            )
        with visionthink_trainer_for(mode):
            return super().run(config)


VisionThinkTaskRunner = ray.remote(_VisionThinkTaskRunner)
"""The Ray actor class to pass to ``verl.trainer.main_ppo.run_ppo``."""
