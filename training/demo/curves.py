"""Learning curves of the demo recipe, from a stage's ``metrics.jsonl``.

Example:
    >>> import json, tempfile
    >>> folder = Path(tempfile.mkdtemp())
    >>> rows = [{"kind": "train", "step": 10, "loss": 2.0},
    ...         {"kind": "val", "step": 10, "val_loss": 1.5, "vt_call": 0.5}]
    >>> _ = (folder / "m.jsonl").write_text("".join(json.dumps(r) + "\\n" for r in rows))
    >>> plot_learning_curves(folder / "m.jsonl", folder / "curve.png").name
    'curve.png'
"""

from __future__ import annotations

import json
from pathlib import Path

__all__ = ["ACCURACY_LABELS", "plot_learning_curves"]

ACCURACY_LABELS = {
    "vt_coarse_direct": "VisionThink coarse: direct answer",
    "vt_fine_direct": "VisionThink fine: direct answer (a guess)",
    "vt_call": "VisionThink: resize call",
    "vt_coarse_after_resize": "VisionThink coarse: answer after resize",
    "vt_fine_after_resize": "VisionThink fine: answer after resize",
    "full_coarse": "full-res one look, coarse",
    "full_fine": "full-res one look, fine",
    "low_coarse": "low-res one look, coarse",
    "low_fine": "low-res one look, fine",
}
"""The validation series plotted, with their legend labels."""


def plot_learning_curves(metrics: Path, out: Path, *, title: str = "Supervised warm start") -> Path:
    """Plot the loss (train and validation) and the validation accuracies against the step.

    Args:
        metrics: a ``metrics.jsonl`` (rows with ``kind`` ``train`` or ``val`` and ``step``).
        out: the PNG to write.
        title: the figure title.

    Returns:
        ``out``.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = [json.loads(line) for line in metrics.read_text(encoding="utf-8").splitlines() if line]
    train = [r for r in rows if r["kind"] == "train"]
    val = [r for r in rows if r["kind"] == "val"]
    fig, (loss_ax, acc_ax) = plt.subplots(1, 2, figsize=(12, 4.5))
    loss_ax.plot([r["step"] for r in train], [r["loss"] for r in train], label="train loss")
    loss_ax.plot([r["step"] for r in val], [r["val_loss"] for r in val], "o-", label="val loss")
    loss_ax.set_yscale("log")
    loss_ax.set_xlabel("optimiser step")
    loss_ax.set_ylabel("cross-entropy on assistant tokens")
    loss_ax.legend()
    loss_ax.grid(alpha=0.3)
    for key, label in ACCURACY_LABELS.items():
        points = [(r["step"], r[key]) for r in val if key in r]
        if points:
            style = "-" if key.startswith("vt") else "--"
            acc_ax.plot(*zip(*points, strict=True), style, marker=".", label=label)
    acc_ax.set_ylim(-0.02, 1.02)
    acc_ax.set_xlabel("optimiser step")
    acc_ax.set_ylabel("greedy turn exactly right (validation)")
    acc_ax.legend(fontsize=8, loc="lower right")
    acc_ax.grid(alpha=0.3)
    fig.suptitle(title)
    fig.tight_layout()
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, dpi=110)
    plt.close(fig)
    return out
