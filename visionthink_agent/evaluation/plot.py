"""The run's picture: accuracy against visual tokens (as % of full resolution), one point a mode.

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

_STYLE = {  # colour, marker, name; the numbers go in the legend, so coinciding points stay legible
    "full": ("#1f77b4", "s", "full resolution"),
    "low": ("#ff7f0e", "v", "first look only (1/4 pixels)"),
    "visionthink": ("#2ca02c", "o", "VisionThink (resize on demand)"),
}


def plot_accuracy_vs_tokens(
    summaries: Sequence[ModeSummary], path: str | Path, *, title: str = "Accuracy vs visual tokens"
) -> Path:
    """Draw accuracy (%) against visual tokens (% of full-res) per mode and save a PNG.

    The legend gives each mode's numbers (and, for VisionThink, the resize ratio).

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
    for s in summaries:
        color, marker, name = _STYLE.get(s.mode, ("#7f7f7f", "D", s.mode))
        x, y = s.visual_tokens_pct, 100 * s.accuracy
        label = f"{name}: {y:.1f}% accuracy @ {x:.0f}% tokens"
        if s.mode == "visionthink":
            label += f", resized {100 * s.resize_ratio:.0f}%"
        ax.scatter([x], [y], s=110, color=color, marker=marker, label=label, zorder=3, alpha=0.85)
    ax.set_xlabel("visual tokens used (% of full resolution)")
    ax.set_ylabel("accuracy (%)")
    ax.set_xlim(0, max(140.0, *(s.visual_tokens_pct + 15 for s in summaries)))
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
