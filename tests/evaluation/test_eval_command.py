"""``visionthink eval`` end to end: the synthetic benchmark with the tiny in-process model."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import pytest

from tests.evaluation.fakes import OracleVisionModel
from tests.evaluation.vision_server import serve_oracle
from tests.judge.judge_server import serve_in_thread
from visionthink_agent.backends.transformers_chat import ChatQwenVL
from visionthink_agent.cli.eval_command import _preset, register, run
from visionthink_agent.evaluation import load_records, make_synthetic_samples


def _parse(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="visionthink")
    register(parser.add_subparsers())
    return parser.parse_args(argv)


@pytest.mark.slow
def test_synthetic_with_the_tiny_model_writes_records_summary_and_plot(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    out = tmp_path / "run"
    argv = ["eval", "synthetic", "--limit", "2", "--max-new-tokens", "12", "--out", str(out)]
    assert run(_parse(argv)) == 0
    records = load_records(out / "records.jsonl")
    assert len(records) == 6  # 2 samples x 3 modes
    assert all(r.error is None for r in records.values())
    assert all(r.visual_tokens["full_res_baseline"] == 768 for r in records.values())
    document = json.loads((out / "summary.json").read_text())
    summary = {s["mode"]: s for s in document["modes"]}
    settings = document["settings"]
    assert (settings["model"], settings["backend"], settings["judge"]) == (
        "tiny",
        "in-process",
        {"kind": "rules"},
    )
    assert (settings["max_new_tokens"], settings["samples"], settings["data"]) == (
        12,
        2,
        "synthetic (standard)",
    )
    assert settings["package_version"]
    assert settings["written_at"]
    assert summary["full"]["visual_tokens_pct"] == 100.0
    assert summary["low"]["visual_tokens_pct"] == 25.0
    assert (out / "accuracy_vs_tokens.png").read_bytes()[:4] == b"\x89PNG"
    assert (out / "data" / "synthetic.jsonl").is_file()
    printed = capsys.readouterr().out
    (summary_line,) = [line for line in printed.splitlines() if line.startswith("eval: ")]
    assert "eval: 2 samples x 3 modes (6 run now, 0 errors)" in summary_line
    assert summary_line.endswith(str(out))  # one line, not cut at the console's width

    # a second call resumes: nothing left to run, so no model is loaded
    def no_load(*args: object) -> None:
        raise AssertionError("a resumed run with nothing left loaded the model")

    monkeypatch.setattr(ChatQwenVL, "engine", no_load)
    assert run(_parse(argv)) == 0
    assert "(0 run now, 0 errors)" in capsys.readouterr().out


def test_bad_arguments_are_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        _parse(["eval", "synthetic", "--modes", "low,crop"])
    assert "modes must be a comma list" in capsys.readouterr().err
    cases = {
        "benchmark not found": ["eval", str(tmp_path / "nope.jsonl")],
        "--judge llm needs --judge-base-url": ["eval", "synthetic", "--judge", "llm"],
        "--concurrency must be at least 1": ["eval", "synthetic", "--concurrency", "0"],
        "--max-new-tokens must be at least 1": ["eval", "synthetic", "--max-new-tokens", "0"],
    }
    for message, argv in cases.items():
        assert run(_parse([*argv, "--limit", "1", "--out", str(tmp_path)])) == 2
        err = capsys.readouterr().err
        assert message in err
        assert err.count("\n") == 1, err  # one line, no traceback


def test_help_is_plain_text_with_every_default(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        _parse(["eval", "--help"])
    text = " ".join(capsys.readouterr().out.split())
    assert "``" not in text
    assert "::" not in text
    assert "--max-new-tokens MAX_NEW_TOKENS" in text
    assert "--max-tokens" not in text  # the old spelling still parses, unlisted
    assert _parse(["eval", "synthetic", "--max-tokens", "7"]).max_new_tokens == 7
    for default in ("(default: 8192)", "(default: runs/eval)", "(default: visionthink,full,low)"):
        assert default in text
    assert "Exit codes: 0 done, 1 the model or server failed" in text
    parser = argparse.ArgumentParser(prog="visionthink")
    subcommand = register(parser.add_subparsers())
    assert all(action.help for action in subcommand._actions)


@pytest.mark.slow
def test_against_an_openai_compatible_server_with_the_llm_judge(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    samples = make_synthetic_samples(2)  # a fine-detail and a coarse question (distinct)
    oracle = OracleVisionModel(
        answers={s.question: (s.answer, s.needs_high_res) for s in samples}, full_width=896
    )
    out = tmp_path / "run"
    with serve_oracle(oracle) as model_url, serve_in_thread() as (judge_url, judge_state):
        argv = [
            "eval", "synthetic", "--limit", "2", "--out", str(out),
            "--base-url", model_url, "--model", "oracle", "--concurrency", "3",
            "--judge", "llm", "--judge-base-url", judge_url, "--judge-model", "echo",
        ]  # fmt: skip
        assert run(_parse(argv)) == 0
    summary = {s["mode"]: s for s in json.loads((out / "summary.json").read_text())["modes"]}
    assert (summary["full"]["accuracy"], summary["low"]["accuracy"]) == (1.0, 0.5)
    assert (summary["visionthink"]["accuracy"], summary["visionthink"]["resize_ratio"]) == (1, 0.5)
    assert summary["visionthink"]["visual_tokens_pct"] == 75.0
    assert oracle.calls == 2 + 2 + 3  # full, low, visionthink (one resize: two turns)
    # the rules settle the exact matches; the unreadable low-res answer went to the LLM judge
    assert [r["model"] for r in judge_state.requests] == ["echo"]
    records = load_records(out / "records.jsonl")
    assert records[("low", "syn-0000")].judge["judge"] == "llm:echo"
    assert (out / "judge-cache.sqlite").is_file()
    assert "(6 run now, 0 errors)" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("argv", "preset"),
    [
        (["--model", "tiny"], "standard"),
        (["--model", "demo"], "demo"),
        (["--model", "demo", "--base-url", "http://127.0.0.1:1/v1"], "standard"),
        (["--model", "tiny", "--preset", "demo"], "demo"),
    ],
)
def test_synthetic_preset_follows_the_demo_model_unless_chosen(argv, preset) -> None:
    assert _preset(_parse(["eval", "synthetic", *argv])) == preset
