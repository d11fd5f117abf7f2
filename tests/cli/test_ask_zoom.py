"""``visionthink ask --tool-mode zoom``: the zoom shown as it happens, and in the account."""

from __future__ import annotations

import json

import pytest

from tests.cli.conftest import RECEIPT
from tests.graph.conftest import ANSWER, zoom_call
from tests.graph.openai_server import scripted_openai_server
from visionthink_agent.cli import main
from visionthink_agent.images import load_image


def _ask(replies: list[str], *extra: str) -> int:
    with scripted_openai_server(replies) as server:  # type: ignore[arg-type]
        return main(
            ["ask", str(RECEIPT), "What is the total?", "--base-url", server.base_url,
             "--model", "m", "--tool-mode", "zoom", *extra]
        )  # fmt: skip


def test_a_zoom_is_drawn_with_its_region_and_tokens(capsys: pytest.CaptureFixture[str]) -> None:
    assert _ask([zoom_call([10, 20, 110, 70]), ANSWER]) == 0
    out = capsys.readouterr().out
    source = load_image(RECEIPT)
    box = source.zoom_box([10, 20, 110, 70], boxes="first_look_pixels")
    tokens = source.token_account(resized=False, zooms=[box]).high_res
    left, top, right, bottom = box
    assert f"the model zoomed in on ({left}, {top})–({right}, {bottom}), " in out
    assert f"px (+{tokens} visual tokens)" in out
    assert "model turn 2" in out
    assert "The zoomed-in region follows." not in out  # the tool's message is not model text
    assert "resized=False, zooms=1" in out


def test_json_counts_the_zoom_and_a_bad_box_is_a_tool_error(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert _ask([zoom_call([10, 20, 110, 70]), ANSWER], "--json") == 0
    result = json.loads(capsys.readouterr().out)
    assert result["zooms"] == 1
    assert result["visual_tokens"]["high_res"] > 0
    assert _ask([zoom_call([5, 5, 5, 50]), ANSWER]) == 0  # zero area: the error turn
    out = capsys.readouterr().out
    assert "the tool answered with an error turn" in out
    assert "zooms=0" in out
