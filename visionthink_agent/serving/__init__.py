"""Serving the project's checkpoints behind an OpenAI-compatible API.

* :mod:`~visionthink_agent.serving.vllm_env` builds vLLM's own environment (a virtualenv apart
  from the project's: vLLM pins a newer transformers than veRL allows);
* :mod:`~visionthink_agent.serving.vllm_server` starts vLLM from it on 127.0.0.1
  (``python -m visionthink_agent.serving.vllm_server``).

Example:
    >>> from visionthink_agent.serving.vllm_env import DEFAULT_ENV_DIR
    >>> DEFAULT_ENV_DIR.as_posix().endswith(".cache/visionthink-agent/vllm-env")
    True
"""
