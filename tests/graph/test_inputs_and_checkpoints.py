"""Image inputs in every block format, and multi-turn threads with checkpointers."""

from __future__ import annotations

import base64
import sqlite3
from pathlib import Path

import pytest
from langchain_core.messages import HumanMessage
from langgraph.checkpoint.memory import InMemorySaver
from langgraph.checkpoint.sqlite import SqliteSaver

from tests.graph.conftest import (
    ANSWER,
    RESIZE_CALL,
    decode_block,
    png_bytes,
    render_text,
    scripted,
    v1_block,
)
from visionthink_agent import create_visionthink_agent, protocol
from visionthink_agent.graph.image_store import clear_image_cache, image_key
from visionthink_agent.images import load_image


def blocks(data: bytes, path: Path) -> dict[str, dict]:
    b64 = base64.b64encode(data).decode()
    url = f"data:image/png;base64,{b64}"
    path.write_bytes(data)
    return {
        "langchain_v1": v1_block(data),
        "openai_image_url": {"type": "image_url", "image_url": {"url": url}},
        "camel_case": {"type": "image", "data": b64, "mimeType": "image/png"},
        "file_path": {"type": "image", "file_path": str(path)},
        "legacy_url": {"type": "image", "source_type": "url", "url": url},
    }


@pytest.mark.parametrize(
    "fmt", ["langchain_v1", "openai_image_url", "camel_case", "file_path", "legacy_url"]
)
def test_every_image_block_format_is_normalised(
    image_bytes: bytes, tmp_path: Path, fmt: str
) -> None:
    block = blocks(image_bytes, tmp_path / "img.png")[fmt]
    model = scripted(ANSWER)
    graph = create_visionthink_agent(model, allow_local_files=fmt == "file_path").compile()
    result = graph.invoke(
        {"messages": [HumanMessage(content=[{"type": "text", "text": "Q"}, block])]}
    )
    stored = result["messages"][0].content[1]
    assert stored == {**v1_block(image_bytes), "id": image_key(image_bytes)}
    assert model.seen[0][1].content[1]["mime_type"] == "image/png"


def test_unreadable_image_is_a_clear_error() -> None:
    graph = create_visionthink_agent(scripted(ANSWER)).compile()
    bad = {"type": "image", "base64": base64.b64encode(b"not an image").decode()}
    with pytest.raises(Exception, match="not an image"):
        graph.invoke({"messages": [HumanMessage(content=[bad])]})


def chat(graph, thread: str, content) -> dict:
    config = {"configurable": {"thread_id": thread}}
    return graph.invoke({"messages": [HumanMessage(content=content)]}, config)


def test_multi_turn_chat_on_one_thread_in_memory(image_bytes: bytes) -> None:
    model = scripted(RESIZE_CALL, ANSWER, RESIZE_CALL, "<think>t</think><answer>red</answer>")
    graph = create_visionthink_agent(model).compile(checkpointer=InMemorySaver())
    first = chat(graph, "t1", [{"type": "text", "text": "Total?"}, v1_block(image_bytes)])
    assert first["resized"] is True
    second = chat(graph, "t1", "And the colour?")
    assert second["answer"] == "red"
    assert second["model_turns"] == 2
    # The follow-up is about the same image, which was already given at full resolution.
    assert second["resized"] is False
    sent = model.seen[3]
    assert [m.type for m in sent] == [
        "system", "human", "ai", "human", "ai", "human", "ai", "human"
    ]  # fmt: skip
    assert sent[5].content == "And the colour?"
    assert "already resized" in render_text(sent[7])
    assert second["usage"]["total_tokens"] == 30  # this question's turns only


def test_a_new_image_on_the_thread_can_be_resized_again(image_bytes: bytes) -> None:
    model = scripted(RESIZE_CALL, ANSWER, RESIZE_CALL, ANSWER)
    graph = create_visionthink_agent(model).compile(checkpointer=InMemorySaver())
    chat(graph, "t1", [{"type": "text", "text": "Total?"}, v1_block(image_bytes)])
    other = png_bytes((300, 200), "blue")
    result = chat(graph, "t1", [{"type": "text", "text": "And this one?"}, v1_block(other)])
    sent = model.seen[3]
    assert render_text(sent[5]) == protocol.render_parts(protocol.user_turn("And this one?"))
    assert render_text(sent[7]) == protocol.render_parts(protocol.tool_success_turn())
    assert decode_block(sent[7].content[1]).size == (300, 200)
    assert result["resized"] is True
    # the request re-sent the first question's first look and full image: they count
    own = load_image(other).token_account(resized=True)
    earlier = load_image(image_bytes).token_account(resized=True)
    used = own.used + earlier.used
    baseline = own.full_res_baseline + earlier.full_res_baseline
    assert result["visual_tokens"] == {
        **own.as_dict(),
        "history": earlier.used,
        "used": used,
        "full_res_baseline": baseline,
        "saved": baseline - used,
        "ratio": used / baseline,
    }


def test_sqlite_thread_resumes_after_a_restart(image_bytes: bytes, tmp_path: Path) -> None:
    db = tmp_path / "threads.sqlite"
    model = scripted(ANSWER)
    with sqlite3.connect(db, check_same_thread=False) as conn:
        graph = create_visionthink_agent(model).compile(checkpointer=SqliteSaver(conn))
        chat(graph, "t1", [{"type": "text", "text": "Total?"}, v1_block(image_bytes)])
    clear_image_cache()  # a new process: images are re-read from the checkpoint
    model2 = scripted(RESIZE_CALL, "<think>t</think><answer>red</answer>")
    with sqlite3.connect(db, check_same_thread=False) as conn:
        graph = create_visionthink_agent(model2).compile(checkpointer=SqliteSaver(conn))
        result = chat(graph, "t1", "What colour is it?")
    sent = model2.seen[1]
    assert [m.type for m in sent] == ["system", "human", "ai", "human", "ai", "human"]
    assert render_text(sent[1]) == protocol.render_parts(protocol.user_turn("Total?"))
    assert render_text(sent[5]) == protocol.render_parts(protocol.tool_success_turn())
    assert result["resized"] is True
    assert result["answer"] == "red"
    assert result["visual_tokens"]["high_res"] > 0
