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

import json
import re

from visionthink_agent.protocol import JUDGE_QUERY_TEMPLATE, JUDGE_SYSTEM_PROMPT

__all__ = ["judge_messages", "judge_request_body", "parse_score"]

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


def _json_chars(text: str) -> str:
    return json.dumps(text)[1:-1]  # JSON escaping is per character, so pieces concatenate


# The query template split at its slots: [text, slot name, text, slot name, ...], texts escaped.
_QUERY_PIECES = [
    _json_chars(piece) if i % 2 == 0 else piece
    for i, piece in enumerate(_SLOT.split(JUDGE_QUERY_TEMPLATE))
]
_SYSTEM_MESSAGE = json.dumps({"role": "system", "content": JUDGE_SYSTEM_PROMPT})


def judge_request_body(
    model: str,
    question: str,
    ground_truth: str,
    prediction: str,
    *,
    temperature: float,
    max_tokens: int | None = None,
) -> bytes:
    """The JSON chat-completions request for one judgement, ready to send.

    The same document as ``json.dumps({"model": ..., "messages": judge_messages(...),
    "temperature": ...})``, but only the three answers are encoded per call: the prompt text
    around them is encoded once (a judge sends thousands of these per training step).

    Example:
        >>> body = json.loads(judge_request_body("gpt-4o", "Q {x}?", "4", "four", temperature=0.2))
        >>> body["messages"] == judge_messages("Q {x}?", "4", "four"), body["temperature"]
        (True, 0.2)
    """
    values = {"question": question, "ground_truth": ground_truth, "prediction": prediction}
    content = "".join(
        _json_chars(values[piece]) if i % 2 else piece for i, piece in enumerate(_QUERY_PIECES)
    )
    body = (
        f'{{"model": {json.dumps(model)}, "messages": [{_SYSTEM_MESSAGE}, '
        f'{{"role": "user", "content": "{content}"}}], "temperature": {float(temperature)!r}'
    )
    if max_tokens is not None:
        body += f', "max_tokens": {int(max_tokens)}'
    return (body + "}").encode("ascii")


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
