"""Model families the backends run: Qwen2.5-VL (VisionThink's base) and Qwen3-VL.

A :class:`ModelFamily` holds what the agent needs to know about a checkpoint besides its
weights: the Hugging Face ``model_type`` values it covers, the geometry of its image processor
(pixels per visual token and pixel limits, for token accounts) and the coordinate convention of
the boxes it writes in a zoom call (protocol ``BoxConvention``): absolute pixels of the first
look for Qwen2.5-VL, 0–1000 relative for Qwen3-VL. Both families use the same chat markup
(``<|im_start|>`` turns, ``<|vision_start|><|image_pad|><|vision_end|>`` images) and the same
Hermes tool-call format (``<tool_call>\\n{json}\\n</tool_call>``).

Which family a model is:

* in process (:class:`~visionthink_agent.backends.transformers_chat.ChatQwenVL`): its
  ``config.json`` says (``ChatQwenVL(...).family``);
* behind an OpenAI-compatible server: ``create_openai_compatible_model(..., family=...)``, else
  inferred from the served model's name (``Qwen3-VL`` in it → Qwen3-VL, otherwise Qwen2.5-VL);
* any chat model: :func:`family_of`.

This module imports neither torch nor transformers.

Example:
    >>> family_for_model_type("qwen3_vl_moe").boxes, family_for_model_type("qwen2_5_vl").boxes
    ('relative_1000', 'first_look_pixels')
    >>> family_for_model_name("Qwen/Qwen3-VL-8B-Instruct").geometry.factor
    32
    >>> family_for_model_name("Senqiao/VisionThink-Efficient").name
    'qwen2_5_vl'
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final, Literal, TypeAlias

from visionthink_agent.images.tokens import QWEN2_5_VL, QWEN3_VL, VisionGeometry
from visionthink_agent.protocol import BoxConvention

__all__ = [
    "DEFAULT_FAMILY",
    "FAMILIES",
    "FAMILY_METADATA_KEY",
    "QWEN2_5_VL_FAMILY",
    "QWEN3_VL_FAMILY",
    "FamilyName",
    "ModelFamily",
    "family_for_checkpoint",
    "family_for_config",
    "family_for_model_name",
    "family_for_model_type",
    "family_of",
    "get_family",
    "resolve_family",
]

FamilyName: TypeAlias = Literal["qwen2_5_vl", "qwen3_vl"]
"""The name of a model family."""

FAMILY_METADATA_KEY: Final[str] = "visionthink_family"
"""Key of the family's name in a LangChain chat model's ``metadata`` (OpenAI-compatible backend)."""


@dataclass(frozen=True)
class ModelFamily:
    """What the agent needs to know about a family of checkpoints.

    Attributes:
        name: ``qwen2_5_vl`` or ``qwen3_vl``.
        label: the family's name as people write it (``Qwen2.5-VL``).
        model_types: the Hugging Face ``config.json`` ``model_type`` values of the family.
        geometry: its image processor's geometry (:func:`~visionthink_agent.images.visual_tokens`).
        boxes: the coordinate convention of the boxes it writes (zoom tool ``bbox_2d``).

    Example:
        >>> QWEN3_VL_FAMILY.label, QWEN3_VL_FAMILY.model_types
        ('Qwen3-VL', ('qwen3_vl', 'qwen3_vl_moe'))
    """

    name: FamilyName
    label: str
    model_types: tuple[str, ...]
    geometry: VisionGeometry
    boxes: BoxConvention


QWEN2_5_VL_FAMILY: Final[ModelFamily] = ModelFamily(
    name="qwen2_5_vl",
    label="Qwen2.5-VL",
    model_types=("qwen2_5_vl",),
    geometry=QWEN2_5_VL,
    boxes="first_look_pixels",
)
"""Qwen2.5-VL and the VisionThink checkpoints: 28 px per token side, boxes in first-look pixels."""

QWEN3_VL_FAMILY: Final[ModelFamily] = ModelFamily(
    name="qwen3_vl",
    label="Qwen3-VL",
    model_types=("qwen3_vl", "qwen3_vl_moe"),
    geometry=QWEN3_VL,
    boxes="relative_1000",
)
"""Qwen3-VL (dense and MoE): 32 px per token side, boxes on a 0–1000 scale."""

FAMILIES: Final[tuple[ModelFamily, ...]] = (QWEN2_5_VL_FAMILY, QWEN3_VL_FAMILY)
"""Every family, the default first."""

DEFAULT_FAMILY: Final[ModelFamily] = QWEN2_5_VL_FAMILY
"""The family assumed when nothing says otherwise (the released VisionThink checkpoints')."""

_QWEN3_VL_NAME = re.compile(r"qwen[-_]?3[-_.]?vl", re.IGNORECASE)


def get_family(family: str | ModelFamily) -> ModelFamily:
    """A family by name (``qwen3_vl``), label (``Qwen3-VL``) or one of its model types.

    Raises:
        ValueError: no family has that name.

    Example:
        >>> get_family("Qwen3-VL") is get_family("qwen3_vl_moe") is QWEN3_VL_FAMILY
        True
        >>> get_family("llava")
        Traceback (most recent call last):
        ...
        ValueError: unknown model family 'llava'; known: qwen2_5_vl, qwen3_vl
    """
    if isinstance(family, ModelFamily):
        return family
    for candidate in FAMILIES:
        if family in (candidate.name, candidate.label, *candidate.model_types):
            return candidate
    known = ", ".join(f.name for f in FAMILIES)
    raise ValueError(f"unknown model family {family!r}; known: {known}")


def family_for_model_type(model_type: str) -> ModelFamily:
    """The family of a ``config.json`` ``model_type``.

    Raises:
        ValueError: a model type of no supported family.

    Example:
        >>> family_for_model_type("qwen3_vl").name
        'qwen3_vl'
        >>> family_for_model_type("qwen2_vl")  # doctest: +ELLIPSIS
        Traceback (most recent call last):
        ...
        ValueError: model type 'qwen2_vl' is not a supported family (qwen2_5_vl, ...)
    """
    for family in FAMILIES:
        if model_type in family.model_types:
            return family
    known = ", ".join(t for f in FAMILIES for t in f.model_types)
    raise ValueError(f"model type {model_type!r} is not a supported family ({known})")


def family_for_config(config: Mapping[str, Any] | Any) -> ModelFamily:
    """The family of a model config: a ``config.json`` mapping or a transformers config.

    Raises:
        ValueError: the config has no ``model_type`` or one of no supported family.

    Example:
        >>> family_for_config({"model_type": "qwen3_vl", "text_config": {}}).label
        'Qwen3-VL'
    """
    model_type = (
        config.get("model_type")
        if isinstance(config, Mapping)
        else getattr(config, "model_type", None)
    )
    if not isinstance(model_type, str):
        raise ValueError("the model config has no model_type")
    return family_for_model_type(model_type)


def family_for_checkpoint(checkpoint: str | os.PathLike[str]) -> ModelFamily:
    """The family of a checkpoint from its ``config.json``, without loading the model.

    ``checkpoint`` is a local directory or a Hugging Face id whose config is in the local hub
    cache (nothing is downloaded).

    Raises:
        FileNotFoundError: no local ``config.json`` for ``checkpoint``.
        ValueError: the config is not JSON or names a model type of no supported family.

    Example:
        >>> import json, tempfile
        >>> folder = Path(tempfile.mkdtemp())
        >>> _ = (folder / "config.json").write_text(json.dumps({"model_type": "qwen3_vl"}))
        >>> family_for_checkpoint(folder).name
        'qwen3_vl'
    """
    path = _local_config(checkpoint)
    if path is None:
        raise FileNotFoundError(f"no local config.json for {str(checkpoint)!r}")
    try:
        config = json.loads(path.read_text(encoding="utf-8"))
    except UnicodeDecodeError as exc:  # its message quotes the offending byte: say less
        raise ValueError(f"{path} is not a JSON model config: not UTF-8 text") from exc
    except json.JSONDecodeError as exc:
        where = f"line {exc.lineno}, column {exc.colno}"
        raise ValueError(f"{path} is not a JSON model config: {exc.msg} at {where}") from exc
    return family_for_config(config)


def family_for_model_name(name: str, *, default: ModelFamily = DEFAULT_FAMILY) -> ModelFamily:
    """The family a model's name suggests: ``Qwen3-VL`` (or ``qwen3_vl``) in it, else ``default``.

    For served models whose config cannot be read (an OpenAI-compatible server's model name).

    Example:
        >>> family_for_model_name("tiny-qwen3-vl").name, family_for_model_name("gpt-4o").name
        ('qwen3_vl', 'qwen2_5_vl')
    """
    return QWEN3_VL_FAMILY if _QWEN3_VL_NAME.search(name) else default


def resolve_family(
    model: str | os.PathLike[str], family: str | ModelFamily | None = None
) -> ModelFamily:
    """The family of ``model``: ``family`` when given, else its local config, else its name.

    Args:
        model: a checkpoint directory, a Hugging Face id or a served model name.
        family: an explicit family (name, label or :class:`ModelFamily`); wins when given.

    Raises:
        ValueError: ``family`` names no family, or the local config's model type is of no
            supported family.

    Example:
        >>> resolve_family("Qwen/Qwen3-VL-4B-Instruct").name
        'qwen3_vl'
        >>> resolve_family("my-served-model", "qwen3_vl").boxes
        'relative_1000'
    """
    if family is not None:
        return get_family(family)
    try:
        return family_for_checkpoint(model)
    except FileNotFoundError:
        return family_for_model_name(str(model))


def family_of(chat_model: Any) -> ModelFamily:
    """The family of a LangChain chat model (also one wrapped by ``bind_tools``).

    In order: a :class:`ModelFamily` ``family`` attribute
    (:class:`~visionthink_agent.backends.transformers_chat.ChatQwenVL`), the family named in
    ``metadata["visionthink_family"]`` (``create_openai_compatible_model``), the model name
    (``model_name`` or ``model``) through :func:`resolve_family`, else :data:`DEFAULT_FAMILY`.

    Example:
        >>> from types import SimpleNamespace
        >>> family_of(SimpleNamespace(model_name="Qwen3-VL-8B-Instruct")).name
        'qwen3_vl'
        >>> family_of(SimpleNamespace(metadata={"visionthink_family": "qwen3_vl"})).name
        'qwen3_vl'
        >>> family_of(object()).name
        'qwen2_5_vl'
    """
    while hasattr(chat_model, "bound"):  # RunnableBinding (bind_tools, bind)
        chat_model = chat_model.bound
    declared = getattr(chat_model, "family", None)
    if isinstance(declared, ModelFamily):
        return declared
    metadata = getattr(chat_model, "metadata", None)
    if isinstance(metadata, Mapping) and metadata.get(FAMILY_METADATA_KEY):
        return get_family(metadata[FAMILY_METADATA_KEY])
    name = getattr(chat_model, "model_name", None) or getattr(chat_model, "model", None)
    return resolve_family(name) if isinstance(name, str) and name else DEFAULT_FAMILY


def _local_config(checkpoint: str | os.PathLike[str]) -> Path | None:
    """``config.json`` of a local directory, or of a hub id in the local hub cache."""
    folder = Path(checkpoint).expanduser()
    if folder.is_dir():
        path = folder / "config.json"
        return path if path.is_file() else None
    try:
        from huggingface_hub import try_to_load_from_cache

        cached = try_to_load_from_cache(str(checkpoint), "config.json")
    except (ImportError, ValueError):  # no hub client, or not a valid repo id
        return None
    return Path(cached) if isinstance(cached, str) else None
