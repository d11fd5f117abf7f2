"""The synthetic benchmark: deterministic, balanced, and its fine detail really is fine."""

from __future__ import annotations

import hashlib

import numpy as np
import pytest
from PIL import Image

from visionthink_agent.images import downsample_for_first_look
from visionthink_agent.synthetic import PRESETS, make_synthetic_samples, write_synthetic_benchmark

IMAGES_DIGESTS = {
    "standard": "df595598e399217823802515a5a9eb46f67a524b13bd7f3511d788268de65398",
    "demo": "0c7f9b203c503fc20c38a94ccf0f76759636d293c5b358cc86ffda8f51ebbc95",
}
"""sha256 of the first 8 images of each split, per preset: ``standard`` as generated before
``target_box``; ``demo`` since its large digit fills the image (readable at the first look)."""


def test_same_seed_same_samples_other_seed_other_answers() -> None:
    a, b = make_synthetic_samples(6, seed=3), make_synthetic_samples(6, seed=3)
    assert [s.row() for s in a] == [s.row() for s in b]
    assert all(
        np.array_equal(np.asarray(x.image), np.asarray(y.image)) for x, y in zip(a, b, strict=False)
    )
    other = make_synthetic_samples(6, seed=4)
    assert [s.answer for s in a] != [s.answer for s in other]


def test_half_the_questions_need_the_full_image() -> None:
    samples = make_synthetic_samples(10)
    fine = [s for s in samples if s.needs_high_res]
    assert len(fine) == 5
    assert {s.category for s in fine} == {"serial", "word"}
    assert {s.category for s in samples if not s.needs_high_res} == {"color", "shape", "digit"}
    serials = [s.answer for s in fine if s.category == "serial"]
    assert all(len(code) == 6 and code.isdigit() for code in serials)


def _dark_pixels(image: Image.Image, below: int = 100) -> int:
    return int((np.asarray(image.convert("L")) < below).sum())


def test_fine_detail_washes_out_in_the_first_look_coarse_content_does_not() -> None:
    fine, coarse = make_synthetic_samples(2)
    assert fine.needs_high_res
    assert not coarse.needs_high_res
    for sample, survives in ((fine, False), (coarse, True)):
        full = _dark_pixels(sample.image)
        first = _dark_pixels(downsample_for_first_look(sample.image))
        assert full >= 100
        # a quarter of the pixels: a large shape keeps ~1/4 of its dark pixels, small print ~0
        assert (first >= full / 8) is survives, (sample.category, full, first)


def test_bad_arguments_are_refused(tmp_path) -> None:
    with pytest.raises(ValueError, match="n must be at least 1"):
        make_synthetic_samples(0)
    with pytest.raises(ValueError, match="at least 320x240"):
        make_synthetic_samples(2, size=(100, 100))
    with pytest.raises(ValueError, match="unknown format"):
        write_synthetic_benchmark(tmp_path, n=2, formats=("csv",))


def test_demo_preset_small_images_one_fine_question_in_four() -> None:
    samples = make_synthetic_samples(16, preset="demo")
    assert {s.image.size for s in samples} == {(224, 224)}
    assert [s.needs_high_res for s in samples[:4]] == [True, False, False, False]
    assert {s.category for s in samples if s.needs_high_res} == {"serial"}
    assert {s.category for s in samples if not s.needs_high_res} == {"color", "shape", "digit"}
    serials = [s.answer for s in samples if s.category == "serial"]
    assert all(len(code) == 1 and code.isdigit() for code in serials)
    assert (
        sum(s.needs_high_res for s in make_synthetic_samples(8, preset="demo", fine_every=2)) == 4
    )


def test_train_split_never_repeats_an_eval_image() -> None:
    evaluation = make_synthetic_samples(200, preset="demo")
    train = make_synthetic_samples(400, preset="demo", split="train")
    seen = {s.image.tobytes() for s in evaluation}
    assert not any(s.image.tobytes() in seen for s in train)
    assert train[0].id == "syn-train-00000"
    assert evaluation[0].id == "syn-0000"


@pytest.mark.parametrize("preset", ["standard", "demo"])
def test_fine_print_loses_its_dark_pixels_in_the_first_look(preset: str) -> None:
    fine = [s for s in make_synthetic_samples(8, preset=preset, fine_every=2) if s.needs_high_res]
    assert {s.category for s in fine} == set(PRESETS[preset].fine)
    below = 60 if preset == "demo" else 100  # the grey label's outline (90) is not print
    for sample in fine:
        full = _dark_pixels(sample.image, below)
        first = _dark_pixels(downsample_for_first_look(sample.image), below)
        assert full >= 20, sample.category
        assert first < full / 8, (sample.category, full, first)


def test_unknown_preset_or_split_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown preset 'huge'"):
        make_synthetic_samples(2, preset="huge")
    with pytest.raises(ValueError, match="unknown split 'test'"):
        make_synthetic_samples(2, split="test")
    with pytest.raises(ValueError, match="fine_every must be at least 1"):
        make_synthetic_samples(2, fine_every=0)
    with pytest.raises(ValueError, match="at least 224x224"):
        make_synthetic_samples(2, preset="demo", size=(200, 200))


@pytest.mark.parametrize("preset", ["standard", "demo"])
def test_the_fine_print_lies_in_its_target_box(preset: str) -> None:
    samples = make_synthetic_samples(24, preset=preset, fine_every=2)
    assert all(s.target_box is None for s in samples if not s.needs_high_res)
    for sample in (s for s in samples if s.needs_high_res):
        assert sample.target_box is not None
        left, top, right, bottom = sample.target_box
        assert 0 <= left < right <= sample.image.width
        assert 0 <= top < bottom <= sample.image.height
        print_ = np.asarray(sample.image.convert("L")) < 100  # black print (the labels are lighter)
        inside = print_[top:bottom, left:right]
        assert inside.sum() >= 20, sample.id
        assert inside.sum() == print_.sum(), sample.id  # every dark pixel is in the box
        # the box is compact: a small part of the image
        assert (right - left) * (bottom - top) <= sample.image.width * sample.image.height / 8
        assert sample.row()["target_box"] == list(sample.target_box)


@pytest.mark.parametrize("preset", ["standard", "demo"])
def test_the_images_are_the_pixels_the_models_were_trained_on(preset: str) -> None:
    # the shipped demo model was trained on these pixels: a digest of the first eval and train
    # images of each preset
    digest = hashlib.sha256()
    for split in ("eval", "train"):
        for sample in make_synthetic_samples(8, preset=preset, split=split):
            digest.update(sample.image.tobytes())
    assert digest.hexdigest() == IMAGES_DIGESTS[preset]
