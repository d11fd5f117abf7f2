"""Parsing model turns: table tests of the tool call, answers, the format check; properties."""

from __future__ import annotations

import json
import re
import time

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from visionthink_agent.parsing import (
    check_format,
    check_turn_format,
    extract_answer,
    extract_boxed,
    parse_tool_call,
    split_think,
    validate_tool_call,
)
from visionthink_agent.protocol import RESIZE_TOOL_NAME

CALL = '{"name": "resize_image", "arguments": {"action": "resize"}}'
MULTILINE = json.dumps(json.loads(CALL), indent=2)


def wrap(body: str) -> str:
    return f"<think>the text is too small</think><tool_call>\n{body}\n</tool_call>"


# -- tool calls ---------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("text", "found", "ok", "error"),
    [
        ("<think>easy</think><answer>cat</answer>", False, False, None),
        ("", False, False, None),
        (wrap(CALL), True, True, None),
        (wrap(MULTILINE), True, True, None),
        (f"<tool_call>{CALL}</tool_call>", True, True, None),  # no think, no newlines
        (
            wrap('{"name": "resize_image", "arguments": "{\\"action\\": \\"resize\\"}"}'),
            True,
            True,
            None,
        ),  # arguments as a JSON string
        (
            wrap('{"name": "zoom", "arguments": {"action": "resize"}}'),
            True,
            False,
            "Unknown function 'zoom'",
        ),
        (wrap('{"arguments": {"action": "resize"}}'), True, False, "Unknown function None"),
        (
            wrap('{"name": "resize_image", "arguments": {"action": "shrink"}}'),
            True,
            False,
            "Unknown Tool Type: shrink",
        ),
        (wrap('{"name": "resize_image", "arguments": {}}'), True, False, "Unknown Tool Type: None"),
        (wrap('{"name": "resize_image"}'), True, False, "'arguments' object"),
        (wrap('{"name": "resize_image", "arguments": "resize"}'), True, False, "'arguments'"),
        (wrap(CALL) + wrap(CALL), True, False, "only call function `resize` once"),
        (f"<think>x</think><tool_call>\n{CALL}", True, False, "not closed"),
        (
            wrap('{"name": "resize_image", "arguments": {"action": "resize"}'),
            True,
            False,
            "not valid JSON",
        ),
        (wrap("resize please"), True, False, "not valid JSON"),
        (wrap("[1, 2]"), True, False, "must be a JSON object"),
        (wrap(""), True, False, "not valid JSON"),
    ],
)
def test_parse_tool_call(text: str, found: bool, ok: bool, error: str | None) -> None:
    result = parse_tool_call(text)
    assert result.found is found
    assert result.ok is ok
    if error is None:
        assert result.error is None
    else:
        assert result.error is not None
        assert error in result.error
    if ok:
        assert result.call is not None
        assert result.call.name == RESIZE_TOOL_NAME
        assert result.call.arguments == {"action": "resize"}
        assert len(result.raw) == 1


def test_parse_tool_call_keeps_the_raw_bodies() -> None:
    result = parse_tool_call(wrap(CALL) + wrap("{}"))
    assert result.raw == (CALL, "{}")


def test_tool_name_is_configurable() -> None:
    assert parse_tool_call(wrap(CALL.replace("resize_image", "zoom")), tool_name="zoom").ok
    assert "`zoom`" in (parse_tool_call(wrap(CALL), tool_name="zoom").error or "")


def test_control_characters_inside_json_strings_are_tolerated() -> None:
    body = '{"name": "resize_image", "arguments": {"action": "resize", "why": "a\tb"}}'
    assert parse_tool_call(wrap(body)).ok


# -- answers ------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("text", "answer"),
    [
        ("<think>t</think><answer>Paris</answer>", "Paris"),
        ("<answer>A</answer> and later <answer>B</answer>", "B"),
        ("<answer>so \\boxed{42}</answer>", "42"),
        ("<answer>\\boxed{\\frac{1}{\\sqrt{2}}}</answer>", "\\frac{1}{\\sqrt{2}}"),
        ("<answer>\\boxed{a} or \\boxed{b}</answer>", "b"),
        ("<answer>\\boxed{unbalanced</answer>", "\\boxed{unbalanced"),
        ("<answer>\\boxed{ok} \\boxed{bad</answer>", "ok"),
        ("<think>t</think><answer>cut at the token lim", "cut at the token lim"),
        ("<think>hmm</think> Paris", "Paris"),
        ("<think>hmm</think>", ""),
        (f"<think>x</think>{wrap(CALL)} maybe 3", "maybe 3"),
        ("no tags at all", "no tags at all"),
        ("<answer>\n  spaced  \n</answer>", "spaced"),
        ("<answer></answer>", ""),
    ],
)
def test_extract_answer(text: str, answer: str) -> None:
    assert extract_answer(text) == answer


