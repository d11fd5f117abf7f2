"""Zoom boxes → original pixel boxes, crops and their visual tokens, edge cases included."""

from __future__ import annotations

import pytest
from PIL import Image

from visionthink_agent.images import (
    QWEN3_VL,
    ZoomBoxError,
    crop_region,
    crop_size,
    load_image,
    visual_tokens,
    zoom_box,
)


def _pixels(bbox: object, size: tuple[int, int] = (1920, 1080)) -> tuple[int, int, int, int]:
    first = (size[0] // 2, size[1] // 2)
    return zoom_box(bbox, original_size=size, first_look_size=first, boxes="first_look_pixels")


def _relative(bbox: object, size: tuple[int, int] = (1920, 1080)) -> tuple[int, int, int, int]:
    first = (size[0] // 2, size[1] // 2)
    return zoom_box(bbox, original_size=size, first_look_size=first, boxes="relative_1000")


@pytest.mark.parametrize(
    ("bbox", "expected"),
    [
        ([0, 0, 960, 540], (0, 0, 1920, 1080)),  # the whole first look = the whole original
        ([100, 50, 200, 150], (200, 100, 400, 300)),  # scaled ×2 onto the original
        ([10.2, 20.7, 30.1, 40.5], (20, 41, 61, 81)),  # floor the start, ceil the end
        ([-50, -10, 100, 100], (0, 0, 200, 200)),  # partly outside: clipped
        ([900, 500, 2000, 2000], (1800, 1000, 1920, 1080)),
        ([959.9, 539.9, 960, 540], (1919, 1079, 1920, 1080)),  # a sliver still has a pixel
    ],
)
def test_first_look_pixel_boxes_map_onto_the_original(
    bbox: list[float], expected: tuple[int, int, int, int]
) -> None:
    assert _pixels(bbox) == expected


@pytest.mark.parametrize(
    ("bbox", "expected"),
    [
        ([0, 0, 1000, 1000], (0, 0, 1920, 1080)),
        ([250, 500, 750, 1000], (480, 540, 1440, 1080)),
        ([-1, -1, 1001, 1001], (0, 0, 1920, 1080)),
    ],
)
def test_relative_boxes_map_onto_the_original(
    bbox: list[float], expected: tuple[int, int, int, int]
) -> None:
    assert _relative(bbox) == expected


def test_odd_sizes_use_the_first_look_the_model_saw() -> None:
    # 101×61 → first look 50×30: x scales by 101/50, y by 61/30.
    box = zoom_box(
        [0, 0, 50, 30], original_size=(101, 61), first_look_size=(50, 30), boxes="first_look_pixels"
    )
    assert box == (0, 0, 101, 61)
    # A first look lifted to 28 px (a 40×300 original is shown at 28×210).
    box = zoom_box(
        [0, 0, 28, 105],
        original_size=(40, 300),
        first_look_size=(28, 210),
        boxes="first_look_pixels",
    )
    assert box == (0, 0, 40, 150)


@pytest.mark.parametrize(
    ("bbox", "message"),
    [
        ([200, 50, 100, 150], "bbox_2d [200, 50, 100, 150] has inverted corners"),
        ([100, 150, 200, 50], "has inverted corners"),
        ([100, 50, 100, 150], "bbox_2d [100, 50, 100, 150] has zero area"),
        ([100, 50, 200, 50], "has zero area"),
        ([961, 0, 1200, 100], "lies outside the image, which is 960x540 pixels"),
        ([-100, -100, 0, 0], "lies outside the image"),
        ([0, 540, 10, 600], "lies outside the image"),
        ([1, 2, 3], "bbox_2d must be a list of four numbers"),
        ([1, 2, float("nan"), 4], "bbox_2d must be a list of four numbers"),
        ([1, 2, float("inf"), 4], "bbox_2d must be a list of four numbers"),
        (None, "bbox_2d must be a list of four numbers"),
        ([0, 0, 960, 1], "is a 1920x2-pixel strip of the original: a region must be at most 200"),
    ],
)
def test_boxes_that_name_no_region_are_errors_for_the_error_turn(
    bbox: object, message: str
) -> None:
    with pytest.raises(ZoomBoxError, match=message.replace("[", r"\[").replace("]", r"\]")):
        _pixels(bbox)


def test_relative_boxes_outside_the_range_name_it() -> None:
    with pytest.raises(ZoomBoxError, match="lies outside the 0-1000 range"):
        _relative([1000, 0, 1100, 10])


def test_crops_come_from_the_original_and_keep_28_px_a_side() -> None:
    original = Image.new("RGB", (400, 200), "white")
    original.putpixel((21, 41), (255, 0, 0))
    crop = crop_region(original, (20, 40, 120, 90))
    assert crop.size == (100, 50)
    assert crop.getpixel((1, 1)) == (255, 0, 0)  # full-resolution pixels, not the first look's
    tiny = crop_region(original, (0, 0, 7, 14))
    assert tiny.size == crop_size((0, 0, 7, 14)) == (28, 56)


def test_source_image_accounts_crop_tokens_exactly() -> None:
    source = load_image(Image.new("RGB", (1920, 1080)))
    box = source.zoom_box([100, 50, 380, 190], boxes="first_look_pixels")
    assert box == (200, 100, 760, 380)
    assert source.zoom(box).size == (560, 280)
    account = source.token_account(resized=False, zooms=[box, box])
    assert account.first_look == 646
    assert account.high_res == 2 * visual_tokens(560, 280) == 400
    assert account.full_res_baseline == 2691
    both = source.token_account(resized=True, zooms=[box])
    assert both.high_res == 2691 + 200
    qwen3 = source.token_account(resized=False, zooms=[box], geometry=QWEN3_VL)
    assert (qwen3.first_look, qwen3.high_res) == (
        visual_tokens(960, 540, geometry=QWEN3_VL),
        visual_tokens(560, 280, geometry=QWEN3_VL),
    )
    assert source.zoom_payload(box).width == 560
