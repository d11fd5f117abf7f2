"""Options that several subcommands share, spelled the same everywhere.

Example:
    >>> import argparse
    >>> parser = argparse.ArgumentParser()
    >>> add_max_new_tokens(parser, default=8192, help="tokens per model turn")
    >>> parser.parse_args([]).max_new_tokens, parser.parse_args(["--max-tokens", "9"])
    (8192, Namespace(max_new_tokens=9))
"""

from __future__ import annotations

import argparse

__all__ = ["add_max_new_tokens"]


def add_max_new_tokens(parser: argparse.ArgumentParser, *, default: int | None, help: str) -> None:
    """``--max-new-tokens N`` (``args.max_new_tokens``), with ``--max-tokens`` as a hidden alias.

    Example:
        >>> parser = argparse.ArgumentParser()
        >>> add_max_new_tokens(parser, default=None, help="tokens")
        >>> "--max-tokens" in parser.format_help()
        False
    """
    parser.add_argument(
        "--max-new-tokens", dest="max_new_tokens", type=int, default=default, help=help
    )
    parser.add_argument(
        "--max-tokens",
        dest="max_new_tokens",
        type=int,
        default=argparse.SUPPRESS,
        help=argparse.SUPPRESS,
    )
