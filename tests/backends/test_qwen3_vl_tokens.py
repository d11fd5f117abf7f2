"""Visual-token arithmetic against the Hugging Face processors, for both model families.

The processors are built here from the released ``preprocessor_config.json`` values (loaded
through ``AutoImageProcessor``, the real loading path) and the tiny checkpoints' tokenizers; for
every size, :func:`visual_tokens` must equal ``image_grid_thw.prod() // merge_size**2`` and the
number of ``<|image_pad|>`` tokens the processor writes into ``input_ids``.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from PIL import Image
from transformers import AutoImageProcessor, AutoTokenizer, Qwen2_5_VLProcessor, Qwen3VLProcessor
from transformers.models.qwen2_vl.video_processing_qwen2_vl import Qwen2VLVideoProcessor
from transformers.models.qwen3_vl.video_processing_qwen3_vl import Qwen3VLVideoProcessor

from visionthink_agent import protocol
from visionthink_agent.backends.families import QWEN2_5_VL_FAMILY, QWEN3_VL_FAMILY, ModelFamily
from visionthink_agent.backends.qwen.tiny import TINY_IMAGE_TOKEN_ID, write_tiny_checkpoint
from visionthink_agent.images import ZoomBoxError, crop_region, load_image, visual_tokens, zoom_box

# The image-processor fields of the released checkpoints' preprocessor_config.json.
RELEASED_PREPROCESSOR_CONFIG: dict[str, dict[str, Any]] = {
    "qwen2_5_vl": {  # Qwen/Qwen2.5-VL-7B-Instruct
        "min_pixels": 3136,
        "max_pixels": 12845056,
        "patch_size": 14,
        "temporal_patch_size": 2,
        "merge_size": 2,
        "image_mean": [0.48145466, 0.4578275, 0.40821073],
        "image_std": [0.26862954, 0.26130258, 0.27577711],
        "image_processor_type": "Qwen2VLImageProcessor",
        "processor_class": "Qwen2_5_VLProcessor",
    },
    "qwen3_vl": {  # Qwen/Qwen3-VL-8B-Instruct
        "size": {"longest_edge": 16777216, "shortest_edge": 65536},
        "patch_size": 16,
        "temporal_patch_size": 2,
        "merge_size": 2,
        "image_mean": [0.5, 0.5, 0.5],
        "image_std": [0.5, 0.5, 0.5],
        "image_processor_type": "Qwen2VLImageProcessorFast",
        "processor_class": "Qwen3VLProcessor",
    },
}

FAMILIES = [QWEN2_5_VL_FAMILY, QWEN3_VL_FAMILY]

SIZES = [
    # tiny images (lifted to the minimum pixel count)
    (2, 2),
    (10, 10),
    (28, 28),
    (29, 13),
    (56, 56),
    (57, 300),
    (255, 257),
    # round-half-to-even on a side (Qwen2.5-VL: 350/28 = 12.5; Qwen3-VL: 272/32 = 8.5)
    (350, 434),
    (272, 400),
    # ordinary photos and screens
    (640, 480),
    (1280, 720),
    (1920, 1080),
    # extreme aspect ratios (up to the processors' 200:1)
    (3000, 16),
    (16, 3000),
    (5000, 26),
    # large: at and beyond the pixel limits
    (3584, 3584),  # Qwen2.5-VL's max_pixels exactly
    (4096, 4096),  # Qwen3-VL's max_pixels exactly
    (5000, 4000),
]

# Originals whose first looks (VisionThink's ¼-pixel downsample) are measured too.
FIRST_LOOK_ORIGINALS = [(1920, 1080), (640, 480), (333, 97), (4032, 3024), (120, 90)]

# Zoom boxes on a 1920×1080 original: (bbox_2d, convention) → crop_region of the original.
ZOOMS: list[tuple[list[float], Any]] = [
    ([0, 0, 1000, 1000], "relative_1000"),
    ([500, 500, 510, 505], "relative_1000"),  # a few pixels: lifted to 28 px a side
    ([0, 0, 1000, 30], "relative_1000"),  # a strip (60:1)
    ([990, 990, 1000, 1000], "relative_1000"),
    ([123.4, 56.7, 789.1, 345.6], "relative_1000"),
    ([10, 20, 200, 120], "first_look_pixels"),
    ([0, 0, 960, 540], "first_look_pixels"),  # the whole first look
    ([955, 535, 990, 600], "first_look_pixels"),  # clipped at the corner
]


@pytest.fixture(scope="module")
def processors(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """One processor per family: released image-processor config + the tiny tokenizer."""
    built: dict[str, Any] = {}
    for family in FAMILIES:
        folder = tmp_path_factory.mktemp(f"released-{family.name}")
        config = RELEASED_PREPROCESSOR_CONFIG[family.name]
        (folder / "preprocessor_config.json").write_text(json.dumps(config))
        image_processor = AutoImageProcessor.from_pretrained(folder)
        tokenizer = AutoTokenizer.from_pretrained(
            write_tiny_checkpoint(tmp_path_factory.mktemp("tiny") / "t", family=family)
        )
        if family is QWEN3_VL_FAMILY:
            built[family.name] = Qwen3VLProcessor(
                image_processor=image_processor,
                tokenizer=tokenizer,
                video_processor=Qwen3VLVideoProcessor(),
            )
        else:
            built[family.name] = Qwen2_5_VLProcessor(
                image_processor=image_processor,
                tokenizer=tokenizer,
                video_processor=Qwen2VLVideoProcessor(),
            )
    return built


def processor_counts(processor: Any, image: Image.Image) -> tuple[int, int]:
    """(tokens from ``image_grid_thw``, ``<|image_pad|>`` tokens in ``input_ids``)."""
    text = f"<|im_start|>user\n{protocol.QWEN_IMAGE_TOKENS}Read it.<|im_end|>\n"
    inputs = processor(text=[text], images=[image], return_tensors="pt")
    merge = processor.image_processor.merge_size
    from_grid = int(inputs["image_grid_thw"].prod()) // merge**2
    pads = int((inputs["input_ids"] == TINY_IMAGE_TOKEN_ID).sum())
    return from_grid, pads


def check(processors: dict[str, Any], family: ModelFamily, image: Image.Image) -> None:
    expected = visual_tokens(*image.size, geometry=family.geometry)
    from_grid, pads = processor_counts(processors[family.name], image)
    assert (from_grid, pads) == (expected, expected), image.size


def test_the_processors_are_the_released_geometry(processors: dict[str, Any]) -> None:
    for family in FAMILIES:
        image_processor = processors[family.name].image_processor
        side = image_processor.patch_size * image_processor.merge_size
        size = image_processor.size
        assert (side, size.shortest_edge, size.longest_edge) == (
            family.geometry.factor,
            family.geometry.min_pixels,
            family.geometry.max_pixels,
        )


@pytest.mark.parametrize("family", FAMILIES, ids=lambda f: f.name)
@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_visual_tokens_match_the_processor(
    processors: dict[str, Any], family: ModelFamily, size: tuple[int, int]
) -> None:
    check(processors, family, Image.new("RGB", size, (90, 140, 200)))


@pytest.mark.parametrize("family", FAMILIES, ids=lambda f: f.name)
def test_first_looks_match_the_processor(processors: dict[str, Any], family: ModelFamily) -> None:
    for original in FIRST_LOOK_ORIGINALS:
        first_look = load_image(Image.new("RGB", original, "white")).first_look()
        check(processors, family, first_look)


@pytest.mark.parametrize("family", FAMILIES, ids=lambda f: f.name)
def test_zoom_crops_match_the_processor(processors: dict[str, Any], family: ModelFamily) -> None:
    original = Image.linear_gradient("L").resize((1920, 1080)).convert("RGB")
    first_look_size = load_image(original).first_look_size
    for bbox, boxes in ZOOMS:
        box = zoom_box(
            bbox, original_size=original.size, first_look_size=first_look_size, boxes=boxes
        )
        check(processors, family, crop_region(original, box))


def test_the_families_count_differently() -> None:
    """The test above would pass with one geometry for both: it does not (32 vs 28 px)."""
    assert visual_tokens(1920, 1080, geometry=QWEN2_5_VL_FAMILY.geometry) == 2691
    assert visual_tokens(1920, 1080, geometry=QWEN3_VL_FAMILY.geometry) == 2040


def test_the_tiny_checkpoints_use_the_released_image_processor_config(
    tmp_path: Path,
) -> None:
    for family in FAMILIES:
        path = write_tiny_checkpoint(tmp_path / family.name, family=family)
        saved = json.loads((path / "processor_config.json").read_text())["image_processor"]
        released = RELEASED_PREPROCESSOR_CONFIG[family.name]
        for key in ("patch_size", "temporal_patch_size", "merge_size", "image_mean", "image_std"):
            assert saved[key] == released[key], (family.name, key)
        limits = released.get("size") or {
            "shortest_edge": released["min_pixels"],
            "longest_edge": released["max_pixels"],
        }
        assert saved["size"] == limits


@pytest.mark.parametrize("family", FAMILIES, ids=lambda f: f.name)
def test_a_strip_too_thin_for_the_processor_is_refused_as_a_zoom_box(
    processors: dict[str, Any], family: ModelFamily
) -> None:
    original = Image.new("RGB", (1920, 1080))
    with pytest.raises(ZoomBoxError, match="strip"):
        zoom_box(
            [0, 0, 1000, 3],
            original_size=(1920, 1080),
            first_look_size=(960, 540),
            boxes="relative_1000",
        )
    # The thinnest strip zoom_box accepts is one every processor takes.
    box = zoom_box(
        [0, 0, 1000, 10],
        original_size=(1920, 1080),
        first_look_size=(960, 540),
        boxes="relative_1000",
    )
    check(processors, family, crop_region(original, box))
