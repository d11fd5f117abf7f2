"""An in-process transformers rollout server for veRL's agent loop (``rollout.name: hf_cpu``).

veRL's agent loop talks to its rollout engine through a Ray actor handle: token ids (and the
images of the conversation so far) in, token ids (and log-probs) out, one call per model turn.
vLLM, SGLang and TRT-LLM serve that call on GPUs; :class:`HFRolloutServer` serves it with
``transformers``' ``generate`` on the CPU, so the whole GRPO step (multi-turn rollouts with the
``resize_image`` tool, reward, penalty, actor update) runs on a machine without an accelerator.

* :class:`HFRolloutServer` is the Ray actor: it loads the model from the same path as the actor,
  and answers ``generate`` (sampling with the request's temperature / top-p / top-k, stopping at
  the tokenizer's EOS ids, so at ``<|im_end|>`` as the protocol says), ``update_weights`` and the
  lifecycle calls veRL makes on a server (``wake_up``, ``sleep``, ``clear_kv_cache``, ...).
  Concurrent requests with the same sampling settings are generated together in one
  left-padded batch (up to ``rollout.max_num_seqs``): a small model on a CPU is bound by
  per-token overhead, which a batch shares.
* :class:`HFReplica` is the ``RolloutReplica`` veRL's ``LLMServerManager`` builds per replica:
  it starts one named server actor beside the hybrid workers.
* :class:`HFServerAdapter` is the ``BaseRollout`` each hybrid worker holds: after every actor
  update veRL hands it the actor's full weights, which it copies into the server.

Example:
    >>> sampling = GenerationSettings.from_request(
    ...     {"temperature": 1.0, "top_p": 0.9, "top_k": -1, "logprobs": True}, max_new_tokens=8)
    >>> sampling.do_sample, sampling.top_k, sampling.want_logprobs
    (True, None, True)
"""

from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import ray
import torch
from verl.utils.config import omega_conf_to_dataclass
from verl.workers.config import HFModelConfig, RolloutConfig
from verl.workers.rollout.base import BaseRollout
from verl.workers.rollout.replica import RolloutReplica, TokenOutput

from training.names import CPU_ROLLOUT_NAME

__all__ = [
    "ROLLOUT_NAME",
    "GenerationSettings",
    "HFReplica",
    "HFRolloutServer",
    "HFServerAdapter",
    "server_actor_name",
    "vision_placeholder_ids",
]

logger = logging.getLogger(__name__)

ROLLOUT_NAME = CPU_ROLLOUT_NAME


def server_actor_name(replica_rank: int, node_rank: int = 0) -> str:
    """The Ray actor name of a replica's server (the adapter finds its server by it).

    Example:
        >>> server_actor_name(0)
        'hf_cpu_server_0_0'
    """
    return f"{ROLLOUT_NAME}_server_{replica_rank}_{node_rank}"


@dataclass(frozen=True)
class GenerationSettings:
    """One request's sampling settings, read off veRL's vLLM-style ``sampling_params``.

    Attributes:
        max_new_tokens: tokens to generate at most.
        do_sample: sample (temperature > 0) or decode greedily.
        temperature: softmax temperature when sampling.
        top_p: nucleus mass (1.0: off).
        top_k: top-k cut (None: off; vLLM's -1 and 0 both mean off).
        repetition_penalty: transformers' repetition penalty (1.0: off).
        want_logprobs: return the log-probability of each generated token.
    """

    max_new_tokens: int
    do_sample: bool
    temperature: float
    top_p: float
    top_k: int | None
    repetition_penalty: float
    want_logprobs: bool

    @property
    def batch_key(self) -> tuple[Any, ...]:
        """Requests with equal keys can share one ``generate`` call (lengths may differ)."""
        return (
            self.do_sample,
            self.temperature,
            self.top_p,
            self.top_k,
            self.repetition_penalty,
            self.want_logprobs,
        )

    @classmethod
    def from_request(
        cls, sampling_params: Mapping[str, Any], *, max_new_tokens: int
    ) -> GenerationSettings:
        """Read the settings the agent loop sends (unknown keys are ignored, as vLLM would not).

        Example:
            >>> GenerationSettings.from_request({"temperature": 0}, max_new_tokens=4).do_sample
            False
        """
        temperature = float(sampling_params.get("temperature", 1.0))
        top_k = int(sampling_params.get("top_k", -1) or -1)
        return cls(
            max_new_tokens=max_new_tokens,
            do_sample=temperature > 0,
            temperature=temperature if temperature > 0 else 1.0,
            top_p=float(sampling_params.get("top_p", 1.0)),
            top_k=top_k if top_k > 0 else None,
            repetition_penalty=float(sampling_params.get("repetition_penalty", 1.0) or 1.0),
            want_logprobs=bool(sampling_params.get("logprobs", False)),
        )


