"""``VisionThinkTrainer``: veRL's synchronous PPO trainer plus VisionThink's group penalty.

Before the advantages are computed, the batch's rewards (``rm_scores``, the score on each
rollout's last response token) are adjusted by :func:`training.group_penalty.penalise_batch`,
grouped by veRL's GRPO ``uid``; the statistics are logged with the step's metrics. Validation
(``trainer.test_freq``, ``trainer.val_before_train``) also reports the ``visionthink/*`` outcome
metrics, per question category and need label, under ``val-aux/``. Everything else is
:class:`verl.trainer.ppo.v1.PPOTrainerSync` unchanged.

Example:
    >>> VisionThinkTrainer.__mro__[1].__name__
    'PPOTrainerSync'
"""

from __future__ import annotations

from typing import Any

import torch
import transfer_queue as tq
from omegaconf import DictConfig, OmegaConf
from tensordict import TensorDict
from verl.trainer.ppo.v1 import PPOTrainerSync
from verl.utils import tensordict_utils as tu

from training.group_penalty import outcome_metrics, penalise_batch
from training.settings import VisionThinkSettings

__all__ = [
    "VisionThinkTrainer",
    "adjust_batch_rewards",
    "batch_tool_image_token_counts",
    "tool_image_token_counts",
    "validation_outcome_metrics",
]


def _plain(value: Any) -> Any:
    return getattr(value, "data", value)


def _as_list(value: Any) -> list[Any]:
    """A TransferQueue non-tensor field as a Python list (NonTensorStack or list-like)."""
    return list(value.tolist()) if hasattr(value, "tolist") else list(value)


def adjust_batch_rewards(batch: Any, settings: VisionThinkSettings) -> dict[str, float]:
    """Apply the group penalty to the rewards of a TransferQueue batch, in place.

    Args:
        batch: the ``KVBatchMeta`` of the sampled step (``keys``, ``partition_id``, ``tags``).
        settings: the validated ``visionthink`` config block.

    Returns:
        The penalty statistics to log.

    Example:
        >>> adjust_batch_rewards.__name__
        'adjust_batch_rewards'
    """
    data = tq.kv_batch_get(
        keys=batch.keys,
        partition_id=batch.partition_id,
        select_fields=["uid", "rm_scores", "extra_fields"],
    )
    uids = [str(_plain(uid)) for uid in _as_list(data["uid"])]
    extra = [_plain(value) for value in _as_list(data["extra_fields"])]
    rows = [row.clone() for row in data["rm_scores"].unbind()]
    real = [i for i, tag in enumerate(batch.tags) if not tag.get("is_padding", False)]
    adjustment = penalise_batch(
        [uids[i] for i in real],
        [extra[i].get("reward_extra_info", {}) for i in real],
        settings,
        scores=[float(rows[i][-1]) for i in real],
    )
    for i, delta in zip(real, adjustment.deltas, strict=True):
        rows[i][-1] += delta
    tq.kv_batch_put(
        keys=batch.keys,
        partition_id=batch.partition_id,
        fields=TensorDict(
            {"rm_scores": tu.nested_tensor_from_tensor_list(rows)}, batch_size=len(rows)
        ),
    )
    return adjustment.metrics


def tool_image_token_counts(
    responses: Any, response_mask: Any, image_token_id: int
) -> dict[str, float]:
    """Count the tool turns' image tokens in a batch's responses, and those left in the loss.

    The full-resolution image enters a trajectory only through the tool turn, and models never
    emit image placeholders, so every image token in a response belongs to a tool turn and must
    carry ``response_mask`` 0. ``visionthink/tool_image_tokens_in_loss`` above 0 means the tool
    turn leaks into the policy gradient.

    Args:
        responses: per-rollout response token ids (tensors, padded or ragged).
        response_mask: per-rollout masks aligned with ``responses``.
        image_token_id: the ``<|image_pad|>`` id.

    Example:
        >>> ids, mask = torch.tensor([[5, 9, 9, 6]]), torch.tensor([[1, 0, 0, 1]])
        >>> tool_image_token_counts(ids, mask, image_token_id=9)
        {'visionthink/tool_image_tokens': 2.0, 'visionthink/tool_image_tokens_in_loss': 0.0}
    """
    total = in_loss = 0
    for ids, mask in zip(responses, response_mask, strict=True):
        is_image = ids == image_token_id
        total += int(is_image.sum())
        in_loss += int((is_image & (mask[: len(ids)] > 0)).sum())
    return {
        "visionthink/tool_image_tokens": float(total),
        "visionthink/tool_image_tokens_in_loss": float(in_loss),
    }


