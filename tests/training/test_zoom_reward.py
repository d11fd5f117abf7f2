"""The reward and the group penalty on zoom trajectories from the real agent loop.

A zoom is a high-resolution request: the reward's ``resized`` flag is set, so the group penalty
counts a zoom like a resize; the format check accepts the three-turn trajectory (two tool-call
turns, then the answer), with or without special tokens in the decoded response.
"""

from __future__ import annotations

import pytest

pytest.importorskip("verl")

from tests.training.loop_harness import ANSWER_TURN, RESIZE_TURN, run_loop
from tests.training.zoom_harness import BOX_1, BOX_2, run_mode, zoom_turn
from training.group_penalty import penalise_batch
from training.reward import compute_score
from training.settings import VisionThinkSettings
from visionthink_agent.reward import assess_turns, split_model_turns

pytestmark = pytest.mark.verl

ZOOMS = [zoom_turn(BOX_1), zoom_turn(BOX_2), ANSWER_TURN]
RULES = {"model": "rules-only"}  # "\\boxed{42}" against "42" is settled offline


@pytest.mark.parametrize("skip_special_tokens", [True, False])
async def test_a_two_zoom_trajectory_is_three_well_formed_turns_and_a_request(
    zoom_setups, tokenizer, processor, skip_special_tokens
):
    _, output, _ = await run_mode(zoom_setups, "zoom", tokenizer, processor, ZOOMS)
    text = tokenizer.decode(output.response_ids, skip_special_tokens=skip_special_tokens)
    turns = split_model_turns(text)
    assert [turn.strip() for turn in turns] == ZOOMS
    facts = assess_turns(turns)
    assert (facts.resized, facts.format_ok, facts.answer) == (True, True, "42")


async def test_compute_score_counts_a_zoom_as_a_request(zoom_setups, tokenizer, processor):
    row, output, _ = await run_mode(zoom_setups, "zoom", tokenizer, processor, ZOOMS)
    text = tokenizer.decode(output.response_ids, skip_special_tokens=True)
    extra_info = {**row["extra_info"], **output.extra_fields}  # as veRL's reward managers do
    result = await compute_score(row["data_source"], text, "42", extra_info, judge=RULES)
    assert {k: result[k] for k in ("score", "acc", "format", "resized", "pred")} == {
        "score": 1.5, "acc": 1.0, "format": 1.0, "resized": 1.0, "pred": "42",
    }  # fmt: skip

    # strict_tool_call accepts the zoom calls only in the mode the trajectory ran in.
    strict = {**RULES, "strict_tool_call": True}
    result = await compute_score(row["data_source"], text, "42", extra_info, judge=strict)
    assert result["format"] == 1.0
    resize_info = {k: v for k, v in extra_info.items() if k != "tool_mode"}
    result = await compute_score(row["data_source"], text, "42", resize_info, judge=strict)
    assert result["format"] == 0.0


async def test_the_group_penalty_treats_a_zoom_as_a_resize(
    zoom_setups, loop_config, dataset_row, tokenizer, processor
):
    async def info(texts, mode=None):
        if mode is None:
            row = dataset_row()
            output, _ = await run_loop(loop_config, tokenizer, processor, row, texts)
        else:
            row, output, _ = await run_mode(zoom_setups, mode, tokenizer, processor, texts)
        text = tokenizer.decode(output.response_ids, skip_special_tokens=True)
        extra_info = {**row["extra_info"], **output.extra_fields}
        return await compute_score(row["data_source"], text, "42", extra_info, judge=RULES)

    direct = await info([ANSWER_TURN])
    zoomed = await info(ZOOMS, "zoom")
    mixed = await info([RESIZE_TURN, zoom_turn(BOX_2), ANSWER_TURN], "both")
    resized = await info([RESIZE_TURN, ANSWER_TURN])
    assert (direct["resized"], zoomed["resized"], mixed["resized"]) == (0.0, 1.0, 1.0)

    # The penalty compares correct direct answers with correct requests: a zoom (or a resize
    # and a zoom) weighs exactly as a resize. Paper semantics, r = 1/10 < theta: the direct
    # answer is penalised; released semantics, r = 5/10 >= theta: the requests are.
    paper = VisionThinkSettings.from_config({"penalty": {"semantics": "paper"}})
    for request in (zoomed, mixed):
        for settings, group, expected in (
            (paper, [direct] + [request] * 9, [-0.1] + [0.0] * 9),
            (VisionThinkSettings(), [direct] * 5 + [request] * 5, [0.0] * 5 + [-0.1] * 5),
        ):
            like_resize = [resized if info is request else info for info in group]
            adjusted = penalise_batch(["g"] * 10, group, settings)
            assert adjusted.deltas == expected
            assert penalise_batch(["g"] * 10, like_resize, settings).deltas == expected
            ratio = sum(info is request for info in group) / 10
            assert adjusted.metrics["visionthink/resize_ratio"] == ratio
