"""ChatQwenVL: LangChain standard unit tests, image blocks, streaming, usage, tool calls."""

from __future__ import annotations

import asyncio
import threading
import time
from pathlib import Path

import pytest
from langchain_core.messages import AIMessage, HumanMessage, SystemMessage, ToolMessage
from langchain_tests.unit_tests import ChatModelUnitTests
from PIL import Image

from visionthink_agent import protocol
from visionthink_agent.backends.tool_calling import tool_calls_in
from visionthink_agent.backends.transformers_chat import ChatQwenVL, to_qwen_messages
from visionthink_agent.images import (
    ImageLimits,
    ImageTooLargeError,
    LocalFileError,
    encode_image,
    visual_tokens,
)


class TestChatQwenVLStandard(ChatModelUnitTests):
    @property
    def chat_model_class(self) -> type[ChatQwenVL]:
        return ChatQwenVL

    @property
    def chat_model_params(self) -> dict[str, object]:
        return {"model": "tiny"}

    @property
    def supports_image_inputs(self) -> bool:
        return True

    @property
    def returns_usage_metadata(self) -> bool:
        return True


@pytest.fixture(scope="module")
def chat(tiny_checkpoint: Path) -> ChatQwenVL:
    return ChatQwenVL(model=str(tiny_checkpoint), device="cpu", max_tokens=6)


def image_message(size: tuple[int, int] = (120, 90)) -> HumanMessage:
    png = encode_image(Image.new("RGB", size, "navy"), "PNG")
    return HumanMessage(
        [
            {"type": "text", "text": "Colour?"},
            {"type": "image_url", "image_url": {"url": png.data_url()}},
        ]
    )


def test_invoke_reports_exact_usage_and_visual_tokens(chat: ChatQwenVL) -> None:
    reply = chat.invoke([SystemMessage(protocol.SYSTEM_PROMPT), image_message()])
    assert reply.response_metadata["visual_tokens"] == visual_tokens(120, 90)
    usage = reply.usage_metadata
    assert usage is not None
    assert usage["total_tokens"] == usage["input_tokens"] + usage["output_tokens"]
    assert usage["input_tokens"] > visual_tokens(120, 90)
    assert 1 <= usage["output_tokens"] <= 6


def test_stream_yields_the_invoke_text_and_usage_once(chat: ChatQwenVL) -> None:
    messages = [image_message()]
    whole = chat.invoke(messages)
    chunks = list(chat.stream(messages))
    merged = chunks[0]
    for chunk in chunks[1:]:
        merged += chunk
    assert merged.content == whole.content
    assert merged.usage_metadata is not None
    assert whole.usage_metadata is not None
    for key in ("input_tokens", "output_tokens", "total_tokens"):
        assert merged.usage_metadata[key] == whole.usage_metadata[key]
    # the second call reused the first call's prompt from the KV cache
    assert merged.usage_metadata["input_token_details"]["cache_read"] > 0


async def test_async_invoke_works(chat: ChatQwenVL) -> None:
    reply = await chat.ainvoke([image_message()])
    assert isinstance(reply, AIMessage)


def test_camel_case_and_v1_image_blocks_are_read() -> None:
    png = encode_image(Image.new("RGB", (40, 30)), "PNG")
    blocks = [
        {"type": "image", "base64": png.base64, "mime_type": "image/png"},
        {"type": "image", "data": png.base64, "mimeType": "image/png"},
        {"type": "image_url", "image_url": {"url": png.data_url()}},
    ]
    messages, images = to_qwen_messages([HumanMessage(blocks)])
    assert messages[0]["content"] == [{"type": "image"}] * 3
    assert [im.size for im in images] == [(40, 30)] * 3


def test_unsupported_block_is_named() -> None:
    with pytest.raises(ValueError, match="unsupported content block 'audio'"):
        to_qwen_messages([HumanMessage([{"type": "audio", "base64": "AAAA"}])])


