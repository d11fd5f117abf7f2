"""What every judge shares: the verdict type, the ``score`` interface and the sync wrappers.

Example:
    >>> from visionthink_agent.judge import ExactMatchJudge
    >>> ExactMatchJudge().score_sync("Color?", "Red", " red. ").score
    1
"""

from __future__ import annotations

import asyncio
from abc import ABC, abstractmethod
from collections.abc import Coroutine, Iterable
from dataclasses import dataclass
from typing import Any, Literal, TypeAlias, TypeVar

__all__ = ["Judge", "JudgeError", "JudgeResult", "JudgeStatus", "JudgeTriple"]

JudgeStatus: TypeAlias = Literal["ok", "undecided", "failed", "invalid"]
"""``ok``: a verdict; ``undecided``: a rule judge cannot tell (escalate); ``failed``: the judge
failed and the ``zero`` policy scored 0; ``invalid``: the judge failed and the sample must be
dropped (score None)."""

JudgeTriple: TypeAlias = "tuple[str, str, str]"
"""``(question, ground_truth, prediction)``."""

T = TypeVar("T")


class JudgeError(RuntimeError):
    """A judge could not reach a verdict and its failure policy is ``raise``.

    Example:
        >>> str(JudgeError("judge down"))
        'judge down'
    """


@dataclass(frozen=True)
class JudgeResult:
    """The verdict on one (question, ground truth, prediction).

    Attributes:
        score: 1 (correct), 0 (wrong) or None (no verdict: ``undecided`` or ``invalid``).
        status: see :data:`JudgeStatus`.
        judge: which judge decided (``"exact"``, ``"choice"``, ``"numeric"``, ``"math"``,
            ``"llm:<model>"``).
        raw: the LLM's reply, or the rule's explanation.
        attempts: HTTP attempts made for this verdict (0 for rules and cache hits).
        cached: the verdict came from the cache.
        error: what went wrong, when the judge failed.

    Example:
        >>> JudgeResult(score=None, status="invalid", judge="llm:gpt-4o").correct is None
        True
    """

    score: int | None
    status: JudgeStatus
    judge: str
    raw: str | None = None
    attempts: int = 0
    cached: bool = False
    error: str | None = None

    @property
    def correct(self) -> bool | None:
        """The verdict as the reward wants it: True, False, or None (no verdict)."""
        return None if self.score is None else bool(self.score)

    @property
    def decided(self) -> bool:
        """True when the judge reached a verdict (``ok``)."""
        return self.status == "ok"


class Judge(ABC):
    """A judge of answers: ``await judge.score(question, ground_truth, prediction)``.

    Subclasses implement :meth:`score`; batches, the sync wrappers and closing come free.

    Example:
        >>> from visionthink_agent.judge import ChoiceJudge
        >>> [r.score for r in ChoiceJudge().score_many_sync([("Q", "B", "(B) a dog"),
        ...                                                   ("Q", "B", "C")])]
        [1, 0]
    """

    name: str = "judge"
    batch_workers: int | None = None
    """How many judgements :meth:`score_many` runs at once (None: all of them)."""

    @abstractmethod
    async def score(self, question: str, ground_truth: str, prediction: str) -> JudgeResult:
        """Judge one prediction against the ground truth."""

    async def score_many(self, items: Iterable[JudgeTriple]) -> list[JudgeResult]:
        """Judge many ``(question, ground_truth, prediction)`` concurrently, results in order.

        At most :attr:`batch_workers` run at once (a judge with a connection limit sets it, so a
        big batch does not start thousands of waiting tasks). The first :class:`JudgeError`
        (policy ``raise``) cancels the calls still running and propagates.

        Example:
            >>> from visionthink_agent.judge import ExactMatchJudge
            >>> asyncio.run(ExactMatchJudge().score_many([("Q", "a", "A")]))[0].score
            1
        """
        todo = list(enumerate(items))
        if not todo:
            return []
        results: list[JudgeResult | None] = [None] * len(todo)
        queue = iter(todo)  # shared by the workers: each item is taken once

        async def worker() -> None:
            for index, (question, ground_truth, prediction) in queue:
                results[index] = await self.score(question, ground_truth, prediction)

        workers = min(len(todo), self.batch_workers or len(todo))
        tasks = [asyncio.ensure_future(worker()) for _ in range(workers)]
        done, pending = await asyncio.wait(tasks, return_when=asyncio.FIRST_EXCEPTION)
        for task in pending:
            task.cancel()
        if pending:
            await asyncio.gather(*pending, return_exceptions=True)
        for task in done:
            if task.exception() is not None:
                raise task.exception()  # type: ignore[misc]
        return [result for result in results if result is not None]

    async def aclose(self) -> None:  # noqa: B027 - optional hook, a no-op by default
        """Release network resources (a no-op for rule judges).

        Example:
            >>> from visionthink_agent.judge import ExactMatchJudge
            >>> asyncio.run(ExactMatchJudge().aclose())
        """

    def score_sync(self, question: str, ground_truth: str, prediction: str) -> JudgeResult:
        """Blocking :meth:`score` for scripts (not inside a running event loop).

        Example:
            >>> from visionthink_agent.judge import NumericJudge
            >>> NumericJudge().score_sync("How many?", "12", "12.0").score
            1
        """
        return self._run(self.score(question, ground_truth, prediction))

    def score_many_sync(self, items: Iterable[JudgeTriple]) -> list[JudgeResult]:
        """Blocking :meth:`score_many` for scripts (not inside a running event loop).

        Example:
            >>> from visionthink_agent.judge import ExactMatchJudge
            >>> len(ExactMatchJudge().score_many_sync([("Q", "a", "b")] * 3))
            3
        """
        return self._run(self.score_many(items))

    def _run(self, coroutine: Coroutine[Any, Any, T]) -> T:
        try:
            asyncio.get_running_loop()
        except RuntimeError:
            pass
        else:
            coroutine.close()
            raise RuntimeError(
                f"{type(self).__name__}.score_sync/score_many_sync cannot run inside a running "
                "event loop; await score()/score_many() instead"
            )

        async def run_and_close() -> T:
            try:
                return await coroutine
            finally:
                await self.aclose()

        return asyncio.run(run_and_close())
