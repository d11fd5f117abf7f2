"""Reading a benchmark: JSONL, parquet or a ``datasets.save_to_disk`` folder, one schema out.

Real VQA sets name their columns differently (``image`` / ``images``, ``question`` /
``problem``, ``answer`` / ``original_answer`` ...). :func:`load_benchmark` finds them by the usual
names, or takes them explicitly, and yields :class:`EvalSample` objects whose ``image`` is
anything :func:`visionthink_agent.images.load_image` reads (a path, bytes, a URL, a PIL image).

Example:
    >>> import json, tempfile
    >>> from pathlib import Path
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     path = Path(tmp) / "b.jsonl"
    ...     _ = path.write_text(json.dumps({"image": "a.png", "question": "Q?", "answer": "7"}))
    ...     sample = load_benchmark(path)[0]
    ...     sample.id, sample.answer, Path(sample.image).name
    ('0', '7', 'a.png')
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from visionthink_agent.images import ImageInput

__all__ = [
    "ANSWER_COLUMNS",
    "ID_COLUMNS",
    "IMAGE_COLUMNS",
    "QUESTION_COLUMNS",
    "BenchmarkError",
    "EvalSample",
    "load_benchmark",
]

IMAGE_COLUMNS = ("image", "images", "img", "image_path")
QUESTION_COLUMNS = ("question", "problem", "query", "prompt")
ANSWER_COLUMNS = ("answer", "original_answer", "ground_truth", "solution", "label")
ID_COLUMNS = ("id", "question_id", "doc_id", "sample_id", "index")


class BenchmarkError(ValueError):
    """The benchmark file cannot be read as image / question / answer rows."""


@dataclass(frozen=True)
class EvalSample:
    """One benchmark question.

    Attributes:
        id: unique id (from an id column, else the row number).
        image: what ``load_image`` reads: a path, bytes, URL or PIL image.
        question: the question text.
        answer: the ground truth, as text.
        metadata: the row's other scalar columns (e.g. ``category``) and lists of scalars (e.g.
            the synthetic ``target_box``), kept in the records.

    Example:
        >>> EvalSample("q1", "cat.png", "What animal?", "cat").metadata
        {}
    """

    id: str
    image: ImageInput
    question: str
    answer: str
    metadata: dict[str, Any] = field(default_factory=dict)


def _pick(
    columns: Iterable[str], explicit: str | None, candidates: Sequence[str], role: str
) -> str:
    names = list(columns)
    if explicit is not None:
        if explicit not in names:
            raise BenchmarkError(f"{role} column {explicit!r} not found; columns are {names}")
        return explicit
    for name in candidates:
        if name in names:
            return name
    raise BenchmarkError(
        f"no {role} column: looked for {list(candidates)} among {names}; "
        f"name it with --{role}-column"
    )


def _image_value(value: Any, base_dir: Path | None, row: int) -> ImageInput:
    """Normalise one cell of the image column to something ``load_image`` reads."""
    if isinstance(value, (list, tuple)):
        if len(value) != 1:
            raise BenchmarkError(f"row {row}: expected one image, got {len(value)}")
        return _image_value(value[0], base_dir, row)
    if isinstance(value, Mapping):  # the Hugging Face Image struct {"bytes", "path"}
        if value.get("bytes"):
            return bytes(value["bytes"])
        return _image_value(value.get("path"), base_dir, row)
    if isinstance(value, str) and value:
        is_reference = value.startswith(("data:", "http://", "https://", "file://", "/"))
        if not is_reference and base_dir is not None and (base_dir / value).exists():
            return str(base_dir / value)
        return value
    if isinstance(value, (bytes, bytearray)) and value:
        return bytes(value)
    if value is None or value == "" or value == b"":
        raise BenchmarkError(f"row {row}: empty image cell")
    return value  # a PIL image (datasets decodes Image features) or another load_image input


def _is_plain(value: Any) -> bool:
    """A cell kept as metadata: a scalar, None, or a list of scalars (e.g. a box).

    Example:
        >>> _is_plain(3), _is_plain([1, 2, 3, 4]), _is_plain({"bytes": b""}), _is_plain([[1]])
        (True, True, False, False)
    """
    scalar = (str, int, float, bool)
    if isinstance(value, list):
        return all(isinstance(v, scalar) for v in value)
    return value is None or isinstance(value, scalar)


def _read_rows(path: Path, split: str | None) -> tuple[list[dict[str, Any]], Path | None]:
    """Rows as dicts, and the folder relative image paths are resolved against."""
    if path.is_dir():
        return _read_saved_dataset(path, split), None
    suffix = path.suffix.lower()
    if suffix in (".jsonl", ".json"):
        rows = []
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if line.strip():
                try:
                    rows.append(json.loads(line))
                except json.JSONDecodeError as exc:
                    raise BenchmarkError(f"{path}:{number}: not a JSON object: {exc}") from exc
        return rows, path.parent
    if suffix == ".parquet":
        import pyarrow.parquet as pq

        return pq.read_table(path).to_pylist(), path.parent
    raise BenchmarkError(
        f"cannot read {path}: expected a .jsonl or .parquet file or a datasets.save_to_disk folder"
    )


def _read_saved_dataset(path: Path, split: str | None) -> list[dict[str, Any]]:
    import datasets

    try:
        loaded = datasets.load_from_disk(str(path))
    except FileNotFoundError as exc:
        raise BenchmarkError(f"{path} is not a datasets.save_to_disk folder: {exc}") from exc
    if isinstance(loaded, datasets.DatasetDict):
        splits = list(loaded)
        chosen = split or ("test" if "test" in splits else splits[0] if len(splits) == 1 else None)
        if chosen is None or chosen not in loaded:
            raise BenchmarkError(f"{path} holds splits {splits}; choose one with --split")
        loaded = loaded[chosen]
    return [dict(row) for row in loaded]


def load_benchmark(
    path: str | Path,
    *,
    image_column: str | None = None,
    question_column: str | None = None,
    answer_column: str | None = None,
    id_column: str | None = None,
    split: str | None = None,
    limit: int | None = None,
) -> list[EvalSample]:
    """Read a benchmark into :class:`EvalSample` rows.

    Args:
        path: a ``.jsonl`` file (relative image paths resolve against its folder), a
            ``.parquet`` file, or a folder written by ``datasets.save_to_disk``.
        image_column: the image column (default: the first of :data:`IMAGE_COLUMNS`).
        question_column: the question column (default: :data:`QUESTION_COLUMNS`).
        answer_column: the ground-truth column (default: :data:`ANSWER_COLUMNS`).
        id_column: the id column (default: :data:`ID_COLUMNS`, else the row number).
        split: the split of a saved ``DatasetDict`` (default ``test`` or the only one).
        limit: keep the first ``limit`` rows.

    Example:
        >>> load_benchmark("missing.csv")
        Traceback (most recent call last):
        ...
        visionthink_agent.benchmark.BenchmarkError: benchmark not found: missing.csv

    Raises:
        BenchmarkError: missing file, unknown format, missing columns, duplicate ids, empty cells.
    """
    path = Path(path)
    if not path.exists():
        raise BenchmarkError(f"benchmark not found: {path}")
    rows, base_dir = _read_rows(path, split)
    if not rows:
        raise BenchmarkError(f"{path} holds no rows")
    if limit is not None:
        rows = rows[:limit]
    columns = rows[0].keys()
    image_key = _pick(columns, image_column, IMAGE_COLUMNS, "image")
    question_key = _pick(columns, question_column, QUESTION_COLUMNS, "question")
    answer_key = _pick(columns, answer_column, ANSWER_COLUMNS, "answer")
    id_key = (
        id_column if id_column is not None else next((c for c in ID_COLUMNS if c in columns), None)
    )
    used = {image_key, question_key, answer_key, id_key}
    samples: list[EvalSample] = []
    seen: set[str] = set()
    for number, row in enumerate(rows):
        sample_id = str(row[id_key]) if id_key is not None else str(number)
        if sample_id in seen:
            raise BenchmarkError(f"duplicate sample id {sample_id!r} (row {number})")
        seen.add(sample_id)
        question, answer = row.get(question_key), row.get(answer_key)
        if not isinstance(question, str) or not question.strip():
            raise BenchmarkError(f"row {number}: empty {question_key!r}")
        if answer is None:
            raise BenchmarkError(f"row {number}: no {answer_key!r}")
        metadata = {k: v for k, v in row.items() if k not in used and _is_plain(v)}
        samples.append(
            EvalSample(
                id=sample_id,
                image=_image_value(row[image_key], base_dir, number),
                question=question,
                answer=answer if isinstance(answer, str) else json.dumps(answer),
                metadata=metadata,
            )
        )
    return samples
