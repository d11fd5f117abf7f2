"""Preparing the two VisionThink views of an image: our lazy pipeline vs the straightforward one.

Three synthetic inputs: a 12 MP photo-like JPEG (gradients, noise, shapes; quality 90), a 2 MP
PNG document (lines of text) and a 1 MP photo-like WebP. For each, the median time of:

* **ours**: ``load_image(bytes)`` then ``.first_look_payload()`` or ``.high_res_payload()`` (a
  fresh :class:`SourceImage` per repeat, so no cache helps);
* **straightforward**: full decode → LANCZOS to half size → encode (first look), and full decode →
  encode (high res), with the same encoder settings as ours, so the ratio measures the pipeline;
* **floors**: the full decode alone, and for the JPEG the half-scale (DCT draft) decode alone.

Run: ``.venv/bin/python benchmarks/bench_images.py [--repeats 7] [--quick]``; writes
``benchmarks/results/bench_images.json`` (``--quick``: small images, 2 repeats, a smoke run that
writes ``bench_images.quick.json`` instead).
"""

from __future__ import annotations

import argparse
import io
import json
import platform
import random
import statistics
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

import PIL
from PIL import Image, ImageDraw, ImageFilter
from rich.console import Console
from rich.progress import Progress
from rich.table import Table

from visionthink_agent.images import downsample_for_first_look, encode_image, load_image
from visionthink_agent.images.encoding import wire_format_for

RESULTS = Path(__file__).resolve().parent / "results"


@dataclass(frozen=True)
class Sample:
    """One benchmark input."""

    name: str
    data: bytes
    format: str
    size: tuple[int, int]
    sampling: int | None
    """The JPEG chroma subsampling our pipeline keeps; the baseline encodes with it too."""


