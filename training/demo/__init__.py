"""The demo recipe: a small Qwen2.5-VL that learns VisionThink on a 2-core CPU.

``python -m training.demo`` (see :mod:`training.demo.__main__`) trains a ~3 M-parameter
Qwen2.5-VL from scratch on the synthetic benchmark's ``demo`` preset, train split:

1. supervised warm start (:mod:`training.demo.sft`, transformers' ``Trainer``) on VisionThink
   trajectories rendered with the protocol strings (:mod:`training.demo.trajectories`);
2. GRPO through veRL (:func:`training.demo.recipe.run_grpo`, stage 2).

The result ships in the package as ``--model demo``
(:mod:`visionthink_agent.backends.demo`).
"""
