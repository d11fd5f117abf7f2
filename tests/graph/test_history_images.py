"""Follow-up questions: the token account counts every image the request carries; history
images can be dropped from requests."""

from __future__ import annotations

from typing import Any

from langchain.agents import create_agent
from langchain_core.messages import BaseMessage, HumanMessage
from langgraph.checkpoint.memory import InMemorySaver

from tests.graph.conftest import (
    ANSWER,
    RESIZE_CALL,
    decode_block,
    png_bytes,
    render_text,
    scripted,
    v1_block,
)
from visionthink_agent import VisionThinkMiddleware, create_visionthink_agent
from visionthink_agent.graph.rendering import HISTORY_IMAGE_NOTE
from visionthink_agent.images import load_image, visual_tokens

RED = "<think>t</think><answer>red</answer>"


def carried_tokens(request: list[BaseMessage]) -> int:
    """Visual tokens of every image in a request, from the images themselves."""
    return sum(
        visual_tokens(*decode_block(block).size)
        for message in request
        if not isinstance(message.content, str)
        for block in message.content
        if isinstance(block, dict) and block.get("type") == "image"
    )


def ask(graph: Any, content: Any) -> dict[str, Any]:
    config = {"configurable": {"thread_id": "t"}}
    return graph.invoke({"messages": [HumanMessage(content=content)]}, config)


def test_follow_up_counts_the_earlier_images_it_re_sends(image_bytes: bytes) -> None:
    model = scripted(RESIZE_CALL, ANSWER, RED)
    graph = create_visionthink_agent(model).compile(checkpointer=InMemorySaver())
    ask(graph, [{"type": "text", "text": "Total?"}, v1_block(image_bytes)])
    second = ask(graph, "And the colour?")
    earlier = load_image(image_bytes).token_account(resized=True)
    account = second["visual_tokens"]
    assert account["history"] == earlier.first_look + earlier.high_res  # e.g. 99 + 391
    assert account["used"] == carried_tokens(model.seen[2]) == account["history"]
    assert (account["first_look"], account["high_res"]) == (0, 0)
    assert account["full_res_baseline"] == earlier.full_res_baseline
    assert account["saved"] == account["full_res_baseline"] - account["used"]


def test_drop_history_images_keeps_the_current_image_and_allows_a_new_resize(
    image_bytes: bytes,
) -> None:
    model = scripted(RESIZE_CALL, ANSWER, RESIZE_CALL, RED)
    graph = create_visionthink_agent(model, drop_history_images=True).compile(
        checkpointer=InMemorySaver()
    )
    ask(graph, [{"type": "text", "text": "Total?"}, v1_block(image_bytes)])
    second = ask(graph, "And the colour?")
    first_request_of_follow_up = model.seen[2]
    # the earlier full-resolution view is left out; the image asked about keeps its first look
    assert HISTORY_IMAGE_NOTE in render_text(first_request_of_follow_up[3])
    assert decode_block(first_request_of_follow_up[1].content[1]).size == (112, 56)
    # its earlier view is not shown any more, so this question may resize again
    last_request = model.seen[3]
    assert decode_block(last_request[-1].content[1]).size == (224, 112)
    assert second["resized"] is True
    account = load_image(image_bytes).token_account(resized=True)
    assert second["visual_tokens"]["history"] == account.first_look
    assert second["visual_tokens"]["used"] == carried_tokens(last_request)


def test_drop_history_images_with_a_new_image_sends_only_that_image(image_bytes: bytes) -> None:
    model = scripted(RESIZE_CALL, ANSWER, ANSWER)
    graph = create_visionthink_agent(model, drop_history_images=True).compile(
        checkpointer=InMemorySaver()
    )
    ask(graph, [{"type": "text", "text": "Total?"}, v1_block(image_bytes)])
    other = png_bytes((300, 200), "blue")
    result = ask(graph, [{"type": "text", "text": "And this?"}, v1_block(other)])
    assert carried_tokens(model.seen[2]) == visual_tokens(150, 100)  # only the new first look
    assert result["visual_tokens"] == load_image(other).token_account(resized=False).as_dict()


def test_middleware_native_drop_history_images(image_bytes: bytes) -> None:
    model = scripted(ANSWER, RED)
    middleware = VisionThinkMiddleware(drop_history_images=True)
    agent = create_agent(model, middleware=[middleware], checkpointer=InMemorySaver())
    ask(agent, [{"type": "text", "text": "Total?"}, v1_block(image_bytes)])
    other = png_bytes((300, 200), "blue")
    result = ask(agent, [{"type": "text", "text": "And this?"}, v1_block(other)])
    request = model.seen[1]
    assert HISTORY_IMAGE_NOTE in render_text(request[1])
    assert carried_tokens(request) == visual_tokens(150, 100)
    assert "history" not in result["visual_tokens"]
