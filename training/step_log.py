"""Read veRL's console metric lines (``step:N - key:value - ...``) back into numbers.

veRL's ``console`` logger prints one line per training step; the CPU benchmark, the
demonstration recipe's learning curves and the CPU training test read the metrics from there.

Example:
    >>> log = "(Runner pid=1) step:2 - resize_ratio:0.25 - num_turns/mean:np.float64(2.5)"
    >>> parse_step_lines(log)
    {2: {'resize_ratio': 0.25, 'num_turns/mean': 2.5}}
"""

from __future__ import annotations

import re

__all__ = ["parse_step_lines"]

_STEP_LINE = re.compile(r"step:(\d+) - (.*)$")
_NUMPY_SCALAR = re.compile(r"^np\.\w+\((.*)\)$")


def parse_step_lines(log: str) -> dict[int, dict[str, float]]:
    """The numeric metrics of every ``step:N`` line in ``log``, by step (text values skipped).

    Example:
        >>> parse_step_lines("step:1 - a:1 - b:text")
        {1: {'a': 1.0}}
    """
    steps: dict[int, dict[str, float]] = {}
    for line in log.splitlines():
        match = _STEP_LINE.search(line)
        if not match:
            continue
        values: dict[str, float] = {}
        for item in match.group(2).split(" - "):
            key, _, raw = item.rpartition(":")
            try:
                values[key.strip()] = float(_NUMPY_SCALAR.sub(r"\1", raw.strip()))
            except ValueError:
                continue
        steps[int(match.group(1))] = values
    return steps
