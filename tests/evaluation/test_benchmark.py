"""Benchmark readers: JSONL, parquet and save_to_disk give the same samples; errors are clear."""

from __future__ import annotations

import json
from pathlib import Path

import datasets
import pytest

from visionthink_agent.evaluation import BenchmarkError, SyntheticBenchmark, load_benchmark
from visionthink_agent.images import load_image


def _pixels(image: object) -> bytes:
    return load_image(image).decode().tobytes()


def test_three_formats_read_the_same_samples(synthetic: SyntheticBenchmark) -> None:
    assert synthetic.jsonl
    assert synthetic.parquet
    assert synthetic.hf
    readings = [load_benchmark(p) for p in (synthetic.jsonl, synthetic.parquet, synthetic.hf)]
    first = readings[0]
    assert len(first) == synthetic.size == 8
    for other in readings[1:]:
        assert [(s.id, s.question, s.answer, s.metadata) for s in other] == [
            (s.id, s.question, s.answer, s.metadata) for s in first
        ]
        assert all(_pixels(a.image) == _pixels(b.image) for a, b in zip(first, other, strict=False))
    metadata = dict(first[0].metadata)
    assert metadata.pop("caption").startswith("a small label with the number ")
    box = metadata.pop("target_box")
    assert len(box) == 4
    assert all(isinstance(v, int) for v in box)
    assert metadata == {"category": "serial", "needs_high_res": True}
    assert first[1].metadata["target_box"] is None  # a coarse question


def test_visionthink_training_columns_and_limit(
    tmp_path: Path, synthetic: SyntheticBenchmark
) -> None:
    # the authors' layout: images (a list), problem (with <image>), original_answer, doc_id
    rows = [
        {
            "images": [f"{synthetic.root}/images/syn-000{i}.png"],
            "problem": f"<image>Q{i}?",
            "original_answer": i,
            "doc_id": 10 + i,
        }
        for i in range(3)
    ]
    path = tmp_path / "train.jsonl"
    path.write_text("\n".join(json.dumps(r) for r in rows))
    samples = load_benchmark(path, limit=2)
    assert [(s.id, s.question, s.answer) for s in samples] == [
        ("10", "<image>Q0?", "0"),
        ("11", "<image>Q1?", "1"),
    ]
    assert load_image(samples[0].image).size == (448, 336)


def test_explicit_columns_and_dataset_dict_split(
    tmp_path: Path, synthetic: SyntheticBenchmark
) -> None:
    assert synthetic.hf
    ds = datasets.load_from_disk(str(synthetic.hf)).rename_columns(
        {"question": "q", "answer": "gt"}
    )
    datasets.DatasetDict({"train": ds, "validation": ds}).save_to_disk(str(tmp_path / "dd"))
    with pytest.raises(BenchmarkError, match=r"splits \['train', 'validation'\]; choose one"):
        load_benchmark(tmp_path / "dd", question_column="q", answer_column="gt")
    with pytest.raises(BenchmarkError, match="no question column"):
        load_benchmark(tmp_path / "dd", split="train")
    samples = load_benchmark(
        tmp_path / "dd", split="validation", question_column="q", answer_column="gt"
    )
    assert len(samples) == 8
    assert samples[1].answer == load_benchmark(synthetic.hf)[1].answer


@pytest.mark.parametrize(
    ("rows", "message"),
    [
        (
            [{"image": "a.png", "question": "Q", "answer": "1", "id": 1}] * 2,
            "duplicate sample id '1'",
        ),
        ([{"image": "", "question": "Q", "answer": "1"}], "row 0: empty image cell"),
        (
            [{"image": ["a.png", "b.png"], "question": "Q", "answer": "1"}],
            "expected one image, got 2",
        ),
        ([{"image": "a.png", "question": " ", "answer": "1"}], "row 0: empty 'question'"),
        ([{"picture": "a.png", "question": "Q", "answer": "1"}], "no image column"),
    ],
)
def test_bad_rows_name_the_problem(tmp_path: Path, rows: list[dict], message: str) -> None:
    path = tmp_path / "b.jsonl"
    path.write_text("\n".join(json.dumps(r) for r in rows))
    with pytest.raises(BenchmarkError, match=message):
        load_benchmark(path)


def test_unknown_format_and_broken_json(tmp_path: Path) -> None:
    (tmp_path / "b.csv").write_text("image,question,answer\n")
    with pytest.raises(BenchmarkError, match=r"expected a \.jsonl or \.parquet file"):
        load_benchmark(tmp_path / "b.csv")
    (tmp_path / "b.jsonl").write_text('{"image": "a.png"}\n{oops\n')
    with pytest.raises(BenchmarkError, match=r"b.jsonl:2: not a JSON object"):
        load_benchmark(tmp_path / "b.jsonl")
