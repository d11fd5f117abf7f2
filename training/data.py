"""Convert VisionThink data (HF ``save_to_disk``) or plain JSONL into veRL parquet.

``python -m training.data INPUT OUTPUT.parquet [--split train] [--force] [--limit N]
[--tool-mode resize|zoom|both] [--boxes first_look_pixels|relative_1000]``

* ``INPUT`` a directory written by ``datasets``' ``save_to_disk`` (VisionThink-Smart-Train /
  -Val layout: ``images``, ``problem`` with ``<image>``, ``solution``, ``original_answer``,
  ``data_source``, ``doc_id``, ``info{tgt_width, tgt_height, use_tool}``), or a ``.jsonl`` file
  with ``image`` (a path, relative to the file), ``question``, ``answer`` and optionally
  ``data_source``, ``id`` and the label ``use_tool`` (or ``needs_high_res``).
* Each output row carries the VisionThink prompt (the system prompt of the tool mode, with its
  tool declarations, :func:`visionthink_agent.protocol.system_prompt`: the released prompt by
  default; a user turn with one ``<image>``), the **first-look** image
  (``downsample_for_first_look``, the training-identical path, PNG-encoded), the
  high-resolution reference for :class:`training.resize_tool.ResizeImageTool` in
  ``extra_info.tools_kwargs`` (the original bytes for HF data, the absolute path for JSONL; the
  zoom tool crops the same original), the ground truth, ``data_source`` and
  ``agent_name: visionthink_agent``.

Every row is validated before anything is written (:mod:`training.data_sources` reads and
validates the source); errors name the row and the field. The output
is written atomically and never overwritten without ``--force``; the same input gives the same
file.

Example:
    >>> from PIL import Image
    >>> record = SourceRecord(index=0, doc_id="7", data_source="demo", question="<image>Count.",
    ...                       answer="3", image=Image.new("RGB", (64, 40)))
    >>> row = build_row(record)
    >>> row["prompt"][1]["content"].count("<image>"), row["reward_model"]["ground_truth"]
    (1, '3')
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, get_args

import pyarrow as pa
import pyarrow.parquet as pq
from tqdm import tqdm

from training.data_sources import DataValidationError, SourceRecord, read_records
from training.names import AGENT_NAME
from visionthink_agent import protocol
from visionthink_agent.images import ImageError, encode_image, load_image

__all__ = [
    "PARQUET_SCHEMA",
    "ConversionSummary",
    "DataValidationError",
    "SourceRecord",
    "build_row",
    "convert",
    "main",
    "read_records",
    "system_prompt_of",
]

_CREATE_KWARGS = pa.struct([("image", pa.binary()), ("image_path", pa.string())])
PARQUET_SCHEMA = pa.schema(
    [
        ("data_source", pa.string()),
        ("agent_name", pa.string()),
        (
            "prompt",
            pa.list_(pa.struct([("role", pa.string()), ("content", pa.string())])),
        ),
        ("images", pa.list_(pa.struct([("bytes", pa.binary())]))),
        (
            "reward_model",
            pa.struct([("style", pa.string()), ("ground_truth", pa.string())]),
        ),
        (
            "extra_info",
            pa.struct(
                [
                    ("index", pa.int64()),
                    ("doc_id", pa.string()),
                    ("question", pa.string()),
                    ("use_tool", pa.bool_()),
                    ("category", pa.string()),
                    ("width", pa.int64()),
                    ("height", pa.int64()),
                    ("first_look_width", pa.int64()),
                    ("first_look_height", pa.int64()),
                    (
                        "tools_kwargs",
                        pa.struct(
                            [
                                (
                                    protocol.RESIZE_TOOL_NAME,
                                    pa.struct([("create_kwargs", _CREATE_KWARGS)]),
                                )
                            ]
                        ),
                    ),
                ]
            ),
        ),
    ]
)
"""The parquet layout veRL's ``RLHFDataset`` reads (same struct in every row)."""


