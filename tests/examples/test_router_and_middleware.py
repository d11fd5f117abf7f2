"""The router app (VisionThink as a subgraph) and the create_agent middleware example."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from langchain_core.language_models import FakeListChatModel
from langchain_core.messages import HumanMessage

from tests.evaluation.fakes import OracleVisionModel
from tests.examples.conftest import EXAMPLES, QUESTION
from visionthink_agent.graph.rendering import image_payload_block
from visionthink_agent.images import load_image


def _image_question(path: Path, question: str) -> HumanMessage:
    block = image_payload_block(load_image(path).high_res_payload())
    return HumanMessage(content=[{"type": "text", "text": question}, block])


def test_router_sends_image_questions_to_visionthink_and_text_elsewhere(
    oracle: OracleVisionModel, detail_image: tuple[Path, str]
) -> None:
    from router_app import create_router_app

    path, code = detail_image
    text_model = FakeListChatModel(responses=["Paris."])
    app = create_router_app(oracle, text_model).compile()

    vision = app.invoke({"messages": [_image_question(path, QUESTION)]})
    assert vision["route"] == "vision"
    assert vision["answer"] == code
    assert vision["resized"] is True
    assert vision["visual_tokens"]["high_res"] > 0
    assert oracle.calls == 2  # first look, then the full image

    text = app.invoke({"messages": [HumanMessage("What is the capital of France?")]})
    assert (text["route"], text["answer"], text["resized"]) == ("text", "Paris.", False)
    assert oracle.calls == 2  # the vision model was not asked


def test_middleware_agent_resizes_and_answers(
    oracle: OracleVisionModel, detail_image: tuple[Path, str]
) -> None:
    from middleware_agent import ask, create_middleware_agent

    path, code = detail_image
    state = ask(create_middleware_agent(oracle), str(path), QUESTION)
    assert state["answer"] == code
    assert state["resized"] is True
    assert state["status"] == "answered"
    assert state["visual_tokens"]["used"] > state["visual_tokens"]["full_res_baseline"]


@pytest.mark.slow
@pytest.mark.parametrize("script", ["router_app.py", "middleware_agent.py"])
def test_scripts_run_with_the_tiny_model(script: str, detail_image: tuple[Path, str]) -> None:
    path, _ = detail_image
    done = subprocess.run(
        [sys.executable, str(EXAMPLES / script), str(path), "What is written?"],
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    last = done.stdout.strip().splitlines()[-1]
    assert "resized=" in last
    assert "answer=" in last
