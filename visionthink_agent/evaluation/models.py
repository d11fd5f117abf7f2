"""The chat model under evaluation, from a name and an optional server URL.

Example:
    >>> create_eval_model("tiny", max_tokens=8)._llm_type
    'qwen-vl-transformers'
    >>> create_eval_model("m", base_url="http://127.0.0.1:8000/v1").model_name
    'm'
"""

from __future__ import annotations

from typing import Any

__all__ = ["create_eval_model"]


def create_eval_model(
    model: str,
    *,
    base_url: str | None = None,
    api_key: str | None = None,
    max_tokens: int = 8192,
    family: str | None = None,
) -> Any:
    """A greedy (temperature 0) chat model, as VisionThink is evaluated (protocol §6).

    Args:
        model: with ``base_url``, the server's model name; without, ``"tiny"``, a Hugging Face
            id or a local checkpoint run in process (``ChatQwenVL``).
        base_url: an OpenAI-compatible server (vLLM, ``transformers serve``...).
        api_key: the server's key (local servers ignore it).
        max_tokens: most tokens generated per model turn.
        family: with ``base_url``, the served model's family (``qwen2_5_vl`` / ``qwen3_vl``);
            default inferred from its name.
    """
    if base_url:
        from visionthink_agent.backends.openai_compatible import create_openai_compatible_model

        return create_openai_compatible_model(
            model, base_url=base_url, api_key=api_key, max_tokens=max_tokens, family=family
        )
    from visionthink_agent.backends.transformers_chat import ChatQwenVL

    return ChatQwenVL(model=model, max_new_tokens=max_tokens, temperature=0)