@dataclass
class ConversionSummary:
    """What :func:`convert` wrote.

    Example:
        >>> ConversionSummary(rows=2, needs_tool=1, seconds=0.5, output=Path("x.parquet")).line()
        'wrote 2 rows (1 labelled use_tool) to x.parquet in 0.5 s'
    """

    rows: int
    needs_tool: int
    seconds: float
    output: Path

    def line(self) -> str:
        """One-line summary for the terminal."""
        return (
            f"wrote {self.rows} rows ({self.needs_tool} labelled use_tool) to {self.output} "
            f"in {self.seconds:.1f} s"
        )


def build_row(
    record: SourceRecord,
    *,
    tool_mode: protocol.ToolMode = "resize",
    boxes: protocol.BoxConvention = "first_look_pixels",
) -> dict[str, Any]:
    """Build one veRL row from a validated record (decodes and downsamples the image).

    Args:
        record: the validated source example.
        tool_mode: the tool mode the row is for (selects the system prompt).
        boxes: the zoom box convention the system prompt states (zoom and both modes).

    Example:
        >>> from PIL import Image
        >>> row = build_row(SourceRecord(0, "a", "demo", "What?", "x", Image.new("RGB", (90, 60))))
        >>> row["extra_info"]["first_look_width"], row["agent_name"]
        (45, 'visionthink_agent')
        >>> zoom = build_row(SourceRecord(0, "a", "demo", "What?", "x", Image.new("RGB", (9, 9))),
        ...                  tool_mode="zoom")
        >>> zoom["prompt"][0]["content"] == protocol.system_prompt("zoom")
        True

    Raises:
        DataValidationError: the image cannot be loaded.
    """
    try:
        source = load_image(record.image)
        first_look = encode_image(source.first_look(exact=True), "PNG")
    except (ImageError, OSError) as exc:
        raise DataValidationError(record.index, "image", f"cannot be loaded: {exc}") from exc
    question_text = protocol.render_parts(protocol.user_turn(record.question))
    if isinstance(record.image, (str, os.PathLike)):
        create_kwargs = {"image": None, "image_path": os.fspath(record.image)}
    else:
        create_kwargs = {"image": source.high_res_payload().data, "image_path": None}
    width, height = source.size
    return {
        "data_source": record.data_source,
        "agent_name": AGENT_NAME,
        "prompt": [
            {"role": "system", "content": protocol.system_prompt(tool_mode, boxes)},
            {"role": "user", "content": question_text},
        ],
        "images": [{"bytes": first_look.data}],
        "reward_model": {"style": "model", "ground_truth": record.answer},
        "extra_info": {
            "index": record.index,
            "doc_id": record.doc_id,
            "question": record.question.replace(protocol.IMAGE_PLACEHOLDER, "").strip(),
            "use_tool": record.use_tool,
            "category": record.category or record.data_source,
            "width": width,
            "height": height,
            "first_look_width": first_look.width,
            "first_look_height": first_look.height,
            "tools_kwargs": {protocol.RESIZE_TOOL_NAME: {"create_kwargs": create_kwargs}},
        },
    }


