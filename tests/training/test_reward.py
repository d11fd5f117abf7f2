"""``training.reward.compute_score`` against H5's scripted loopback judge server."""

from __future__ import annotations

import pytest

pytest.importorskip("verl")
pytest.importorskip("aiohttp")

from tests.judge.judge_server import serve_in_thread
from tests.training.loop_harness import ANSWER_TURN, RESIZE_TURN, run_loop
from training.reward import compute_score, judge_from_settings
from training.settings import ConfigError

pytestmark = pytest.mark.verl

KEYS = {
    "score", "acc", "format", "resized", "judge_ok", "needs_high_res", "category",
    "judge_status", "pred",
}  # fmt: skip


@pytest.fixture(scope="module")
def judge_url():
    with serve_in_thread() as (url, _state):
        yield url


def _judge(url: str, model: str) -> dict:
    # rules_first off: every verdict comes from the server; no retries, no cache between tests.
    return {
        "base_url": url, "model": model, "max_retries": 0, "cache": False, "rules_first": False,
    }  # fmt: skip


async def _decoded_resize_trajectory(loop_config, tokenizer, processor, row) -> str:
    """The response text exactly as veRL's naive reward manager decodes it."""
    output, _ = await run_loop(loop_config, tokenizer, processor, row, [RESIZE_TURN, ANSWER_TURN])
    return tokenizer.decode(output.response_ids, skip_special_tokens=True)


async def test_resize_trajectory_scores_acc_format_and_resize(
    judge_url, loop_config, tokenizer, processor, dataset_row
):
    row = dataset_row()
    text = await _decoded_resize_trajectory(loop_config, tokenizer, processor, row)
    result = await compute_score(
        row["data_source"], text, "42", row["extra_info"], judge=_judge(judge_url, "echo")
    )
    assert set(result) == KEYS
    assert result == {
        "score": 1.5, "acc": 1.0, "format": 1.0, "resized": 1.0, "judge_ok": 1.0,
        "needs_high_res": -1.0, "category": row["data_source"], "judge_status": "ok",
        "pred": "42",
    }  # fmt: skip
    judge_from_settings.cache_clear()


@pytest.mark.parametrize(
    ("model", "expected"),
    [
        ("wrong", {"score": 0.5, "acc": 0.0, "judge_ok": 1.0, "judge_status": "ok"}),
        ("500xinf", {"score": 0.5, "acc": 0.0, "judge_ok": 0.0, "judge_status": "invalid"}),
        ("garbage", {"score": 0.5, "acc": 0.0, "judge_ok": 0.0, "judge_status": "invalid"}),
    ],
)
async def test_verdicts_and_failures_keep_the_same_keys(judge_url, model, expected):
    direct = "<think>easy</think><answer>41</answer>"
    result = await compute_score(
        "d", direct, "42", {"question": "Sum?"}, judge=_judge(judge_url, model)
    )
    assert set(result) == KEYS
    assert {k: result[k] for k in expected} == expected
    assert (result["resized"], result["format"]) == (0.0, 1.0)
    judge_from_settings.cache_clear()


async def test_judge_sees_question_truth_and_extracted_answer(judge_url):
    with serve_in_thread() as (url, state):
        await compute_score(
            "d", "<think>x</think><answer>\\boxed{7}</answer>", "seven", {"question": "How many?"},
            judge=_judge(url, "correct"),
        )  # fmt: skip
        (request,) = state.requests
    prompt = request["messages"][-1]["content"]
    assert "**Question Related to the Image**: How many?" in prompt
    assert "**Ground Truth Answer**: seven" in prompt
    assert "**Model Predicted Answer**: 7" in prompt
    judge_from_settings.cache_clear()


async def test_bad_judge_settings_are_named():
    with pytest.raises(ConfigError, match=r"^reward_kwargs\.judge\.model: "):
        await compute_score("d", "x", "y", {}, judge={"base_url": "http://127.0.0.1:9/v1"})


async def test_exact_match_judge_decides_every_closed_set_answer() -> None:
    judge = {"model": "exact-match"}
    right = await compute_score(
        "d", "<think>x</think><answer>harbor</answer>", "harbor", {}, judge=judge
    )
    wrong = await compute_score(
        "d", "<think>x</think><answer>harbour</answer>", "harbor", {}, judge=judge
    )
    assert (right["acc"], right["judge_ok"]) == (1.0, 1.0)
    assert (wrong["acc"], wrong["judge_ok"]) == (0.0, 1.0)
