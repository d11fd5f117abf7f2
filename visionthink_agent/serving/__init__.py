"""Serving the project's checkpoints behind an OpenAI-compatible API.

* :mod:`~visionthink_agent.serving.vllm_env` builds vLLM's own environment (a virtualenv apart
  from the project's: vLLM pins a newer transformers than veRL allows);
* :mod:`~visionthink_agent.serving.vllm_server` starts vLLM from it on 127.0.0.1
  (``python -m visionthink_agent.serving.vllm_server``);
* :mod:`~visionthink_agent.serving.langgraph_dev` runs ``langgraph dev`` on the checkout's
  ``graphs/`` (the served agent as a user serves it);
* :mod:`~visionthink_agent.serving.load` puts a bounded load of client threads on it and checks
  that each got its own answers (``tests/serving``, ``benchmarks/bench_served_load.py``).

Example:
    >>> from visionthink_agent.serving.vllm_env import DEFAULT_ENV_DIR
    >>> DEFAULT_ENV_DIR.as_posix().endswith(".cache/visionthink-agent/vllm-env")
    True
"""
