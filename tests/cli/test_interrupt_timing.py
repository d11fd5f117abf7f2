"""Ctrl-C ends the command within a few seconds wherever it lands.

Each case runs in a Python process of its own (a real SIGINT, a real event loop, real threads),
so a command that does not end is a failed assertion here, not a hung test run:

- in ``eval``'s event loop, a Ctrl-C taken by a worker thread (any thread that does not block
  SIGINT may take a process's signal) still wakes the loop, which otherwise sleeps until its
  next network event (with a stalled model server: until the server gives up);
- a run whose clean-up after cancellation is slow (a connection that closes only when the
  stalled server gives up) is waited for a few seconds, not until the clean-up ends;
- a Ctrl-C while the command is still importing its modules (seconds on a busy machine) is the
  one-line message and exit 130, not a traceback.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest

pytestmark = pytest.mark.slow  # each case starts Python and imports the CLI (seconds)

IMPORTS = """
import asyncio, signal, threading, time
from visionthink_agent.cli.interruptible import run_interruptible
"""
RUN_MAIN = """
started = time.monotonic()
try:
    run_interruptible(main())
except KeyboardInterrupt:
    print(f"KeyboardInterrupt after {time.monotonic() - started:.1f}s")
"""


def _python(code: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        timeout=60,
    )


def _seconds(stdout: str) -> float:
    assert stdout.startswith("KeyboardInterrupt after "), stdout
    return float(stdout.split()[-1].rstrip("s"))


def test_ctrl_c_taken_by_a_worker_thread_wakes_the_event_loop() -> None:
    code = """
    ready = threading.Event()
    worker = threading.Thread(target=lambda: (ready.set(), time.sleep(30)), daemon=True)
    worker.start()
    ready.wait()

    async def main() -> None:  # waits on the model; no timer would wake the loop
        loop = asyncio.get_running_loop()
        loop.call_later(0.3, signal.pthread_kill, worker.ident, signal.SIGINT)
        await loop.create_future()
    """
    result = _python(IMPORTS + textwrap.dedent(code) + RUN_MAIN)
    assert result.returncode == 0, result.stderr
    assert _seconds(result.stdout) < 5


def test_a_slow_clean_up_after_ctrl_c_is_not_waited_for() -> None:
    code = """
    async def main() -> None:
        loop = asyncio.get_running_loop()
        loop.call_later(0.3, signal.raise_signal, signal.SIGINT)
        try:
            await loop.create_future()  # the model call in flight
        finally:
            await asyncio.sleep(30)  # its connection closes only when the server gives up
    """
    result = _python(IMPORTS + textwrap.dedent(code) + RUN_MAIN)
    assert result.returncode == 0, result.stderr
    assert _seconds(result.stdout) < 8


def test_ctrl_c_while_the_command_imports_its_modules_is_one_line() -> None:
    code = """
    import signal, sys

    class PressCtrlC:  # Ctrl-C while the eval command's module is being imported
        def find_spec(self, name, path=None, target=None):
            if name == "visionthink_agent.cli.eval_command":
                signal.raise_signal(signal.SIGINT)
            return None

    sys.meta_path.insert(0, PressCtrlC())
    from visionthink_agent.cli import main
    sys.argv = ["visionthink", "eval", "synthetic"]
    sys.exit(main())
    """
    result = _python(textwrap.dedent(code))
    assert result.returncode == 130, result.stderr
    assert result.stderr == "interrupted: nothing was run\n"
