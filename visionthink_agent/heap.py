"""Give the process' freed heap memory back to the operating system (glibc's ``malloc_trim``).

glibc keeps memory a program has freed for its next allocations instead of returning it, in
every malloc arena a thread has used. A long-lived server therefore keeps the peaks of its past
requests resident. Measured on ``langgraph dev`` serving the demo model in process (distinct
2000x2000 images, one question each; shared 2-core machine): the server held 1.57-1.72 GB after
the first answer and kept creeping (+147 MiB over 15 more images; ``MALLOC_ARENA_MAX=2`` the
same, and deleting each thread after its run too: not the checkpointer, the request bodies were
15 KiB); returning the freed memory every 0.2 s held it at 0.90-0.97 GB, flat from the fourth
image on (+19 MiB over the next 12). The served graph (``graphs/visionthink_graph.py``) runs
:func:`return_freed_memory_every` for that reason. One call costs ~0.3 ms when there is nothing
to return, ~0.1 s when hundreds of MiB go back.

Example:
    >>> return_freed_memory() in (True, False)
    True
"""

from __future__ import annotations

import ctypes
import ctypes.util
import functools
import threading
import time
from collections.abc import Callable

__all__ = ["return_freed_memory", "return_freed_memory_every"]


@functools.cache
def _malloc_trim() -> Callable[[int], int] | None:
    """glibc's ``malloc_trim``, or None on a C library without it (musl, macOS, Windows)."""
    name = ctypes.util.find_library("c")
    try:
        trim: Callable[[int], int] = ctypes.CDLL(name).malloc_trim
    except (OSError, AttributeError, TypeError):
        return None
    return trim


def return_freed_memory() -> bool:
    """Return the heap memory this process has freed to the OS, where the C library can.

    Returns:
        True when memory was returned, False when there was none to return or the C library
        cannot (not glibc).

    Example:
        >>> isinstance(return_freed_memory(), bool)
        True
    """
    trim = _malloc_trim()
    return bool(trim(0)) if trim is not None else False


def return_freed_memory_every(seconds: float) -> threading.Thread:
    """Start a daemon thread that calls :func:`return_freed_memory` every ``seconds``.

    For a long-lived server: the memory a finished request freed goes back to the OS within
    ``seconds`` wherever it was freed (the model's generation thread, an image decode in a worker
    thread, a garbage collection later on).

    Example:
        >>> thread = return_freed_memory_every(60.0)
        >>> thread.daemon, thread.name
        (True, 'return-freed-memory')
    """
    if seconds <= 0:
        raise ValueError(f"seconds must be > 0, got {seconds}")

    def loop() -> None:
        while True:
            time.sleep(seconds)
            return_freed_memory()

    thread = threading.Thread(target=loop, name="return-freed-memory", daemon=True)
    thread.start()
    return thread
