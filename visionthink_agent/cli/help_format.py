"""Plain-text ``--help`` for the subcommands: module docstrings without reST, every default shown.

Example:
    >>> print(plain_description('''Run it.
    ...
    ... ::
    ...
    ...     visionthink x ``DATA``
    ...
    ... Example:
    ...     >>> 1
    ... '''), end="")
    Run it.
    <BLANKLINE>
    Examples:
    <BLANKLINE>
        visionthink x DATA
"""

from __future__ import annotations

import argparse

__all__ = ["HelpFormatter", "plain_description"]


class HelpFormatter(argparse.RawDescriptionHelpFormatter):
    """Keeps the description's layout and ends each option's help with its default.

    Options whose default is ``None`` or ``False`` say in words what happens without them.

    Example:
        >>> p = argparse.ArgumentParser(prog="x", formatter_class=HelpFormatter)
        >>> _ = p.add_argument("--n", type=int, default=3, help="how many")
        >>> "how many (default: 3)" in p.format_help()
        True
    """

    def _get_help_string(self, action: argparse.Action) -> str | None:
        text = action.help or ""
        if (
            not action.option_strings
            or "%(default)" in text
            or action.default is None
            or action.default is False
            or action.default == argparse.SUPPRESS
        ):
            return text
        return f"{text} (default: %(default)s)"


def plain_description(doc: str | None) -> str:
    """A module docstring as plain help text.

    Double backquotes go, a ``::`` line becomes ``Examples:``, and the ``Example:`` (doctest)
    section is dropped.
    """
    text = (doc or "").split("\nExample:", 1)[0].rstrip()
    return text.replace("``", "").replace("\n::\n", "\nExamples:\n") + "\n"
