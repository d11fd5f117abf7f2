"""Rule judges: offline verdicts for answers a rule can settle, ``undecided`` for the rest.

Each has the :class:`~visionthink_agent.judge.base.Judge` interface. A rule that cannot tell
returns score None with status ``undecided`` so :class:`~visionthink_agent.judge.CompositeJudge`
asks the LLM.

The relaxed numeric match fixes the two ChartQA pitfalls the VisionThink paper shows
(Appendix B.4, Fig. 6): ChartQA's ``_to_float`` turns ``47%`` into 0.47 while the ground truth
``47`` stays 47.0, so the right answers ``47%`` and ``0.47`` fail; and its 5% tolerance accepts
the misread ``46`` for ``47``. Here a ``%`` sign is a unit, a fraction matches a percentage when
the question or an answer speaks of percent, and whole numbers must match exactly.

Example:
    >>> NumericJudge().score_sync("What's the gap percent?", "47", "47%").score
    1
    >>> NumericJudge().score_sync("What's the gap percent?", "47", "46").score
    0
"""

from __future__ import annotations

import math
import re
import threading
from typing import Any

from visionthink_agent.judge.base import Judge, JudgeResult

__all__ = ["ChoiceJudge", "ExactMatchJudge", "MathJudge", "NumericJudge", "normalize_answer"]

_ARTICLES = re.compile(r"\b(?:a|an|the)\b")
_SPACES = re.compile(r"\s+")
_EDGE_PUNCT = " \t\n.,;:!?\"'`"


def normalize_answer(text: str) -> str:
    """Lower-case, drop articles, edge punctuation and quotes, collapse whitespace.

    Example:
        >>> normalize_answer('  "The Red  Car." ')
        'red car'
    """
    text = _ARTICLES.sub(" ", text.lower())
    return _SPACES.sub(" ", text).strip(_EDGE_PUNCT).strip()


def _undecided(judge: str, why: str) -> JudgeResult:
    return JudgeResult(score=None, status="undecided", judge=judge, raw=why)


def _verdict(judge: str, correct: bool, why: str) -> JudgeResult:
    return JudgeResult(score=int(correct), status="ok", judge=judge, raw=why)


class ExactMatchJudge(Judge):
    """Correct when the normalised answers are equal (:func:`normalize_answer`).

    Args:
        strict: a mismatch scores 0; by default it is ``undecided`` (a synonym may be right).

    Example:
        >>> judge = ExactMatchJudge()
        >>> judge.score_sync("Q", "a cat", "Cat.").score
        1
        >>> judge.score_sync("Q", "cat", "kitten").status
        'undecided'
        >>> ExactMatchJudge(strict=True).score_sync("Q", "cat", "kitten").score
        0
    """

    name = "exact"

    def __init__(self, *, strict: bool = False) -> None:
        self.strict = strict

    async def score(self, question: str, ground_truth: str, prediction: str) -> JudgeResult:
        """Judge by normalised string equality."""
        if normalize_answer(ground_truth) == normalize_answer(prediction):
            return _verdict(self.name, True, "normalised answers are equal")
        if self.strict:
            return _verdict(self.name, False, "normalised answers differ")
        return _undecided(self.name, "normalised answers differ")


_CHOICE = re.compile(r"^\(?([A-J])\)?[.:)]?$")
_LEADING_CHOICE = re.compile(r"^\(?([A-J])[).:]\s")
_NAMED_CHOICE = re.compile(r"\b(?:answer|option|choice)(?:\s+is)?\s*:?\s*\(?([A-J])\b\)?")


class ChoiceJudge(Judge):
    """Multiple choice: compare option letters (``B``, ``(B)``, ``B. a dog``, ``option B``).

    Undecided when the ground truth is not a letter or no letter can be read off the prediction.

    Example:
        >>> ChoiceJudge().score_sync("Q", "(C)", "The answer is C").score
        1
        >>> ChoiceJudge().score_sync("Q", "Paris", "B").status
        'undecided'
    """

    name = "choice"

    async def score(self, question: str, ground_truth: str, prediction: str) -> JudgeResult:
        """Judge by option letter."""
        gold = _CHOICE.match(ground_truth.strip())
        if gold is None:
            return _undecided(self.name, "ground truth is not an option letter")
        text = prediction.strip()
        found = _CHOICE.match(text) or _LEADING_CHOICE.match(text) or _NAMED_CHOICE.search(text)
        if found is None:
            return _undecided(self.name, "no option letter in the prediction")
        letter = found.group(1)
        return _verdict(self.name, letter == gold.group(1), f"option {letter} vs {gold.group(1)}")


_NUMBER = re.compile(
    r"^(?P<sign>[+-])?\s*[$€£¥]?\s*(?P<num>\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d+(?:\.\d+)?|\.\d+)"
    r"\s*(?P<pct>%|percent)?$",
    re.IGNORECASE,
)
_PERCENT_WORDS = re.compile(r"%|\bpercent", re.IGNORECASE)


