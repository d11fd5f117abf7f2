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

Every row is validated before anything is written; errors name the row and the field. The output
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
import json
import os
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, get_args

import pyarrow as pa
import pyarrow.parquet as pq
from tqdm import tqdm

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


class DataValidationError(ValueError):
    """A source row is unusable; the message names the row and the field.

    Example:
        >>> str(DataValidationError(3, "problem", "is empty"))
        "row 3: field 'problem' is empty"
    """

    def __init__(self, row: int, field: str, problem: str) -> None:
        super().__init__(f"row {row}: field {field!r} {problem}")
        self.row = row
        self.field = field


@dataclass(frozen=True)
class SourceRecord:
    """One validated source example.

    Attributes:
        index: position in the source.
        doc_id: the source's id (stringified).
        data_source: dataset name, routed to the reward function.
        question: the question text (may hold one ``<image>``).
        answer: the ground truth.
        image: the full-resolution image: a path, encoded bytes, or a PIL image.
        use_tool: VisionThink's label (the example needs high resolution), when known.
        category: the question's kind (the synthetic ``category`` column; else the data
            source), which the reward metrics and the GRPO curves report per value.
    """

    index: int
    doc_id: str
    data_source: str
    question: str
    answer: str
    image: Any
    use_tool: bool | None = None
    category: str | None = None


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


def _text(row: int, value: Any, field: str) -> str:
    if value is None or (isinstance(value, str) and not value.strip()):
        raise DataValidationError(row, field, "is missing or empty")
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return str(value)
    if not isinstance(value, str):
        raise DataValidationError(row, field, f"must be text, got {type(value).__name__}")
    return value


def _question(row: int, value: Any, field: str) -> str:
    question = _text(row, value, field)
    count = question.count(protocol.IMAGE_PLACEHOLDER)
    if count > 1:
        raise DataValidationError(row, field, f"holds {count} '<image>' placeholders, expected 1")
    return question


def _records_from_hf(path: Path, split: str | None) -> tuple[int, Iterator[SourceRecord]]:
    import datasets

    loaded = datasets.load_from_disk(str(path))
    if isinstance(loaded, datasets.DatasetDict):
        if split is None:
            if len(loaded) != 1:
                raise ValueError(f"{path} holds splits {sorted(loaded)}: choose one with --split")
            split = next(iter(loaded))
        if split not in loaded:
            raise ValueError(f"{path} has no split {split!r}; it has {sorted(loaded)}")
        loaded = loaded[split]
    missing = {"images", "problem", "original_answer"} - set(loaded.column_names)
    if missing:
        raise ValueError(f"{path} lacks the VisionThink columns {sorted(missing)}")
    images_feature = loaded.features["images"]
    inner = getattr(images_feature, "feature", None)
    if isinstance(images_feature, datasets.Image):
        loaded = loaded.cast_column("images", datasets.Image(decode=False))
    elif isinstance(inner, datasets.Image) or isinstance(images_feature, list):
        loaded = loaded.cast_column("images", datasets.Sequence(datasets.Image(decode=False)))
    name = path.name

    def records() -> Iterator[SourceRecord]:
        for i, example in enumerate(loaded):
            images = example["images"]
            if isinstance(images, dict):
                images = [images]
            if not isinstance(images, list) or len(images) != 1:
                got = len(images) if isinstance(images, list) else type(images).__name__
                raise DataValidationError(i, "images", f"must hold exactly one image, got {got}")
            image = images[0]
            if not isinstance(image, dict) or not (image.get("bytes") or image.get("path")):
                raise DataValidationError(i, "images", "holds no image bytes or path")
            info = example.get("info") or {}
            use_tool = info.get("use_tool") if isinstance(info, dict) else None
            yield SourceRecord(
                index=i,
                doc_id=str(example.get("doc_id", i)),
                data_source=str(example.get("data_source") or name),
                question=_question(i, example.get("problem"), "problem"),
                answer=_text(i, example.get("original_answer"), "original_answer"),
                image=image.get("bytes") or image["path"],
                use_tool=None if use_tool is None else bool(use_tool),
            )

    return len(loaded), records()


def _label(obj: dict[str, Any]) -> bool | None:
    """The row's needs-high-resolution label: ``use_tool`` or ``needs_high_res`` (synthetic)."""
    for key in ("use_tool", "needs_high_res"):
        if isinstance(obj.get(key), bool):
            return bool(obj[key])
    return None


def _records_from_jsonl(path: Path) -> tuple[int, Iterator[SourceRecord]]:
    lines = path.read_text(encoding="utf-8").splitlines()
    rows = [(n, line) for n, line in enumerate(lines) if line.strip()]

    def records() -> Iterator[SourceRecord]:
        for i, (lineno, line) in enumerate(rows):
            try:
                obj = json.loads(line)
            except ValueError as exc:
                raise DataValidationError(
                    i, "<line>", f"(line {lineno + 1}) is not JSON: {exc}"
                ) from exc
            if not isinstance(obj, dict):
                raise DataValidationError(i, "<line>", f"(line {lineno + 1}) is not an object")
            image = Path(_text(i, obj.get("image"), "image")).expanduser()
            image = image if image.is_absolute() else (path.parent / image)
            if not image.is_file():
                raise DataValidationError(i, "image", f"names no file: {image}")
            yield SourceRecord(
                index=i,
                doc_id=str(obj.get("id", i)),
                data_source=str(obj.get("data_source") or path.stem),
                question=_question(i, obj.get("question"), "question"),
                answer=_text(i, obj.get("answer"), "answer"),
                image=str(image.resolve()),
                use_tool=_label(obj),
                category=None if obj.get("category") is None else str(obj["category"]),
            )

    return len(rows), records()


def read_records(source: Path, *, split: str | None = None) -> tuple[int, Iterator[SourceRecord]]:
    """Open a source: a ``save_to_disk`` directory or a ``.jsonl`` file.

    Returns:
        The number of rows and an iterator of validated records (validation errors surface as
        :class:`DataValidationError` while iterating).

    Example:
        >>> read_records(Path("missing.txt"))
        Traceback (most recent call last):
        ...
        ValueError: missing.txt is neither a save_to_disk directory nor a .jsonl file
    """
    if source.is_dir():
        return _records_from_hf(source, split)
    if source.suffix == ".jsonl" and source.is_file():
        return _records_from_jsonl(source)
    raise ValueError(f"{source} is neither a save_to_disk directory nor a .jsonl file")


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
