"""``visionthink ask`` refuses a question over ``--max-question-chars`` before anything loads."""

from __future__ import annotations

import pytest

from tests.cli.conftest import RECEIPT
from tests.loopback import free_port
from visionthink_agent.cli import main


def test_a_1mb_question_is_refused_before_the_server_is_asked(
    capsys: pytest.CaptureFixture[str],
) -> None:
    closed = f"http://127.0.0.1:{free_port()}/v1"  # reaching the server would be exit 1
    code = main(["ask", str(RECEIPT), "x" * 1_048_576, "--model", "m", "--base-url", closed])
    assert code == 2
    err = capsys.readouterr().err
    assert "the question is 1048576 characters, over the limit of 16000" in err
    assert "(raise --max-question-chars to allow it)" in " ".join(err.split())
    assert "xxxx" not in err


def test_the_limit_is_a_flag(capsys: pytest.CaptureFixture[str]) -> None:
    closed = f"http://127.0.0.1:{free_port()}/v1"
    argv = ["ask", str(RECEIPT), "x" * 20, "--model", "m", "--base-url", closed, "--timeout", "1"]
    assert main([*argv, "--max-question-chars", "10"]) == 2
    assert main([*argv, "--max-question-chars", "20"]) == 1  # past the check: the server is down
    assert "cannot reach the model server" in capsys.readouterr().err
