"""veRL 0.9.1 breaks a batch whose mRoPE ``position_ids`` rows have equal lengths; this mends it.

Qwen2.5-VL's ``position_ids`` are ``(4, seq_len)`` per row (text + three mRoPE axes). The
TransferQueue hands a batch's rows back as ``torch.nested.as_nested_tensor(rows,
layout=torch.jagged)``. With rows of different lengths that is a ``(B, 4, j)`` tensor, ragged on
dim 2. With rows of **equal** length (two rollouts of one prompt that both stop at
``max_response_length`` are enough) PyTorch makes dim 1, the 4, the ragged one: ``(B, j, L)``
with ``values`` ``(B*4, L)`` and offsets ``[0, 4, 8, ...]``. veRL's
``maybe_fix_3d_position_ids`` (called before every train / infer batch) then sets
``_ragged_idx = 2`` on it without rebuilding, so the next ``unbind`` splits ``values`` along the
sequence with the row sizes 4, 4, ...::

    RuntimeError: split_with_sizes expects split_sizes to sum exactly to 669 (input tensor's size
    at dimension 1), but got split_sizes=[4, 4]

(seen in the actor update at world size 2 with 2 prompts x 2 rollouts: each rank held one
prompt's two truncated rollouts). :func:`fix_3d_position_ids` rebuilds such a tensor ragged on
dim 2 and otherwise does what veRL's function does; :func:`install` puts it in veRL's place in
the modules that call it. ``training.cpu.plugin`` installs it in every Ray process of a CPU run.

Example:
    >>> import torch
    >>> from tensordict import TensorDict
    >>> rows = [torch.arange(8).reshape(4, 2), torch.arange(8, 16).reshape(4, 2)]
    >>> td = TensorDict({"position_ids": torch.nested.as_nested_tensor(rows, layout=torch.jagged)},
    ...                 batch_size=2)
    >>> fix_3d_position_ids(td)
    >>> [tuple(row.shape) for row in td["position_ids"].unbind()]
    [(4, 2), (4, 2)]
"""

from __future__ import annotations

import sys
from typing import Any

import torch
from tensordict import TensorDict
from verl.utils import tensordict_utils

__all__ = ["PATCHED_MODULES", "VERL_FIX", "fix_3d_position_ids", "install"]

PATCHED_MODULES = (
    "verl.utils.tensordict_utils",
    "verl.workers.engine_workers",
    "verl.workers.engine.base",
    "verl.workers.engine_workers_tinker",
)
"""The modules that call ``maybe_fix_3d_position_ids`` (each imports it by name)."""

VERL_FIX = tensordict_utils.maybe_fix_3d_position_ids
"""veRL's own ``maybe_fix_3d_position_ids`` (sets ``_ragged_idx = 2``)."""


def _rows_stacked_on_dim_0(positions: Any) -> bool:
    """A 3-D jagged tensor ragged on dim 1 whose offsets count rows of ``values`` (equal lengths).

    A ragged-on-dim-2 tensor that lost its ``_ragged_idx`` in a pickle has ``values`` of shape
    ``(4, sum of lengths)`` and offsets that end at ``values.shape[1]``; when both readings fit
    (one row of 4 positions) they mean the same rows.
    """
    values, offsets = positions.values(), positions.offsets()
    end = int(offsets[-1])
    return positions._ragged_idx == 1 and values.shape[0] == end and values.shape[1] != end


def fix_3d_position_ids(data: TensorDict) -> None:
    """veRL's ``maybe_fix_3d_position_ids``, also right for rows of equal length (in place).

    Example:
        >>> from tensordict import TensorDict
        >>> fix_3d_position_ids(TensorDict({}, batch_size=0))
    """
    positions = data.get("position_ids", None)
    if (
        isinstance(positions, torch.Tensor)
        and positions.is_nested
        and positions.dim() == 3
        and _rows_stacked_on_dim_0(positions)
    ):
        offsets: torch.Tensor = positions.offsets()  # type: ignore[attr-defined]
        rows = positions.values().split(offsets.diff().tolist(), dim=0)
        data["position_ids"] = tensordict_utils.nested_tensor_from_tensor_list(
            list(rows), ragged_idx=2
        )
        return
    VERL_FIX(data)


def install() -> None:
    """Replace ``maybe_fix_3d_position_ids`` in veRL's modules (those imported now, and for the
    ones imported later through ``verl.utils.tensordict_utils``). Idempotent.

    Example:
        >>> install()
        >>> tensordict_utils.maybe_fix_3d_position_ids is fix_3d_position_ids
        True
    """
    for name in PATCHED_MODULES:
        module = sys.modules.get(name)
        if module is not None and hasattr(module, "maybe_fix_3d_position_ids"):
            module.maybe_fix_3d_position_ids = fix_3d_position_ids  # type: ignore[attr-defined]
