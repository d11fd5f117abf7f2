"""Per-question overhead of the VisionThink graph over calling the model directly.

The model is a zero-latency fake chat model, so the numbers are the graph's own cost: image
normalisation, rendering the protocol conversation, parsing, the resize turn, the result and
token account, and LangGraph's own scheduling. Two paths: a direct answer (1 model call) and a
resize (2 model calls). The baseline is the same model called directly with the same number of
calls on pre-rendered messages, timed in the same rounds (interleaved, so machine load hits
both alike); the overhead is the median of the per-round differences, in wall-clock time and
in CPU time of this process (which waiting for a busy machine's cores does not inflate). A tiny
56x56 image keeps image work small; the first encoding of
an image (a cold per-process cache) is reported separately. ``langgraph_floor_overhead_ms`` is
the overhead of a minimal LangGraph agent with the same model/tool loop and no VisionThink logic
(what any LangGraph agent costs); ``visionthink_logic_ms`` is the difference between the two.

Run: ``.venv/bin/python benchmarks/bench_graph.py [--repeats 300]``; writes
``benchmarks/results/bench_graph.json``.
"""

from __future__ import annotations

import argparse
import base64
import io
import json
import os
import platform
import statistics
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, ToolMessage
from langchain_core.outputs import ChatGeneration, ChatResult
from langgraph.graph import END, START, MessagesState, StateGraph
from langgraph.prebuilt import tools_condition
from PIL import Image
from rich.console import Console
from rich.progress import track
from rich.table import Table

from visionthink_agent import create_visionthink_agent
from visionthink_agent.graph import prompted_conversation
from visionthink_agent.graph.image_store import clear_image_cache

RESULTS = Path(__file__).resolve().parent / "results" / "bench_graph.json"
RESIZE_CALL = (
    '<think>small</think>\n<tool_call>\n{"name": "resize_image", "arguments": '
    '{"action": "resize"}}\n</tool_call>'
)
ANSWER = "<think>clear</think><answer>\\boxed{42}</answer>"


class ZeroLatencyModel(BaseChatModel):
    """Replies with the scripted texts in turn, instantly."""

    texts: list[str]
    position: int = 0

    @property
    def _llm_type(self) -> str:
        return "zero-latency"

    def _generate(self, messages: list[BaseMessage], *args: Any, **kwargs: Any) -> ChatResult:
        text = self.texts[self.position % len(self.texts)]
        self.position += 1
        return ChatResult(generations=[ChatGeneration(message=AIMessage(content=text))])


def tiny_png() -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (56, 56), "red").save(buf, "PNG")
    return buf.getvalue()


def interleaved(
    runs: dict[str, Callable[[], Any]], repeats: int, label: str
) -> dict[str, list[float]]:
    """Time each run once per round, in turn, so machine load hits all of them alike."""
    for fn in runs.values():  # warm-up
        for _ in range(5):
            fn()
    samples: dict[str, list[float]] = {}
    for _ in track(range(repeats), description=label, transient=True):
        for name, fn in runs.items():
            wall, cpu = time.perf_counter(), time.process_time()
            fn()
            cpu = time.process_time() - cpu
            wall = time.perf_counter() - wall
            samples.setdefault(name, []).append(wall * 1000)
            samples.setdefault(name + "_cpu", []).append(cpu * 1000)
    return samples


def minimal_agent(model: ZeroLatencyModel, inputs: list[list[BaseMessage]]) -> Any:
    """The least a LangGraph tool-calling agent does: the same model node / tool node loop with
    pre-rendered model inputs and no VisionThink logic (LangGraph's own floor)."""
    call = {"name": "resize_image", "args": {"action": "resize"}, "id": "call_1"}

    def agent(state: MessagesState) -> dict[str, Any]:
        turn = sum(isinstance(m, AIMessage) for m in state["messages"])
        reply = model.invoke(inputs[turn])
        calls = [call] if "<tool_call>" in str(reply.content) else []
        return {"messages": [AIMessage(content=reply.content, tool_calls=calls)]}

    def tools(state: MessagesState) -> dict[str, Any]:
        return {"messages": [ToolMessage(content="ok", tool_call_id="call_1")]}

    graph = StateGraph(MessagesState)
    graph.add_node("model", agent)
    graph.add_node("tools", tools)
    graph.add_edge(START, "model")
    graph.add_conditional_edges("model", tools_condition, {"tools": "tools", END: END})
    graph.add_edge("tools", "model")
    return graph.compile()


