"""Stage 2 of the demo recipe: GRPO from the warm-started model, through the real entry point.

``python training/main_ppo.py --config-name visionthink_cpu`` runs with the stage-1 checkpoint as
the policy (and KL reference), the demo preset's veRL parquet as data, and the ``exact-match``
judge (closed-set answers). The agent loop, the ``resize_image`` tool, the reward and the θ-gated
group penalty decide when resizing pays. This module streams veRL's ``step:N`` lines into a
progress bar and ``metrics.jsonl``, plots the learning curves (reward, accuracy, resize ratio on
fine and coarse questions), and leaves the final policy as a Hugging Face checkpoint in
``final/`` (processor files copied from the starting checkpoint). veRL checkpoints every
``save_every`` steps under ``checkpoints/``, and a re-run with the same folder resumes there.

Example:
    >>> settings = GRPOSettings(steps=4)  # defaults: the shipped model's 10 steps of 12 x 8
    >>> "trainer.total_training_steps=4" in grpo_overrides(
    ...     settings, Path("sft"), Path("t.parquet"), Path("v.parquet"), Path("out"))
    True
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

from training.step_log import parse_step_lines

__all__ = ["CURVES", "GRPOSettings", "grpo_overrides", "plot_grpo_curves", "run_grpo_stage"]

ENTRY_POINT = Path(__file__).resolve().parents[1] / "main_ppo.py"
CURVES = {
    "critic/score/mean": "reward (acc + 0.5·format − penalty)",
    "visionthink/accuracy_reward": "accuracy reward",
    "visionthink/format_reward": "format reward",
    "visionthink/resize_ratio/fine": "resize ratio, fine questions",
    "visionthink/resize_ratio/coarse": "resize ratio, coarse questions",
    "visionthink/penalty/penalised_fraction": "penalised share",
}
"""The per-step series plotted, with their legend labels."""
_PROCESSOR_FILES = (
    "preprocessor_config.json",
    "processor_config.json",
    "video_preprocessor_config.json",
    "chat_template.jinja",
    "chat_template.json",
    "tokenizer.json",
    "tokenizer_config.json",
    "special_tokens_map.json",
    "generation_config.json",
)


@dataclass(frozen=True)
class GRPOSettings:
    """The GRPO stage's knobs (the rest is ``visionthink_cpu.yaml``).

    Attributes:
        steps: training steps.
        prompts_per_step: prompts a step (``data.train_batch_size``, one mini-batch).
        rollouts: rollouts per prompt (GRPO group size ``n``).
        learning_rate: actor learning rate (constant).
        temperature: rollout sampling temperature.
        max_response_length: tokens of both model turns plus the tool turn.
        save_every: steps between resumable checkpoints.
        judge_model: ``exact-match`` (offline, closed-set answers) or an LLM judge's model.
        judge_base_url: the LLM judge's OpenAI-compatible URL (None: the config's).
        penalty: the group penalty's semantics (``visionthink.penalty.semantics``):
            ``released`` (the authors' code) or ``paper`` (Eq. 5).
        seed: seed of the data order and the rollouts (``data.seed``,
            ``actor_rollout_ref.rollout.seed``).
    """

    steps: int = 10
    prompts_per_step: int = 12
    rollouts: int = 8
    learning_rate: float = 3e-4
    temperature: float = 1.0
    max_response_length: int = 512
    save_every: int = 10
    judge_model: str = "exact-match"
    judge_base_url: str | None = None
    penalty: Literal["released", "paper"] = "released"
    seed: int = 0

    @property
    def name(self) -> str:
        """The run's folder name under the recipe's output, e.g. ``grpo-released-seed0``."""
        return f"grpo-{self.penalty}-seed{self.seed}"


def grpo_overrides(
    settings: GRPOSettings, start: Path, train: Path, val: Path, out_dir: Path
) -> list[str]:
    """The hydra overrides of the stage's ``main_ppo.py`` run."""
    save_every = max(1, min(settings.save_every, settings.steps))
    return [
        f"actor_rollout_ref.model.path={start}",
        f"data.train_files={train}",
        f"data.val_files={val}",
        f"data.train_batch_size={settings.prompts_per_step}",
        f"data.max_response_length={settings.max_response_length}",
        f"actor_rollout_ref.actor.ppo_mini_batch_size={settings.prompts_per_step}",
        f"actor_rollout_ref.actor.optim.lr={settings.learning_rate}",
        f"actor_rollout_ref.rollout.n={settings.rollouts}",
        f"actor_rollout_ref.rollout.temperature={settings.temperature}",
        f"reward.custom_reward_function.reward_kwargs.judge.model={settings.judge_model}",
        *(
            [
                f"reward.custom_reward_function.reward_kwargs.judge.base_url={settings.judge_base_url}"
            ]
            if settings.judge_base_url
            else []
        ),
        f"visionthink.penalty.semantics={settings.penalty}",
        f"data.seed={settings.seed}",
        f"actor_rollout_ref.rollout.seed={settings.seed}",
        f"trainer.total_training_steps={settings.steps}",
        f"trainer.save_freq={save_every}",
        f"trainer.default_local_dir={out_dir / 'checkpoints'}",
        "trainer.resume_mode=auto",
        "actor_rollout_ref.actor.checkpoint.save_contents=[model,optimizer,extra,hf_model]",
        f"hydra.run.dir={out_dir / 'hydra'}",
    ]


def _series(rows: Sequence[dict[str, float]], key: str) -> list[tuple[int, float]]:
    return [(int(r["step"]), r[key]) for r in rows if key in r and r[key] == r[key]]


def plot_grpo_curves(metrics: Path, out: Path) -> Path:
    """Plot a ``metrics.jsonl`` against the step; returns ``out``.

    Three panels: the :data:`CURVES` rewards; the resize ratio per question category
    (``visionthink/by_category/<c>/resize_ratio``, the decision GRPO has to learn); the share of
    each category's groups that the penalty touched.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = [json.loads(line) for line in metrics.read_text(encoding="utf-8").splitlines() if line]
    categories = sorted(
        {k.split("/")[2] for r in rows for k in r if k.startswith("visionthink/by_category/")}
    )
    fig, (reward_ax, resize_ax, penalty_ax) = plt.subplots(1, 3, figsize=(17, 4.5))
    for key, label in CURVES.items():
        points = _series(rows, key)
        if points and "resize" not in key:
            axis = penalty_ax if "penal" in key else reward_ax
            axis.plot(*zip(*points, strict=True), marker=".", label=label)
    for category in categories or ["fine", "coarse"]:
        by = f"visionthink/by_category/{category}"
        resize = _series(rows, f"{by}/resize_ratio") or _series(
            rows, f"visionthink/resize_ratio/{category}"
        )
        if resize:
            resize_ax.plot(*zip(*resize, strict=True), marker=".", label=category)
        penalised = _series(rows, f"{by}/penalised_groups")
        if penalised:
            penalty_ax.plot(*zip(*penalised, strict=True), marker=".", label=f"{category} groups")
    panels = (
        (reward_ax, "mean over the step's rollouts", "reward"),
        (resize_ax, "resize ratio", "resize ratio per category"),
        (penalty_ax, "share", "penalised by the group penalty"),
    )
    for axis, ylabel, title in panels:
        axis.set_xlabel("GRPO step")
        axis.set_ylabel(ylabel)
        axis.set_title(title, fontsize=10)
        axis.grid(alpha=0.3)
        axis.legend(fontsize=8)
    resize_ax.set_ylim(-0.02, 1.02)
    penalty_ax.set_ylim(-0.02, 1.02)
    fig.suptitle(f"GRPO with the group penalty (CPU, visionthink_cpu): {metrics.parent.name}")
    fig.tight_layout()
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, dpi=110)
    plt.close(fig)
    return out


def _final_checkpoint(out_dir: Path, start: Path, steps: int) -> Path:
    saved = out_dir / "checkpoints" / f"global_step_{steps}" / "actor" / "huggingface"
    if not (saved / "config.json").is_file():
        raise FileNotFoundError(f"veRL saved no Hugging Face checkpoint at {saved}")
    final = out_dir / "final"
    if final.exists():
        shutil.rmtree(final)
    shutil.copytree(saved, final)
    for name in _PROCESSOR_FILES:
        if (start / name).is_file() and not (final / name).is_file():
            shutil.copy2(start / name, final / name)
    return final


def _step_summary(values: dict[str, float]) -> str:
    nan = float("nan")
    shown = " ".join(
        f"{key.split('/')[2]} {value:.2f}"
        for key, value in sorted(values.items())
        if key.startswith("visionthink/by_category/") and key.endswith("/resize_ratio")
    )
    return f"acc {values.get('visionthink/accuracy_reward', nan):.2f}  resize {shown}"


def run_grpo_stage(
    start: Path,
    train: Path,
    val: Path,
    out_dir: Path,
    settings: GRPOSettings,
    *,
    extra_overrides: Sequence[str] = (),
) -> Path:
    """Run GRPO from ``start`` and return the final checkpoint folder.

    Raises:
        RuntimeError: the training run failed (the message holds the end of its log).
    """
    out_dir.mkdir(parents=True, exist_ok=True)
    command = [
        sys.executable,
        str(ENTRY_POINT),
        "--config-name",
        "visionthink_cpu",
        *grpo_overrides(settings, start, train, val, out_dir),
        *extra_overrides,
    ]
    log_path, metrics_path = out_dir / "train.log", out_dir / "metrics.jsonl"
    seen: set[int] = set()
    with (
        log_path.open("a", encoding="utf-8") as log,
        metrics_path.open("a", encoding="utf-8") as metrics,
        Progress(
            TextColumn("GRPO"),
            BarColumn(),
            TextColumn("{task.completed}/{task.total} steps"),
            TextColumn("{task.description}"),
            TimeElapsedColumn(),
        ) as progress,
    ):
        task = progress.add_task("", total=settings.steps)
        process = subprocess.Popen(
            command, cwd=out_dir, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
        )
        assert process.stdout is not None
        tail: list[str] = []
        for line in process.stdout:
            log.write(line)
            tail = [*tail[-199:], line]
            for step, values in parse_step_lines(line).items():
                if step in seen:
                    continue
                seen.add(step)
                metrics.write(json.dumps({"step": step, **values}) + "\n")
                metrics.flush()
                progress.update(task, completed=step, description=_step_summary(values))
        if process.wait() != 0:
            raise RuntimeError(f"GRPO run failed (log: {log_path}):\n{''.join(tail[-40:])}")
    plot_grpo_curves(metrics_path, out_dir / "learning_curve.png")
    return _final_checkpoint(out_dir, start, settings.steps)