def convert(
    source: Path,
    output: Path,
    *,
    split: str | None = None,
    force: bool = False,
    limit: int | None = None,
    chunk_rows: int = 256,
    progress: bool = True,
    tool_mode: protocol.ToolMode = "resize",
    boxes: protocol.BoxConvention = "first_look_pixels",
) -> ConversionSummary:
    """Validate every row of ``source`` and write the veRL parquet ``output``.

    Args:
        source: a ``save_to_disk`` directory or a ``.jsonl`` file.
        output: the parquet file to write (atomically, via a temporary file beside it).
        split: the split of a ``DatasetDict``.
        force: overwrite an existing ``output``.
        limit: convert only the first ``limit`` rows.
        chunk_rows: rows per parquet row group.
        progress: show a progress bar.
        tool_mode: the tool mode the rows are for (see :func:`build_row`).
        boxes: the zoom box convention (see :func:`build_row`).

    Example:
        >>> import tempfile
        >>> existing = Path(tempfile.mkdtemp()) / "out.parquet"
        >>> _ = existing.write_bytes(b"")
        >>> convert(Path("in.jsonl"), existing)  # doctest: +ELLIPSIS
        Traceback (most recent call last):
        ...
        FileExistsError: .../out.parquet exists; pass --force to overwrite it

    Raises:
        FileExistsError: ``output`` exists and ``force`` is off.
        DataValidationError: a row is invalid (nothing is written).
    """
    if output.exists() and not force:
        raise FileExistsError(f"{output} exists; pass --force to overwrite it")
    start = time.perf_counter()
    total, records = read_records(source, split=split)
    if limit is not None:
        total = min(total, limit)
    output.parent.mkdir(parents=True, exist_ok=True)
    tmp = output.with_name(f".{output.name}.tmp")
    rows = needs_tool = 0
    try:
        with pq.ParquetWriter(tmp, PARQUET_SCHEMA) as writer:
            chunk: list[dict[str, Any]] = []
            bar = tqdm(total=total, desc=f"converting {source.name}", disable=not progress)
            for record in records:
                if rows >= total:
                    break
                chunk.append(build_row(record, tool_mode=tool_mode, boxes=boxes))
                rows += 1
                needs_tool += bool(record.use_tool)
                bar.update()
                if len(chunk) >= chunk_rows:
                    writer.write_table(pa.Table.from_pylist(chunk, schema=PARQUET_SCHEMA))
                    chunk = []
            if chunk:
                writer.write_table(pa.Table.from_pylist(chunk, schema=PARQUET_SCHEMA))
            bar.close()
        if rows == 0:
            raise ValueError(f"{source} holds no rows")
        tmp.replace(output)
    finally:
        tmp.unlink(missing_ok=True)
    return ConversionSummary(rows, needs_tool, time.perf_counter() - start, output)


def system_prompt_of(path: str | os.PathLike[str]) -> str | None:
    """The system message of the first row of a veRL parquet file (None when it has none).

    Example:
        >>> import tempfile
        >>> from PIL import Image
        >>> out = Path(tempfile.mkdtemp()) / "one.parquet"
        >>> row = build_row(SourceRecord(0, "a", "demo", "What?", "x", Image.new("RGB", (9, 9))))
        >>> pq.write_table(pa.Table.from_pylist([row], schema=PARQUET_SCHEMA), out)
        >>> system_prompt_of(out) == protocol.SYSTEM_PROMPT
        True
    """
    table = pq.ParquetFile(path).read_row_group(0, columns=["prompt"])
    messages = table.column("prompt")[0].as_py() if table.num_rows else []
    first = (messages or [{}])[0]
    return str(first["content"]) if first.get("role") == "system" else None


def main(argv: list[str] | None = None) -> int:
    """Command line: ``python -m training.data INPUT OUTPUT [--split S] [--force] [--limit N]``.

    Example:
        >>> main(["does-not-exist", "out.parquet"])  # the error goes to stderr
        2
    """
    parser = argparse.ArgumentParser(
        prog="python -m training.data",
        description="Convert VisionThink (save_to_disk) or JSONL data into veRL parquet.",
    )
    parser.add_argument("input", type=Path, help="save_to_disk directory or .jsonl file")
    parser.add_argument("output", type=Path, help="parquet file to write")
    parser.add_argument("--split", help="split of a DatasetDict (e.g. train)")
    parser.add_argument("--force", action="store_true", help="overwrite an existing output")
    parser.add_argument("--limit", type=int, help="convert only the first N rows")
    parser.add_argument(
        "--tool-mode",
        choices=protocol.TOOL_MODES,
        default="resize",
        help="the tool mode of the system prompt (visionthink.tool_mode; default resize)",
    )
    parser.add_argument(
        "--boxes",
        choices=get_args(protocol.BoxConvention),
        default="first_look_pixels",
        help="how the zoom tool's boxes are written (visionthink.boxes; zoom and both modes)",
    )
    args = parser.parse_args(argv)
    try:
        summary = convert(
            args.input,
            args.output,
            split=args.split,
            force=args.force,
            limit=args.limit,
            tool_mode=args.tool_mode,
            boxes=args.boxes,
        )
    except (ValueError, FileExistsError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(summary.line())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
