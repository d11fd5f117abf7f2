"""The rollout half of ``bench_train_cpu.py``: the ``hf_cpu`` replica against its floor.

Both measurements run the code path training uses
(:meth:`training.cpu.rollout_server.HFRolloutServer.generate`: request parsing, image preparation
and the image-token check, batching, prefix reuse, a worker thread, the ``TokenOutput``) on the
synthetic benchmark's questions in the VisionThink conversation, greedy (so every path produces
the same tokens, which is checked), in interleaved rounds (so machine load hits all paths alike),
each path once as a warm-up.

* :func:`measure_first_turns`: first turns (first-look image) through the replica, one request
  at a time and all at once (as the agent loop sends a step's rollouts), against
  ``model.generate`` one prompt at a time and against **one batched** ``model.generate`` over the
  same prompts with inputs built beforehand (the floor).
* :func:`measure_second_turns`: every trajectory's second turn (its first turn, the model's own
  response, the tool turn with the full image) sent all at once, with the first turn's keys and
  values reused against a full re-prefill (the server with ``enable_prefix_caching`` off).
"""

from __future__ import annotations

import asyncio
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from PIL import Image
from rich.progress import track

from training.agent_loop import tool_turn_content
from training.cpu.rollout_server import HFRolloutServer
from training.cpu.turn_generation import until_eos
from visionthink_agent import protocol
from visionthink_agent.images import downsample_for_first_look
from visionthink_agent.synthetic import make_synthetic_samples

__all__ = ["build_server", "measure_first_turns", "measure_second_turns"]

_RESIZE_CALL = (
    "<think>The details are too small at this size.</think>\n<tool_call>\n"
    '{"name": "resize_image", "arguments": {}}\n</tool_call>'
)
"""A first turn that asks for the full image (only to render the tool turn that follows it)."""


def build_server(model: Path, max_new_tokens: int) -> HFRolloutServer:
    """The rollout server on ``model``, as veRL would start it (two model turns at most)."""
    from omegaconf import OmegaConf
    from verl.utils.config import omega_conf_to_dataclass
    from verl.workers.config import HFModelConfig, RolloutConfig

    rollout = {
        "name": "hf_cpu",
        "prompt_length": 2048,
        "response_length": max_new_tokens,
        "max_model_len": 4096,
        "multi_turn": {"max_assistant_turns": 2},
    }
    config = omega_conf_to_dataclass(OmegaConf.create(rollout), dataclass_type=RolloutConfig)
    return HFRolloutServer(config, HFModelConfig(path=str(model)))


@dataclass(frozen=True)
class Trajectory:
    """A sample's first-turn prompt and image, and its tool turn (closing the first turn, the
    ``resize_image`` reply with the full image, the generation prompt) and full image."""

    first_ids: list[int]
    first_look: Image.Image
    tool_ids: list[int]
    full: Image.Image


def trajectories(server: HFRolloutServer, count: int) -> list[Trajectory]:
    """The first ``count`` synthetic samples as VisionThink conversations, tokenized."""
    processor = server.model_config.processor
    tokenizer = server.model_config.tokenizer
    im_start, im_end = tokenizer.convert_tokens_to_ids(["<|im_start|>", "<|im_end|>"])
    out = []
    for sample in make_synthetic_samples(count):
        low = downsample_for_first_look(sample.image)
        messages: list[dict[str, Any]] = [
            {"role": "system", "content": protocol.load_strings()["system_prompt"]},
            {
                "role": "user",
                "content": tool_turn_content(protocol.user_turn(sample.question), image=low),
            },
        ]
        first = _tokens(processor, messages, [low])
        messages += [
            {"role": "assistant", "content": [{"type": "text", "text": _RESIZE_CALL}]},
            {
                "role": "user",
                "content": tool_turn_content(protocol.tool_success_turn(), image=sample.image),
            },
        ]
        second = _tokens(processor, messages, [low, sample.image])
        user_start = [i for i, t in enumerate(second) if t == im_start][-2]
        close = user_start - 2  # the assistant turn's <|im_end|> and newline
        if second[close] != im_end:
            raise RuntimeError("the chat template does not close a turn with <|im_end|>\\n")
        out.append(Trajectory(first, low, second[close:], sample.image))
    return out


def _tokens(processor: Any, messages: list[dict[str, Any]], images: list[Any]) -> list[int]:
    text = processor.apply_chat_template(messages, add_generation_prompt=True, tokenize=False)
    ids: list[int] = processor(text=[text], images=images, return_tensors="pt")["input_ids"][0]
    return [int(t) for t in ids]


def _turns(
    server: HFRolloutServer, prompts: list[tuple[list[int], list[Any]]], request_ids: list[str]
) -> list[Any]:
    """Send the prompts all at once, as the agent loop sends a step's rollouts."""

    async def together() -> list[Any]:
        return await asyncio.gather(
            *(
                server.generate(ids, {"temperature": 0}, rid, image_data=images)
                for (ids, images), rid in zip(prompts, request_ids, strict=True)
            )
        )

    return asyncio.run(together())


def _timed(fn: Callable[[], int]) -> Callable[[], tuple[int, float]]:
    """``fn`` made to return its tokens and the seconds it took."""

    def run() -> tuple[int, float]:
        start = time.perf_counter()
        tokens = fn()
        return tokens, time.perf_counter() - start

    return run


