"""``visionthink ask``: end to end on the tiny model, and clear errors."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.cli.conftest import RECEIPT
from visionthink_agent.cli import build_parser, main
from visionthink_agent.images import load_image


def test_help_documents_every_option(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info:
        main(["ask", "--help"])
    assert info.value.code == 0
    text = capsys.readouterr().out
    for option in (
        "--model", "--base-url", "--api-key", "--mode", "--max-new-tokens", "--temperature",
        "--device", "--dtype", "--timeout", "--json", "--max-pixels", "--max-bytes",
        "--allow-private-urls",
    ):  # fmt: skip
        assert option in text
    flat = " ".join(text.split())
    for default in ("(default: 300.0)", "(default: auto)", "(default: 0.0)", "(default: prompted)"):
        assert default in flat
    assert "(default auto)" not in flat  # said once, by the formatter
    assert "'demo' (the small model shipped in the package" in flat
    parser = build_parser()
    ask = parser._subparsers._group_actions[0].choices["ask"]  # type: ignore[union-attr]
    assert all(action.help for action in ask._actions)


def test_eval_subcommand_is_registered() -> None:
    assert build_parser().parse_args(["eval", "synthetic"]).func.__module__.endswith("eval_command")


def test_ask_tiny_json_reports_the_token_account(
    cache_env: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(
        ["ask", str(RECEIPT), "What is the total?", "--model", "tiny", "--json",
         "--max-new-tokens", "8", "--device", "cpu"]
    )  # fmt: skip
    assert code == 0
    result = json.loads(capsys.readouterr().out)
    account = load_image(RECEIPT).token_account(resized=result["resized"]).as_dict()
    assert result["visual_tokens"] == account
    assert result["status"] == "answered"
    assert 1 <= result["usage"]["output_tokens"] <= 8 * result["model_turns"]
    assert result["usage"]["input_tokens"] > account["first_look"]


def test_ask_streams_and_ends_with_the_account(
    cache_env: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(["ask", str(RECEIPT), "Total?", "--model", "tiny", "--max-new-tokens", "6"])
    out = capsys.readouterr().out
    assert code == 0
    assert "first look 300×310" in out
    assert "model turn 1" in out
    assert "saved vs full-res" in out
    (summary,) = [line for line in out.splitlines() if line.startswith("answered after")]
    assert summary.startswith("answered after 1 model turn(s), resized=False, zooms=0, ")
    assert "generated tokens" in summary  # one line, not cut at 80 columns


def test_unreadable_image_is_a_clear_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = tmp_path / "bad.png"
    bad.write_bytes(b"not an image")
    assert main(["ask", str(bad), "Q?", "--model", "tiny"]) == 2
    assert "cannot use the image" in capsys.readouterr().err


def test_unreachable_server_is_a_clear_error(capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["ask", str(RECEIPT), "Q?", "--base-url", "http://127.0.0.1:9/v1"])
    assert code == 1
    assert "cannot reach the model server at http://127.0.0.1:9/v1" in capsys.readouterr().err


def test_missing_model_names_the_ways_forward(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    assert main(["ask", str(RECEIPT), "Q?", "--model", "no-such/model", "--device", "cpu"]) == 1
    err = capsys.readouterr().err
    assert "--model tiny" in err
    assert "--base-url" in err


@pytest.mark.parametrize("command", ["ask", "eval"])
def test_a_model_path_to_no_folder_is_named_before_torch_is_imported(
    command: str, tmp_path: Path
) -> None:
    missing = tmp_path / "no-such-checkpoint"
    argv = [str(RECEIPT), "Q?"] if command == "ask" else ["synthetic", "--out", str(tmp_path)]
    code = (
        "import sys; from visionthink_agent.cli import main; "
        f"code = main([{command!r}, *{argv!r}, '--model', {str(missing)!r}]); "
        "assert 'torch' not in sys.modules, 'torch was imported'; sys.exit(code)"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 2, done.stderr
    assert done.stderr == (
        f"error: no such checkpoint folder: {missing} (--model takes a checkpoint folder, "
        "'demo', 'tiny' or a Hugging Face id such as Senqiao/VisionThink-Efficient)\n"
    )


@pytest.mark.slow
def test_readme_command_runs_as_installed(cache_env: Path) -> None:
    script = Path(sys.executable).with_name("visionthink")
    done = subprocess.run(
        [str(script), "ask", str(RECEIPT), "What is the total?", "--model", "tiny"],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert "visual tokens" in done.stdout


def test_missing_extra_names_the_install_command(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setitem(sys.modules, "langchain_openai", None)  # import fails
    code = main(["ask", str(RECEIPT), "Q?", "--base-url", "http://127.0.0.1:9/v1", "--model", "m"])
    assert code == 2
    assert "pip install 'visionthink-agent[graph]'" in capsys.readouterr().err
