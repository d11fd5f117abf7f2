"""What an image's pixel count costs one question: the numbers behind the default pixel limit.

For each image size (square, the demo task's picture scaled up; a PNG), in a fresh process with
the shipped demo model loaded in process (``ChatQwenVL``), three phases of one question:

* **decode + views**: ``load_image`` and the two views the graph builds (first look, high res);
* **first-look turn**: one model call on the exact first turn the agent sends (1 new token);
* **resize turn**: one model call on the second turn after a ``resize_image`` call (the first
  look and the full image; 1 new token).

Each phase reports its wall time and its peak memory (the process' RSS sampled every 5 ms, above
the RSS when the phase began); the turns also report the visual tokens (the project's token
arithmetic, checked against the prompt tokens the model counted). The first row (1000x1000, a
1 MP image) is the baseline the others are compared with.

Run: ``.venv/bin/python benchmarks/bench_pixel_limit.py [--sides 1000,2000,3584,7168,9459]``
(``--quick``: 500 and 1000 only, written to ``bench_pixel_limit.quick.json``); writes
``benchmarks/results/bench_pixel_limit.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

RESULTS = Path(__file__).resolve().parent / "results"
SIDES = (1000, 2000, 3584, 7168, 9459)
"""1 MP; 4 MP; the processor's max_pixels (12,845,056: above it the full image is scaled down to
16,384 visual tokens); 4x that (the first look reaches the cap too); the default pixel limit
(89,478,485 pixels: 9459² = 89,472,681)."""
QUESTION = "What is the digit in the image?"
RESIZE_CALL = (
    "<think>The first look is too small to read.</think>\n"
    '<tool_call>\n{"name": "resize_image", "arguments": {"action": "resize"}}\n</tool_call>'
)
MIB = 1024 * 1024


@contextmanager
def peak_rss(into: dict[str, float]) -> Iterator[None]:
    """Sample this process' RSS every 5 ms; ``into["peak_mib"]`` is its peak above the start."""
    import psutil

    process = psutil.Process()
    start = process.memory_info().rss
    peak = start
    done = threading.Event()

    def sample() -> None:
        nonlocal peak
        while not done.wait(0.005):
            peak = max(peak, process.memory_info().rss)

    sampler = threading.Thread(target=sample, daemon=True)
    started = time.perf_counter()
    sampler.start()
    try:
        yield
    finally:
        done.set()
        sampler.join()
        into["seconds"] = time.perf_counter() - started
        into["peak_mib"] = (max(peak, process.memory_info().rss) - start) / MIB


def measure_one(image_path: Path) -> dict[str, Any]:
    """The three phases of one question on the image at ``image_path`` (run in a child)."""
    from langchain_core.messages import BaseMessage

    from visionthink_agent.backends.transformers_chat import ChatQwenVL
    from visionthink_agent.graph import prompted_conversation
    from visionthink_agent.images import load_image

    chat = ChatQwenVL(model="demo", max_new_tokens=1, temperature=0)
    data = image_path.read_bytes()
    warm = prompted_conversation(QUESTION, load_image(data).first_look(), [])
    chat.invoke(warm)  # loads the model; its first call's one-off costs are not measured

    row: dict[str, Any] = {"file_mib": len(data) / MIB}
    decode: dict[str, Any] = {}
    with peak_rss(decode):
        source = load_image(data)
        source.first_look_payload()
        source.high_res_payload()
    account = source.token_account(resized=True)
    row["size"] = list(source.size)
    row["decode"] = decode

    def turn(messages: list[BaseMessage], tokens: int) -> dict[str, Any]:
        result: dict[str, Any] = {"visual_tokens": tokens}
        with peak_rss(result):
            reply = chat.invoke(messages)
        assert reply.usage_metadata is not None
        result["prompt_tokens"] = reply.usage_metadata["input_tokens"]
        return result

    first = prompted_conversation(QUESTION, data, [])
    row["first_look_turn"] = turn(first, account.first_look)
    second = prompted_conversation(QUESTION, data, [RESIZE_CALL])
    row["resize_turn"] = turn(second, account.first_look + account.high_res)
    return row


