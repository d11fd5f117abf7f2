"""``ChatQwenVL``: a LangChain chat model running a Qwen2.5-VL or Qwen3-VL checkpoint in process.

The embedded default backend: no server, the released ``Senqiao/VisionThink-Efficient`` by
default, ``model="demo"`` for the small model shipped in the package (trained on the synthetic
task), ``model="tiny"`` / ``model="tiny-qwen3-vl"`` for the offline random-weight checkpoints.
``ChatQwenVL(...).family`` says which model family it runs (the box convention of its zoom
calls and its visual-token geometry). It accepts LangChain messages with
image content blocks in any format :func:`visionthink_agent.images.load_image` reads, renders
them with the checkpoint's chat template, streams tokens, reports exact prompt and visual token
counts, and by default reuses the previous turn's KV cache when the new prompt extends it
(VisionThink's resize turn), see :mod:`visionthink_agent.backends.qwen.engine`.

Both agent modes work: in *prompted* mode nothing is bound and the caller parses
``<tool_call>`` from the text; in *native* mode ``bind_tools`` passes the tool schemas to the
chat template's ``tools=`` and the model's ``<tool_call>`` blocks come back as ``tool_calls``
(the text keeps them, so the conversation re-renders byte for byte). The stock Qwen2.5-VL
template ignores ``tools=`` (the schemas are then declared in the system message the way Qwen's
tool-aware templates do); Qwen3-VL's declares them itself. Both families answer in the same
Hermes ``<tool_call>`` format.

Example:
    >>> from langchain_core.messages import HumanMessage
    >>> from PIL import Image
    >>> from visionthink_agent.images import encode_image
    >>> png = encode_image(Image.new("RGB", (56, 56)), "PNG")
    >>> model = ChatQwenVL(model="tiny", max_tokens=4)
    >>> reply = model.invoke([HumanMessage([
    ...     {"type": "text", "text": "What colour?"},
    ...     {"type": "image", "base64": png.base64, "mime_type": png.mime_type},
    ... ])])
    >>> reply.response_metadata["visual_tokens"], reply.usage_metadata["output_tokens"] <= 4
    (4, True)
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import queue
import threading
from collections.abc import Callable, Iterator, Sequence
from typing import Any, TypeVar

from langchain_core.callbacks import AsyncCallbackManagerForLLMRun, CallbackManagerForLLMRun
from langchain_core.language_models import BaseChatModel, LanguageModelInput
from langchain_core.messages import (
    AIMessage,
    AIMessageChunk,
    BaseMessage,
)
from langchain_core.messages.ai import UsageMetadata
from langchain_core.outputs import ChatGeneration, ChatGenerationChunk, ChatResult
from langchain_core.runnables import Runnable
from langchain_core.tools import BaseTool
from langchain_core.utils.function_calling import convert_to_openai_tool
from pydantic import ConfigDict, Field

from visionthink_agent.backends import DEFAULT_MODEL
from visionthink_agent.backends.chat_messages import to_qwen_messages
from visionthink_agent.backends.families import ModelFamily, resolve_family
from visionthink_agent.backends.tool_calling import (
    forced_call_prefix,
    normalise_tool_choice,
    offered_tools,
    tool_calls_in,
)
from visionthink_agent.images import ImageLimits

__all__ = ["DEFAULT_MODEL", "ChatQwenVL", "to_qwen_messages"]


T = TypeVar("T")
_ENGINES: dict[tuple[Any, ...], Any] = {}
_ENGINES_LOCK = threading.Lock()


class ChatQwenVL(BaseChatModel):
    """A Qwen2.5-VL or Qwen3-VL checkpoint as a LangChain chat model, run in this process.

    The weights load on first use (constructing the object is instant) and are shared by every
    ``ChatQwenVL`` with the same ``model``, ``device``, ``dtype`` and attention implementation.

    Example:
        >>> ChatQwenVL(model="tiny", temperature=0)._llm_type
        'qwen-vl-transformers'
    """

    model: str = DEFAULT_MODEL
    """Hugging Face id, local checkpoint directory, ``"demo"`` (the shipped model trained on the
    synthetic task), ``"tiny"`` or ``"tiny-qwen3-vl"`` (random weights, for plumbing)."""
    device: str = "auto"
    """``auto`` (CUDA, then MPS, then CPU), or a torch device like ``cuda:1``."""
    dtype: str = "auto"
    """``auto`` (bfloat16 on GPUs, float32 on CPU), ``bfloat16``, ``float16`` or ``float32``."""
    max_tokens: int = Field(default=8192, alias="max_new_tokens")
    """Most tokens generated per turn (VisionThink's limit: 8192)."""
    temperature: float = 0.0
    """0 decodes greedily (VisionThink's evaluation); above 0 samples."""
    top_p: float = 1.0
    seed: int | None = None
    """Seed for sampling (reproducible sampled turns)."""
    stop: list[str] | None = Field(default=None, alias="stop_sequences")
    reuse_kv: bool = True
    """Reuse the previous call's KV cache for a prompt that extends it (the resize turn)."""
    attn_implementation: str | None = None
    """Passed to ``from_pretrained`` (e.g. ``sdpa``, ``flash_attention_2``)."""
    streaming: bool = False
    """Stream tokens in ``invoke`` too (callbacks get each token)."""
    max_pixels: int = ImageLimits.max_pixels
    """Refuse images with more pixels than this (decompression-bomb guard of ``load_image``)."""
    max_bytes: int = ImageLimits.max_bytes
    """Refuse image files, data or downloads larger than this."""
    allow_private_urls: bool = False
    """Let an image URL point at a private, loopback or link-local address."""
    allow_local_files: bool = False
    """Let an image block name a local file (``file_path``, ``file://``, a path); off by
    default, as in the graph: messages may come from a client, which must not make this process
    read its own files."""

    model_config = ConfigDict(populate_by_name=True)

    @property
    def _llm_type(self) -> str:
        return "qwen-vl-transformers"

    @property
    def _identifying_params(self) -> dict[str, Any]:
        return {"model": self.model, "device": self.device, "dtype": self.dtype}

    def _get_ls_params(self, stop: list[str] | None = None, **kwargs: Any) -> Any:
        params = super()._get_ls_params(stop=stop, **kwargs)
        params["ls_provider"] = "transformers"
        params["ls_model_name"] = kwargs.get("model", self.model)
        params["ls_temperature"] = self.temperature
        params["ls_max_tokens"] = self.max_tokens
        if stop or self.stop:
            params["ls_stop"] = stop or self.stop
        return params

    @property
    def family(self) -> ModelFamily:
        """The model family of ``model``: the box convention and token geometry the agent uses.

        Taken from the loaded model's config when it is loaded; before that from the local
        ``config.json`` (a checkpoint directory or a hub id in the local cache), else from the
        name (``Qwen3-VL`` in it: Qwen3-VL, otherwise Qwen2.5-VL). Never loads weights.

        Example:
            >>> ChatQwenVL(model="tiny-qwen3-vl").family.boxes
            'relative_1000'
            >>> ChatQwenVL(model="demo").family.name
            'qwen2_5_vl'
        """
        with _ENGINES_LOCK:
            engine = _ENGINES.get(self._engine_key(self.model))
        if engine is not None and engine.family is not None:
            family: ModelFamily = engine.family
            return family
        return resolve_family(self.model)

    def _engine_key(self, model: str) -> tuple[Any, ...]:
        return (model, self.device, self.dtype, self.attn_implementation, self.reuse_kv)

    def engine(self, model: str | None = None) -> Any:
        """The loaded :class:`~visionthink_agent.backends.qwen.engine.QwenVLEngine` (cached).

        Args:
            model: another checkpoint than ``self.model`` (a per-call ``model=`` override).

        Raises:
            ModelLoadError: the checkpoint cannot be found or fetched; the message names
                ``--model tiny``, a local path and ``--base-url`` as ways forward.
        """
        model = model or self.model
        key = self._engine_key(model)
        with _ENGINES_LOCK:
            if key not in _ENGINES:
                from visionthink_agent.backends.demo import resolve_model_alias
                from visionthink_agent.backends.qwen.engine import ModelLoadError, QwenVLEngine

                try:
                    source = resolve_model_alias(model)
                except FileNotFoundError as exc:
                    raise ModelLoadError(str(exc)) from exc
                _ENGINES[key] = QwenVLEngine.load(
                    source,
                    device=self.device,
                    dtype=self.dtype,
                    reuse_kv=self.reuse_kv,
                    attn_implementation=self.attn_implementation,
                )
            return _ENGINES[key]

    def bind_tools(
        self,
        tools: Sequence[dict[str, Any] | type | Callable[..., Any] | BaseTool],
        *,
        tool_choice: str | bool | dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> Runnable[LanguageModelInput, AIMessage]:
        """Give the model tool schemas (native mode) through the chat template's ``tools=``.

        A template without tool support (the stock Qwen2.5-VL one) gets the schemas declared in
        the system message, as Qwen2.5's tool-aware template writes them.

        Args:
            tools: tools, functions, pydantic models or OpenAI tool schemas.
            tool_choice: ``None`` / ``"auto"``: the model decides; ``"none"``: the tools are
                not offered; a tool name (or ``{"type": "function", "function": {"name": ...}}``):
                the answer is forced to open a call to that tool (the model writes the
                arguments); ``"any"`` / ``"required"`` / ``True``: the answer is forced to open
                a tool call (to the only tool, or with the name left to the model).
            **kwargs: bound to the model call like ``bind``'s.

        Raises:
            ValueError: ``tool_choice`` names no bound tool or is not a known value.

        Example:
            >>> from visionthink_agent.protocol import resize_tool_schema
            >>> bound = ChatQwenVL(model="tiny").bind_tools([resize_tool_schema()])
            >>> bound.kwargs["tools"][0]["function"]["name"]
            'resize_image'
            >>> ChatQwenVL(model="tiny").bind_tools([resize_tool_schema()], tool_choice="zoom")
            Traceback (most recent call last):
            ...
            ValueError: tool_choice 'zoom' names no bound tool (bound: resize_image)
        """
        formatted = [convert_to_openai_tool(tool) for tool in tools]
        if tool_choice is not None:
            kwargs["tool_choice"] = normalise_tool_choice(tool_choice, formatted)
        return super().bind(tools=formatted, **kwargs)

    def _generate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        on_text = None
        if run_manager is not None and self.streaming:
            on_text = run_manager.on_llm_new_token
        result = self._run(messages, stop, on_text, kwargs)
        return ChatResult(generations=[ChatGeneration(message=self._message(result, kwargs))])

    async def _agenerate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: AsyncCallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        """As ``_generate``, on a thread of its own that a cancelled call stops after its token.

        LangChain's default runs ``_generate`` in the event loop's executor with no way to stop
        it, and the interpreter waits for executor threads at exit: a Ctrl-C during
        ``visionthink eval`` then waited for every generation in flight to run to its last
        token.
        """
        sync_manager = run_manager.get_sync() if run_manager is not None else None
        on_text = sync_manager.on_llm_new_token if sync_manager and self.streaming else None
        cancel = threading.Event()
        result = await _on_own_thread(
            lambda: self._run(messages, stop, on_text, kwargs, cancel), cancel
        )
        return ChatResult(generations=[ChatGeneration(message=self._message(result, kwargs))])

    def _stream(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> Iterator[ChatGenerationChunk]:
        pieces: queue.Queue[tuple[str, Any]] = queue.Queue()
        cancel = threading.Event()

        def emit(text: str) -> None:
            pieces.put(("text", text))

        def work() -> None:
            try:
                pieces.put(("done", self._run(messages, stop, emit, kwargs, cancel)))
            except BaseException as exc:  # re-raised in the caller's thread
                pieces.put(("error", exc))

        threading.Thread(target=work, daemon=True, name="qwen-vl-generate").start()
        try:
            yield from self._drain(pieces, kwargs, run_manager)
        finally:
            cancel.set()  # the consumer stopped early: stop generating after this token

    def _drain(
        self,
        pieces: queue.Queue[tuple[str, Any]],
        kwargs: dict[str, Any],
        run_manager: CallbackManagerForLLMRun | None,
    ) -> Iterator[ChatGenerationChunk]:
        while True:
            kind, item = pieces.get()
            if kind == "error":
                raise item
            if kind == "done":
                final = self._message(item, kwargs)
                yield ChatGenerationChunk(
                    message=AIMessageChunk(
                        content="",
                        usage_metadata=final.usage_metadata,
                        response_metadata=final.response_metadata,
                        tool_call_chunks=[
                            {
                                "name": c["name"],
                                "args": json.dumps(c["args"]),
                                "id": c["id"],
                                "index": i,
                                "type": "tool_call_chunk",
                            }
                            for i, c in enumerate(final.tool_calls)
                        ],
                        chunk_position="last",
                    )
                )
                return
            chunk = ChatGenerationChunk(message=AIMessageChunk(content=item))
            if run_manager is not None:
                run_manager.on_llm_new_token(item, chunk=chunk)
            yield chunk

    # -- internals ----------------------------------------------------------------------------
    def _run(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None,
        on_text: Callable[[str], Any] | None,
        kwargs: dict[str, Any],
        cancel: threading.Event | None = None,
    ) -> Any:
        qwen_messages, images = to_qwen_messages(
            messages,
            limits=ImageLimits(max_pixels=self.max_pixels, max_bytes=self.max_bytes),
            allow_private_urls=self.allow_private_urls,
            allow_local_files=self.allow_local_files,
        )
        tools = offered_tools(kwargs)
        return self.engine(kwargs.get("model")).generate(
            qwen_messages,
            images,
            max_new_tokens=int(kwargs.get("max_tokens", self.max_tokens)),
            temperature=float(kwargs.get("temperature", self.temperature)),
            top_p=float(kwargs.get("top_p", self.top_p)),
            stop=stop or self.stop,
            tools=tools,
            seed=kwargs.get("seed", self.seed),
            on_text=on_text,
            cancel=cancel,
            response_prefix=forced_call_prefix(tools, kwargs.get("tool_choice")),
        )

    def _message(self, result: Any, kwargs: dict[str, Any]) -> AIMessage:
        tool_calls, invalid = tool_calls_in(result.text) if offered_tools(kwargs) else ([], [])
        usage: UsageMetadata = {
            "input_tokens": result.prompt_tokens,
            "output_tokens": result.output_tokens,
            "total_tokens": result.prompt_tokens + result.output_tokens,
            "input_token_details": {"cache_read": result.reused_tokens},
            "output_token_details": {},
        }
        metadata = {
            "model_name": kwargs.get("model", self.model),
            "model_provider": "transformers",
            "finish_reason": result.finish_reason,
            "visual_tokens": result.visual_tokens,
            "reused_prompt_tokens": result.reused_tokens,
            "prefill_seconds": round(result.prefill_seconds, 4),
            "first_token_seconds": round(result.first_token_seconds, 4),
        }
        return AIMessage(
            content=result.text,
            tool_calls=tool_calls,
            invalid_tool_calls=invalid,
            usage_metadata=usage,
            response_metadata=metadata,
        )


async def _on_own_thread(work: Callable[[], T], cancel: threading.Event) -> T:
    """``await`` ``work()`` run on a thread of its own; a cancelled wait sets ``cancel``.

    The work (a generation checking ``cancel`` after each token) stops after the token in
    progress, so the process, which waits for the thread at exit, ends then. (A daemon thread
    would not be waited for, but killing torch mid-token at exit aborts the process.)
    """
    loop = asyncio.get_running_loop()
    future: asyncio.Future[T] = loop.create_future()

    def settle(result: Any, error: BaseException | None) -> None:
        if future.done():
            return
        if error is None:
            future.set_result(result)
        else:
            future.set_exception(error)

    def run() -> None:
        try:
            outcome: tuple[Any, BaseException | None] = (work(), None)
        except BaseException as exc:  # handed to the awaiting task
            outcome = (None, exc)
        with contextlib.suppress(RuntimeError):  # the loop is closed: nobody is waiting
            loop.call_soon_threadsafe(settle, *outcome)

    threading.Thread(target=run, name="qwen-vl-agenerate").start()
    try:
        return await future
    finally:
        cancel.set()
