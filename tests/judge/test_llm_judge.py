"""LLMJudge against a real HTTP judge server on loopback (no mocked client)."""

from __future__ import annotations

import asyncio
import socket
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from tests.judge.judge_server import ScriptedJudge
from visionthink_agent.judge import JudgeCache, JudgeError, LLMJudge
from visionthink_agent.protocol import JUDGE_SYSTEM_PROMPT

Server = tuple[str, ScriptedJudge]


def make(base_url: str, model: str, **kwargs: object) -> LLMJudge:
    options: dict[str, object] = {"backoff": 0.01, "max_backoff": 0.05, "cache": False}
    options.update(kwargs)
    return LLMJudge(base_url, model, **options)  # type: ignore[arg-type]


async def test_sends_the_exact_visionthink_prompt_at_temperature_zero(server: Server) -> None:
    url, state = server
    async with make(url, "correct") as judge:
        result = await judge.score("Is {x} red?", "yes", "Yes, it is {red}")
    assert (result.score, result.status, result.attempts, result.raw) == (1, "ok", 1, "Score: 1")
    (request,) = state.requests
    assert request["temperature"] == 0.0
    system, user = request["messages"]
    assert system == {"role": "system", "content": JUDGE_SYSTEM_PROMPT}
    assert "**Question Related to the Image**: Is {x} red?\n" in user["content"]
    assert "**Ground Truth Answer**: yes\n" in user["content"]
    assert "**Model Predicted Answer**: Yes, it is {red}\n" in user["content"]


@pytest.mark.parametrize(
    ("model", "score"),
    [("correct", 1), ("wrong", 0), ("tricky", 0)],  # tricky: "Score: 0 ... 1 item"
)
async def test_reads_the_score_strictly(server: Server, model: str, score: int) -> None:
    async with make(server[0], model) as judge:
        assert (await judge.score("Q", "2", "1")).score == score


async def test_unparsable_replies_are_retried_at_rising_temperatures(server: Server) -> None:
    url, state = server
    async with make(url, "garbage", max_retries=3, failure_policy="invalid") as judge:
        result = await judge.score("Q", "a", "b")
    assert (result.score, result.status, result.attempts) == (None, "invalid", 4)
    assert "unparsable judge reply" in (result.error or "")
    assert "quite good" not in (result.error or "")  # the reply is not quoted
    assert [r["temperature"] for r in state.requests] == [0.0, 0.2, 0.4, 0.4]
    assert judge.stats.as_dict() == {
        "judge/requests": 1,
        "judge/calls": 4,
        "judge/retries": 3,
        "judge/failures": 1,
        "judge/cache_hits": 0,
    }


@pytest.mark.parametrize(
    ("model", "attempts"), [("429x2", 3), ("500x1", 2), ("dropx1", 2), ("garbagex2", 3)]
)
async def test_transient_failures_recover(server: Server, model: str, attempts: int) -> None:
    async with make(server[0], model, max_retries=3) as judge:
        result = await judge.score("Q", "a", "b")
    assert (result.score, result.status, result.attempts) == (1, "ok", attempts)
    assert judge.stats.retries == attempts - 1


async def test_timeouts_end_in_the_failure_policy(server: Server) -> None:
    async with make(server[0], "slow:2", timeout=0.2, max_retries=1, failure_policy="zero") as j:
        result = await j.score("Q", "a", "b")
    assert (result.score, result.status, result.attempts) == (0, "failed", 2)
    assert "timed out" in (result.error or "")


async def test_persistent_5xx_raises_by_default(server: Server) -> None:
    async with make(server[0], "500xinf", max_retries=2) as judge:
        with pytest.raises(JudgeError, match=r"no verdict after 3 attempt\(s\): HTTP 500"):
            await judge.score("Q", "a", "b")


async def test_client_errors_are_not_retried(server: Server) -> None:
    url, state = server
    async with make(url, "bad_request", max_retries=3, failure_policy="invalid") as judge:
        result = await judge.score("Q", "a", "b")
    assert (result.status, result.attempts, state.count) == ("invalid", 1, 1)
    assert "HTTP 400" in (result.error or "")
    assert "unknown model" not in (result.error or "")  # the body is not quoted


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_a_judge_that_is_down_fails_loudly_or_marks_invalid() -> None:
    url = f"http://127.0.0.1:{_closed_port()}/v1"
    with pytest.raises(JudgeError, match="connection failed"):
        make(url, "m", max_retries=1).score_sync("Q", "a", "b")
    invalid = make(url, "m", max_retries=1, failure_policy="invalid").score_sync("Q", "a", "b")
    assert (invalid.score, invalid.correct, invalid.status) == (None, None, "invalid")


