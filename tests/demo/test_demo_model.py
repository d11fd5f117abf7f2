"""The shipped demo model: small, loadable by the stock classes, and it really answers.

It decides: a fixed coarse sample of the evaluation split (seed 0, never seen in training) is
answered correctly from the first look with no resize, and a fixed fine one correctly after one
``resize_image`` call and the full image, through the real LangGraph agent
(``benchmarks/results/demo_model.json`` has the measured rates on 200 held-out samples).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from transformers import AutoModelForImageTextToText, AutoProcessor

from visionthink_agent.backends.demo import demo_checkpoint_dir
from visionthink_agent.backends.transformers_chat import ChatQwenVL
from visionthink_agent.cli import main
from visionthink_agent.evaluation.modes import run_visionthink_sync
from visionthink_agent.graph import create_visionthink_agent
from visionthink_agent.images import load_image
from visionthink_agent.synthetic import make_synthetic_samples

EVAL = make_synthetic_samples(8, preset="demo")  # eval split, seed 0
FINE, COARSE = EVAL[0], EVAL[1]


def test_checkpoint_is_under_25_mb_and_loads_with_the_auto_classes() -> None:
    folder = demo_checkpoint_dir()
    assert sum(f.stat().st_size for f in folder.iterdir()) <= 25 * 1024 * 1024
    model = AutoModelForImageTextToText.from_pretrained(folder)
    assert type(model).__name__ == "Qwen2_5_VLForConditionalGeneration"
    assert AutoProcessor.from_pretrained(folder).tokenizer.convert_tokens_to_ids("<|image_pad|>")


@pytest.mark.parametrize("sample", [COARSE, FINE], ids=lambda s: s.category)
def test_demo_answers_coarse_from_the_first_look_and_fine_after_one_resize(sample) -> None:
    assert (COARSE.needs_high_res, FINE.needs_high_res) == (False, True)
    agent = create_visionthink_agent(ChatQwenVL(model="demo", max_new_tokens=64)).compile()
    outcome = run_visionthink_sync(agent, load_image(sample.image), sample.question)
    assert outcome.prediction == sample.answer
    assert outcome.status == "answered"
    assert outcome.resized is sample.needs_high_res
    tokens = outcome.visual_tokens  # the first look alone, or the first look and one full image
    assert tokens["used"] == tokens["first_look"] + sample.needs_high_res * tokens["high_res"]


def test_ask_command_with_model_demo(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    image = tmp_path / "label.png"
    FINE.image.save(image)
    assert main(["ask", str(image), FINE.question, "--model", "demo", "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["answer"] == FINE.answer
    assert result["resized"] is True
