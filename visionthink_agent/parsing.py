"""Reading a VisionThink model turn: ``<think>``, ``<tool_call>``, ``<answer>``, the format check.

Every function here takes arbitrary text and never raises: a malformed turn is described by the
returned value (with a human-readable ``error`` / ``reason``), because a model's output is input,
not a programming error.

Differences from the authors' code, all deliberate and tested:

* multi-line JSON inside ``<tool_call>`` is accepted (their regex lacked DOTALL);
* the function name is checked (theirs never was), and several calls in one turn are reported;
* a missing ``<answer>`` tag falls back to the turn's text *without* its ``<think>`` block.

Example:
    >>> call = '{"name": "resize_image", "arguments": {"action": "resize"}}'
    >>> parse_tool_call(f"<think>too small</think><tool_call>\\n{call}\\n</tool_call>").ok
    True
    >>> extract_answer("<think>...</think><answer>The total is \\\\boxed{42}</answer>")
    '42'
"""

from __future__ import annotations

import contextlib
import json
import re
from dataclasses import dataclass, field
from typing import Any

from visionthink_agent.images.regions import ZoomBoxError, parse_bbox
from visionthink_agent.protocol import (
    RESIZE_ACTION,
    RESIZE_TOOL_NAME,
    ZOOM_TOOL_NAME,
    ToolMode,
    tool_names,
)

__all__ = [
    "FormatCheck",
    "ToolCall",
    "ToolCallParse",
    "check_format",
    "check_turn_format",
    "extract_answer",
    "extract_boxed",
    "is_answer",
    "parse_tool_call",
    "split_think",
    "validate_tool_call",
]

_THINK = ("<think>", "</think>")
_TOOL_CALL = ("<tool_call>", "</tool_call>")
_ANSWER = ("<answer>", "</answer>")
_PROTOCOL_TAGS = (*_THINK, *_TOOL_CALL, *_ANSWER)
_LENIENT_JSON = json.JSONDecoder(strict=False)
"""Control characters allowed inside strings, as models write them (built once, not per call)."""


@dataclass(frozen=True)
class _Blocks:
    """Non-overlapping ``open…close`` blocks, leftmost first (what a lazy DOTALL regex finds)."""

    spans: list[tuple[int, int]]
    """``(start, end)`` of each whole block, tags included."""
    bodies: list[str]
    unclosed: str | None
    """The text after an opening tag that has no closing tag after it."""


def _find_blocks(text: str, tags: tuple[str, str]) -> _Blocks:
    # A linear scan: the equivalent regexes backtrack quadratically on degenerate generations
    # (thousands of repeated tags), which RL rollouts do produce.
    open_tag, close_tag = tags
    spans: list[tuple[int, int]] = []
    bodies: list[str] = []
    pos = 0
    while (start := text.find(open_tag, pos)) != -1:
        body_start = start + len(open_tag)
        end = text.find(close_tag, body_start)
        if end == -1:
            return _Blocks(spans, bodies, text[body_start:])
        spans.append((start, end + len(close_tag)))
        bodies.append(text[body_start:end])
        pos = end + len(close_tag)
    return _Blocks(spans, bodies, None)


def _remove_spans(text: str, spans: list[tuple[int, int]]) -> str:
    kept, pos = [], 0
    for start, end in spans:
        kept.append(text[pos:start])
        pos = end
    kept.append(text[pos:])
    return "".join(kept)


@dataclass(frozen=True)
class ToolCall:
    """One well-formed call of the resize or the zoom tool.

    Attributes:
        name: the function name the model wrote.
        arguments: the parsed ``arguments`` object (for a zoom, ``bbox_2d`` is four numbers).
    """

    name: str
    arguments: dict[str, Any]

    @property
    def is_zoom(self) -> bool:
        """Whether this call asks for a region of the image rather than the whole image."""
        return self.name == ZOOM_TOOL_NAME


@dataclass(frozen=True)
class ToolCallParse:
    """What a model turn says about calling the tool.

    Attributes:
        found: the turn contains at least one ``<tool_call>`` (it asked for the tool, even if
            badly). This is what "resized" means in the reward (protocol §4).
        call: the accepted call, when the request is valid.
        error: why the request is invalid, worded for the protocol's error turn.
        raw: the text inside each ``<tool_call>`` block.
    """

    found: bool
    call: ToolCall | None = None
    error: str | None = None
    raw: tuple[str, ...] = field(default_factory=tuple)

    @property
    def ok(self) -> bool:
        """True when the turn holds exactly one valid resize call."""
        return self.call is not None


