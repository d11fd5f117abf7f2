"""Properties of the format check, the reward sum and the penalty, and splitting veRL responses."""

from __future__ import annotations

import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from visionthink_agent.protocol import render_parts, tool_error_turn, tool_success_turn
from visionthink_agent.reward import (
    Sample,
    apply_group_penalty,
    assess_turns,
    format_score,
    split_model_turns,
    trajectory_reward,
)

CALL = '<tool_call>\n{"name": "resize_image", "arguments": {"action": "resize"}}\n</tool_call>'
# Free text without the protocol's tags (letters, digits, punctuation, newlines, a stray "<").
text = st.text(alphabet=st.sampled_from("ab xy12\n.,:{}<>"), max_size=20).filter(
    lambda s: (
        all(tag not in s for tag in ("<think>", "</think>", "<answer>", "</answer>"))
        and "<tool_call>" not in s
        and "</tool_call>" not in s
    )
)
TAGS = ["<think>", "</think>", "<answer>", "</answer>", "<tool_call>", "</tool_call>"]
fast = settings(max_examples=60, deadline=None)


def final_turn(think: str, answer: str) -> str:
    return f"<think>{think}</think><answer>{answer}</answer>"


@fast
@given(think=text, answer=text, first_think=text, resize=st.booleans())
def test_well_formed_trajectories_score_one(
    think: str, answer: str, first_think: str, resize: bool
) -> None:
    turns = [final_turn(think, answer)]
    if resize:
        turns.insert(0, f"<think>{first_think}</think>{CALL}")
    assert format_score(turns) == 1.0
    assert format_score(turns, strict_tool_call=True) == 1.0
    facts = assess_turns(turns)
    assert facts.resized is resize
    assert facts.format_ok


@fast
@given(think=text, answer=text, tag=st.sampled_from(TAGS), where=st.integers(0, 6))
def test_a_stray_tag_breaks_the_format(think: str, answer: str, tag: str, where: int) -> None:
    parts = ["<think>", think, "</think>", "<answer>", answer, "</answer>"]
    parts.insert(where, tag)
    assert format_score(["".join(parts)]) == 0.0


@fast
@given(turns=st.lists(text, max_size=3))
def test_format_score_is_zero_or_one(turns: list[str]) -> None:
    assert format_score(turns) in (0.0, 1.0)


@fast
@given(
    acc=st.sampled_from([0.0, 1.0]),
    fmt=st.sampled_from([0.0, 1.0]),
    pen=st.sampled_from([0.0, 0.1]),
)
def test_reward_is_acc_plus_half_format_minus_penalty(acc: float, fmt: float, pen: float) -> None:
    assert trajectory_reward(acc, fmt, pen) == pytest.approx(acc + 0.5 * fmt - pen)


def test_reward_rejects_out_of_range_parts() -> None:
    with pytest.raises(ValueError, match="acc must lie in"):
        trajectory_reward(2.0, 1.0)
    with pytest.raises(ValueError, match="penalty must be >= 0"):
        trajectory_reward(1.0, 1.0, -0.1)


samples = st.lists(
    st.builds(Sample, correct=st.booleans(), resized=st.booleans(), format_ok=st.booleans()),
    min_size=1,
    max_size=16,
)


@fast
@given(group=samples, theta=st.floats(0, 1), semantics=st.sampled_from(["released", "paper"]))
def test_penalty_invariants(group: list[Sample], theta: float, semantics: str) -> None:
    out = apply_group_penalty(group, semantics=semantics, theta=theta)  # type: ignore[arg-type]
    assert set(out.penalties) <= {0.0, 0.1}
    assert [i for i, p in enumerate(out.penalties) if p] == list(out.stats.penalised)
    for sample, score, pen in zip(group, out.scores, out.penalties, strict=True):
        base = float(bool(sample.correct)) + 0.5 * sample.format_ok
        assert score == pytest.approx(base - pen)
        if semantics == "released" and not sample.correct:
            assert pen == 0.0  # the released code only touches correct answers
    if not any(s.correct for s in group):
        assert out.stats.penalised == ()
    if semantics == "paper":  # one decision per action
        for resized in (True, False):
            assert (
                len({p for s, p in zip(group, out.penalties, strict=True) if s.resized is resized})
                <= 1
            )


@fast
@given(group=samples, seed=st.integers(0, 2**16))
def test_penalty_is_order_free(group: list[Sample], seed: int) -> None:
    order = list(range(len(group)))
    random.Random(seed).shuffle(order)
    straight = apply_group_penalty(group)
    shuffled = apply_group_penalty([group[i] for i in order])
    assert shuffled.scores == [straight.scores[i] for i in order]


HEADERS = {
    "special tokens kept": (
        "<|im_end|>\n<|im_start|>user\n",
        "<|im_end|>\n<|im_start|>assistant\n",
    ),
    "special tokens skipped": ("\nuser\n", "\nassistant\n"),
    "token-level, no newline": (
        "<|im_end|><|im_start|>user\n",
        "<|im_end|>\n<|im_start|>assistant\n",
    ),
    "tool role": ("<|im_end|>\n<|im_start|>tool\n", "<|im_end|>\n<|im_start|>assistant\n"),
}


@fast
@given(
    first=text,
    second=text,
    headers=st.sampled_from(sorted(HEADERS)),
    error=st.one_of(st.none(), text),
    image=st.sampled_from(["", "<|vision_start|><|image_pad|><|image_pad|><|vision_end|>"]),
)
def test_split_recovers_the_model_turns(
    first: str, second: str, headers: str, error: str | None, image: str
) -> None:
    before, after = HEADERS[headers]
    tool = tool_success_turn() if error is None else tool_error_turn(error)
    turn1 = f"<think>{first}</think>{CALL}"
    turn2 = final_turn(second, "7")
    solution = turn1 + before + render_parts(tool, image_token=image) + after + turn2
    assert split_model_turns(solution + "<|im_end|>") == [turn1, turn2]
    facts = assess_turns(split_model_turns(solution))
    assert (facts.answer, facts.resized, facts.format_ok) == ("7", True, True)


def test_split_single_turn_and_truncated_call() -> None:
    assert split_model_turns("<think>a</think><answer>b</answer><|im_end|>") == [
        "<think>a</think><answer>b</answer>"
    ]
    only_call = f"<think>a</think>{CALL}"
    facts = assess_turns(split_model_turns(only_call))
    assert (facts.resized, facts.format_ok) == (False, False)  # no second turn came


def test_assess_needs_a_turn() -> None:
    with pytest.raises(ValueError, match="at least one model turn"):
        assess_turns([])
