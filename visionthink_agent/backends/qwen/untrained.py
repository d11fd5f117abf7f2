"""A random-weight Qwen2.5-VL or Qwen3-VL of chosen sizes, with its tokenizer and processor.

The real layout where it matters for plumbing — Qwen2.5-VL: 14-px patches, windowed vision
attention, M-RoPE; Qwen3-VL: 16-px patches, DeepStack, interleaved M-RoPE; both: 2×2 merge,
temporal patch 2, the real processor classes and the released image-processor limits — and the
hidden sizes of :class:`ModelSizes` everywhere else.

Example:
    >>> TINY_SIZES.text_layers, TINY_QWEN3_VL_SIZES.vision_deepstack
    (2, (0, 1))
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

from visionthink_agent.backends.families import (
    QWEN3_VL_FAMILY,
    FamilyName,
    ModelFamily,
    get_family,
)
from visionthink_agent.backends.qwen.template import (
    QWEN2_5_VL_CHAT_TEMPLATE,
    QWEN3_VL_CHAT_TEMPLATE,
)
from visionthink_agent.backends.qwen.tiny_tokenizer import (
    ADDED_IDS,
    QWEN3_VL_ADDED_TOKENS,
    QWEN_ADDED_TOKENS,
    VOCAB_SIZE,
    build_tokenizer,
)

__all__ = ["TINY_QWEN3_VL_SIZES", "TINY_SIZES", "ModelSizes", "build_untrained_checkpoint"]


@dataclass(frozen=True)
class ModelSizes:
    """The sizes of a small Qwen-VL built from scratch (everything else is the real layout).

    Attributes:
        vision_depth: vision-tower blocks.
        vision_hidden: vision-tower width.
        vision_intermediate: vision MLP width.
        vision_heads: vision attention heads.
        vision_full_attention: blocks with full (not windowed) attention (Qwen2.5-VL only).
        text_hidden: language-model width (also the vision merger's output).
        text_intermediate: language-model MLP width.
        text_layers: language-model layers.
        text_heads: attention heads (head size ``text_hidden // text_heads``).
        text_kv_heads: key/value heads (grouped-query attention).
        mrope_section: M-RoPE split of half a head (temporal, height, width); sums to
            ``text_hidden // text_heads // 2``.
        extra_corpus: text added to the tokenizer's BPE training corpus (frequent strings of
            the training data become few tokens).
        vision_deepstack: vision blocks whose features are added to the first language-model
            layers (DeepStack, Qwen3-VL only; at most ``text_layers`` of them).

    Example:
        >>> TINY_SIZES.text_hidden, sum(TINY_SIZES.mrope_section) * 2 * TINY_SIZES.text_heads
        (64, 64)
    """

    vision_depth: int
    vision_hidden: int
    vision_intermediate: int
    vision_heads: int
    vision_full_attention: tuple[int, ...]
    text_hidden: int
    text_intermediate: int
    text_layers: int
    text_heads: int
    text_kv_heads: int
    mrope_section: tuple[int, int, int]
    extra_corpus: tuple[str, ...] = ()
    vision_deepstack: tuple[int, ...] = ()


TINY_SIZES: Final[ModelSizes] = ModelSizes(
    vision_depth=2,
    vision_hidden=32,
    vision_intermediate=64,
    vision_heads=2,
    vision_full_attention=(1,),
    text_hidden=64,
    text_intermediate=128,
    text_layers=2,
    text_heads=4,
    text_kv_heads=2,
    mrope_section=(2, 3, 3),
)
"""The sizes of the tiny Qwen2.5-VL checkpoint (about 0.3 M parameters)."""

TINY_QWEN3_VL_SIZES: Final[ModelSizes] = ModelSizes(
    vision_depth=2,
    vision_hidden=32,
    vision_intermediate=64,
    vision_heads=2,
    vision_full_attention=(),
    text_hidden=64,
    text_intermediate=128,
    text_layers=2,
    text_heads=4,
    text_kv_heads=2,
    mrope_section=(4, 2, 2),  # interleaved T/H/W like the released (24, 20, 20) of 64
    vision_deepstack=(0, 1),
)
"""The sizes of the tiny Qwen3-VL checkpoint (about 0.4 M parameters)."""


def build_untrained_checkpoint(
    out: str | os.PathLike[str],
    *,
    seed: int = 0,
    sizes: ModelSizes | None = None,
    family: FamilyName | ModelFamily = "qwen2_5_vl",
) -> Path:
    """Write a random-weight model of ``family`` and ``sizes`` with its tokenizer and processor.

    The building block of :func:`write_tiny_checkpoint` (which adds caching and atomic
    replacement) and the starting point of models trained from scratch (``training.demo``).

    Args:
        out: directory to write into (created; files in it are overwritten).
        seed: seed of the random weights.
        sizes: the model sizes (default: :data:`TINY_SIZES` for Qwen2.5-VL,
            :data:`TINY_QWEN3_VL_SIZES` for Qwen3-VL).
        family: ``qwen2_5_vl`` (default) or ``qwen3_vl``.

    Returns:
        ``out`` as a path.

    Example:
        >>> import tempfile
        >>> from transformers import AutoConfig
        >>> path = build_untrained_checkpoint(tempfile.mkdtemp(), sizes=TINY_SIZES)
        >>> AutoConfig.from_pretrained(path).text_config.hidden_size
        64
    """
    import torch
    import transformers
    from transformers import GenerationConfig, Qwen2VLImageProcessor

    fam = get_family(family)
    qwen3 = fam is QWEN3_VL_FAMILY
    if sizes is None:
        sizes = TINY_QWEN3_VL_SIZES if qwen3 else TINY_SIZES
    prefix = "Qwen3VL" if qwen3 else "Qwen2_5_VL"
    tokenizer = build_tokenizer(sizes.extra_corpus, _added_tokens(fam))
    config = getattr(transformers, f"{prefix}Config")(**_config_kwargs(sizes, fam))
    torch.manual_seed(seed)
    model = getattr(transformers, f"{prefix}ForConditionalGeneration")(config)
    model.generation_config = GenerationConfig(
        bos_token_id=ADDED_IDS["<|endoftext|>"],
        eos_token_id=[ADDED_IDS["<|im_end|>"], ADDED_IDS["<|endoftext|>"]],
        pad_token_id=ADDED_IDS["<|endoftext|>"],
        do_sample=False,
    )
    model.save_pretrained(out, safe_serialization=True)
    geometry = fam.geometry
    image_options: dict[str, Any] = {}
    if qwen3:  # the released Qwen3-VL preprocessor_config.json normalises to [-1, 1]
        image_options = {"image_mean": [0.5, 0.5, 0.5], "image_std": [0.5, 0.5, 0.5]}
    image_processor = Qwen2VLImageProcessor(
        size={"shortest_edge": geometry.min_pixels, "longest_edge": geometry.max_pixels},
        patch_size=geometry.factor // 2,
        merge_size=2,
        temporal_patch_size=2,
        **image_options,
    )
    processor = getattr(transformers, f"{prefix}Processor")(
        image_processor=image_processor,
        tokenizer=tokenizer,
        video_processor=_video_processor(qwen3),
        chat_template=QWEN3_VL_CHAT_TEMPLATE if qwen3 else QWEN2_5_VL_CHAT_TEMPLATE,
    )
    processor.save_pretrained(out)
    return Path(out)


def _video_processor(qwen3: bool) -> Any:
    if qwen3:
        from transformers.models.qwen3_vl.video_processing_qwen3_vl import Qwen3VLVideoProcessor

        return Qwen3VLVideoProcessor()
    from transformers.models.qwen2_vl.video_processing_qwen2_vl import Qwen2VLVideoProcessor

    return Qwen2VLVideoProcessor()


def _added_tokens(family: ModelFamily) -> tuple[tuple[str, bool], ...]:
    return QWEN3_VL_ADDED_TOKENS if family is QWEN3_VL_FAMILY else QWEN_ADDED_TOKENS


def _config_kwargs(sizes: ModelSizes, family: ModelFamily) -> dict[str, Any]:
    ids = ADDED_IDS
    vision: dict[str, Any] = {
        "depth": sizes.vision_depth,
        "hidden_size": sizes.vision_hidden,
        "intermediate_size": sizes.vision_intermediate,
        "num_heads": sizes.vision_heads,
        "out_hidden_size": sizes.text_hidden,
        "patch_size": family.geometry.factor // 2,
        "spatial_merge_size": 2,
        "temporal_patch_size": 2,
    }
    text: dict[str, Any] = {
        "vocab_size": VOCAB_SIZE,
        "hidden_size": sizes.text_hidden,
        "intermediate_size": sizes.text_intermediate,
        "num_hidden_layers": sizes.text_layers,
        "num_attention_heads": sizes.text_heads,
        "num_key_value_heads": sizes.text_kv_heads,
        "max_position_embeddings": 32768,
        "rope_parameters": {
            "rope_type": "default",
            "rope_theta": 1000000.0,
            "mrope_section": list(sizes.mrope_section),
        },
    }
    if family is QWEN3_VL_FAMILY:
        vision["deepstack_visual_indexes"] = list(sizes.vision_deepstack)
        text["head_dim"] = sizes.text_hidden // sizes.text_heads
        text["rope_parameters"].update(rope_theta=5000000.0, mrope_interleaved=True)
    else:
        vision.update(
            window_size=112, fullatt_block_indexes=list(sizes.vision_full_attention), in_channels=3
        )
    text.update(
        bos_token_id=ids["<|endoftext|>"],
        eos_token_id=ids["<|im_end|>"],
        pad_token_id=ids["<|endoftext|>"],
    )
    return {
        "vision_config": vision,
        "text_config": text,
        "image_token_id": ids["<|image_pad|>"],
        "video_token_id": ids["<|video_pad|>"],
        "vision_start_token_id": ids["<|vision_start|>"],
        "vision_end_token_id": ids["<|vision_end|>"],
        "tie_word_embeddings": False,
    }
