"""Done-when of the reward: a judge that is down fails loudly or marks samples invalid, never 0."""

from __future__ import annotations

import math
import socket

import pytest

from visionthink_agent.judge import JudgeError, LLMJudge
from visionthink_agent.reward import Sample, apply_group_penalty, assess_turns, split_model_turns

TRAJECTORY = "<think>I can read it</think><answer>42</answer><|im_end|>"


def _down_judge_url() -> str:
    with socket.socket() as sock:  # bound then closed: nothing listens there
        sock.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{sock.getsockname()[1]}/v1"


def test_a_down_judge_invalidates_the_group_instead_of_scoring_zero() -> None:
    judge = LLMJudge(_down_judge_url(), "gpt-4o", max_retries=1, backoff=0.01,
                     failure_policy="invalid")  # fmt: skip
    facts = assess_turns(split_model_turns(TRAJECTORY))
    verdict = judge.score_sync("What number?", "42", facts.answer)
    group = apply_group_penalty(
        [Sample(verdict.correct, facts.resized, facts.format_ok), Sample(True, resized=True)]
    )
    assert verdict.status == "invalid"
    assert not group.stats.valid
    assert math.isnan(group.scores[0])
    assert judge.stats.failures == 1


def test_a_down_judge_raises_by_default() -> None:
    judge = LLMJudge(_down_judge_url(), "gpt-4o", max_retries=0)
    with pytest.raises(JudgeError, match="gave no verdict after 1 attempt"):
        judge.score_sync("What number?", "42", "42")
