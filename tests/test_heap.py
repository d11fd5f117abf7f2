"""return_freed_memory gives freed heap memory back: the RSS falls by what was freed."""

from __future__ import annotations

import subprocess
import sys

import pytest

from visionthink_agent.heap import return_freed_memory, return_freed_memory_every

HELD_FREED = """
import sys, time
import psutil
from visionthink_agent.heap import return_freed_memory, return_freed_memory_every

process = psutil.Process()
chunks = [bytearray(100_000) for _ in range(2_000)]  # 200 MB below the mmap threshold: heap
pin = bytearray(100_000)  # keeps the heap's top in use, so free() alone returns nothing
del chunks
held = process.memory_info().rss
if sys.argv[1] == "now":
    returned = return_freed_memory()
else:  # a thread returns it within its period
    return_freed_memory_every(0.05)
    time.sleep(0.5)
    returned = True
print(returned, (held - process.memory_info().rss) // 2**20)
"""


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's malloc_trim")
@pytest.mark.parametrize("when", ["now", "every"])
def test_freed_heap_memory_goes_back_to_the_os(when: str) -> None:
    output = subprocess.run(
        [sys.executable, "-c", HELD_FREED, when], capture_output=True, text=True, check=True
    ).stdout.split()
    assert output[0] == "True"
    assert int(output[1]) > 150  # MiB of the 190 freed


def test_nothing_to_return_is_cheap_and_safe() -> None:
    return_freed_memory()
    assert return_freed_memory() in (True, False)
    with pytest.raises(ValueError, match="seconds must be > 0"):
        return_freed_memory_every(0)
