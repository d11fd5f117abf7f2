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

from visionthink_agent.protocol import RESIZE_ACTION, RESIZE_TOOL_NAME

__all__ = [
    "FormatCheck",
    "ToolCall",
    "ToolCallParse",
    "check_format",
    "check_turn_format",
    "extract_answer",
    "extract_boxed",
    "parse_tool_call",
    "split_think",
]

_TOOL_CALL = re.compile(r"<tool_call>(.*?)</tool_call>", re.DOTALL)
_UNCLOSED_TOOL_CALL = re.compile(r"<tool_call>(?!.*</tool_call>)(.*)$", re.DOTALL)
_ANSWER = re.compile(r"<answer>(.*?)</answer>", re.DOTALL)
_THINK_BLOCK = re.compile(r"<think>.*?</think>", re.DOTALL)
_THINK = re.compile(r"<think>(.*?)</think>", re.DOTALL)


@dataclass(frozen=True)
class ToolCall:
    """One well-formed call of the resize tool.

    Attributes:
        name: the function name the model wrote.
        arguments: the parsed ``arguments`` object.
    """

    name: str
    arguments: dict[str, Any]


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


def parse_tool_call(text: str, *, tool_name: str = RESIZE_TOOL_NAME) -> ToolCallParse:
    """Find and validate the resize tool call in a model turn.

    Accepted: exactly one ``<tool_call>…</tool_call>`` holding a JSON object (single- or multi-line)
    ``{"name": tool_name, "arguments": {"action": "resize"}}``; ``arguments`` may also be a JSON
    string that holds that object (as some servers' tool parsers emit). Anything else that still
    looks like a call — bad JSON, a wrong name or action, two calls, an unclosed tag — is
    ``found`` with an ``error`` for the error turn.

    Example:
        >>> parse_tool_call("<think>fine</think><answer>cat</answer>").found
        False
        >>> parse_tool_call('<tool_call>{"name": "zoom", "arguments": {"action": "resize"}}'
        ...                 '</tool_call>').error
        "Unknown function 'zoom'. Available function tools are: `resize_image`"
    """
    raw = tuple(m.strip() for m in _TOOL_CALL.findall(text))
    if not raw:
        unclosed = _UNCLOSED_TOOL_CALL.search(text)
        if unclosed is None:
            return ToolCallParse(found=False)
        return ToolCallParse(
            found=True,
            error="The <tool_call> tag is not closed with </tool_call>",
            raw=(unclosed.group(1).strip(),),
        )
    if len(raw) > 1:
        return ToolCallParse(
            found=True,
            error=f"You should only call function `{RESIZE_ACTION}` once per function call.",
            raw=raw,
        )
    call, error = _validate_call(raw[0], tool_name)
    return ToolCallParse(found=True, call=call, error=error, raw=raw)


def _validate_call(body: str, tool_name: str) -> tuple[ToolCall | None, str | None]:
    try:
        obj = json.loads(body, strict=False)
    except ValueError as exc:
        return None, f"The tool call is not valid JSON: {exc}"
    if not isinstance(obj, dict):
        return None, "The tool call must be a JSON object with 'name' and 'arguments'"
    name = obj.get("name")
    if name != tool_name:
        return None, f"Unknown function {name!r}. Available function tools are: `{tool_name}`"
    arguments = obj.get("arguments")
    if isinstance(arguments, str):
        with contextlib.suppress(ValueError):
            arguments = json.loads(arguments, strict=False)
    if not isinstance(arguments, dict):
        return None, "The tool call needs an 'arguments' object with an 'action'"
    action = arguments.get("action")
    if action != RESIZE_ACTION:
        # The authors' wording, so a trained model sees the message it learned from.
        return None, f"Unknown Tool Type: {action}. Available function tools are: `resize`"
    return ToolCall(name=name, arguments=arguments), None


def extract_boxed(text: str) -> str | None:
    r"""Return the content of the last ``\boxed{…}`` (nested braces allowed), or None.

    Example:
        >>> extract_boxed(r"so \boxed{\frac{1}{2}} it is")
        '\\frac{1}{2}'
    """
    start = text.rfind("\\boxed{")
    while start != -1:
        depth, i = 0, start + len("\\boxed")
        for j in range(i, len(text)):
            if text[j] == "{":
                depth += 1
            elif text[j] == "}":
                depth -= 1
                if depth == 0:
                    return text[i + 1 : j].strip()
        start = text.rfind("\\boxed{", 0, start)  # unbalanced: try an earlier one
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
    answers = _ANSWER.findall(text)
    if answers:
        answer = answers[-1]
    elif "<answer>" in text:
        answer = text.rsplit("<answer>", 1)[1]
    else:
        answer = _TOOL_CALL.sub("", _THINK_BLOCK.sub("", text))
    boxed = extract_boxed(answer)
    return (boxed if boxed is not None else answer).strip()


def split_think(text: str) -> tuple[str | None, str]:
    """Split a turn into its (first) thinking and the rest.

    Example:
        >>> split_think("<think>look</think><answer>x</answer>")
        ('look', '<answer>x</answer>')
        >>> split_think("no tags")
        (None, 'no tags')
    """
    match = _THINK.search(text)
    if match is None:
        return None, text
    return match.group(1).strip(), (text[: match.start()] + text[match.end() :]).strip()


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


_NON_FINAL = re.compile(r"^<think>.*</think>.*<tool_call>.*</tool_call>$", re.DOTALL)
_FINAL = re.compile(r"^<think>.*</think>.*<answer>.*</answer>$", re.DOTALL)


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
        if not _FINAL.match(turn):
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
    if not _NON_FINAL.match(turn):
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