def test_tool_history_renders_in_qwen_form() -> None:
    call = {"name": "resize_image", "args": {"action": "resize"}, "id": "c1"}
    messages, _ = to_qwen_messages(
        [AIMessage("<think>x</think>", tool_calls=[call]), ToolMessage("done", tool_call_id="c1")]
    )
    assert messages[0]["content"] == (
        '<think>x</think>\n<tool_call>\n{"name": "resize_image", "arguments": '
        '{"action": "resize"}}\n</tool_call>'
    )
    assert messages[1] == {"role": "user", "content": "<tool_response>\ndone\n</tool_response>"}


def test_tool_calls_are_parsed_from_qwen_blocks() -> None:
    text = (
        '<think>t</think>\n<tool_call>\n{"name": "resize_image", "arguments": '
        '{"action": "resize"}}\n</tool_call>'
    )
    calls, invalid = tool_calls_in(text)
    assert [(c["name"], c["args"]) for c in calls] == [("resize_image", {"action": "resize"})]
    assert invalid == []
    calls, invalid = tool_calls_in("<tool_call>\n{not json}\n</tool_call>")
    assert calls == []
    assert invalid[0]["args"] == "{not json}"


def test_bound_tools_reach_the_chat_template(chat: ChatQwenVL) -> None:
    bound = chat.bind_tools([protocol.resize_tool_schema()])
    reply = bound.invoke([image_message()])
    assert isinstance(reply, AIMessage)
    assert bound.kwargs["tools"][0]["function"]["name"] == "resize_image"  # type: ignore[attr-defined]


def test_closing_a_stream_early_stops_generation(tiny_checkpoint: Path) -> None:
    chat = ChatQwenVL(model=str(tiny_checkpoint), device="cpu", max_tokens=4000)
    stream = chat.stream([image_message()])
    next(stream)
    stream.close()  # sets the cancel event; the worker stops after its current token
    started = time.perf_counter()
    reply = chat.invoke([image_message()], max_tokens=2)
    assert reply.usage_metadata is not None
    assert reply.usage_metadata["output_tokens"] <= 2
    assert time.perf_counter() - started < 30


async def test_a_cancelled_async_call_stops_generating_at_once(tiny_checkpoint: Path) -> None:
    """A cancelled ``ainvoke`` (Ctrl-C in ``visionthink eval``) stops its generation: it ran in
    the loop's executor to its last token before, and the process waited for it at exit."""
    chat = ChatQwenVL(model=str(tiny_checkpoint), device="cpu", max_tokens=20_000)
    chat.engine()
    task = asyncio.create_task(chat.ainvoke([image_message()]))
    while not any(t.name == "qwen-vl-agenerate" for t in threading.enumerate()):
        await asyncio.sleep(0.05)
    await asyncio.sleep(0.5)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    started = time.perf_counter()
    reply = await chat.ainvoke([image_message()], max_tokens=2)  # the engine is free again
    assert reply.usage_metadata is not None
    assert time.perf_counter() - started < 20
    for thread in threading.enumerate():  # the cancelled generation's thread has ended
        if thread.name == "qwen-vl-agenerate":
            thread.join(timeout=5)
            assert not thread.is_alive()


def test_image_limits_and_local_files_are_settings_of_the_model(
    tiny_checkpoint: Path, tmp_path: Path
) -> None:
    png = encode_image(Image.new("RGB", (40, 30)), "PNG")
    path = tmp_path / "x.png"
    path.write_bytes(png.data)
    local = HumanMessage([{"type": "text", "text": "?"}, {"type": "image", "file_path": str(path)}])
    inline = HumanMessage([{"type": "image", "base64": png.base64, "mime_type": "image/png"}])
    with pytest.raises(LocalFileError, match="allow_local_files=True"):
        ChatQwenVL(model=str(tiny_checkpoint), device="cpu", max_tokens=2).invoke([local])
    allowed = ChatQwenVL(
        model=str(tiny_checkpoint), device="cpu", max_tokens=2, allow_local_files=True
    )
    assert isinstance(allowed.invoke([local]), AIMessage)
    with pytest.raises(ImageTooLargeError, match="over the limit of 1000"):
        ChatQwenVL(model=str(tiny_checkpoint), max_tokens=2, max_pixels=1000).invoke([inline])
    with pytest.raises(ImageTooLargeError, match="10-byte limit"):
        to_qwen_messages([inline], limits=ImageLimits(max_bytes=10))
    assert to_qwen_messages([inline], limits=ImageLimits(max_pixels=1200))[1][0].size == (40, 30)


