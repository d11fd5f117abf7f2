"""The demo model: a small Qwen2.5-VL trained on this project's synthetic task, shipped inside
the package, so ``--model demo`` answers real questions with no download.

It was trained on a 2-core CPU by ``python -m training.demo`` (supervised warm start, then
GRPO, which learned when to resize; the README's demo section gives its lineage) on the ``demo``
preset of the synthetic benchmark (224×224 images: the colour and the shape of a large figure
and a large digit, which it reads from the first look; a small digit printed on a grey label,
for which it asks for the full image). It knows nothing else: use it to see the method work,
not for photos.

Example:
    >>> demo_checkpoint_dir().parent.name, DEMO_MODEL_ALIAS
    ('data', 'demo')
    >>> resolve_model_alias("Senqiao/VisionThink-Efficient")
    'Senqiao/VisionThink-Efficient'
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path
from typing import Final

__all__ = ["DEMO_MODEL_ALIAS", "demo_checkpoint_dir", "resolve_model_alias"]

DEMO_MODEL_ALIAS: Final[str] = "demo"
"""The model name (``--model demo``) that selects the shipped checkpoint."""


def demo_checkpoint_dir() -> Path:
    """The folder of the shipped demo checkpoint (inside the installed package).

    Example:
        >>> demo_checkpoint_dir().name
        'demo_model'
    """
    return Path(str(resources.files("visionthink_agent").joinpath("data/demo_model")))


def check_checkpoint_folder(model: str) -> None:
    """Refuse a model name that is written as a path (``/…``, ``./…``, ``~…``, ``a/b/c``) but
    names no folder, before anything heavy is imported: a Hugging Face id has one ``/``.

    Raises:
        FileNotFoundError: no such checkpoint folder (the message lists what ``--model`` takes).

    Example:
        >>> check_checkpoint_folder("/nonexistent")
        Traceback (most recent call last):
        ...
        FileNotFoundError: no such checkpoint folder: /nonexistent (--model takes a checkpoint \
folder, 'demo', 'tiny' or a Hugging Face id such as Senqiao/VisionThink-Efficient)
        >>> check_checkpoint_folder("Senqiao/VisionThink-Efficient")
    """
    looks_like_path = model.startswith(("/", ".", "~")) or model.count("/") > 1
    if looks_like_path and not Path(model).expanduser().is_dir():
        raise FileNotFoundError(
            f"no such checkpoint folder: {model} (--model takes a checkpoint folder, 'demo', "
            "'tiny' or a Hugging Face id such as Senqiao/VisionThink-Efficient)"
        )


def resolve_model_alias(model: str) -> str:
    """The checkpoint an in-process model name means: ``tiny``, ``tiny-qwen3-vl`` and ``demo``
    become local folders.

    ``tiny`` (Qwen2.5-VL) and ``tiny-qwen3-vl`` (Qwen3-VL) are written on first use
    (:func:`.tiny.write_tiny_checkpoint`); ``demo`` is the shipped checkpoint. Any other name is
    returned unchanged.

    Raises:
        FileNotFoundError: ``demo`` was asked for but the package holds no demo checkpoint, or
            ``model`` is a path (:func:`check_checkpoint_folder`) to no folder.

    Example:
        >>> resolve_model_alias("Qwen/Qwen2.5-VL-3B-Instruct")
        'Qwen/Qwen2.5-VL-3B-Instruct'
    """
    check_checkpoint_folder(model)
    if model == DEMO_MODEL_ALIAS:
        folder = demo_checkpoint_dir()
        if not (folder / "model.safetensors").is_file():
            raise FileNotFoundError(
                f"the demo checkpoint is missing from {folder}; reinstall the package or "
                "train it with `python -m training.demo --ship`"
            )
        return str(folder)
    from visionthink_agent.backends.families import QWEN3_VL_FAMILY
    from visionthink_agent.backends.qwen.tiny import (
        TINY_MODEL_ALIAS,
        TINY_QWEN3_VL_ALIAS,
        default_tiny_dir,
        write_tiny_checkpoint,
    )

    if model == TINY_MODEL_ALIAS:
        return str(write_tiny_checkpoint(default_tiny_dir()))
    if model == TINY_QWEN3_VL_ALIAS:
        qwen3 = QWEN3_VL_FAMILY
        return str(write_tiny_checkpoint(default_tiny_dir(qwen3), family=qwen3))
    return model
