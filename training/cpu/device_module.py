"""``torch.cpu`` plus the memory and seeding calls veRL makes on its device module.

veRL calls ``get_torch_device().<fn>()`` (``memory_reserved``, ``max_memory_allocated``,
``empty_cache``, ``manual_seed``, ``mem_get_info``, ...) on whatever module the platform returns.
``torch.cpu`` lacks most of these, so the ``cpu`` platform returns this module instead: the
device functions are ``torch.cpu``'s, the memory statistics are the process's resident memory
(what a CPU run actually spends), the cache calls do nothing (the CPU allocator keeps no cache).

Example:
    >>> memory_allocated() > 0 and max_memory_reserved() >= memory_reserved()
    True
    >>> empty_cache(), current_device(), device_count()
    (None, 'cpu', 1)
    >>> state = get_rng_state(); first = torch.rand(1); set_rng_state(state)
    >>> bool(torch.equal(torch.rand(1), first))
    True
"""

from __future__ import annotations

import resource
from typing import Any

import psutil
import torch
from torch.cpu import (
    Event,
    Stream,
    current_stream,
    is_available,
    is_initialized,
    set_device,
    stream,
    synchronize,
)

__all__ = [
    "Event",
    "Stream",
    "current_device",
    "current_stream",
    "device_count",
    "empty_cache",
    "get_device_name",
    "get_rng_state",
    "is_available",
    "is_initialized",
    "manual_seed",
    "manual_seed_all",
    "max_memory_allocated",
    "max_memory_reserved",
    "mem_get_info",
    "memory_allocated",
    "memory_reserved",
    "reset_peak_memory_stats",
    "set_device",
    "set_rng_state",
    "stream",
    "synchronize",
]


def current_device(*_: Any) -> str:
    """The one CPU "device" (``torch.cpu.current_device`` returns ``'cpu'`` too)."""
    return "cpu"


def device_count() -> int:
    """One device: the host."""
    return 1


def get_device_name(*_: Any) -> str:
    """A name for logs."""
    return "cpu"


def memory_allocated(*_: Any) -> int:
    """Resident memory of this process, in bytes."""
    return int(psutil.Process().memory_info().rss)


memory_reserved = memory_allocated


def max_memory_allocated(*_: Any) -> int:
    """Peak resident memory of this process, in bytes (``ru_maxrss`` is in KiB on Linux)."""
    return max(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024, memory_allocated())


max_memory_reserved = max_memory_allocated


def mem_get_info(*_: Any) -> tuple[int, int]:
    """``(free, total)`` host memory in bytes, as ``torch.cuda.mem_get_info`` reports a GPU's."""
    memory = psutil.virtual_memory()
    return int(memory.available), int(memory.total)


def empty_cache() -> None:
    """Nothing to release: the CPU allocator keeps no cache."""


def reset_peak_memory_stats(*_: Any) -> None:
    """Peak resident memory cannot be reset; kept for API parity."""


def manual_seed(seed: int) -> None:
    """Seed torch's (CPU) generator."""
    torch.manual_seed(seed)


manual_seed_all = manual_seed


def get_rng_state(*_: Any) -> torch.Tensor:
    """The state of torch's CPU generator (the one device's generator)."""
    return torch.get_rng_state()


def set_rng_state(state: torch.Tensor, *_: Any) -> None:
    """Restore torch's CPU generator; veRL's checkpoint load calls it with the ``"cpu"`` state."""
    torch.set_rng_state(state)
