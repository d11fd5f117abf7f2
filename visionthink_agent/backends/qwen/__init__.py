"""The in-process Qwen-VL engine and what it is built from.

* :mod:`.engine` — :class:`~.engine.QwenVLEngine`: loads a Qwen2.5-VL / Qwen3-VL checkpoint,
  renders a conversation with the processor's chat template and generates, reusing the
  KV cache of a conversation's prefix;
* :mod:`.template` — the chat template with tool support that the tiny checkpoints carry;
* :mod:`.tiny` — :func:`~.tiny.write_tiny_checkpoint`, a tiny random-weight checkpoint for
  offline tests and demos (``python -m visionthink_agent.backends.qwen.tiny DIR``);
* kernel patches the engine applies (same results, faster): :mod:`.lower_right_attention`,
  :mod:`.grouped_window_attention`, :mod:`.aligned_vision_mlp`.

The chat-model adapters a user picks stay one level up, in :mod:`visionthink_agent.backends`.
torch and transformers are imported by the submodules, not by this package.

Example:
    >>> import visionthink_agent.backends.qwen as qwen
    >>> qwen.__name__
    'visionthink_agent.backends.qwen'
"""