def median_difference(slow: list[float], fast: list[float]) -> float:
    """Median of the per-round differences."""
    return statistics.median(s - f for s, f in zip(slow, fast, strict=True))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=300)
    parser.add_argument("--output", type=Path, default=RESULTS, help="where to write the JSON")
    args = parser.parse_args()
    data = tiny_png()
    block = {"type": "image", "base64": base64.b64encode(data).decode(), "mime_type": "image/png"}
    question = {"messages": [HumanMessage([{"type": "text", "text": "Total?"}, block])]}
    paths = {"first_look": [ANSWER], "resize": [RESIZE_CALL, ANSWER]}
    rows: list[dict[str, Any]] = []
    for path, texts in paths.items():
        model = ZeroLatencyModel(texts=texts)
        graph = create_visionthink_agent(model).compile()
        direct_model = ZeroLatencyModel(texts=texts)
        inputs = [prompted_conversation("Total?", data, texts[:i]) for i in range(len(texts))]

        def direct(model: ZeroLatencyModel = direct_model, inputs: list = inputs) -> None:
            for messages in inputs:
                model.invoke(messages)

        def run_graph(graph: Any = graph) -> None:
            graph.invoke(question)

        floor_graph = minimal_agent(ZeroLatencyModel(texts=texts), inputs)

        def run_floor(graph: Any = floor_graph) -> None:
            graph.invoke(question)

        def run_graph_cold(graph: Any = graph) -> None:
            clear_image_cache()
            graph.invoke(question)

        runs: dict[str, Callable[[], Any]] = {
            "direct": direct,
            "graph": run_graph,
            "cold": run_graph_cold,
            "floor": run_floor,
        }
        samples = interleaved(runs, args.repeats, path)
        base, warm, cold = (
            statistics.median(samples[name]) for name in ("direct", "graph", "cold")
        )
        overhead = median_difference(samples["graph"], samples["direct"])
        overhead_cpu = median_difference(samples["graph_cpu"], samples["direct_cpu"])
        rows.append(
            {
                "path": path,
                "model_calls": len(texts),
                "direct_ms": round(base, 4),
                "graph_ms": round(warm, 4),
                "overhead_ms": round(overhead, 4),
                "overhead_cpu_ms": round(overhead_cpu, 4),
                "ratio": round(warm / base, 2),
                "langgraph_floor_overhead_ms": round(
                    median_difference(samples["floor"], samples["direct"]), 4
                ),
                "visionthink_logic_ms": round(
                    median_difference(samples["graph"], samples["floor"]), 4
                ),
                "graph_cold_image_cache_ms": round(cold, 4),
                "image_encoding_ms": round(cold - warm, 4),
            }
        )
    table = Table(title="VisionThink graph overhead per question (median, zero-latency model)")
    for column in rows[0]:
        table.add_column(column, justify="right")
    for row in rows:
        table.add_row(*(str(v) for v in row.values()))
    console = Console(width=150)
    console.print(table)
    args.output.parent.mkdir(parents=True, exist_ok=True)
    report = {
        "benchmark": "bench_graph",
        "repeats": args.repeats,
        "image": "56x56 PNG",
        "python": platform.python_version(),
        "machine": platform.machine(),
        "cpus": os.cpu_count(),
        "load_average": os.getloadavg(),
        "target_overhead_ms": 2.0,
        "rows": rows,
    }
    args.output.write_text(json.dumps(report, indent=2) + "\n")
    worst = max(float(r["overhead_ms"]) for r in rows)
    worst_cpu = max(float(r["overhead_cpu_ms"]) for r in rows)
    console.print(
        f"graph overhead per question, worst path: {worst:.2f} ms wall, {worst_cpu:.2f} ms CPU "
        f"(target <= 2 ms; load average {os.getloadavg()[0]:.1f}); saved {args.output}"
    )


if __name__ == "__main__":
    main()
