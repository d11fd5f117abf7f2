"""Chat-model backends: an OpenAI-compatible server, an in-process transformers model, a tiny model.

Heavy dependencies (torch, transformers, langchain-openai) are imported inside the submodules
that need them, so importing this package stays cheap.

Example:
    >>> from visionthink_agent.backends.tiny import TINY_MODEL_ALIAS
    >>> TINY_MODEL_ALIAS
    'tiny'
"""
