"""``visual_tokens`` equals Qwen2.5-VL's ``image_grid_thw.prod() // 4`` (the HF image processors).

Two levels, so the test is both exhaustive and fast:

* **full processor path** on real image tensors (resize, rescale, normalise, patchify) for a
  sample of sizes including the extremes (1×1, 1×200, 8000×8000, 8000×40, 4032×3024), through both
  the torchvision processor and the PIL one (which carries its own copy of ``smart_resize``);
* **the processor's own patch-count method** (``get_number_of_image_patches``, what vLLM uses) for
  hundreds of random sizes per min/max setting. Reading transformers 5.10's ``_preprocess``, the
  grid is ``resized.shape // patch_size`` with the resize target ``smart_resize(...)``, the same
  call this method makes; the first level checks that equivalence on real images.
"""

from __future__ import annotations

import math
import random
from typing import Any

import pytest

from visionthink_agent.images import smart_resize, visual_tokens
from visionthink_agent.images.tokens import MAX_ASPECT_RATIO

torch = pytest.importorskip("torch")
qwen2_vl = pytest.importorskip("transformers.models.qwen2_vl.image_processing_qwen2_vl")
qwen2_vl_pil = pytest.importorskip("transformers.models.qwen2_vl.image_processing_pil_qwen2_vl")
from PIL import Image  # noqa: E402
from transformers.image_utils import PILImageResampling  # noqa: E402

SETTINGS = [
    (3136, 12845056),  # Qwen2.5-VL defaults (what the released checkpoints use)
    (3136, 1003520),  # 1280 tokens, a common serving cap
    (200704, 1003520),  # 256..1280 tokens
    (3136, 200704),
    (100 * 784, 16384 * 784),
]


def random_sizes(count: int, seed: int, max_side: int = 8000) -> list[tuple[int, int]]:
    """Log-uniform sides in ``[1, max_side]``, aspect ratio within the processor's 200 limit."""
    rng = random.Random(seed)
    sizes: list[tuple[int, int]] = []
    while len(sizes) < count:
        w = int(math.exp(rng.uniform(0, math.log(max_side + 1))))
        h = int(math.exp(rng.uniform(0, math.log(max_side + 1))))
        if max(w, h) / min(w, h) <= MAX_ASPECT_RATIO:
            sizes.append((w, h))
    return sizes


EXTREMES = [(1, 1), (1, 200), (200, 1), (13, 13), (14, 14), (27, 41), (8000, 40), (40, 8000)]


@pytest.mark.parametrize(("min_pixels", "max_pixels"), SETTINGS)
def test_visual_tokens_equal_the_processor_patch_count(min_pixels: int, max_pixels: int) -> None:
    processor = qwen2_vl.Qwen2VLImageProcessor(min_pixels=min_pixels, max_pixels=max_pixels)
    limits = {"min_pixels": min_pixels, "max_pixels": max_pixels}
    sizes = [*random_sizes(400, seed=max_pixels + min_pixels), *EXTREMES, (8000, 8000)]
    for w, h in sizes:
        expected = processor.get_number_of_image_patches(h, w, dict(limits)) // 4
        assert visual_tokens(w, h, **limits) == expected, (w, h, limits)


def _full_path_tokens(processor: Any, images: list[Any], **kwargs: Any) -> list[int]:
    out = processor(images=images, return_tensors="pt", **kwargs)
    grid = out["image_grid_thw"]
    assert grid.shape == (len(images), 3)
    assert (grid[:, 0] == 1).all()
    return [int(g.prod()) // 4 for g in grid]


@pytest.mark.parametrize(("min_pixels", "max_pixels"), [SETTINGS[0], SETTINGS[2], SETTINGS[3]])
def test_visual_tokens_equal_the_full_processor_on_real_images(
    min_pixels: int, max_pixels: int
) -> None:
    limits = {"min_pixels": min_pixels, "max_pixels": max_pixels}
    sizes = [*random_sizes(25, seed=min_pixels, max_side=1200), *EXTREMES]
    tensor_proc = qwen2_vl.Qwen2VLImageProcessor(**limits)
    pil_proc = qwen2_vl_pil.Qwen2VLImageProcessorPil(**limits)
    # NEAREST keeps the run cheap; the resampling filter does not change the resized shape.
    tensors = [torch.zeros(3, h, w, dtype=torch.uint8) for w, h in sizes]
    got = _full_path_tokens(
        tensor_proc,
        tensors,
        input_data_format="channels_first",
        resample=PILImageResampling.NEAREST,
    )
    pils = [Image.new("RGB", (w, h)) for w, h in sizes]
    got_pil = _full_path_tokens(pil_proc, pils, resample=PILImageResampling.NEAREST)
    ours = [visual_tokens(w, h, **limits) for w, h in sizes]
    assert got == ours
    assert got_pil == ours
    assert [
        tensor_proc.get_number_of_image_patches(h, w, dict(limits)) // 4 for w, h in sizes
    ] == ours


@pytest.mark.parametrize(
    ("width", "height", "max_pixels", "tokens"),
    [(8000, 8000, 12845056, 16384), (8000, 8000, 200704, 256), (4032, 3024, 12845056, 15552)],
)
def test_large_images_through_the_full_processor(
    width: int, height: int, max_pixels: int, tokens: int
) -> None:
    processor = qwen2_vl.Qwen2VLImageProcessor(min_pixels=3136, max_pixels=max_pixels)
    image = torch.zeros(3, height, width, dtype=torch.uint8)
    got = _full_path_tokens(
        processor, [image], input_data_format="channels_first", resample=PILImageResampling.NEAREST
    )
    assert got == [tokens] == [visual_tokens(width, height, max_pixels=max_pixels)]


def test_protocol_doc_example_4032x3024_follows_the_processor_not_the_doc() -> None:
    """protocol.md §3 says 4032×3024 → 15301 tokens; the processor (ground truth) gives 15552.

    With the default max_pixels 12845056, ``round`` gives 3024×4032 (= 12192768 ≤ max), so no
    downscale happens: 108 × 144 = 15552. 15301 matches no setting of the formula; we follow the
    processor.
    """
    assert smart_resize(3024, 4032) == (3024, 4032)
    assert visual_tokens(4032, 3024) == 15552 != 15301
    processor = qwen2_vl.Qwen2VLImageProcessor(min_pixels=3136, max_pixels=12845056)
    assert processor.get_number_of_image_patches(3024, 4032, {}) // 4 == 15552


def test_protocol_doc_examples_that_hold() -> None:
    assert visual_tokens(1920, 1080) == 2691
    assert visual_tokens(960, 540) == 646
    assert visual_tokens(2048, 1024) == 2701
    assert visual_tokens(1024, 512) == 666


@pytest.mark.parametrize(("width", "height"), [(0, 10), (10, 0), (201, 1), (1, 402)])
def test_smart_resize_rejects_what_the_processor_rejects(width: int, height: int) -> None:
    with pytest.raises(ValueError, match=r"positive|aspect ratio"):
        visual_tokens(width, height)
