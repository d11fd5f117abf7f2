"""LLM-as-judge against any OpenAI-compatible ``/chat/completions`` endpoint.

The request is the exact VisionThink judge prompt; the reply is read strictly
(:func:`~visionthink_agent.judge.prompt.parse_score`). Failures are retried with exponential
backoff and jitter (429, 408, 5xx, timeouts, dropped connections, unparsable replies), each retry
at the next temperature of ``temperatures`` (the authors' 0 → 0.2 → 0.4). What happens when
no verdict comes is explicit — ``failure_policy``:

* ``"raise"`` (default): :class:`~visionthink_agent.judge.base.JudgeError`;
* ``"invalid"``: score None, status ``invalid`` — training drops the sample's group;
* ``"zero"``: score 0, status ``failed`` — counted as wrong, but visibly so.

The HTTP layer is :class:`~visionthink_agent.judge.http.JsonPostClient`, a lean keep-alive
HTTP/1.1 client with one connection per concurrency slot: the ``openai`` client (its own retries
and per-request overhead), ``httpx`` and ``aiohttp`` cost more CPU per call, which limits a
training step's judge throughput on a small machine (``benchmarks/bench_judge.py`` measures them
side by side; aiohttp, the fastest library, stays below the 85%-of-ideal bar for shipping). The
wire format is the OpenAI chat-completions API; HTTP proxies are not used (a warning says so).

Example:
    >>> judge = LLMJudge("http://127.0.0.1:8000/v1", "gpt-4o", failure_policy="invalid")
    >>> judge.score_sync("What color?", "red", "crimson").score  # doctest: +SKIP
    1
"""

from __future__ import annotations

import asyncio
import json
import os
import random
import weakref
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Literal, TypeAlias

from visionthink_agent.judge.base import Judge, JudgeError, JudgeResult
from visionthink_agent.judge.cache import JudgeCache
from visionthink_agent.judge.http import (
    HTTPTimeoutError,
    HTTPTransportError,
    JsonPostClient,
    Response,
)
from visionthink_agent.judge.prompt import judge_request_body, parse_score

__all__ = ["FailurePolicy", "JudgeStats", "LLMJudge"]

FailurePolicy: TypeAlias = Literal["raise", "zero", "invalid"]

_RETRYABLE_STATUS = frozenset({408, 409, 429})


@dataclass
class JudgeStats:
    """Counters of one :class:`LLMJudge` (cumulative; read them for logging).

    Attributes:
        requests: judgements asked for (including cache hits).
        calls: HTTP requests sent.
        retries: attempts after the first (for any reason).
        failures: judgements that ended without a verdict.
        cache_hits: judgements answered from the cache (or by an identical one in flight).

    Example:
        >>> JudgeStats(requests=2, cache_hits=1).as_dict()["judge/cache_hits"]
        1
    """

    requests: int = 0
    calls: int = 0
    retries: int = 0
    failures: int = 0
    cache_hits: int = 0

    def as_dict(self) -> dict[str, int]:
        """The counters as ``judge/<name>`` metrics."""
        return {f"judge/{name}": value for name, value in asdict(self).items()}