def parse_tool_call(
    text: str, *, tool_name: str = RESIZE_TOOL_NAME, mode: ToolMode = "resize"
) -> ToolCallParse:
    """Find and validate the tool call in a model turn (the resize call by default).

    Accepted: exactly one ``<tool_call>…</tool_call>`` holding a JSON object (single- or multi-line)
    ``{"name": tool_name, "arguments": {"action": "resize"}}``; ``arguments`` may also be a JSON
    string that holds that object (as some servers' tool parsers emit). Anything else that still
    looks like a call — bad JSON, a wrong name or action, two calls, an unclosed tag — is
    ``found`` with an ``error`` for the error turn. With ``mode="zoom"`` or ``"both"``, a call
    ``{"name": "image_zoom_in_tool", "arguments": {"bbox_2d": [x1, y1, x2, y2]}}`` is accepted
    too (see :func:`validate_tool_call`).

    Example:
        >>> parse_tool_call("<think>fine</think><answer>cat</answer>").found
        False
        >>> parse_tool_call('<tool_call>{"name": "zoom", "arguments": {"action": "resize"}}'
        ...                 '</tool_call>').error
        "Unknown function 'zoom'. Available function tools are: `resize_image`"
        >>> parse_tool_call('<tool_call>{"name": "image_zoom_in_tool", "arguments": '
        ...                 '{"bbox_2d": [1, 2, 30, 40]}}</tool_call>', mode="zoom").call.is_zoom
        True
    """
    blocks = _find_blocks(text, _TOOL_CALL)
    raw = tuple(body.strip() for body in blocks.bodies)
    if not raw:
        if blocks.unclosed is None:
            return ToolCallParse(found=False)
        return ToolCallParse(
            found=True,
            error="The <tool_call> tag is not closed with </tool_call>",
            raw=(blocks.unclosed.strip(),),
        )
    if len(raw) > 1:
        once = (
            f"You should only call function `{RESIZE_ACTION}` once per function call."
            if mode == "resize"
            else "You should only call ONE function tool per step."
        )
        return ToolCallParse(found=True, error=once, raw=raw)
    call, error = _validate_call(raw[0], tool_name, mode)
    return ToolCallParse(found=True, call=call, error=error, raw=raw)


def _validate_call(body: str, tool_name: str, mode: ToolMode) -> tuple[ToolCall | None, str | None]:
    try:
        obj = _LENIENT_JSON.decode(body)
    except ValueError as exc:
        return None, f"The tool call is not valid JSON: {exc}"
    return validate_tool_call(obj, tool_name=tool_name, mode=mode)


def validate_tool_call(
    obj: Any, *, tool_name: str = RESIZE_TOOL_NAME, mode: ToolMode = "resize"
) -> tuple[ToolCall | None, str | None]:
    """Validate one decoded call ``{"name": ..., "arguments": ...}``: (call, None) or (None, error).

    The rule :func:`parse_tool_call` applies to the JSON inside ``<tool_call>``, for calls that
    arrive already decoded (a native tool-calling model's ``tool_calls``). ``mode`` says which
    tools exist (``tool_name`` renames the resize tool). A zoom call needs ``bbox_2d`` as four
    numbers and an optional string ``label``; whether the box lies on the image is checked by
    the tool, which knows the image (:func:`visionthink_agent.images.zoom_box`).

    Example:
        >>> validate_tool_call({"name": "resize_image", "arguments": {"action": "resize"}})[1]
        >>> validate_tool_call({"name": "resize_image", "arguments": {"action": "zoom"}})[1]
        'Unknown Tool Type: zoom. Available function tools are: `resize`'
        >>> validate_tool_call({"name": "image_zoom_in_tool", "arguments": {"bbox_2d": [1, 2]}},
        ...                    mode="both")[1]
        'bbox_2d must be a list of four numbers [x1, y1, x2, y2]'
    """
    if not isinstance(obj, dict):
        return None, "The tool call must be a JSON object with 'name' and 'arguments'"
    names = tuple(tool_name if n == RESIZE_TOOL_NAME else n for n in tool_names(mode))
    name = obj.get("name")
    if name not in names:
        available = ", ".join(f"`{n}`" for n in names)
        return None, f"Unknown function {name!r}. Available function tools are: {available}"
    arguments = obj.get("arguments")
    if isinstance(arguments, str):
        with contextlib.suppress(ValueError):
            arguments = _LENIENT_JSON.decode(arguments)
    if name == ZOOM_TOOL_NAME:
        return _validate_zoom(arguments)
    if not isinstance(arguments, dict):
        return None, "The tool call needs an 'arguments' object with an 'action'"
    action = arguments.get("action")
    if action != RESIZE_ACTION:
        # The authors' wording, so a trained model sees the message it learned from.
        return None, f"Unknown Tool Type: {action}. Available function tools are: `resize`"
    return ToolCall(name=name, arguments=arguments), None


