"""Run a Qwen2.5-VL or Qwen3-VL checkpoint in process: prefill, decode, stream, reuse the KV cache.

:class:`QwenVLEngine` is the torch/transformers half of the in-process backend (the LangChain
half is :mod:`visionthink_agent.backends.transformers_chat`). It owns one model and its
processor and generates one conversation at a time with a hand-written decode loop, so it can

* stream text as it is decoded and time the prefill and the first token;
* count exactly the prompt tokens and the visual (``<|image_pad|>``) tokens it prefilled;
* **reuse the KV cache of the previous call** when the new prompt extends it — VisionThink's
  second turn is the first turn's prompt + answer + a tool turn with the high-resolution image,
  so only the tool turn is prefilled. Qwen-VL's M-RoPE positions depend on every image in the
  sequence, so positions are computed for the whole new prompt with the model's own
  ``get_rope_index`` (given the processor's ``mm_token_type_ids`` where it takes them) and only
  the new suffix's slice is fed; a cached image is reused only when its pixels are identical.

Both families run through the same code: ``AutoModelForImageTextToText`` / ``AutoProcessor``
load either, and the engine's :attr:`QwenVLEngine.family` says which one it holds (the box
convention and token geometry the agent must use).

Example:
    >>> import tempfile
    >>> from PIL import Image
    >>> from visionthink_agent.backends.qwen.tiny import write_tiny_checkpoint
    >>> engine = QwenVLEngine.load(write_tiny_checkpoint(tempfile.mkdtemp() + "/t"))
    >>> content = [{"type": "image"}, {"type": "text", "text": "Hi"}]
    >>> messages = [{"role": "user", "content": content}]
    >>> result = engine.generate(messages, [Image.new("RGB", (56, 56))], max_new_tokens=3)
    >>> result.visual_tokens, result.output_tokens <= 3
    (4, True)
"""

from __future__ import annotations

import inspect
import os
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from PIL import Image

from visionthink_agent.backends.families import ModelFamily, family_for_config
from visionthink_agent.backends.qwen.aligned_vision_mlp import align_vision_mlp
from visionthink_agent.backends.qwen.chat_format import declare_tools, qwen_content
from visionthink_agent.backends.qwen.checkpoints import (
    ModelLoadError,
    hub_options,
    load_error_message,
    resolve_device,
    resolve_dtype,
)
from visionthink_agent.backends.qwen.decoding import final_text, next_token
from visionthink_agent.backends.qwen.grouped_window_attention import enable_grouped_window_attention
from visionthink_agent.backends.qwen.lower_right_attention import register_lower_right_attention
from visionthink_agent.backends.qwen.prefix_cache import (
    CachedPrefix,
    image_spans,
    reusable_prefix,
    suffix_inputs,
)
from visionthink_agent.backends.text_stream import TextStream

# ModelLoadError, declare_tools, qwen_content and resolve_* are the engine's surface too.
__all__ = [
    "GenerationResult",
    "ModelLoadError",
    "QwenVLEngine",
    "declare_tools",
    "qwen_content",
    "resolve_device",
    "resolve_dtype",
]


@dataclass
class GenerationResult:
    """One generated model turn and how it was produced.

    Attributes:
        text: the decoded answer, special tokens removed, stop string cut off.
        token_ids: the generated token ids (the stop token included when one ended it).
        prompt_tokens: tokens in the whole prompt (text + visual), as the model saw it.
        visual_tokens: ``<|image_pad|>`` tokens in the prompt (all images).
        output_tokens: generated tokens.
        reused_tokens: prompt tokens whose KV came from the previous call's cache.
        preprocess_seconds: time of the processor (image resizing, patching, tokenizing).
        prefill_seconds: time of the prefill forward pass (vision tower included).
        first_token_seconds: time from the call to the first generated token.
        total_seconds: time of the whole call.
        finish_reason: ``stop`` (end-of-turn token or stop string), ``length`` or
            ``cancelled``.
    """

    text: str
    token_ids: list[int]
    prompt_tokens: int
    visual_tokens: int
    output_tokens: int
    reused_tokens: int
    preprocess_seconds: float
    prefill_seconds: float
    first_token_seconds: float
    total_seconds: float
    finish_reason: str


