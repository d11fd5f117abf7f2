"""The ``resize_image`` tool: the full-resolution image, on request, as protocol §1.4.

:func:`create_resize_image_tool` returns a ``BaseTool`` that works in any ``ToolNode``; it
answers with :func:`~visionthink_agent.graph.replies.high_res_reply` (the one place that
answers a high-resolution request): a ``ToolMessage`` (text) and a ``HumanMessage`` holding
``tool_success_prefix`` + the high-resolution image + ``tool_success_suffix`` +
``tool_followup_prompt``, or, for a bad call (no image, more than ``max_resizes`` resizes of one
image), an error ``ToolMessage`` and the protocol's error turn. Model mistakes never raise.

Example:
    >>> tool = create_resize_image_tool()
    >>> tool.invoke({"name": "resize_image", "args": {"action": "resize"}, "id": "c1",
    ...              "type": "tool_call"}).content.split(";")[0]
    'Error: resize_image reads the conversation from the graph state'
"""

from __future__ import annotations

from typing import Any

from langchain_core.tools import BaseTool
from langgraph.prebuilt import ToolRuntime
from pydantic import BaseModel, ConfigDict, Field

from visionthink_agent import protocol
from visionthink_agent.graph.replies import ProtocolTool, reply_in_tool_node
from visionthink_agent.images import DEFAULT_LIMITS, ImageLimits

__all__ = ["create_resize_image_tool"]


class _ResizeArgs(BaseModel):
    model_config = ConfigDict(arbitrary_types_allowed=True)

    action: str = Field(
        description=protocol.resize_tool_schema()["function"]["parameters"]["properties"]["action"][
            "description"
        ],
        json_schema_extra={"enum": [protocol.RESIZE_ACTION]},
    )
    runtime: ToolRuntime | None = None  # injected by ToolNode; None when invoked directly


def create_resize_image_tool(
    *,
    max_resizes: int = protocol.MAX_RESIZES,
    name: str = protocol.RESIZE_TOOL_NAME,
    image_in_tool_message: bool = False,
    embed_image: bool = True,
    allow_private_urls: bool = False,
    allow_local_files: bool = False,
    image_limits: ImageLimits = DEFAULT_LIMITS,
    drop_history_images: bool = False,
) -> BaseTool:
    """The resize tool for any ``ToolNode`` (or ``create_agent``), answering as protocol §1.4.

    The tool finds the conversation's current image (the last one a user sent) in the state the
    ``ToolNode`` injects (its ``runtime``) and returns a ``Command`` whose update holds a
    ``ToolMessage`` and a ``HumanMessage`` with the high-resolution image between the protocol's
    texts (with ``image_in_tool_message``, just the ``ToolMessage``). Invoked directly, outside a
    graph, it has no conversation and answers with an error message saying so. Its schema is the
    protocol's ``resize_image`` (``{"action": "resize"}``).

    When the model calls this tool and another tool in one turn, the ``HumanMessage`` must come
    after the last tool result; a ``ToolNode`` writes results in call order, so apply
    :func:`~visionthink_agent.graph.turn_after_tool_results` to each result in its
    ``wrap_tool_call`` (``VisionThinkMiddleware`` does this in ``create_agent``). Without it, a
    resize call that is not the turn's last call leaves its user turn between two tool results.

    Args:
        max_resizes: high-resolution views allowed per image; a further call gets the
            protocol's error turn (not an exception).
        name: the tool's name (the protocol's ``resize_image`` by default).
        image_in_tool_message: return the image inside the ``ToolMessage`` instead (OpenAI
            Responses API, which accepts images in function outputs).
        embed_image: put the image's data in the reply (default, for any graph); False puts a
            reference by id, resolved by :func:`native_messages` / :func:`prompted_messages`
            (what the VisionThink agent and middleware do, so state keeps one copy).
        allow_private_urls: let image URLs point at private / loopback addresses.
        allow_local_files: let image blocks name local files (``file_path``, ``file://``, a
            path); off by default, like private URLs.
        image_limits: the pixel and byte limits every image is read under
            (:class:`~visionthink_agent.images.ImageLimits`; ``load_image``'s defaults).
        drop_history_images: as in :func:`~visionthink_agent.graph.high_res_reply` (set it as
            the renderers are set).

    Example:
        >>> from langgraph.prebuilt import ToolNode
        >>> tool = create_resize_image_tool()
        >>> node = ToolNode([tool])
        >>> tool.name, tool.tool_call_schema["required"]
        ('resize_image', ['action'])
    """
    if max_resizes < 0:
        raise ValueError(f"max_resizes must be >= 0, got {max_resizes}")

    def resize_image(action: str, runtime: ToolRuntime | None = None) -> Any:
        return reply_in_tool_node(
            runtime,
            {"name": name, "args": {"action": action}},
            max_resizes=max_resizes,
            tool_name=name,
            image_in_tool_message=image_in_tool_message,
            embed_image=embed_image,
            allow_private_urls=allow_private_urls,
            allow_local_files=allow_local_files,
            image_limits=image_limits,
            drop_history_images=drop_history_images,
        )

    function = protocol.resize_tool_schema()["function"]
    return ProtocolTool(
        name=name,
        description=function["description"],
        func=resize_image,
        args_schema=_ResizeArgs,
        parameters=function["parameters"],
    )