def vision_placeholder_ids(model_config: Any) -> list[int]:
    """The ids of the vision placeholder tokens a model config names (never to be generated).

    Example:
        >>> from types import SimpleNamespace
        >>> vision_placeholder_ids(SimpleNamespace(image_token_id=7, vision_start_token_id=5))
        [5, 7]
    """
    names = ("image_token_id", "video_token_id", "vision_start_token_id", "vision_end_token_id")
    ids = {getattr(model_config, name, None) for name in names}
    return sorted(i for i in ids if isinstance(i, int))


@dataclass(eq=False)  # requests are compared by identity (their tensors have no truth value)
class _Request:
    prompt_ids: list[int]
    settings: GenerationSettings
    vision: dict[str, torch.Tensor]
    future: asyncio.Future[tuple[list[int], list[float] | None]]


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
        # Vision placeholders mark where the processor puts image features; a sampled one would
        # leave the sequence with more image slots than images (vLLM's multimodal processor
        # never lets a model emit them either).
        self.suppressed_token_ids = vision_placeholder_ids(self.model.config)
        self.global_steps: int | None = None
        self.weight_version = 0
        self._lock = asyncio.Lock()
        self.max_batch_size = max(1, int(self.config.max_num_seqs))
        self._pending: list[_Request] = []
        self._server_task: asyncio.Task[None] | None = None
        self.batch_sizes: list[int] = []  # of every generate call, for tests and benchmarks

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

    def batch_inputs(
        self, prompts: list[list[int]], visions: list[dict[str, torch.Tensor]]
    ) -> tuple[dict[str, torch.Tensor], dict[str, torch.Tensor]]:
        """The ``generate`` inputs of a batch of prompts: left-padded ids and attention mask,
        and the images' tensors in row order (with the image-slot mask M-RoPE needs).

        Example:
            >>> server = object.__new__(HFRolloutServer)
            >>> server.pad_token_id, server.image_token_id = 0, 9
            >>> text, vision = server.batch_inputs([[5, 6], [7]], [{}, {}])
            >>> text["input_ids"].tolist(), text["attention_mask"].tolist(), vision
            ([[5, 6], [0, 7]], [[1, 1], [0, 1]], {})
        """
        width = max(len(ids) for ids in prompts)
        input_ids = torch.full((len(prompts), width), self.pad_token_id, dtype=torch.long)
        attention_mask = torch.zeros((len(prompts), width), dtype=torch.long)
        for row, ids in enumerate(prompts):
            input_ids[row, width - len(ids) :] = torch.tensor(ids)
            attention_mask[row, width - len(ids) :] = 1
        vision: dict[str, torch.Tensor] = {}
        with_images = [v for v in visions if v]
        if with_images:  # in row order, as the model matches images to image tokens
            if self.image_token_id is None:
                raise ValueError("the model's config names no image_token_id for its images")
            vision = {key: torch.cat([v[key] for v in with_images]) for key in with_images[0]}
            # Which tokens are image slots: without it transformers skips the M-RoPE positions
            # (text positions for the image, and a stale rope offset from the previous call).
            vision["mm_token_type_ids"] = torch.eq(input_ids, self.image_token_id).long()
        return {"input_ids": input_ids, "attention_mask": attention_mask}, vision

    @torch.inference_mode()
    def _generate_batch(self, batch: list[_Request]) -> list[tuple[list[int], list[float] | None]]:
        """One ``generate`` call for requests with the same sampling settings (left-padded)."""
        settings = batch[0].settings
        self.batch_sizes.append(len(batch))
        text, vision = self.batch_inputs([r.prompt_ids for r in batch], [r.vision for r in batch])
        width = text["input_ids"].shape[1]
        output = self.model.generate(
            **text,
            **vision,
            max_new_tokens=max(r.settings.max_new_tokens for r in batch),
            do_sample=settings.do_sample,
            temperature=settings.temperature if settings.do_sample else None,
            top_p=settings.top_p if settings.do_sample else None,
            top_k=settings.top_k if settings.do_sample else None,
            repetition_penalty=settings.repetition_penalty,
            eos_token_id=self.eos_token_ids,
            suppress_tokens=self.suppressed_token_ids or None,
            pad_token_id=self.pad_token_id,
            return_dict_in_generate=True,
            output_logits=settings.want_logprobs,
        )
        generated = output.sequences[:, width:]
        results: list[tuple[list[int], list[float] | None]] = []
        for row, request in enumerate(batch):
            tokens = generated[row, : request.settings.max_new_tokens].tolist()
            stop = next((i for i, t in enumerate(tokens) if t in self.eos_token_ids), None)
            tokens = tokens if stop is None else tokens[: stop + 1]
            if not settings.want_logprobs:
                results.append((tokens, None))
                continue
            # Log-probabilities under the sampling temperature, as veRL's actor computes them.
            logits = torch.stack([step[row] for step in output.logits[: len(tokens)]]).float()
            logprobs = torch.log_softmax(logits / settings.temperature, dim=-1)
            chosen = logprobs.gather(-1, torch.tensor(tokens).unsqueeze(-1)).squeeze(-1)
            results.append((tokens, chosen.tolist()))
        return results

    def _next_batch(self) -> list[_Request]:
        """The oldest waiting request and those waiting with the same sampling settings."""
        key = self._pending[0].settings.batch_key
        batch = [r for r in self._pending if r.settings.batch_key == key][: self.max_batch_size]
        self._pending = [r for r in self._pending if r not in batch]
        return batch

    async def _serve_pending(self) -> None:
        """Generate for waiting requests, a batch at a time, until none is left.

        Requests that arrive while a batch runs join the next one (continuous batching at
        request granularity: a batch runs until its longest turn ends).
        """
        while self._pending:
            batch = self._next_batch()
            try:
                async with self._lock:
                    results = await asyncio.to_thread(self._generate_batch, batch)
            except Exception as exc:  # every request of the batch gets the error
                for request in batch:
                    if not request.future.done():
                        request.future.set_exception(exc)
                continue
            for request, result in zip(batch, results, strict=True):
                if not request.future.done():
                    request.future.set_result(result)

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

        Concurrent requests are generated together, up to ``rollout.max_num_seqs`` at a time.

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
        request = _Request(prompt_ids, settings, vision, asyncio.get_running_loop().create_future())
        self._pending.append(request)
        if self._server_task is None or self._server_task.done():
            self._server_task = asyncio.create_task(self._serve_pending())
        tokens, logprobs = await request.future
        return TokenOutput(
            token_ids=tokens,
            log_probs=logprobs,
            stop_reason="completed",
            extra_fields={"global_steps": self.global_steps, "num_cached_tokens": 0},
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
            self.weight_version += 1
            return self.weight_version

    async def set_global_steps(self, global_steps: int) -> None:
        self.global_steps = global_steps

    async def wake_up(self, tags: list[str] | None = None) -> None:
        """Weights stay resident on the CPU: nothing to restore."""

    async def sleep(self) -> None:
        """Nothing to offload on the CPU."""

    async def clear_kv_cache(self) -> None:
        """No cache is kept between requests."""

    async def release_kv_cache(self) -> None:
        """No cache is kept between requests."""

    async def resume_kv_cache(self) -> None:
        """No cache is kept between requests."""

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


class HFReplica(RolloutReplica):
    """One :class:`HFRolloutServer` per replica, beside the hybrid workers (no GPU resource)."""

    async def launch_servers(self) -> None:
        name = server_actor_name(self.replica_rank)
        node_id = ray.get_runtime_context().get_node_id()
        if self.workers:
            node_id = await self.workers[0].__ray_call__.remote(
                lambda worker: ray.get_runtime_context().get_node_id()
            )
        server: Any = (
            ray.remote(HFRolloutServer)
            .options(
                name=name,
                num_cpus=0,
                max_concurrency=self.max_concurrency,
                scheduling_strategy=ray.util.scheduling_strategies.NodeAffinitySchedulingStrategy(
                    node_id=node_id, soft=False
                ),
            )
            .remote(self.config, self.model_config, self.replica_rank)
        )
        await server.set_global_steps.remote(0)  # waits until the model is loaded
        self.servers = [server]
        self._server_handle = server
        self._server_address = f"{ROLLOUT_NAME}://{name}"

    async def sleep(self) -> None:
        """Nothing to offload (see :meth:`HFRolloutServer.sleep`)."""


def _full_cpu_tensor(tensor: torch.Tensor) -> torch.Tensor:
    full = tensor.full_tensor() if hasattr(tensor, "full_tensor") else tensor
    # A copy, never a view: the trainer may reuse the source buffer after the sync.
    return full.detach().to("cpu", copy=True).contiguous()


def collect_weights(weights: Iterable[tuple[str, torch.Tensor]]) -> dict[str, torch.Tensor]:
    """Materialise veRL's ``(name, tensor)`` stream as full, owned CPU tensors.

    Example:
        >>> source = torch.ones(2)
        >>> out = collect_weights([("w", source)])
        >>> out["w"].data_ptr() != source.data_ptr(), out["w"].tolist()
        (True, [1.0, 1.0])
    """
    return {name: _full_cpu_tensor(tensor) for name, tensor in weights}


class HFServerAdapter(BaseRollout):
    """The hybrid worker's handle on its replica's :class:`HFRolloutServer`.

    veRL calls :meth:`update_weights` after each actor update with the actor's full weights;
    rank 0 of each replica sends them to the server, the other ranks only take part in the
    all-gather that produced them.
    """

    def __init__(
        self,
        config: RolloutConfig,
        model_config: HFModelConfig,
        device_mesh: Any,
        replica_rank: int = -1,
    ) -> None:
        super().__init__(config, model_config, device_mesh)
        rank = int(os.environ.get("RANK", "0"))
        world = (
            self.config.tensor_model_parallel_size
            * self.config.data_parallel_size
            * self.config.pipeline_model_parallel_size
        )
        self.replica_rank = rank // world if replica_rank == -1 else replica_rank
        self.is_leader = rank % world == 0
        self._server: Any = None

    def _server_handle(self) -> Any:
        if self._server is None:
            self._server = ray.get_actor(server_actor_name(self.replica_rank))
        return self._server

    async def resume(self, tags: list[str]) -> None:
        """Weights and cache stay resident on the CPU."""

    async def release(self) -> None:
        """Weights and cache stay resident on the CPU."""

    async def update_weights(
        self,
        weights: Any,
        wire_format: str = "named_tensors",
        global_steps: int | None = None,
        **kwargs: Any,
    ) -> None:
        if wire_format != "named_tensors":
            raise ValueError(f"{ROLLOUT_NAME} takes full named tensors, not {wire_format!r}")
        if kwargs.get("peft_config") is not None:
            raise ValueError(f"{ROLLOUT_NAME} takes merged weights (set model.lora.merge=true)")
        state = collect_weights(weights)  # every rank iterates: the gather is collective
        if not self.is_leader:
            return
        server = self._server_handle()
        await server.update_weights.remote(state)
        if global_steps is not None:
            await server.set_global_steps.remote(global_steps)
