"""One batched model turn for the ``hf_cpu`` rollout server, reusing each trajectory's prefix.

:class:`TurnGenerator` generates a batch of requests with the same sampling settings in one
``generate`` call. A request whose trajectory's previous turn is in the
:class:`~training.cpu.prefix_cache.PrefixCache` (its prompt extends that turn's tokens
exactly) prefills only its new tokens (the tool turn with the full image) on top of the
cached keys and values; the others prefill their whole prompt. Rows are laid out as
``[pad][cached prefix][pad][new tokens]`` so that every row's cache ends at the same column; the
attention mask hides the pads and the M-RoPE positions are computed over the whole sequence, so
a row's tokens and log-probs are those of a full prefill (the rollout-server tests check it
token for token). After the turn each row's tokens, with their keys and values, go back into the
cache for the trajectory's next turn.

Example:
    >>> sampling = GenerationSettings.from_request(
    ...     {"temperature": 1.0, "top_p": 0.9, "top_k": -1, "logprobs": True}, max_new_tokens=8)
    >>> sampling.do_sample, sampling.top_k, sampling.want_logprobs
    (True, None, True)
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import torch
from transformers import DynamicCache
from transformers.cache_utils import DynamicLayer

from training.cpu.prefix_cache import CachedPrefix, PrefixCache

__all__ = [
    "GenerationSettings",
    "TurnGenerator",
    "TurnRequest",
    "TurnResult",
    "until_eos",
    "vision_placeholder_ids",
]


@dataclass(frozen=True)
class GenerationSettings:
    """One request's sampling settings, read off veRL's vLLM-style ``sampling_params``.

    Attributes:
        max_new_tokens: tokens to generate at most.
        do_sample: sample (temperature > 0) or decode greedily.
        temperature: softmax temperature when sampling.
        top_p: nucleus mass (1.0: off).
        top_k: top-k cut (None: off; vLLM's -1 and 0 both mean off).
        repetition_penalty: transformers' repetition penalty (1.0: off).
        want_logprobs: return the log-probability of each generated token.
    """

    max_new_tokens: int
    do_sample: bool
    temperature: float
    top_p: float
    top_k: int | None
    repetition_penalty: float
    want_logprobs: bool

    @property
    def batch_key(self) -> tuple[Any, ...]:
        """Requests with equal keys can share one ``generate`` call (lengths may differ)."""
        return (
            self.do_sample,
            self.temperature,
            self.top_p,
            self.top_k,
            self.repetition_penalty,
            self.want_logprobs,
        )

    @classmethod
    def from_request(
        cls, sampling_params: Mapping[str, Any], *, max_new_tokens: int
    ) -> GenerationSettings:
        """Read the settings the agent loop sends (unknown keys are ignored, as vLLM would not).

        Example:
            >>> GenerationSettings.from_request({"temperature": 0}, max_new_tokens=4).do_sample
            False
        """
        temperature = float(sampling_params.get("temperature", 1.0))
        top_k = int(sampling_params.get("top_k", -1) or -1)
        return cls(
            max_new_tokens=max_new_tokens,
            do_sample=temperature > 0,
            temperature=temperature if temperature > 0 else 1.0,
            top_p=float(sampling_params.get("top_p", 1.0)),
            top_k=top_k if top_k > 0 else None,
            repetition_penalty=float(sampling_params.get("repetition_penalty", 1.0) or 1.0),
            want_logprobs=bool(sampling_params.get("logprobs", False)),
        )


def until_eos(tokens: list[int], eos_ids: list[int]) -> list[int]:
    """A generated row up to and including its first EOS (the rest is padding).

    Example:
        >>> until_eos([4, 5, 2, 2], eos_ids=[2])
        [4, 5, 2]
    """
    stop = next((i for i, t in enumerate(tokens) if t in eos_ids), None)
    return tokens if stop is None else tokens[: stop + 1]


def vision_placeholder_ids(model_config: Any) -> list[int]:
    """The ids of the vision placeholder tokens a model config names (never to be generated).

    Example:
        >>> from types import SimpleNamespace
        >>> vision_placeholder_ids(SimpleNamespace(image_token_id=7, vision_start_token_id=5))
        [5, 7]
    """
    names = ("image_token_id", "video_token_id", "vision_start_token_id", "vision_end_token_id")
    ids = {getattr(model_config, name, None) for name in names}
    return sorted(i for i in ids if isinstance(i, int))


@dataclass(eq=False)  # compared by identity (their tensors have no truth value)
class TurnRequest:
    """One model turn to generate.

    Attributes:
        prompt_ids: the whole conversation so far, as token ids.
        settings: its sampling settings.
        vision: ``pixel_values`` and ``image_grid_thw`` of all the prompt's images (or empty).
    """

    prompt_ids: list[int]
    settings: GenerationSettings
    vision: dict[str, torch.Tensor]


@dataclass(frozen=True)
class TurnResult:
    """A generated turn: its tokens (through the first EOS), their log-probs if asked for, and
    how many prompt tokens came from the prefix cache instead of a prefill."""

    token_ids: list[int]
    log_probs: list[float] | None
    cached_tokens: int


@dataclass(eq=False)
class _Row:
    request: TurnRequest
    prefix: CachedPrefix | None = None
    cached_images: int = 0  # the first images of the prompt, whose tokens the prefix holds

    @property
    def cached(self) -> int:
        return len(self.prefix.token_ids) if self.prefix is not None else 0


class TurnGenerator:
    """Batched turns of a transformers vision-language model, with prefix reuse.

    Args:
        model: a Qwen-VL ``...ForConditionalGeneration`` (its ``model`` computes M-RoPE indexes).
        eos_token_ids: tokens that end a turn.
        pad_token_id: the id that fills padding.
        suppressed_token_ids: ids never to generate (the vision placeholders).
        merge_size: the image processor's spatial merge (patches per image token, per side).
        prefix_cache: where each trajectory's last turn is kept; None: no reuse.
    """

    def __init__(
        self,
        model: Any,
        *,
        eos_token_ids: list[int],
        pad_token_id: int,
        suppressed_token_ids: list[int],
        merge_size: int = 2,
        prefix_cache: PrefixCache | None = None,
    ) -> None:
        self.model = model
        self.eos_token_ids = eos_token_ids
        self.pad_token_id = pad_token_id
        self.image_token_id: int | None = getattr(model.config, "image_token_id", None)
        self.suppressed_token_ids = suppressed_token_ids
        self.merge_size = merge_size
        self.prefix_cache = prefix_cache
        self.batch_sizes: list[int] = []  # of every generate call, for tests and benchmarks

    def batch_inputs(
        self, prompts: list[list[int]], visions: list[dict[str, torch.Tensor]]
    ) -> tuple[dict[str, torch.Tensor], dict[str, torch.Tensor]]:
        """Plain ``generate`` inputs of a batch of prompts (no cache): left-padded ids and
        attention mask, and the images' tensors in row order with the image-slot mask M-RoPE
        needs (the benchmark's batched floor uses them).

        Example:
            >>> from types import SimpleNamespace
            >>> model = SimpleNamespace(config=SimpleNamespace(image_token_id=9))
            >>> gen = TurnGenerator(
            ...     model, eos_token_ids=[1], pad_token_id=0, suppressed_token_ids=[])
            >>> text, vision = gen.batch_inputs([[5, 6], [7]], [{}, {}])
            >>> text["input_ids"].tolist(), text["attention_mask"].tolist(), vision
            ([[5, 6], [0, 7]], [[1, 1], [0, 1]], {})
        """
        ids, mask = self._layout([_Row(TurnRequest(p, _GREEDY, {})) for p in prompts])
        vision = self._cat_vision(visions, [0] * len(visions))
        if vision:
            vision["mm_token_type_ids"] = self._token_types(ids)
        return {"input_ids": ids, "attention_mask": mask}, vision

    # --- one batched turn ------------------------------------------------------------------

    @torch.inference_mode()
    def generate(self, batch: list[TurnRequest]) -> list[TurnResult]:
        """One ``generate`` call for requests with the same sampling settings."""
        settings = batch[0].settings
        self.batch_sizes.append(len(batch))
        rows = [self._take_prefix(request) for request in batch]
        ids, mask = self._layout(rows)
        width, cached = ids.shape[1], max(row.cached for row in rows)
        visions = [row.request.vision for row in rows]
        grids = [vision["image_grid_thw"] for vision in visions if vision]
        new_images = self._cat_vision(visions, [row.cached_images for row in rows])
        positions, rope_deltas = self.model.model.get_rope_index(  # over every image: cached too
            ids,
            self._token_types(ids),
            image_grid_thw=torch.cat(grids) if grids else None,
            attention_mask=mask,
        )
        cache = self._batch_cache(rows, cached)
        if width - 1 > cached:  # prefill all but the last token; generate feeds that one
            self.model.model(
                input_ids=ids[:, cached : width - 1],
                attention_mask=mask[:, : width - 1],
                position_ids=positions[:, :, cached : width - 1],
                past_key_values=cache,
                use_cache=True,
                **new_images,
            )
        self.model.model.rope_deltas = rope_deltas  # positions of the tokens generate adds
        output = self.model.generate(
            input_ids=ids,
            attention_mask=mask,
            past_key_values=cache,
            max_new_tokens=max(r.settings.max_new_tokens for r in batch),
            do_sample=settings.do_sample,
            temperature=settings.temperature if settings.do_sample else None,
            top_p=settings.top_p if settings.do_sample else None,
            top_k=settings.top_k if settings.do_sample else None,
            repetition_penalty=settings.repetition_penalty,
            eos_token_id=self.eos_token_ids,
            suppress_tokens=self.suppressed_token_ids or None,
            pad_token_id=self.pad_token_id,
            return_dict_in_generate=True,
            output_logits=settings.want_logprobs,
        )
        results = []
        for row_index, row in enumerate(rows):
            tokens = output.sequences[row_index, width:][: row.request.settings.max_new_tokens]
            tokens = until_eos(tokens.tolist(), self.eos_token_ids)
            logprobs = None
            if settings.want_logprobs:
                # Log-probabilities under the sampling temperature, as veRL's actor computes them.
                logits = torch.stack([step[row_index] for step in output.logits[: len(tokens)]])
                all_logprobs = torch.log_softmax(logits.float() / settings.temperature, dim=-1)
                chosen = all_logprobs.gather(-1, torch.tensor(tokens).unsqueeze(-1)).squeeze(-1)
                logprobs = chosen.tolist()
            self._keep(row, row_index, tokens, mask, output.past_key_values)
            results.append(TurnResult(tokens, logprobs, row.cached))
        return results

    # --- layout ----------------------------------------------------------------------------

    def _layout(self, rows: list[_Row]) -> tuple[torch.Tensor, torch.Tensor]:
        """Ids and attention mask, each row ``[pad][cached prefix][pad][new tokens]`` (with no
        cached prefix: plain left padding)."""
        cached = max(row.cached for row in rows)
        new = max(len(row.request.prompt_ids) - row.cached for row in rows)
        ids = torch.full((len(rows), cached + new), self.pad_token_id, dtype=torch.long)
        mask = torch.zeros_like(ids)
        for index, row in enumerate(rows):
            prompt, split = row.request.prompt_ids, row.cached
            if split:
                ids[index, cached - split : cached] = torch.tensor(prompt[:split])
                mask[index, cached - split : cached] = 1
            ids[index, cached + new - (len(prompt) - split) :] = torch.tensor(prompt[split:])
            mask[index, cached + new - (len(prompt) - split) :] = 1
        return ids, mask

    def _token_types(self, ids: torch.Tensor) -> torch.Tensor:
        """Which tokens are image slots: without it transformers gives the image text positions
        (and reuses a stale rope offset from the previous call)."""
        if self.image_token_id is None:
            return torch.zeros_like(ids)
        return torch.eq(ids, self.image_token_id).long()

    def _cat_vision(
        self, visions: list[dict[str, torch.Tensor]], skip: list[int]
    ) -> dict[str, torch.Tensor]:
        """The images' tensors in row order (as the model matches images to image tokens),
        leaving out each row's first ``skip`` images."""
        pixels, grids = [], []
        for vision, skipped in zip(visions, skip, strict=True):
            if not vision or skipped == len(vision["image_grid_thw"]):
                continue
            if self.image_token_id is None:
                raise ValueError("the model's config names no image_token_id for its images")
            grid = vision["image_grid_thw"]
            pixels.append(vision["pixel_values"][int(grid[:skipped].prod(-1).sum()) :])
            grids.append(grid[skipped:])
        if not grids:
            return {}
        return {"pixel_values": torch.cat(pixels), "image_grid_thw": torch.cat(grids)}

    # --- the prefix cache ------------------------------------------------------------------

    def _take_prefix(self, request: TurnRequest) -> _Row:
        """The request's row, with its trajectory's cached prefix if it has a usable one."""
        if self.prefix_cache is None:
            return _Row(request)
        entry = self.prefix_cache.take(request.prompt_ids)
        if entry is None:
            return _Row(request)
        in_prefix = entry.token_ids.count(self.image_token_id) if self.image_token_id else 0
        per_image = [0]
        if request.vision:
            merge = self.merge_size * self.merge_size
            for tokens in (request.vision["image_grid_thw"].prod(-1) // merge).tolist():
                per_image.append(per_image[-1] + int(tokens))
        if in_prefix not in per_image:  # the prefix ends inside an image: prefill it all
            return _Row(request)
        return _Row(request, entry, per_image.index(in_prefix))

    def _batch_cache(self, rows: list[_Row], cached: int) -> DynamicCache:
        """The rows' cached keys and values, right-aligned at column ``cached``, as one cache."""
        cache = DynamicCache()
        prefixes = [(index, row.prefix) for index, row in enumerate(rows) if row.prefix]
        if not prefixes:
            return cache
        for layer, (keys, values) in enumerate(prefixes[0][1].layers):
            shape = (len(rows), keys.shape[1], cached, keys.shape[3])
            batch_keys = keys.new_zeros(shape)
            batch_values = values.new_zeros(shape)
            for index, prefix in prefixes:
                length = len(prefix.token_ids)
                batch_keys[index, :, cached - length :] = prefix.layers[layer][0][0]
                batch_values[index, :, cached - length :] = prefix.layers[layer][1][0]
            cache.update(batch_keys, batch_values, layer)
        return cache

    def _keep(
        self,
        row: _Row,
        row_index: int,
        tokens: list[int],
        mask: torch.Tensor,
        cache: DynamicCache,
    ) -> None:
        """Put the row's prompt and tokens (all but the last, which was never fed back) with
        their keys and values into the prefix cache, for the trajectory's next turn."""
        turns = (row.prefix.turns if row.prefix is not None else 0) + 1
        kept = row.request.prompt_ids + tokens[:-1]
        if self.prefix_cache is None or not self.prefix_cache.accepts(len(kept), turns):
            return
        width = mask.shape[1]
        columns = torch.cat(
            [mask[row_index].nonzero().squeeze(-1), torch.arange(width, width + len(tokens) - 1)]
        )
        layers = []
        for layer in cache.layers:
            # A sliding-window or linear-attention layer does not hold every token: no reuse.
            if type(layer) is not DynamicLayer or layer.keys is None or layer.values is None:
                return
            keys, values = layer.keys, layer.values
            layers.append(
                (
                    keys[row_index : row_index + 1, :, columns],
                    values[row_index : row_index + 1, :, columns],
                )
            )
        self.prefix_cache.put(CachedPrefix(kept, layers, turns))


_GREEDY = GenerationSettings(1, False, 1.0, 1.0, None, 1.0, False)
"""Settings for rows that are only laid out, never generated (:meth:`batch_inputs`)."""
