"""Run the real VisionThink agent loop against a scripted generate server (no GPU, no Ray)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from omegaconf import DictConfig
from verl.experimental.agent_loop.agent_loop import AgentLoopOutput, DictConfigWrap, ToolListWrap
from verl.tools.base_tool import BaseTool
from verl.utils.dataset.rl_dataset import RLHFDataset
from verl.workers.rollout.replica import TokenOutput

from training.agent_loop import VisionThinkAgentLoop
from training.resize_tool import ResizeImageTool

RESIZE_TURN = (
    "<think>The first look is too small to read.</think>\n"
    '<tool_call>\n{"name": "resize_image", "arguments": {"action": "resize"}}\n</tool_call>'
)
ANSWER_TURN = "<think>Now I can read it.</think><answer>\\boxed{42}</answer>"


@dataclass
class ScriptedServer:
    """Stands in for veRL's LLM server client: returns the scripted turns' token ids in order.

    Attributes:
        turns: token ids of each model turn (ending with ``<|im_end|>``, as vLLM stops there).
        calls: what each ``generate`` call received (prompt ids, number of images).
    """

    turns: list[list[int]]
    calls: list[tuple[list[int], int]] = field(default_factory=list)

    async def generate(
        self,
        request_id: str,
        prompt_ids: list[int],
        sampling_params: dict[str, Any],
        image_data: list[Any] | None = None,
        **kwargs: Any,
    ) -> TokenOutput:
        self.calls.append((list(prompt_ids), len(image_data or [])))
        return TokenOutput(token_ids=self.turns[len(self.calls) - 1])


def turn_ids(tokenizer: Any, text: str) -> list[int]:
    """The token ids a model emits for one turn: the text, then ``<|im_end|>``."""
    return list(tokenizer.encode(text + "<|im_end|>", add_special_tokens=False))


def make_loop(
    config: DictConfig,
    tokenizer: Any,
    processor: Any,
    server: Any,
    tools: list[BaseTool] | None = None,
) -> VisionThinkAgentLoop:
    """A :class:`VisionThinkAgentLoop` as veRL's worker builds it (the resize tool by default)."""
    return VisionThinkAgentLoop(
        trainer_config=DictConfigWrap(config),
        server_manager=server,
        tokenizer=tokenizer,
        processor=processor,
        dataset_cls=RLHFDataset,
        data_config=DictConfigWrap(config.data),
        hf_model_type="qwen2_5_vl",
        tools=ToolListWrap([ResizeImageTool({}, None)] if tools is None else tools),
    )


async def run_loop(
    config: DictConfig,
    tokenizer: Any,
    processor: Any,
    row: dict[str, Any],
    texts: list[str],
    tools: list[BaseTool] | None = None,
) -> tuple[AgentLoopOutput, ScriptedServer]:
    """Run one trajectory of :class:`VisionThinkAgentLoop` whose model says ``texts``."""
    server = ScriptedServer([turn_ids(tokenizer, text) for text in texts])
    loop = make_loop(config, tokenizer, processor, server, tools)
    keys = ("raw_prompt", "tools_kwargs", "extra_info", "index", "agent_name")
    output = await loop.run({"temperature": 1.0}, **{k: row[k] for k in keys if k in row})
    return output, server
