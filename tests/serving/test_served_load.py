"""The served graph under a bounded load: a real ``langgraph dev`` (the graph as a user serves
it) backed by the real vLLM server, 32 client threads at once, each with its own images and some
bad inputs (:mod:`visionthink_agent.serving.load`). It checks correctness, not speed
(``benchmarks/bench_served_load.py`` measures): every question answered with its own image's
answer, resize and token account, every bad input refused in one line, the server still
answering afterwards.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from visionthink_agent.serving.langgraph_dev import serve_langgraph_dev
from visionthink_agent.serving.load import BAD_INPUTS, load_plan, load_problems, run_load

pytestmark = [pytest.mark.slow, pytest.mark.timeout(1800)]  # the first test starts vLLM

THREADS, QUESTIONS = 32, 2


def test_32_clients_at_once_each_get_their_own_answers_through_vllm(
    vllm_url: str, tmp_path: Path
) -> None:
    plan = load_plan(THREADS, QUESTIONS)
    # the API server runs 10 runs at a time by default; all 32 threads' runs are in flight here
    settings = {"VISIONTHINK_BASE_URL": vllm_url, "N_JOBS_PER_WORKER": str(THREADS)}
    with serve_langgraph_dev(tmp_path, settings) as dev:
        run = run_load(dev.url, plan, watch={"langgraph dev": dev.pid})
        after = run_load(dev.url, load_plan(1, 1))
    print(run.summary())
    kinds = Counter(o.question.kind for o in run.outcomes)
    assert set(kinds) == {"good", *BAD_INPUTS}
    assert kinds["good"] == 48
    assert len({o.question.sample_id for o in run.outcomes if o.question.sample_id}) == 48
    assert load_problems(run) == []
    assert load_problems(after) == []
