"""The VisionThink training reward (protocol §4): accuracy + 0.5 · format − penalty.

Pure functions, no I/O: the judge that decides accuracy lives in :mod:`visionthink_agent.judge`.
Two call sites use this package, and its two modules follow them:

* **per trajectory** (veRL's ``compute_score``, which never sees a whole group):
  :func:`split_model_turns` cuts the multi-turn ``solution_str`` into the model's turns,
  :func:`assess_turns` reads the answer, the resize flag and the format off them, and
  :func:`trajectory_reward` adds the parts up once the judge has spoken;
* **per group** (the trainer side, where the GRPO ``uid`` is known): :func:`apply_group_penalty`
  applies the penalty control to the n rollouts of one prompt, and :func:`apply_penalty_by_uid`
  does it for a whole batch.

A sample whose judge failed has ``correct=None``: it is *invalid*, its group gets no penalty,
its score is NaN and the group's statistics say ``valid=False`` so the trainer drops the group
(as the authors did) instead of counting a judge outage as a wrong answer.

Example:
    >>> turns = ["<think>too small</think><tool_call>{}</tool_call>",
    ...          "<think>clear now</think><answer>42</answer>"]
    >>> facts = assess_turns(turns)
    >>> facts.answer, facts.resized, facts.format_ok
    ('42', True, True)
    >>> group = apply_group_penalty([Sample(True, resized=True), Sample(False, resized=False)])
    >>> group.scores, group.stats.penalised
    ([1.4, 0.5], (0,))
"""

from visionthink_agent.reward.group_penalty import (
    DEFAULT_PENALTY,
    DEFAULT_THETA,
    BatchPenalty,
    GroupPenalty,
    GroupStats,
    PenaltySemantics,
    Sample,
    apply_group_penalty,
    apply_penalty_by_uid,
)
from visionthink_agent.reward.trajectory import (
    FORMAT_WEIGHT,
    TrajectoryFacts,
    assess_turns,
    format_score,
    is_resized,
    split_model_turns,
    trajectory_reward,
)

__all__ = [
    "DEFAULT_PENALTY",
    "DEFAULT_THETA",
    "FORMAT_WEIGHT",
    "BatchPenalty",
    "GroupPenalty",
    "GroupStats",
    "PenaltySemantics",
    "Sample",
    "TrajectoryFacts",
    "apply_group_penalty",
    "apply_penalty_by_uid",
    "assess_turns",
    "format_score",
    "is_resized",
    "split_model_turns",
    "trajectory_reward",
]