def _parse_number(text: str) -> tuple[float, bool] | None:
    match = _NUMBER.match(text.strip().rstrip("."))
    if match is None:
        return None
    value = float(match.group("num").replace(",", ""))
    return (-value if match.group("sign") == "-" else value), match.group("pct") is not None


class NumericJudge(Judge):
    """Relaxed numeric match in the ChartQA style, without its percent and integer pitfalls.

    Args:
        tolerance: relative tolerance for non-integers (ChartQA: 5%).
        exact_integers: whole numbers must be equal (a chart's 46 is not its 47).

    Example:
        >>> judge = NumericJudge()
        >>> judge.score_sync("Share in percent?", "47", "0.47").score  # a fraction of 47%
        1
        >>> judge.score_sync("Growth?", "3.10", "3.2").score  # within 5%
        1
        >>> judge.score_sync("Who?", "Bob", "12").status
        'undecided'
    """

    name = "numeric"

    def __init__(self, *, tolerance: float = 0.05, exact_integers: bool = True) -> None:
        if not 0.0 <= tolerance < 1.0:
            raise ValueError(f"tolerance must lie in [0, 1); got {tolerance}")
        self.tolerance = tolerance
        self.exact_integers = exact_integers

    async def score(self, question: str, ground_truth: str, prediction: str) -> JudgeResult:
        """Judge two numbers (undecided unless both answers are numbers)."""
        gold, pred = _parse_number(ground_truth), _parse_number(prediction)
        if gold is None or pred is None:
            return _undecided(self.name, "an answer is not a number")
        (target, gold_pct), (value, pred_pct) = gold, pred
        candidates = [value]
        if gold_pct or pred_pct or _PERCENT_WORDS.search(question):
            if abs(value) <= 1 < abs(target):
                candidates.append(value * 100)  # 0.47 for 47 (%)
            elif abs(target) <= 1 < abs(value):
                candidates.append(value / 100)  # 47% for 0.47
        correct = any(self._close(candidate, target) for candidate in candidates)
        return _verdict(self.name, correct, f"{prediction.strip()} vs {ground_truth.strip()}")

    def _close(self, value: float, target: float) -> bool:
        if math.isclose(value, target, rel_tol=1e-9, abs_tol=1e-12):
            return True
        if self.exact_integers and value.is_integer() and target.is_integer():
            return False
        if target == 0:
            return False
        return abs(value - target) <= self.tolerance * abs(target)


_LATEX_COMMAND = re.compile(r"\\[A-Za-z]+")
_WORD = re.compile(r"[A-Za-z]{2,}")


def _looks_mathematical(text: str) -> bool:
    rest = _LATEX_COMMAND.sub(" ", text)
    return bool(text.strip()) and _WORD.search(rest) is None


def _as_latex(text: str) -> str:
    return text if "$" in text or "\\boxed" in text else f"${text}$"


class MathJudge(Judge):
    """Mathematical equivalence by ``math-verify`` (``\\frac{1}{2}`` equals ``0.5``).

    Needs the ``math-verify`` package (``pip install 'visionthink-agent[eval]'``). Undecided when
    the ground truth is not a mathematical expression (words) or nothing can be parsed.

    Example:
        >>> MathJudge().score_sync("Simplify", r"\\frac{1}{2}", "0.5").score
        1
        >>> MathJudge().score_sync("Who?", "Paris", "Paris").status
        'undecided'

    Raises:
        ImportError: when ``math-verify`` is not installed (at construction).
    """

    name = "math"

    def __init__(self) -> None:
        try:
            import math_verify
        except ImportError as exc:
            raise ImportError(
                "MathJudge needs math-verify: pip install math-verify "
                "(or the package's 'eval' extra)"
            ) from exc
        self._math_verify: Any = math_verify

    async def score(self, question: str, ground_truth: str, prediction: str) -> JudgeResult:
        """Judge by symbolic / numeric equivalence."""
        if not _looks_mathematical(ground_truth):
            return _undecided(self.name, "ground truth is not a mathematical expression")
        # math-verify times out with signal.alarm, which only works in the main thread.
        timeout = 5 if threading.current_thread() is threading.main_thread() else None
        mv = self._math_verify
        gold = mv.parse(_as_latex(ground_truth), parsing_timeout=timeout)
        text = _as_latex(prediction) if _looks_mathematical(prediction) else prediction
        pred = mv.parse(text, parsing_timeout=timeout)
        if not gold or not pred:
            return _undecided(self.name, "math-verify could not parse an answer")
        correct = bool(mv.verify(gold, pred, timeout_seconds=timeout))
        return _verdict(self.name, correct, f"{pred[-1]} vs {gold[-1]}")
