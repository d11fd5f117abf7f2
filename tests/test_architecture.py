"""Which way imports run (ARCHITECTURE.md), read off the source: static, no module is imported.

Every ``import`` of every module under ``visionthink_agent/``, ``training/``, ``graphs/``,
``benchmarks/`` and ``examples/`` is read from its syntax tree, whether it runs at import time
or inside a function (those inside ``if TYPE_CHECKING:`` count as inside a function).
"""

from __future__ import annotations

import ast
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parents[1]
TREES = ("visionthink_agent", "training", "graphs", "benchmarks", "examples")

CORE = (
    "visionthink_agent.benchmark",
    "visionthink_agent.heap",
    "visionthink_agent.images",
    "visionthink_agent.judge",
    "visionthink_agent.parsing",
    "visionthink_agent.protocol",
    "visionthink_agent.questions",
    "visionthink_agent.reward",
    "visionthink_agent.synthetic",
    "visionthink_agent.urls",
)
"""The core: what both surfaces share; it depends on Pillow, pydantic, httpx and openai only."""
SURFACES = (
    "visionthink_agent.backends",
    "visionthink_agent.cli",
    "visionthink_agent.evaluation",
    "visionthink_agent.graph",
    "visionthink_agent.serving",
    "training",
    "graphs",
)
FRAMEWORKS = (
    *("langgraph", "langchain", "langchain_core", "langchain_openai"),
    *("verl", "ray", "torch", "transformers", "vllm"),
)
"""Libraries the core may not import when it is imported (a function may, behind an extra)."""


@dataclass(frozen=True)
class Import:
    """One import statement's target, where it is and whether it runs when the module loads."""

    source: str
    target: str
    at_load: bool
    where: str


def module_name(path: Path) -> str:
    """``visionthink_agent/images/__init__.py`` → ``visionthink_agent.images``."""
    parts = list(path.relative_to(REPO).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def is_module(name: str) -> bool:
    path = REPO.joinpath(*name.split("."))
    return path.with_suffix(".py").is_file() or (path / "__init__.py").is_file()


def imports_of(path: Path, text: str | None = None) -> Iterator[Import]:
    """Every import in ``path`` (or in ``text``, read as that file).

    ``from pkg import sub`` names ``pkg.sub`` when that is a module, else ``pkg``.
    """
    source = module_name(path)
    package = source if path.name == "__init__.py" else source.rpartition(".")[0]
    text = path.read_text(encoding="utf-8") if text is None else text
    tree = ast.parse(text, str(path))

    def walk(node: ast.AST, at_load: bool) -> Iterator[Import]:
        for child in ast.iter_child_nodes(node):
            where = f"{path.relative_to(REPO)}:{getattr(child, 'lineno', 0)}"
            deferred = isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda))
            type_only = isinstance(child, ast.If) and "TYPE_CHECKING" in ast.unparse(child.test)
            if deferred or type_only:
                yield from walk(child, False)
            elif isinstance(child, ast.Import):
                for alias in child.names:
                    yield Import(source, alias.name, at_load, where)
            elif isinstance(child, ast.ImportFrom):
                base = child.module or ""
                if child.level:
                    up = package.split(".")[: len(package.split(".")) - child.level + 1]
                    base = ".".join([*up, base] if base else up)
                for alias in child.names:
                    sub = f"{base}.{alias.name}"
                    yield Import(source, sub if is_module(sub) else base, at_load, where)
            else:
                yield from walk(child, at_load)

    return walk(tree, True)


@cache
def all_imports() -> tuple[Import, ...]:
    return tuple(
        found
        for tree in TREES
        for path in sorted((REPO / tree).rglob("*.py"))
        for found in imports_of(path)
    )


def within(name: str, rooms: tuple[str, ...]) -> bool:
    return any(name == room or name.startswith(room + ".") for room in rooms)


def room_of(name: str) -> str:
    """The room of a module: ``visionthink_agent.graph.agent`` → ``visionthink_agent.graph``."""
    parts = name.split(".")
    return ".".join(parts[:2]) if parts[0] == "visionthink_agent" else parts[0]


