"""Rules first, the LLM only when no rule can decide.

Example:
    >>> judge = CompositeJudge()  # rules only: offline, no server
    >>> judge.score_sync("How many?", "12", "12").judge
    'exact'
    >>> judge.score_sync("Which city?", "Paris", "the French capital").status
    'undecided'
"""

from __future__ import annotations

import contextlib
from collections.abc import Sequence

from visionthink_agent.judge.base import Judge, JudgeResult
from visionthink_agent.judge.rules import ChoiceJudge, ExactMatchJudge, MathJudge, NumericJudge

__all__ = ["CompositeJudge", "default_rules"]


def default_rules() -> list[Judge]:
    """Exact match, option letter, relaxed number, then maths (when ``math-verify`` is installed).

    Example:
        >>> [rule.name for rule in default_rules()][:3]
        ['exact', 'choice', 'numeric']
    """
    rules: list[Judge] = [ExactMatchJudge(), ChoiceJudge(), NumericJudge()]
    with contextlib.suppress(ImportError):  # math-verify is optional
        rules.append(MathJudge())
    return rules


class CompositeJudge(Judge):
    """Ask each rule in turn; the first verdict wins; otherwise ask ``fallback`` (the LLM).

    Args:
        fallback: the judge for what no rule settles (e.g. an
            :class:`~visionthink_agent.judge.LLMJudge`); None returns ``undecided``.
        rules: the rule judges, in order; :func:`default_rules` by default.

    Example:
        >>> from visionthink_agent.judge import LLMJudge
        >>> llm = LLMJudge("http://127.0.0.1:8000/v1", "gpt-4o", failure_policy="invalid")
        >>> judge = CompositeJudge(llm)
        >>> judge.score_sync("Which letter?", "B", "(B)").judge  # settled offline
        'choice'
    """

    name = "composite"

    def __init__(self, fallback: Judge | None = None, rules: Sequence[Judge] | None = None):
        self.fallback = fallback
        self.rules = list(default_rules() if rules is None else rules)

    async def score(self, question: str, ground_truth: str, prediction: str) -> JudgeResult:
        """Judge by rules, then by the fallback."""
        for rule in self.rules:
            result = await rule.score(question, ground_truth, prediction)
            if result.status != "undecided":
                return result
        if self.fallback is None:
            return JudgeResult(score=None, status="undecided", judge=self.name,
                               raw="no rule decided and there is no fallback judge")  # fmt: skip
        return await self.fallback.score(question, ground_truth, prediction)

    async def aclose(self) -> None:
        """Close the fallback's connections."""
        if self.fallback is not None:
            await self.fallback.aclose()
