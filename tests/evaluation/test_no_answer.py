"""Evaluation counts a final turn without an answer as ``no_answer``, baselines included."""

from __future__ import annotations

import asyncio

import pytest
from langchain_core.language_models import FakeListChatModel
from PIL import Image

from visionthink_agent.evaluation import SampleRecord, summarize
from visionthink_agent.evaluation.modes import run_single_look
from visionthink_agent.images import load_image


@pytest.mark.parametrize(
    ("reply", "status"),
    [("<think>", "no_answer"), ("", "no_answer"), ("circle</answer>", "no_answer"),
     ("<answer>circle</answer>", "answered")],
)  # fmt: skip
def test_a_single_look_without_an_answer_is_no_answer(reply: str, status: str) -> None:
    model = FakeListChatModel(responses=[reply])
    source = load_image(Image.new("RGB", (64, 64)))
    outcome = asyncio.run(run_single_look(model, source, "Which shape?", "low"))
    assert outcome.status == status


def test_the_summary_counts_no_answer() -> None:
    records = [
        SampleRecord(sample_id=str(i), mode="visionthink", question="Q?", ground_truth="1",
                     status=status)
        for i, status in enumerate(["answered", "no_answer", "no_answer", "turn_limit"])
    ]  # fmt: skip
    (summary,) = summarize(records)
    assert summary.no_answer == 2
    assert summary.as_dict()["no_answer"] == 2
