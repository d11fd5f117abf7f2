"""The tiny checkpoints' tokenizer: a byte-level BPE with Qwen's pre-tokenizer and added tokens.

Trained on a small built-in corpus (the VisionThink prompts plus some English), with every
added token of the family at the same ids in both families (Qwen3-VL adds ``<tool_response>``,
``</tool_response>``, ``<think>``, ``</think>``).

Example:
    >>> ADDED_IDS["<|image_pad|>"] == TINY_IMAGE_TOKEN_ID, VOCAB_SIZE
    (True, 1088)
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from typing import Any, Final

from visionthink_agent import protocol

__all__ = [
    "ADDED_IDS",
    "QWEN3_VL_ADDED_TOKENS",
    "QWEN_ADDED_TOKENS",
    "TINY_IMAGE_TOKEN_ID",
    "VOCAB_SIZE",
    "build_tokenizer",
]

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
ADDED_IDS: Final[dict[str, int]] = {
    token: _BPE_VOCAB_SIZE + i for i, (token, _) in enumerate(QWEN3_VL_ADDED_TOKENS)
}
TINY_IMAGE_TOKEN_ID: Final[int] = ADDED_IDS["<|image_pad|>"]
"""Token id of ``<|image_pad|>`` in the tiny checkpoint."""
VOCAB_SIZE: Final[int] = 1088  # BPE vocab + added tokens, padded to a multiple of 64

_ENGLISH: Final[str] = """\
The receipt shows a list of items, their prices and a total at the bottom.
What is the total? How many cats are in the picture? Read the small text on the sign.
The answer is 42. The image is too small to read, so I need the full resolution image.
Coffee 3.50 Sandwich 7.25 Salad 6.80 Water 1.20 Subtotal 18.75 Tax 1.50 Total 20.25
A man is riding a red bicycle down a street next to a blue car and a tall building.
0 1 2 3 4 5 6 7 8 9 10 100 1000 (A) (B) (C) (D) \\boxed{B} yes no left right top bottom
"""


def _corpus(extra: Sequence[str]) -> Iterator[str]:
    yield _ENGLISH
    yield from protocol.load_strings().values()
    yield from extra


def build_tokenizer(
    extra_corpus: Sequence[str] = (),
    added_tokens: Sequence[tuple[str, bool]] = QWEN_ADDED_TOKENS,
) -> Any:
    """Train a byte-level BPE with Qwen's pre-tokenizer and wrap it as a ``Qwen2Tokenizer``.

    Example:
        >>> build_tokenizer().convert_tokens_to_ids("<|im_end|>") == ADDED_IDS["<|im_end|>"]
        True
    """
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
    vocab.update({token: ADDED_IDS[token] for token, _ in added_tokens})
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
