"""Prefill latency, time to first token and peak memory of the in-process backend, per path.

For each image size (default 1, 2 and 8 megapixels) it measures, on the code path of the
in-process backend (:class:`visionthink_agent.backends.qwen.engine.QwenVLEngine`):

* ``full_res``     — one turn on the full-resolution image (the always-full-res baseline);
* ``first_look``   — one turn on VisionThink's first look (half each side);
* ``resize``       — the resize path: first look, then the second turn with the high-resolution
  image appended (protocol §1.4), **without** KV reuse (the second turn prefills everything);
* ``resize_reuse`` — the same with the first turn's KV cache reused (only the new suffix is
  prefilled).

``--warm-prefix`` measures the steady state of a running app instead of a fresh process: before
each measured call the engine answers a text-only question with the same system prompt, so
the call reuses the KV of the shared chat prefix (the system prompt, ~400 tokens) as the
in-process backend does from its second question on (and vLLM's prefix caching does always).
Without it every path starts from an empty cache.

The first turn's answer is the canonical resize call (a random-weight model would not write
it), so the second prompt extends the first prompt with that answer and the tool turn; the
KV reuse therefore covers the first prompt, and the answer's ~30 tokens are prefilled again.

``--model qwen2.5-vl-7b-random`` builds the real Qwen2.5-VL-7B architecture with random weights
in bf16 directly on the GPU (no download; the tokenizer is the tiny checkpoint's, so text token
counts differ slightly from Qwen's, image token counts are exact). ``--model tiny`` runs the
tiny checkpoint (CPU smoke test). Results: a rich table and JSON under ``benchmarks/results/``.

Usage::

    python benchmarks/bench_inference.py --model tiny --sizes 0.25,0.5 --repeats 1
    python benchmarks/bench_inference.py --model qwen2.5-vl-7b-random   # on a GPU
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch
from PIL import Image
from rich.console import Console
from rich.progress import Progress
from rich.table import Table

from visionthink_agent import protocol
from visionthink_agent.backends.qwen.aligned_vision_mlp import align_vision_mlp, unalign_vision_mlp
from visionthink_agent.backends.qwen.engine import QwenVLEngine, qwen_content, resolve_device
from visionthink_agent.backends.qwen.grouped_window_attention import (
    disable_grouped_window_attention,
    enable_grouped_window_attention,
)
from visionthink_agent.backends.qwen.tiny import write_tiny_checkpoint
from visionthink_agent.images import load_image, visual_tokens

RESULTS = Path(__file__).resolve().parent / "results"
QUESTION = "What is the total amount on the receipt?"
RESIZE_CALL = (
    "<think>The text is too small to read at this resolution.</think>\n<tool_call>\n"
    '{"name": "resize_image", "arguments": {"action": "resize"}}\n</tool_call>'
)
PATHS = ("full_res", "first_look", "resize", "resize_reuse")

# Qwen2.5-VL-7B-Instruct's architecture (config.json of the released checkpoint).
QWEN25_VL_7B: dict[str, Any] = {
    "vision_config": {
        "depth": 32,
        "hidden_size": 1280,
        "intermediate_size": 3420,
        "num_heads": 16,
        "out_hidden_size": 3584,
        "patch_size": 14,
        "spatial_merge_size": 2,
        "temporal_patch_size": 2,
        "window_size": 112,
        "fullatt_block_indexes": [7, 15, 23, 31],
        "tokens_per_second": 2,
        "in_channels": 3,
        "hidden_act": "silu",
    },
    "text_config": {
        "vocab_size": 152064,
        "hidden_size": 3584,
        "intermediate_size": 18944,
        "num_hidden_layers": 28,
        "num_attention_heads": 28,
        "num_key_value_heads": 4,
        "max_position_embeddings": 128000,
        "rms_norm_eps": 1e-06,
        "rope_parameters": {
            "rope_type": "default",
            "rope_theta": 1000000.0,
            "mrope_section": [16, 24, 24],
        },
    },
    "tie_word_embeddings": False,
}


def build_engine(
    model: str,
    device: str,
    tiny_dir: Path,
    *,
    lower_right: bool,
    grouped: bool | None,
    aligned: bool | None = None,
) -> QwenVLEngine:
    """The engine under test: the tiny checkpoint, or random Qwen2.5-VL-7B built on device."""
    tiny = write_tiny_checkpoint(tiny_dir)
    if model == "tiny":
        engine = QwenVLEngine.load(
            tiny, device=device, grouped_window_attention=grouped, aligned_vision_mlp=aligned
        )
        if not lower_right:
            engine.model.set_attn_implementation("sdpa")
        return engine
    from transformers import AutoProcessor, GenerationConfig, Qwen2_5_VLConfig
    from transformers import Qwen2_5_VLForConditionalGeneration as Model

    processor = AutoProcessor.from_pretrained(tiny)
    tiny_config = json.loads((tiny / "config.json").read_text())
    ids = {k: tiny_config[k] for k in tiny_config if k.endswith("_token_id")}
    config = Qwen2_5_VLConfig(**QWEN25_VL_7B, **ids)
    torch.manual_seed(0)
    with torch.device(device):
        net = Model._from_config(config, dtype=torch.bfloat16)
    net.generation_config = GenerationConfig(eos_token_id=ids.get("eos_token_id"))
    return QwenVLEngine(
        net,
        processor,
        lower_right_attention=lower_right,
        grouped_window_attention=grouped,
        aligned_vision_mlp=aligned,
    )


def synthetic_image(megapixels: float) -> Image.Image:
    """A 4:3 image with structure (gradients), ``megapixels`` × 10⁶ pixels."""
    width = round((megapixels * 1e6 * 4 / 3) ** 0.5)
    height = round(width * 3 / 4)
    gradient = Image.linear_gradient("L").resize((width, height))
    return Image.merge("RGB", (gradient, gradient.transpose(Image.Transpose.ROTATE_180), gradient))


def conversation(resized: bool) -> list[dict[str, Any]]:
    """Qwen chat messages for the first turn, or the second turn after the resize call."""
    messages: list[dict[str, Any]] = [
        {"role": "system", "content": protocol.SYSTEM_PROMPT},
        {"role": "user", "content": qwen_content(protocol.user_turn(QUESTION))},
    ]
    if resized:
        messages.append({"role": "assistant", "content": RESIZE_CALL})
        messages.append({"role": "user", "content": qwen_content(protocol.tool_success_turn())})
    return messages


def measure(
    engine: QwenVLEngine,
    run: Callable[[], dict[str, Any]],
    *,
    empty_cache: bool = False,
    warm_prefix: bool = False,
) -> dict[str, Any]:
    """Run one path, returning its timings and the peak GPU memory during it.

    The peak is ``max_memory_allocated`` (tensors), which does not depend on the allocator's
    cache. ``empty_cache`` hands the cached blocks back to the driver first, so the call pays
    for fresh ``cudaMalloc``s, as a server never does between requests (the earlier runs'
    behaviour, kept for comparison).
    """
    engine.reset()
    if warm_prefix:
        answer_previous_question(engine)
    cuda = engine.device.type == "cuda"
    if cuda:
        if empty_cache:
            torch.cuda.empty_cache()
        torch.cuda.reset_peak_memory_stats(engine.device)
    result = run()
    if cuda:
        result["peak_memory_gib"] = torch.cuda.max_memory_allocated(engine.device) / 2**30
    return result


def answer_previous_question(engine: QwenVLEngine) -> None:
    """An untimed text-only question with the same system prompt: its KV cache then holds the
    chat prefix every VisionThink question starts with."""
    messages = [
        {"role": "system", "content": protocol.SYSTEM_PROMPT},
        {"role": "user", "content": "What did the previous image show?"},
    ]
    engine.generate(messages, [], max_new_tokens=1)


def one_turn(engine: QwenVLEngine, image: Image.Image) -> dict[str, Any]:
    r = engine.generate(conversation(resized=False), [image], max_new_tokens=1)
    return {
        "preprocess_s": r.preprocess_seconds,
        "prefill_s": r.prefill_seconds,
        "ttft_s": r.first_token_seconds,
        "prompt_tokens": r.prompt_tokens,
        "visual_tokens": r.visual_tokens,
        "prefilled_tokens": r.prompt_tokens - r.reused_tokens,
    }


def resize_path(
    engine: QwenVLEngine,
    small: Image.Image,
    full: Image.Image,
    *,
    reuse: bool,
    warm_prefix: bool = False,
) -> dict[str, Any]:
    """Both turns; without ``reuse`` the second turn does not see the first turn's cache (with
    ``warm_prefix`` it still finds the shared chat prefix, as a prefix cache would give it)."""
    first = engine.generate(conversation(resized=False), [small], max_new_tokens=1)
    if not reuse:
        engine.reset()
        if warm_prefix:
            answer_previous_question(engine)
    second = engine.generate(conversation(resized=True), [small, full], max_new_tokens=1)
    return {
        "preprocess_s": first.preprocess_seconds + second.preprocess_seconds,
        "prefill_s": first.prefill_seconds + second.prefill_seconds,
        "ttft_s": first.first_token_seconds + second.first_token_seconds,
        "second_turn_prefill_s": second.prefill_seconds,
        "prompt_tokens": second.prompt_tokens,
        "visual_tokens": second.visual_tokens,
        "prefilled_tokens": first.prompt_tokens
        - first.reused_tokens
        + second.prompt_tokens
        - second.reused_tokens,
        "reused_tokens": second.reused_tokens,
    }


def vision_difference(
    engine: QwenVLEngine, image: Image.Image, undo: Callable[[Any], int], redo: Callable[[Any], int]
) -> dict[str, Any]:
    """Vision-tower features with one of our changes (``redo``) against without it (``undo``)."""
    pixels = engine.processor.image_processor(images=[image], return_tensors="pt")
    values = pixels["pixel_values"].to(engine.device, engine.model.dtype)
    grid = pixels["image_grid_thw"].to(engine.device)
    visual = engine.model.model.visual

    def features() -> torch.Tensor:
        with torch.no_grad():
            out = visual(values, grid_thw=grid)
        return getattr(out, "pooler_output", out).float()

    changed = features()
    undo(engine.model)
    stock = features()
    redo(engine.model)
    return {
        "size": list(image.size),
        "max_abs_diff": float((changed - stock).abs().max()),
        "max_abs_stock": float(stock.abs().max()),
    }


def bench_size(
    engine: QwenVLEngine,
    megapixels: float,
    repeats: int,
    *,
    empty_cache: bool = False,
    warm_prefix: bool = False,
) -> dict[str, Any]:
    """Every path on one image size: the median of ``repeats`` runs after one warm-up."""
    source = load_image(synthetic_image(megapixels))
    full, small = source.high_res(), source.first_look()
    runs: dict[str, Callable[[], dict[str, Any]]] = {
        "full_res": lambda: one_turn(engine, full),
        "first_look": lambda: one_turn(engine, small),
        "resize": lambda: resize_path(engine, small, full, reuse=False, warm_prefix=warm_prefix),
        "resize_reuse": lambda: resize_path(engine, small, full, reuse=True),
    }
    options = {"empty_cache": empty_cache, "warm_prefix": warm_prefix}
    out: dict[str, Any] = {"megapixels": megapixels, "size": list(source.size)}
    out["visual_tokens_full"] = visual_tokens(*source.size)
    for name, run in runs.items():
        measure(engine, run, **options)  # warm-up
        samples = [measure(engine, run, **options) for _ in range(repeats)]
        merged = dict(samples[-1])
        for key in ("preprocess_s", "prefill_s", "ttft_s", "second_turn_prefill_s"):
            if key in merged:
                merged[key] = statistics.median(s[key] for s in samples)
        if "peak_memory_gib" in merged:
            merged["peak_memory_gib"] = max(s["peak_memory_gib"] for s in samples)
        out[name] = merged
    base = out["full_res"]["prefill_s"]
    out["ratios"] = {name: out[name]["prefill_s"] / base for name in PATHS}
    return out


def render(results: dict[str, Any], console: Console) -> None:
    table = Table(
        title=f"In-process prefill, {results['model']} on {results['device_name']} "
        f"({results['attention']}, vision: {results['vision_attention']}"
        f"{', warm prefix' if results['warm_prefix'] else ''})"
    )
    for column in (
        "MP",
        "path",
        "visual tok",
        "prefilled tok",
        "preproc s",
        "prefill s",
        "TTFT s",
        "× full",
        "peak GiB",
    ):
        table.add_column(column, justify="right")
    for row in results["sizes"]:
        for name in PATHS:
            r = row[name]
            table.add_row(
                f"{row['megapixels']:g}",
                name,
                str(r["visual_tokens"]),
                str(r["prefilled_tokens"]),
                f"{r['preprocess_s']:.3f}",
                f"{r['prefill_s']:.3f}",
                f"{r['ttft_s']:.3f}",
                f"{row['ratios'][name]:.2f}",
                f"{r['peak_memory_gib']:.1f}" if "peak_memory_gib" in r else "-",
            )
    console.print(table)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--model",
        choices=["tiny", "qwen2.5-vl-7b-random"],
        default=None,
        help="default: the 7B architecture on CUDA, tiny elsewhere",
    )
    parser.add_argument("--device", default="auto", help="torch device (default: auto)")
    parser.add_argument("--sizes", default="1,2,8", help="image sizes in megapixels")
    parser.add_argument("--repeats", type=int, default=3, help="timed runs per path (median)")
    parser.add_argument("--out", type=Path, default=None, help="JSON path to write")
    parser.add_argument(
        "--stock-sdpa",
        action="store_true",
        help="keep transformers' sdpa (dense mask for a reused-prefix prefill) for comparison",
    )
    parser.add_argument(
        "--stock-vision-attention",
        action="store_true",
        help="keep transformers' one-SDPA-call-per-window vision attention for comparison",
    )
    parser.add_argument(
        "--stock-vision-mlp",
        action="store_true",
        help="keep the vision MLP width of 3420 (not zero-padded to 3456) for comparison",
    )
    parser.add_argument(
        "--empty-cache",
        action="store_true",
        help="empty the CUDA allocator cache before every call (earlier runs; adds cudaMalloc)",
    )
    parser.add_argument(
        "--warm-prefix",
        action="store_true",
        help="a previous question's KV (the shared system prompt) is cached before each call",
    )
    args = parser.parse_args(argv)
    device = resolve_device(args.device)
    model = args.model or ("qwen2.5-vl-7b-random" if device == "cuda" else "tiny")
    console = Console(width=120)
    started = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        engine = build_engine(
            model,
            device,
            Path(tmp) / "tiny",
            lower_right=not args.stock_sdpa,
            grouped=False if args.stock_vision_attention else None,
            aligned=False if args.stock_vision_mlp else None,
        )
        sizes = [float(s) for s in args.sizes.split(",")]
        odd = synthetic_image(min(sizes)).resize((999, 751))  # windows of several lengths
        checks = {}
        if engine.grouped_window_attention:
            checks["vision_grouped_vs_stock"] = vision_difference(
                engine, odd, disable_grouped_window_attention, enable_grouped_window_attention
            )
        if engine.aligned_vision_mlp:
            checks["vision_mlp_padded_vs_stock"] = vision_difference(
                engine, odd, unalign_vision_mlp, align_vision_mlp
            )
        rows = []
        with Progress(console=console, transient=True) as progress:
            task = progress.add_task("benchmarking", total=len(sizes))
            for mp in sizes:
                rows.append(
                    bench_size(
                        engine,
                        mp,
                        args.repeats,
                        empty_cache=args.empty_cache,
                        warm_prefix=args.warm_prefix,
                    )
                )
                progress.advance(task)
    results = {
        "model": model,
        "device": device,
        "device_name": torch.cuda.get_device_name()
        if device == "cuda"
        else platform.processor() or platform.machine(),
        "dtype": str(engine.model.dtype),
        "attention": engine.model.config._attn_implementation,
        "vision_attention": "grouped windows"
        if engine.grouped_window_attention
        else "one sdpa call per window",
        "vision_mlp_padded": engine.aligned_vision_mlp,
        "torch": torch.__version__,
        "transformers": __import__("transformers").__version__,
        "repeats": args.repeats,
        "empty_cache_between_calls": args.empty_cache,
        "warm_prefix": args.warm_prefix,
        **checks,
        "sizes": rows,
    }
    render(results, console)
    for name, check in checks.items():
        console.print(
            f"{name} at {check['size']}: max |diff| "
            f"{check['max_abs_diff']:.3g} (max |feature| {check['max_abs_stock']:.3g})"
        )
    suffix = "gpu" if device == "cuda" else "cpu"
    out = args.out or RESULTS / f"bench_inference_{suffix}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    worst = max(rows, key=lambda r: r["ratios"]["resize_reuse"])
    console.print(
        f"done in {time.perf_counter() - started:.0f}s: first look ≤ "
        f"{max(r['ratios']['first_look'] for r in rows):.2f}× full-res prefill, resize with KV "
        f"reuse ≤ {worst['ratios']['resize_reuse']:.2f}× (without: "
        f"{max(r['ratios']['resize'] for r in rows):.2f}×); wrote {out}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
