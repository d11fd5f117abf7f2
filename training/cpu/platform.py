"""The ``cpu`` platform for veRL: the host as the one training device.

Registered in veRL's ``PlatformRegistry`` under ``cpu`` (by :mod:`training.cpu.plugin`) and
selected with ``VERL_PLATFORM=cpu``; never auto-detected, so installing this package changes
nothing on a GPU machine.

Ray placement: veRL places each training worker on one unit of the platform's Ray resource and
checks that the cluster has enough ``GPU`` (or ``NPU``) units. On a machine without accelerators
the ``visionthink_cpu`` config starts Ray with ``num_gpus`` *logical* units (Ray's resources are
counters; no CUDA is touched), so the platform names ``GPU`` as its Ray resource and veRL's
placement groups and resource check work unchanged. Collectives use gloo.

Example:
    >>> platform = PlatformCPU()
    >>> platform.device_name, platform.communication_backend_name(), platform.is_available()
    ('cpu', 'gloo', True)
    >>> platform.is_platform_available(use_smi_check=True)  # never chosen by auto-detection
    False
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from types import ModuleType
from typing import Any

from verl.plugin.platform.platform_base import PlatformBase

from training.cpu import device_module

__all__ = ["PlatformCPU"]


class PlatformCPU(PlatformBase):
    """veRL platform whose device is the CPU (see the module docstring)."""

    @property
    def device_name(self) -> str:
        return "cpu"

    @property
    def vendor_name(self) -> str:
        return "cpu"

    @property
    def device_module(self) -> ModuleType:
        return device_module

    def is_available(self) -> bool:
        return True

    def is_platform_available(self, use_smi_check: bool = False) -> bool:
        # Auto-detection probes every registered platform; the CPU is chosen only explicitly.
        return False

    def current_device(self) -> str:  # type: ignore[override]
        # veRL uses this id as a torch device (``.to(get_device_id())``, ``device=...``); the
        # integer 0 would mean ``cuda:0``, the string names the CPU.
        return "cpu"

    def device_count(self) -> int:
        return 1

    def set_device(self, device_index: int) -> None:
        """There is one CPU device; nothing to select."""

    def synchronize(self, device_index: int | None = None) -> None:
        """CPU kernels run synchronously."""

    def manual_seed(self, seed: int) -> None:
        device_module.manual_seed(seed)

    def manual_seed_all(self, seed: int) -> None:
        device_module.manual_seed(seed)

    def set_allocator_settings(self, settings: str) -> None:
        """The CPU allocator has no settings veRL tunes (expandable segments are CUDA's)."""

    def empty_cache(self) -> None:
        device_module.empty_cache()

    def get_device_capability(self, device_index: int = 0) -> tuple[int | None, int | None]:
        return None, None

    def communication_backend_name(self) -> str:
        return "gloo"

    def visible_devices_envvar(self) -> str:
        # Ray sets it for the logical GPU units; CUDA is never initialised on this platform.
        return "CUDA_VISIBLE_DEVICES"

    @contextmanager
    def nvtx_range(self, msg: str) -> Iterator[None]:
        yield

    def profiler_start(self) -> None:
        """No device profiler on the CPU (torch.profiler still works)."""

    def profiler_stop(self) -> None:
        """No device profiler on the CPU."""

    def ray_resource_name(self) -> str:
        return "GPU"

    def ray_resource_options(self, num_gpus: float) -> dict[str, Any]:
        return {"num_gpus": num_gpus}

    def ray_noset_envvars(self) -> list[str]:
        return []

    def is_ipc_supported(self) -> bool:
        return False

    def cudart(self) -> Any:
        return None
