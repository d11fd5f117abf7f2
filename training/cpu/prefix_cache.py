"""The key/value cache of each trajectory's last turn, so that its next turn skips re-reading it.

A VisionThink trajectory is two model turns: the first (on the 1/4-pixel image) ends in a
``resize_image`` call, and the agent loop sends the second turn's prompt as the first turn's
prompt, its response tokens and the tool turn with the full image. :class:`PrefixCache` keeps
the tokens each turn read and wrote with their keys and values; a later prompt that starts with
exactly those tokens prefills only the rest (the tool turn). Entries are found by their tokens,
not by request id: veRL 0.9.1's server manager sends each turn with a fresh request id (the
trajectory's id only picks the server), as vLLM's prefix cache matches tokens too.

The cache is bounded in tokens (least recently stored entries go first), an entry is taken out
when a prompt uses it, and is not stored after a trajectory's last allowed turn;
:meth:`PrefixCache.clear` drops everything (the server calls it when the weights change, as
keys and values computed by the old weights are stale).

Example:
    >>> import torch
    >>> kv = [(torch.zeros(1, 2, 3, 4), torch.zeros(1, 2, 3, 4))]
    >>> cache = PrefixCache(max_tokens=10, max_turns=2)
    >>> cache.put(CachedPrefix([5, 6, 7], kv, turns=1))
    >>> cache.take([5, 6, 7, 8, 9]).token_ids
    [5, 6, 7]
    >>> cache.take([5, 6, 7, 8, 9]) is None  # taken: a turn's cache serves one next turn
    True
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass

import torch

__all__ = ["CachedPrefix", "PrefixCache"]


@dataclass(eq=False)
class CachedPrefix:
    """One trajectory's turn so far: its tokens and, per layer, their keys and values.

    Attributes:
        token_ids: the tokens the keys and values belong to, in order.
        layers: per decoder layer, ``(keys, values)`` of shape ``(1, kv_heads, tokens, dim)``.
        turns: how many model turns of the trajectory these tokens hold.
    """

    token_ids: list[int]
    layers: list[tuple[torch.Tensor, torch.Tensor]]
    turns: int


class PrefixCache:
    """Turns' :class:`CachedPrefix` entries, at most ``max_tokens`` tokens in all.

    Args:
        max_tokens: how many tokens all entries may hold together (0 turns the cache off).
        max_turns: a trajectory's most model turns (an entry at that many turns is not stored,
            as no turn follows it); None: no limit.
    """

    def __init__(self, max_tokens: int, max_turns: int | None = None) -> None:
        self.max_tokens = max_tokens
        self.max_turns = max_turns
        self._entries: OrderedDict[int, CachedPrefix] = OrderedDict()
        self._next_key = 0
        self.tokens = 0
        self.hits = self.misses = self.reused_tokens = 0

    def __len__(self) -> int:
        return len(self._entries)

    def take(self, prompt_ids: list[int]) -> CachedPrefix | None:
        """Remove and return the longest entry whose tokens ``prompt_ids`` extends exactly.

        None (a full prefill) when no entry's tokens start the prompt with something after.
        """
        best: tuple[int, CachedPrefix] | None = None
        for key, entry in self._entries.items():
            cached = len(entry.token_ids)
            longer = best is None or cached > len(best[1].token_ids)
            if longer and cached < len(prompt_ids) and prompt_ids[:cached] == entry.token_ids:
                best = (key, entry)
        if best is None:
            self.misses += 1
            return None
        del self._entries[best[0]]
        self.tokens -= len(best[1].token_ids)
        self.hits += 1
        self.reused_tokens += len(best[1].token_ids)
        return best[1]

    def accepts(self, tokens: int, turns: int) -> bool:
        """Whether an entry of ``tokens`` tokens after ``turns`` turns would be stored (one that
        the cache cannot hold, or after the trajectory's last turn, would not)."""
        return tokens <= self.max_tokens and (self.max_turns is None or turns < self.max_turns)

    def put(self, entry: CachedPrefix) -> None:
        """Store ``entry``, evicting the oldest entries to stay in bounds."""
        size = len(entry.token_ids)
        if not self.accepts(size, entry.turns):
            return
        while self._entries and self.tokens + size > self.max_tokens:
            _, evicted = self._entries.popitem(last=False)
            self.tokens -= len(evicted.token_ids)
        self._entries[self._next_key] = entry
        self._next_key += 1
        self.tokens += size

    def clear(self) -> None:
        """Drop every entry (after a weight update their keys and values are stale)."""
        self._entries.clear()
        self.tokens = 0

    def summary(self) -> str:
        """One line on the reuse since the counters were last reset (see :meth:`reset_counts`).

        Example:
            >>> PrefixCache(max_tokens=8).summary()
            'prefix cache: 0 turns reused 0 cached tokens, 0 prefilled in full'
        """
        return (
            f"prefix cache: {self.hits} turns reused {self.reused_tokens} cached tokens, "
            f"{self.misses} prefilled in full"
        )

    def reset_counts(self) -> None:
        """Start counting hits, misses and reused tokens afresh."""
        self.hits = self.misses = self.reused_tokens = 0