def _timed_rounds(
    paths: dict[str, Callable[[], tuple[int, float]]], rounds: int, description: str
) -> tuple[dict[str, float], dict[str, int]]:
    """Median seconds per path over interleaved rounds, after a warm-up; the tokens each
    generated (the same for all, or an error). Each path returns its tokens and seconds."""
    for fn in paths.values():
        fn()
    times: dict[str, list[float]] = {name: [] for name in paths}
    tokens: dict[str, int] = {}
    for _ in track(range(rounds), description=description):
        for name, fn in paths.items():
            tokens[name], seconds = fn()
            times[name].append(seconds)
    if len(set(tokens.values())) != 1:
        raise RuntimeError(f"greedy outputs differ in length: {tokens}")
    return {name: statistics.median(t) for name, t in times.items()}, tokens


def measure_first_turns(
    model: Path, prompts: int, rounds: int, max_new_tokens: int
) -> dict[str, Any]:
    """First turns: the replica (one at a time, all at once) against ``model.generate`` (one
    at a time, and one batched call: the floor)."""
    server = build_server(model, max_new_tokens)
    pairs = [(t.first_ids, [t.first_look]) for t in trajectories(server, prompts)]
    if server.image_processor is None:
        raise ValueError(f"{model} has no image processor")
    visions = [dict(server.image_processor(images=imgs, return_tensors="pt")) for _, imgs in pairs]

    def replica() -> int:
        return sum(len(_turns(server, [pair], ["bench"])[0].token_ids) for pair in pairs)

    def replica_concurrent() -> int:
        outputs = _turns(server, pairs, [f"bench{i}" for i in range(len(pairs))])
        return sum(len(out.token_ids) for out in outputs)

    @torch.inference_mode()
    def generate(batch: list[tuple[list[int], dict[str, Any]]]) -> int:
        text, vision = server.generator.batch_inputs(
            [ids for ids, _ in batch], [v for _, v in batch]
        )
        out = server.model.generate(
            **text,
            **vision,
            max_new_tokens=max_new_tokens,
            do_sample=False,
            eos_token_id=server.eos_token_ids,
            suppress_tokens=server.suppressed_token_ids,
            pad_token_id=server.pad_token_id,
        )
        rows = out[:, text["input_ids"].shape[1] :].tolist()
        return sum(len(until_eos(row, server.eos_token_ids)) for row in rows)

    inputs = [(ids, vision) for (ids, _), vision in zip(pairs, visions, strict=True)]
    # On the same kind of worker thread the server generates on: torch's OpenMP pool is per
    # thread, and two pools spinning on 2 cores would slow whichever ran second.
    paths = {
        "replica": _timed(replica),
        "replica_concurrent": _timed(replica_concurrent),
        "plain": _timed(
            lambda: asyncio.run(asyncio.to_thread(lambda: sum(generate([one]) for one in inputs)))
        ),
        "batched_floor": _timed(lambda: asyncio.run(asyncio.to_thread(generate, inputs))),
    }
    median, tokens = _timed_rounds(paths, rounds, "first turns: replica vs generate")
    rate = {name: tokens[name] / seconds for name, seconds in median.items()}
    return {
        "prompts": prompts,
        "rounds": rounds,
        "prompt_tokens_mean": statistics.mean(len(ids) for ids, _ in pairs),
        "generated_tokens_per_round": tokens["replica"],
        "median_s": median,
        "tokens_per_s": rate,
        "replica_over_plain_tokens_per_s": rate["replica"] / rate["plain"],
        "concurrent_replica_over_plain_tokens_per_s": rate["replica_concurrent"] / rate["plain"],
        "concurrent_replica_over_batched_floor_tokens_per_s": (
            rate["replica_concurrent"] / rate["batched_floor"]
        ),
    }


def measure_second_turns(
    model: Path, prompts: int, rounds: int, max_new_tokens: int
) -> dict[str, Any]:
    """Second turns all at once through the replica: reusing the first turn's keys and values
    (the first turns run, untimed, just before) against a full re-prefill."""
    server = build_server(model, max_new_tokens)
    convos = trajectories(server, prompts)
    firsts = [(t.first_ids, [t.first_look]) for t in convos]
    ids = [f"traj{i}" for i in range(len(convos))]
    first_out = _turns(server, firsts, ids)
    seconds = [
        (t.first_ids + out.token_ids + t.tool_ids, [t.first_look, t.full])
        for t, out in zip(convos, first_out, strict=True)
    ]
    cache = server.generator.prefix_cache
    cached: list[int] = []

    def reuse() -> tuple[int, float]:
        _turns(server, firsts, ids)  # untimed: they leave the second turns' prefixes cached
        start = time.perf_counter()
        outputs = _turns(server, seconds, ids)
        elapsed = time.perf_counter() - start
        cached[:] = [out.extra_fields["num_cached_tokens"] for out in outputs]
        return sum(len(out.token_ids) for out in outputs), elapsed

    def full_prefill() -> int:
        server.generator.prefix_cache = None  # as with rollout.enable_prefix_caching=false
        try:
            return sum(len(out.token_ids) for out in _turns(server, seconds, ids))
        finally:
            server.generator.prefix_cache = cache

    median, tokens = _timed_rounds(
        {"second_turn_reuse": reuse, "second_turn_full_prefill": _timed(full_prefill)},
        rounds,
        "second turns: prefix reuse vs re-prefill",
    )
    if min(cached) == 0:
        raise RuntimeError("a second turn did not reuse its first turn's prefix")
    return {
        "prompts": prompts,
        "rounds": rounds,
        "second_turn_prompt_tokens_mean": statistics.mean(len(p) for p, _ in seconds),
        "cached_tokens_mean": statistics.mean(cached),
        "generated_tokens_per_round": tokens["second_turn_reuse"],
        "median_s": median,
        "reuse_over_full_prefill_s": median["second_turn_reuse"]
        / median["second_turn_full_prefill"],
    }