def _validate_zoom(arguments: Any) -> tuple[ToolCall | None, str | None]:
    if not isinstance(arguments, dict):
        return None, "The tool call needs an 'arguments' object with a 'bbox_2d'"
    if "bbox_2d" not in arguments:
        return None, "The zoom-in call needs 'bbox_2d': [x1, y1, x2, y2]"
    try:
        bbox = parse_bbox(arguments["bbox_2d"])
    except ZoomBoxError as exc:
        return None, str(exc)
    label = arguments.get("label")
    if label is not None and not isinstance(label, str):
        return None, "The zoom-in call's 'label' must be a string"
    if arguments.get("img_idx", 0) not in (0, "0"):
        return None, "Only the user's image (img_idx 0) can be zoomed in on"
    return ToolCall(name=ZOOM_TOOL_NAME, arguments={**arguments, "bbox_2d": list(bbox)}), None


def extract_boxed(text: str) -> str | None:
    r"""Return the content of the last ``\boxed{…}`` (nested braces allowed), or None.

    Example:
        >>> extract_boxed(r"so \boxed{\frac{1}{2}} it is")
        '\\frac{1}{2}'
    """
    opener = "\\boxed{"
    starts = [m.start() + len(opener) - 1 for m in re.finditer(re.escape(opener), text)]
    if not starts:
        return None
    # Match every brace once (a stack): rescanning from each \boxed{ is quadratic.
    closing: dict[int, int] = {}
    pending: list[int] = []
    for i, char in enumerate(text):
        if char == "{":
            pending.append(i)
        elif char == "}" and pending:
            closing[pending.pop()] = i
    for brace in reversed(starts):  # the last balanced one
        if brace in closing:
            return text[brace + 1 : closing[brace]].strip()
    return None


def extract_answer(text: str) -> str:
    r"""The final answer of a trajectory (protocol §1.6).

    The text inside the last ``<answer>…</answer>`` (an unclosed final ``<answer>`` counts, for
    generations cut at the token limit); inside it, the content of ``\boxed{}`` when present.
    Without an answer tag, the text with its ``<think>`` blocks and any tool call removed.

    Example:
        >>> extract_answer("<answer>A</answer> then <answer> \\boxed{B} </answer>")
        'B'
        >>> extract_answer("<think>hmm</think> Paris")
        'Paris'
    """
    answers = _find_blocks(text, _ANSWER)
    if answers.bodies:
        answer = answers.bodies[-1]
    elif answers.unclosed is not None:
        answer = text.rsplit("<answer>", 1)[1]
    else:
        without_think = _remove_spans(text, _find_blocks(text, _THINK).spans)
        answer = _remove_spans(without_think, _find_blocks(without_think, _TOOL_CALL).spans)
    boxed = extract_boxed(answer)
    return (boxed if boxed is not None else answer).strip()


def is_answer(answer: str) -> bool:
    """Whether :func:`extract_answer`'s result is an answer: not empty, and no protocol tag left
    in it (a turn cut inside ``<think>``, a stray ``</answer>``).

    Example:
        >>> [is_answer(extract_answer(t)) for t in ("<answer>4</answer>", "Paris", "")]
        [True, True, False]
        >>> [is_answer(extract_answer(t)) for t in ("<think>", "circle</answer>")]
        [False, False]
    """
    return bool(answer) and not any(tag in answer for tag in _PROTOCOL_TAGS)


