"""The README's two commands: CI runs exactly them, and command 1 installs only the main job."""

from __future__ import annotations

import importlib.util
import re
import sys
from types import ModuleType

from tests.conftest import REPO


def _bench_install() -> ModuleType:
    spec = importlib.util.spec_from_file_location(
        "bench_install", REPO / "benchmarks" / "bench_install.py"
    )
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault(spec.name, module)  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


def _extra(name: str) -> str:
    """The text of one extra's list in pyproject.toml."""
    text = (REPO / "pyproject.toml").read_text()
    found = re.search(rf"^{name} = \[(.*?)^\]", text, flags=re.MULTILINE | re.DOTALL)
    assert found, name
    return found.group(1)


def _steps(command: str) -> list[str]:
    return [" ".join(part.split()) for part in command.split(" && ")]


def test_ci_runs_the_readme_install_step_and_test_command() -> None:
    first, second = _bench_install().readme_commands((REPO / "README.md").read_text())
    install = first.partition(" && .venv/bin/visionthink ask ")[0]
    ci = " ".join(re.sub(r"\\\n", " ", (REPO / ".ci" / "run").read_text()).split())
    for step in _steps(install) + _steps(second):
        assert step.strip("()") in ci, step


def test_command_1_installs_the_agent_and_command_2_the_rest() -> None:
    first, second = _bench_install().readme_commands((REPO / "README.md").read_text())
    assert '.venv/bin/pip install -e ".[local]"' in first
    assert '.venv/bin/pip install -e ".[all]"' in second
    assert "--no-install-recommends --no-upgrade chromium" in second  # no unrelated upgrades
    local = _extra("local") + _extra("graph")
    for heavy in ("verl", "ray", "wandb", "playwright", "gradio", "datasets", "serving"):
        assert heavy not in local, heavy
    assert '"verl[verl-core]==0.9.1"' in _extra("train")
    assert "train" in re.search(r"^all = (.*)$", (REPO / "pyproject.toml").read_text(), re.M)[1]
