"""The hf_cpu rollout server's contract, in process on the tiny model (no Ray needed)."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest
import torch
from PIL import Image

from training.cpu.rollout_replica import HFServerAdapter, collect_weights
from training.cpu.rollout_server import HFRolloutServer
from training.cpu.turn_generation import GenerationSettings

pytestmark = pytest.mark.verl


@pytest.fixture(scope="module")
def server(tiny_checkpoint: Path) -> HFRolloutServer:
    from omegaconf import OmegaConf
    from verl.utils.config import omega_conf_to_dataclass
    from verl.workers.config import HFModelConfig, RolloutConfig

    rollout = {"name": "hf_cpu", "prompt_length": 512, "response_length": 48, "max_model_len": 600}
    config = omega_conf_to_dataclass(OmegaConf.create(rollout), dataclass_type=RolloutConfig)
    return HFRolloutServer(config, HFModelConfig(path=str(tiny_checkpoint)))


@pytest.fixture(scope="module")
def image_prompt(server: HFRolloutServer) -> tuple[list[int], Image.Image]:
    image = Image.new("RGB", (112, 84), "red")
    processor = server.model_config.processor
    messages = [{"role": "user", "content": [{"type": "image"}, {"type": "text", "text": "Hi"}]}]
    text = processor.apply_chat_template(messages, add_generation_prompt=True, tokenize=False)
    ids = processor(text=[text], images=[image], return_tensors="pt")["input_ids"][0].tolist()
    return ids, image


def generate(server: HFRolloutServer, ids: list[int], image: Any, **params: Any) -> Any:
    return asyncio.run(server.generate(ids, dict(params), "req", image_data=image))


def processed(server: HFRolloutServer, ids: list[int], image: Any) -> dict[str, torch.Tensor]:
    """The model inputs the processor gives for ``ids`` and ``image`` (M-RoPE token types too)."""
    vision = server.image_processor(images=[image], return_tensors="pt")
    input_ids = torch.tensor([ids])
    return {
        "input_ids": input_ids,
        "pixel_values": vision["pixel_values"],
        "image_grid_thw": vision["image_grid_thw"],
        "mm_token_type_ids": (input_ids == server.image_token_id).long(),
    }


def _reference_turn(server: HFRolloutServer, ids: list[int], image: Any) -> list[int]:
    return server.model.generate(
        **processed(server, ids, image),
        max_new_tokens=48,
        do_sample=False,
        eos_token_id=server.eos_token_ids,
        suppress_tokens=server.suppressed_token_ids,
    )[0, len(ids) :].tolist()


def test_greedy_turn_equals_plain_generate(server: HFRolloutServer, image_prompt: Any) -> None:
    ids, image = image_prompt
    out = generate(server, ids, [image], temperature=0)
    reference = server.model.generate(
        **processed(server, ids, image),
        max_new_tokens=48,
        do_sample=False,
        eos_token_id=server.eos_token_ids,
        suppress_tokens=server.suppressed_token_ids,
    )[0, len(ids) :].tolist()
    assert out.token_ids == reference
    assert out.stop_reason == "completed"
    assert 1 <= len(out.token_ids) <= 48  # the config's response_length caps the turn


def test_image_positions_are_mrope_whatever_came_before(server: HFRolloutServer) -> None:
    # Without the token types transformers gives the image text positions and reuses the last
    # call's rope offset: a trained model then wrote garbage (the demo model did, in GRPO).
    processor = server.model_config.processor
    messages = [{"role": "user", "content": [{"type": "image"}, {"type": "text", "text": "Hi"}]}]
    text = processor.apply_chat_template(messages, add_generation_prompt=True, tokenize=False)
    for size in ((224, 112), (56, 56), (112, 84)):
        image = Image.new("RGB", size, "blue")
        ids = processor(text=[text], images=[image], return_tensors="pt")["input_ids"][0].tolist()
        out = generate(server, ids, [image], temperature=0)
        assert out.token_ids == _reference_turn(server, ids, image), size


def test_logprobs_follow_the_sampling_temperature(
    server: HFRolloutServer, image_prompt: Any
) -> None:
    ids, image = image_prompt
    out = generate(server, ids, [image], temperature=0.7, logprobs=True, max_tokens=6)
    assert len(out.log_probs) == len(out.token_ids) <= 6
    assert all(lp <= 0 for lp in out.log_probs)
    with torch.no_grad():
        logits = server.model(**processed(server, ids, image)).logits[0, -1]
    first = torch.log_softmax(logits / 0.7, -1)[out.token_ids[0]].item()
    assert out.log_probs[0] == pytest.approx(first, abs=1e-4)


def test_vision_placeholders_are_never_sampled(server: HFRolloutServer, image_prompt: Any) -> None:
    ids, image = image_prompt
    sampled: list[int] = []
    for _ in range(8):
        sampled += generate(server, ids, [image], temperature=1.5).token_ids
    assert not set(sampled) & set(server.suppressed_token_ids)
    assert len(server.suppressed_token_ids) == 4


def test_images_must_match_the_prompt(server: HFRolloutServer, image_prompt: Any) -> None:
    ids, image = image_prompt
    with pytest.raises(ValueError, match="no image was sent"):
        generate(server, ids, None, temperature=0)
    with pytest.raises(ValueError, match="were not prepared as the prompt was"):
        generate(server, ids, [image.resize((224, 168))], temperature=0)
    with pytest.raises(ValueError, match="text and images only"):
        asyncio.run(server.generate(ids, {}, "r", video_data=[object()]))


def test_a_full_context_is_refused(server: HFRolloutServer) -> None:
    with pytest.raises(ValueError, match="max_model_len=600"):
        asyncio.run(server.generate([1] * 600, {}, "r"))


def test_update_weights_loads_every_tensor_and_names_bad_ones(server: HFRolloutServer) -> None:
    original = {k: v.clone() for k, v in server.model.state_dict().items()}
    try:
        moved = {k: v + 1 for k, v in original.items()}
        assert asyncio.run(server.update_weights(moved)) == server.weight_version
        assert all(torch.equal(server.model.state_dict()[k], moved[k]) for k in moved)
        with pytest.raises(KeyError, match="does not have"):
            asyncio.run(server.update_weights({**moved, "extra.weight": torch.ones(1)}))
        first = next(iter(moved))
        with pytest.raises(KeyError, match="sent no value"):
            asyncio.run(server.update_weights({k: v for k, v in moved.items() if k != first}))
    finally:
        asyncio.run(server.update_weights(original))


def test_collected_weights_are_owned_copies() -> None:
    source = torch.arange(4.0)
    collected = collect_weights([("w", source)])
    source.add_(10)
    assert collected["w"].tolist() == [0.0, 1.0, 2.0, 3.0]


def test_sampling_settings_read_vllm_style_params() -> None:
    greedy = GenerationSettings.from_request({"temperature": 0, "top_k": 0}, max_new_tokens=3)
    assert (greedy.do_sample, greedy.top_k, greedy.want_logprobs) == (False, None, False)
    sampled = GenerationSettings.from_request(
        {"temperature": 0.5, "top_p": 0.8, "top_k": 20, "repetition_penalty": 1.1},
        max_new_tokens=3,
    )
    assert (sampled.temperature, sampled.top_p, sampled.top_k) == (0.5, 0.8, 20)


def test_adapter_refuses_what_the_server_cannot_load() -> None:
    adapter = HFServerAdapter.__new__(HFServerAdapter)
    with pytest.raises(ValueError, match="full named tensors"):
        asyncio.run(adapter.update_weights(iter(()), wire_format="delta_flush"))
    with pytest.raises(ValueError, match="merged weights"):
        asyncio.run(adapter.update_weights(iter(()), peft_config={"r": 8}))


def test_concurrent_requests_share_a_batch_and_match_single_requests(
    server: HFRolloutServer, image_prompt: Any
) -> None:
    ids, image = image_prompt
    text_only = ids[:5]  # a shorter prompt with no image: rows of different lengths
    params = {"temperature": 0, "max_tokens": 6, "logprobs": True}
    alone = [generate(server, p, imgs, **params) for p, imgs in ((ids, [image]), (text_only, None))]

    async def together() -> list[Any]:
        return await asyncio.gather(
            server.generate(ids, dict(params), "a", image_data=[image]),
            server.generate(text_only, dict(params), "b"),
            server.generate(ids, dict(params), "c", image_data=[image]),
        )

    server.batch_sizes.clear()
    batched = asyncio.run(together())
    assert max(server.batch_sizes) >= 2
    for out, single in zip(batched, [alone[0], alone[1], alone[0]], strict=True):
        assert out.token_ids == single.token_ids
        assert out.log_probs == pytest.approx(single.log_probs, abs=1e-4)


def test_a_failing_batch_fails_its_requests(server: HFRolloutServer) -> None:
    async def both() -> list[Any]:
        return await asyncio.gather(
            server.generate([10**7], {"temperature": 0}, "bad"),  # id outside the vocabulary
            server.generate([10**7, 3], {"temperature": 0}, "bad2"),
            return_exceptions=True,
        )

    results = asyncio.run(both())
    assert all(isinstance(r, Exception) for r in results)
    assert asyncio.run(server.generate([3, 4], {"temperature": 0, "max_tokens": 2}, "ok")).token_ids


def test_requests_arriving_one_by_one_share_a_batch(server: HFRolloutServer) -> None:
    # The agent loop prepares a step's rollouts one after another: 30 ms apart, within the
    # server's batch wait, they still make one batch (without the wait the first ran alone).
    async def staggered() -> list[Any]:
        async def later(delay: float, ids: list[int]) -> Any:
            await asyncio.sleep(delay)
            return await server.generate(ids, {"temperature": 0, "max_tokens": 2}, f"s{delay}")

        return await asyncio.gather(*(later(0.03 * i, [3, 4 + i]) for i in range(3)))

    assert server.batch_wait_s == 0.1
    server.batch_sizes.clear()
    asyncio.run(staggered())
    assert server.batch_sizes == [3]
