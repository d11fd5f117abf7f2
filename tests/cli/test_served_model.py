"""``ask`` and ``eval`` adapt to the server they are given: its model, its context length, its
refusals; against a real OpenAI-compatible HTTP server on loopback (``serve_oracle``)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from tests.cli.conftest import RECEIPT
from tests.evaluation.fakes import OracleVisionModel
from tests.evaluation.vision_server import serve_oracle
from tests.loopback import free_port
from visionthink_agent.cli import main
from visionthink_agent.evaluation import load_records, make_synthetic_samples

DEMO = [{"id": "served-demo", "max_model_len": 4096}]
"""A vLLM-like model list: one model, a context smaller than the default cap of 8192."""


def _oracle(n: int = 2) -> OracleVisionModel:
    samples = make_synthetic_samples(n)
    answers = {s.question: (s.answer, s.needs_high_res) for s in samples}
    return OracleVisionModel(answers=answers, full_width=896)


def _eval(url: str, out: Path, *extra: str) -> int:
    return main(["eval", "synthetic", "--limit", "2", "--out", str(out), "--base-url", url, *extra])


def test_eval_without_model_uses_the_served_model_within_its_context(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    oracle = _oracle()
    with serve_oracle(oracle, models=DEMO, max_model_len=4096) as url:
        assert _eval(url, tmp_path / "run", "--modes", "full,low") == 0
    settings = json.loads((tmp_path / "run" / "summary.json").read_text())["settings"]
    assert (settings["model"], settings["max_new_tokens"]) == ("served-demo", 4096)
    assert oracle.calls == 4
    assert "(4 run now, 0 errors)" in capsys.readouterr().out


def test_eval_stops_at_once_on_a_model_the_server_does_not_list(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    oracle = _oracle()
    with serve_oracle(oracle, models=DEMO) as url:
        assert _eval(url, tmp_path / "run", "--model", "tiny") == 1
    err = capsys.readouterr().err
    assert f"the server at {url} does not serve the model 'tiny' (it serves: served-demo)" in err
    assert err.count("\n") == 1, err
    assert oracle.calls == 0


def test_eval_stops_at_once_on_a_refused_connection(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    url = f"http://127.0.0.1:{free_port()}/v1"
    assert _eval(url, tmp_path / "run") == 1
    err = capsys.readouterr().err
    assert f"cannot reach the model server at {url}" in err
    assert "Check --base-url" in err
    assert err.count("\n") == 1, err


@pytest.mark.parametrize(
    ("listed", "extra", "status"),
    [
        # no model list, so the name cannot be checked first: the first request is refused
        (
            False,
            ["--model", "nope"],
            "HTTP 404 (OpenAIModelNotFoundError; 1 attempt): check --model",
        ),
        # listed without max_model_len: the default cap of 8192 is refused (a vLLM 400)
        (True, [], "HTTP 400 (OpenAIInvalidRequestError; 1 attempt): it refused the request"),
    ],
)
def test_eval_stops_on_the_first_refused_request_and_keeps_the_records(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    listed: bool,
    extra: list[str],
    status: str,
) -> None:
    oracle = _oracle()
    with serve_oracle(oracle, models=[{"id": "m"}], max_model_len=4096, listed=listed) as url:
        code = _eval(url, tmp_path / "run", "--concurrency", "1", *extra)
    assert code == 1
    err = capsys.readouterr().err
    assert f"the model server at {url} answered {status}" in err
    assert "0 finished record(s) kept" in err
    assert "run the same command again to resume" in err
    assert err.count("\n") == 1, err
    assert load_records(tmp_path / "run" / "records.jsonl") == {}  # nothing recorded as done


def test_too_large_a_cap_is_refused_before_any_request(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    oracle = _oracle()
    with serve_oracle(oracle, models=DEMO, max_model_len=4096) as url:
        assert _eval(url, tmp_path / "run", "--max-new-tokens", "5000") == 2
        err = capsys.readouterr().err
        assert "--max-new-tokens 5000 exceeds the context length of 'served-demo'" in err
        assert "(max_model_len 4096)" in err
        code = main(["ask", str(RECEIPT), "Q?", "--base-url", url, "--max-new-tokens", "5000"])
        assert code == 2
        assert "lower --max-new-tokens" in capsys.readouterr().err
    assert oracle.calls == 0


def test_eval_without_matplotlib_skips_the_plot_in_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in [m for m in sys.modules if m.partition(".")[0] == "matplotlib"]:
        monkeypatch.delitem(sys.modules, name)
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # import fails
    with serve_oracle(_oracle(), models=DEMO) as url:
        assert _eval(url, tmp_path / "run", "--modes", "low") == 0
    printed = capsys.readouterr().out
    assert "no plot: matplotlib is not installed" in printed
    assert "(2 run now, 0 errors)" in printed
    assert not (tmp_path / "run" / "accuracy_vs_tokens.png").exists()
    assert (tmp_path / "run" / "summary.json").is_file()


def test_ask_without_model_answers_through_the_served_model_within_its_context(
    capsys: pytest.CaptureFixture[str],
) -> None:
    oracle = OracleVisionModel(answers={"What is the total?": ("42.50", False)}, full_width=1)
    with serve_oracle(oracle, models=DEMO, max_model_len=4096) as url:
        assert main(["ask", str(RECEIPT), "What is the total?", "--base-url", url, "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert (result["answer"], oracle.calls) == ("42.50", 1)
