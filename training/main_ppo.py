"""Train VisionThink on upstream veRL: ``python training/main_ppo.py [hydra overrides]``.

The config is ``training/config/visionthink_efficient.yaml`` (the paper's recipe on top of veRL's
``ppo_trainer``); ``--config-name visionthink_single_gpu`` selects the one-GPU variant;
``--cfg job`` prints the composed config without training.

Example:
    >>> from omegaconf import OmegaConf
    >>> config = OmegaConf.create({"actor_rollout_ref": {"rollout": {"multi_turn": {
    ...     "tool_config_path": "training/config/tool_config.yaml"}, "agent": {}}}})
    >>> resolve_packaged_paths(config)
    >>> config.actor_rollout_ref.rollout.multi_turn.tool_config_path.endswith("tool_config.yaml")
    True
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

if __package__ in (None, ""):  # run as a script: make `training` importable from a checkout
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from typing import TYPE_CHECKING

import hydra
from omegaconf import DictConfig, OmegaConf, open_dict

if TYPE_CHECKING:
    from training.settings import VisionThinkSettings

__all__ = [
    "CONFIG_DIR",
    "adopt_worker_env",
    "main",
    "prepare_synthetic_data",
    "resolve_model_path",
    "resolve_packaged_paths",
    "run",
    "validate",
]

CONFIG_DIR = Path(__file__).resolve().parent / "config"
_PATH_KEYS = (
    ("actor_rollout_ref", "rollout", "multi_turn", "tool_config_path"),
    ("actor_rollout_ref", "rollout", "agent", "agent_loop_config_path"),
)


def resolve_packaged_paths(config: DictConfig) -> None:
    """Make the tool / agent-loop YAML paths absolute when they name our packaged files.

    veRL resolves these paths against the working directory of each Ray worker; a path like
    ``training/config/tool_config.yaml`` that does not exist there is replaced by the installed
    package's copy, so training can be launched from any directory.

    Example:
        >>> from omegaconf import OmegaConf
        >>> cfg = OmegaConf.create({"actor_rollout_ref": {"rollout": {"multi_turn": {},
        ...     "agent": {"agent_loop_config_path": "/elsewhere/loops.yaml"}}}})
        >>> resolve_packaged_paths(cfg)
        >>> cfg.actor_rollout_ref.rollout.agent.agent_loop_config_path
        '/elsewhere/loops.yaml'
    """
    for keys in _PATH_KEYS:
        node = config
        for key in keys[:-1]:
            node = node.get(key) if node is not None else None
        value = node.get(keys[-1]) if node is not None else None
        if value and _packaged_path(value) != value:
            with open_dict(node):
                node[keys[-1]] = _packaged_path(value)


def _packaged_path(value: str) -> str:
    """``value``, or our packaged file of that name when ``value`` names no file from here."""
    if os.path.isabs(value) or os.path.exists(value):
        return value
    packaged = CONFIG_DIR / Path(value).name
    return str(packaged) if packaged.is_file() else value


def validate(config: DictConfig) -> None:
    """Validate the composed config: our ``visionthink`` block, then veRL's own checks.

    The tool mode (``visionthink.tool_mode``) is checked against the rollout keys it needs (the
    registered tools, the turn limits, ``limit_images``) and against the system prompt of the
    first row of each existing data file, so a mismatch stops here, before Ray starts.

    Example:
        >>> validate.__name__
        'validate'

    Raises:
        training.settings.ConfigError: the ``visionthink`` block or the judge settings
            (``reward.custom_reward_function.reward_kwargs.judge``) are invalid, the rollout
            keys or the data do not fit the tool mode, or ``trainer.save_freq`` is null.
        ValueError / AssertionError: veRL's ``validate_config`` rejects the config.
    """
    from verl.trainer.ppo.utils import need_critic, need_reference_policy
    from verl.utils.config import validate_config

    from training.reward import judge_settings
    from training.settings import ConfigError, VisionThinkSettings

    block = OmegaConf.to_container(config.get("visionthink", {}), resolve=True)
    settings = VisionThinkSettings.from_config(block)  # type: ignore[arg-type]
    _check_tool_mode(config, settings)
    if config.trainer.get("save_freq") is None:  # visionthink_cpu: total_training_steps=null
        raise ConfigError(
            "trainer.save_freq is null (visionthink_cpu sets it to trainer.total_training_steps):"
            " set trainer.save_freq=N to save every N steps and at the end, or -1 for none"
        )
    reward_fn = config.reward.get("custom_reward_function") or {}
    if str(reward_fn.get("path") or "").endswith("training.reward"):
        kwargs = OmegaConf.to_container(reward_fn.get("reward_kwargs") or {}, resolve=True)
        judge_settings(kwargs.get("judge"))  # type: ignore[union-attr]
    validate_config(
        config=config,
        use_reference_policy=need_reference_policy(config),
        use_critic=need_critic(config),
    )


def _check_tool_mode(config: DictConfig, settings: VisionThinkSettings) -> None:
    """The rollout keys and the data's system prompts fit ``visionthink.tool_mode``."""
    from verl.tools.tool_registry import initialize_tools_from_config

    from training.data import system_prompt_of

    rollout = config.actor_rollout_ref.rollout
    multi_turn = rollout.multi_turn
    path = multi_turn.get("tool_config_path")
    tools = initialize_tools_from_config(_packaged_path(path)) if path else []
    settings.check_rollout(
        tool_names=[tool.name for tool in tools],
        max_assistant_turns=multi_turn.get("max_assistant_turns"),
        max_user_turns=multi_turn.get("max_user_turns"),
        limit_images=rollout.get("limit_images"),
    )
    for key in ("train_files", "val_files"):
        files = config.data.get(key)
        for file in [files] if isinstance(files, str) else list(files or []):
            local = Path(str(file)).expanduser()
            if local.suffix == ".parquet" and local.is_file():
                where = f"data.{key} ({local})"
                settings.check_system_prompt(system_prompt_of(local), where=where)


