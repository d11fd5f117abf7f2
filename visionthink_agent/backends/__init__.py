"""Chat-model backends: an OpenAI-compatible server, an in-process transformers model, tiny models.

* :func:`~visionthink_agent.backends.openai_compatible.create_openai_compatible_model` — a
  ``ChatOpenAI`` for vLLM / SGLang / ``transformers serve`` / OpenAI;
* :class:`~visionthink_agent.backends.transformers_chat.ChatQwenVL` — the checkpoint in this
  process (the embedded default);
* :mod:`~visionthink_agent.backends.qwen` — what the in-process adapter runs: the Qwen-VL
  engine, its kernel patches, chat template and
  :func:`~visionthink_agent.backends.qwen.tiny.write_tiny_checkpoint` (a tiny random-weight
  Qwen2.5-VL, ``model="tiny"``, or Qwen3-VL, ``model="tiny-qwen3-vl"``, for offline tests);
* :mod:`~visionthink_agent.backends.families` — which family a model is (Qwen2.5-VL or
  Qwen3-VL: its zoom boxes' convention and visual-token geometry), :func:`.families.family_of`.

Heavy dependencies (torch, transformers, langchain-openai) are imported inside the submodules
that need them, so importing this package stays cheap.

Example:
    >>> from visionthink_agent.backends import DEFAULT_MODEL
    >>> DEFAULT_MODEL
    'Senqiao/VisionThink-Efficient'
"""

from typing import Final

__all__ = ["DEFAULT_MODEL"]

DEFAULT_MODEL: Final[str] = "Senqiao/VisionThink-Efficient"
"""The released VisionThink checkpoint every backend serves by default."""