def write_image(side: int, folder: Path) -> Path:
    """The demo task's picture scaled to ``side`` x ``side``, as a PNG."""
    from PIL import Image

    from visionthink_agent.synthetic import make_synthetic_samples

    sample = make_synthetic_samples(1, preset="demo")[0]
    path = folder / f"{side}.png"
    sample.image.convert("RGB").resize((side, side), Image.Resampling.BICUBIC).save(path)
    return path


def run_child(side: int, folder: Path) -> dict[str, Any]:
    """Measure one size in a fresh process (no memory left over from a larger one)."""
    image = write_image(side, folder)
    out = folder / f"{side}.json"
    command = [sys.executable, __file__, "--child", str(image), "--child-output", str(out)]
    subprocess.run(command, check=True)
    image.unlink()
    return {"side": side, **json.loads(out.read_text())}


def table(rows: Sequence[dict[str, Any]]) -> Any:
    from rich.table import Table

    base = rows[0]
    out = Table(title=f"One question's cost by image size (baseline: the {base['side']}² row)")
    for name in ("image", "file MiB", "decode+views s / MiB", "first look tokens / s / MiB"):
        out.add_column(name, justify="right")
    out.add_column("resize turn tokens / s / MiB", justify="right")
    out.add_column("resize turn s vs base", justify="right")

    def cells(phase: dict[str, Any]) -> str:
        tokens = f"{phase['visual_tokens']:,} / " if "visual_tokens" in phase else ""
        return f"{tokens}{phase['seconds']:.1f} / {phase['peak_mib']:.0f}"

    for row in rows:
        width, height = row["size"]
        ratio = row["resize_turn"]["seconds"] / base["resize_turn"]["seconds"]
        out.add_row(
            f"{width}x{height} ({width * height / 1e6:.1f} MP)",
            f"{row['file_mib']:.1f}",
            cells(row["decode"]),
            cells(row["first_look_turn"]),
            cells(row["resize_turn"]),
            f"{ratio:.1f}x",
        )
    return out


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sides", default=",".join(map(str, SIDES)))
    parser.add_argument("--quick", action="store_true", help="500 and 1000 only (a smoke run)")
    parser.add_argument("--output", type=Path, default=None)
    parser.add_argument("--child", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--child-output", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        args.child_output.write_text(json.dumps(measure_one(args.child)))
        return

    from rich.console import Console
    from rich.progress import Progress

    sides = [1000, 500] if args.quick else [int(s) for s in args.sides.split(",")]
    output = args.output or RESULTS / (
        "bench_pixel_limit.quick.json" if args.quick else "bench_pixel_limit.json"
    )
    rows = []
    with tempfile.TemporaryDirectory() as tmp, Progress() as progress:
        task = progress.add_task("image sizes", total=len(sides))
        for side in sides:
            progress.update(task, description=f"{side}x{side}")
            rows.append(run_child(side, Path(tmp)))
            progress.advance(task)
    console = Console(width=160)
    console.print(table(rows))
    report = {
        "command": " ".join(["benchmarks/bench_pixel_limit.py", *(argv or sys.argv[1:])]),
        "machine": {
            "platform": platform.platform(),
            "cpus": os.cpu_count(),
            "load_average_at_end": os.getloadavg(),
            "note": "shared 2-core machine (other jobs running)",
        },
        "rows": rows,
    }
    output.write_text(json.dumps(report, indent=2) + "\n")
    largest = max(rows, key=lambda r: r["size"][0] * r["size"][1])
    console.print(
        f"{len(rows)} sizes; the largest, {largest['size'][0]}x{largest['size'][1]}, cost "
        f"{largest['resize_turn']['seconds']:.0f} s and "
        f"{max(largest[p]['peak_mib'] for p in ('decode', 'first_look_turn', 'resize_turn')):.0f}"
        f" MiB at peak; {output}"
    )


if __name__ == "__main__":
    main()