def tool_image_message(size: tuple[int, int] = (112, 84)) -> ToolMessage:
    png = encode_image(Image.new("RGB", size, "teal"), "PNG")
    return ToolMessage(
        [
            {"type": "text", "text": "The high-resolution image:"},
            {"type": "image", "base64": png.base64, "mime_type": "image/png"},
        ],
        tool_call_id="c1",
    )


def test_tool_message_images_reach_the_model_and_the_token_count(chat: ChatQwenVL) -> None:
    call = {"name": "resize_image", "args": {"action": "resize"}, "id": "c1"}
    reply = chat.invoke(
        [HumanMessage("Zoom in."), AIMessage("", tool_calls=[call]), tool_image_message()]
    )
    assert reply.response_metadata["visual_tokens"] == visual_tokens(112, 84)


def test_consecutive_tool_results_share_one_user_turn_with_their_images() -> None:
    messages, images = to_qwen_messages(
        [ToolMessage("sunny", tool_call_id="c0"), tool_image_message(), HumanMessage("next")]
    )
    assert [m["role"] for m in messages] == ["user", "user"]
    assert [p.get("text", "<image>") for p in messages[0]["content"]] == [
        "<tool_response>\n",
        "sunny",
        "\n</tool_response>",
        "\n",
        "<tool_response>\n",
        "The high-resolution image:",
        "<image>",
        "\n</tool_response>",
    ]
    assert [im.size for im in images] == [(112, 84)]


def test_bound_tools_are_declared_when_the_template_has_no_tool_support(
    chat: ChatQwenVL,
) -> None:
    engine = chat.engine()
    assert "tools" not in engine.processor.chat_template  # the stock Qwen2.5-VL template
    prompt = engine.render([{"role": "user", "content": "hi"}], [protocol.resize_tool_schema()])
    assert prompt.startswith("<|im_start|>system\nYou are a helpful assistant.\n\n# Tools\n")
    assert '"name": "resize_image"' in prompt
    assert "<tool_call></tool_call> XML tags" in prompt


@pytest.mark.parametrize("choice", ["resize_image", "any", "required", True])
def test_tool_choice_forces_a_call_to_open(chat: ChatQwenVL, choice: object) -> None:
    bound = chat.bind_tools([protocol.resize_tool_schema()], tool_choice=choice)  # type: ignore[arg-type]
    chunks = list(bound.stream([HumanMessage("Zoom in.")]))
    reply = bound.invoke([HumanMessage("Zoom in.")])
    opening = '<tool_call>\n{"name": "resize_image", "arguments": '
    assert isinstance(reply.content, str)
    assert reply.content.startswith(opening)
    assert "".join(str(c.content) for c in chunks) == reply.content  # streamed the same


def test_tool_choice_any_with_several_tools_leaves_the_name_to_the_model(chat: ChatQwenVL) -> None:
    def zoom(factor: int) -> str:
        """Zoom."""
        return ""

    bound = chat.bind_tools([protocol.resize_tool_schema(), zoom], tool_choice="any")
    reply = bound.invoke([HumanMessage("Zoom in.")])
    assert str(reply.content).startswith('<tool_call>\n{"name": "')


def test_tool_choice_none_hides_the_tools(chat: ChatQwenVL) -> None:
    bound = chat.bind_tools([protocol.resize_tool_schema()], tool_choice="none")
    reply = bound.invoke([HumanMessage("Zoom in.")])
    assert reply.tool_calls == []
    assert not str(reply.content).startswith("<tool_call>")


def test_unknown_tool_choice_is_named() -> None:
    model = ChatQwenVL(model="tiny")
    with pytest.raises(ValueError, match="tool_choice 'zoom' names no bound tool"):
        model.bind_tools([protocol.resize_tool_schema()], tool_choice="zoom")
    with pytest.raises(ValueError, match="tool_choice must be"):
        model.bind_tools([protocol.resize_tool_schema()], tool_choice=False)
