"""The ``visionthink`` block of the training config, validated once at the edge.

Example:
    >>> settings = VisionThinkSettings.from_config({"penalty": {"semantics": "paper"}})
    >>> settings.penalty.semantics, settings.penalty.theta, settings.neutralise_judge_failed_groups
    ('paper', 0.2, True)
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from functools import cache
from typing import Any, Literal, get_args

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from visionthink_agent import protocol
from visionthink_agent.protocol import BoxConvention, ToolMode
from visionthink_agent.reward import DEFAULT_PENALTY, DEFAULT_THETA

__all__ = ["ConfigError", "PenaltySettings", "SyntheticDataSettings", "VisionThinkSettings"]

_ROLLOUT = "actor_rollout_ref.rollout"


class ConfigError(ValueError):
    """The ``visionthink`` config block is invalid; the message names the field."""


class PenaltySettings(BaseModel):
    """VisionThink's group penalty control (protocol §4), applied by the trainer per ``uid``.

    Attributes:
        enable: apply the penalty (off: plain ``acc + 0.5 · format``).
        semantics: ``released`` (the authors' code) or ``paper`` (Eq. 5).
        theta: threshold θ on ``C_direct / (C_direct + C_high)``.
        amount: the penalty subtracted from a penalised rollout.

    Example:
        >>> PenaltySettings().amount
        0.1
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    enable: bool = True
    semantics: Literal["released", "paper"] = "released"
    theta: float = Field(default=DEFAULT_THETA, ge=0.0, le=1.0)
    amount: float = Field(default=DEFAULT_PENALTY, ge=0.0)


class SyntheticDataSettings(BaseModel):
    """Use the synthetic benchmark as the run's data: ``visionthink.synthetic_data``.

    When set, ``training/main_ppo.py`` writes ``data.train_files`` (the benchmark's ``train``
    split) and ``data.val_files`` (its held-out ``eval`` split) before training, if they do not
    exist yet; existing files are used as they are. The CPU config sets it so that the CPU
    command runs on a fresh machine with no data prepared.

    Attributes:
        preset: the benchmark preset (``demo``: small images for small models; ``standard``).
        train_samples: rows of the training file.
        val_samples: rows of the validation file.
        seed: the benchmark's seed (the splits use separate random streams).

    Example:
        >>> SyntheticDataSettings().preset, SyntheticDataSettings().train_samples
        ('demo', 64)
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    preset: Literal["demo", "standard"] = "demo"
    train_samples: int = Field(default=64, ge=1)
    val_samples: int = Field(default=16, ge=1)
    seed: int = 0


class VisionThinkSettings(BaseModel):
    """Everything our trainer-side pieces read from the ``visionthink`` config block.

    Attributes:
        penalty: the group penalty.
        tool_mode: the high-resolution request the model may make (``resize``: VisionThink's
            whole-image resize, the default; ``zoom``: a region of the original; ``both``). It
            selects the system prompt the data must hold, the parser, the tools and the turn
            budget (:func:`visionthink_agent.protocol.tool_budget`); the ``tool_mode=<mode>``
            hydra override sets it together with the rollout keys it needs.
        boxes: how the model writes a zoom box (``first_look_pixels``: pixels of the first look,
            Qwen2.5-VL; ``relative_1000``: Qwen3-VL); zoom and both modes only.
        synthetic_data: write the synthetic benchmark as the data files when they are missing.
        neutralise_judge_failed_groups: give every rollout of a group whose judge failed the same
            score (0), so the group carries no policy-gradient signal, as the authors dropped
            such groups. veRL's DAPO filter (``algorithm.filter_groups``) drops and refills
            zero-variance groups; it cannot see judge failures, hence this switch.

    Example:
        >>> try:
        ...     VisionThinkSettings.from_config({"penalty": {"theta": 2}})
        ... except ConfigError as exc:
        ...     print(exc)
        visionthink.penalty.theta: Input should be less than or equal to 1
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    penalty: PenaltySettings = Field(default_factory=PenaltySettings)
    tool_mode: ToolMode = "resize"
    boxes: BoxConvention = "first_look_pixels"
    neutralise_judge_failed_groups: bool = True
    synthetic_data: SyntheticDataSettings | None = None

    @classmethod
    def from_config(cls, block: Mapping[str, Any] | None) -> VisionThinkSettings:
        """Validate a plain mapping (e.g. ``OmegaConf.to_container(config.visionthink)``).

        Raises:
            ConfigError: naming the first bad field, as ``visionthink.<path>: <problem>``.
        """
        try:
            return cls.model_validate(dict(block or {}))
        except ValidationError as exc:
            error = exc.errors()[0]
            where = ".".join(str(part) for part in ("visionthink", *error["loc"]))
            raise ConfigError(f"{where}: {error['msg']}") from None

    @property
    def budget(self) -> protocol.ToolBudget:
        """The requests, model turns and images one question gets in :attr:`tool_mode`.

        Example:
            >>> VisionThinkSettings(tool_mode="zoom").budget.max_model_turns
            3
        """
        return protocol.tool_budget(self.tool_mode)

    def check_rollout(
        self,
        *,
        tool_names: Collection[str],
        max_assistant_turns: int | None,
        max_user_turns: int | None,
        limit_images: int | None,
    ) -> None:
        """Check that the rollout config serves :attr:`tool_mode` (the driver and each loop do).

        Args:
            tool_names: the tools registered by ``multi_turn.tool_config_path``.
            max_assistant_turns: ``multi_turn.max_assistant_turns``.
            max_user_turns: ``multi_turn.max_user_turns``.
            limit_images: ``rollout.limit_images`` (None: no limit).

        Example:
            >>> try:
            ...     VisionThinkSettings(tool_mode="zoom").check_rollout(
            ...         tool_names=["resize_image"], max_assistant_turns=2, max_user_turns=1,
            ...         limit_images=2)
            ... except ConfigError as exc:
            ...     print(exc.args[0].split(" but ")[1].split(":")[0])
            visionthink.tool_mode=zoom needs ['image_zoom_in_tool']

        Raises:
            ConfigError: naming the first key that does not fit the mode.
        """
        mode, budget = self.tool_mode, self.budget
        hint = f"select the mode with the tool_mode={mode} override, which sets them all"
        wanted = sorted(protocol.tool_names(mode))
        if sorted(tool_names) != wanted:
            raise ConfigError(
                f"{_ROLLOUT}.multi_turn.tool_config_path registers {sorted(tool_names)} but "
                f"visionthink.tool_mode={mode} needs {wanted}: {hint} "
                f"(training/config/tool_mode/{mode}.yaml)"
            )
        for key, value, needed in (
            ("multi_turn.max_assistant_turns", max_assistant_turns, budget.max_model_turns),
            ("multi_turn.max_user_turns", max_user_turns, budget.max_model_turns - 1),
        ):
            if value != needed:
                raise ConfigError(
                    f"{_ROLLOUT}.{key} is {value} but visionthink.tool_mode={mode} needs "
                    f"{needed}: {hint}"
                )
        if limit_images is not None and limit_images < budget.max_images:
            raise ConfigError(
                f"{_ROLLOUT}.limit_images is {limit_images} but visionthink.tool_mode={mode} "
                f"shows up to {budget.max_images} images: {hint}"
            )

    def check_system_prompt(self, prompt: str | None, *, where: str) -> None:
        """Refuse data whose system prompt is another tool mode's (custom prompts pass).

        Args:
            prompt: the row's system message (None when it has none).
            where: what holds it, for the message (a file, a row).

        Example:
            >>> resize_prompt = protocol.system_prompt("resize")
            >>> VisionThinkSettings().check_system_prompt(resize_prompt, where="row 0")
            >>> try:
            ...     VisionThinkSettings(tool_mode="zoom").check_system_prompt(
            ...         resize_prompt, where="row 0")
            ... except ConfigError as exc:
            ...     print(exc)  # doctest: +ELLIPSIS
            row 0 holds the system prompt of tool_mode=resize but visionthink.tool_mode=zoom ...

        Raises:
            ConfigError: the prompt is the system prompt of another mode or box convention.
        """
        written_for = _known_system_prompts().get(prompt or "")
        if written_for is None or (self.tool_mode, self.boxes) in written_for:
            return
        mode, boxes = written_for[0]
        convention = "" if mode == "resize" else f" (boxes={boxes})"
        raise ConfigError(
            f"{where} holds the system prompt of tool_mode={mode}{convention} but "
            f"visionthink.tool_mode={self.tool_mode} (visionthink.boxes={self.boxes}): convert "
            f"the data again with python -m training.data ... --tool-mode {self.tool_mode} "
            f"--boxes {self.boxes}, or point data.train_files / val_files at such data"
        )


@cache
def _known_system_prompts() -> dict[str, list[tuple[str, str]]]:
    """Each shipped system prompt → the (mode, boxes) pairs it is written for."""
    known: dict[str, list[tuple[str, str]]] = {}
    for mode in get_args(ToolMode):
        for boxes in get_args(BoxConvention):
            known.setdefault(protocol.system_prompt(mode, boxes), []).append((mode, boxes))
    return known
