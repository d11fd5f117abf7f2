"""``python -m training.data``: VisionThink save_to_disk layout and JSONL into veRL parquet."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest
from PIL import Image

pytest.importorskip("verl")

import datasets
import pyarrow.parquet as pq

from tests.training.conftest import gradient_image
from training.data import DataValidationError, convert, main
from visionthink_agent import protocol
from visionthink_agent.images import downsample_for_first_look

pytestmark = pytest.mark.verl


def _png(image: Image.Image) -> bytes:
    buf = io.BytesIO()
    image.save(buf, "PNG")
    return buf.getvalue()


def _smart_dataset(path: Path, **changes: list) -> Path:
    """A synthetic dataset in VisionThink-Smart-Train's column layout, saved with save_to_disk."""
    big, small = gradient_image((300, 200)), gradient_image((64, 60))
    columns = {
        "images": [[big], [small]],
        "problem": ["<image>\nWhat is the total?", "How many bars? <image>"],
        "solution": ["<answer>42</answer>", "<answer>3</answer>"],
        "original_answer": ["42", "3"],
        "data_source": ["chartqa", "docvqa"],
        "doc_id": [11, 12],
        "info": [
            {"tgt_width": 150, "tgt_height": 100, "use_tool": True},
            {"tgt_width": 32, "tgt_height": 30, "use_tool": False},
        ],
    }
    columns.update(changes)
    datasets.Dataset.from_dict(columns).save_to_disk(str(path))
    return path


def test_smart_layout_rows(tmp_path):
    source = _smart_dataset(tmp_path / "smart")
    summary = convert(source, tmp_path / "train.parquet", progress=False)
    assert (summary.rows, summary.needs_tool) == (2, 1)
    rows = pq.read_table(tmp_path / "train.parquet").to_pylist()
    first = rows[0]
    assert first["data_source"] == "chartqa"
    assert first["agent_name"] == "visionthink_agent"
    assert first["prompt"][0] == {"role": "system", "content": protocol.SYSTEM_PROMPT}
    user = protocol.render_parts(protocol.user_turn("<image>\nWhat is the total?"))
    assert first["prompt"][1] == {"role": "user", "content": user}
    assert first["reward_model"]["ground_truth"] == "42"
    info = first["extra_info"]
    assert (info["question"], info["doc_id"], info["use_tool"], info["category"]) == (
        "What is the total?",
        "11",
        True,
        "chartqa",  # no category column: the data source
    )
    # The stored first look is the training-identical downsample, losslessly encoded.
    first_look = Image.open(io.BytesIO(first["images"][0]["bytes"]))
    expected = downsample_for_first_look(gradient_image((300, 200)))
    assert first_look.size == (150, 100)
    assert first_look.tobytes() == expected.tobytes()
    # The high-resolution reference is the original image, for ResizeImageTool.
    create = info["tools_kwargs"]["resize_image"]["create_kwargs"]
    assert Image.open(io.BytesIO(create["image"])).size == (300, 200)
    assert create["image_path"] is None
    assert "How many bars? <image>" in rows[1]["prompt"][1]["content"]


def test_jsonl_rows_keep_the_path(jsonl_source, tmp_path):
    convert(jsonl_source, tmp_path / "out.parquet", progress=False)
    (row,) = pq.read_table(tmp_path / "out.parquet").to_pylist()
    create = row["extra_info"]["tools_kwargs"]["resize_image"]["create_kwargs"]
    assert create == {"image": None, "image_path": str(jsonl_source.parent / "chart.png")}
    assert row["prompt"][1]["content"].endswith("question:\n<image>\nWhat is the total?")
    assert row["data_source"] == "data"


def test_never_overwrites_without_force_and_is_idempotent(jsonl_source, tmp_path):
    out = tmp_path / "out.parquet"
    convert(jsonl_source, out, progress=False)
    before = out.read_bytes()
    with pytest.raises(FileExistsError, match="--force"):
        convert(jsonl_source, out, progress=False)
    convert(jsonl_source, out, force=True, progress=False)
    assert out.read_bytes() == before


@pytest.mark.parametrize(
    ("changes", "row", "field"),
    [
        ({"problem": ["<image>Q", "<image><image>two"]}, 1, "problem"),
        ({"original_answer": ["42", " "]}, 1, "original_answer"),
        ({"images": [[], [gradient_image((64, 60))]]}, 0, "images"),
    ],
)
def test_invalid_rows_name_row_and_field(tmp_path, changes, row, field):
    source = _smart_dataset(tmp_path / "bad", **changes)
    out = tmp_path / "out.parquet"
    with pytest.raises(DataValidationError, match=rf"row {row}: field '{field}'"):
        convert(source, out, progress=False)
    assert not out.exists()  # nothing half-written


def test_jsonl_errors(tmp_path):
    path = tmp_path / "d.jsonl"
    path.write_text(json.dumps({"image": "missing.png", "question": "Q", "answer": "A"}) + "\n")
    with pytest.raises(DataValidationError, match=r"row 0: field 'image' names no file"):
        convert(path, tmp_path / "o.parquet", progress=False)
    (tmp_path / "x.png").write_bytes(b"not an image")
    path.write_text(json.dumps({"image": "x.png", "question": "Q", "answer": "A"}) + "\n")
    with pytest.raises(DataValidationError, match=r"row 0: field 'image' cannot be loaded"):
        convert(path, tmp_path / "o.parquet", progress=False)


def test_command_line(jsonl_source, tmp_path, capsys):
    out = tmp_path / "cli.parquet"
    assert main([str(jsonl_source), str(out)]) == 0
    assert capsys.readouterr().out.startswith(f"wrote 1 rows (0 labelled use_tool) to {out}")
    assert main([str(jsonl_source), str(out)]) == 2
    assert "pass --force" in capsys.readouterr().err
