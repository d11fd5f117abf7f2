"""Fixtures for the veRL plugin tests: the tiny Qwen2.5-VL, composed configs, a converted row."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from PIL import Image

pytest.importorskip("verl")

from hydra import compose, initialize_config_dir
from omegaconf import DictConfig

from training.main_ppo import CONFIG_DIR
from visionthink_agent.backends.qwen.tiny import write_tiny_checkpoint

# Sizes that are multiples of 28 px, so the Qwen processor does not resize them:
# the first look is 112x84 (12 visual tokens), the high-resolution view 224x168 (48).
HIGH_RES_SIZE = (224, 168)


def compose_config(
    name: str = "visionthink_efficient", overrides: list[str] | None = None
) -> DictConfig:
    """Compose one of our hydra configs the way ``training/main_ppo.py`` does."""
    with initialize_config_dir(config_dir=str(CONFIG_DIR), version_base=None):
        return compose(config_name=name, overrides=overrides or [])


def gradient_image(size: tuple[int, int] = HIGH_RES_SIZE) -> Image.Image:
    """An RGB image with structure (so resampling differences would show)."""
    grey = Image.linear_gradient("L").resize(size)
    return Image.merge("RGB", (grey, grey.transpose(Image.Transpose.FLIP_LEFT_RIGHT), grey))


@pytest.fixture(scope="session")
def tiny_checkpoint(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """H4's tiny random-weight Qwen2.5-VL (written once per session)."""
    return write_tiny_checkpoint(tmp_path_factory.mktemp("models") / "tiny")


@pytest.fixture(scope="session")
def tokenizer(tiny_checkpoint: Path) -> Any:
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(tiny_checkpoint)


@pytest.fixture(scope="session")
def processor(tiny_checkpoint: Path) -> Any:
    from transformers import AutoProcessor

    return AutoProcessor.from_pretrained(tiny_checkpoint)


@pytest.fixture(scope="session")
def jsonl_source(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A JSONL dataset of one row whose image is a PNG beside it."""
    root = tmp_path_factory.mktemp("jsonl")
    gradient_image().save(root / "chart.png")
    row = {"image": "chart.png", "question": "What is the total?", "answer": "42", "id": "q1"}
    (root / "data.jsonl").write_text(json.dumps(row) + "\n", encoding="utf-8")
    return root / "data.jsonl"


FOUR_ANSWERS = ("42", "red", "3", "oak")
"""The answers of :func:`four_prompts`' rows, in order."""


@pytest.fixture(scope="session")
def four_prompts(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Four converted rows (rotated gradient images, answers :data:`FOUR_ANSWERS`)."""
    from training.data import convert

    root = tmp_path_factory.mktemp("cpu_train_data")
    rows = []
    questions = ("What is the total?", "Which colour?", "Count.", "Word?")
    for i, (question, answer) in enumerate(zip(questions, FOUR_ANSWERS, strict=True)):
        gradient_image().rotate(90 * i).save(root / f"img{i}.png")
        rows.append({"image": f"img{i}.png", "question": question, "answer": answer, "id": str(i)})
    (root / "data.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows), "utf-8")
    convert(root / "data.jsonl", root / "train.parquet", progress=False)
    return root / "train.parquet"


@pytest.fixture(scope="session")
def train_parquet(tmp_path_factory: pytest.TempPathFactory, jsonl_source: Path) -> Path:
    from training.data import convert

    out = tmp_path_factory.mktemp("parquet") / "train.parquet"
    convert(jsonl_source, out, progress=False)
    return out


@pytest.fixture(scope="session")
def loop_config(tiny_checkpoint: Path, train_parquet: Path) -> DictConfig:
    """The single-GPU recipe pointed at the tiny checkpoint and the converted row."""
    return compose_config(
        "visionthink_single_gpu",
        [
            f"data.train_files={train_parquet}",
            f"data.val_files={train_parquet}",
            f"actor_rollout_ref.model.path={tiny_checkpoint}",
            "data.max_prompt_length=2048",
            "data.max_response_length=2048",
            "data.filter_overlong_prompts=false",
        ],
    )


@pytest.fixture(scope="session")
def dataset_row(
    loop_config: DictConfig, tokenizer: Any, processor: Any, train_parquet: Path
) -> Callable[[], dict[str, Any]]:
    """A factory of fresh copies of the converted row as veRL's RLHFDataset yields it."""
    from verl.utils.dataset.rl_dataset import RLHFDataset

    dataset = RLHFDataset(
        data_files=str(train_parquet),
        tokenizer=tokenizer,
        processor=processor,
        config=loop_config.data,
    )

    def row() -> dict[str, Any]:
        return dataset[0]

    return row


@pytest.fixture(scope="session")
def zoom_setups(
    tmp_path_factory: pytest.TempPathFactory,
    jsonl_source: Path,
    tiny_checkpoint: Path,
    tokenizer: Any,
    processor: Any,
) -> dict[str, tuple[DictConfig, Callable[[], dict[str, Any]]]]:
    """Per tool mode (zoom, both): the config (``tool_mode=<mode>``) and a row factory of that
    mode's data (the JSONL row converted with ``--tool-mode <mode>``)."""
    from tests.training.zoom_harness import dataset_rows, mode_config
    from training.data import convert

    setups = {}
    for mode in ("zoom", "both"):
        parquet = tmp_path_factory.mktemp(f"parquet-{mode}") / "train.parquet"
        convert(jsonl_source, parquet, progress=False, tool_mode=mode)
        config = mode_config(mode, tiny_checkpoint, parquet)
        setups[mode] = (config, dataset_rows(config, tokenizer, processor, parquet))
    return setups
