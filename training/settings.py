"""The ``visionthink`` block of the training config, validated once at the edge.

Example:
    >>> settings = VisionThinkSettings.from_config({"penalty": {"semantics": "paper"}})
    >>> settings.penalty.semantics, settings.penalty.theta, settings.neutralise_judge_failed_groups
    ('paper', 0.2, True)
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from visionthink_agent.reward import DEFAULT_PENALTY, DEFAULT_THETA

__all__ = ["ConfigError", "PenaltySettings", "SyntheticDataSettings", "VisionThinkSettings"]


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
