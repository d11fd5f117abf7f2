"""Reading a source for :mod:`training.data`: a ``save_to_disk`` folder or a JSONL file.

Every row is validated as it is read; an unusable row raises :class:`DataValidationError`
naming the row and the field.

Example:
    >>> str(DataValidationError(0, "answer", "is missing or empty"))
    "row 0: field 'answer' is missing or empty"
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from visionthink_agent import protocol

__all__ = ["DataValidationError", "SourceRecord", "read_records"]


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
