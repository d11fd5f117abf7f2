"""bench_train_cpu's rollout half on the tiny model: it runs, and reads what the server prints."""

from __future__ import annotations

from pathlib import Path

import pytest

from training.cpu.prefix_cache import PrefixCache
from training.cpu.rollout_server import HFRolloutServer

pytestmark = pytest.mark.verl


def test_second_turns_reuse_their_prefix_and_match_a_full_prefill(tiny_checkpoint: Path) -> None:
    from benchmarks.rollout_measurements import measure_first_turns, measure_second_turns

    second = measure_second_turns(tiny_checkpoint, prompts=2, rounds=1, max_new_tokens=4)
    # Greedy second turns gave the same tokens both ways (else it raises), from a cached prefix
    # (the first turn; the tool turn with the full image, 4x the first look's tokens, is new).
    assert second["cached_tokens_mean"] > 0.3 * second["second_turn_prompt_tokens_mean"]
    assert second["reuse_over_full_prefill_s"] > 0
    first = measure_first_turns(tiny_checkpoint, prompts=2, rounds=1, max_new_tokens=4)
    assert first["concurrent_replica_over_batched_floor_tokens_per_s"] > 0


def test_the_bench_reads_the_servers_rollout_line() -> None:
    server = object.__new__(HFRolloutServer)
    server._batches = [(16, 3.25), (3, 1.5)]
    server.prefix_cache = PrefixCache(8)
    server.prefix_cache.hits, server.prefix_cache.reused_tokens = 3, 1800
    line = f"(HFRolloutServer pid=1) {server.rollout_summary()}\n"
    from benchmarks.bench_train_cpu import ROLLOUT_LINE

    [(batches, hits, tokens, misses)] = ROLLOUT_LINE.findall(line)
    assert (batches, hits, tokens, misses) == ("16x3.25 3x1.50", "3", "1800", "0")
