"""veRL's FSDP2 training engine, registered for the ``cpu`` device.

veRL registers its FSDP engines for cuda and npu only; the engine itself is torch FSDP2 and runs
on a gloo CPU mesh unchanged, with one exception: a forward-only engine (the KL reference) is
always wrapped with FSDP2's ``CPUOffloadPolicy(pin_memory=True)``, and pinning host memory needs
CUDA. On a CPU the parameters already live in host memory, so :class:`CPUFSDPEngineWithLMHead`
wraps a forward-only engine the way it wraps a trainable one (no offload policy); nothing else
changes (no optimizer is built, forward passes run under ``no_grad``).

Example:
    >>> CPUFSDPEngineWithLMHead.__mro__[1].__name__
    'FSDPEngineWithLMHead'
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from verl.workers.engine.fsdp.transformer_impl import FSDPEngineWithLMHead

__all__ = ["CPUFSDPEngineWithLMHead"]


class CPUFSDPEngineWithLMHead(FSDPEngineWithLMHead):
    """:class:`FSDPEngineWithLMHead` without host-memory pinning (see the module docstring)."""

    def _build_fsdp_module(self, module: Any) -> Any:
        config = self.engine_config
        if not config.forward_only:
            return super()._build_fsdp_module(module)
        self.engine_config = replace(config, forward_only=False)
        try:
            return super()._build_fsdp_module(module)
        finally:
            self.engine_config = config
