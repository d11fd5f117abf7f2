"""Summary statistics of an evaluation run, per mode, and the rich table that prints them.

``visual_tokens_pct`` is the total visual tokens the mode put in the model's context over the
total the same samples cost at full resolution (``sum(used) / sum(full_res_baseline)``), the
measure the VisionThink paper reports; ``resize_ratio`` is the share of samples whose trajectory
got the whole high-resolution image (protocol §6), ``zoom_ratio`` the share that got at least one
region of it, ``zooms_mean`` the regions per sample, and ``high_res_ratio`` the share that got
either.

Example:
    >>> from visionthink_agent.evaluation.records import SampleRecord
    >>> recs = [SampleRecord(sample_id=str(i), mode="low", question="Q", ground_truth="1",
    ...                      correct=i < 3, latency_s=float(i),
    ...                      visual_tokens={"used": 25, "full_res_baseline": 100})
    ...         for i in range(4)]
    >>> s = summarize(recs)[0]
    >>> s.mode, s.accuracy, s.visual_tokens_pct, s.latency_p50_s
    ('low', 0.75, 25.0, 1.5)
    >>> sorted(summary_document([s], {"model": "tiny"}))
    ['modes', 'settings']
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from visionthink_agent.evaluation.records import MODES, SampleRecord

__all__ = [
    "ModeSummary",
    "percentile",
    "summarize",
    "summary_document",
    "summary_table",
    "write_summary",
]


def percentile(values: Sequence[float], q: float) -> float:
    """The ``q``-th percentile (0–100) with linear interpolation (numpy's default).

    Example:
        >>> percentile([1.0, 2.0, 3.0, 4.0], 50), percentile([1.0, 2.0, 3.0, 4.0], 95)
        (2.5, 3.85)
        >>> percentile([], 50)
        0.0
    """
    if not values:
        return 0.0
    ordered = sorted(values)
    rank = (len(ordered) - 1) * q / 100
    low, high = math.floor(rank), math.ceil(rank)
    return round(ordered[low] + (ordered[high] - ordered[low]) * (rank - low), 6)


@dataclass(frozen=True)
class ModeSummary:
    """Aggregates of one mode over a run.

    Attributes:
        mode: the evaluation mode.
        samples: records counted (errors included).
        errors: samples that failed (counted as wrong).
        accuracy: share judged correct.
        resize_ratio: share of samples that got the whole high-resolution image.
        visual_tokens_mean: mean visual tokens in context per sample.
        visual_tokens_pct: total visual tokens as a percentage of always-full-resolution.
        latency_p50_s: median model latency.
        latency_p95_s: 95th percentile model latency.
        by_category: per ``category`` metadata value, when present: samples, accuracy, the
            three high-resolution shares and the mean visual tokens.
        by_need: the same per need label, ``needs_full`` / ``first_look``: the measured label
            (``use_tool``, from rollouts of a reference model, as the VisionThink authors
            labelled their data) where a row has one, else the generator's ``needs_high_res``.
        zoom_ratio: share of samples that got at least one zoomed-in region.
        zooms_mean: zoomed-in regions per sample.
        high_res_ratio: share of samples that got any high-resolution view (whole or region).
        no_answer: samples whose final turn held no answer (status ``no_answer``: empty,
            ``<think>`` only, a stray ``</answer>``); they count as wrong.
    """

    mode: str
    samples: int
    errors: int
    accuracy: float
    resize_ratio: float
    visual_tokens_mean: float
    visual_tokens_pct: float
    latency_p50_s: float
    latency_p95_s: float
    by_category: dict[str, dict[str, float]] = field(default_factory=dict)
    by_need: dict[str, dict[str, float]] = field(default_factory=dict)
    zoom_ratio: float = 0.0
    zooms_mean: float = 0.0
    high_res_ratio: float = 0.0
    no_answer: int = 0

    def as_dict(self) -> dict[str, Any]:
        """Plain data for ``summary.json``."""
        return asdict(self)


def _share(flags: Iterable[bool]) -> float:
    values = list(flags)
    return round(sum(values) / len(values), 6) if values else 0.0


def _used(records: Sequence[SampleRecord]) -> int:
    return sum(r.visual_tokens.get("used", 0) for r in records)


def _need(record: SampleRecord) -> str | None:
    label = record.metadata.get("use_tool")
    if label is None:
        label = record.metadata.get("needs_high_res")
    return None if label is None else ("needs_full" if label else "first_look")


def _groups(records: Sequence[SampleRecord], key: Any) -> dict[str, dict[str, float]]:
    groups: dict[str, list[SampleRecord]] = {}
    for record in records:
        name = key(record)
        if name is not None:
            groups.setdefault(str(name), []).append(record)
    return {
        name: {
            "samples": len(group),
            "accuracy": _share(r.correct for r in group),
            "resize_ratio": _share(r.resized for r in group),
            "zoom_ratio": _share(r.zooms > 0 for r in group),
            "high_res_ratio": _share(r.high_res for r in group),
            "visual_tokens_mean": round(_used(group) / len(group), 3),
        }
        for name, group in sorted(groups.items())
    }


def _summarize_mode(mode: str, records: list[SampleRecord]) -> ModeSummary:
    used = _used(records)
    baseline = sum(r.visual_tokens.get("full_res_baseline", 0) for r in records)
    latencies = [r.latency_s for r in records if r.error is None]
    return ModeSummary(
        mode=mode,
        samples=len(records),
        errors=sum(r.error is not None for r in records),
        accuracy=_share(r.correct for r in records),
        resize_ratio=_share(r.resized for r in records),
        visual_tokens_mean=round(used / len(records), 3),
        visual_tokens_pct=round(100 * used / baseline, 3) if baseline else 0.0,
        latency_p50_s=percentile(latencies, 50),
        latency_p95_s=percentile(latencies, 95),
        by_category=_groups(records, lambda r: r.metadata.get("category")),
        by_need=_groups(records, _need),
        zoom_ratio=_share(r.zooms > 0 for r in records),
        zooms_mean=round(sum(r.zooms for r in records) / len(records), 3),
        high_res_ratio=_share(r.high_res for r in records),
        no_answer=sum(r.status == "no_answer" for r in records),
    )


def summarize(records: Iterable[SampleRecord]) -> list[ModeSummary]:
    """One :class:`ModeSummary` per mode present, in the order of :data:`MODES`.

    Example:
        >>> summarize([])
        []
    """
    by_mode: dict[str, list[SampleRecord]] = {}
    for record in records:
        by_mode.setdefault(record.mode, []).append(record)
    return [_summarize_mode(mode, by_mode[mode]) for mode in MODES if mode in by_mode]


def summary_document(
    summaries: Sequence[ModeSummary], settings: Mapping[str, Any] | None = None
) -> dict[str, Any]:
    """What ``summary.json`` holds: the run's settings and one summary per mode.

    ``settings`` is what the caller knows (model, backend, judge, max tokens, data ...); the
    package version and the time are added, so a summary read later says how it was made.

    Example:
        >>> doc = summary_document([], {"model": "tiny", "judge": "rules"})
        >>> doc["settings"]["model"], doc["settings"]["package_version"], doc["modes"]
        ('tiny', '0.1.0', [])
    """
    from visionthink_agent import __version__

    return {
        "settings": {
            **(settings or {}),
            "package_version": __version__,
            "written_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        },
        "modes": [s.as_dict() for s in summaries],
    }


def write_summary(
    path: str | Path, summaries: Sequence[ModeSummary], settings: Mapping[str, Any] | None = None
) -> Path:
    """Write :func:`summary_document` as JSON; returns the path.

    Example:
        >>> import tempfile
        >>> with tempfile.TemporaryDirectory() as tmp:
        ...     path = write_summary(Path(tmp) / "s.json", [], {"model": "m"})
        ...     json.loads(path.read_text())["modes"]
        []
    """
    out = Path(path)
    out.write_text(json.dumps(summary_document(summaries, settings), indent=2) + "\n", "utf-8")
    return out


def summary_table(summaries: Sequence[ModeSummary], title: str = "Evaluation") -> Any:
    """A ``rich`` table of the summaries (print it with a ``rich.console.Console``).

    Example:
        >>> summary_table([]).columns[0].header
        'mode'
    """
    from rich.table import Table

    table = Table(title=title)
    headers = ("mode", "n", "accuracy", "high-res", "resized", "zooms/q", "vis. tokens")
    for header in (*headers, "% full-res", "p50/p95 s", "errors"):
        table.add_column(header, justify="left" if header == "mode" else "right")
    for s in summaries:
        table.add_row(
            s.mode,
            str(s.samples),
            f"{100 * s.accuracy:.1f}%",
            f"{100 * s.high_res_ratio:.1f}%",
            f"{100 * s.resize_ratio:.1f}%",
            f"{s.zooms_mean:.2f}",
            f"{s.visual_tokens_mean:.0f}",
            f"{s.visual_tokens_pct:.1f}%",
            f"{s.latency_p50_s:.2f}/{s.latency_p95_s:.2f}",
            str(s.errors),
        )
    return table