def photo_like(width: int, height: int, seed: int = 0) -> Image.Image:
    """Smooth gradients, sensor-like noise and some sharp shapes: compresses like a photo."""
    rng = random.Random(seed)
    red = Image.linear_gradient("L").resize((width, height))
    green = Image.radial_gradient("L").resize((width, height))
    blue = red.transpose(Image.Transpose.FLIP_LEFT_RIGHT)
    image = Image.merge("RGB", (red, green, blue))
    draw = ImageDraw.Draw(image)
    for _ in range(40):
        x, y = rng.randrange(width), rng.randrange(height)
        r = rng.randrange(max(2, width // 60), max(3, width // 8))
        colour = tuple(rng.randrange(256) for _ in range(3))
        box = (x - r, y - r, x + r, y + r)
        if rng.random() < 0.5:
            draw.ellipse(box, fill=colour)
        else:
            draw.rectangle(box, outline=colour, width=max(1, r // 10))
    image = image.filter(ImageFilter.GaussianBlur(0.8))
    # fine texture (foliage, fabric, sensor noise): what makes real photos 2-4 MB at 12 MP
    noise = Image.merge("RGB", [Image.effect_noise((width, height), 60) for _ in range(3)])
    return Image.blend(image, noise, 0.22)


def document_like(width: int, height: int, seed: int = 1) -> Image.Image:
    """A white page with lines of black text (a scanned-document / screenshot stand-in)."""
    rng = random.Random(seed)
    image = Image.new("RGB", (width, height), "white")
    draw = ImageDraw.Draw(image)
    words = ["invoice", "total", "42.00", "EUR", "the", "quick", "brown", "fox", "row", "a"]
    line_height = max(12, height // 60)
    for y in range(line_height, height - line_height, line_height + 4):
        line = " ".join(rng.choice(words) for _ in range(width // 40))
        draw.text((line_height, y), line, fill="black", font_size=line_height)
    return image


def encode(image: Image.Image, fmt: str, **options: object) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format=fmt, **options)
    return buffer.getvalue()


def make_sample(name: str, image: Image.Image, fmt: str, **options: object) -> Sample:
    data = encode(image, fmt, **options)
    sampling = load_image(data).jpeg_subsampling
    return Sample(f"{name} {image.width}x{image.height}", data, fmt, image.size, sampling)


def make_samples(quick: bool) -> list[Sample]:
    scale = 4 if quick else 1
    return [
        make_sample("photo JPEG", photo_like(4000 // scale, 3000 // scale), "JPEG", quality=90),
        make_sample("document PNG", document_like(1700 // scale, 1200 // scale), "PNG"),
        make_sample("photo WebP", photo_like(1200 // scale, 850 // scale), "WEBP", quality=90),
    ]


# -- the pipelines ------------------------------------------------------------------------------
def full_decode(data: bytes) -> Image.Image:
    with Image.open(io.BytesIO(data)) as im:
        return im.convert("RGB")


def draft_decode(data: bytes) -> Image.Image:
    with Image.open(io.BytesIO(data)) as im:
        im.draft("RGB", (im.width // 2, im.height // 2))
        return im.convert("RGB")


def straightforward_first_look(sample: Sample) -> bytes:
    half = downsample_for_first_look(full_decode(sample.data))
    return encode_image(half, wire_format_for(sample.format), jpeg_subsampling=sample.sampling).data


def straightforward_high_res(sample: Sample) -> bytes:
    image = full_decode(sample.data)
    return encode_image(
        image, wire_format_for(sample.format), jpeg_subsampling=sample.sampling
    ).data


def ours_first_look(sample: Sample) -> bytes:
    return load_image(sample.data).first_look_payload().data


def ours_high_res(sample: Sample) -> bytes:
    return load_image(sample.data).high_res_payload().data


def interleaved_medians(
    fns: dict[str, Callable[[], object]], repeats: int, advance: Callable[[], None]
) -> dict[str, float]:
    """Median ms of each function, run round-robin so load drift hits all of them alike."""
    for fn in fns.values():
        fn()  # warm-up (imports, codec initialisation)
    times: dict[str, list[float]] = {name: [] for name in fns}
    for _ in range(repeats):
        for name, fn in fns.items():
            start = time.perf_counter()
            fn()
            times[name].append(time.perf_counter() - start)
        advance()
    return {name: statistics.median(t) * 1000 for name, t in times.items()}


@dataclass
class Row:
    """Medians (ms) and ratios for one sample."""

    sample: str
    ours_first_look_ms: float
    straightforward_first_look_ms: float
    ours_high_res_ms: float
    straightforward_high_res_ms: float
    decode_floor_ms: float
    draft_floor_ms: float | None
    first_look_vs_straightforward: float
    first_look_vs_draft_floor: float | None
    high_res_vs_straightforward: float


def measure(sample: Sample, repeats: int, advance: Callable[[], None]) -> Row:
    fns: dict[str, Callable[[], object]] = {
        "first": lambda: ours_first_look(sample),
        "first_sf": lambda: straightforward_first_look(sample),
        "high": lambda: ours_high_res(sample),
        "high_sf": lambda: straightforward_high_res(sample),
        "decode": lambda: full_decode(sample.data),
    }
    if sample.format == "JPEG":
        fns["draft"] = lambda: draft_decode(sample.data)
    ms = interleaved_medians(fns, repeats, advance)
    draft = ms.get("draft")
    return Row(
        sample=sample.name,
        ours_first_look_ms=ms["first"],
        straightforward_first_look_ms=ms["first_sf"],
        ours_high_res_ms=ms["high"],
        straightforward_high_res_ms=ms["high_sf"],
        decode_floor_ms=ms["decode"],
        draft_floor_ms=draft,
        first_look_vs_straightforward=ms["first"] / ms["first_sf"],
        first_look_vs_draft_floor=ms["first"] / draft if draft else None,
        high_res_vs_straightforward=ms["high"] / ms["high_sf"],
    )


def render(rows: list[Row], console: Console) -> None:
    table = Table(title="Preparing the VisionThink views (median ms; ratio = ours / baseline)")
    for column in (
        "input",
        "first look: ours",
        "straightforward",
        "ratio",
        "vs draft floor",
        "high res: ours",
        "straightforward",
        "ratio",
        "decode floor",
        "draft floor",
    ):
        table.add_column(column, justify="left" if column == "input" else "right")
    for r in rows:
        table.add_row(
            r.sample,
            f"{r.ours_first_look_ms:.1f}",
            f"{r.straightforward_first_look_ms:.1f}",
            f"{r.first_look_vs_straightforward:.2f}x",
            f"{r.first_look_vs_draft_floor:.2f}x" if r.first_look_vs_draft_floor else "-",
            f"{r.ours_high_res_ms:.1f}",
            f"{r.straightforward_high_res_ms:.1f}",
            f"{r.high_res_vs_straightforward:.3f}x",
            f"{r.decode_floor_ms:.1f}",
            f"{r.draft_floor_ms:.1f}" if r.draft_floor_ms else "-",
        )
    console.print(table)


def main(argv: list[str] | None = None) -> list[Row]:
    """Run the benchmark, print the table, write the JSON; returns the rows.

    Example:
        >>> rows = main(["--quick"])  # doctest: +SKIP
    """
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=7, help="timed repeats per measurement")
    parser.add_argument("--quick", action="store_true", help="small images, 2 repeats (smoke)")
    parser.add_argument("--output", type=Path, help="JSON path (default: benchmarks/results/)")
    args = parser.parse_args(argv)
    repeats = 2 if args.quick else args.repeats
    output = args.output or RESULTS / (
        "bench_images.quick.json" if args.quick else "bench_images.json"
    )
    console = Console(width=max(150, Console().width))
    samples = make_samples(args.quick)
    steps = repeats * len(samples)
    rows = []
    with Progress(console=console, transient=True) as progress:
        task = progress.add_task("timing", total=steps)
        for sample in samples:
            rows.append(measure(sample, repeats, lambda: progress.advance(task)))
    render(rows, console)
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(
        json.dumps(
            {
                "benchmark": "bench_images",
                "repeats": repeats,
                "quick": args.quick,
                "python": platform.python_version(),
                "pillow": PIL.__version__,
                "machine": platform.machine(),
                "rows": [asdict(r) for r in rows],
            },
            indent=2,
        )
        + "\n"
    )
    jpeg = rows[0]
    floor = jpeg.first_look_vs_draft_floor or 0.0
    console.print(
        f"{jpeg.sample} first look: {jpeg.ours_first_look_ms:.0f} ms ours vs "
        f"{jpeg.straightforward_first_look_ms:.0f} ms straightforward "
        f"({jpeg.first_look_vs_straightforward:.2f}x, target <= 0.33x), "
        f"{floor:.2f}x the half-scale decode floor (target <= 1.5x); wrote {output}"
    )
    return rows


if __name__ == "__main__":
    main()
