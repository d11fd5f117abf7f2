"""``visionthink.synthetic_data``: the CPU config writes its own data when none is there."""

from __future__ import annotations

from pathlib import Path

import pyarrow.parquet as pq
import pytest
from omegaconf import OmegaConf

from training.main_ppo import prepare_synthetic_data
from training.settings import ConfigError

pytestmark = pytest.mark.verl


def test_missing_files_are_written_once_with_disjoint_splits(tmp_path: Path) -> None:
    config = OmegaConf.create(
        {
            "visionthink": {"synthetic_data": {"train_samples": 5, "val_samples": 3}},
            "data": {
                "train_files": str(tmp_path / "d" / "train.parquet"),
                "val_files": str(tmp_path / "d" / "val.parquet"),
            },
        }
    )
    written = prepare_synthetic_data(config)
    assert written == [tmp_path / "d" / "train.parquet", tmp_path / "d" / "val.parquet"]
    train = pq.read_table(written[0]).to_pylist()
    val = pq.read_table(written[1]).to_pylist()
    assert (len(train), len(val)) == (5, 3)
    assert {r["extra_info"]["doc_id"] for r in train}.isdisjoint(
        r["extra_info"]["doc_id"] for r in val
    )
    # the tool's full-resolution references exist beside the parquet files
    first = train[0]["extra_info"]["tools_kwargs"]["resize_image"]["create_kwargs"]
    assert Path(first["image_path"]).is_file()
    assert prepare_synthetic_data(config) == []  # existing files are used as they are


def test_without_the_block_nothing_is_written(tmp_path: Path) -> None:
    config = OmegaConf.create({"visionthink": {}, "data": {"train_files": str(tmp_path / "t")}})
    assert prepare_synthetic_data(config) == []
    assert not (tmp_path / "t").exists()


def test_lists_of_files_are_refused() -> None:
    config = OmegaConf.create(
        {"visionthink": {"synthetic_data": {}}, "data": {"train_files": ["a", "b"]}}
    )
    with pytest.raises(ConfigError, match=r"data\.train_files to be one path"):
        prepare_synthetic_data(config)
