"""From the encoder's code to the per-layer styles: the mapping MLP and every layer's modulation.

GPEN feeds one latent to every layer, so all modulation matrices are stacked at load and
the styles of the whole decoder come out of one matrix product per forward.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from .placement import Placement
from .weights import ACTIVATION_GAIN, StateDictReader, equal_linear

MAPPING_LR_MUL = 0.01


def scaled_leaky_relu(x: torch.Tensor, bias: torch.Tensor) -> torch.Tensor:
    """The original ``FusedLeakyReLU`` on small tensors, where folding the gain buys nothing."""
    return F.leaky_relu(x + bias, 0.2) * ACTIVATION_GAIN


class StyleMapping(nn.Module):
    """``PixelNorm`` then ``n_mlp`` lr-multiplied ``EqualLinear`` + fused leaky ReLU (fp32: it is tiny)."""

    def __init__(self, reader: StateDictReader, n_mlp: int, placement: Placement) -> None:
        super().__init__()
        for index in range(1, n_mlp + 1):
            weight, bias = equal_linear(reader, f"generator.style.{index}", MAPPING_LR_MUL)
            self.register_buffer(f"weight{index}", placement.fp32(weight), persistent=False)
            self.register_buffer(f"bias{index}", placement.fp32(bias), persistent=False)
        self.n_mlp = n_mlp

    def forward(self, code: torch.Tensor) -> torch.Tensor:
        latent = code * torch.rsqrt(code.square().mean(dim=1, keepdim=True) + 1e-8)
        for index in range(1, self.n_mlp + 1):
            weight, bias = getattr(self, f"weight{index}"), getattr(self, f"bias{index}")
            latent = scaled_leaky_relu(F.linear(latent, weight), bias)
        return latent


class StyleModulation(nn.Module):
    """All ``modulation`` layers of the decoder as one linear map, split back per layer."""

    def __init__(self, reader: StateDictReader, prefixes: list[str], placement: Placement) -> None:
        super().__init__()
        weights, biases = zip(*(equal_linear(reader, f"{prefix}.modulation") for prefix in prefixes))
        self.sizes = [len(bias) for bias in biases]
        self.register_buffer("weight", placement.fp32(torch.cat(weights)), persistent=False)
        self.register_buffer("bias", placement.fp32(torch.cat(biases)), persistent=False)

    def forward(self, latent: torch.Tensor) -> list[torch.Tensor]:
        """Per layer, the (N, in_channels) style that scales its input channels."""
        return list(F.linear(latent, self.weight, self.bias).split(self.sizes, dim=1))


