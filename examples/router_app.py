"""A larger LangGraph app that embeds the VisionThink agent as a subgraph.

A router looks at the newest user message: questions that carry an image go to the VisionThink
agent (compiled and added as a node, so it shares the ``messages`` channel and reports
``answer``, ``resized`` and ``visual_tokens`` into the parent state); text-only questions go to a
plain chat model. The parent graph is what you would deploy; the VisionThink subgraph is one
node in it.

Run it offline with the tiny random-weight model (answers are noise, the routing is real)::

    python examples/router_app.py examples/images/receipt.png "What is the total?"
    python examples/router_app.py - "What is the capital of France?"
"""

from __future__ import annotations

import argparse
import sys
from typing import Annotated, Any, Literal

from langchain_core.messages import AnyMessage, HumanMessage
from langgraph.graph import END, START, StateGraph
from langgraph.graph.message import add_messages
from typing_extensions import NotRequired, TypedDict

from visionthink_agent.graph import create_visionthink_agent
from visionthink_agent.graph.rendering import image_payload_block
from visionthink_agent.images import is_image_block, load_image

TEXT_SYSTEM_PROMPT = "You are a helpful assistant. Answer briefly."


class RouterState(TypedDict):
    """The app's state: the conversation, where the last question went, and VisionThink's
    result keys (filled when the vision route ran)."""

    messages: Annotated[list[AnyMessage], add_messages]
    route: NotRequired[str]
    answer: NotRequired[str | None]
    resized: NotRequired[bool]
    visual_tokens: NotRequired[dict[str, Any] | None]


def has_image(message: AnyMessage) -> bool:
    """Whether a message carries an image block.

    Example:
        >>> has_image(HumanMessage(content=[{"type": "image_url", "image_url": {"url": "x"}}]))
        True
        >>> has_image(HumanMessage(content="hello"))
        False
    """
    content = message.content
    return isinstance(content, list) and any(is_image_block(block) for block in content)


def route(state: RouterState) -> Literal["vision", "text"]:
    """Send image questions to the VisionThink subgraph, the rest to the text model."""
    return "vision" if has_image(state["messages"][-1]) else "text"


def create_router_app(vision_model: Any, text_model: Any) -> StateGraph[Any, Any, Any, Any]:
    """The router graph (uncompiled): ``vision`` is the VisionThink agent, ``text`` a chat model.

    Args:
        vision_model: the VisionThink-protocol model (prompted mode).
        text_model: any chat model for text-only questions.

    Example:
        >>> from langchain_core.language_models import FakeListChatModel
        >>> app = create_router_app(FakeListChatModel(responses=["x"]),
        ...                         FakeListChatModel(responses=["Paris"])).compile()
        >>> out = app.invoke({"messages": [HumanMessage("Capital of France?")]})
        >>> out["route"], out["messages"][-1].content
        ('text', 'Paris')
    """

    def answer_text(state: RouterState) -> dict[str, Any]:
        reply = text_model.invoke([("system", TEXT_SYSTEM_PROMPT), *state["messages"]])
        return {"messages": [reply], "route": "text", "answer": reply.text, "resized": False}

    def mark_vision(state: RouterState) -> dict[str, Any]:
        return {"route": "vision"}

    graph = StateGraph(RouterState)
    graph.add_node("text", answer_text)
    graph.add_node("vision", create_visionthink_agent(vision_model).compile())
    graph.add_node("mark_vision", mark_vision)
    graph.add_conditional_edges(START, route, {"vision": "vision", "text": "text"})
    graph.add_edge("vision", "mark_vision")
    graph.add_edge("mark_vision", END)
    graph.add_edge("text", END)
    return graph


def main(argv: list[str] | None = None) -> int:
    """Ask one question (with an image path, or ``-`` for none) through the router."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("image", help="image path, or '-' for a text-only question")
    parser.add_argument("question")
    args = parser.parse_args(argv)
    from visionthink_agent.backends.transformers_chat import ChatQwenVL

    model = ChatQwenVL(model="tiny", max_new_tokens=48)
    app = create_router_app(model, model).compile()
    content: list[Any] = [{"type": "text", "text": args.question}]
    if args.image != "-":
        content.append(image_payload_block(load_image(args.image).high_res_payload()))
    result = app.invoke({"messages": [HumanMessage(content=content)]})
    tokens = result.get("visual_tokens") or {}
    print(
        f"route={result['route']} resized={result.get('resized', False)} "
        f"visual_tokens={tokens.get('used', 0)}/{tokens.get('full_res_baseline', 0)} "
        f"answer={result.get('answer')!r}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
