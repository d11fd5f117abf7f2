"""The question's checks on the graph and the middleware (refused before the model is called),
and the ``no_answer`` status for a final turn that holds no answer."""

from __future__ import annotations

import time
from typing import Any

import pytest
from langchain.agents import create_agent
from langchain_core.messages import HumanMessage

from tests.graph.conftest import ANSWER, png_bytes, scripted, v1_block
from visionthink_agent import create_visionthink_agent
from visionthink_agent.graph import VisionThinkMiddleware
from visionthink_agent.questions import QuestionError


def _question(text: str) -> dict[str, Any]:
    return {"messages": [HumanMessage([{"type": "text", "text": text}, v1_block(png_bytes())])]}


def _graph(model: Any, **options: Any) -> Any:
    return create_visionthink_agent(model, **options).compile()


def _middleware_agent(model: Any, **options: Any) -> Any:
    return create_agent(model, middleware=[VisionThinkMiddleware(mode="prompted", **options)])


@pytest.mark.parametrize("build", [_graph, _middleware_agent], ids=["graph", "middleware"])
@pytest.mark.parametrize(
    ("text", "options", "phrase"),
    [
        (" \n\t", {}, "the question is empty"),
        ("x" * 1_048_576, {}, "1048576 characters, over the limit of 16000"),
        ("x" * 101, {"max_question_chars": 100}, "(raise max_question_chars to allow it)"),
    ],
    ids=["empty", "1MB", "setting"],
)
def test_a_bad_question_is_refused_before_the_model_is_called(
    build: Any, text: str, options: dict[str, Any], phrase: str
) -> None:
    model = scripted(ANSWER)
    started = time.perf_counter()
    with pytest.raises(QuestionError, match=phrase) as caught:
        build(model, **options).invoke(_question(text))
    assert time.perf_counter() - started < 1.0
    assert model.seen == []
    assert "xxxx" not in str(caught.value)  # the question's text is never echoed
    assert len(str(caught.value).splitlines()) == 1


@pytest.mark.parametrize("build", [_graph, _middleware_agent], ids=["graph", "middleware"])
def test_the_limit_is_a_setting(build: Any) -> None:
    result = build(scripted(ANSWER), max_question_chars=20_000).invoke(_question("x" * 17_000))
    assert result["status"] == "answered"


@pytest.mark.parametrize("build", [_graph, _middleware_agent], ids=["graph", "middleware"])
@pytest.mark.parametrize(
    ("final", "status"),
    [
        ("<think>", "no_answer"),
        ("", "no_answer"),
        ("circle</answer>", "no_answer"),
        ("<think>cut short", "no_answer"),
        ("<answer></answer>", "no_answer"),
        ("<answer>circle</answer>", "answered"),
        ("circle", "answered"),  # a plain answer (native models) is an answer
    ],
)
def test_a_final_turn_without_an_answer_ends_with_no_answer(
    build: Any, final: str, status: str
) -> None:
    result = build(scripted(final)).invoke(_question("Which shape?"))
    assert result["status"] == status
