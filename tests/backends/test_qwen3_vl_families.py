"""Model families: lookup by model type, config, checkpoint, name; the OpenAI backend's family."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from visionthink_agent.backends.families import (
    DEFAULT_FAMILY,
    FAMILIES,
    QWEN2_5_VL_FAMILY,
    QWEN3_VL_FAMILY,
    family_for_checkpoint,
    family_for_config,
    family_for_model_name,
    family_for_model_type,
    family_of,
    get_family,
    resolve_family,
)
from visionthink_agent.backends.openai_compatible import create_openai_compatible_model
from visionthink_agent.images import QWEN2_5_VL, QWEN3_VL


def write_config(folder: Path, model_type: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "config.json").write_text(json.dumps({"model_type": model_type}))
    return folder


def test_the_two_families() -> None:
    assert FAMILIES == (QWEN2_5_VL_FAMILY, QWEN3_VL_FAMILY)
    assert DEFAULT_FAMILY is QWEN2_5_VL_FAMILY
    assert (QWEN2_5_VL_FAMILY.geometry, QWEN2_5_VL_FAMILY.boxes) == (
        QWEN2_5_VL,
        "first_look_pixels",
    )
    assert (QWEN3_VL_FAMILY.geometry, QWEN3_VL_FAMILY.boxes) == (QWEN3_VL, "relative_1000")


@pytest.mark.parametrize(
    ("model_type", "family"),
    [
        ("qwen2_5_vl", QWEN2_5_VL_FAMILY),
        ("qwen3_vl", QWEN3_VL_FAMILY),
        ("qwen3_vl_moe", QWEN3_VL_FAMILY),
    ],
)
def test_model_types(model_type: str, family: object) -> None:
    assert family_for_model_type(model_type) is family
    assert family_for_config({"model_type": model_type}) is family
    assert get_family(model_type) is family


@pytest.mark.parametrize("model_type", ["qwen2_vl", "llava", "qwen3_vl_text", ""])
def test_other_model_types_are_refused(model_type: str) -> None:
    with pytest.raises(ValueError, match="not a supported family"):
        family_for_model_type(model_type)


def test_config_objects_and_configs_without_a_type() -> None:
    from transformers import Qwen3VLConfig

    assert family_for_config(Qwen3VLConfig()) is QWEN3_VL_FAMILY
    with pytest.raises(ValueError, match="no model_type"):
        family_for_config({"architectures": ["X"]})


def test_names_and_labels() -> None:
    assert get_family("Qwen2.5-VL") is get_family("qwen2_5_vl") is QWEN2_5_VL_FAMILY
    assert get_family(QWEN3_VL_FAMILY) is QWEN3_VL_FAMILY
    with pytest.raises(ValueError, match="unknown model family 'qwen4'"):
        get_family("qwen4")


def test_checkpoint_directories(tmp_path: Path) -> None:
    assert family_for_checkpoint(write_config(tmp_path / "a", "qwen3_vl_moe")) is QWEN3_VL_FAMILY
    assert family_for_checkpoint(str(write_config(tmp_path / "b", "qwen2_5_vl"))) is (
        QWEN2_5_VL_FAMILY
    )
    (tmp_path / "empty").mkdir()
    with pytest.raises(FileNotFoundError, match=r"no local config\.json"):
        family_for_checkpoint(tmp_path / "empty")
    (tmp_path / "bad").mkdir()
    (tmp_path / "bad" / "config.json").write_text("{not json")
    with pytest.raises(ValueError, match="not a JSON model config"):
        family_for_checkpoint(tmp_path / "bad")
    with pytest.raises(FileNotFoundError):
        family_for_checkpoint("no-such-org/no-such-model")


def test_hub_ids_are_read_from_the_local_cache(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from huggingface_hub import constants

    repo = tmp_path / "models--someone--renamed-vl"
    (repo / "refs").mkdir(parents=True)
    (repo / "refs" / "main").write_text("abc123")
    write_config(repo / "snapshots" / "abc123", "qwen3_vl")
    monkeypatch.setattr(constants, "HF_HUB_CACHE", str(tmp_path))
    # The name says nothing; the cached config.json does.
    assert family_for_model_name("someone/renamed-vl") is QWEN2_5_VL_FAMILY
    assert family_for_checkpoint("someone/renamed-vl") is QWEN3_VL_FAMILY
    assert resolve_family("someone/renamed-vl") is QWEN3_VL_FAMILY


@pytest.mark.parametrize(
    ("name", "family"),
    [
        ("Qwen/Qwen3-VL-8B-Instruct", QWEN3_VL_FAMILY),
        ("Qwen/Qwen3-VL-30B-A3B-Thinking", QWEN3_VL_FAMILY),
        ("qwen3_vl", QWEN3_VL_FAMILY),
        ("my-qwen3vl-finetune", QWEN3_VL_FAMILY),
        ("Qwen/Qwen2.5-VL-7B-Instruct", QWEN2_5_VL_FAMILY),
        ("Senqiao/VisionThink-Efficient", QWEN2_5_VL_FAMILY),
        ("Qwen/Qwen3-8B", QWEN2_5_VL_FAMILY),  # a text model: not Qwen3-VL
        ("tiny", QWEN2_5_VL_FAMILY),
    ],
)
def test_names(name: str, family: object) -> None:
    assert family_for_model_name(name) is family


def test_explicit_family_wins_and_config_beats_name(tmp_path: Path) -> None:
    misnamed = write_config(tmp_path / "Qwen3-VL-but-not", "qwen2_5_vl")
    assert resolve_family(misnamed) is QWEN2_5_VL_FAMILY
    assert resolve_family(misnamed, "qwen3_vl") is QWEN3_VL_FAMILY
    with pytest.raises(ValueError, match="unknown model family"):
        resolve_family("x", "gemma")


def test_openai_compatible_model_carries_its_family(tmp_path: Path) -> None:
    inferred = create_openai_compatible_model("Qwen/Qwen3-VL-8B-Instruct")
    explicit = create_openai_compatible_model("served", family="qwen3_vl", metadata={"team": "a"})
    default = create_openai_compatible_model("Senqiao/VisionThink-Efficient")
    from_dir = create_openai_compatible_model(str(write_config(tmp_path / "ck", "qwen3_vl")))
    assert family_of(inferred) is QWEN3_VL_FAMILY
    assert family_of(explicit) is QWEN3_VL_FAMILY
    assert explicit.metadata["team"] == "a"
    assert family_of(default) is QWEN2_5_VL_FAMILY
    assert family_of(from_dir) is QWEN3_VL_FAMILY
    assert family_of(inferred.bind_tools([])) is QWEN3_VL_FAMILY
    with pytest.raises(ValueError, match="unknown model family"):
        create_openai_compatible_model("served", family="llava")


def test_importing_families_loads_no_torch() -> None:
    code = (
        "import sys, visionthink_agent.backends.families as f\n"
        "assert 'torch' not in sys.modules and 'transformers' not in sys.modules\n"
        "print(f.QWEN3_VL_FAMILY.name)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "qwen3_vl"
