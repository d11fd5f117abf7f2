"""The ``visionthink`` command.

Subcommands live in their own modules, each exposing ``register(subparsers)`` that adds its
parser and sets ``func`` (a callable taking the parsed namespace and returning the exit code)
with ``parser.set_defaults(func=...)``. To add a subcommand, write such a module and list it in
:data:`COMMAND_MODULES`; ``ask`` is :mod:`~visionthink_agent.cli.ask_command`, ``eval`` is
:mod:`~visionthink_agent.cli.eval_command`.

Example:
    >>> parser = build_parser()
    >>> parser.parse_args(["ask", "photo.jpg", "What is it?"]).mode
    'prompted'
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from importlib import import_module

from visionthink_agent import __version__

__all__ = ["COMMAND_MODULES", "INTERRUPTED", "build_parser", "main"]

COMMAND_MODULES: tuple[str, ...] = (
    "visionthink_agent.cli.ask_command",
    "visionthink_agent.cli.eval_command",
)
"""Modules that each add one subcommand through their ``register(subparsers)``."""


def build_parser() -> argparse.ArgumentParser:
    """The ``visionthink`` argument parser with every registered subcommand.

    Example:
        >>> build_parser().prog
        'visionthink'
    """
    parser = argparse.ArgumentParser(
        prog="visionthink",
        description=(
            "VisionThink: answer questions about images by looking at a cheap downsampled "
            "image first and asking for the full one only when needed."
        ),
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    subparsers = parser.add_subparsers(title="commands", metavar="COMMAND", required=True)
    for name in COMMAND_MODULES:
        import_module(name).register(subparsers)
    return parser


INTERRUPTED = 130
"""Exit code after Ctrl-C (128 + SIGINT), as shells report it."""


def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``visionthink`` command line; returns the exit code.

    Run as the program (``argv`` None), an interrupted command exits at once after its one-line
    message, without waiting for model calls still running in worker threads (an in-process
    generation can take minutes to finish on its own); the records already written are kept.
    Ctrl-C before the command has started (its modules take seconds to import on a busy
    machine) is one line too.

    Example:
        >>> main(["ask", "/no/such/image.png", "What is it?"])  # the error goes to stderr
        2
    """
    try:
        args = build_parser().parse_args(argv)
        code: int = args.func(args)  # each command reports its own interruption
    except KeyboardInterrupt:
        print("interrupted: nothing was run", file=sys.stderr)
        code = INTERRUPTED
    if code == INTERRUPTED and argv is None:
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)
    return code
