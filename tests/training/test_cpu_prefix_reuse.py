"""The hf_cpu server's second turns reuse the first turn's keys and values, and lose nothing.

On the tiny model, in process: a trajectory's second turn (first turn, its response, a tool turn
with a second image) generated on top of the cached first turn gives the same greedy tokens and
log-probs as a full prefill and as plain ``model.generate``, alone and batched with rows of other
prefix lengths; a weight update or a changed prefix falls back to a full prefill.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest
import torch
from PIL import Image

from training.cpu.prefix_cache import CachedPrefix, PrefixCache
from training.cpu.rollout_server import HFRolloutServer

pytestmark = pytest.mark.verl

GREEDY = {"temperature": 0, "max_tokens": 12, "logprobs": True}


@pytest.fixture(scope="module")
def server(tiny_checkpoint: Path) -> HFRolloutServer:
    from omegaconf import OmegaConf
    from verl.utils.config import omega_conf_to_dataclass
    from verl.workers.config import HFModelConfig, RolloutConfig

    rollout = {"name": "hf_cpu", "prompt_length": 512, "response_length": 48, "max_model_len": 700}
    config = omega_conf_to_dataclass(OmegaConf.create(rollout), dataclass_type=RolloutConfig)
    return HFRolloutServer(config, HFModelConfig(path=str(tiny_checkpoint)))


def _tokens(server: HFRolloutServer, text: str, images: list[Image.Image]) -> list[int]:
    processor = server.model_config.processor
    return processor(text=[text], images=images or None, return_tensors="pt")["input_ids"][
        0
    ].tolist()


def _first_turn(server: HFRolloutServer, size: tuple[int, int]) -> tuple[list[int], Image.Image]:
    image = Image.new("RGB", size, "green")
    text = (
        "<|im_start|>user\n<|vision_start|><|image_pad|><|vision_end|>What is it?<|im_end|>\n"
        "<|im_start|>assistant\n"
    )
    return _tokens(server, text, [image]), image


def _tool_turn(server: HFRolloutServer, size: tuple[int, int]) -> tuple[list[int], Image.Image]:
    image = Image.new("RGB", size, "orange")
    text = (
        "\n<|im_start|>user\n<tool_response><|vision_start|><|image_pad|><|vision_end|>"
        "</tool_response><|im_end|>\n<|im_start|>assistant\n"
    )
    return _tokens(server, text, [image]), image


def _generate(server: HFRolloutServer, request_id: str, ids: list[int], images: list[Any]) -> Any:
    return asyncio.run(server.generate(ids, dict(GREEDY), request_id, image_data=images))


def _two_turns(
    server: HFRolloutServer, request_id: str, first: tuple[int, int], full: tuple[int, int]
) -> tuple[list[int], list[Image.Image], Any]:
    """Run a trajectory's first turn; return its second turn's prompt, images and first output."""
    ids, low = _first_turn(server, first)
    out = _generate(server, request_id, ids, [low])
    tool_ids, high = _tool_turn(server, full)
    return ids + out.token_ids + tool_ids, [low, high], out


@torch.inference_mode()
def _plain_generate(server: HFRolloutServer, ids: list[int], images: list[Any]) -> list[int]:
    vision = server.image_processor(images=images, return_tensors="pt")
    input_ids = torch.tensor([ids])
    return server.model.generate(
        input_ids=input_ids,
        pixel_values=vision["pixel_values"],
        image_grid_thw=vision["image_grid_thw"],
        mm_token_type_ids=(input_ids == server.image_token_id).long(),
        max_new_tokens=GREEDY["max_tokens"],
        do_sample=False,
        eos_token_id=server.eos_token_ids,
        suppress_tokens=server.suppressed_token_ids,
    )[0, len(ids) :].tolist()


def test_second_turn_reuses_the_first_and_generates_the_same(server: HFRolloutServer) -> None:
    second, images, first_out = _two_turns(server, "traj", (112, 84), (224, 168))
    reused = _generate(server, "turn-2", second, images)  # veRL: a fresh id each turn
    cached = reused.extra_fields["num_cached_tokens"]
    assert cached == len(second) - len(_tool_turn(server, (224, 168))[0]) - 1
    assert cached > len(first_out.token_ids)  # the whole first prompt was skipped
    full = _generate(server, "a-new-id", second, images)
    assert full.extra_fields["num_cached_tokens"] == 0
    assert reused.token_ids == full.token_ids == _plain_generate(server, second, images)
    assert reused.log_probs == pytest.approx(full.log_probs, abs=1e-4)


def test_batched_second_turns_of_different_prefixes_match_single_ones(
    server: HFRolloutServer,
) -> None:
    shapes = [((112, 84), (224, 168)), ((56, 56), (112, 112)), ((168, 112), (112, 56))]
    turns = [_two_turns(server, f"t{i}", first, full) for i, (first, full) in enumerate(shapes)]
    fresh_ids, fresh_image = _first_turn(server, (84, 84))

    async def together() -> list[Any]:
        calls = [
            server.generate(ids, dict(GREEDY), f"t{i}-turn-2", image_data=images)
            for i, (ids, images, _) in enumerate(turns)
        ]
        calls.append(server.generate(fresh_ids, dict(GREEDY), "fresh", image_data=[fresh_image]))
        return await asyncio.gather(*calls)

    server.batch_sizes.clear()
    outputs = asyncio.run(together())
    assert max(server.batch_sizes) == 4
    assert [o.extra_fields["num_cached_tokens"] > 0 for o in outputs] == [True] * 3 + [False]
    for output, (ids, images, _) in zip(outputs, turns, strict=False):
        assert output.token_ids == _plain_generate(server, ids, images)
    assert outputs[3].token_ids == _plain_generate(server, fresh_ids, [fresh_image])


def test_a_weight_update_or_another_prefix_means_a_full_prefill(server: HFRolloutServer) -> None:
    second, images, _ = _two_turns(server, "synced", (112, 84), (224, 168))
    assert len(server.prefix_cache) > 0
    weights = {k: v.clone() for k, v in server.model.state_dict().items()}
    asyncio.run(server.update_weights(weights))
    assert len(server.prefix_cache) == 0
    assert _generate(server, "synced", second, images).extra_fields["num_cached_tokens"] == 0

    second, images, _ = _two_turns(server, "edited", (112, 84), (224, 168))
    edited = [*second[:3], second[3] + 1, *second[4:]]  # one token of the first turn changed
    out = _generate(server, "edited", edited, images)
    assert out.extra_fields["num_cached_tokens"] == 0
    assert out.token_ids == _plain_generate(server, edited, images)


def test_prefix_cache_is_bounded_and_ends_with_the_trajectory() -> None:
    def entry(tokens: int, turns: int = 1) -> CachedPrefix:
        kv = torch.zeros(1, 1, tokens, 2)
        return CachedPrefix(list(range(tokens)), [(kv, kv)], turns)

    cache = PrefixCache(max_tokens=10, max_turns=2)
    cache.put(entry(3))
    cache.put(entry(4))
    cache.put(entry(5))  # over 10 tokens: the oldest entry goes
    assert (len(cache), cache.tokens) == (2, 9)
    cache.put(entry(2, turns=2))  # the trajectory's last turn: nothing follows it
    cache.put(entry(11))  # larger than the whole cache
    assert len(cache) == 2
    assert cache.take([0, 1, 2, 9, 4, 5]) is None  # differs inside both prefixes
    # [0..4] adds nothing to the 5-token entry: it extends the 4-token one.
    assert cache.take(list(range(5))).token_ids == list(range(4))
    assert cache.take(list(range(20))).token_ids == list(range(5))
    assert cache.take(list(range(20))) is None  # each entry serves one next turn
    assert (len(cache), cache.tokens, cache.hits, cache.misses) == (0, 0, 2, 2)


def test_second_turn_reuse_on_qwen3_vl(tmp_path: Path) -> None:
    # The second family (deepstack vision features, its own M-RoPE index): same tokens as a
    # full prefill with plain generate.
    from omegaconf import OmegaConf
    from verl.utils.config import omega_conf_to_dataclass
    from verl.workers.config import HFModelConfig, RolloutConfig

    from visionthink_agent.backends.qwen.tiny import write_tiny_checkpoint

    checkpoint = write_tiny_checkpoint(tmp_path / "tiny-qwen3-vl", family="qwen3_vl")
    rollout = {"name": "hf_cpu", "prompt_length": 512, "response_length": 48, "max_model_len": 900}
    config = omega_conf_to_dataclass(OmegaConf.create(rollout), dataclass_type=RolloutConfig)
    qwen3 = HFRolloutServer(config, HFModelConfig(path=str(checkpoint)))
    second, images, _ = _two_turns(qwen3, "turn-1", (112, 84), (224, 168))
    out = _generate(qwen3, "turn-2", second, images)
    assert out.extra_fields["num_cached_tokens"] > 0
    assert out.token_ids == _plain_generate(qwen3, second, images)
