"""A multimodal chatbot over the VisionThink agent (Gradio ``ChatInterface(multimodal=True)``).

Upload an image and ask about it. The reply streams the agent's thinking turn by turn, says when
the model asked for the full-resolution image, and ends with the visual-token account (tokens
used against always sending the full image). Each browser session is its own conversation: the
graph is compiled with a checkpointer and the Gradio session hash is the LangGraph thread id, so
follow-up questions see the earlier turns (and the earlier image).

Run it (offline, with the tiny random-weight model; its answers are noise, the plumbing is real)::

    python examples/chatbot.py                      # http://127.0.0.1:7860
    VISIONTHINK_BASE_URL=http://127.0.0.1:8000/v1 VISIONTHINK_MODEL=Senqiao/VisionThink-Efficient \\
        python examples/chatbot.py                  # a vLLM / OpenAI-compatible server
"""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import gradio as gr
from langchain_core.messages import AIMessage, AIMessageChunk, HumanMessage
from langchain_core.runnables import RunnableConfig
from langgraph.checkpoint.memory import InMemorySaver

from visionthink_agent.graph import TOKEN_ACCOUNT_EVENT, create_visionthink_agent
from visionthink_agent.graph.rendering import image_payload_block
from visionthink_agent.images import load_image
from visionthink_agent.parsing import extract_answer, parse_tool_call, split_think

RESIZE_NOTE = "**Requested the full-resolution image** (the first look was not enough)"
TOKENS_LABEL = "Visual tokens"


@dataclass
class ReplyView:
    """What the reply shows so far: model turns (raw text), the resize flag, the token account.

    Example:
        >>> view = ReplyView(turns=["<think>tiny print</think><answer>42</answer>"])
        >>> print(view.render())
        > *Thinking:* tiny print
        <BLANKLINE>
        **Answer:** 42
    """

    turns: list[str] = field(default_factory=list)
    tokens: dict[str, Any] | None = None

    def render(self) -> str:
        """Markdown for the chat bubble."""
        lines: list[str] = []
        for i, turn in enumerate(self.turns):
            thinking, rest = split_think(turn)
            if thinking:
                lines += [f"> *Thinking:* {thinking}", ""]
            if parse_tool_call(turn).found:
                lines += [RESIZE_NOTE, ""]
            elif rest and i == len(self.turns) - 1:
                lines.append(f"**Answer:** {extract_answer(turn)}")
        if self.tokens:
            used, full = self.tokens["used"], self.tokens["full_res_baseline"]
            saved = self.tokens["saved"]
            verb = "saved" if saved >= 0 else "extra"
            lines += [
                "",
                f"*{TOKENS_LABEL}: {used} used vs {full} at full resolution "
                f"({abs(saved)} {verb}, {100 * used / full:.0f}%)*",
            ]
        return "\n".join(lines).strip()


def user_message(message: dict[str, Any]) -> HumanMessage:
    """Turn a ``MultimodalTextbox`` value (``{"text", "files"}``) into the agent's input.

    Example:
        >>> user_message({"text": "hi", "files": []}).content
        [{'type': 'text', 'text': 'hi'}]
    """
    content: list[Any] = [{"type": "text", "text": message.get("text") or ""}]
    for file in message.get("files") or []:
        path = file if isinstance(file, str) else file.get("path")
        content.append(image_payload_block(load_image(path).high_res_payload()))
    return HumanMessage(content=content)


class VisionThinkChat:
    """The chat handler: one compiled agent, one LangGraph thread per Gradio session.

    Example:
        >>> from tests.evaluation.fakes import OracleVisionModel  # doctest: +SKIP
        >>> chat = VisionThinkChat(OracleVisionModel(answers={}, full_width=10))  # doctest: +SKIP
    """

    def __init__(self, model: Any) -> None:
        self.agent = create_visionthink_agent(model).compile(checkpointer=InMemorySaver())

    async def respond(
        self, message: dict[str, Any], history: Sequence[Any], request: gr.Request | None = None
    ) -> AsyncIterator[str]:
        """Stream the reply to one user message (Gradio's ``fn``)."""
        thread = getattr(request, "session_hash", None) or f"local-{uuid.uuid4().hex}"
        config: RunnableConfig = {"configurable": {"thread_id": thread}}
        view, live = ReplyView(), ""
        stream: AsyncIterator[Any] = self.agent.astream(
            {"messages": [user_message(message)]},
            config,
            stream_mode=["messages", "updates", "custom"],
        )
        async for kind, data in stream:
            if kind == "messages":
                chunk, _ = data
                if isinstance(chunk, AIMessageChunk) and isinstance(chunk.content, str):
                    live += chunk.content
                    yield ReplyView([*view.turns, live], view.tokens).render()
            elif kind == "updates":
                for update in data.values():
                    for msg in (update or {}).get("messages", []):
                        if isinstance(msg, AIMessage) and not isinstance(msg, AIMessageChunk):
                            view.turns.append(msg.text)
                            live = ""
                yield view.render()
            elif kind == "custom" and data.get("event") == TOKEN_ACCOUNT_EVENT:
                view.tokens = data.get("visual_tokens")
                yield view.render()


def default_model() -> Any:
    """The model the example runs by default: an OpenAI-compatible server when
    ``VISIONTHINK_BASE_URL`` is set (model name in ``VISIONTHINK_MODEL``), else the tiny
    in-process Qwen2.5-VL, which needs no download."""
    base_url = os.environ.get("VISIONTHINK_BASE_URL")
    if base_url:
        from visionthink_agent.backends.openai_compatible import create_openai_compatible_model

        name = os.environ.get("VISIONTHINK_MODEL", "Senqiao/VisionThink-Efficient")
        return create_openai_compatible_model(name, base_url=base_url, streaming=True)
    from visionthink_agent.backends.transformers_chat import ChatQwenVL

    return ChatQwenVL(model="tiny", max_new_tokens=64, streaming=True)


def create_app(model: Any | None = None) -> gr.ChatInterface:
    """The Gradio app around :class:`VisionThinkChat` (``model`` defaults to :func:`default_model`).

    Example:
        >>> app = create_app(object())  # doctest: +SKIP
    """
    chat = VisionThinkChat(model if model is not None else default_model())
    return gr.ChatInterface(
        chat.respond,
        multimodal=True,
        title="VisionThink chat",
        description=(
            "The model first sees the image at half size and asks for the full image only when "
            "it needs the detail. Upload an image and ask about it."
        ),
        textbox=gr.MultimodalTextbox(file_types=["image"], placeholder="Ask about an image"),
        api_name="chat",
    )


if __name__ == "__main__":
    create_app().launch(server_name="127.0.0.1")
