"""The lmms-eval model: request answering here; registration and a real run where lmms-eval is.

lmms-eval 0.7.3 cannot live in the project's environment (it pins older wandb, antlr4 and
math-verify), so the last test runs only in an environment that has it, e.g.
``/tmp/lmms-venv/bin/python -m pytest tests/evaluation/test_lmms_eval_model.py``.
"""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path

import pytest

from tests.evaluation.fakes import OracleVisionModel
from visionthink_agent.evaluation import SyntheticBenchmark, lmms_eval_model, load_benchmark
from visionthink_agent.evaluation.lmms_eval_model import answer_request
from visionthink_agent.graph import create_visionthink_agent
from visionthink_agent.images import load_image

HAS_LMMS_EVAL = importlib.util.find_spec("lmms_eval") is not None

TASK_YAML = """\
task: visionthink_synthetic
dataset_path: parquet
dataset_kwargs:
  data_files:
    test: {parquet}
test_split: test
output_type: generate_until
doc_to_visual: !function utils.doc_to_visual
doc_to_text: !function utils.doc_to_text
doc_to_target: answer
generation_kwargs:
  max_new_tokens: 16
metric_list:
  - metric: exact_match
    aggregation: mean
    higher_is_better: true
"""
TASK_UTILS = """\
import io
from PIL import Image
def doc_to_visual(doc):
    return [Image.open(io.BytesIO(doc["image"]["bytes"])).convert("RGB")]
def doc_to_text(doc):
    return "<image>\\n" + doc["question"]
"""


def test_a_request_runs_the_agent_and_returns_the_extracted_answer(
    synthetic: SyntheticBenchmark,
) -> None:
    assert synthetic.jsonl
    sample = load_benchmark(synthetic.jsonl)[0]  # fine detail: needs the resize
    model = OracleVisionModel(answers={sample.question: (sample.answer, True)}, full_width=448)
    agent = create_visionthink_agent(model).compile()
    image = load_image(sample.image).decode()
    assert answer_request(agent, f"<image>\n{sample.question}", [image]) == sample.answer
    assert model.calls == 2  # first look, then the resize turn
    with pytest.raises(ValueError, match="exactly one image; the request has 2"):
        answer_request(agent, sample.question, [image, image])
    with pytest.raises(ValueError, match="the request has 0"):
        answer_request(agent, sample.question, [None])


@pytest.mark.skipif(HAS_LMMS_EVAL, reason="checks the behaviour without lmms-eval")
def test_the_module_imports_without_lmms_eval_and_names_it_when_needed() -> None:
    with pytest.raises(ModuleNotFoundError, match="lmms_eval"):
        lmms_eval_model.VisionThinkLMM  # noqa: B018


@pytest.mark.slow
@pytest.mark.skipif(not HAS_LMMS_EVAL, reason="lmms-eval is not installed in this environment")
def test_lmms_eval_runs_the_registered_model(synthetic: SyntheticBenchmark, tmp_path: Path) -> None:
    from lmms_eval.models import get_model

    assert get_model("visionthink") is lmms_eval_model.VisionThinkLMM
    tasks = tmp_path / "tasks"
    tasks.mkdir()
    (tasks / "visionthink_synthetic.yaml").write_text(TASK_YAML.format(parquet=synthetic.parquet))
    (tasks / "utils.py").write_text(TASK_UTILS)
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "lmms_eval",
            "--model",
            "visionthink",
            "--model_args",
            "model=tiny,max_new_tokens=16",
            "--tasks",
            "visionthink_synthetic",
            "--include_path",
            str(tasks),
            "--limit",
            "2",
            "--batch_size",
            "1",
            "--output_path",
            str(tmp_path / "out"),
        ],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
        env={"HF_DATASETS_OFFLINE": "1", "HF_HUB_OFFLINE": "1", "PATH": "/usr/bin:/bin"},
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert "|visionthink_synthetic|" in done.stdout
    assert "exact_match" in done.stdout
