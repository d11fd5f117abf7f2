"""The VisionThink agent as an lmms-eval model: ``python -m lmms_eval --model visionthink``.

lmms-eval (0.7.x) discovers external models through the ``lmms_eval.models`` entry-point group;
this package declares one (``visionthink``) in ``pyproject.toml``, whose payload is
:func:`manifest`. lmms-eval then imports :class:`VisionThinkLMM`, a ``lmms_eval.api.model.lmms``
subclass built on first access, so this module imports without lmms-eval installed.

Each ``generate_until`` request runs the whole agent (first look, optional resize) on the
request's image and returns the extracted final answer (protocol §1.6), so lmms-eval's task
metrics score the answer, as in the authors' evaluation. Model arguments::

    --model_args model=tiny                                  # in-process (tiny or a checkpoint)
    --model_args model=Senqiao/VisionThink-Efficient,base_url=http://127.0.0.1:8000/v1

lmms-eval 0.7.3 pins ``wandb==0.25.0`` and older ``antlr4``/``math-verify`` than veRL and the
judges use, so install it in its own environment (see the README's Evaluation section).

Example:
    >>> from langchain_core.language_models import FakeListChatModel
    >>> from PIL import Image
    >>> from visionthink_agent.graph import create_visionthink_agent
    >>> agent = create_visionthink_agent(
    ...     FakeListChatModel(responses=["<think>big</think><answer>red</answer>"])).compile()
    >>> answer_request(agent, "<image>\\nWhat colour?", [Image.new("RGB", (64, 64), "red")])
    'red'
"""

from __future__ import annotations

from functools import cache
from typing import Any

from visionthink_agent.evaluation.modes import run_visionthink_sync
from visionthink_agent.images import load_image
from visionthink_agent.protocol import IMAGE_PLACEHOLDER

__all__ = ["MODEL_NAME", "answer_request", "manifest"]  # and VisionThinkLMM, built lazily

MODEL_NAME = "visionthink"


def answer_request(agent: Any, context: str, visuals: list[Any]) -> str:
    """Answer one lmms-eval request with the compiled agent: the extracted final answer.

    Args:
        agent: the compiled VisionThink graph.
        context: the task's prompt (``<image>`` placeholders are dropped: the agent places the
            image itself).
        visuals: what the task's ``doc_to_visual`` returned; VisionThink asks about one image.

    Raises:
        ValueError: no image, or more than one.
    """
    images = [v for v in visuals if v is not None]
    if len(images) != 1:
        raise ValueError(
            f"VisionThink answers about exactly one image; the request has {len(images)}"
        )
    question = context.replace(IMAGE_PLACEHOLDER, "").strip()
    return run_visionthink_sync(agent, load_image(images[0]), question).prediction


def manifest() -> Any:
    """The entry-point payload: lmms-eval's ``ModelManifest`` for ``--model visionthink``.

    Example:
        >>> manifest().model_id  # doctest: +SKIP
        'visionthink'
    """
    from lmms_eval.models.registry_v2 import ModelManifest

    return ModelManifest(model_id=MODEL_NAME, simple_class_path=f"{__name__}.VisionThinkLMM")


@cache
def _lmms_class() -> type:
    from lmms_eval.api.model import lmms

    from visionthink_agent.evaluation.models import create_eval_model
    from visionthink_agent.graph import create_visionthink_agent

    class VisionThinkLMM(lmms):
        """lmms-eval model running the VisionThink agent (see the module docstring)."""

        def __init__(
            self,
            model: str = "tiny",
            base_url: str | None = None,
            api_key: str | None = None,
            agent_mode: str = "prompted",
            max_new_tokens: int = 8192,
            **kwargs: Any,
        ) -> None:
            super().__init__()
            chat_model = create_eval_model(
                model, base_url=base_url, api_key=api_key, max_tokens=int(max_new_tokens)
            )
            self.agent = create_visionthink_agent(chat_model, mode=agent_mode).compile()  # type: ignore[arg-type]

        def generate_until(self, requests: list[Any]) -> list[str]:
            answers = []
            for context, _gen_kwargs, doc_to_visual, doc_id, task, split in (
                r.args for r in requests
            ):
                visuals = doc_to_visual(self.task_dict[task][split][doc_id])
                visuals = visuals if isinstance(visuals, list) else [visuals]
                answers.append(answer_request(self.agent, context, visuals))
            return answers

        def generate_until_multi_round(self, requests: list[Any]) -> list[str]:
            raise NotImplementedError("VisionThink runs its own two rounds: use generate_until")

        def loglikelihood(self, requests: list[Any]) -> list[tuple[float, bool]]:
            raise NotImplementedError("VisionThink is a generative agent: no loglikelihood tasks")

    VisionThinkLMM.__module__ = __name__
    return VisionThinkLMM


def __getattr__(name: str) -> Any:
    # lmms-eval imports "visionthink_agent.evaluation.lmms_eval_model.VisionThinkLMM"; the class
    # is built on that first access so that this module imports without lmms-eval.
    if name == "VisionThinkLMM":
        return _lmms_class()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
