"""Writing the synthetic benchmark to disk: JSONL with PNGs, parquet, a ``save_to_disk`` folder.

Example:
    >>> import tempfile
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     write_synthetic_benchmark(tmp, n=3, formats=("jsonl",)).size
    3
"""

from __future__ import annotations

import io
import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from PIL import Image

from visionthink_agent.synthetic.samples import make_synthetic_samples

__all__ = ["SYNTHETIC_FORMATS", "SyntheticBenchmark", "write_synthetic_benchmark"]

SYNTHETIC_FORMATS = ("jsonl", "parquet", "hf")
"""The on-disk layouts :func:`write_synthetic_benchmark` can write."""


@dataclass(frozen=True)
class SyntheticBenchmark:
    """Where :func:`write_synthetic_benchmark` put the files (None for a format not written).

    Attributes:
        root: the output folder.
        jsonl: ``synthetic.jsonl`` (images under ``images/``).
        parquet: ``synthetic.parquet`` (image bytes inline).
        hf: the ``datasets.save_to_disk`` folder ``hf/``.
        size: number of samples.
    """

    root: Path
    jsonl: Path | None
    parquet: Path | None
    hf: Path | None
    size: int


def _png(image: Image.Image) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


def write_synthetic_benchmark(
    out_dir: str | Path,
    *,
    n: int = 24,
    seed: int = 0,
    size: tuple[int, int] | None = None,
    formats: Sequence[str] = SYNTHETIC_FORMATS,
    preset: str = "standard",
    split: str = "eval",
    fine_every: int | None = None,
) -> SyntheticBenchmark:
    """Write the synthetic benchmark as JSONL + PNGs, parquet and/or a ``save_to_disk`` folder.

    Args:
        out_dir: folder to write into (created if missing).
        n: number of samples.
        seed: random seed.
        size: full-resolution image size (default: the preset's).
        formats: any of ``jsonl``, ``parquet``, ``hf`` (parquet needs ``pyarrow``, hf needs
            ``datasets``: the ``eval`` extra).
        preset: ``standard`` or ``demo`` (see :func:`make_synthetic_samples`).
        split: ``eval`` or ``train``.
        fine_every: one fine-detail question every this many samples (default: the preset's).

    Example:
        >>> import tempfile
        >>> with tempfile.TemporaryDirectory() as tmp:
        ...     bench = write_synthetic_benchmark(tmp, n=2, formats=("jsonl",))
        ...     json.loads(bench.jsonl.read_text().splitlines()[0])["image"]
        'images/syn-0000.png'

    Raises:
        ValueError: for an unknown format (or a bad argument of :func:`make_synthetic_samples`).
    """
    unknown = sorted(set(formats) - set(SYNTHETIC_FORMATS))
    if unknown:
        raise ValueError(f"unknown format(s) {unknown}; choose from {list(SYNTHETIC_FORMATS)}")
    root = Path(out_dir)
    root.mkdir(parents=True, exist_ok=True)
    samples = make_synthetic_samples(
        n, seed=seed, size=size, preset=preset, split=split, fine_every=fine_every
    )
    pngs = [_png(s.image) for s in samples]
    jsonl = parquet = hf = None
    if "jsonl" in formats:
        (root / "images").mkdir(exist_ok=True)
        lines = []
        for sample, png in zip(samples, pngs, strict=True):
            relative = f"images/{sample.id}.png"
            (root / relative).write_bytes(png)
            lines.append(json.dumps({**sample.row(), "image": relative}))
        jsonl = root / "synthetic.jsonl"
        jsonl.write_text("\n".join(lines) + "\n", encoding="utf-8")
    rows = [
        {**s.row(), "image": {"bytes": png, "path": f"{s.id}.png"}}
        for s, png in zip(samples, pngs, strict=True)
    ]
    if "parquet" in formats:
        import pyarrow as pa
        import pyarrow.parquet as pq

        parquet = root / "synthetic.parquet"
        pq.write_table(pa.Table.from_pylist(rows), parquet)
    if "hf" in formats:
        import datasets

        features = datasets.Features(
            {
                "id": datasets.Value("string"),
                "question": datasets.Value("string"),
                "answer": datasets.Value("string"),
                "category": datasets.Value("string"),
                "needs_high_res": datasets.Value("bool"),
                "caption": datasets.Value("string"),
                "target_box": datasets.Sequence(datasets.Value("int32")),
                "image": datasets.Image(),
            }
        )
        hf = root / "hf"
        datasets.Dataset.from_list(rows, features=features).save_to_disk(str(hf))
    return SyntheticBenchmark(root=root, jsonl=jsonl, parquet=parquet, hf=hf, size=len(samples))
