"""Per-token cost of streaming the generated text: incremental detokenization vs re-decoding.

The in-process engine turns each generated token into streamed text and checks the stop
strings. It used to decode the whole generated sequence again at every step (O(n) a step,
O(n²) an answer); it now feeds each token to :class:`~visionthink_agent.backends.text_stream.
TextStream` (the tokenizers library's ``DecodeStream`` plus a stop-string check on the new text
only). This benchmark times exactly that text side of a decode step, both ways, in the same run
and on the same tokens, at 256, 2,048 and 8,192 generated tokens (VisionThink's limit).

Token source: forced, not sampled. The random tiny model emits an end-of-turn token or loops
early, so the tokens are the tiny checkpoint's tokenizer applied to realistic answer text (the
VisionThink prompts and English sentences, repeated, with digits and non-ASCII characters) cut
to the length; the model forward pass, the same in both ways and dominant on a real model, is
not timed. Each way runs the same per-step work as the engine's loop: decode, look for the stop
string (``</answer>``, absent, so every length runs to the end), hand the new text to a callback.

Reported per length: mean microseconds a token over the whole answer, microseconds a token over
its last 256 tokens (where the re-decode is slowest), and the old/new ratio.

Run: ``.venv/bin/python benchmarks/bench_streaming.py [--quick] [--repeats 3]``; writes
``benchmarks/results/bench_streaming.json`` (``--quick``: 256 tokens only, writes
``bench_streaming.quick.json``; ``--output`` overrides).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import tempfile
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table
from transformers import AutoTokenizer

from visionthink_agent import protocol
from visionthink_agent.backends.qwen.tiny import write_tiny_checkpoint
from visionthink_agent.backends.text_stream import TextStream

RESULTS = Path(__file__).resolve().parent / "results"
LENGTHS = (256, 2048, 8192)
TAIL = 256
STOP = ["</answer>"]
TEXT = (
    protocol.SYSTEM_PROMPT
    + " <think>The receipt lists Coffee 3.50, Sandwich 7.25, Salad 6.80 and Water 1.20; the "
    "subtotal is 18.75 and with 1.50 tax the total is 20.25. Größe: naïve café — ✓ 😀</think> "
)


@dataclass(frozen=True)
class Row:
    """One length, both ways."""

    tokens: int
    redecode_us_per_token: float
    redecode_tail_us_per_token: float
    incremental_us_per_token: float
    incremental_tail_us_per_token: float
    ratio_mean: float
    ratio_tail: float
    same_text: bool


def redecode(tokenizer: Any, ids: list[int], on_text: Callable[[str], None]) -> list[float]:
    """The engine's old per-step text work; the time of each step."""
    generated: list[int] = []
    emitted = ""
    times = []
    for token in ids:
        start = time.perf_counter()
        generated.append(token)
        text = tokenizer.decode(generated, skip_special_tokens=True)
        if any(s in text for s in STOP):
            break
        if not text.endswith("\ufffd") and len(text) > len(emitted):
            on_text(text[len(emitted) :])
            emitted = text
        times.append(time.perf_counter() - start)
    return times


def incremental(tokenizer: Any, ids: list[int], on_text: Callable[[str], None]) -> list[float]:
    """The engine's per-step text work now; the time of each step."""
    stream = TextStream(tokenizer, STOP)
    times = []
    for token in ids:
        start = time.perf_counter()
        piece = stream.push(token)
        if piece:
            on_text(piece)
        if stream.stopped:
            break
        times.append(time.perf_counter() - start)
    return times


