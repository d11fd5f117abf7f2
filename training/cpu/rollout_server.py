"""An in-process transformers rollout server for veRL's agent loop (``rollout.name: hf_cpu``).

veRL's agent loop talks to its rollout engine through a Ray actor handle: token ids (and the
images of the conversation so far) in, token ids (and log-probs) out, one call per model turn.
vLLM, SGLang and TRT-LLM serve that call on GPUs; :class:`HFRolloutServer` serves it with
``transformers``' ``generate`` on the CPU, so the whole GRPO step (multi-turn rollouts with the
``resize_image`` tool, reward, penalty, actor update) runs on a machine without an accelerator.

:class:`HFRolloutServer` is the Ray actor (started by
:class:`training.cpu.rollout_replica.HFReplica`): it loads the model from the same path as the
actor, and answers ``generate`` (sampling with the request's temperature / top-p / top-k,
stopping at the tokenizer's EOS ids, so at ``<|im_end|>`` as the protocol says),
``update_weights`` and the lifecycle calls veRL makes on a server (``wake_up``, ``sleep``,
``clear_kv_cache``, ...). Concurrent requests with the same sampling settings are generated
together in one left-padded batch (up to ``rollout.max_num_seqs``), by
:class:`training.cpu.turn_generation.TurnGenerator`: a small model on a CPU is bound by
per-token overhead, which a batch shares; a batch starts once no request has arrived for
``rollout.engine_kwargs.hf_cpu.batch_wait_ms`` (default 100), as a step's requests come one by
one while the agent loop prepares them. With ``rollout.enable_prefix_caching`` (veRL's
default) a trajectory's second turn reuses its first turn's keys and values
(:mod:`training.cpu.prefix_cache`; at most ``rollout.engine_kwargs.hf_cpu.prefix_cache_tokens``
tokens, default 32768, dropped at every weight update).
"""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import torch
from verl.utils.config import omega_conf_to_dataclass
from verl.workers.config import HFModelConfig, RolloutConfig
from verl.workers.rollout.replica import TokenOutput

from training.cpu.prefix_cache import PrefixCache
from training.cpu.turn_generation import (
    GenerationSettings,
    TurnGenerator,
    TurnRequest,
    TurnResult,
    vision_placeholder_ids,
)
from training.names import CPU_ROLLOUT_NAME as ROLLOUT_NAME

__all__ = [
    "DEFAULT_BATCH_WAIT_MS",
    "DEFAULT_PREFIX_CACHE_TOKENS",
    "HFRolloutServer",
    "prefix_cache_for",
]

DEFAULT_PREFIX_CACHE_TOKENS = 32768
"""Tokens the prefix cache holds at most, unless ``engine_kwargs.hf_cpu.prefix_cache_tokens``."""


DEFAULT_BATCH_WAIT_MS = 100
"""How long a batch waits for one more request, unless ``engine_kwargs.hf_cpu.batch_wait_ms``."""


def prefix_cache_for(config: RolloutConfig) -> PrefixCache:
    """The prefix cache a rollout config asks for: at most
    ``engine_kwargs.hf_cpu.prefix_cache_tokens`` tokens (default
    :data:`DEFAULT_PREFIX_CACHE_TOKENS`), nothing kept after ``multi_turn.max_assistant_turns``.

    Example:
        >>> config = RolloutConfig(
        ...     name="hf_cpu", engine_kwargs={"hf_cpu": {"prefix_cache_tokens": 64}})
        >>> config.multi_turn.max_assistant_turns = 2
        >>> cache = prefix_cache_for(config)
        >>> cache.max_tokens, cache.max_turns
        (64, 2)
    """
    hf_cpu = dict(config.engine_kwargs.get(ROLLOUT_NAME) or {})
    return PrefixCache(
        int(hf_cpu.get("prefix_cache_tokens", DEFAULT_PREFIX_CACHE_TOKENS)),
        max_turns=config.multi_turn.max_assistant_turns,
    )


@dataclass(eq=False)
class _Pending:
    request: TurnRequest
    future: asyncio.Future[TurnResult]


