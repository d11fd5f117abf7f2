"""Zero-pad the vision tower's MLP width to a multiple of 64 so its GEMMs take the fast kernels.

Qwen2.5-VL's vision blocks use an MLP width of 3,420 (``intermediate_size``), which is not a
multiple of 8: in bf16 a 3,420-wide row is not 16-byte aligned, so cuBLAS cannot use its
Hopper (sm90) GEMM kernels for ``gate_proj``, ``up_proj`` and ``down_proj`` and falls back to
older, slower ones. Profiled on an H100 (``benchmarks/profile_prefill.py``), those three
projections took 40 ms of the 173 ms of GPU time of a 2 MP full-resolution prefill, at about
a third of the throughput of the aligned language-model GEMMs.

:func:`align_vision_mlp` pads each vision MLP of one model instance with zero units:
``gate_proj`` and ``up_proj`` get zero rows (and zero bias), ``down_proj`` zero columns. An
added unit computes ``silu(0) * 0 = 0`` and contributes ``0`` to ``down_proj``, so the block
computes the same function (floating-point sums may be grouped differently by the kernels).
Only this model's parameters change shape; transformers is not patched.
:func:`unalign_vision_mlp` cuts the padding off again (for example before saving weights).

Example:
    >>> torch.manual_seed(0) and None
    >>> mlp = _ExampleMLP(hidden=8, width=12)
    >>> x = torch.randn(3, 8)
    >>> before = mlp(x)
    >>> align_vision_mlp(mlp, multiple=16), mlp.gate_proj.out_features
    (1, 16)
    >>> torch.allclose(mlp(x), before, atol=1e-6)
    True
"""

from __future__ import annotations

import torch

__all__ = ["align_vision_mlp", "unalign_vision_mlp"]

_ORIGINAL_WIDTH = "_visionthink_unpadded_width"


def align_vision_mlp(model: torch.nn.Module, multiple: int = 64) -> int:
    """Zero-pad every vision-tower MLP of ``model`` to a width that is a multiple of ``multiple``.

    A vision MLP is a module whose class name contains ``Vision`` or that sits under a
    ``visual`` attribute, with ``gate_proj``/``up_proj``/``down_proj`` linears (Qwen2.5-VL's
    layout). The language model's MLPs are left alone. Calling it again is harmless.

    Args:
        model: a loaded model (or a single MLP module, as in the example).
        multiple: the width is rounded up to this multiple (positive).

    Returns:
        How many MLPs were padded (0 when every width is already a multiple).

    Raises:
        ValueError: ``multiple`` is not positive.

    Example:
        >>> align_vision_mlp(torch.nn.Linear(2, 2))
        0
    """
    if multiple < 1:
        raise ValueError(f"multiple must be positive, got {multiple}")
    padded = 0
    for mlp in _vision_mlps(model):
        gate, up, down = (_linear(mlp, name) for name in _PROJECTIONS)
        width = gate.out_features
        target = -(-width // multiple) * multiple
        if target == width:
            continue
        extra = target - width
        with torch.no_grad():
            for linear in (gate, up):
                linear.weight = _parameter(_pad(linear.weight, rows=extra), linear.weight)
                if linear.bias is not None:
                    linear.bias = _parameter(_pad(linear.bias, rows=extra), linear.bias)
                linear.out_features = target
            wider = _pad(down.weight.t(), rows=extra).t().contiguous()
            down.weight = _parameter(wider, down.weight)
            down.in_features = target
        if not hasattr(mlp, _ORIGINAL_WIDTH):
            setattr(mlp, _ORIGINAL_WIDTH, width)
        padded += 1
    return padded


def unalign_vision_mlp(model: torch.nn.Module) -> int:
    """Cut the padding :func:`align_vision_mlp` added; returns how many MLPs were restored.

    Example:
        >>> mlp = _ExampleMLP(hidden=4, width=6)
        >>> align_vision_mlp(mlp, multiple=8), unalign_vision_mlp(mlp), mlp.down_proj.in_features
        (1, 1, 6)
    """
    restored = 0
    for mlp in _vision_mlps(model):
        width = getattr(mlp, _ORIGINAL_WIDTH, None)
        if width is None:
            continue
        gate, up, down = (_linear(mlp, name) for name in _PROJECTIONS)
        with torch.no_grad():
            for linear in (gate, up):
                linear.weight = _parameter(linear.weight[:width].clone(), linear.weight)
                if linear.bias is not None:
                    linear.bias = _parameter(linear.bias[:width].clone(), linear.bias)
                linear.out_features = width
            down.weight = _parameter(down.weight[:, :width].contiguous(), down.weight)
            down.in_features = width
        delattr(mlp, _ORIGINAL_WIDTH)
        restored += 1
    return restored


def _linear(module: torch.nn.Module, name: str) -> torch.nn.Linear:
    linear = getattr(module, name)
    assert isinstance(linear, torch.nn.Linear)  # checked by _vision_mlps
    return linear


def _vision_mlps(model: torch.nn.Module) -> list[torch.nn.Module]:
    """The gate/up/down MLP modules of ``model``'s vision tower (or ``model`` itself)."""
    found = []
    for name, module in model.named_modules():
        if not all(isinstance(getattr(module, a, None), torch.nn.Linear) for a in _PROJECTIONS):
            continue
        in_vision = "Vision" in type(module).__name__ or "visual" in name.split(".")
        if in_vision or (module is model and name == ""):
            found.append(module)
    return found


_PROJECTIONS = ("gate_proj", "up_proj", "down_proj")


def _pad(tensor: torch.Tensor, *, rows: int) -> torch.Tensor:
    zeros = tensor.new_zeros((rows, *tensor.shape[1:]))
    return torch.cat([tensor, zeros])


def _parameter(tensor: torch.Tensor, like: torch.Tensor) -> torch.nn.Parameter:
    return torch.nn.Parameter(tensor, requires_grad=like.requires_grad)


class _ExampleMLP(torch.nn.Module):
    """A Qwen-style gated MLP, for the examples."""

    def __init__(self, hidden: int, width: int) -> None:
        super().__init__()
        self.gate_proj = torch.nn.Linear(hidden, width)
        self.up_proj = torch.nn.Linear(hidden, width)
        self.down_proj = torch.nn.Linear(width, hidden)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.down_proj(torch.nn.functional.silu(self.gate_proj(x)) * self.up_proj(x))
