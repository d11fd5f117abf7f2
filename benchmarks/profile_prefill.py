"""Where the time of one in-process prefill goes: phases, top ops, Python functions.

It builds the engine exactly as ``bench_inference.py`` does, warms one path up (default: the
first look at a 2 MP image on the random-weight Qwen2.5-VL-7B architecture) and then profiles
one more call of it three ways:

* **phases** — ``torch.profiler`` (CPU + CUDA) with ``record_function`` markers around the
  engine's phases (preprocessing, M-RoPE index, the whole model forward, the vision tower, the
  language model). Each phase shows its CPU wall time and the device time of the kernels it
  launched, so a phase whose CPU time is far above its device time is bound by Python / launch
  overhead or host-device syncs, not by the GPU maths;
* **ops** — the top operators by self CPU time and by self device time, and the count of
  kernel launches and device synchronisations;
* **python** — ``cProfile`` of the same call: the Python functions with the most cumulative
  and own time (a function blocked in a device sync shows the wait as its own time).

Markers are added by wrapping methods of this one engine / model instance (restored after);
nothing in transformers is patched.

Usage::

    python benchmarks/profile_prefill.py --model tiny --megapixels 0.25     # CPU smoke test
    python benchmarks/profile_prefill.py --megapixels 2 --path first_look   # on a GPU
"""

from __future__ import annotations

import argparse
import contextlib
import cProfile
import io
import pstats
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from bench_inference import build_engine, conversation, synthetic_image
from rich.console import Console
from rich.table import Table
from torch.autograd import DeviceType
from torch.profiler import ProfilerActivity, profile, record_function

from visionthink_agent.backends.qwen.engine import QwenVLEngine, resolve_device
from visionthink_agent.images import load_image

PHASES = ("engine.preprocess", "engine.rope_index", "model.forward", "vision_tower", "llm")


@contextlib.contextmanager
def phase_markers(engine: QwenVLEngine) -> Iterator[None]:
    """Wrap the engine's phases in ``record_function`` ranges (this instance only).

    Example:
        >>> phase_markers.__name__
        'phase_markers'
    """
    core = engine.model.model
    targets: list[tuple[Any, str, str]] = [
        (engine, "_preprocess", "engine.preprocess"),
        (engine, "_positions", "engine.rope_index"),
        (engine.model, "forward", "model.forward"),
        (core.visual, "forward", "vision_tower"),
        (core.language_model, "forward", "llm"),
    ]
    for owner, attribute, label in targets:
        setattr(owner, attribute, _marked(getattr(owner, attribute), label))
    try:
        yield
    finally:
        for owner, attribute, _ in targets:
            delattr(owner, attribute)  # the class attribute shows through again


def _marked(method: Callable[..., Any], label: str) -> Callable[..., Any]:
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        with record_function(label):
            return method(*args, **kwargs)

    return wrapper


def path_call(engine: QwenVLEngine, path: str, megapixels: float) -> Callable[[], Any]:
    """One engine call of ``path`` (``first_look`` or ``full_res``) on a synthetic image."""
    source = load_image(synthetic_image(megapixels))
    image = source.first_look() if path == "first_look" else source.high_res()

    def call() -> Any:
        engine.reset()
        return engine.generate(conversation(resized=False), [image], max_new_tokens=1)

    return call


def phase_table(prof: Any, wall_s: float) -> Table:
    """CPU and device milliseconds of each marked phase."""
    table = Table(title=f"phases of one call ({wall_s * 1e3:.1f} ms wall)")
    for column in ("phase", "calls", "CPU ms", "device ms", "launches", "scalar reads"):
        table.add_column(column, justify="right")
    # On CUDA a marker also appears as a GPU annotation under the same key: take the CPU range.
    events = {e.key: e for e in prof.key_averages() if e.device_type == DeviceType.CPU}
    inside = _counts_inside_phases(prof)
    for name in PHASES:
        event = events.get(name)
        if event is None:
            continue
        table.add_row(
            name,
            str(event.count),
            f"{event.cpu_time_total / 1e3:.1f}",
            f"{_device_total(event) / 1e3:.1f}",
            str(inside.get((name, "launch"), 0)),
            str(inside.get((name, "read"), 0)),
        )
    return table