def crossing(
    imports: Iterable[Import], sources: tuple[str, ...], banned: tuple[str, ...], at_load: bool
) -> list[str]:
    """Imports from ``sources`` into ``banned`` (only those run at load when ``at_load``)."""
    return [
        f"{found.where}: {found.source} imports {found.target}"
        for found in imports
        if within(found.source, sources)
        and within(found.target, banned)
        and (found.at_load or not at_load)
    ]


def cycles(imports: Iterable[Import]) -> list[list[str]]:
    """Import cycles between rooms (each module or package under ``visionthink_agent``, and
    each top-level folder), one per room that lies on one."""
    edges: dict[str, set[str]] = {}
    for found in imports:
        source, target = room_of(found.source), room_of(found.target)
        if source != target and within(found.target, ("visionthink_agent", *TREES[1:])):
            edges.setdefault(source, set()).add(target)
    return [cycle for start in sorted(edges) if (cycle := _cycle_from(start, edges))]


def _cycle_from(start: str, edges: dict[str, set[str]]) -> list[str]:
    """A path ``start → ... → start`` through ``edges``, or ``[]``."""
    stack, seen = [(start, [start])], set()
    while stack:
        node, path = stack.pop()
        for nxt in sorted(edges.get(node, ())):
            if nxt == start:
                return [*path, start]
            if nxt not in seen:
                seen.add(nxt)
                stack.append((nxt, [*path, nxt]))
    return []


RULES: dict[str, Callable[[Iterable[Import]], list[Any]]] = {
    "training never imports evaluation, the graph or the cli": lambda imports: crossing(
        imports,
        ("training",),
        ("visionthink_agent.evaluation", "visionthink_agent.graph", "visionthink_agent.cli"),
        at_load=False,
    ),
    "the graph never imports training or veRL": lambda imports: crossing(
        imports, ("visionthink_agent.graph", "graphs"), ("training", "verl"), at_load=False
    ),
    "the core imports no framework when loaded": lambda imports: crossing(
        imports, CORE, FRAMEWORKS, at_load=True
    ),
    "the core never imports a surface": lambda imports: crossing(
        imports, CORE, SURFACES, at_load=False
    ),
    "no import cycle between rooms": cycles,
}


def test_the_scan_sees_the_imports_it_checks() -> None:
    """Guards the rules against a scan that finds nothing (and so passes vacuously)."""
    targets = {(f.source, f.target) for f in all_imports()}
    assert ("visionthink_agent.graph.agent", "visionthink_agent.protocol") in targets
    assert ("training.agent_loop", "visionthink_agent.protocol") in targets
    assert ("training.agent_loop", "verl.experimental.agent_loop.agent_loop") in targets


@pytest.mark.parametrize("rule", RULES)
def test_the_tree_keeps_the_rule(rule: str) -> None:
    assert RULES[rule](all_imports()) == []


@pytest.mark.parametrize(
    ("rule", "planted", "text"),
    [
        (0, "training/demo/planted.py", "from visionthink_agent.evaluation import runner\n"),
        (0, "training/planted.py", "def f():\n    from visionthink_agent.graph import agent\n"),
        (1, "visionthink_agent/graph/planted.py", "from training import reward\n"),
        (1, "graphs/planted.py", "import verl\n"),
        (2, "visionthink_agent/images/planted.py", "import torch\n"),
        (2, "visionthink_agent/synthetic/planted.py", "from langgraph.graph import StateGraph\n"),
        (
            3,
            "visionthink_agent/reward/trajectory.py",
            "def f():\n    from visionthink_agent.graph import x\n",
        ),
        (4, "visionthink_agent/backends/planted.py", "from visionthink_agent.cli import main\n"),
    ],
)
def test_a_planted_bad_import_breaks_the_rule(rule: int, planted: str, text: str) -> None:
    """Each rule fails on the tree plus one planted file (read from ``text``, never written)."""
    check = RULES[list(RULES)[rule]]
    assert check([*all_imports(), *imports_of(REPO / planted, text)]) != []


def test_an_import_that_only_type_checkers_see_does_not_load() -> None:
    text = "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    import torch\n"
    planted = list(imports_of(REPO / "visionthink_agent/images/planted.py", text))
    assert [(f.target, f.at_load) for f in planted] == [("typing", True), ("torch", False)]