def test_extract_boxed() -> None:
    assert extract_boxed("none here") is None
    assert extract_boxed("\\boxed{}") == ""
    assert extract_boxed("\\boxed{{a}{b}}") == "{a}{b}"


def test_split_think() -> None:
    assert split_think("<think> a </think> rest ") == ("a", "rest")
    assert split_think("pre<think>a</think>post") == ("a", "prepost")
    assert split_think("<think>unclosed") == (None, "<think>unclosed")


# -- format check (protocol §4) -----------------------------------------------------------------
GOOD_CALL_TURN = wrap(CALL)
GOOD_FINAL = "<think>now it is clear</think><answer>7</answer>"


@pytest.mark.parametrize(
    ("turn", "final", "reason"),
    [
        (GOOD_FINAL, True, None),
        (f"  \n{GOOD_FINAL}\n", True, None),  # surrounding whitespace ignored
        ("<think>a</think> text between <answer>b</answer>", True, None),
        ("<answer>b</answer>", True, "must be <think>"),
        ("<think>a</think>", True, "must be <think>"),
        ("<think>a</think><answer>b</answer> trailing", True, "must be <think>"),
        ("preamble <think>a</think><answer>b</answer>", True, "must be <think>"),
        ("<think>a</think><think>b</think><answer>c</answer>", True, "one <think>"),
        ("<think>a</think><answer>b</answer><answer>c</answer>", True, "one <answer>"),
        (f"<think>a</think><tool_call>{CALL}</tool_call><answer>c</answer>", True, "tool"),
        (GOOD_CALL_TURN, False, None),
        ("<think>a</think><tool_call>not json</tool_call>", False, None),  # JSON not checked
        (GOOD_FINAL, False, "tool-call turn: must be"),
        (f"<tool_call>{CALL}</tool_call>", False, "must be <think>"),
        (f"<think>a</think><think>b</think><tool_call>{CALL}</tool_call>", False, "one <think>"),
        (f"<think>a</think><answer>x</answer><tool_call>{CALL}</tool_call>", False, "<answer>"),
        (f"{GOOD_CALL_TURN} trailing", False, "must be <think>"),
    ],
)
def test_check_turn_format(turn: str, final: bool, reason: str | None) -> None:
    result = check_turn_format(turn, final=final)
    assert result.ok is (reason is None)
    assert bool(result) is result.ok
    if reason is not None:
        assert result.reason is not None
        assert reason in result.reason


@pytest.mark.parametrize(
    ("turns", "reason"),
    [
        ([GOOD_FINAL], None),
        ([GOOD_CALL_TURN, GOOD_FINAL], None),
        ([], "no model turn"),
        ([GOOD_CALL_TURN], "turn 1 of 1: final turn"),
        ([GOOD_FINAL, GOOD_FINAL], "turn 1 of 2: tool-call turn"),
        ([GOOD_CALL_TURN, GOOD_CALL_TURN], "turn 2 of 2: final turn"),
    ],
)
def test_check_format(turns: list[str], reason: str | None) -> None:
    result = check_format(turns)
    assert result.ok is (reason is None)
    if reason is not None:
        assert reason in (result.reason or "")


# -- properties ---------------------------------------------------------------------------------
TAGS = [
    "<think>",
    "</think>",
    "<answer>",
    "</answer>",
    "<tool_call>",
    "</tool_call>",
    "\\boxed{",
    "{",
    "}",
    '"',
    "\n",
    CALL,
]
tagged_text = st.lists(st.one_of(st.text(max_size=20), st.sampled_from(TAGS)), max_size=12).map(
    "".join
)
free_text = st.text(
    alphabet=st.characters(exclude_characters="<>", exclude_categories=["Cs"]), max_size=40
)


@settings(max_examples=300, deadline=None)
@given(st.one_of(st.text(), tagged_text))
def test_parsers_never_raise(text: str) -> None:
    result = parse_tool_call(text)
    assert result.ok == (result.call is not None)
    assert not (result.ok and result.error)
    assert result.found or result.error is None
    assert isinstance(extract_answer(text), str)
    assert isinstance(split_think(text), tuple)
    assert check_format([text]).ok in (True, False)
    assert check_format([text, text]).ok in (True, False)
    assert check_turn_format(text, final=False).ok in (True, False)


@settings(max_examples=100, deadline=None)
@given(
    think=free_text,
    indent=st.sampled_from([None, 0, 2, 4]),
    args_as_string=st.booleans(),
    extra=st.dictionaries(
        st.text(max_size=5).filter(lambda k: k != "action"), st.integers(), max_size=2
    ),
    before=free_text,
)
def test_a_valid_call_always_parses(
    think: str, indent: int | None, args_as_string: bool, extra: dict[str, int], before: str
) -> None:
    arguments: object = {"action": "resize", **extra}
    if args_as_string:
        arguments = json.dumps(arguments)
    body = json.dumps({"name": RESIZE_TOOL_NAME, "arguments": arguments}, indent=indent)
    text = f"<think>{think}</think>{before}<tool_call>\n{body}\n</tool_call>"
    result = parse_tool_call(text)
    assert result.ok, result.error
    assert result.call is not None
    assert result.call.arguments["action"] == "resize"
    assert check_turn_format(text, final=False).ok


