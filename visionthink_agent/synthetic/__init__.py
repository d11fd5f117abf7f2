"""A small synthetic benchmark: questions that need the full image, and questions that do not.

Some samples ask about **fine detail** — a serial number or a word printed in small type
(about 8 px high) on a cluttered label — which the half-size first look turns into a blur. The
others ask about **coarse content** — the colour of a large shape, its kind, a large digit or a
large word — which survives the downsample. A VisionThink model should answer the second kind
directly and resize for the first, so the benchmark exercises both paths of the agent.

Two presets: ``standard`` (896×672, the default) and ``demo`` (224×224: 64 visual tokens at
full resolution and 16 at the first look, for the small model trained on a CPU by
``python -m training.demo``; one question in four needs the full image, as in real VQA mixes).
Two splits: ``eval`` (the default, ``Random(seed)``) and ``train``, separate random streams, so
a model trained on ``train`` is evaluated on images it never saw.

The columns are the ones real VQA sets use (``id``, ``image``, ``question``, ``answer``) plus
``category``, ``needs_high_res``, ``caption`` and ``target_box``. A fine question's small print
lies on one compact label, and ``target_box`` is that label's ``[left, top, right, bottom]`` in
original pixels (right/bottom exclusive, as Pillow crops): cropping it from the original is
enough to answer, so a zoom tool can do with a fraction of the tokens of the whole image. Coarse
questions have ``target_box`` None. One call writes the same samples three ways:
a JSONL file with images beside it, a parquet file with the image bytes inline (the Hugging
Face ``Image`` struct ``{"bytes", "path"}``), and a ``datasets.save_to_disk`` folder.

Example:
    >>> import tempfile
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     bench = write_synthetic_benchmark(tmp, n=4, formats=("jsonl",))
    ...     bench.jsonl.name, sorted(s.category for s in make_synthetic_samples(4))
    ('synthetic.jsonl', ['color', 'serial', 'shape', 'word'])
"""

from visionthink_agent.synthetic.presets import PRESETS, SPLITS, SyntheticPreset
from visionthink_agent.synthetic.samples import SyntheticSample, make_synthetic_samples
from visionthink_agent.synthetic.writing import (
    SYNTHETIC_FORMATS,
    SyntheticBenchmark,
    write_synthetic_benchmark,
)

__all__ = [
    "PRESETS",
    "SPLITS",
    "SYNTHETIC_FORMATS",
    "SyntheticBenchmark",
    "SyntheticPreset",
    "SyntheticSample",
    "make_synthetic_samples",
    "write_synthetic_benchmark",
]
