"""Records on disk, resume bookkeeping and the summary statistics."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from visionthink_agent.evaluation import EvalSample, ResumeMismatchError, SampleRecord, summarize
from visionthink_agent.evaluation.records import append_record, load_records, pending
from visionthink_agent.evaluation.summary import percentile, summary_table


def _record(sample_id: str, mode: str = "low", **kw: object) -> SampleRecord:
    return SampleRecord(sample_id=sample_id, mode=mode, question="Q?", ground_truth="1", **kw)  # type: ignore[arg-type]


def test_last_record_wins_and_a_torn_last_line_is_ignored(tmp_path: Path) -> None:
    path = tmp_path / "records.jsonl"
    append_record(path, _record("a", error="boom"))
    append_record(path, _record("a", correct=True))
    append_record(path, _record("b"))
    with path.open("a") as handle:
        handle.write('{"sample_id": "c", "mo')  # the run was killed mid-write
    records = load_records(path)
    assert set(records) == {("low", "a"), ("low", "b")}
    assert records[("low", "a")].correct
    assert records[("low", "a")].finished


def test_a_corrupt_line_in_the_middle_is_an_error(tmp_path: Path) -> None:
    path = tmp_path / "records.jsonl"
    path.write_text('{"nope": 1}\n' + _record("a").model_dump_json() + "\n")
    with pytest.raises(ValueError, match=r"records\.jsonl:1: not a sample record"):
        load_records(path)


def test_pending_skips_finished_retries_errors_and_checks_questions() -> None:
    samples = [EvalSample(i, "x.png", "Q?", "1") for i in ("a", "b", "c")]
    done = {r.key: r for r in (_record("a"), _record("b", error="timeout"))}
    todo = pending(samples, ["low", "full"], done)
    assert [(m, s.id) for m, s in todo] == [
        ("low", "b"),
        ("low", "c"),
        ("full", "a"),
        ("full", "b"),
        ("full", "c"),
    ]
    changed = [EvalSample("a", "x.png", "Another question?", "1")]
    with pytest.raises(ResumeMismatchError, match="another question"):
        pending(changed, ["low"], done)


@pytest.mark.parametrize("q", [0, 5, 50, 95, 100])
def test_percentile_matches_numpy(q: float) -> None:
    values = [0.3, 1.7, 0.2, 5.0, 2.2, 0.9, 3.3]
    assert percentile(values, q) == pytest.approx(float(np.percentile(values, q)))


def test_summary_per_mode_and_category() -> None:
    tokens_direct = {"used": 192, "full_res_baseline": 768}
    tokens_resized = {"used": 960, "full_res_baseline": 768}
    records = [
        _record(
            "a",
            mode="visionthink",
            correct=True,
            resized=True,
            visual_tokens=tokens_resized,
            latency_s=2.0,
            metadata={"category": "serial"},
        ),
        _record(
            "b",
            mode="visionthink",
            correct=True,
            visual_tokens=tokens_direct,
            latency_s=1.0,
            metadata={"category": "color"},
        ),
        _record("c", mode="visionthink", error="boom", metadata={"category": "color"}),
        _record(
            "a", mode="full", correct=True, visual_tokens={"used": 768, "full_res_baseline": 768}
        ),
    ]
    full, vt = sorted(summarize(records), key=lambda s: s.mode)
    assert (vt.mode, vt.samples, vt.errors) == ("visionthink", 3, 1)
    assert vt.accuracy == pytest.approx(2 / 3)
    assert vt.resize_ratio == pytest.approx(1 / 3)
    assert vt.visual_tokens_pct == pytest.approx(100 * (960 + 192) / (768 * 2), abs=1e-3)
    assert (vt.latency_p50_s, vt.latency_p95_s) == (1.5, 1.95)  # the errored sample has no latency
    assert vt.by_category["color"] == {
        "samples": 2,
        "accuracy": 0.5,
        "resize_ratio": 0.0,
        "zoom_ratio": 0.0,
        "high_res_ratio": 0.0,
        "visual_tokens_mean": 96.0,  # the errored sample has no tokens
    }
    assert full.visual_tokens_pct == 100.0
    assert [s.mode for s in summarize(records)] == ["visionthink", "full"]  # MODES order
    assert summary_table(summarize(records)).row_count == 2


def test_zooms_and_high_res_requests_are_summarised() -> None:
    crop = {"used": 202, "full_res_baseline": 768}
    records = [
        _record("a", mode="both", correct=True, zooms=2, visual_tokens=crop,
                metadata={"category": "serial"}),
        _record("b", mode="both", correct=True, resized=True, metadata={"category": "serial"}),
        _record("c", mode="both", correct=True, metadata={"category": "color"}),
        _record("d", mode="both", correct=False, zooms=1, metadata={"category": "color"}),
    ]  # fmt: skip
    (both,) = summarize(records)
    assert (both.zoom_ratio, both.zooms_mean, both.resize_ratio) == (0.5, 0.75, 0.25)
    assert both.high_res_ratio == 0.75
    assert both.by_category["serial"]["high_res_ratio"] == 1.0
    assert both.by_category["serial"]["zoom_ratio"] == 0.5
    assert both.by_category["serial"]["visual_tokens_mean"] == 101.0
    assert [r.high_res for r in records] == [True, True, False, True]
    table = summary_table([both])
    assert [c.header for c in table.columns][3:6] == ["high-res", "resized", "zooms/q"]
    assert list(table.columns[5].cells) == ["0.75"]
    # the modes keep their order: the agent modes, then the baselines
    modes = ["low", "both", "full", "zoom", "visionthink"]
    mixed = [_record(m, mode=m) for m in modes]
    assert [s.mode for s in summarize(mixed)] == ["visionthink", "zoom", "both", "full", "low"]
