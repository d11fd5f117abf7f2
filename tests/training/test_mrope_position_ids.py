"""mRoPE ``position_ids`` rows of equal length survive veRL's mini-batching with our mend.

The batch is packed by the TransferQueue's own storage manager (as a worker's ``kv_batch_get``
gets it) and split into mini-batches by veRL's own ``make_iterator`` after its
``maybe_fix_3d_position_ids``, as ``train_mini_batch`` does. The first test fails when veRL (or
the TransferQueue) stops breaking such a batch: then :mod:`training.mrope_position_ids` can go.
"""

from __future__ import annotations

import pickle

import pytest
import torch
from tensordict import TensorDict
from transfer_queue.storage.managers.simple_storage_manager import AsyncSimpleStorageManager
from verl.utils import tensordict_utils as tu

from training import mrope_position_ids
from training.mrope_position_ids import PATCHED_MODULES, fix_3d_position_ids

pytestmark = pytest.mark.verl


def _batch(lengths: list[int]) -> tuple[TensorDict, list[torch.Tensor]]:
    rows = [torch.arange(4 * n).reshape(4, n) + 1000 * i for i, n in enumerate(lengths)]
    nested = AsyncSimpleStorageManager._pack_field_values(rows)  # a kv_batch_get's field
    return TensorDict({"position_ids": nested}, batch_size=len(rows)), rows


def _mini_batch_rows(batch: TensorDict, fix: object, size: int) -> list[torch.Tensor]:
    """veRL's ``train_mini_batch`` path: fix, split into mini-batches, fix, unbind."""
    fix(batch)  # type: ignore[operator]
    rows: list[torch.Tensor] = []
    for mini in tu.make_iterator(batch, mini_batch_size=size, epochs=1):
        fix(mini)  # type: ignore[operator]
        rows.extend(mini["position_ids"].unbind())
    return rows


def test_verl_still_breaks_rows_of_equal_length() -> None:
    batch, _ = _batch([669, 669])
    with pytest.raises(RuntimeError):
        _mini_batch_rows(batch, mrope_position_ids.VERL_FIX, 2)


@pytest.mark.parametrize(
    ("lengths", "size"), [([669, 669], 2), ([7, 7, 7, 7], 2), ([5, 9], 1), ([5, 9, 4], 3), ([4], 1)]
)
def test_rows_come_back_whole(lengths: list[int], size: int) -> None:
    batch, rows = _batch(lengths)
    got = _mini_batch_rows(batch, fix_3d_position_ids, size)
    assert [tuple(row.shape) for row in got] == [(4, n) for n in lengths]
    for mine, theirs in zip(got, rows, strict=True):
        assert torch.equal(mine, theirs)


def test_a_pickled_batch_ragged_on_dim_2_is_left_to_verl() -> None:
    """veRL's own case: consolidate + pickle drops ``_ragged_idx``; its fix puts 2 back."""
    rows = [torch.arange(4 * n).reshape(4, n) for n in (5, 7)]
    nested = tu.nested_tensor_from_tensor_list(rows, ragged_idx=2)
    batch = pickle.loads(
        pickle.dumps(TensorDict({"position_ids": nested}, batch_size=2).consolidate())
    )
    assert batch["position_ids"]._ragged_idx == 1
    got = _mini_batch_rows(batch, fix_3d_position_ids, 2)
    assert all(torch.equal(a, b) for a, b in zip(got, rows, strict=True))


def test_install_replaces_verls_function_where_it_is_called() -> None:
    import verl.workers.engine.base
    import verl.workers.engine_workers

    mrope_position_ids.install()
    for name in PATCHED_MODULES[:3]:
        module = __import__(name, fromlist=["maybe_fix_3d_position_ids"])
        assert module.maybe_fix_3d_position_ids is fix_3d_position_ids, name
    assert verl.workers.engine_workers.maybe_fix_3d_position_ids is fix_3d_position_ids
    assert verl.workers.engine.base.maybe_fix_3d_position_ids is fix_3d_position_ids
