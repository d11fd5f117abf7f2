"""Evaluation: the mode runner, records, summaries and plots.

The benchmark reader (:mod:`visionthink_agent.benchmark`) and the synthetic task
(:mod:`visionthink_agent.synthetic`) live below evaluation, since training and the benchmarks
read them too; they are re-exported here, so ``from visionthink_agent.evaluation import
load_benchmark, make_synthetic_samples`` keeps working.

``visionthink eval`` (see :mod:`visionthink_agent.cli.eval_command`) is the command-line face of
:func:`run_evaluation`.

Example:
    >>> from visionthink_agent.evaluation import DEFAULT_MODES, MODES, make_synthetic_samples
    >>> MODES, DEFAULT_MODES, make_synthetic_samples(2)[1].needs_high_res
    (('visionthink', 'zoom', 'both', 'full', 'low'), ('visionthink', 'full', 'low'), False)
"""

from visionthink_agent.benchmark import BenchmarkError, EvalSample, load_benchmark
from visionthink_agent.evaluation.modes import ModeOutcome, run_single_look, run_visionthink
from visionthink_agent.evaluation.plot import plot_accuracy_vs_tokens
from visionthink_agent.evaluation.records import (
    AGENT_TOOL_MODES,
    DEFAULT_MODES,
    MODES,
    EvalMode,
    ResumeMismatchError,
    SampleRecord,
    load_records,
)
from visionthink_agent.evaluation.runner import EvalRun, Judge, run_evaluation
from visionthink_agent.evaluation.scripted import ScriptedVisionModel
from visionthink_agent.evaluation.summary import ModeSummary, summarize, summary_table
from visionthink_agent.images import model_bbox
from visionthink_agent.synthetic import (
    SyntheticBenchmark,
    make_synthetic_samples,
    write_synthetic_benchmark,
)

__all__ = [
    "AGENT_TOOL_MODES",
    "DEFAULT_MODES",
    "MODES",
    "BenchmarkError",
    "EvalMode",
    "EvalRun",
    "EvalSample",
    "Judge",
    "ModeOutcome",
    "ModeSummary",
    "ResumeMismatchError",
    "SampleRecord",
    "ScriptedVisionModel",
    "SyntheticBenchmark",
    "load_benchmark",
    "load_records",
    "make_synthetic_samples",
    "model_bbox",
    "plot_accuracy_vs_tokens",
    "run_evaluation",
    "run_single_look",
    "run_visionthink",
    "summarize",
    "summary_table",
    "write_synthetic_benchmark",
]
