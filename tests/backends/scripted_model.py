"""A scripted token source for the real in-process engine, for tests a random model cannot pass.

:class:`ScriptedForward` wraps a loaded model's ``forward``: the model still runs every prefill
and decode step (processor, chat template, M-RoPE positions, KV cache), and the engine still
streams, detokenizes, stops and parses tool calls; only the logits are replaced, so that the
next token is the next one of a reply chosen from the prompt by :func:`cooperative_reply`.

``cooperative_reply`` answers like a model that follows instructions: with tools declared in
the system message (Qwen2.5's ``<tools>`` block) and a user question last, it calls the tool the
question names (or the forced one, or the first), filling enumerated arguments with their first
value, integer arguments with the question's integers in order and string arguments with its
quoted text (or the argument's name); after a tool result, or with no tools, it answers in one
short sentence. :class:`ScriptedChatQwenVL` is ``ChatQwenVL`` on such an engine.
"""

from __future__ import annotations

import json
import re
from typing import Any

import torch

from visionthink_agent.backends.qwen.engine import QwenVLEngine
from visionthink_agent.backends.transformers_chat import ChatQwenVL

_TOOLS = re.compile(r"<tools>\n(.*?)\n</tools>", re.S)
_USER = "<|im_start|>user\n"
_ASSISTANT = "<|im_start|>assistant\n"


def cooperative_reply(prompt: str) -> str:
    """The whole reply a cooperative model gives to a rendered Qwen prompt."""
    tools = [json.loads(line)["function"] for line in _tools_block(prompt)]
    question = prompt.rsplit(_USER, 1)[-1].split("<|im_end|>", 1)[0]
    opening = prompt.rsplit(_ASSISTANT, 1)[-1]
    if not tools or question.startswith("<tool_response>"):
        return "Here is my answer." if not tools else "The tool says: done."
    forced = re.match(r'<tool_call>\n\{"name": "([^"]+)"', opening)
    named = [t for t in tools if t["name"] in question]
    tool = next((t for t in tools if forced and t["name"] == forced.group(1)), None)
    tool = tool or (named or tools)[0]
    call = {"name": tool["name"], "arguments": _arguments(tool, question)}
    return f"<tool_call>\n{json.dumps(call, ensure_ascii=False)}\n</tool_call>"


def _tools_block(prompt: str) -> list[str]:
    match = _TOOLS.search(prompt)
    return match.group(1).splitlines() if match else []


def _arguments(tool: dict[str, Any], question: str) -> dict[str, Any]:
    properties = tool.get("parameters", {}).get("properties", {})
    integers = [int(n) for n in re.findall(r"-?\d+", question)]
    quoted = re.findall(r"'([^']+)'", question)
    args: dict[str, Any] = {}
    for name, schema in properties.items():
        if schema.get("enum"):
            args[name] = schema["enum"][0]
        elif schema.get("type") == "integer":
            args[name] = integers.pop(0) if integers else 1
        else:
            args[name] = quoted.pop(0) if quoted else name.replace("_", " ")
    return args


class ScriptedForward:
    """Force a loaded model's next tokens to spell :func:`cooperative_reply` of the prompt.

    Install with ``model.forward = ScriptedForward(model, tokenizer)``. The engine must not
    reuse the KV cache (``reuse_kv=False``), so every prefill holds the whole prompt.
    """

    def __init__(self, model: Any, tokenizer: Any) -> None:
        self.original = model.forward
        self.tokenizer = tokenizer
        self.end = tokenizer.convert_tokens_to_ids("<|im_end|>")
        self.queue: list[int] = []

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        output = self.original(*args, **kwargs)
        ids = kwargs["input_ids"]
        if ids.shape[1] > 1:  # a prefill: the whole prompt (and any forced opening)
            prompt = self.tokenizer.decode(ids[0])
            opening = prompt.rsplit(_ASSISTANT, 1)[-1]
            reply = cooperative_reply(prompt)
            assert reply.startswith(opening), (opening, reply)
            self.queue = [*self.tokenizer.encode(reply[len(opening) :]), self.end]
        token = self.queue.pop(0) if self.queue else self.end
        logits = torch.full_like(output.logits[:, -1:, :], float("-inf"))
        logits[..., token] = 0.0
        output.logits = logits
        return output


class ScriptedChatQwenVL(ChatQwenVL):
    """ChatQwenVL on a local checkpoint with :class:`ScriptedForward` choosing the tokens."""

    def engine(self, model: str | None = None) -> Any:
        path = model or self.model
        if path not in _SCRIPTED_ENGINES:
            engine = QwenVLEngine.load(path, device="cpu", reuse_kv=False)
            engine.model.forward = ScriptedForward(engine.model, engine.tokenizer)
            _SCRIPTED_ENGINES[path] = engine
        return _SCRIPTED_ENGINES[path]


_SCRIPTED_ENGINES: dict[str, QwenVLEngine] = {}
