"""Tiny random-weight Qwen2.5-VL and Qwen3-VL checkpoints, written in seconds, with no download.

A checkpoint has its family's real layout where it matters for plumbing — Qwen2.5-VL: 14-px
patches, windowed vision attention, M-RoPE; Qwen3-VL: 16-px patches, DeepStack, interleaved
M-RoPE; both: 2×2 merge, temporal patch 2, the Qwen special tokens as single tokens, the stock
chat template, the real processor classes and the released image-processor limits — and tiny
hidden sizes everywhere else. Its answers are random text; the processor, the image-token
arithmetic, generation and parsing are real.

The tokenizer is built here: a byte-level BPE (Qwen's pre-tokenizer) trained on a small
built-in corpus (the VisionThink prompts plus some English), with every added token of the
family (Qwen3-VL adds ``<tool_response>``, ``</tool_response>``, ``<think>``, ``</think>``).

Command line::

    python -m visionthink_agent.backends.tiny [DIR] [--seed N] [--family F] [--overwrite]

Example:
    >>> import tempfile
    >>> from transformers import AutoProcessor
    >>> path = write_tiny_checkpoint(tempfile.mkdtemp() + "/tiny")
    >>> processor = AutoProcessor.from_pretrained(path)
    >>> processor.tokenizer.convert_tokens_to_ids("<|image_pad|>") == TINY_IMAGE_TOKEN_ID
    True
    >>> path = write_tiny_checkpoint(tempfile.mkdtemp() + "/tiny3", family="qwen3_vl")
    >>> type(AutoProcessor.from_pretrained(path)).__name__
    'Qwen3VLProcessor'
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import tempfile
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

from visionthink_agent import protocol
from visionthink_agent.backends.families import (
    QWEN2_5_VL_FAMILY,
    QWEN3_VL_FAMILY,
    FamilyName,
    ModelFamily,
    get_family,
)
from visionthink_agent.backends.qwen_template import (
    QWEN2_5_VL_CHAT_TEMPLATE,
    QWEN3_VL_CHAT_TEMPLATE,
)

__all__ = [
    "QWEN3_VL_ADDED_TOKENS",
    "QWEN_ADDED_TOKENS",
    "TINY_IMAGE_TOKEN_ID",
    "TINY_MODEL_ALIAS",
    "TINY_QWEN3_VL_ALIAS",
    "TINY_QWEN3_VL_SIZES",
    "TINY_SIZES",
    "ModelSizes",
    "build_untrained_checkpoint",
    "default_tiny_dir",
    "main",
    "write_tiny_checkpoint",
]

TINY_MODEL_ALIAS: Final[str] = "tiny"
"""The model name (``--model tiny``) that selects the tiny Qwen2.5-VL checkpoint."""
TINY_QWEN3_VL_ALIAS: Final[str] = "tiny-qwen3-vl"
"""The model name (``--model tiny-qwen3-vl``) that selects the tiny Qwen3-VL checkpoint."""

_FORMAT_VERSION: Final[int] = 1
_MARKER: Final[str] = "visionthink_tiny.json"
_BPE_VOCAB_SIZE: Final[int] = 1024

# Qwen2.5-VL's added tokens in their released order (ids 151643..151664 there); the bool says
# whether the token is "special" (skipped when decoding with skip_special_tokens=True).
QWEN_ADDED_TOKENS: Final[tuple[tuple[str, bool], ...]] = (
    ("<|endoftext|>", True),
    ("<|im_start|>", True),
    ("<|im_end|>", True),
    ("<|object_ref_start|>", True),
    ("<|object_ref_end|>", True),
    ("<|box_start|>", True),
    ("<|box_end|>", True),
    ("<|quad_start|>", True),
    ("<|quad_end|>", True),
    ("<|vision_start|>", True),
    ("<|vision_end|>", True),
    ("<|vision_pad|>", True),
    ("<|image_pad|>", True),
    ("<|video_pad|>", True),
    ("<tool_call>", False),
    ("</tool_call>", False),
    ("<|fim_prefix|>", False),
    ("<|fim_middle|>", False),
    ("<|fim_suffix|>", False),
    ("<|fim_pad|>", False),
    ("<|repo_name|>", False),
    ("<|file_sep|>", False),
)
# Qwen3-VL's tokenizer adds four more (ids 151665..151668 there), none of them special.
QWEN3_VL_ADDED_TOKENS: Final[tuple[tuple[str, bool], ...]] = (
    *QWEN_ADDED_TOKENS,
    ("<tool_response>", False),
    ("</tool_response>", False),
    ("<think>", False),
    ("</think>", False),
)
_ADDED_IDS: Final[dict[str, int]] = {
    token: _BPE_VOCAB_SIZE + i for i, (token, _) in enumerate(QWEN3_VL_ADDED_TOKENS)
}
TINY_IMAGE_TOKEN_ID: Final[int] = _ADDED_IDS["<|image_pad|>"]
"""Token id of ``<|image_pad|>`` in the tiny checkpoint."""
_VOCAB_SIZE: Final[int] = 1088  # BPE vocab + added tokens, padded to a multiple of 64

_ENGLISH: Final[str] = """\
The receipt shows a list of items, their prices and a total at the bottom.
What is the total? How many cats are in the picture? Read the small text on the sign.
The answer is 42. The image is too small to read, so I need the full resolution image.
Coffee 3.50 Sandwich 7.25 Salad 6.80 Water 1.20 Subtotal 18.75 Tax 1.50 Total 20.25
A man is riding a red bicycle down a street next to a blue car and a tall building.
0 1 2 3 4 5 6 7 8 9 10 100 1000 (A) (B) (C) (D) \\boxed{B} yes no left right top bottom
"""


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


def default_tiny_dir(family: FamilyName | ModelFamily = "qwen2_5_vl") -> Path:
    """Where the CLI keeps a family's tiny checkpoint: ``$VISIONTHINK_CACHE`` or ``~/.cache``.

    Example:
        >>> default_tiny_dir().name, default_tiny_dir("qwen3_vl").name
        ('tiny-qwen2.5-vl', 'tiny-qwen3-vl')
    """
    root = os.environ.get("VISIONTHINK_CACHE") or Path.home() / ".cache" / "visionthink-agent"
    return Path(root) / f"tiny-{get_family(family).label.lower()}"


def write_tiny_checkpoint(
    path: str | os.PathLike[str],
    *,
    seed: int = 0,
    overwrite: bool = False,
    family: FamilyName | ModelFamily = "qwen2_5_vl",
) -> Path:
    """Write a tiny random-weight checkpoint of ``family`` to ``path`` (idempotent, atomic).

    A directory already holding a tiny checkpoint of the same format and seed is returned as
    is (a cache hit takes microseconds), so tests and commands can call this freely. The
    checkpoint is built in a temporary sibling directory and renamed into place, so concurrent
    writers never see half a checkpoint.

    Args:
        path: target directory.
        seed: seed of the random weights (same seed, same weights).
        overwrite: replace whatever ``path`` holds (also a tiny checkpoint of another seed).
        family: ``qwen2_5_vl`` (default) or ``qwen3_vl``.

    Returns:
        The checkpoint directory, loadable with ``AutoModelForImageTextToText`` and
        ``AutoProcessor`` ``.from_pretrained``.

    Raises:
        FileExistsError: ``path`` exists, is not this tiny checkpoint and ``overwrite`` is off.

    Example:
        >>> import tempfile
        >>> p = write_tiny_checkpoint(tempfile.mkdtemp() + "/tiny", seed=1)
        >>> (p / "model.safetensors").is_file(), write_tiny_checkpoint(p, seed=1) == p
        (True, True)
    """
    fam = get_family(family)
    target = Path(path).expanduser()
    if target.exists():
        if not overwrite and _is_tiny_checkpoint(target, seed, fam):
            return target
        if not overwrite:
            raise FileExistsError(
                f"{target} exists and is not a tiny checkpoint ({fam.label}, seed {seed}); "
                "pass overwrite=True (--overwrite) or choose another directory"
            )
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{target.name}-", dir=target.parent))
    try:
        build_untrained_checkpoint(staging, seed=seed, family=fam)
        marker = _marker(seed, fam)
        (staging / _MARKER).write_text(json.dumps(marker) + "\n", encoding="utf-8")
        if target.exists():  # overwrite, or a concurrent writer finished first
            if not overwrite and _is_tiny_checkpoint(target, seed, fam):
                return target
            shutil.rmtree(target)
        os.replace(staging, target)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return target


def _marker(seed: int, family: ModelFamily) -> dict[str, Any]:
    """The marker file's content (Qwen2.5-VL's has no family: caches written before stay valid)."""
    marker: dict[str, Any] = {"format": _FORMAT_VERSION, "seed": seed}
    if family is not QWEN2_5_VL_FAMILY:
        marker["family"] = family.name
    return marker


def _is_tiny_checkpoint(path: Path, seed: int, family: ModelFamily) -> bool:
    try:
        marker = json.loads((path / _MARKER).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return bool(marker == _marker(seed, family))


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
    tokenizer = _build_tokenizer(sizes.extra_corpus, _added_tokens(fam))
    config = getattr(transformers, f"{prefix}Config")(**_config_kwargs(sizes, fam))
    torch.manual_seed(seed)
    model = getattr(transformers, f"{prefix}ForConditionalGeneration")(config)
    model.generation_config = GenerationConfig(
        bos_token_id=_ADDED_IDS["<|endoftext|>"],
        eos_token_id=[_ADDED_IDS["<|im_end|>"], _ADDED_IDS["<|endoftext|>"]],
        pad_token_id=_ADDED_IDS["<|endoftext|>"],
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
    ids = _ADDED_IDS
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
        "vocab_size": _VOCAB_SIZE,
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


def _corpus(extra: Sequence[str]) -> Iterator[str]:
    yield _ENGLISH
    yield from protocol.load_strings().values()
    yield from extra


def _build_tokenizer(
    extra_corpus: Sequence[str] = (),
    added_tokens: Sequence[tuple[str, bool]] = QWEN_ADDED_TOKENS,
) -> Any:
    """Train a byte-level BPE with Qwen's pre-tokenizer and wrap it as a ``Qwen2Tokenizer``."""
    from tokenizers import Regex, Tokenizer, decoders, models, normalizers, pre_tokenizers
    from tokenizers.trainers import BpeTrainer
    from transformers import AddedToken, Qwen2Tokenizer
    from transformers.models.qwen2.tokenization_qwen2 import PRETOKENIZE_REGEX

    bpe = Tokenizer(models.BPE())
    bpe.normalizer = normalizers.NFC()
    bpe.pre_tokenizer = pre_tokenizers.Sequence(
        [
            pre_tokenizers.Split(Regex(PRETOKENIZE_REGEX), behavior="isolated", invert=False),
            pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False),
        ]
    )
    bpe.decoder = decoders.ByteLevel()
    trainer = BpeTrainer(
        vocab_size=_BPE_VOCAB_SIZE,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    bpe.train_from_iterator(_corpus(extra_corpus), trainer)
    state = json.loads(bpe.to_str())["model"]
    vocab: dict[str, int] = state["vocab"]
    merges = [tuple(m) if isinstance(m, list) else tuple(m.split(" ")) for m in state["merges"]]
    # Pad the BPE vocab to a fixed size and give the added tokens their fixed ids.
    for i in range(len(vocab), _BPE_VOCAB_SIZE):
        vocab[f"<|reserved_{i}|>"] = i
    vocab.update({token: _ADDED_IDS[token] for token, _ in added_tokens})
    special = [token for token, is_special in added_tokens if is_special]
    # The tokenizers backend takes merges as pairs, although the signature says strings.
    options: dict[str, Any] = {
        "vocab": vocab,
        "merges": merges,
        "unk_token": None,
        "bos_token": None,
        "eos_token": "<|im_end|>",
        "pad_token": "<|endoftext|>",
        "additional_special_tokens": special[1:],
        "model_max_length": 131072,
        "errors": "replace",
    }
    tokenizer = Qwen2Tokenizer(**options)
    tokenizer.add_tokens(
        [AddedToken(t, special=s, normalized=False) for t, s in added_tokens],
        special_tokens=False,
    )
    return tokenizer


def main(argv: Sequence[str] | None = None) -> int:
    """Command line: write the tiny checkpoint and print its directory.

    Example:
        >>> import tempfile
        >>> main([tempfile.mkdtemp() + "/tiny"])  # doctest: +ELLIPSIS
        /.../tiny
        0
    """
    parser = argparse.ArgumentParser(
        prog="python -m visionthink_agent.backends.tiny",
        description="Write a tiny random-weight Qwen2.5-VL or Qwen3-VL checkpoint (no download).",
    )
    parser.add_argument(
        "path",
        nargs="?",
        type=Path,
        default=None,
        help=f"target directory (default: {default_tiny_dir()} or {default_tiny_dir('qwen3_vl')})",
    )
    parser.add_argument("--seed", type=int, default=0, help="seed of the random weights")
    parser.add_argument(
        "--family",
        choices=[QWEN2_5_VL_FAMILY.name, QWEN3_VL_FAMILY.name],
        default=QWEN2_5_VL_FAMILY.name,
        help="model family (default: %(default)s)",
    )
    parser.add_argument("--overwrite", action="store_true", help="replace what the directory holds")
    args = parser.parse_args(argv)
    path = write_tiny_checkpoint(
        args.path or default_tiny_dir(args.family),
        seed=args.seed,
        overwrite=args.overwrite,
        family=args.family,
    )
    print(path)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