class QwenVLEngine:
    """A Qwen-VL model + processor that generates one conversation turn at a time.

    Args:
        model: a loaded ``Qwen2_5_VLForConditionalGeneration``, ``Qwen3VLForConditionalGeneration``
            (or a model with the same interface).
        processor: its ``AutoProcessor``.
        reuse_kv: keep the last call's KV cache and reuse its longest matching prefix.
        lower_right_attention: switch a ``sdpa`` model to
            :mod:`~visionthink_agent.backends.qwen.lower_right_attention` (same results, no dense
            mask when a suffix is prefilled after a cached prefix).
        grouped_window_attention: run the vision tower's window attention as one SDPA call per
            window length (:mod:`~visionthink_agent.backends.qwen.grouped_window_attention`; same
            results, a few calls per layer instead of one per window). ``None`` (default): on
            when the model is on CUDA.
        aligned_vision_mlp: zero-pad the vision MLPs' width to a multiple of 64
            (:mod:`~visionthink_agent.backends.qwen.aligned_vision_mlp`; same function, GEMMs on
            the fast GPU kernels; this model instance's vision MLP weights change shape).
            ``None`` (default): on when the model is on CUDA.

    Example:
        >>> QwenVLEngine.load.__doc__.splitlines()[0]
        'Load a checkpoint by Hugging Face id or local path, offline-first.'
    """

    def __init__(
        self,
        model: Any,
        processor: Any,
        *,
        reuse_kv: bool = True,
        lower_right_attention: bool = True,
        grouped_window_attention: bool | None = None,
        aligned_vision_mlp: bool | None = None,
    ) -> None:
        self.model = model.eval()
        sdpa = getattr(model.config, "_attn_implementation", None) == "sdpa"
        if lower_right_attention and sdpa:
            # Same maths; a reused-prefix prefill then runs without a dense q × kv mask.
            model.set_attn_implementation(register_lower_right_attention())
        if grouped_window_attention is None:
            grouped_window_attention = self.device.type == "cuda"
        self.grouped_window_attention = (
            enable_grouped_window_attention(model) > 0 if grouped_window_attention else False
        )
        if aligned_vision_mlp is None:
            aligned_vision_mlp = self.device.type == "cuda"
        self.aligned_vision_mlp = align_vision_mlp(model) > 0 if aligned_vision_mlp else False
        self.processor = processor
        self.tokenizer = processor.tokenizer
        self.reuse_kv = reuse_kv
        self.family: ModelFamily | None = _family(model.config)
        """The model's family (``None`` for a model type of no supported family)."""
        self.image_token_id = int(model.config.image_token_id)
        self.vision_start_token_id = int(model.config.vision_start_token_id)
        eos = model.generation_config.eos_token_id
        eos_ids = [eos] if isinstance(eos, int) else list(eos or [])
        im_end = self.tokenizer.convert_tokens_to_ids("<|im_end|>")
        self.stop_token_ids = {int(i) for i in [*eos_ids, im_end] if i is not None}
        self._prefix: CachedPrefix | None = None
        self._lock = threading.Lock()
        self._rope_parameters = set(inspect.signature(model.model.get_rope_index).parameters)

    @classmethod
    def load(
        cls,
        model: str | os.PathLike[str],
        *,
        device: str | None = "auto",
        dtype: str | torch.dtype | None = "auto",
        reuse_kv: bool = True,
        attn_implementation: str | None = None,
        grouped_window_attention: bool | None = None,
        aligned_vision_mlp: bool | None = None,
    ) -> QwenVLEngine:
        """Load a checkpoint by Hugging Face id or local path, offline-first.

        A local directory is loaded as is. A hub id is looked up in the local Hugging Face
        cache first; the network is used only when it is not there and ``HF_HUB_OFFLINE`` is
        not set, and a failure names the ways forward.

        Raises:
            ModelLoadError: the checkpoint is neither a local directory nor obtainable.
        """
        from transformers import AutoModelForImageTextToText, AutoProcessor

        device = resolve_device(device)
        torch_dtype = resolve_dtype(dtype, device)
        source = str(Path(model).expanduser()) if Path(model).expanduser().is_dir() else str(model)
        extra: dict[str, Any] = {}
        if attn_implementation:
            extra["attn_implementation"] = attn_implementation
        try:
            processor = AutoProcessor.from_pretrained(source, **hub_options(source))
            loaded = AutoModelForImageTextToText.from_pretrained(
                source, dtype=torch_dtype, device_map=device, **hub_options(source), **extra
            )
        except (OSError, ValueError) as exc:
            raise ModelLoadError(load_error_message(str(model), exc)) from exc
        return cls(
            loaded,
            processor,
            reuse_kv=reuse_kv,
            grouped_window_attention=grouped_window_attention,
            aligned_vision_mlp=aligned_vision_mlp,
        )

    @property
    def device(self) -> torch.device:
        """Where the model's weights are."""
        return next(self.model.parameters()).device

    def render(self, messages: Sequence[dict[str, Any]], tools: Sequence[Any] | None = None) -> str:
        """The prompt text of a Qwen-format conversation, ready for generation.

        ``tools`` go to the chat template's ``tools=``; a template without tool support (the
        stock Qwen2.5-VL one) gets them declared in the system message the way Qwen2.5's
        tool-aware template does (:func:`declare_tools`), so the model is told about them.

        Example:
            >>> QwenVLEngine.render.__name__
            'render'
        """
        options: dict[str, Any] = {"tokenize": False, "add_generation_prompt": True}
        if tools and "tools" in (self.processor.chat_template or ""):
            options["tools"] = list(tools)
        elif tools:
            messages = declare_tools(messages, tools)
        rendered: str = self.processor.apply_chat_template(list(messages), **options)
        return rendered

    def reset(self) -> None:
        """Forget the cached KV prefix."""
        self._prefix = None

    @torch.inference_mode()
    def generate(
        self,
        messages: Sequence[dict[str, Any]],
        images: Sequence[Image.Image],
        *,
        max_new_tokens: int = 8192,
        temperature: float = 0.0,
        top_p: float = 1.0,
        stop: Sequence[str] | None = None,
        tools: Sequence[Any] | None = None,
        seed: int | None = None,
        on_text: Callable[[str], None] | None = None,
        cancel: threading.Event | None = None,
        response_prefix: str = "",
    ) -> GenerationResult:
        """Generate one model turn for a Qwen-format conversation.

        Args:
            messages: chat-template messages; each ``{"type": "image"}`` content part takes
                the next image of ``images``.
            images: PIL images in the order they appear.
            max_new_tokens: cap on generated tokens.
            temperature: 0 for greedy decoding, > 0 to sample.
            top_p: nucleus sampling mass (sampling only).
            stop: strings that end generation (cut from the text).
            tools: OpenAI tool schemas passed to the chat template's ``tools=``.
            seed: seed for sampling.
            on_text: called with each new piece of decoded text as it is generated.
            cancel: set it to stop generating after the current token (finish reason
                ``cancelled``; the KV cache stays consistent for the next call).
            response_prefix: text the answer is forced to begin with (e.g. the opening of a
                tool call); it is part of the prompt's prefill and of the returned text.
        """
        with self._lock:
            return self._generate(
                self.render(messages, tools) + response_prefix,
                list(images),
                max_new_tokens=max_new_tokens,
                temperature=temperature,
                top_p=top_p,
                stop=list(stop or []),
                seed=seed,
                on_text=on_text,
                cancel=cancel,
                response_prefix=response_prefix,
            )

    # -- internals ----------------------------------------------------------------------------
    def _generate(
        self,
        prompt: str,
        images: list[Image.Image],
        *,
        max_new_tokens: int,
        temperature: float,
        top_p: float,
        stop: list[str],
        seed: int | None,
        on_text: Callable[[str], None] | None,
        cancel: threading.Event | None,
        response_prefix: str,
    ) -> GenerationResult:
        start = time.perf_counter()
        # Take the cached prefix: if this call fails half-way, no stale prefix survives it.
        prefix, self._prefix = self._prefix, None
        inputs = self._preprocess(prompt, images)
        preprocessed = time.perf_counter()
        input_ids = inputs["input_ids"]
        positions, rope_delta = self._positions(inputs)
        spans = image_spans(input_ids[0], inputs, self.image_token_id)
        reused = reusable_prefix(prefix, input_ids[0], spans) if self.reuse_kv else 0
        if reused and prefix is not None:
            cache = prefix.cache
            if cache.get_seq_length() > reused:
                cache.crop(reused - cache.get_seq_length())  # negative: drop that many tokens
        else:
            from transformers import DynamicCache

            cache = DynamicCache(config=self.model.config)
        feed = suffix_inputs(inputs, spans, reused, self.device, self.model.dtype)
        outputs = self.model(
            **feed,
            position_ids=positions[:, :, reused:].to(self.device),
            past_key_values=cache,
            use_cache=True,
            logits_to_keep=1,
        )
        _synchronize(self.device)
        prefill_seconds = time.perf_counter() - preprocessed
        generator = None
        if temperature > 0 and seed is not None:
            generator = torch.Generator(device=self.device).manual_seed(seed)
        generated: list[int] = []
        fed_generated = 0  # generated tokens whose keys/values are in the cache
        stream = TextStream(self.tokenizer, stop)
        if on_text is not None and response_prefix:
            on_text(response_prefix)
        finish_reason = "length"
        first_token_seconds = 0.0
        length = input_ids.shape[1]
        for step in range(max_new_tokens):
            if cancel is not None and cancel.is_set():
                finish_reason = "cancelled"
                break
            token = next_token(outputs.logits[0, -1], temperature, top_p, generator)
            if step == 0:
                first_token_seconds = time.perf_counter() - start
            generated.append(token)
            if token in self.stop_token_ids:
                finish_reason = "stop"
                break
            piece = stream.push(token)
            if piece and on_text is not None:
                on_text(piece)
            if stream.stopped:
                finish_reason = "stop"
                break
            if step + 1 == max_new_tokens:
                break
            position = torch.full((3, 1, 1), length + step + rope_delta, device=self.device)
            outputs = self.model(
                input_ids=torch.tensor([[token]], device=self.device),
                position_ids=position,
                past_key_values=cache,
                use_cache=True,
            )
            fed_generated = step + 1
        text = final_text(self.tokenizer.decode(generated, skip_special_tokens=True), stop)
        streamed = stream.text
        if on_text is not None and len(text) > len(streamed) and text.startswith(streamed):
            on_text(text[len(streamed) :])  # a held-back tail that was no stop string
        new = torch.tensor(generated[:fed_generated], dtype=input_ids.dtype)
        fed = torch.cat([input_ids[0], new])
        self._prefix = CachedPrefix(fed, cache, spans) if self.reuse_kv else None
        _synchronize(self.device)
        return GenerationResult(
            text=response_prefix + text,
            token_ids=generated,
            prompt_tokens=int(length),
            visual_tokens=int((input_ids == self.image_token_id).sum()),
            output_tokens=len(generated),
            reused_tokens=reused,
            preprocess_seconds=preprocessed - start,
            prefill_seconds=prefill_seconds,
            first_token_seconds=first_token_seconds,
            total_seconds=time.perf_counter() - start,
            finish_reason=finish_reason,
        )

    def _preprocess(self, prompt: str, images: list[Image.Image]) -> Any:
        """Processor outputs; images are resized and patched on the model's GPU when it has one."""
        options: dict[str, Any] = {}
        if images and self.device.type == "cuda":
            options["device"] = self.device
        inputs = self.processor(
            text=[prompt], images=images or None, return_tensors="pt", **options
        )
        for key in ("image_grid_thw", "mm_token_type_ids", "attention_mask", "input_ids"):
            if inputs.get(key) is not None:
                inputs[key] = inputs[key].cpu()
        return inputs

    def _positions(self, inputs: Any) -> tuple[torch.Tensor, int]:
        """M-RoPE position ids (3, 1, L) of the whole prompt and the text delta after it."""
        input_ids = inputs["input_ids"]
        if inputs.get("image_grid_thw") is None:
            length = input_ids.shape[1]
            return torch.arange(length).view(1, 1, -1).expand(3, 1, -1), 0
        candidates = {
            "input_ids": input_ids,
            "image_grid_thw": inputs["image_grid_thw"],
            "attention_mask": inputs.get("attention_mask"),
            "mm_token_type_ids": inputs.get("mm_token_type_ids"),
        }
        kwargs = {k: v for k, v in candidates.items() if k in self._rope_parameters}
        positions, deltas = self.model.model.get_rope_index(**kwargs)
        return positions.cpu(), int(deltas.view(-1)[0])


def _family(config: Any) -> ModelFamily | None:
    try:
        return family_for_config(config)
    except ValueError:
        return None


def _synchronize(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)
