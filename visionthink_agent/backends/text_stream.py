"""Incremental detokenization with stop strings: constant work per generated token.

Decoding the whole generated sequence again at every step (to find the new text and look for a
stop string) costs O(n) per token, O(n²) per answer: milliseconds a step at thousands of
tokens. :class:`TextStream` feeds each token to the tokenizers library's streaming decoder
(:class:`tokenizers.decoders.DecodeStream`, which keeps only the few ids of an unfinished
character) and looks for stop strings only in the new text and the short held-back tail before
it, so a step costs the same at token 10 and at token 8,000
(``benchmarks/bench_streaming.py``).

Text that could be the start of a stop string is held back until it is known not to be one, so
the streamed pieces never show part of a stop string the final text cuts off.

Example:
    >>> import tempfile
    >>> from transformers import AutoTokenizer
    >>> from visionthink_agent.backends.qwen.tiny import write_tiny_checkpoint
    >>> tokenizer = AutoTokenizer.from_pretrained(write_tiny_checkpoint(tempfile.mkdtemp() + "/t"))
    >>> stream = TextStream(tokenizer, stop=["</answer>"])
    >>> pieces = [stream.push(i) for i in tokenizer.encode("<answer>42</answer> more")]
    >>> "".join(pieces), stream.stopped
    ('<answer>42', True)
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from tokenizers.decoders import DecodeStream

__all__ = ["TextStream"]


class TextStream:
    """The text of a token stream, one token at a time, cut at the first stop string.

    Args:
        tokenizer: a transformers tokenizer backed by the tokenizers library
            (``tokenizer.backend_tokenizer``), as every Qwen2.5-VL processor's is.
        stop: strings that end the text (the stop string itself is not part of it).
        skip_special_tokens: leave special tokens (``<|im_end|>``, ...) out of the text.

    Attributes:
        stopped: a stop string has appeared; later tokens are ignored.

    Raises:
        TypeError: the tokenizer has no tokenizers-library backend.
    """

    def __init__(
        self, tokenizer: Any, stop: Sequence[str] = (), *, skip_special_tokens: bool = True
    ) -> None:
        backend = getattr(tokenizer, "backend_tokenizer", None)
        if backend is None:
            raise TypeError(
                f"{type(tokenizer).__name__} has no tokenizers-library backend "
                "(backend_tokenizer); use a fast tokenizer"
            )
        self._backend = backend
        self._decoder = DecodeStream(skip_special_tokens=skip_special_tokens)
        self._stop = [s for s in stop if s]
        self._pieces: list[str] = []
        self._held = ""  # a tail that may be the start of a stop string
        self.stopped = False

    @property
    def text(self) -> str:
        """The text released so far (held-back text excluded)."""
        return "".join(self._pieces)

    def push(self, token_id: int) -> str:
        """Add one token; return the text it releases (often ``""``).

        Example:
            >>> TextStream.push.__name__
            'push'
        """
        if self.stopped:
            return ""
        piece = self._decoder.step(self._backend, token_id)
        if not piece:
            return ""
        if not self._stop:
            self._pieces.append(piece)
            return piece
        window = self._held + piece
        cut = min((i for s in self._stop if (i := window.find(s)) >= 0), default=-1)
        if cut >= 0:
            self.stopped = True
            released, self._held = window[:cut], ""
        else:
            keep = self._stop_prefix_length(window)
            released, self._held = window[: len(window) - keep], window[len(window) - keep :]
        if released:
            self._pieces.append(released)
        return released

    def _stop_prefix_length(self, window: str) -> int:
        """Length of the longest end of ``window`` that begins some stop string."""
        longest = min(len(window), max(len(s) for s in self._stop) - 1)
        for size in range(longest, 0, -1):
            tail = window[-size:]
            if any(s.startswith(tail) for s in self._stop):
                return size
        return 0