def _counts_inside_phases(prof: Any) -> dict[tuple[str, str], int]:
    """Kernel launches and device->host scalar reads under each phase marker (nested too)."""
    counts: dict[tuple[str, str], int] = {}
    for event in prof.events():
        if "LaunchKernel" in event.name:
            kind = "launch"
        elif event.name == "aten::_local_scalar_dense":
            kind = "read"
        else:
            continue
        parent = event.cpu_parent
        while parent is not None:
            if parent.name in PHASES:
                counts[(parent.name, kind)] = counts.get((parent.name, kind), 0) + 1
            parent = parent.cpu_parent
    return counts


def _device_total(event: Any) -> float:
    return float(getattr(event, "device_time_total", 0.0) or 0.0)


def _self_device(event: Any) -> float:
    return float(getattr(event, "self_device_time_total", 0.0) or 0.0)


def launch_summary(prof: Any) -> str:
    """Kernel launches, syncs and the device's busy time (sum of kernel self time)."""
    averages = prof.key_averages()
    launches = sum(e.count for e in averages if "LaunchKernel" in e.key)
    syncs = sum(e.count for e in averages if "Synchronize" in e.key or e.key == "aten::item")
    copies = sum(e.count for e in averages if e.key in ("aten::_local_scalar_dense",))
    kernels = (e for e in averages if e.device_type != DeviceType.CPU and e.key not in PHASES)
    busy = sum(_self_device(e) for e in kernels) / 1e3
    return (
        f"kernel launches {launches}, sync-type calls {syncs}, "
        f"device->host scalar reads {copies}, device busy {busy:.1f} ms"
    )


def python_profile(call: Callable[[], Any], rows: int) -> str:
    """cProfile of one call: the top functions by cumulative and by own time."""
    profiler = cProfile.Profile()
    profiler.enable()
    call()
    profiler.disable()
    out = io.StringIO()
    stats = pstats.Stats(profiler, stream=out)
    stats.sort_stats("cumulative").print_stats(rows)
    stats.sort_stats("tottime").print_stats(rows)
    return out.getvalue()


def main(argv: list[str] | None = None) -> int:
    """Build the engine, warm up, profile one call; print (and optionally save) the report."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", choices=["tiny", "qwen2.5-vl-7b-random"], default=None)
    parser.add_argument("--device", default="auto")
    parser.add_argument("--megapixels", type=float, default=2.0)
    parser.add_argument("--path", choices=["first_look", "full_res"], default="first_look")
    parser.add_argument("--warmup", type=int, default=2, help="unprofiled calls first")
    parser.add_argument("--rows", type=int, default=25, help="rows per op / function table")
    parser.add_argument("--out", type=Path, default=None, help="also write the report here")
    args = parser.parse_args(argv)
    device = resolve_device(args.device)
    model = args.model or ("qwen2.5-vl-7b-random" if device == "cuda" else "tiny")
    console = Console(width=200, record=True)
    started = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        engine = build_engine(model, device, Path(tmp) / "tiny", lower_right=True, grouped=None)
    call = path_call(engine, args.path, args.megapixels)
    for _ in range(args.warmup):
        call()
    timed = [call() for _ in range(3)]
    console.print(
        f"{model} on {device}, {args.path} at {args.megapixels:g} MP: "
        f"{timed[-1].prompt_tokens} prompt tokens ({timed[-1].visual_tokens} visual); "
        "unprofiled prefill ms "
        + ", ".join(f"{r.prefill_seconds * 1e3:.1f}" for r in timed)
        + "; preprocess ms "
        + ", ".join(f"{r.preprocess_seconds * 1e3:.1f}" for r in timed)
    )
    activities = [ProfilerActivity.CPU]
    if device == "cuda":
        activities.append(ProfilerActivity.CUDA)
    with phase_markers(engine), profile(activities=activities) as prof:
        begin = time.perf_counter()
        result = call()
        wall = time.perf_counter() - begin
    console.print(phase_table(prof, wall))
    console.print(f"profiled call: prefill {result.prefill_seconds * 1e3:.1f} ms")
    console.print(launch_summary(prof))
    averages = prof.key_averages()
    console.print(averages.table(sort_by="self_cpu_time_total", row_limit=args.rows))
    if device == "cuda":
        console.print(averages.table(sort_by="self_device_time_total", row_limit=args.rows))
    console.print(python_profile(call, args.rows), markup=False, highlight=False)
    console.print(f"done in {time.perf_counter() - started:.0f}s")
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(console.export_text(), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
