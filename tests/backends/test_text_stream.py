"""TextStream: incremental detokenization equals a full decode; stop strings never leak."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from transformers import AutoTokenizer

from visionthink_agent.backends.text_stream import TextStream


@pytest.fixture(scope="module")
def tokenizer(tiny_checkpoint: Path) -> Any:
    return AutoTokenizer.from_pretrained(tiny_checkpoint)


SAMPLES = [
    "<think>The receipt is small.</think><answer>Total 20.25</answer>",
    "wörld 😀 naïve café — ünïcödé ✓",
    '<tool_call>\n{"name": "resize_image", "arguments": {"action": "resize"}}\n</tool_call>',
]


@pytest.mark.parametrize("text", SAMPLES)
def test_streamed_pieces_join_to_the_full_decode(tokenizer: Any, text: str) -> None:
    ids = tokenizer.encode(text)
    stream = TextStream(tokenizer)
    pieces = [stream.push(i) for i in ids]
    assert "".join(pieces) == tokenizer.decode(ids, skip_special_tokens=True) == stream.text
    assert all("\ufffd" not in p for p in pieces)  # no half characters are released


@settings(max_examples=60, deadline=None)
@given(data=st.data())
def test_random_token_sequences_match_the_full_decode(tokenizer: Any, data: Any) -> None:
    # ids of whole characters, special tokens included (skipped in both decodes)
    text = data.draw(st.text(alphabet=st.characters(codec="utf-8"), max_size=40))
    ids = tokenizer.encode(text + "<|im_end|>" + text)
    stream = TextStream(tokenizer)
    assert "".join(stream.push(i) for i in ids) == tokenizer.decode(ids, skip_special_tokens=True)


def test_stop_string_is_cut_and_never_streamed(tokenizer: Any) -> None:
    ids = tokenizer.encode("<answer>42</answer> and more text")
    stream = TextStream(tokenizer, stop=["</answer>"])
    pieces = []
    for i in ids:
        pieces.append(stream.push(i))
        if stream.stopped:
            break
    assert "".join(pieces) == "<answer>42"
    assert not any("</" in p for p in pieces)  # the stop string's start was held back
    assert stream.push(ids[-1]) == ""  # nothing after the stop


def test_held_back_prefix_is_released_when_it_is_no_stop(tokenizer: Any) -> None:
    stream = TextStream(tokenizer, stop=["STOP"])
    released = [stream.push(i) for i in tokenizer.encode("a ST")]
    assert "".join(released) == "a "  # "ST" may begin "STOP": held back
    released += [stream.push(i) for i in tokenizer.encode(" b")]
    assert "".join(released) == stream.text == "a ST b"
    assert not stream.stopped


def test_a_tokenizer_without_a_fast_backend_is_named() -> None:
    with pytest.raises(TypeError, match="no tokenizers-library backend"):
        TextStream(object())
