"""``python -m training.demo``: train the demo model from scratch on this machine.

::

    python -m training.demo                       # data + supervised warm start (stage 1)
    python -m training.demo --stage label         # label the GRPO data by measured need
    python -m training.demo --stage grpo          # stage 2: GRPO through veRL on the CPU
    python -m training.demo --stage grpo --penalty paper --grpo-seed 1 --ship

Everything goes under ``--out`` (default ``runs/demo``): ``data/`` (train and validation splits,
``train.parquet`` for veRL), ``init/`` (random weights), ``sft/`` (resumable ``checkpoint-N``,
``metrics.jsonl``, ``learning_curve.png``, ``final/``), ``data/need/`` (the measured-need
labels and the GRPO parquet), ``grpo-<penalty>-seed<N>/`` (one GRPO run). An interrupted run
continues from its last checkpoint when started again with the same settings.

Example:
    >>> build_parser().parse_args([]).stage
    'sft'
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Sequence
from pathlib import Path

from training.demo.config import DemoConfig
from training.demo.grpo_stage import GRPOSettings

__all__ = ["build_parser", "main"]

STAGES = ("sft", "label", "grpo", "all")


def build_parser() -> argparse.ArgumentParser:
    """The command's arguments (defaults: the shipped model's recipe).

    Example:
        >>> build_parser().parse_args(["--stage", "all", "--epochs", "1"]).epochs
        1.0
    """
    defaults = DemoConfig(out_dir=Path("runs/demo"))
    parser = argparse.ArgumentParser(
        prog="python -m training.demo",
        description=(__doc__ or "").split("Example:")[0],
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--stage", choices=STAGES, default="sft", help="what to run (default sft)")
    parser.add_argument("--out", type=Path, default=defaults.out_dir, help="run folder")
    parser.add_argument("--seed", type=int, default=defaults.seed)
    parser.add_argument("--train-samples", type=int, default=defaults.train_samples)
    parser.add_argument("--epochs", type=float, default=defaults.epochs)
    parser.add_argument("--batch-size", type=int, default=defaults.batch_size)
    parser.add_argument("--lr", type=float, default=defaults.learning_rate)
    parser.add_argument(
        "--resize-rate",
        type=float,
        default=defaults.resize_rate,
        help="share of warm-start VisionThink conversations that resize (coarse and fine alike)",
    )
    parser.add_argument(
        "--tool-mode",
        choices=("resize", "zoom"),
        default=defaults.tool_mode,
        help="the high-resolution request to learn: resize (shipped model) or zoom (a region)",
    )
    grpo = GRPOSettings()
    parser.add_argument(
        "--grpo-steps",
        type=int,
        default=grpo.steps,
        help="GRPO steps (a larger number continues a finished stage from its last checkpoint)",
    )
    parser.add_argument("--grpo-lr", type=float, default=grpo.learning_rate, help="GRPO actor lr")
    parser.add_argument(
        "--grpo-seed", type=int, default=grpo.seed, help="GRPO data order and rollout seed"
    )
    parser.add_argument(
        "--prompts-per-step",
        type=int,
        default=grpo.prompts_per_step,
        help=f"GRPO prompts a step ({grpo.rollouts} rollouts each)",
    )
    parser.add_argument(
        "--penalty",
        choices=("released", "paper"),
        default=grpo.penalty,
        help="the group penalty's semantics: the authors' code or the paper's Eq. 5",
    )
    parser.add_argument(
        "--need-k",
        type=int,
        default=defaults.need_k,
        help="answers sampled per resolution when labelling by measured need",
    )
    parser.add_argument("--eval-every", type=int, default=defaults.eval_every)
    parser.add_argument("--save-every", type=int, default=defaults.save_every)
    parser.add_argument("--threads", type=int, default=defaults.threads, help="torch CPU threads")
    parser.add_argument(
        "--name-question",
        action=argparse.BooleanOptionalAction,
        default=defaults.name_question,
        help="the first-look thought names what is asked before the resize-or-answer choice",
    )
    parser.add_argument(
        "--init-from",
        type=Path,
        default=None,
        help="start the supervised stage from this checkpoint instead of random weights",
    )
    parser.add_argument("--no-resume", action="store_true", help="start the stage afresh")
    parser.add_argument(
        "--ship",
        action="store_true",
        help="copy the final checkpoint into the package (what --model demo loads)",
    )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the chosen stages; prints a one-line summary per stage. Returns the exit code."""
    args = build_parser().parse_args(argv)
    cfg = DemoConfig(
        out_dir=args.out,
        seed=args.seed,
        train_samples=args.train_samples,
        epochs=args.epochs,
        batch_size=args.batch_size,
        learning_rate=args.lr,
        resize_rate=args.resize_rate,
        tool_mode=args.tool_mode,
        need_k=args.need_k,
        eval_every=args.eval_every,
        save_every=args.save_every,
        threads=args.threads,
        name_question=args.name_question,
        init_from=args.init_from,
    )
    if args.ship and args.tool_mode != "resize":
        print("error: --ship copies the resize model (what --model demo loads)", file=sys.stderr)
        return 2
    from training.demo.recipe import label_need, prepare_data, run_grpo, ship

    final = cfg.sft_final
    if args.stage in ("sft", "all"):
        from training.demo.sft import run_sft

        start = time.perf_counter()
        data = prepare_data(cfg)
        how = "reused" if data.reused else "written"
        print(
            f"data: {data.train_rows} train / {data.val_rows} val samples {how} in "
            f"{time.perf_counter() - start:.0f} s; veRL parquet {data.parquet}"
        )
        result = run_sft(cfg, resume=not args.no_resume)
        shown = " ".join(f"{k}={v:.2f}" for k, v in result.metrics.items())
        print(
            f"sft: {result.steps} steps in {result.seconds / 60:.1f} min; val {shown} "
            f"-> {result.checkpoint}"
        )
    if args.stage in ("label", "all"):
        start = time.perf_counter()
        try:
            split = label_need(cfg)
        except FileNotFoundError as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 2
        shown = ", ".join(
            f"{name} {row['first_look']}/{row['needs_full']}/{row['unsolved']} "
            f"(resizes {row['resize_rate']:.2f})"
            for name, row in split.items()
        )
        print(
            f"label: first look / needs full / unsolved per category: {shown} "
            f"({time.perf_counter() - start:.0f} s) -> {cfg.grpo_parquet}"
        )
    if args.stage in ("grpo", "all"):
        try:
            settings = GRPOSettings(
                steps=args.grpo_steps,
                learning_rate=args.grpo_lr,
                prompts_per_step=args.prompts_per_step,
                penalty=args.penalty,
                seed=args.grpo_seed,
            )
            final = run_grpo(cfg, settings)
        except (FileNotFoundError, RuntimeError) as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 2
    if args.ship:
        print(f"shipped {final} -> {ship(final)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
