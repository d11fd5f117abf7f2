"""Parity: the LangGraph prompted mode and the veRL agent loop show the model the same tokens.

The graph (H3's ``create_visionthink_agent`` in prompted mode) runs with a scripted chat model
that records what it is sent; that request, as ``ChatOpenAI`` would put it on the wire, is
rendered by the tiny Qwen2.5-VL processor's chat template (what an OpenAI-compatible server
does). The agent loop's token ids up to the second model turn must be identical. Protocol §1.4's
one documented difference (no newline after ``<|im_end|>`` in the authors' token-level rollout)
does not arise here: veRL's Qwen Continuous Token builder inserts that newline exactly where the
chat template has it.
"""

from __future__ import annotations

import base64
import io
from typing import Any

import pytest

pytest.importorskip("verl")
pytest.importorskip("langgraph")

from langchain_core.messages import HumanMessage
from langchain_openai import ChatOpenAI
from PIL import Image

from tests.graph.conftest import scripted
from tests.training.conftest import gradient_image
from tests.training.loop_harness import ANSWER_TURN, RESIZE_TURN, run_loop, turn_ids
from visionthink_agent.graph import create_visionthink_agent

pytestmark = pytest.mark.verl


def _wire_messages(sent: list[Any]) -> list[dict[str, Any]]:
    """The ``messages`` of the chat-completions request ChatOpenAI would send (no network)."""
    client = ChatOpenAI(model="visionthink", api_key="unused", base_url="http://127.0.0.1:9/v1")
    payload = client._get_request_payload(sent)
    return list(payload["messages"])


def _render_wire(processor: Any, messages: list[dict[str, Any]]) -> list[int]:
    """Render an OpenAI request the way a server does: chat template, then the processor."""
    images = []
    for message in messages:
        for block in message["content"] if isinstance(message["content"], list) else []:
            if block.get("type") == "image_url":
                data = block["image_url"]["url"].split(",", 1)[1]
                images.append(Image.open(io.BytesIO(base64.b64decode(data))).convert("RGB"))
    text = processor.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)
    return processor(text=[text], images=images, return_tensors="pt")["input_ids"][0].tolist()


async def test_graph_and_agent_loop_render_the_same_tokens(
    loop_config, tokenizer, processor, dataset_row
):
    row = dataset_row()
    question = row["extra_info"]["question"]
    buf = io.BytesIO()
    gradient_image().save(buf, "PNG")  # the same picture the dataset row was built from
    image_block = {
        "type": "image",
        "base64": base64.b64encode(buf.getvalue()).decode(),
        "mime_type": "image/png",
    }

    model = scripted(RESIZE_TURN, ANSWER_TURN)
    graph = create_visionthink_agent(model, mode="prompted").compile()
    await graph.ainvoke(
        {"messages": [HumanMessage([{"type": "text", "text": question}, image_block])]}
    )
    assert len(model.seen) == 2
    wire = _wire_messages(model.seen[1])
    assert [m["role"] for m in wire] == ["system", "user", "assistant", "user"]
    graph_ids = _render_wire(processor, wire)

    output, _ = await run_loop(loop_config, tokenizer, processor, row, [RESIZE_TURN, ANSWER_TURN])
    loop_ids = output.prompt_ids + output.response_ids
    loop_ids = loop_ids[: len(loop_ids) - len(turn_ids(tokenizer, ANSWER_TURN))]

    assert graph_ids == loop_ids