class _RetryableError(Exception):
    """An attempt failed in a way worth retrying."""

    def __init__(self, message: str, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class _Session:
    """The connections and slots of one event loop (connections are bound to their loop)."""

    def __init__(self, url: str, concurrency: int, timeout: float, headers: dict[str, str]):
        self.client = JsonPostClient(url, slots=concurrency, timeout=timeout, headers=headers)
        self.slots: asyncio.Queue[int] = asyncio.Queue()
        for slot in range(concurrency):
            self.slots.put_nowait(slot)
        self.inflight: dict[str, asyncio.Future[JudgeResult]] = {}


class LLMJudge(Judge):
    """Judge answers with an LLM behind an OpenAI-compatible endpoint (GPT-4o, vLLM, ...).

    Args:
        base_url: the API root, e.g. ``https://api.openai.com/v1`` or ``http://host:8000/v1``.
        model: the judge model name sent with each request.
        api_key: bearer token; defaults to ``$OPENAI_API_KEY`` (none sent when unset).
        concurrency: most requests in flight at once.
        timeout: seconds allowed to connect, and again for the whole reply, per attempt.
        max_retries: attempts after the first, so at most ``1 + max_retries`` requests.
        temperatures: temperature of attempt i is ``temperatures[min(i, len - 1)]``.
        cache: True for an in-memory cache, False for none, a path for a SQLite-backed one, or
            a :class:`JudgeCache` to share.
        failure_policy: ``"raise"``, ``"zero"`` or ``"invalid"`` (see the module docs).
        backoff: base delay in seconds; attempt i waits about ``backoff * 2**i`` (with jitter,
            at least a 429's ``Retry-After``), capped at ``max_backoff``.
        max_backoff: the cap on one delay.
        max_tokens: optional ``max_tokens`` for the reply.

    Example:
        >>> judge = LLMJudge("http://127.0.0.1:8000/v1", "qwen3-8b", concurrency=256, cache=False)
        >>> judge.concurrency, judge.temperatures
        (256, (0.0, 0.2, 0.4))

    Raises:
        ValueError: on a malformed argument (named in the message).
    """

    def __init__(
        self,
        base_url: str,
        model: str,
        *,
        api_key: str | None = None,
        concurrency: int = 64,
        timeout: float = 60.0,
        max_retries: int = 3,
        temperatures: Sequence[float] = (0.0, 0.2, 0.4),
        cache: bool | str | os.PathLike[str] | JudgeCache = True,
        failure_policy: FailurePolicy = "raise",
        backoff: float = 0.5,
        max_backoff: float = 8.0,
        max_tokens: int | None = None,
    ) -> None:
        if not base_url.startswith(("http://", "https://")):
            raise ValueError(f"base_url must start with http:// or https://; got {base_url!r}")
        if not model:
            raise ValueError("model must be a non-empty model name")
        if concurrency < 1:
            raise ValueError(f"concurrency must be >= 1; got {concurrency}")
        if timeout <= 0:
            raise ValueError(f"timeout must be > 0 seconds; got {timeout}")
        if max_retries < 0:
            raise ValueError(f"max_retries must be >= 0; got {max_retries}")
        if not temperatures or any(not 0.0 <= t <= 2.0 for t in temperatures):
            raise ValueError(f"temperatures must be a non-empty list in [0, 2]; got {temperatures}")
        if failure_policy not in ("raise", "zero", "invalid"):
            raise ValueError(
                f"failure_policy must be 'raise', 'zero' or 'invalid'; got {failure_policy!r}"
            )
        if backoff < 0 or max_backoff < 0:
            raise ValueError(f"backoff delays must be >= 0; got {backoff}, {max_backoff}")
        self.base_url = base_url.rstrip("/")
        self.model = model
        self.name = f"llm:{model}"
        self.concurrency = concurrency
        self.batch_workers = concurrency
        self.timeout = timeout
        self.max_retries = max_retries
        self.temperatures = tuple(float(t) for t in temperatures)
        self.failure_policy: FailurePolicy = failure_policy
        self.backoff = backoff
        self.max_backoff = max_backoff
        self.max_tokens = max_tokens
        self.cache = _make_cache(cache)
        self.stats = JudgeStats()
        key = api_key if api_key is not None else os.environ.get("OPENAI_API_KEY")
        self._headers: dict[str, str] = {}
        if key:
            self._headers["Authorization"] = f"Bearer {key}"
        self._url = f"{self.base_url}/chat/completions"
        # One session per event loop: connections and queues belong to the loop that made them
        # (a reward worker may call from several loops, e.g. asyncio.run in threads).
        self._sessions: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, _Session] = (
            weakref.WeakKeyDictionary()
        )

    async def score(self, question: str, ground_truth: str, prediction: str) -> JudgeResult:
        """Judge one prediction (cached verdicts and identical calls in flight are shared).

        Example:
            >>> judge = LLMJudge("http://127.0.0.1:8000/v1", "gpt-4o")
            >>> asyncio.run(judge.score("Q?", "4", "four")).status  # doctest: +SKIP
            'ok'

        Raises:
            JudgeError: no verdict and ``failure_policy="raise"``.
        """
        self.stats.requests += 1
        key = (
            ""
            if self.cache is None
            else JudgeCache.key(self.model, question, ground_truth, prediction)
        )
        if self.cache is not None and (hit := self.cache.get(key)) is not None:
            self.stats.cache_hits += 1
            return JudgeResult(score=hit[0], status="ok", judge=self.name, raw=hit[1], cached=True)
        session = self._current_session()
        if self.cache is None:  # no cache: every call is sent, even identical ones in flight
            return await self._judge(session, key, question, ground_truth, prediction)
        pending = session.inflight.get(key)
        if pending is not None:
            self.stats.cache_hits += 1
            shared = await asyncio.shield(pending)
            return JudgeResult(
                score=shared.score, status=shared.status, judge=self.name, raw=shared.raw,
                cached=True, error=shared.error,
            )  # fmt: skip
        future: asyncio.Future[JudgeResult] = asyncio.get_running_loop().create_future()
        session.inflight[key] = future
        try:
            result = await self._judge(session, key, question, ground_truth, prediction)
        except asyncio.CancelledError:
            future.cancel()
            raise
        except Exception as exc:
            future.set_exception(exc)
            future.exception()  # mark retrieved: the waiters (if any) re-raise it
            raise
        else:
            future.set_result(result)
            return result
        finally:
            del session.inflight[key]

    async def aclose(self) -> None:
        """Close the HTTP connections of the current event loop.

        Example:
            >>> asyncio.run(LLMJudge("http://127.0.0.1:8000/v1", "m").aclose())
        """
        session = self._sessions.pop(asyncio.get_running_loop(), None)
        if session is not None:
            session.client.close()

    async def __aenter__(self) -> LLMJudge:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    def _current_session(self) -> _Session:
        loop = asyncio.get_running_loop()
        session = self._sessions.get(loop)
        if session is None:
            session = _Session(self._url, self.concurrency, self.timeout, dict(self._headers))
            self._sessions[loop] = session
        return session

    async def _judge(
        self, session: _Session, key: str, question: str, ground_truth: str, prediction: str
    ) -> JudgeResult:
        error = "no attempt made"
        attempts = 0
        for attempt in range(self.max_retries + 1):
            if attempt:
                self.stats.retries += 1
            temperature = self.temperatures[min(attempt, len(self.temperatures) - 1)]
            attempts += 1
            retry_after: float | None = None
            try:
                body = judge_request_body(
                    self.model,
                    question,
                    ground_truth,
                    prediction,
                    temperature=temperature,
                    max_tokens=self.max_tokens,
                )
                reply = await self._request(session, body)
            except _RetryableError as exc:
                error, retry_after = str(exc), exc.retry_after
            except JudgeError as exc:  # not worth retrying (e.g. 400, 401, 404)
                error = str(exc)
                break
            else:
                score = parse_score(reply)
                if score is not None:
                    if self.cache is not None:
                        self.cache.put(key, score, reply)
                    return JudgeResult(
                        score=score, status="ok", judge=self.name, raw=reply, attempts=attempts
                    )
                error = (
                    f"unparsable judge reply ({len(reply)} characters without 'Score: 0' or "
                    "'Score: 1')"
                )
            if attempt < self.max_retries:
                await asyncio.sleep(self._delay(attempt, retry_after))
        return self._fail(error, attempts)

    async def _request(self, session: _Session, body: bytes) -> str:
        slot = await session.slots.get()
        try:
            self.stats.calls += 1
            response = await session.client.post(slot, body)
        except HTTPTimeoutError as exc:
            raise _RetryableError(f"timed out after {self.timeout} s: {exc}") from exc
        except HTTPTransportError as exc:
            raise _RetryableError(f"connection failed: {exc}") from exc
        finally:
            session.slots.put_nowait(slot)
        status = response.status
        if status != 200:
            message = f"HTTP {status} from {self._url}"  # the body is not quoted
            if status in _RETRYABLE_STATUS or status >= 500:
                raise _RetryableError(message, _retry_after(response))
            raise JudgeError(message)
        try:
            content = json.loads(response.body)["choices"][0]["message"]["content"]
        except (ValueError, KeyError, IndexError, TypeError) as exc:
            raise _RetryableError(
                f"malformed chat completion from {self._url}: no choices[0].message.content"
            ) from exc
        if not isinstance(content, str):
            raise _RetryableError(
                f"chat completion from {self._url} without text content ({type(content).__name__})"
            )
        return content

    def _delay(self, attempt: int, retry_after: float | None) -> float:
        cap = min(self.max_backoff, self.backoff * 2**attempt)
        delay = cap / 2 + random.uniform(0, cap / 2)  # "equal jitter"
        if retry_after is not None:
            delay = max(delay, min(retry_after, self.max_backoff))
        return delay

    def _fail(self, error: str, attempts: int) -> JudgeResult:
        self.stats.failures += 1
        message = (
            f"judge {self.model!r} at {self._url} gave no verdict after {attempts} "
            f"attempt(s): {error}"
        )
        if self.failure_policy == "raise":
            raise JudgeError(message)
        if self.failure_policy == "zero":
            return JudgeResult(
                score=0, status="failed", judge=self.name, attempts=attempts, error=message
            )
        return JudgeResult(
            score=None, status="invalid", judge=self.name, attempts=attempts, error=message
        )


def _retry_after(response: Response) -> float | None:
    try:
        return float(response.headers["retry-after"])
    except (KeyError, ValueError):
        return None


def _make_cache(cache: bool | str | os.PathLike[str] | JudgeCache) -> JudgeCache | None:
    if isinstance(cache, JudgeCache):
        return cache
    if cache is True:
        return JudgeCache()
    if cache is False:
        return None
    if isinstance(cache, (str, os.PathLike)):
        return JudgeCache(Path(cache))
    raise ValueError(f"cache must be a bool, a path or a JudgeCache; got {cache!r}")
