"""The synthetic benchmark: deterministic, balanced, and its fine detail really is fine."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from visionthink_agent.evaluation import make_synthetic_samples, write_synthetic_benchmark
from visionthink_agent.images import downsample_for_first_look


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


def _dark_pixels(image: Image.Image) -> int:
    return int((np.asarray(image.convert("L")) < 100).sum())


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
