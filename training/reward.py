"""VisionThink's per-trajectory reward as a veRL ``compute_score`` (async).

Wired by ``reward.custom_reward_function`` (``path: pkg://training.reward``, ``name:
compute_score``); ``reward_kwargs.judge`` configures the shared judge. For each trajectory:
the response is cut into model turns (:func:`visionthink_agent.reward.split_model_turns`), the
answer, format and resize flag (any high-resolution request: a resize or a zoom) are read off
them (:func:`~visionthink_agent.reward.assess_turns`), the judge compares the answer with the
ground truth, and the reward is ``acc + 0.5 · format``
(:func:`~visionthink_agent.reward.trajectory_reward`). The group penalty needs the whole group and
is applied later by the trainer (:mod:`training.group_penalty`).

Every sample returns the same keys: ``score``, ``acc``, ``format``, ``resized``, ``judge_ok``,
``needs_high_res`` (the row's ``use_tool`` label: 1, 0, or -1 when unknown; numbers),
``category`` (the row's ``category``, else its data source), ``judge_status`` and ``pred``
(text: veRL skips text in its averages and uses ``pred`` for majority voting in validation).

Example:
    >>> import asyncio
    >>> turns = "<think>easy</think><answer>\\\\boxed{B}</answer>"
    >>> result = asyncio.run(compute_score("demo", turns, "B", {"question": "Which?"},
    ...                                    judge={"model": "rules-only"}))
    >>> result["score"], result["acc"], result["resized"], result["judge_status"]
    (1.5, 1.0, 0.0, 'ok')
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from functools import cache
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from training.names import TOOL_MODE_FIELD
from training.settings import ConfigError
from visionthink_agent.judge import CompositeJudge, ExactMatchJudge, Judge, LLMJudge
from visionthink_agent.reward import assess_turns, split_model_turns, trajectory_reward

__all__ = [
    "EXACT_MATCH",
    "RULES_ONLY",
    "JudgeSettings",
    "compute_score",
    "judge_from_settings",
    "judge_settings",
]

RULES_ONLY = "rules-only"
"""``judge.model`` value that skips the LLM: only the offline rule judges decide (tests, smoke
runs); what they cannot settle counts as a judge failure."""
EXACT_MATCH = "exact-match"
"""``judge.model`` value for closed-set answers (the synthetic benchmark): the offline rule
judges, then a normalised exact match that calls any other answer wrong. No judge failures,
but a synonym counts as wrong: use an LLM judge for open-ended answers."""


class JudgeSettings(BaseModel):
    """``reward.custom_reward_function.reward_kwargs.judge``: the shared judge's endpoint.

    Attributes:
        base_url: OpenAI-compatible API root of the judge (vLLM, OpenAI, ...).
        model: judge model name, or ``rules-only`` / ``exact-match`` (offline judges).
        api_key_env: environment variable holding the API key (read in the reward worker).
        concurrency: requests in flight per reward worker.
        timeout_s: seconds per attempt phase.
        max_retries: retries after the first attempt (temperatures 0, 0.2, 0.4 as the authors).
        cache: a SQLite path shared by the workers of one node, or true for in-memory.
        rules_first: settle exact / choice / numeric matches offline before asking the LLM.
        strict_tool_call: the format score also requires valid tool-call JSON (the paper's rule;
            the released code only checks the tags).

    Example:
        >>> JudgeSettings(model="gpt-4o").base_url
        'http://127.0.0.1:8000/v1'
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    base_url: str = "http://127.0.0.1:8000/v1"
    model: str = Field(min_length=1)
    api_key_env: str = "OPENAI_API_KEY"
    concurrency: int = Field(default=64, ge=1)
    timeout_s: float = Field(default=60.0, gt=0)
    max_retries: int = Field(default=3, ge=0)
    cache: bool | str = True
    rules_first: bool = True
    strict_tool_call: bool = False


@cache
def judge_from_settings(settings: JudgeSettings) -> Judge:
    """One judge per settings and process (reward workers reuse its connections and cache).

    Example:
        >>> judge_from_settings(JudgeSettings(model=RULES_ONLY)).name
        'composite'
    """
    if settings.model == RULES_ONLY:
        return CompositeJudge(None)
    if settings.model == EXACT_MATCH:
        return CompositeJudge(ExactMatchJudge(strict=True))
    llm = LLMJudge(
        settings.base_url,
        settings.model,
        api_key=os.environ.get(settings.api_key_env),
        concurrency=settings.concurrency,
        timeout=settings.timeout_s,
        max_retries=settings.max_retries,
        cache=settings.cache,
        failure_policy="invalid",
    )
    return CompositeJudge(llm) if settings.rules_first else llm


def judge_settings(judge: Mapping[str, Any] | None) -> JudgeSettings:
    """Validate ``reward_kwargs.judge``.

    Example:
        >>> judge_settings({"model": "gpt-4o", "timeout_s": 5}).timeout_s
        5.0

    Raises:
        training.settings.ConfigError: naming the bad field.
    """
    try:
        return JudgeSettings.model_validate(dict(judge or {}))
    except ValidationError as exc:
        error = exc.errors()[0]
        where = ".".join(str(p) for p in ("reward_kwargs", "judge", *error["loc"]))
        raise ConfigError(f"{where}: {error['msg']}") from None


async def compute_score(
    data_source: str,
    solution_str: str,
    ground_truth: str,
    extra_info: Mapping[str, Any] | None = None,
    *,
    judge: Mapping[str, Any] | None = None,
    **kwargs: Any,
) -> dict[str, Any]:
    """Score one trajectory: ``acc + 0.5 · format`` with the facts the group penalty needs.

    Args:
        data_source: the row's ``data_source`` (unused: one reward for every source).
        solution_str: the decoded multi-turn response (special tokens kept or skipped).
        ground_truth: the row's ``reward_model.ground_truth``.
        extra_info: the row's ``extra_info`` (its ``question`` goes to the judge) merged with the
            trajectory's ``extra_fields`` by veRL (their ``tool_mode``, set by the agent loop in
            zoom and both modes, says which calls ``strict_tool_call`` accepts).
        judge: :class:`JudgeSettings` fields (from ``reward_kwargs``).
        **kwargs: other veRL arguments (ignored).

    Returns:
        ``score``, ``acc``, ``format``, ``resized``, ``judge_ok``, ``needs_high_res``,
        ``category``, ``judge_status``, ``pred``.

    Example:
        >>> import asyncio
        >>> asyncio.run(compute_score("d", "no tags at all", "42", {},
        ...                           judge={"model": "rules-only"}))["format"]
        0.0

    Raises:
        training.settings.ConfigError: ``judge`` is missing a field or has a bad one.
    """
    settings = judge_settings(judge)
    facts = assess_turns(
        split_model_turns(solution_str),
        strict_tool_call=settings.strict_tool_call,
        mode=(extra_info or {}).get(TOOL_MODE_FIELD) or "resize",
    )
    question = str((extra_info or {}).get("question") or "")
    result = await judge_from_settings(settings).score(question, str(ground_truth), facts.answer)
    judge_ok = result.correct is not None
    acc = float(bool(result.correct))
    label = (extra_info or {}).get("use_tool")
    return {
        "score": trajectory_reward(acc, facts.format_ok),
        "needs_high_res": -1.0 if label is None else float(bool(label)),
        "category": str((extra_info or {}).get("category") or data_source),
        "acc": acc,
        "format": float(facts.format_ok),
        "resized": float(facts.resized),
        "judge_ok": float(judge_ok),
        "judge_status": result.status,
        "pred": facts.answer,
    }