def batch_tool_image_token_counts(batch: Any, image_token_id: int) -> dict[str, float]:
    """:func:`tool_image_token_counts` over a TransferQueue batch (``KVBatchMeta``).

    Example:
        >>> batch_tool_image_token_counts.__name__
        'batch_tool_image_token_counts'
    """
    data = tq.kv_batch_get(
        keys=batch.keys,
        partition_id=batch.partition_id,
        select_fields=["responses", "response_mask"],
    )
    return tool_image_token_counts(
        data["responses"].unbind(), data["response_mask"].unbind(), image_token_id
    )


def validation_outcome_metrics(reward_extra_infos: dict[str, list[Any]]) -> dict[str, float]:
    """:func:`training.group_penalty.outcome_metrics` of the validation rollouts, as ``val-aux/``.

    Args:
        reward_extra_infos: veRL's validation columns, one list per ``reward_extra_info`` key
            (``None`` where a rollout lacks the key); rollouts without ``acc`` (a reward that
            is not ours) are left out.

    Example:
        >>> columns = {"acc": [1.0, 0.0], "resized": [1.0, 0.0], "format": [1.0, 1.0],
        ...            "judge_ok": [1.0, 1.0], "category": ["digit", "colour"]}
        >>> validation_outcome_metrics(columns)["val-aux/visionthink/by_category/digit/accuracy"]
        1.0
    """
    keys = list(reward_extra_infos)
    columns = reward_extra_infos.values()
    rows = [dict(zip(keys, values, strict=True)) for values in zip(*columns, strict=True)]
    infos = [row for row in rows if row.get("acc") is not None]
    if not infos:
        return {}
    return {f"val-aux/{key}": value for key, value in outcome_metrics(infos).items()}


class VisionThinkTrainer(PPOTrainerSync):
    """:class:`PPOTrainerSync` that applies VisionThink's group penalty before the advantages.

    Args:
        config: the composed training config (with the ``visionthink`` block).

    Example:
        >>> VisionThinkTrainer._compute_advantage.__qualname__
        'VisionThinkTrainer._compute_advantage'
    """

    def __init__(self, config: DictConfig) -> None:
        super().__init__(config)
        block = OmegaConf.to_container(config.get("visionthink", {}), resolve=True)
        self.visionthink = VisionThinkSettings.from_config(block)  # type: ignore[arg-type]

    def _init_resource_pool_mgr(self) -> None:
        super()._init_resource_pool_mgr()
        if self.config.trainer.device != "cpu":
            return
        # On the CPU, the hybrid workers open a gloo-only process group (training.cpu.worker);
        # veRL's own async trainer swaps its worker class the same way.
        import ray
        from verl.trainer.ppo.utils import Role

        from training.cpu.worker import CPUActorRolloutRefWorker

        for role in (Role.ActorRollout, Role.ActorRolloutRef, Role.Actor, Role.RefPolicy):
            if role in self.role_worker_mapping:
                self.role_worker_mapping[role] = ray.remote(CPUActorRolloutRefWorker)

    def _val_metrics_update(
        self,
        data_sources: list[str],
        sample_uids: list[str],
        reward_extra_infos_dict: dict[str, list[Any]],
        sample_turns: list[int],
        expected_acc_counts: dict[tuple[str, str], int] | None = None,
    ) -> dict[str, float]:
        """veRL's validation metrics plus :func:`validation_outcome_metrics` (per category)."""
        metrics: dict[str, float] = super()._val_metrics_update(
            data_sources,
            sample_uids,
            reward_extra_infos_dict,
            sample_turns,
            expected_acc_counts=expected_acc_counts,
        )
        return metrics | validation_outcome_metrics(reward_extra_infos_dict)

    def _compute_advantage(self, batch: Any, metrics: dict[str, Any]) -> Any:
        with torch.no_grad():
            metrics.update(adjust_batch_rewards(batch, self.visionthink))
            image_token_id = self.tokenizer.convert_tokens_to_ids("<|image_pad|>")
            if isinstance(image_token_id, int) and image_token_id != self.tokenizer.unk_token_id:
                metrics.update(batch_tool_image_token_counts(batch, image_token_id))
        return super()._compute_advantage(batch, metrics)