def timed(
    way: Callable[[Any, list[int], Callable[[str], None]], list[float]],
    tokenizer: Any,
    ids: list[int],
    repeats: int,
) -> tuple[list[float], str]:
    """The per-step times of the fastest of ``repeats`` runs, and the text it streamed."""
    best: list[float] | None = None
    pieces: list[str] = []
    for _ in range(repeats):
        pieces = []
        times = way(tokenizer, ids, pieces.append)
        if best is None or sum(times) < sum(best):
            best = times
    assert best is not None
    return best, "".join(pieces)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="256 tokens only: a smoke run")
    parser.add_argument("--repeats", type=int, default=3, help="runs per way (the best is kept)")
    parser.add_argument("--output", type=Path, help="where to write the JSON results")
    args = parser.parse_args()
    lengths = LENGTHS[:1] if args.quick else LENGTHS
    output = args.output or RESULTS / (
        "bench_streaming.quick.json" if args.quick else "bench_streaming.json"
    )
    console = Console()
    with tempfile.TemporaryDirectory() as tmp:
        tokenizer = AutoTokenizer.from_pretrained(write_tiny_checkpoint(Path(tmp) / "tiny"))
    corpus: list[int] = []
    while len(corpus) < max(lengths):
        corpus += tokenizer.encode(TEXT)
    console.print(
        f"[bold]bench_streaming[/]: text side of a decode step at {', '.join(map(str, lengths))} "
        f"tokens, tiny tokenizer (vocabulary {len(tokenizer)}), best of {args.repeats}"
    )
    rows: list[Row] = []
    for index, length in enumerate(lengths, 1):
        ids = corpus[:length]
        with console.status(f"[{index}/{len(lengths)}] {length} tokens"):
            old, old_text = timed(redecode, tokenizer, ids, args.repeats)
            new, new_text = timed(incremental, tokenizer, ids, args.repeats)
        mean_old, mean_new = 1e6 * sum(old) / len(old), 1e6 * sum(new) / len(new)
        tail_old, tail_new = 1e6 * sum(old[-TAIL:]) / TAIL, 1e6 * sum(new[-TAIL:]) / TAIL
        rows.append(
            Row(
                tokens=length,
                redecode_us_per_token=round(mean_old, 2),
                redecode_tail_us_per_token=round(tail_old, 2),
                incremental_us_per_token=round(mean_new, 2),
                incremental_tail_us_per_token=round(tail_new, 2),
                ratio_mean=round(mean_old / mean_new, 1),
                ratio_tail=round(tail_old / tail_new, 1),
                same_text=old_text == new_text == tokenizer.decode(ids, skip_special_tokens=True),
            )
        )
        console.print(
            f"[{index}/{len(lengths)}] {length} tokens: re-decode {mean_old:.1f} µs/token "
            f"(last {TAIL}: {tail_old:.1f}), incremental {mean_new:.1f} (last {TAIL}: "
            f"{tail_new:.1f})"
        )
    table = Table(
        title=f"Streaming text cost per generated token, µs (tail: the last {TAIL} tokens)"
    )
    for column in (
        "tokens",
        "re-decode",
        "tail",
        "incremental",
        "tail",
        "× mean",
        "× tail",
        "same",
    ):
        table.add_column(column, justify="right")
    for r in rows:
        table.add_row(
            str(r.tokens),
            f"{r.redecode_us_per_token:.1f}",
            f"{r.redecode_tail_us_per_token:.1f}",
            f"{r.incremental_us_per_token:.1f}",
            f"{r.incremental_tail_us_per_token:.1f}",
            f"{r.ratio_mean:.1f}",
            f"{r.ratio_tail:.1f}",
            "yes" if r.same_text else "NO",
        )
    console.print(table)
    summary = {
        "token_source": "tiny tokenizer on repeated answer text (forced tokens, no model)",
        "vocabulary": len(tokenizer),
        "repeats": args.repeats,
        "cpu_count": os.cpu_count(),
        "python": platform.python_version(),
        "load_average_1m": os.getloadavg()[0],
        "rows": [asdict(r) for r in rows],
    }
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(json.dumps(summary, indent=2) + "\n")
    last = rows[-1]
    console.print(
        f"At {last.tokens} tokens the incremental stream costs "
        f"{last.incremental_tail_us_per_token:.1f} µs a token at the end of the answer against "
        f"{last.redecode_tail_us_per_token:.1f} µs re-decoding ({last.ratio_tail:.0f}× less); "
        f"wrote {output}"
    )


if __name__ == "__main__":
    main()
