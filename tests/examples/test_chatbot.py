"""The chatbot example: its handler, its API through gradio_client, and a real browser."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.evaluation.fakes import OracleVisionModel
from tests.examples.conftest import QUESTION
from tests.loopback import free_port
from visionthink_agent.images import visual_tokens

SCREENSHOT_ENV = "VISIONTHINK_SCREENSHOT"
"""Where the browser test saves its screenshot instead of a temporary folder. The README's
refresh command sets it to ``examples/chatbot_screenshot.png``; tests never write tracked files
on their own."""


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
    assert "*Thinking:* The text is too small" in final
    assert RESIZE_NOTE in final
    assert f"**Answer:** {code}" in final
    low, full = visual_tokens(320, 240), visual_tokens(640, 480)  # 99 and 391
    used = low + full
    assert (
        f"*{TOKENS_LABEL}: {used} used vs {full} at full resolution ({low} extra, 125%)*" in final
    )

    # same session: a follow-up without an image is answered about the same image, directly
    follow = (await _reply(chat, {"text": "What colour is the background?", "files": []}, "s1"))[-1]
    assert "**Answer:** grey" in follow
    assert RESIZE_NOTE not in follow
    state = chat.agent.get_state({"configurable": {"thread_id": "s1"}}).values
    assert sum(m.type == "human" and not m.additional_kwargs for m in state["messages"]) == 2
    # another session starts empty
    other = chat.agent.get_state({"configurable": {"thread_id": "s2"}}).values
    assert other == {}


@pytest.fixture
def launched_app(oracle: OracleVisionModel) -> Iterator[str]:
    """The chatbot served on 127.0.0.1 at a free port; yields its URL."""
    from chatbot import create_app

    app = create_app(oracle)
    app.queue().launch(
        server_name="127.0.0.1", server_port=free_port(), prevent_thread_lock=True, quiet=True
    )
    try:
        yield app.local_url.rstrip("/")
    finally:
        app.close()


@pytest.mark.slow
def test_through_gradio_client(launched_app: str, detail_image: tuple[Path, str]) -> None:
    from chatbot import RESIZE_NOTE
    from gradio_client import Client, handle_file

    path, code = detail_image
    client = Client(launched_app, verbose=False)
    reply = client.predict({"text": QUESTION, "files": [handle_file(str(path))]}, api_name="/chat")
    assert RESIZE_NOTE in reply
    assert f"**Answer:** {code}" in reply


@pytest.mark.slow
@pytest.mark.browser
def test_in_headless_chromium(
    launched_app: str, detail_image: tuple[Path, str], tmp_path: Path
) -> None:
    from playwright.sync_api import expect, sync_playwright

    path, code = detail_image
    with sync_playwright() as pw:
        browser = pw.chromium.launch_persistent_context(
            str(tmp_path / "profile"),
            executable_path="/usr/bin/chromium",
            args=[
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-quic",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
            ],
            viewport={"width": 1100, "height": 900},
        )
        try:
            page = browser.new_page()
            page.goto(launched_app)
            page.locator("input[type=file]").first.set_input_files(str(path))
            box = page.get_by_placeholder("Ask about an image")
            box.fill(QUESTION)
            box.press("Enter")
            bot = page.locator(".message.bot, [data-testid='bot']").last
            expect(bot).to_contain_text(f"Answer: {code}", timeout=60_000)
            expect(bot).to_contain_text("Requested the full-resolution image")
            expect(bot).to_contain_text("Visual tokens")
            expect(page.locator(".progress-text")).to_have_count(0)  # the run has finished
            screenshot = Path(os.environ.get(SCREENSHOT_ENV) or tmp_path / "chatbot.png")
            page.screenshot(path=str(screenshot), full_page=True)
        finally:
            browser.close()
    assert screenshot.stat().st_size > 10_000


@pytest.mark.slow
async def test_handler_with_the_tiny_in_process_model(detail_image: tuple[Path, str]) -> None:
    from chatbot import TOKENS_LABEL, VisionThinkChat

    from visionthink_agent.backends.transformers_chat import ChatQwenVL

    path, _ = detail_image
    chat = VisionThinkChat(ChatQwenVL(model="tiny", max_new_tokens=12, streaming=True))
    chunks = await _reply(chat, {"text": QUESTION, "files": [str(path)]}, "tiny")
    assert len(chunks) > 3  # tokens stream in before the turn ends
    low, full = visual_tokens(320, 240), visual_tokens(640, 480)
    direct = f"*{TOKENS_LABEL}: {low} used vs {full} at full resolution"
    resized = f"*{TOKENS_LABEL}: {low + full} used vs {full} at full resolution"
    assert direct in chunks[-1] or resized in chunks[-1]
