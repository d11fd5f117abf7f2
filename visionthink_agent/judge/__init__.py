"""Judges of answers: an LLM-as-judge with VisionThink's prompt, and offline rule judges.

All share one interface, ``await judge.score(question, ground_truth, prediction)`` returning a
:class:`JudgeResult` (score 1 / 0 / None and a status), plus ``score_many`` and the sync
wrappers ``score_sync`` / ``score_many_sync``. Only the standard library is needed for the LLM
judge (its HTTP client is :mod:`visionthink_agent.judge.http`), and ``math-verify`` for
:class:`MathJudge`.

Example:
    >>> from visionthink_agent.judge import CompositeJudge, LLMJudge
    >>> llm = LLMJudge("http://127.0.0.1:8000/v1", "qwen3-8b", failure_policy="invalid",
    ...                cache="judge-cache.sqlite")  # doctest: +SKIP
    >>> CompositeJudge(llm).score_sync("How many?", "12", "twelve").score  # doctest: +SKIP
    1
"""

from visionthink_agent.judge.base import Judge, JudgeError, JudgeResult, JudgeStatus
from visionthink_agent.judge.cache import JudgeCache
from visionthink_agent.judge.composite import CompositeJudge, default_rules
from visionthink_agent.judge.llm import FailurePolicy, JudgeStats, LLMJudge
from visionthink_agent.judge.prompt import judge_messages, judge_request_body, parse_score
from visionthink_agent.judge.rules import (
    ChoiceJudge,
    ExactMatchJudge,
    MathJudge,
    NumericJudge,
    normalize_answer,
)

__all__ = [
    "ChoiceJudge",
    "CompositeJudge",
    "ExactMatchJudge",
    "FailurePolicy",
    "Judge",
    "JudgeCache",
    "JudgeError",
    "JudgeResult",
    "JudgeStats",
    "JudgeStatus",
    "LLMJudge",
    "MathJudge",
    "NumericJudge",
    "default_rules",
    "judge_messages",
    "judge_request_body",
    "normalize_answer",
    "parse_score",
]
