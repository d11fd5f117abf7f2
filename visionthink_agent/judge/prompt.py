"""The VisionThink judge prompt and the strict reading of the judge's reply.

The authors decided correctness with ``"1" in reply``: any ``1`` anywhere — ``"Score: 0 (the
prediction lists 1 item)"``, a year, a count in the judge's explanation — made the answer
correct. :func:`parse_score` reads only an explicit ``Score: 0`` / ``Score: 1`` (markdown bold
allowed, a reasoning model's ``<think>`` block ignored) or a bare ``0`` / ``1`` reply; anything
else, including two different scores, is unparsable and retried by the judge.

Example:
    >>> parse_score("Score: 0\\nThe prediction names 1 person, the answer 2.")
    0
    >>> "1" in "Score: 0\\nThe prediction names 1 person, the answer 2."  # the authors' parse
    True
"""

from __future__ import annotations

import re

from visionthink_agent.protocol import JUDGE_QUERY_TEMPLATE, JUDGE_SYSTEM_PROMPT

__all__ = ["judge_messages", "parse_score"]

_SCORE = re.compile(
    r"\bscore\s*\**\s*[:=]\s*\**\s*([01])(?!\d|\.\d)(?!\s*(?:or|/)\s*[01])", re.IGNORECASE
)
_SLOT = re.compile(r"\{(question|ground_truth|prediction)\}")
_THINK_BLOCK = re.compile(r"<think>.*?</think>", re.DOTALL)


def judge_messages(question: str, ground_truth: str, prediction: str) -> list[dict[str, str]]:
    """The chat messages the judge gets: the exact VisionThink system prompt and query.

    The template's three slots are filled in one pass (never ``str.format``, and not chained
    ``str.replace`` either, which would rewrite a ``{prediction}`` written inside the question):
    questions and answers may contain braces, e.g. LaTeX.

    Example:
        >>> messages = judge_messages("What is x?", r"\\frac{1}{2}", "{0.5}")
        >>> [m["role"] for m in messages]
        ['system', 'user']
        >>> "**Model Predicted Answer**: {0.5}" in messages[1]["content"]
        True
        >>> "**Question Related to the Image**: say {prediction}\\n" in judge_messages(
        ...     "say {prediction}", "a", "b")[1]["content"]
        True
    """
    values = {"question": question, "ground_truth": ground_truth, "prediction": prediction}
    query = _SLOT.sub(lambda match: values[match.group(1)], JUDGE_QUERY_TEMPLATE)
    return [
        {"role": "system", "content": JUDGE_SYSTEM_PROMPT},
        {"role": "user", "content": query},
    ]


def parse_score(reply: str) -> int | None:
    """Read the judge's verdict strictly: 0, 1, or None when the reply gives no single score.

    Example:
        >>> parse_score("**Score:** 1"), parse_score("1"), parse_score("Score: 1 or 0")
        (1, 1, None)
        >>> parse_score("The answer is correct.") is None
        True
        >>> parse_score("Score: 0 ... on reflection, Score: 1") is None  # contradictory
        True
        >>> parse_score("<think>Score: 0? no.</think>Score: 1")
        1
    """
    text = _THINK_BLOCK.sub("", reply).strip()
    if text in ("0", "1"):
        return int(text)
    found = {int(m) for m in _SCORE.findall(text)}
    return found.pop() if len(found) == 1 else None