@settings(max_examples=100, deadline=None)
@given(
    think1=free_text, think2=free_text, answer=free_text, between=free_text, resized=st.booleans()
)
def test_well_formed_trajectories_pass_the_format_check(
    think1: str, think2: str, answer: str, between: str, resized: bool
) -> None:
    final = f"<think>{think2}</think>{between}<answer>{answer}</answer>"
    turns = [f"<think>{think1}</think>{between}<tool_call>\n{CALL}\n</tool_call>", final]
    result = check_format(turns if resized else [final])
    assert result.ok, result.reason
    assert (
        extract_answer(final) == (extract_boxed(answer) or answer).strip() or "\\boxed{" in answer
    )


# -- the linear-time scanners agree with the regexes of protocol §2/§4 ----------------------------
FINAL_RE = re.compile(r"^<think>.*</think>.*<answer>.*</answer>$", re.DOTALL)
NON_FINAL_RE = re.compile(r"^<think>.*</think>.*<tool_call>.*</tool_call>$", re.DOTALL)
TOOL_CALL_RE = re.compile(r"<tool_call>(.*?)</tool_call>", re.DOTALL)
ANSWER_RE = re.compile(r"<answer>(.*?)</answer>", re.DOTALL)


def boxed_reference(text: str) -> str | None:
    """The straightforward quadratic definition: the last ``\\boxed{`` whose braces balance."""
    start = text.rfind("\\boxed{")
    while start != -1:
        depth = 0
        for j in range(start + 6, len(text)):
            depth += {"{": 1, "}": -1}.get(text[j], 0)
            if depth == 0:
                return text[start + 7 : j].strip()
        start = text.rfind("\\boxed{", 0, start)
    return None


@settings(max_examples=400, deadline=None)
@given(tagged_text)
def test_scanners_agree_with_the_regexes(text: str) -> None:
    for turn in (text, f"<think>{text}", f"{text}</answer>", f"<think>{text}</tool_call>"):
        stripped = turn.strip()
        final_shape = FINAL_RE.match(stripped) is not None
        assert check_turn_format(turn, final=True).ok <= final_shape
        if final_shape:
            reason = check_turn_format(turn, final=True).reason or ""
            assert "must be" not in reason
        non_final_shape = NON_FINAL_RE.match(stripped) is not None
        assert check_turn_format(turn, final=False).ok <= non_final_shape
        if non_final_shape:
            assert "must be" not in (check_turn_format(turn, final=False).reason or "")
        else:
            assert "must be" in (check_turn_format(turn, final=False).reason or "")
    raw = tuple(m.strip() for m in TOOL_CALL_RE.findall(text))
    parsed = parse_tool_call(text)
    assert parsed.raw == raw or (not raw and parsed.found == ("<tool_call>" in text))
    answers = ANSWER_RE.findall(text)
    if answers:
        boxed = boxed_reference(answers[-1])
        assert extract_answer(text) == (answers[-1] if boxed is None else boxed).strip()
    assert extract_boxed(text) == boxed_reference(text)


@pytest.mark.parametrize(
    "text",
    [
        "<think>" + "</think><answer>" * 5000 + "x",
        "<think>" + "</think><tool_call>" * 5000 + "x",
        "</tool_call>" + "<tool_call>" * 5000,
        "<answer>" * 5000,
        "\\boxed{" * 5000,
        "<think>" * 5000,
    ],
    ids=["final", "non-final", "calls", "answers", "boxed", "think"],
)
def test_degenerate_generations_are_parsed_in_linear_time(text: str) -> None:
    """Repeated tags (RL rollouts produce them) used to take seconds: regex backtracking."""
    start = time.perf_counter()
    for final in (True, False):
        check_turn_format(text, final=final)
    parse_tool_call(text)
    extract_answer(text)
    split_think(text)
    assert time.perf_counter() - start < 0.5


@pytest.mark.parametrize(
    "obj",
    [
        {"name": "resize_image", "arguments": {"action": "resize"}},
        {"name": "resize_image", "arguments": '{"action": "resize"}'},
        {"name": "zoom", "arguments": {"action": "resize"}},
        {"arguments": {"action": "resize"}},
        {"name": "resize_image", "arguments": {"action": "shrink"}},
        {"name": "resize_image", "arguments": {}},
        {"name": "resize_image"},
        {"name": "resize_image", "arguments": "resize"},
        [1, 2],
    ],
    ids=str,
)
def test_validate_tool_call_is_the_rule_parse_tool_call_applies(obj: object) -> None:
    call, error = validate_tool_call(obj)
    parsed = parse_tool_call(wrap(json.dumps(obj)))
    assert error == parsed.error
    assert call == parsed.call
