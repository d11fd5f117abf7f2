"""VisionThink inside any ``langchain.agents.create_agent`` agent, through its middleware.

The agent keeps its own tools (here a tiny currency converter); :class:`VisionThinkMiddleware`
shows the model the half-size first look of the user's image, adds the ``resize_image`` tool,
answers it with the full image, and reports ``answer``, ``resized`` and ``visual_tokens``.

Run it offline with the tiny random-weight model (answers are noise, the plumbing is real)::

    python examples/middleware_agent.py examples/images/receipt.png "What is the total?"
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

from langchain.agents import create_agent
from langchain_core.messages import HumanMessage
from langchain_core.tools import tool

from visionthink_agent.graph import VisionThinkMiddleware
from visionthink_agent.graph.rendering import image_payload_block
from visionthink_agent.images import load_image


@tool
def usd_to_eur(amount: float) -> float:
    """Convert an amount in US dollars to euros (a fixed demo rate of 0.92)."""
    return round(amount * 0.92, 2)


def create_middleware_agent(model: Any, *, mode: str = "prompted") -> Any:
    """A compiled ``create_agent`` agent with the VisionThink middleware and one extra tool.

    Args:
        model: the chat model; ``mode="prompted"`` for VisionThink / Qwen2.5-VL checkpoints,
            ``"native"`` for native tool-calling models.
        mode: the middleware's tool protocol.

    Example:
        >>> agent = create_middleware_agent(model)  # doctest: +SKIP
    """
    return create_agent(
        model,
        tools=[usd_to_eur],
        middleware=[VisionThinkMiddleware(mode=mode)],  # type: ignore[arg-type]
    )


def ask(agent: Any, image: str, question: str) -> dict[str, Any]:
    """Ask ``agent`` one question about the image at ``image`` and return the final state.

    Example:
        >>> state = ask(agent, "receipt.png", "What is the total?")  # doctest: +SKIP
    """
    content: list[str | dict[Any, Any]] = [
        {"type": "text", "text": question},
        image_payload_block(load_image(image).high_res_payload()),
    ]
    result: dict[str, Any] = agent.invoke({"messages": [HumanMessage(content=content)]})
    return result


def main(argv: list[str] | None = None) -> int:
    """Run the middleware agent on one image question with the tiny model."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("image")
    parser.add_argument("question")
    args = parser.parse_args(argv)
    from visionthink_agent.backends.transformers_chat import ChatQwenVL

    agent = create_middleware_agent(ChatQwenVL(model="tiny", max_new_tokens=48))
    result = ask(agent, args.image, args.question)
    tokens = result.get("visual_tokens") or {}
    print(
        f"resized={result.get('resized')} status={result.get('status')} "
        f"visual_tokens={tokens.get('used')}/{tokens.get('full_res_baseline')} "
        f"answer={result.get('answer')!r}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
