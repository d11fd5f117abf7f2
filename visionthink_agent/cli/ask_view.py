"""What ``visionthink ask`` shows while the graph runs: thinking, the resize or zoom, the account.

The graph streams in a thread of its own (:func:`stream_in_background`) so that Ctrl-C ends the
command at once; :class:`AskView` prints each event.

Example:
    >>> from rich.console import Console
    >>> from PIL import Image
    >>> from visionthink_agent.images import load_image
    >>> view = AskView(Console(), load_image(Image.new("RGB", (64, 64))), quiet=True)
    >>> view.turn, view.geometry.factor
    (0, 28)
"""

from __future__ import annotations

import json
import queue
import threading
from collections.abc import Iterator, Sequence
from typing import Any

from rich.console import Console
from rich.rule import Rule
from rich.table import Table

from visionthink_agent.images import QWEN2_5_VL, PixelBox, SourceImage, TokenAccount, VisionGeometry

__all__ = ["AskView", "stream_in_background", "tool_turn"]

ANSWER_TAG = "<answer>"
"""Where the streamed text stops: the answer is printed once, at the end."""


def tool_turn(messages: list[Any]) -> dict[str, Any]:
    """The marker of the tool turn among a tools-node update (``{}`` when there is none).

    Example:
        >>> tool_turn([])
        {}
    """
    from visionthink_agent.graph.conversation import MARKER

    for message in reversed(messages):
        marker = getattr(message, "additional_kwargs", {}).get(MARKER)
        if isinstance(marker, dict):
            return marker
    return {}


def stream_in_background(graph: Any, inputs: Any, modes: list[str]) -> Iterator[Any]:
    """``graph.stream`` run in a daemon thread, its events handed over one by one.

    LangGraph lets an interrupt out of ``stream`` only after the running node (a model call
    that may take minutes) has finished; waiting on a queue here instead, Ctrl-C ends the
    command at once and the thread ends with the process.
    """
    events: queue.Queue[tuple[str, Any]] = queue.Queue()

    def work() -> None:
        try:
            for event in graph.stream(inputs, stream_mode=modes):
                events.put(("event", event))
        except BaseException as exc:  # handed to the caller's thread
            events.put(("error", exc))
        else:
            events.put(("done", None))

    threading.Thread(target=work, name="visionthink-ask", daemon=True).start()
    while True:
        kind, item = events.get()
        if kind == "done":
            return
        if kind == "error":
            raise item
        yield item


class AskView:
    """Rich rendering of the streamed run: thinking, the resize, the answer and the account."""

    def __init__(
        self,
        console: Console,
        source: SourceImage,
        *,
        quiet: bool,
        geometry: VisionGeometry = QWEN2_5_VL,
    ) -> None:
        self.console = console
        self.source = source
        self.quiet = quiet
        self.geometry = geometry
        self.turn = 0
        self.streamed = False
        self.turn_text = ""
        self.shown = 0
        if not quiet:
            w, h = source.size
            fw, fh = source.first_look_size
            console.print(
                f"[bold]image[/] {w}×{h} → first look {fw}×{fh} "
                f"({self._account(resized=False).first_look} visual tokens)"
            )
            console.print(Rule("model turn 1 (first look)", style="cyan"))

    def _account(self, *, resized: bool, zooms: Sequence[PixelBox] = ()) -> TokenAccount:
        return self.source.token_account(resized=resized, zooms=zooms, geometry=self.geometry)

    def token(self, chunk: Any) -> None:
        text = getattr(chunk, "content", "")
        if self.quiet or not isinstance(text, str) or not text:
            return
        if getattr(chunk, "type", "") not in ("AIMessageChunk", "ai"):
            return  # the tool's own messages stream too; only the model's text is shown
        self.streamed = True
        self.turn_text += text
        self._show(turn_ended=False)

    def _show(self, *, turn_ended: bool) -> None:
        """Print the turn's text up to its ``<answer>``: the answer is printed once, at the end.

        Until the turn ends, the last few characters wait, in case they start the tag.
        """
        text = self.turn_text
        cut = text.find(ANSWER_TAG)
        if cut >= 0:
            end = cut
        elif turn_ended:
            end = len(text)
        else:
            end = len(text) - len(ANSWER_TAG) + 1
        if end > self.shown:
            self.console.print(text[self.shown : end], end="", style="dim", markup=False)
            self.shown = end

    def update(self, data: dict[str, Any]) -> None:
        if self.quiet:
            return
        if "model" in data:
            messages = (data["model"] or {}).get("messages") or []
            last = messages[-1] if messages else None
            if last is not None and not self.streamed:  # servers that do not stream
                self.turn_text = getattr(last, "text", "")
            self._show(turn_ended=True)
            self.streamed = False
            self.turn_text = ""
            self.shown = 0
        if "tools" in data:
            self.console.print()
            self.turn += 1
            turn = tool_turn((data["tools"] or {}).get("messages") or [])
            if turn.get("turn") == "zoom":
                left, top, right, bottom = (int(v) for v in turn["box"])
                box = (left, top, right, bottom)
                high_res = self._account(resized=False, zooms=[box]).high_res
                size = f"{right - left}×{bottom - top}"
                what = f"zoomed in on ({left}, {top})–({right}, {bottom}), {size} px"
            elif turn.get("turn") == "resize":
                w, h = self.source.high_res_size
                high_res = self._account(resized=True).high_res
                what = f"asked for the full image: {w}×{h}"
            else:
                self.console.print(Rule("the tool answered with an error turn", style="red"))
                self.console.print(Rule(f"model turn {self.turn + 1}", style="cyan"))
                return
            self.console.print(
                Rule(f"the model {what} (+{high_res} visual tokens)", style="yellow")
            )
            self.console.print(Rule(f"model turn {self.turn + 1}", style="cyan"))

    def finish(self, final: dict[str, Any], seconds: float, *, as_json: bool) -> None:
        turns = [m.text for m in final.get("messages", []) if getattr(m, "type", "") == "ai"]
        result = {
            "answer": final.get("answer"),
            "status": final.get("status"),
            "resized": final.get("resized"),
            "zooms": final.get("zooms"),
            "visual_tokens": final.get("visual_tokens"),
            "usage": final.get("usage"),
            "model_turns": final.get("model_turns"),
            "turns": turns,
            "seconds": round(seconds, 2),
        }
        if as_json:
            print(json.dumps(result, ensure_ascii=False, indent=2))
            return
        self.console.print()
        self.console.print(Rule("answer", style="green"))
        self.console.print(result["answer"] or "(no answer)", markup=False)
        tokens = final.get("visual_tokens") or {}
        table = Table(title="visual tokens", show_header=False, title_justify="left")
        table.add_column(justify="left")
        table.add_column(justify="right")
        for key, label in (
            ("first_look", "first look"),
            ("high_res", "high-res"),
            ("used", "used"),
            ("full_res_baseline", "full-res baseline"),
            ("saved", "saved vs full-res"),
        ):
            if key in tokens:
                table.add_row(label, str(tokens[key]))
        if "ratio" in tokens:
            table.add_row("used / full-res", f"{tokens['ratio']:.2f}")
        self.console.print(table)
        usage = final.get("usage") or {}
        self.console.print(
            f"{final.get('status')} after {final.get('model_turns')} model turn(s), "
            f"resized={bool(final.get('resized'))}, zooms={final.get('zooms') or 0}, "
            f"{usage.get('input_tokens', 0)} prompt + "
            f"{usage.get('output_tokens', 0)} generated tokens, {seconds:.1f}s",
            highlight=False,
            soft_wrap=True,  # one line, whatever the width: logs and scripts read it whole
        )
