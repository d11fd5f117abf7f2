"""Shared fixtures: synthetic images and the path to the shared protocol docs."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from PIL import Image

REPO = Path(__file__).resolve().parents[1]
SHARED_DOCS = REPO.parent / "shared" / "docs"


def encode(image: Image.Image, fmt: str, **options: object) -> bytes:
    """Encode a PIL image to bytes in ``fmt``."""
    buf = io.BytesIO()
    image.save(buf, format=fmt, **options)
    return buf.getvalue()


@pytest.fixture
def rgb_image() -> Image.Image:
    """A 640×480 image with structure (gradients), so resampling differences show."""
    img = Image.linear_gradient("L").resize((640, 480))
    return Image.merge(
        "RGB", (img, img.rotate(90, expand=False), img.transpose(Image.Transpose.FLIP_LEFT_RIGHT))
    )
