"""langchain-tests' ``ChatModelIntegrationTests`` for ChatQwenVL, offline.

Two runs of the standard suite, both on the real in-process engine:

* :class:`TestChatQwenVLTinyModel` — the tiny random-weight checkpoint. Tests that need a model
  that follows instructions (call a tool, fill a schema) fail only because the weights are
  random: they are listed in :data:`RANDOM_MODEL_FAILURES` with the reason, as ``xfail``.
* :class:`TestChatQwenVLScripted` — the same checkpoint with its token choice scripted
  (``tests/backends/scripted_model.py``: the model runs every step, the logits are replaced so
  the reply is what a cooperative model would say), so the tool-calling and structured-output
  tests check the plumbing end to end: tool declaration in the prompt, ``tool_choice``,
  streaming, ``<tool_call>`` parsing, tool-result histories.

The standard image tests download a picture with ``httpx.get``; here that call is answered with
a synthetic PNG (any other URL fails the test), so nothing leaves the machine.
"""

from __future__ import annotations

import functools
import inspect
import io
from pathlib import Path
from typing import Any

import httpx
import pytest
from langchain_tests.integration_tests import ChatModelIntegrationTests
from PIL import Image

from tests.backends.scripted_model import ScriptedChatQwenVL
from visionthink_agent.backends.transformers_chat import ChatQwenVL

_IMAGE_URLS = (
    "https://raw.githubusercontent.com/langchain-ai/docs/4d11d08b6b0e210bd456943f7a22febbd168b543"
    "/src/images/agentic-rag-output.png",
)


def _synthetic_png() -> bytes:
    gradient = Image.linear_gradient("L").resize((320, 200))
    image = Image.merge("RGB", (gradient, gradient.transpose(Image.Transpose.ROTATE_180), gradient))
    buffer = io.BytesIO()
    image.save(buffer, "PNG")
    return buffer.getvalue()


@pytest.fixture(autouse=True)
def offline_image_downloads(monkeypatch: pytest.MonkeyPatch) -> None:
    """Serve the standard tests' image URL from memory; fail on any other download."""
    png = _synthetic_png()

    def get(url: str, **_: Any) -> httpx.Response:
        if url not in _IMAGE_URLS:
            raise AssertionError(f"a test tried to download {url!r}")
        return httpx.Response(200, content=png, request=httpx.Request("GET", url))

    monkeypatch.setattr(httpx, "get", get)


class _Base(ChatModelIntegrationTests):
    checkpoint: str = ""
    override_checkpoint: str = ""

    @pytest.fixture(autouse=True)
    def _checkpoints(self, tiny_checkpoint: Path, tiny_checkpoint_seed1: Path) -> None:
        type(self).checkpoint = str(tiny_checkpoint)
        type(self).override_checkpoint = str(tiny_checkpoint_seed1)

    @property
    def chat_model_params(self) -> dict[str, Any]:
        return {"model": self.checkpoint, "device": "cpu", "max_tokens": 12}

    @property
    def supports_image_inputs(self) -> bool:
        return True

    @property
    def supports_image_tool_message(self) -> bool:
        return True

    @property
    def returns_usage_metadata(self) -> bool:
        return True


_NO_CALL = (
    "random weights write no valid tool call: the answer opens with the forced "
    '<tool_call>{"name": ..., "arguments": but random tokens follow, never JSON arguments '
    "(passes on the scripted run)"
)
_NO_SCHEMA = (
    "random weights fill no schema: with_structured_output forces a call to the schema's tool, "
    "whose arguments come out as random tokens, not JSON (passes on the scripted run)"
)
RANDOM_MODEL_FAILURES: dict[str, str] = {
    "test_tool_calling": _NO_CALL,
    "test_tool_calling_async": _NO_CALL,
    "test_tool_calling_with_no_arguments": _NO_CALL,
    "test_tool_choice": _NO_CALL,
    "test_bind_runnables_as_tools": _NO_CALL,
    "test_agent_loop": _NO_CALL,
    "test_unicode_tool_call_integration": _NO_CALL,
    "test_structured_output": _NO_SCHEMA,
    "test_structured_output_async": _NO_SCHEMA,
    "test_structured_output_pydantic_2_v1": _NO_SCHEMA,
    "test_structured_output_optional_param": _NO_SCHEMA,
}
"""Standard tests the random-weight model fails only because its answers are random."""


def _expected_failure(name: str, reason: str) -> Any:
    """The standard test ``name`` as a strict xfail (its own marks, e.g. parametrize, kept)."""
    test = getattr(ChatModelIntegrationTests, name)
    if inspect.iscoroutinefunction(test):

        @functools.wraps(test)
        async def wrapper(self: Any, *args: Any, **kwargs: Any) -> None:
            await test(self, *args, **kwargs)

    else:

        @functools.wraps(test)
        def wrapper(self: Any, *args: Any, **kwargs: Any) -> None:
            test(self, *args, **kwargs)

    return pytest.mark.xfail(reason=reason, strict=True)(wrapper)


class TestChatQwenVLTinyModel(_Base):
    @property
    def chat_model_class(self) -> type[ChatQwenVL]:
        return ChatQwenVL

    @property
    def model_override_value(self) -> str:
        return self.override_checkpoint


for _name, _reason in RANDOM_MODEL_FAILURES.items():
    setattr(TestChatQwenVLTinyModel, _name, _expected_failure(_name, _reason))


class TestChatQwenVLScripted(_Base):
    @property
    def chat_model_class(self) -> type[ChatQwenVL]:
        return ScriptedChatQwenVL

    @property
    def chat_model_params(self) -> dict[str, Any]:
        return {**super().chat_model_params, "max_tokens": 200}