class HFRolloutServer:
    """Token-in/token-out generation with a transformers model on the CPU (a Ray actor).

    Args:
        config: the rollout config (``RolloutConfig`` or its ``DictConfig``).
        model_config: the actor's model config (``HFModelConfig`` or its ``DictConfig``).
        replica_rank: this server's replica.
    """

    def __init__(
        self,
        config: Any,
        model_config: Any,
        replica_rank: int = 0,
    ) -> None:
        from transformers import AutoModelForImageTextToText

        self.config: RolloutConfig = omega_conf_to_dataclass(config, dataclass_type=RolloutConfig)
        self.model_config: HFModelConfig = omega_conf_to_dataclass(
            model_config, dataclass_type=HFModelConfig
        )
        self.replica_rank = replica_rank
        threads = int(os.environ.get("VISIONTHINK_ROLLOUT_THREADS", "0"))
        if threads > 0:
            torch.set_num_threads(threads)
        torch.manual_seed(self.config.seed + replica_rank)  # reproducible sampling
        self.model = AutoModelForImageTextToText.from_pretrained(
            self.model_config.local_path, dtype=torch.float32
        ).eval()
        processor = self.model_config.processor
        self.image_processor = getattr(processor, "image_processor", None)
        tokenizer = self.model_config.tokenizer
        eos = self.model_config.generation_config
        eos_ids = getattr(eos, "eos_token_id", None) if eos is not None else None
        if eos_ids is None:
            eos_ids = tokenizer.eos_token_id
        self.eos_token_ids: list[int] = [eos_ids] if isinstance(eos_ids, int) else list(eos_ids)
        self.pad_token_id = (
            tokenizer.pad_token_id if tokenizer.pad_token_id is not None else self.eos_token_ids[0]
        )
        self.image_token_id: int | None = getattr(self.model.config, "image_token_id", None)
        self.prefix_cache = prefix_cache_for(self.config)
        hf_cpu = dict(self.config.engine_kwargs.get(ROLLOUT_NAME) or {})
        # Vision placeholders mark where the processor puts image features; a sampled one would
        # leave the sequence with more image slots than images (vLLM's multimodal processor
        # never lets a model emit them either).
        self.suppressed_token_ids = vision_placeholder_ids(self.model.config)
        self.generator = TurnGenerator(
            self.model,
            eos_token_ids=self.eos_token_ids,
            pad_token_id=self.pad_token_id,
            suppressed_token_ids=self.suppressed_token_ids,
            merge_size=int(getattr(self.image_processor, "merge_size", 2)),
            prefix_cache=self.prefix_cache if self.config.enable_prefix_caching else None,
        )
        self.global_steps: int | None = None
        self.weight_version = 0
        self._lock = asyncio.Lock()
        self.max_batch_size = max(1, int(self.config.max_num_seqs))
        self._pending: list[_Pending] = []
        self.batch_wait_s = float(hf_cpu.get("batch_wait_ms", DEFAULT_BATCH_WAIT_MS)) / 1000
        self._batches: list[tuple[int, float]] = []  # rows and seconds, since the weight update
        self._server_task: asyncio.Task[None] | None = None

    @property
    def batch_sizes(self) -> list[int]:
        """The size of every batch generated so far (for tests and benchmarks)."""
        return self.generator.batch_sizes

    # --- generation -------------------------------------------------------------------------

    def _max_new_tokens(self, sampling_params: dict[str, Any], prompt_len: int) -> int:
        room = self.config.max_model_len - prompt_len if self.config.max_model_len else None
        if "max_tokens" in sampling_params:
            wanted = int(sampling_params.pop("max_tokens"))
        elif "max_new_tokens" in sampling_params:
            wanted = int(sampling_params.pop("max_new_tokens"))
        else:
            wanted = min(
                self.config.response_length,
                self.config.prompt_length + self.config.response_length - prompt_len,
            )
        if room is not None:
            if room < 1:
                raise ValueError(
                    f"prompt of {prompt_len} tokens leaves no room to generate within "
                    f"rollout.max_model_len={self.config.max_model_len}"
                )
            wanted = min(wanted, room)
        return max(1, wanted)

    def _vision_inputs(
        self, prompt_ids: list[int], images: list[Any] | None, mm_kwargs: Mapping[str, Any] | None
    ) -> dict[str, torch.Tensor]:
        expected = prompt_ids.count(self.image_token_id) if self.image_token_id is not None else 0
        if not images:
            if expected:
                raise ValueError(f"the prompt has {expected} image tokens but no image was sent")
            return {}
        if self.image_processor is None:
            raise ValueError("images were sent but the model has no image processor")
        inputs = self.image_processor(images=list(images), return_tensors="pt", **(mm_kwargs or {}))
        grid = inputs["image_grid_thw"]
        merge = int(getattr(self.image_processor, "merge_size", 2))
        produced = int((grid.prod(-1) // (merge * merge)).sum())
        if produced != expected:
            raise ValueError(
                f"the prompt has {expected} image tokens but its {len(images)} image(s) "
                f"give {produced}: the images were not prepared as the prompt was"
            )
        return {"pixel_values": inputs["pixel_values"], "image_grid_thw": grid}

    def _next_batch(self) -> list[_Pending]:
        """The oldest waiting request and those waiting with the same sampling settings."""
        key = self._pending[0].request.settings.batch_key
        same = [p for p in self._pending if p.request.settings.batch_key == key]
        batch = same[: self.max_batch_size]
        self._pending = [p for p in self._pending if p not in batch]
        return batch

    async def _gather(self) -> None:
        """Let a batch fill while requests keep arriving, each within ``batch_wait_s`` of the
        last (a step's rollouts reach the server one by one, as the agent loop prepares them),
        for at most 20 such waits or until ``max_num_seqs`` wait."""
        for _ in range(20):
            waiting = len(self._pending)
            if waiting >= self.max_batch_size or self.batch_wait_s <= 0:
                return
            await asyncio.sleep(self.batch_wait_s)
            if len(self._pending) == waiting:
                return

    async def _serve_pending(self) -> None:
        """Generate for waiting requests, a batch at a time, until none is left.

        Requests that arrive while a batch runs join the next one (continuous batching at
        request granularity: a batch runs until its longest turn ends).
        """
        while self._pending:
            await self._gather()
            batch = self._next_batch()
            try:
                async with self._lock:
                    requests = [pending.request for pending in batch]
                    start = time.perf_counter()
                    results = await asyncio.to_thread(self.generator.generate, requests)
                    self._batches.append((len(batch), time.perf_counter() - start))
            except Exception as exc:  # every request of the batch gets the error
                for pending in batch:
                    if not pending.future.done():
                        pending.future.set_exception(exc)
                continue
            for pending, result in zip(batch, results, strict=True):
                if not pending.future.done():
                    pending.future.set_result(result)

    async def generate(
        self,
        prompt_ids: list[int],
        sampling_params: dict[str, Any],
        request_id: str,
        image_data: list[Any] | None = None,
        video_data: list[Any] | None = None,
        audio_data: list[Any] | None = None,
        mm_processor_kwargs: dict[str, Any] | None = None,
        priority: int = 0,
        **_: Any,
    ) -> TokenOutput:
        """Generate one model turn (veRL's server ``generate`` contract).

        Concurrent requests are generated together, up to ``rollout.max_num_seqs`` at a time;
        a turn whose prompt extends an earlier turn's tokens exactly (the trajectory's previous
        turn; veRL gives each turn a fresh ``request_id``) prefills only what is new
        (``extra_fields["num_cached_tokens"]`` says how many tokens it reused).

        Raises:
            ValueError: video or audio input, no room left in the context, or images that do not
                match the prompt's image tokens.
        """
        if video_data or audio_data:
            raise ValueError(f"{ROLLOUT_NAME} serves text and images only")
        prompt_ids = [int(t) for t in prompt_ids]
        params = dict(sampling_params)
        settings = GenerationSettings.from_request(
            params, max_new_tokens=self._max_new_tokens(params, len(prompt_ids))
        )
        vision = self._vision_inputs(prompt_ids, image_data, mm_processor_kwargs)
        request = TurnRequest(prompt_ids, settings, vision)
        pending = _Pending(request, asyncio.get_running_loop().create_future())
        self._pending.append(pending)
        if self._server_task is None or self._server_task.done():
            self._server_task = asyncio.create_task(self._serve_pending())
        result = await pending.future
        return TokenOutput(
            token_ids=result.token_ids,
            log_probs=result.log_probs,
            stop_reason="completed",
            extra_fields={
                "global_steps": self.global_steps,
                "num_cached_tokens": result.cached_tokens,
            },
        )

    # --- weights and lifecycle ------------------------------------------------------------

    async def update_weights(self, weights: dict[str, torch.Tensor]) -> int:
        """Load the actor's full weights (HF names); returns the new weight version.

        Raises:
            KeyError: a name the model does not have, or a model weight that was not sent.
        """
        async with self._lock:
            own = self.model.state_dict()
            unknown = sorted(set(weights) - set(own))
            if unknown:
                raise KeyError(f"weights the rollout model does not have: {unknown[:5]}")
            tied = set(getattr(self.model, "_tied_weights_keys", None) or ())
            missing = sorted(set(own) - set(weights) - tied)
            if missing:
                raise KeyError(f"the actor sent no value for: {missing[:5]}")
            with torch.no_grad():
                for name, value in weights.items():
                    own[name].copy_(value.to(own[name].dtype))
            if self._batches:  # a step's rollouts ended: how they went, on one line
                print(self.rollout_summary(), flush=True)
                self._batches.clear()
            self.prefix_cache.clear()  # keys and values of the old weights
            self.prefix_cache.reset_counts()
            self.weight_version += 1
            return self.weight_version

    def rollout_summary(self) -> str:
        """One line on the batches and the prefix reuse since the last weight update.

        Example:
            >>> server = object.__new__(HFRolloutServer)
            >>> server._batches, server.prefix_cache = [(16, 3.21), (1, 0.5)], PrefixCache(8)
            >>> server.rollout_summary()  # doctest: +ELLIPSIS
            'hf_cpu rollouts: 2 batches (rows x seconds: 16x3.21 1x0.50); prefix cache: 0 turns...'
        """
        batches = " ".join(f"{rows}x{seconds:.2f}" for rows, seconds in self._batches)
        return (
            f"{ROLLOUT_NAME} rollouts: {len(self._batches)} batches (rows x seconds: {batches}); "
            f"{self.prefix_cache.summary()}"
        )

    async def set_global_steps(self, global_steps: int) -> None:
        self.global_steps = global_steps

    async def wake_up(self, tags: list[str] | None = None) -> None:
        """Weights stay resident on the CPU: nothing to restore."""

    async def sleep(self) -> None:
        """Nothing to offload on the CPU."""

    async def clear_kv_cache(self) -> None:
        """Drop every trajectory's cached prefix."""
        async with self._lock:
            self.prefix_cache.clear()

    async def release_kv_cache(self) -> None:
        """Drop every trajectory's cached prefix (see :meth:`clear_kv_cache`)."""
        await self.clear_kv_cache()

    async def resume_kv_cache(self) -> None:
        """The prefix cache refills as turns run: nothing to restore."""

    async def wait_for_requests_to_drain(self) -> None:
        while self._pending or (self._server_task is not None and not self._server_task.done()):
            await asyncio.sleep(0.01)

    async def abort_all_requests(
        self, reset_prefix_cache: bool = True, reject_request: bool = False
    ) -> dict[str, Any]:
        """Requests run to completion with their batch; there is nothing to abort mid-way."""
        return {"aborted_count": 0, "request_ids": []}

    async def abort_request(
        self, request_id: str, reset_prefix_cache: bool = True
    ) -> dict[str, Any]:
        """Requests run to completion; see :meth:`abort_all_requests`."""
        return {"aborted": False, "request_id": request_id}

    async def resume_generation(self) -> None:
        """Generation is never paused."""

    async def start_profile(self, **kwargs: Any) -> None:
        """Profiling is done with torch.profiler around the trainer on the CPU."""

    async def stop_profile(self) -> None:
        """See :meth:`start_profile`."""

    def model_state_checksum(self) -> float:
        """Sum of all weights (tests compare it with the actor's after a sync)."""
        with torch.no_grad():
            return float(sum(p.double().sum() for p in self.model.state_dict().values()))