def split_think(text: str) -> tuple[str | None, str]:
    """Split a turn into its (first) thinking and the rest.

    Example:
        >>> split_think("<think>look</think><answer>x</answer>")
        ('look', '<answer>x</answer>')
        >>> split_think("no tags")
        (None, 'no tags')
    """
    blocks = _find_blocks(text, _THINK)
    if not blocks.spans:
        return None, text
    start, end = blocks.spans[0]
    return blocks.bodies[0].strip(), (text[:start] + text[end:]).strip()


@dataclass(frozen=True)
class FormatCheck:
    """Result of the VisionThink format check.

    Attributes:
        ok: every turn is well formed.
        reason: why not, naming the turn; None when ok.
    """

    ok: bool
    reason: str | None = None

    def __bool__(self) -> bool:
        return self.ok


def _has_shape(turn: str, first: str, middle: tuple[str, ...], last: str) -> bool:
    """Whether ``turn`` matches ``^first.*middle[0].*middle[1]…last$`` (DOTALL), in linear time.

    The regex itself backtracks cubically on turns with many repeated tags.
    """
    if not (turn.startswith(first) and turn.endswith(last)):
        return False
    pos, end = len(first), len(turn) - len(last)
    if end < pos:
        return False
    for tag in middle:  # leftmost occurrences leave the most room for what follows
        found = turn.find(tag, pos, end)
        if found == -1:
            return False
        pos = found + len(tag)
    return True


def check_turn_format(turn: str, *, final: bool) -> FormatCheck:
    """Check one model turn against the training format (protocol §4).

    A non-final turn is ``<think>…</think>…<tool_call>…</tool_call>`` with one think pair and no
    answer tags; the final turn is ``<think>…</think>…<answer>…</answer>`` with exactly one think
    pair, one answer pair and no tool call. Surrounding whitespace is ignored.

    Example:
        >>> check_turn_format("<think>a</think><answer>b</answer>", final=True).ok
        True
        >>> check_turn_format("<answer>b</answer>", final=True).reason
        'final turn: must be <think>...</think>...<answer>...</answer>'
    """
    turn = turn.strip()
    think_open, think_close = turn.count("<think>"), turn.count("</think>")
    answer_open, answer_close = turn.count("<answer>"), turn.count("</answer>")
    has_call = "<tool_call>" in turn or "</tool_call>" in turn
    if final:
        if not _has_shape(turn, "<think>", ("</think>", "<answer>"), "</answer>"):
            return FormatCheck(
                False, "final turn: must be <think>...</think>...<answer>...</answer>"
            )
        if (think_open, think_close) != (1, 1):
            return FormatCheck(False, "final turn: needs exactly one <think>...</think> pair")
        if (answer_open, answer_close) != (1, 1):
            return FormatCheck(False, "final turn: needs exactly one <answer>...</answer> pair")
        if has_call:
            return FormatCheck(False, "final turn: must not call a tool")
        return FormatCheck(True)
    if not _has_shape(turn, "<think>", ("</think>", "<tool_call>"), "</tool_call>"):
        return FormatCheck(
            False, "tool-call turn: must be <think>...</think>...<tool_call>...</tool_call>"
        )
    if (think_open, think_close) != (1, 1):
        return FormatCheck(False, "tool-call turn: needs exactly one <think>...</think> pair")
    if answer_open or answer_close:
        return FormatCheck(False, "tool-call turn: must not contain <answer> tags")
    return FormatCheck(True)


def check_format(turns: list[str]) -> FormatCheck:
    """Check every model turn of a trajectory: all but the last call the tool, the last answers.

    Example:
        >>> check_format(["<think>small</think><tool_call>{}</tool_call>",
        ...               "<think>now I see</think><answer>7</answer>"]).ok
        True
        >>> check_format([]).reason
        'no model turn'
    """
    if not turns:
        return FormatCheck(False, "no model turn")
    for i, turn in enumerate(turns):
        final = i == len(turns) - 1
        result = check_turn_format(turn, final=final)
        if not result.ok:
            return FormatCheck(False, f"turn {i + 1} of {len(turns)}: {result.reason}")
    return FormatCheck(True)