async def test_memory_cache_and_identical_calls_in_flight_are_shared(server: Server) -> None:
    url, state = server
    async with make(url, "slow:0.2", cache=True) as judge:
        results = await judge.score_many([("Q", "a", "b")] * 5)
        again = await judge.score("Q", "a", "b")
    assert [r.score for r in results] == [1] * 5
    assert sum(r.cached for r in results) == 4
    assert again.cached
    assert state.count == 1
    assert (judge.stats.calls, judge.stats.cache_hits) == (1, 5)


def test_sqlite_cache_survives_a_restart(server: Server, tmp_path: Path) -> None:
    url, state = server
    path = tmp_path / "verdicts.sqlite"
    first = make(url, "wrong", cache=path).score_many_sync([("Q", "a", "b"), ("Q", "a", "c")])
    restarted = make(url, "wrong", cache=JudgeCache(path))
    second = restarted.score_many_sync([("Q", "a", "b"), ("Q", "a", "c")])
    assert [r.score for r in first] == [r.score for r in second] == [0, 0]
    assert all(r.cached for r in second)
    assert state.count == 2
    assert restarted.stats.calls == 0


async def test_concurrency_limit_holds(server: Server) -> None:
    url, state = server
    async with make(url, "slow:0.1", concurrency=3) as judge:
        results = await judge.score_many([("Q", "a", str(i)) for i in range(9)])
    assert all(r.score == 1 for r in results)
    assert state.peak_inflight["slow:0.1"] == 3


async def test_score_sync_refuses_a_running_loop(server: Server) -> None:
    with pytest.raises(RuntimeError, match="inside a running event loop"):
        make(server[0], "correct").score_sync("Q", "a", "b")


def test_sync_wrappers_can_be_called_repeatedly(server: Server) -> None:
    judge = make(server[0], "correct")
    assert judge.score_sync("Q", "a", "b").score == 1
    assert [r.score for r in judge.score_many_sync([("Q", "a", "c")] * 2)] == [1, 1]


async def test_score_many_raise_cancels_the_rest(server: Server) -> None:
    url, _ = server
    async with make(url, "bad_request", max_retries=0) as judge:
        with pytest.raises(JudgeError, match="HTTP 400"):
            await judge.score_many([("Q", "a", str(i)) for i in range(4)])
    await asyncio.sleep(0)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"base_url": "localhost:8000"}, "base_url must start"),
        ({"concurrency": 0}, "concurrency must be >= 1"),
        ({"temperatures": ()}, "temperatures must be"),
        ({"failure_policy": "ignore"}, "failure_policy must be"),
        ({"timeout": 0}, "timeout must be > 0"),
    ],
)
def test_bad_arguments_are_named(kwargs: dict[str, object], message: str) -> None:
    options: dict[str, object] = {"base_url": "http://127.0.0.1:1/v1", "model": "m"}
    options.update(kwargs)
    with pytest.raises(ValueError, match=message):
        LLMJudge(**options)  # type: ignore[arg-type]


def test_one_judge_serves_event_loops_in_several_threads(server: Server) -> None:
    judge = make(server[0], "slow:0.05", cache=True)
    items = [[("Q", "a", f"{t}-{i}") for i in range(8)] for t in range(4)]
    with ThreadPoolExecutor(4) as pool:
        batches = list(pool.map(judge.score_many_sync, items))
    assert [[r.score for r in batch] for batch in batches] == [[1] * 8] * 4
    assert judge.stats.calls == 32


def test_works_on_uvloop(server: Server) -> None:
    uvloop = pytest.importorskip("uvloop")

    async def main() -> list[int | None]:
        async with make(server[0], "wrong") as judge:
            return [r.score for r in await judge.score_many([("Q", "a", "b"), ("Q", "a", "c")])]

    assert uvloop.run(main()) == [0, 0]
