"""Rule judges decide what a rule can settle and leave the rest ``undecided``."""

from __future__ import annotations

import pytest

from tests.judge.judge_server import ScriptedJudge
from visionthink_agent.judge import (
    ChoiceJudge,
    CompositeJudge,
    ExactMatchJudge,
    Judge,
    LLMJudge,
    MathJudge,
    NumericJudge,
    parse_score,
)

GAP = "What's the gap percent between the bad and the better scenarios being studied?"


@pytest.mark.parametrize(
    ("reply", "score"),
    [
        ("Score: 1", 1),
        ("Score: 0", 0),
        ("score:1", 1),
        ("**Score:** 0", 0),
        ("Score: 1.", 1),
        ("1", 1),
        (" 0 \n", 0),
        ("Score: 0\nThe answer names 1 item.", 0),  # the authors' parse says 1
        ("The answer is 100% right", None),  # the authors' parse says 1
        ("Score: 10", None),
        ("Score: 1.5", None),
        ("Score: 0 or 1", None),  # the prompt's format line echoed back
        ("Score: 0. Wait, Score: 1", None),
        ("<think>Score: 0 maybe</think>\nScore: 1", 1),
        ("", None),
    ],
)
def test_parse_score_is_strict(reply: str, score: int | None) -> None:
    assert parse_score(reply) == score


@pytest.mark.parametrize(
    ("judge", "question", "truth", "prediction", "score"),
    [
        (ExactMatchJudge(), "Q", "The Eiffel Tower", "eiffel tower.", 1),
        (ExactMatchJudge(), "Q", "cat", "kitten", None),
        (ExactMatchJudge(strict=True), "Q", "cat", "kitten", 0),
        (ChoiceJudge(), "Q", "B", "B", 1),
        (ChoiceJudge(), "Q", "(B)", "B. a dog", 1),
        (ChoiceJudge(), "Q", "B", "The answer is (C)", 0),
        (ChoiceJudge(), "Q", "B", "option b", None),  # lower-case letters are words here
        (ChoiceJudge(), "Q", "B", "a dog", None),
        (ChoiceJudge(), "Q", "dog", "B", None),
        # The paper's Fig. 6: ground truth 47 for a "gap percent" question.
        (NumericJudge(), GAP, "47", "47", 1),
        (NumericJudge(), GAP, "47", "47%", 1),
        (NumericJudge(), GAP, "47", "0.47", 1),
        (NumericJudge(), GAP, "47", "46", 0),  # ChartQA's 5% tolerance would say 1
        (NumericJudge(exact_integers=False), GAP, "47", "46", 1),
        (NumericJudge(), "Share?", "0.47", "47%", 1),
        (NumericJudge(), "How many?", "47", "0.47", 0),  # no percent anywhere
        (NumericJudge(), "Revenue?", "$1,234.5", "1234.5", 1),
        (NumericJudge(), "Rate?", "3.10", "3.2", 1),
        (NumericJudge(), "Rate?", "3.10", "3.4", 0),
        (NumericJudge(), "Change?", "-2.5", "-2.5", 1),
        (NumericJudge(), "Value?", "0", "0.01", 0),
        (NumericJudge(), "Who?", "Bob", "12", None),
        (NumericJudge(), "How many?", "12", "12 apples", None),
        (MathJudge(), "Simplify", r"\frac{1}{2}", "0.5", 1),
        (MathJudge(), "Expand", "x^2+1", "1+x^2", 1),
        (MathJudge(), "Solve", r"\sqrt{2}", "2", 0),
        (MathJudge(), "Count", "12", "The answer is 12", 1),
        (MathJudge(), "Count", "3", "three", None),
        (MathJudge(), "Where?", "Paris", "Paris", None),
    ],
)
def test_rule_table(
    judge: Judge, question: str, truth: str, prediction: str, score: int | None
) -> None:
    result = judge.score_sync(question, truth, prediction)
    assert result.score == score, result
    assert result.status == ("undecided" if score is None else "ok")
    assert result.attempts == 0


def test_numeric_tolerance_is_validated() -> None:
    with pytest.raises(ValueError, match="tolerance must lie in"):
        NumericJudge(tolerance=1.5)


def test_composite_settles_by_rules_without_calling_the_llm(
    server: tuple[str, ScriptedJudge],
) -> None:
    url, state = server
    llm = LLMJudge(url, "correct", cache=False)
    judge = CompositeJudge(llm)
    results = judge.score_many_sync(
        [("Q", "B", "(B)"), (GAP, "47", "47%"), ("Q", r"\frac{1}{4}", "0.25"), ("Q", "7", "8")]
    )
    assert [(r.judge, r.score) for r in results] == [
        ("choice", 1),
        ("numeric", 1),
        ("math", 1),
        ("numeric", 0),
    ]
    assert state.count == 0


def test_composite_escalates_what_rules_cannot_decide(server: tuple[str, ScriptedJudge]) -> None:
    url, state = server
    judge = CompositeJudge(LLMJudge(url, "correct", cache=False))
    result = judge.score_sync("Which city?", "Paris", "the French capital")
    assert (result.judge, result.score, result.attempts) == ("llm:correct", 1, 1)
    assert state.count == 1


def test_composite_without_fallback_stays_undecided() -> None:
    result = CompositeJudge(rules=[ExactMatchJudge()]).score_sync("Q", "a", "b")
    assert (result.score, result.status, result.judge) == (None, "undecided", "composite")
