"""The per-sample record of an evaluation run, its JSONL file, and resuming from it.

One line per (mode, sample). A run appends each record as soon as the sample is scored, so an
interrupted run loses at most the samples in flight; :func:`load_records` reads the file back
(the last line per key wins, a torn last line is ignored) and :func:`pending` says what is left.
Samples that ended in an error are retried on resume.

Example:
    >>> rec = SampleRecord(sample_id="q1", mode="low", question="Q?", ground_truth="7",
    ...                    prediction="7", correct=True)
    >>> rec.key, rec.finished, rec.high_res
    (('low', 'q1'), True, False)
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any, Final, Literal

from pydantic import BaseModel, Field

from visionthink_agent.protocol import ToolMode

__all__ = [
    "AGENT_TOOL_MODES",
    "DEFAULT_MODES",
    "MODES",
    "EvalMode",
    "ResumeMismatchError",
    "SampleRecord",
    "append_record",
    "load_records",
    "pending",
]

EvalMode = Literal["visionthink", "zoom", "both", "full", "low"]
MODES: Final[tuple[EvalMode, ...]] = ("visionthink", "zoom", "both", "full", "low")
"""Every evaluation mode. ``visionthink``: first look, the whole image at full resolution when
the model asks (the agent's ``tool_mode="resize"``); ``zoom``: first look, up to two regions
cropped from the original when the model asks (``tool_mode="zoom"``); ``both``: the model
chooses between the two (``tool_mode="both"``); ``full``: the full-resolution image only;
``low``: the first look only."""
DEFAULT_MODES: Final[tuple[EvalMode, ...]] = ("visionthink", "full", "low")
"""The modes a run evaluates unless told otherwise: the released VisionThink checkpoints know
the resize tool only."""
AGENT_TOOL_MODES: Final[dict[str, ToolMode]] = {
    "visionthink": "resize",
    "zoom": "zoom",
    "both": "both",
}
"""The modes that run the agent graph, and its ``tool_mode`` in each."""


class ResumeMismatchError(ValueError):
    """The records file was written for different samples than the ones being evaluated."""


class SampleRecord(BaseModel):
    """What one mode did on one sample, and the judge's verdict.

    Attributes:
        sample_id: the benchmark sample's id.
        mode: one of :data:`MODES`.
        question: the question asked.
        ground_truth: the benchmark's answer.
        prediction: the extracted final answer (protocol §1.6).
        output: the model's last turn, raw.
        correct: the judge's verdict (False when the sample errored).
        judge: the judge's details (its name, score, reason...).
        resized: the model was given the whole high-resolution image (visionthink, both).
        zooms: how many regions of the original the model was shown (zoom, both).
        zoom_boxes: those regions, ``[left, top, right, bottom]`` in original pixels.
        status: how the agent ended (``answered``, ``turn_limit`` ...).
        visual_tokens: the token account (``first_look``, ``high_res`` (the resized image and
            every crop), ``full_res_baseline``, ``used``, ``saved``, ``ratio``).
        usage: the model's reported ``input_tokens`` / ``output_tokens`` / ``total_tokens``.
        latency_s: wall time of the model part (the judge excluded).
        error: why the sample failed, when it did; such samples are retried on resume.
        metadata: the benchmark row's extra columns (e.g. ``category``).
    """

    sample_id: str
    mode: EvalMode
    question: str
    ground_truth: str
    prediction: str | None = None
    output: str | None = None
    correct: bool = False
    judge: dict[str, Any] = Field(default_factory=dict)
    resized: bool = False
    zooms: int = 0
    zoom_boxes: list[list[int]] = Field(default_factory=list)
    status: str | None = None
    visual_tokens: dict[str, Any] = Field(default_factory=dict)
    usage: dict[str, int] = Field(default_factory=dict)
    latency_s: float = 0.0
    error: str | None = None
    metadata: dict[str, Any] = Field(default_factory=dict)

    @property
    def key(self) -> tuple[str, str]:
        """``(mode, sample_id)``: what identifies a record in a run."""
        return (self.mode, self.sample_id)

    @property
    def high_res(self) -> bool:
        """The model saw any part of the image at full resolution after its first look."""
        return self.resized or self.zooms > 0

    @property
    def finished(self) -> bool:
        """Scored without an error (a resume skips it)."""
        return self.error is None


def append_record(path: Path, record: SampleRecord) -> None:
    """Append one record as a JSON line and flush it to disk.

    Example:
        >>> import tempfile
        >>> with tempfile.TemporaryDirectory() as tmp:
        ...     path = Path(tmp) / "r.jsonl"
        ...     append_record(path, SampleRecord(sample_id="a", mode="full", question="Q",
        ...                                      ground_truth="x"))
        ...     len(load_records(path))
        1
    """
    with path.open("a", encoding="utf-8") as handle:
        handle.write(record.model_dump_json() + "\n")
        handle.flush()


def load_records(path: Path) -> dict[tuple[str, str], SampleRecord]:
    """Read a records file; the last record per ``(mode, sample_id)`` wins.

    A last line cut short by an interruption is ignored; any other unreadable line is an error.

    Example:
        >>> load_records(Path("no-such-file.jsonl"))
        {}

    Raises:
        ValueError: a line other than the last is not a record.
    """
    if not path.exists():
        return {}
    lines = path.read_text(encoding="utf-8").splitlines()
    records: dict[tuple[str, str], SampleRecord] = {}
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            record = SampleRecord.model_validate(json.loads(line))
        except ValueError as exc:
            if number == len(lines):
                break  # torn write of an interrupted run
            raise ValueError(f"{path}:{number}: not a sample record: {exc}") from exc
        records[record.key] = record
    return records


def pending(
    samples: Sequence[Any],
    modes: Iterable[EvalMode],
    done: dict[tuple[str, str], SampleRecord],
) -> list[tuple[EvalMode, Any]]:
    """The ``(mode, sample)`` pairs still to run, checking the records match the samples.

    Args:
        samples: objects with ``id`` and ``question`` (:class:`~.benchmark.EvalSample`).
        modes: the modes of this run.
        done: records already on disk (:func:`load_records`).

    Example:
        >>> from visionthink_agent.benchmark import EvalSample
        >>> s = EvalSample("a", "x.png", "Q?", "1")
        >>> rec = SampleRecord(sample_id="a", mode="low", question="Q?", ground_truth="1")
        >>> [(m, x.id) for m, x in pending([s], ["low", "full"], {rec.key: rec})]
        [('full', 'a')]

    Raises:
        ResumeMismatchError: a finished record's question differs from the sample's.
    """
    todo: list[tuple[EvalMode, Any]] = []
    for mode in modes:
        for sample in samples:
            record = done.get((mode, sample.id))
            if record is not None and record.question != sample.question:
                raise ResumeMismatchError(
                    f"records hold sample {sample.id!r} with another question "
                    f"({record.question!r}); write to a fresh output folder or pass --no-resume"
                )
            if record is None or not record.finished:
                todo.append((mode, sample))
    return todo
