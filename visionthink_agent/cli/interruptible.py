"""Running a command's event loop so that Ctrl-C ends it within seconds, wherever it lands.

Example:
    >>> async def three() -> int:
    ...     return 3
    >>> run_interruptible(three())
    3
"""

from __future__ import annotations

import asyncio
import signal
import threading
from collections.abc import Coroutine
from typing import Any, TypeVar

__all__ = ["CANCEL_GRACE_SECONDS", "run_interruptible"]

T = TypeVar("T")

CANCEL_GRACE_SECONDS = 3.0
"""How long Ctrl-C waits for the cancelled run to wind down before the command ends anyway."""


def run_interruptible(coroutine: Coroutine[Any, Any, T]) -> T:
    """``asyncio.run``, except that Ctrl-C ends it within seconds, wherever the signal lands.

    Ctrl-C comes in through the loop's own signal handling (``add_signal_handler``): the
    signal writes a wake-up byte to the loop's socket, so the loop sees it even when a worker
    thread took the signal (with Python's default handler the loop slept on until its next
    network event: with a stalled model server, until the server gave up), and no
    ``KeyboardInterrupt`` is raised half-way through one of the loop's callbacks. The run is
    cancelled (its progress display closes; finished records are on disk already) and given
    :data:`CANCEL_GRACE_SECONDS` to wind down (a second Ctrl-C stops the wait); then
    ``KeyboardInterrupt`` goes to the caller (``visionthink eval``'s ``run``). ``asyncio.run``
    would also wait for the model calls still running in worker threads; here they end with the
    process.

    Example:
        >>> async def two() -> int:
        ...     return 2
        >>> run_interruptible(two())
        2
    """
    loop = asyncio.new_event_loop()
    task = loop.create_task(coroutine)
    interrupted = False

    def interrupt() -> None:
        nonlocal interrupted
        if interrupted:
            loop.stop()
            return
        interrupted = True
        task.cancel()
        loop.call_later(CANCEL_GRACE_SECONDS, loop.stop)

    # As asyncio.Runner: only where Ctrl-C would raise KeyboardInterrupt (the main thread,
    # Python's default handler), so a program embedding this keeps its own handling.
    handles_ctrl_c = (
        threading.current_thread() is threading.main_thread()
        and signal.getsignal(signal.SIGINT) is signal.default_int_handler
    )
    if handles_ctrl_c:
        loop.add_signal_handler(signal.SIGINT, interrupt)
    try:
        result = loop.run_until_complete(task)
    except BaseException:
        if not interrupted:
            raise
    finally:
        if handles_ctrl_c:
            loop.remove_signal_handler(signal.SIGINT)  # back to the default handler
    if interrupted:  # the run was cancelled, stopped after the grace, or had just finished
        raise KeyboardInterrupt
    loop.run_until_complete(loop.shutdown_asyncgens())
    loop.run_until_complete(loop.shutdown_default_executor())
    loop.close()
    return result
