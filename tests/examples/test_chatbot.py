"""The chatbot example: its handler, its API through gradio_client, and a real browser."""

from __future__ import annotations

from pathlib import Path

from tests.evaluation.fakes import OracleVisionModel
from tests.examples.conftest import QUESTION
from visionthink_agent.images import visual_tokens


async def _reply(chat, message: dict, session: str) -> list[str]:
    class Request:
        session_hash = session

    return [chunk async for chunk in chat.respond(message, [], Request())]


async def test_handler_streams_thinking_resize_and_tokens(
    oracle: OracleVisionModel, detail_image: tuple[Path, str]
) -> None:
    from chatbot import RESIZE_NOTE, TOKENS_LABEL, VisionThinkChat

    path, code = detail_image
    chat = VisionThinkChat(oracle)
    chunks = await _reply(chat, {"text": QUESTION, "files": [str(path)]}, "s1")
    final = chunks[-1]
    assert len(chunks) >= 3  # thinking first, then the resize, then the answer and tokens
    assert RESIZE_NOTE in chunks[0] or RESIZE_NOTE in chunks[1]
    assert "💭 The text is too small" in final and RESIZE_NOTE in final
    assert f"**Answer:** {code}" in final
    low, full = visual_tokens(320, 240), visual_tokens(640, 480)  # 99 and 391
    used = low + full
    assert (
        f"*{TOKENS_LABEL}: {used} used vs {full} at full resolution ({low} extra, 125%)*" in final
    )

    # same session: a follow-up without an image is answered about the same image, directly
    follow = (await _reply(chat, {"text": "What colour is the background?", "files": []}, "s1"))[-1]
    assert "**Answer:** grey" in follow and RESIZE_NOTE not in follow
    state = chat.agent.get_state({"configurable": {"thread_id": "s1"}}).values
    assert sum(m.type == "human" and not m.additional_kwargs for m in state["messages"]) == 2
    # another session starts empty
    other = chat.agent.get_state({"configurable": {"thread_id": "s2"}}).values
    assert other == {}