def adopt_worker_env(config: DictConfig) -> dict[str, str]:
    """Give the driver the ``VERL_*`` variables the config sets for its Ray processes.

    The ``visionthink_cpu`` config selects veRL's platform and plugin modules with
    ``ray_kwargs.ray_init.runtime_env.env_vars`` (``VERL_PLATFORM``, ``VERL_USE_EXTERNAL_MODULES``);
    the driver, which validates the config and starts Ray, must see the same platform. Variables
    already set in the environment win. The named external modules are imported here, as
    ``import verl`` imports them in every Ray process.

    Example:
        >>> from omegaconf import OmegaConf
        >>> adopt_worker_env(OmegaConf.create({"ray_kwargs": {"ray_init": {}}}))
        {}
    """
    from verl.utils.import_utils import import_external_libs

    env_vars = OmegaConf.select(config, "ray_kwargs.ray_init.runtime_env.env_vars") or {}
    adopted = {
        str(key): str(value)
        for key, value in env_vars.items()
        if str(key).startswith("VERL_") and str(key) not in os.environ
    }
    os.environ.update(adopted)
    modules = os.environ.get("VERL_USE_EXTERNAL_MODULES", "")
    if modules:
        import_external_libs(modules.split(","))
    wanted = os.environ.get("VERL_PLATFORM", "").strip().lower()
    if wanted and wanted in adopted.get("VERL_PLATFORM", "").lower():
        # veRL resolved its platform on import, before the config was read: resolve it again.
        from verl.plugin.platform import platform_manager

        platform_cls = platform_manager.PlatformRegistry.get(wanted)
        if platform_cls is None:
            raise ValueError(
                f"VERL_PLATFORM={wanted!r} is not registered; registered: "
                f"{platform_manager.PlatformRegistry.registered_names()}"
            )
        if not isinstance(platform_manager.get_platform(), platform_cls):
            platform_manager.set_platform(platform_cls())
    return adopted


def resolve_model_path(config: DictConfig) -> None:
    """Turn a model alias (``tiny``, ``demo``) into its checkpoint folder.

    Example:
        >>> from omegaconf import OmegaConf
        >>> cfg = OmegaConf.create({"actor_rollout_ref": {"model": {"path": "Qwen/Qwen2.5-VL-3B"}}})
        >>> resolve_model_path(cfg)
        >>> cfg.actor_rollout_ref.model.path
        'Qwen/Qwen2.5-VL-3B'
    """
    from visionthink_agent.backends.demo import resolve_model_alias

    model = config.actor_rollout_ref.model
    model.path = resolve_model_alias(model.path)


def prepare_synthetic_data(config: DictConfig) -> list[Path]:
    """Write the synthetic benchmark as ``data.train_files`` / ``data.val_files`` if asked.

    Only with ``visionthink.synthetic_data`` set, and only files that do not exist yet (the
    benchmark's JSONL and images go beside each parquet file, in ``<stem>-source/``: the tool's
    full-resolution references point there); the rows get the system prompt of
    ``visionthink.tool_mode``. Returns the files written.

    Example:
        >>> from omegaconf import OmegaConf
        >>> prepare_synthetic_data(OmegaConf.create({"visionthink": {}, "data": {}}))
        []

    Raises:
        training.settings.ConfigError: the data files are not single paths.
    """
    from training.data import convert
    from training.settings import ConfigError, VisionThinkSettings
    from visionthink_agent.synthetic import write_synthetic_benchmark

    block = OmegaConf.to_container(config.get("visionthink", {}), resolve=True)
    settings = VisionThinkSettings.from_config(block)  # type: ignore[arg-type]
    synthetic = settings.synthetic_data
    if synthetic is None:
        return []
    written = []
    for key, split, count in (
        ("train_files", "train", synthetic.train_samples),
        ("val_files", "eval", synthetic.val_samples),
    ):
        value = config.data.get(key)
        if not isinstance(value, str):
            raise ConfigError(f"visionthink.synthetic_data needs data.{key} to be one path")
        target = Path(value).expanduser()
        with open_dict(config.data):
            config.data[key] = str(target)
        if target.exists():
            continue
        source = target.parent / f"{target.stem}-source"
        bench = write_synthetic_benchmark(
            source,
            n=count,
            seed=synthetic.seed,
            preset=synthetic.preset,
            split=split,
            formats=("jsonl",),
        )
        assert bench.jsonl is not None
        convert(bench.jsonl, target, tool_mode=settings.tool_mode, boxes=settings.boxes)
        written.append(target)
    return written


def run(config: DictConfig) -> None:
    """Validate and train (Ray is started by veRL when not already running).

    Example:
        >>> run.__name__
        'run'
    """
    from verl.trainer.main_ppo import run_ppo
    from verl.utils.device import auto_set_device

    from training.task_runner import VisionThinkTaskRunner

    adopt_worker_env(config)
    auto_set_device(config)
    resolve_packaged_paths(config)
    resolve_model_path(config)
    prepare_synthetic_data(config)
    validate(config)
    run_ppo(config, task_runner_class=VisionThinkTaskRunner)


@hydra.main(config_path="config", config_name="visionthink_efficient", version_base=None)
def main(config: DictConfig) -> None:
    """Hydra entry point (see the module docstring)."""
    run(config)


if __name__ == "__main__":
    main()
