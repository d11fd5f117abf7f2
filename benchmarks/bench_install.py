"""What the README's two commands install: time and venv size, in a fresh clone and venv.

For a git ref (default ``HEAD``) the script clones this repository into a temporary folder, reads
the two commands at the top of that ref's README, and runs, with a fresh ``HOME`` (so nothing
comes from a pip cache):

* **main**: command 1's install part (everything before ``.venv/bin/visionthink ask``), then its
  ``ask`` (the main job), timed apart;
* **test**: the ``.venv/bin/pip install`` parts of command 2 (the extras the test suite needs),
  then ``pip check``.

After each step it records the wall time, ``du`` of ``.venv`` and the number of installed
distributions. Run it once per ref to compare layouts (downloads make the times noisy: compare
runs made the same day on the same network)::

    .venv/bin/python benchmarks/bench_install.py --ref 5d9e0dd --label before
    .venv/bin/python benchmarks/bench_install.py --label after

Results are merged into ``benchmarks/results/bench_install.json`` under ``--label``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import shutil
import subprocess
import tempfile
import time
from dataclasses import asdict, dataclass
from datetime import datetime, timezone
from pathlib import Path

from rich.console import Console
from rich.table import Table

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "benchmarks" / "results" / "bench_install.json"
ASK = " && .venv/bin/visionthink ask "


@dataclass(frozen=True)
class Step:
    """One measured command."""

    name: str
    command: str
    seconds: float
    venv_bytes: int
    distributions: int
    ok: bool


def readme_commands(readme: str) -> tuple[str, str]:
    """The first lines of the README's ``# 1.`` and ``# 2.`` shell blocks (command 1, command 2).

    Example:
        >>> text = "```bash\\n# 1. install\\npip x && y\\n```\\n```bash\\n# 2. test\\nz\\n```"
        >>> readme_commands(text)
        ('pip x && y', 'z')
    """
    found = dict(re.findall(r"^# ([12])\..*\n(.+)$", readme, flags=re.MULTILINE))
    if set(found) != {"1", "2"}:
        raise SystemExit("the README has no '# 1.' and '# 2.' command blocks")
    return found["1"].strip(), found["2"].strip()


def pip_installs(command: str) -> list[str]:
    """The ``.venv/bin/pip install`` parts of a ``&&`` chain.

    Example:
        >>> pip_installs('(apt-get x) && .venv/bin/pip install -e ".[all]" && pytest')
        ['.venv/bin/pip install -e ".[all]"']
    """
    return [
        part.strip() for part in command.split(" && ") if part.strip().startswith(".venv/bin/pip")
    ]


def run_step(name: str, command: str, cwd: Path, env: dict[str, str], console: Console) -> Step:
    """Run ``command`` in ``cwd`` and measure it (time, then the venv it leaves)."""
    console.print(f"{name}: {command}", markup=False, highlight=False)
    started = time.perf_counter()
    done = subprocess.run(["bash", "-c", command], cwd=cwd, env=env, check=False)
    seconds = time.perf_counter() - started
    venv = cwd / ".venv"
    size = (
        int(
            subprocess.run(
                ["du", "-sb", str(venv)], capture_output=True, text=True, check=True
            ).stdout.split()[0]
        )
        if venv.exists()
        else 0
    )
    listed = subprocess.run(
        [str(venv / "bin" / "python"), "-m", "pip", "list", "--format=json"],
        capture_output=True,
        text=True,
        check=False,
    )
    count = len(json.loads(listed.stdout)) if listed.returncode == 0 else 0
    return Step(name, command, round(seconds, 1), size, count, done.returncode == 0)


def measure(ref: str, console: Console) -> list[Step]:
    """Clone ``ref`` and run the README's install steps in it; returns the measured steps."""
    with tempfile.TemporaryDirectory(prefix="bench-install-") as tmp:
        src, home = Path(tmp) / "src", Path(tmp) / "home"
        home.mkdir()
        subprocess.run(["git", "clone", "--quiet", str(ROOT), str(src)], check=True)
        subprocess.run(["git", "-C", str(src), "checkout", "--quiet", ref], check=True)
        first, second = readme_commands((src / "README.md").read_text(encoding="utf-8"))
        install, _, ask = first.partition(ASK)
        env = {**os.environ, "HOME": str(home)}
        env.pop("VIRTUAL_ENV", None)
        steps = [run_step("main: install", install, src, env, console)]
        if ask:
            steps.append(
                run_step("main: ask", ".venv/bin/visionthink ask " + ask, src, env, console)
            )
        extra = " && ".join(pip_installs(second))
        if extra:
            steps.append(run_step("test: install", extra, src, env, console))
        steps.append(run_step("pip check", ".venv/bin/pip check", src, env, console))
        shutil.rmtree(src / ".venv", ignore_errors=True)
        return steps


def main() -> None:
    """Measure one ref and merge the result into the JSON file."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--ref", default="HEAD", help="git ref whose README is measured")
    parser.add_argument("--label", default=None, help="key in the JSON file (default: the ref)")
    args = parser.parse_args()
    console = Console()
    commit = subprocess.run(
        ["git", "-C", str(ROOT), "rev-parse", "--short", args.ref],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    steps = measure(args.ref, console)
    table = Table(title=f"README install at {commit}")
    for column in ("step", "seconds", "venv GB", "distributions", "ok"):
        table.add_column(column, justify="left" if column == "step" else "right")
    for step in steps:
        table.add_row(
            step.name,
            f"{step.seconds:.0f}",
            f"{step.venv_bytes / 1e9:.2f}",
            str(step.distributions),
            "yes" if step.ok else "NO",
        )
    console.print(table)
    results = json.loads(RESULTS.read_text()) if RESULTS.exists() else {}
    results[args.label or args.ref] = {
        "commit": commit,
        "date": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, "
        f"Python {platform.python_version()}",
        "steps": [asdict(step) for step in steps],
    }
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    main_install = steps[0]
    console.print(
        f"install: main {main_install.seconds:.0f} s, {main_install.venv_bytes / 1e9:.2f} GB; "
        f"after the test install {steps[-1].venv_bytes / 1e9:.2f} GB -> {RESULTS}"
    )


if __name__ == "__main__":
    main()
