"""Fixtures for the example apps: a detail image and a scripted VisionThink-format model."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from tests.evaluation.fakes import OracleVisionModel
from visionthink_agent.synthetic import make_synthetic_samples

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
if str(EXAMPLES) not in sys.path:
    sys.path.insert(0, str(EXAMPLES))

QUESTION = "What is the six-digit number printed on the small white label?"


@pytest.fixture(scope="session")
def detail_image(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    """A synthetic label image whose six-digit number needs the full resolution, and the code."""
    sample = make_synthetic_samples(1, size=(640, 480))[0]
    assert sample.question == QUESTION
    path = tmp_path_factory.mktemp("images") / "label.png"
    sample.image.save(path)
    return path, sample.answer


@pytest.fixture
def oracle(detail_image: tuple[Path, str]) -> OracleVisionModel:
    """Asks for the full image on the label question, then reads the code."""
    return OracleVisionModel(
        answers={QUESTION: (detail_image[1], True), "What colour": ("grey", False)},
        full_width=640,
    )
