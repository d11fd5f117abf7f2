"""The run's picture: accuracy against visual tokens (as % of full resolution), one point a mode.

Every mode of the run is on the one chart: the fixed-resolution baselines (``full``, ``low``) and
the agent in each tool mode (``visionthink`` resizes, ``zoom`` crops regions, ``both`` chooses).

Example:
    >>> import tempfile
    >>> from pathlib import Path
    >>> from visionthink_agent.evaluation.summary import ModeSummary
    >>> s = ModeSummary("low", 4, 0, 0.5, 0.0, 192.0, 25.0, 0.1, 0.2)
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     plot_accuracy_vs_tokens([s], Path(tmp) / "p.png").read_bytes()[:4]
    b'\\x89PNG'
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from visionthink_agent.evaluation.summary import ModeSummary

__all__ = ["plot_accuracy_vs_tokens"]

_STYLE = {  # colour, marker, marker size (area), name
    "full": ("#1f77b4", "s", 260, "full resolution"),
    "visionthink": ("#2ca02c", "o", 150, "VisionThink (resize on demand)"),
    "zoom": ("#d62728", "D", 110, "zoom (regions on demand)"),
    "both": ("#9467bd", "h", 85, "resize or zoom (model's choice)"),
    "low": ("#ff7f0e", "v", 60, "first look only (1/4 pixels)"),
}
"""Hollow markers of decreasing size: points that coincide nest inside each other."""
_NEAR = 4.0
"""Points closer than this (in percentage points on both axes) get their labels stacked."""


def _axis_limit(values: Sequence[float]) -> float:
    """The x-axis end: 100 % (the full-resolution baseline) or the largest value, plus a margin.

    Example:
        >>> _axis_limit([25.0, 100.0]), _axis_limit([25.0, 125.0])
        (110.0, 137.5)
    """
    return round(1.1 * max(100.0, *values), 3)


def _requests(s: ModeSummary) -> str:
    """What the legend adds for an agent mode: how often it resized and zoomed.

    Example:
        >>> _requests(ModeSummary("both", 4, 0, 1.0, 0.25, 100.0, 50.0, 0.1, 0.2,
        ...                       zoom_ratio=0.5, zooms_mean=0.75))
        ', resized 25%, zoomed 50% (0.75 regions/q)'
        >>> _requests(ModeSummary("full", 4, 0, 1.0, 0.0, 100.0, 100.0, 0.1, 0.2))
        ''
    """
    text = ""
    if s.mode in ("visionthink", "both"):
        text += f", resized {100 * s.resize_ratio:.0f}%"
    if s.mode in ("zoom", "both"):
        text += f", zoomed {100 * s.zoom_ratio:.0f}% ({s.zooms_mean:.2f} regions/q)"
    return text


def plot_accuracy_vs_tokens(
    summaries: Sequence[ModeSummary], path: str | Path, *, title: str = "Accuracy vs visual tokens"
) -> Path:
    """Draw accuracy (%) against visual tokens (% of full-res) per mode and save a PNG.

    The legend gives each mode's numbers (and, for the agent modes, how often it resized and
    zoomed); each point is labelled with its mode, and labels of points that (nearly) coincide
    are stacked, so every mode stays readable. The x axis ends just past 100 % or the largest
    value.

    Args:
        summaries: the run's per-mode summaries (:func:`~.summary.summarize`).
        path: where to write the PNG (folders are created).
        title: the figure title (e.g. the benchmark and model names).

    Returns:
        The path written.

    Raises:
        ValueError: no summaries to plot.
    """
    if not summaries:
        raise ValueError("nothing to plot: the run has no records")
    import matplotlib

    matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6.4, 5.0), dpi=120)
    placed: list[tuple[float, float]] = []
    for s in summaries:
        color, marker, size, name = _STYLE.get(s.mode, ("#7f7f7f", "D", 100, s.mode))
        x, y = s.visual_tokens_pct, 100 * s.accuracy
        label = f"{name}: {y:.1f}% accuracy @ {x:.0f}% tokens{_requests(s)}"
        ax.scatter(
            [x], [y], s=size, marker=marker, facecolors="none", edgecolors=color,
            linewidths=2, label=label, zorder=3,
        )  # fmt: skip
        stacked = sum(abs(x - px) < _NEAR and abs(y - py) < _NEAR for px, py in placed)
        placed.append((x, y))
        ax.annotate(
            s.mode, (x, y), xytext=(13, 8 - 13 * stacked), textcoords="offset points",
            color=color, fontsize=8, va="center",
        )  # fmt: skip
    ax.set_xlabel("visual tokens used (% of full resolution)")
    ax.set_ylabel("accuracy (%)")
    ax.set_xlim(0, _axis_limit([s.visual_tokens_pct for s in summaries]))
    ax.set_ylim(-5, 105)
    ax.grid(True, alpha=0.3)
    n = max(s.samples for s in summaries)
    ax.set_title(f"{title} (n={n})", fontsize=10)
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.14), fontsize=8, frameon=False)
    fig.tight_layout()
    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out)
    plt.close(fig)
    return out
