"""The per-question result keys (``answer``, ``resized``, ``zooms``, ``visual_tokens``, ...).

Computed from the conversation alone, so the agent graph and the ``create_agent`` middleware
report the same thing.

Example:
    >>> from langchain_core.messages import AIMessage, HumanMessage
    >>> result = question_result([HumanMessage("2+2?"), AIMessage("<answer>4</answer>")])
    >>> result["answer"], result["status"], result["visual_tokens"], result["model_turns"]
    ('4', 'no_image', None, 1)
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, ToolMessage

from visionthink_agent.graph.conversation import (
    MARKER,
    current_image_block,
    image_blocks,
    is_tool_turn,
    message_text,
    question_start,
    zoom_boxes,
)
from visionthink_agent.graph.image_store import block_zoom_box
from visionthink_agent.graph.rendering import history_image_messages, resolve_image
from visionthink_agent.graph.state import TOKEN_ACCOUNT_EVENT, Status, TokenUsage
from visionthink_agent.images import DEFAULT_LIMITS, QWEN2_5_VL, ImageLimits, VisionGeometry
from visionthink_agent.parsing import extract_answer, is_answer

__all__ = ["empty_result", "question_result", "token_account_event", "turn_limit_replies"]


def empty_result() -> dict[str, Any]:
    """The result keys reset for a new question.

    Example:
        >>> empty_result()["status"] is None
        True
    """
    return {
        "answer": None,
        "resized": False,
        "zooms": 0,
        "high_res_request": False,
        "status": None,
        "visual_tokens": None,
        "usage": TokenUsage(input_tokens=0, output_tokens=0, total_tokens=0),
        "model_turns": 0,
    }


def _usage(turns: Sequence[AIMessage]) -> TokenUsage:
    inputs = outputs = totals = 0
    for turn in turns:
        usage = turn.usage_metadata
        if usage:
            inputs += int(usage.get("input_tokens", 0) or 0)
            outputs += int(usage.get("output_tokens", 0) or 0)
            totals += int(usage.get("total_tokens", 0) or 0)
    return TokenUsage(input_tokens=inputs, output_tokens=outputs, total_tokens=totals)


def question_result(
    messages: Sequence[BaseMessage],
    *,
    turn_limit: bool = False,
    allow_private_urls: bool = False,
    allow_local_files: bool = False,
    image_limits: ImageLimits = DEFAULT_LIMITS,
    drop_history_images: bool = False,
    geometry: VisionGeometry = QWEN2_5_VL,
) -> dict[str, Any]:
    """Summarise the latest question of a conversation.

    The token account counts every image the question's requests carry: the first look, the
    high-resolution image when it was given, and each zoomed-in crop (its own tokens, from its
    pixel box: ``SourceImage.token_account(resized=..., zooms=[boxes])``). On a follow-up, the
    images of earlier questions are re-sent with the conversation (their first looks and
    high-resolution views): they are counted under ``history`` and in ``used``, and the
    baseline counts those questions' user images at full resolution, as an always-full-
    resolution conversation would carry them. ``first_look`` is the image this question sent
    (0 for a follow-up about an earlier image, whose first look is history). With
    ``drop_history_images`` the images the request leaves out are not counted.

    Args:
        messages: the conversation, ending with the question's last model turn (and, at the
            turn limit, the replies to its unanswered calls).
        turn_limit: the model was stopped while still calling the tool.
        allow_private_urls: let image URLs point at private / loopback addresses.
        allow_local_files: let image blocks name local files (``file_path``, ``file://``, a
            path); off by default, like private URLs.
        image_limits: the pixel and byte limits every image is read under
            (:class:`~visionthink_agent.images.ImageLimits`; ``load_image``'s defaults).
        drop_history_images: the requests leave out earlier questions' images
            (:func:`~visionthink_agent.graph.rendering.history_image_messages`).
        geometry: the model family's token arithmetic (:data:`~visionthink_agent.images.
            QWEN2_5_VL` by default, :data:`~visionthink_agent.images.QWEN3_VL`).

    Returns:
        ``answer``, ``resized``, ``zooms``, ``high_res_request``, ``status``, ``visual_tokens``,
        ``usage``, ``model_turns`` (see :mod:`visionthink_agent.graph.state`).

    Example:
        >>> from langchain_core.messages import HumanMessage
        >>> from PIL import Image
        >>> from visionthink_agent.graph.image_store import normalise_image_block
        >>> image = normalise_image_block(Image.new("RGB", (640, 480)))
        >>> thread = [HumanMessage([{"type": "text", "text": "Total?"}, image]),
        ...           AIMessage("<answer>4</answer>"), HumanMessage("Colour?"),
        ...           AIMessage("<answer>red</answer>")]
        >>> account = question_result(thread)["visual_tokens"]
        >>> account["first_look"], account["history"], account["used"], account["full_res_baseline"]
        (0, 99, 99, 391)
    """
    start = max(question_start(messages), 0)
    question = messages[start:]
    turns = [m for m in question if isinstance(m, AIMessage)]
    resized = any((m.additional_kwargs.get(MARKER) or {}).get("turn") == "resize" for m in question)
    zooms = zoom_boxes(question)
    block = current_image_block(messages)
    account = None
    if block is not None:
        source = resolve_image(
            block,
            messages,
            allow_private_urls=allow_private_urls,
            allow_local_files=allow_local_files,
            image_limits=image_limits,
        )
        own = source.token_account(resized=resized, zooms=zooms, geometry=geometry)
        account = own.as_dict()
        history, history_baseline = _history_tokens(
            messages,
            start,
            drop_history_images=drop_history_images,
            allow_private_urls=allow_private_urls,
            allow_local_files=allow_local_files,
            image_limits=image_limits,
            geometry=geometry,
        )
        sent_here = bool(image_blocks(messages[start]))
        if history or not sent_here:
            first_look = own.first_look if sent_here else 0
            used = first_look + own.high_res + history
            baseline = (own.full_res_baseline if sent_here else 0) + history_baseline
            account.update(
                first_look=first_look,
                history=history,
                full_res_baseline=baseline,
                used=used,
                saved=baseline - used,
                ratio=used / baseline if baseline else 0.0,
            )
    answer = extract_answer(message_text(turns[-1])) if turns else None
    status: Status = "answered" if block else "no_image"
    if turn_limit:
        status = "turn_limit"
    elif answer is None or not is_answer(answer):
        status = "no_answer"
    return {
        "answer": answer,
        "resized": resized,
        "zooms": len(zooms),
        "high_res_request": resized or bool(zooms),
        "status": status,
        "visual_tokens": account,
        "usage": _usage(turns),
        "model_turns": len(turns),
    }


def _history_tokens(
    messages: Sequence[BaseMessage],
    start: int,
    *,
    drop_history_images: bool,
    allow_private_urls: bool,
    allow_local_files: bool,
    image_limits: ImageLimits,
    geometry: VisionGeometry,
) -> tuple[int, int]:
    """Visual tokens of the images before ``start`` that a request carries, and the baseline's.

    A user image is carried as its first look (the baseline: at full resolution); a resize turn
    or a tool result with an image carries the high-resolution view, a zoom turn its crop (the
    baseline: nothing).
    """
    omitted = history_image_messages(messages) if drop_history_images else set()
    carried = baseline = 0
    for index, message in enumerate(messages[:start]):
        if index in omitted:
            continue
        for block in image_blocks(message):
            source = resolve_image(
                block,
                messages,
                allow_private_urls=allow_private_urls,
                allow_local_files=allow_local_files,
                image_limits=image_limits,
            )
            box = block_zoom_box(block)
            account = source.token_account(
                resized=box is None, zooms=() if box is None else [box], geometry=geometry
            )
            if isinstance(message, HumanMessage) and not is_tool_turn(message):
                carried += account.first_look
                baseline += account.full_res_baseline
            else:
                carried += account.high_res
    return carried, baseline


def turn_limit_replies(message: AIMessage) -> list[ToolMessage]:
    """``ToolMessage`` replies closing the calls of a turn that hit the model-turn limit.

    They keep the conversation valid for the next question (every call answered) and say why
    nothing was done.

    Example:
        >>> call = {"name": "resize_image", "args": {"action": "resize"}, "id": "c1"}
        >>> turn_limit_replies(AIMessage("", tool_calls=[call]))[0].status
        'error'
    """
    calls = [*message.tool_calls, *message.invalid_tool_calls]
    return [
        ToolMessage(
            content="Not executed: the model-turn limit for this question was reached.",
            tool_call_id=str(call.get("id") or ""),
            name=str(call.get("name") or ""),
            status="error",
        )
        for call in calls
    ]


def token_account_event(result: dict[str, Any]) -> dict[str, Any]:
    """The custom stream event carrying a question's token account.

    Example:
        >>> result = {"status": "no_image", "resized": False, "visual_tokens": None}
        >>> event = token_account_event(result)
        >>> event["event"], event["status"]
        ('visionthink_token_account', 'no_image')
    """
    return {
        "event": TOKEN_ACCOUNT_EVENT,
        "status": result["status"],
        "resized": result["resized"],
        "visual_tokens": result["visual_tokens"],
    }
