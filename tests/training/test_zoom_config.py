"""``visionthink.tool_mode``: the tool_mode group, its validation and the data it needs."""

from __future__ import annotations

import pytest
import yaml

pytest.importorskip("verl")

from tests.training.conftest import compose_config
from training.data import convert, main, system_prompt_of
from training.main_ppo import CONFIG_DIR, prepare_synthetic_data, validate
from training.settings import ConfigError, VisionThinkSettings
from visionthink_agent import protocol

pytestmark = pytest.mark.verl


@pytest.mark.parametrize(
    ("mode", "turns", "images", "tool_yaml"),
    [
        ("resize", (2, 1), 2, "tool_config.yaml"),
        ("zoom", (3, 2), 3, "tool_config_zoom.yaml"),
        ("both", (4, 3), 4, "tool_config_both.yaml"),
    ],
)
@pytest.mark.parametrize("name", ["visionthink_efficient", "visionthink_cpu"])
def test_the_tool_mode_override_sets_the_mode_and_its_rollout_keys(
    name, mode, turns, images, tool_yaml
):
    config = compose_config(name, [f"tool_mode={mode}"])
    validate(config)
    rollout = config.actor_rollout_ref.rollout
    budget = protocol.tool_budget(mode)
    assert config.visionthink.tool_mode == mode
    assert turns == (budget.max_model_turns, budget.max_model_turns - 1)
    assert (rollout.multi_turn.max_assistant_turns, rollout.multi_turn.max_user_turns) == turns
    assert rollout.limit_images == images == budget.max_images
    assert rollout.multi_turn.tool_config_path == f"training/config/{tool_yaml}"


def test_the_default_is_resize():
    config = compose_config()
    assert (config.visionthink.tool_mode, config.visionthink.boxes) == (
        "resize",
        "first_look_pixels",
    )


def test_tool_yamls_register_the_modes_tools():
    def classes(name: str) -> list[str]:
        return [t["class_name"] for t in yaml.safe_load((CONFIG_DIR / name).read_text())["tools"]]

    assert classes("tool_config_zoom.yaml") == ["training.zoom_tool.ZoomImageTool"]
    assert classes("tool_config_both.yaml") == [
        "training.resize_tool.ResizeImageTool",
        "training.zoom_tool.ZoomImageTool",
    ]


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        (
            ["visionthink.tool_mode=zoom"],
            r"^actor_rollout_ref\.rollout\.multi_turn\.tool_config_path registers "
            r"\['resize_image'\] but visionthink\.tool_mode=zoom needs \['image_zoom_in_tool'\]",
        ),
        (
            ["tool_mode=zoom", "actor_rollout_ref.rollout.multi_turn.max_assistant_turns=2"],
            r"^actor_rollout_ref\.rollout\.multi_turn\.max_assistant_turns is 2 but "
            r"visionthink\.tool_mode=zoom needs 3: select the mode with the tool_mode=zoom",
        ),
        (
            ["tool_mode=both", "actor_rollout_ref.rollout.multi_turn.max_user_turns=1"],
            r"^actor_rollout_ref\.rollout\.multi_turn\.max_user_turns is 1 but "
            r"visionthink\.tool_mode=both needs 3",
        ),
        (
            ["tool_mode=zoom", "actor_rollout_ref.rollout.limit_images=2"],
            r"^actor_rollout_ref\.rollout\.limit_images is 2 but visionthink\.tool_mode=zoom "
            r"shows up to 3 images",
        ),
        (
            ["visionthink.tool_mode=crop"],
            r"^visionthink\.tool_mode: Input should be 'resize', 'zoom' or 'both'$",
        ),
        (
            ["visionthink.boxes=normalised"],
            r"^visionthink\.boxes: Input should be 'first_look_pixels' or 'relative_1000'$",
        ),
    ],
)
def test_a_mode_that_does_not_fit_is_named(overrides, message):
    with pytest.raises(ConfigError, match=message):
        validate(compose_config(overrides=overrides))


@pytest.mark.parametrize("mode", ["zoom", "both"])
def test_data_converted_for_a_mode_holds_its_system_prompt(mode, jsonl_source, tmp_path):
    out = tmp_path / "zoom.parquet"
    convert(jsonl_source, out, progress=False, tool_mode=mode, boxes="relative_1000")
    assert system_prompt_of(out) == protocol.system_prompt(mode, "relative_1000")
    settings = VisionThinkSettings(tool_mode=mode, boxes="relative_1000")
    settings.check_system_prompt(system_prompt_of(out), where="x")
    with pytest.raises(ConfigError, match=r"boxes=relative_1000\) but visionthink\.tool_mode"):
        VisionThinkSettings(tool_mode=mode).check_system_prompt(system_prompt_of(out), where="x")


def test_the_command_line_takes_the_mode(jsonl_source, tmp_path):
    out = tmp_path / "cli.parquet"
    assert main([str(jsonl_source), str(out), "--tool-mode", "both"]) == 0
    assert system_prompt_of(out) == protocol.system_prompt("both")


def test_custom_system_prompts_pass_the_check():
    VisionThinkSettings(tool_mode="zoom").check_system_prompt("You are a bot.", where="x")
    VisionThinkSettings(tool_mode="zoom").check_system_prompt(None, where="x")


def test_validate_refuses_data_of_another_mode(train_parquet):
    config = compose_config(
        overrides=["tool_mode=zoom", f"data.train_files={train_parquet}"],
    )
    with pytest.raises(
        ConfigError,
        match=r"^data\.train_files \(.*train\.parquet\) holds the system prompt of "
        r"tool_mode=resize but visionthink\.tool_mode=zoom",
    ):
        validate(config)


def test_synthetic_data_is_written_for_the_mode(tmp_path):
    config = compose_config(
        "visionthink_cpu",
        [
            "tool_mode=zoom",
            f"data.train_files={tmp_path / 'train.parquet'}",
            f"data.val_files={tmp_path / 'val.parquet'}",
            "visionthink.synthetic_data.train_samples=2",
            "visionthink.synthetic_data.val_samples=1",
        ],
    )
    written = prepare_synthetic_data(config)
    assert [path.name for path in written] == ["train.parquet", "val.parquet"]
    assert {system_prompt_of(path) for path in written} == {protocol.system_prompt("zoom")}
    validate(config)
