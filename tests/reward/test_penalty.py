"""The penalty control over one GRPO group: every edge case of protocol §4, both semantics."""

from __future__ import annotations

import math

import pytest

from visionthink_agent.reward import Sample, apply_group_penalty, apply_penalty_by_uid

# D+ / D-: correct / wrong direct answer; R+ / R-: correct / wrong answer after a resize.
KINDS = {
    "D+": Sample(True, resized=False),
    "D-": Sample(False, resized=False),
    "R+": Sample(True, resized=True),
    "R-": Sample(False, resized=True),
}


def group(spec: str) -> list[Sample]:
    return [KINDS[kind] for kind in spec.split()]


# (group, theta, released penalised, paper penalised, ratio)
CASES = [
    pytest.param("D- R- D- R-", 0.2, (), (), None, id="nothing-correct"),
    pytest.param("D+ D+ D+ D-", 0.2, (), (), 1.0, id="all-correct-direct"),
    pytest.param("R+ R+ R-", 0.2, (0, 1), (), 0.0, id="only-resize-correct"),
    pytest.param("D- R+ R+ R-", 0.2, (1, 2), (0,), 0.0, id="r=0-paper-hits-wrong-direct"),
    pytest.param("D+ R+ R+ R+ R+", 0.2, (1, 2, 3, 4), (1, 2, 3, 4), 0.2, id="r=theta"),
    pytest.param(
        "D+ " + "R+ " * 9, 0.2, tuple(range(10)), (0,), 0.1, id="0<r<theta-all-correct-hit"
    ),
    pytest.param("D+ R+ R+ R+ R+ R+ D-", 0.2, (0, 1, 2, 3, 4, 5), (0, 6), 1 / 6, id="r<theta"),
    pytest.param("D+ D+ R+ R- D-", 0.2, (2,), (2, 3), 2 / 3, id="r>=theta"),
    pytest.param("R+", 0.2, (0,), (), 0.0, id="single-resize"),
    pytest.param("D+", 0.2, (), (), 1.0, id="single-direct"),
    pytest.param("D+ R+ R-", 0.0, (1,), (1, 2), 0.5, id="theta=0-penalise-every-resize"),
    pytest.param("D+ R+ D-", 1.0, (0, 1), (0, 2), 0.5, id="theta=1"),
]


@pytest.mark.parametrize(("spec", "theta", "released", "paper", "ratio"), CASES)
def test_penalty_table(
    spec: str,
    theta: float,
    released: tuple[int, ...],
    paper: tuple[int, ...],
    ratio: float | None,
) -> None:
    samples = group(spec)
    for semantics, expected in (("released", released), ("paper", paper)):
        out = apply_group_penalty(samples, semantics=semantics, theta=theta)  # type: ignore[arg-type]
        assert out.stats.penalised == expected, semantics
        assert out.stats.ratio == (None if ratio is None else pytest.approx(ratio))
        assert out.stats.valid
        for i, sample in enumerate(samples):
            base = float(bool(sample.correct)) + 0.5
            assert out.scores[i] == pytest.approx(base - (0.1 if i in expected else 0.0))
            assert out.penalties[i] == (0.1 if i in expected else 0.0)


def test_released_correct_resize_scores_point_nine_accuracy() -> None:
    out = apply_group_penalty(group("D+ D+ D+ D+ R+"))
    assert out.scores == [1.5, 1.5, 1.5, 1.5, 1.4]
    assert (out.stats.c_direct, out.stats.c_high, out.stats.resized) == (4, 1, 1)


def test_format_and_penalty_add_up() -> None:
    out = apply_group_penalty([Sample(True, resized=True, format_ok=False), KINDS["D-"]])
    assert out.scores == [0.9, 0.5]


def test_a_failed_judge_invalidates_the_group() -> None:
    out = apply_group_penalty([KINDS["R+"], Sample(None, resized=False), KINDS["D+"]])
    assert not out.stats.valid
    assert out.stats.penalised == ()
    assert out.scores[0] == 1.5
    assert math.isnan(out.scores[1])
    assert out.stats.as_dict()["penalty/valid"] == 0.0


def test_custom_sizes() -> None:
    out = apply_group_penalty(group("D+ R+"), theta=0.6, penalty=0.25)
    assert out.scores == [1.25, 1.25]  # r = 0.5 < 0.6: both correct answers penalised


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"semantics": "eq5"}, "semantics must be"),
        ({"theta": 1.5}, "theta must lie in"),
        ({"penalty": -0.1}, "penalty must be >= 0"),
    ],
)
def test_bad_settings_are_named(kwargs: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        apply_group_penalty(group("D+"), **kwargs)  # type: ignore[arg-type]


def test_empty_group_is_an_error() -> None:
    with pytest.raises(ValueError, match="at least one sample"):
        apply_group_penalty([])


def test_by_uid_groups_an_interleaved_batch() -> None:
    uids = ["a", "b", "a", "b", "c"]
    samples = [KINDS["R+"], KINDS["D+"], KINDS["D-"], KINDS["R+"], Sample(None, resized=True)]
    out = apply_penalty_by_uid(uids, samples)
    assert out.scores[:4] == [1.4, 1.5, 0.5, 1.4]
    assert math.isnan(out.scores[4])
    assert out.groups["a"].ratio == 0.0
    assert out.groups["b"].penalised == (1,)  # index within group b
    assert out.invalid_uids == ("c",)


def test_by_uid_needs_one_uid_per_sample() -> None:
    with pytest.raises(ValueError, match="got 1 uids for 2 samples"):
        apply_penalty_by_uid(["a"], group("D+ D+"))
