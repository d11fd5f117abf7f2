"""The three-mode runner end to end with a scripted model and the real VisionThink graph."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.evaluation.fakes import UNREADABLE, OracleVisionModel
from visionthink_agent.evaluation import (
    EvalSample,
    SyntheticBenchmark,
    load_benchmark,
    load_records,
    run_evaluation,
)
from visionthink_agent.judge import ExactMatchJudge, JudgeResult


def _oracle(samples: list[EvalSample], width: int = 448) -> OracleVisionModel:
    # the synthetic questions repeat across samples; make each one unique for the oracle
    return OracleVisionModel(
        answers={s.question: (s.answer, bool(s.metadata["needs_high_res"])) for s in samples},
        full_width=width,
    )


def _unique(samples: list[EvalSample]) -> list[EvalSample]:
    return [
        EvalSample(s.id, s.image, f"[{s.id}] {s.question}", s.answer, s.metadata) for s in samples
    ]


async def test_three_modes_have_the_expected_outcomes(
    synthetic: SyntheticBenchmark, tmp_path: Path
) -> None:
    assert synthetic.jsonl
    samples = _unique(load_benchmark(synthetic.jsonl))
    run = await run_evaluation(
        samples,
        model=_oracle(samples),
        judge=ExactMatchJudge(strict=True),
        out_dir=tmp_path,
        progress=False,
    )
    by_mode = {s.mode: s for s in run.summaries}
    # full sees everything; low cannot read the small print (half the samples);
    # visionthink resizes exactly on the fine-detail half and gets everything right
    assert (by_mode["full"].accuracy, by_mode["low"].accuracy) == (1.0, 0.5)
    assert by_mode["visionthink"].accuracy == 1.0
    assert by_mode["visionthink"].resize_ratio == 0.5
    assert by_mode["visionthink"].by_category["serial"]["resize_ratio"] == 1.0
    assert by_mode["visionthink"].by_category["color"]["resize_ratio"] == 0.0
    # 448x336: 192 tokens full, 48 first look -> low 25%, visionthink (48 + 0.5*192)/192 = 75%
    assert by_mode["full"].visual_tokens_pct == 100.0
    assert by_mode["low"].visual_tokens_pct == 25.0
    assert by_mode["visionthink"].visual_tokens_pct == 75.0
    low = [r for r in run.records if r.mode == "low" and r.metadata["needs_high_res"]]
    assert {r.prediction for r in low} == {UNREADABLE}
    assert all(r.error is None and r.latency_s > 0 for r in run.records)
    assert run.plot_path.read_bytes()[:4] == b"\x89PNG"
    summary = json.loads(run.summary_path.read_text())
    assert [s["mode"] for s in summary["modes"]] == ["visionthink", "full", "low"]
    assert summary["settings"]["samples"] == len(samples)
    assert summary["settings"]["modes"] == ["visionthink", "full", "low"]
    assert len(run.records_path.read_text().splitlines()) == 24


class _FlakyJudge(ExactMatchJudge):
    def __init__(self, fail_ids: set[str]) -> None:
        super().__init__(strict=True)
        self.fail_ids = fail_ids

    async def score(self, question: str, ground_truth: str, prediction: str) -> JudgeResult:
        if any(f"[{i}]" in question for i in self.fail_ids):
            raise ConnectionError("judge unreachable")
        return await super().score(question, ground_truth, prediction)


async def test_an_interrupted_run_resumes_without_redoing_finished_samples(
    synthetic: SyntheticBenchmark, tmp_path: Path
) -> None:
    assert synthetic.parquet
    samples = _unique(load_benchmark(synthetic.parquet, limit=4))
    model = _oracle(samples)
    first = await run_evaluation(
        samples,
        model=model,
        judge=_FlakyJudge({"syn-0001"}),
        out_dir=tmp_path,
        modes=["low", "full"],
        progress=False,
        concurrency=2,
    )
    errors = [r for r in first.records if r.error]
    assert [(r.mode, r.sample_id) for r in errors] == [("low", "syn-0001"), ("full", "syn-0001")]
    assert errors[0].error == "ConnectionError: judge unreachable"
    calls = model.calls
    second = await run_evaluation(
        samples,
        model=model,
        judge=ExactMatchJudge(strict=True),
        out_dir=tmp_path,
        modes=["low", "full"],
        progress=False,
    )
    assert second.ran == 2
    assert model.calls - calls == 2  # only the two errored samples ran again
    assert all(r.error is None for r in second.records)
    assert len(load_records(second.records_path)) == 8
    third = await run_evaluation(
        samples,
        model=model,
        judge=ExactMatchJudge(strict=True),
        out_dir=tmp_path,
        modes=["low"],
        progress=False,
        resume=False,
    )
    assert third.ran == 4


async def test_bad_arguments(tmp_path: Path) -> None:
    sample = EvalSample("a", "x.png", "Q", "1")
    with pytest.raises(ValueError, match="unknown mode"):
        await run_evaluation(
            [sample],
            model=None,
            judge=ExactMatchJudge(strict=True),
            out_dir=tmp_path,
            modes=["crop"],  # type: ignore[list-item]
        )
    with pytest.raises(ValueError, match="no samples"):
        await run_evaluation([], model=None, judge=ExactMatchJudge(strict=True), out_dir=tmp_path)
    with pytest.raises(ValueError, match="concurrency"):
        await run_evaluation(
            [sample],
            model=None,
            judge=ExactMatchJudge(strict=True),
            out_dir=tmp_path,
            concurrency=0,
        )
