"""GPEN's decoder (the StyleGAN2 ``Generator`` with concatenated encoder "noise").

Two rewrites of the original keep the same function but move work out of the hot path:

* Each ``NoiseInjection`` concatenates ``w * feature`` to the conv output. Instead of building
  the 2C-channel tensor, every consumer splits its weight into the two halves and sums two
  convolutions, so a layer's output is a list of parts ``[conv part, noise part]``.
* The sqrt(2) gain of each leaky ReLU is folded into the weights of the layer that reads it.
"""
from __future__ import annotations

from collections.abc import Iterator

import torch
import torch.nn.functional as F
from torch import nn

from .config import GPENConfig
from .placement import Placement
from .resample import PHASES, blur, depthwise, interleave_phases, phase_kernels, phase_padding, upsample2x
from .style import StyleModulation
from .weights import ACTIVATION_GAIN, StateDictReader, equal_conv_weight, flipped_kernel

UPSAMPLE_BLUR_PADDING = 1
DEMODULATION_EPS = 1e-8


def conv_sum(parts: list[torch.Tensor], weights: list[torch.Tensor], padding: int | tuple[int, int] = 0) -> torch.Tensor:
    """``conv2d(cat(parts), cat(weights))`` as a sum of one conv per part, accumulated in place."""
    out = F.conv2d(parts[0], weights[0], padding=padding)
    for part, weight in zip(parts[1:], weights[1:]):
        out.add_(F.conv2d(part, weight, padding=padding))
    return out


class ModulatedWeight(nn.Module):
    """``ModulatedConv2d``'s per-sample weight: scaled by the style, optionally demodulated.

    Demodulation needs sum_{in,k} (w * s)^2 = (sum_k w^2) @ s^2; the sum over the kernel taps
    is fixed, so it is computed once here, and a forward costs one matvec plus one multiply.
    The weight is stored as the pieces the convolutions use: one per input part or, for an
    upsampling conv, one per input part and output phase, each in the compute layout.
    """

    def __init__(
        self, weight: torch.Tensor, gain: float, demodulate: bool, parts: list[int], phased: bool,
        placement: Placement,
    ) -> None:
        super().__init__()
        scaled = equal_conv_weight(weight[0])
        squares = placement.fp32(scaled.square().sum(dim=(2, 3))) if demodulate else None
        self.register_buffer("squares", squares, persistent=False)
        self.parts = parts
        self.placement = placement
        pieces = [phase_kernels(part) if phased else [part] for part in (scaled * gain).split(parts, dim=1)]
        self.pieces_per_part = len(pieces[0])
        for index, piece in enumerate(piece for part in pieces for piece in part):
            self.register_buffer(f"piece{index}", placement.layout(piece), persistent=False)

    def forward(self, style: torch.Tensor) -> list[list[torch.Tensor]]:
        """Per input part, its weight pieces for this ``style`` (in the compute dtype)."""
        factors = style.unsqueeze(0)
        if self.squares is not None:
            factors = factors * torch.rsqrt(self.squares @ style.square() + DEMODULATION_EPS).unsqueeze(1)
        return [
            [self.placement.compute(piece * part_factors[:, :, None, None]) for piece in self._pieces(part)]
            for part, part_factors in enumerate(factors.split(self.parts, dim=1))
        ]

    def _pieces(self, part: int) -> list[torch.Tensor]:
        first = part * self.pieces_per_part
        return [getattr(self, f"piece{index}") for index in range(first, first + self.pieces_per_part)]


class StyledConv(nn.Module):
    """Modulated 3x3 conv (or 2x transposed conv, as four phase convs, + blur), noise concat, fused leaky ReLU."""

    def __init__(
        self, reader: StateDictReader, prefix: str, parts: list[int], gain: float, upsample: bool, placement: Placement
    ) -> None:
        super().__init__()
        weight = reader.take(f"{prefix}.conv.weight")
        channels = weight.shape[1]
        self.conv = ModulatedWeight(weight, gain, True, parts, phased=upsample, placement=placement)
        bias = reader.take(f"{prefix}.activate.bias")
        self.register_buffer("bias", placement.compute(bias[:channels]), persistent=False)
        self.register_buffer("noise_bias", placement.compute(bias[channels:].view(1, -1, 1, 1)), persistent=False)
        # The encoder feature arrives without its activation gain.
        self.noise_weight = reader.take(f"{prefix}.noise.weight").item() * ACTIVATION_GAIN
        kernel = depthwise(flipped_kernel(reader, f"{prefix}.conv.blur.kernel"), channels) if upsample else None
        self.register_buffer("blur_kernel", None if kernel is None else placement.compute(kernel), persistent=False)

    def forward(self, parts: list[torch.Tensor], style: torch.Tensor, feature: torch.Tensor) -> list[torch.Tensor]:
        weights = self.conv(style)
        if self.blur_kernel is None:
            out = conv_sum(parts, [pieces[0] for pieces in weights], padding=1)
            out.add_(self.bias.view(1, -1, 1, 1))
        else:
            phases = [
                conv_sum(parts, [pieces[phase] for pieces in weights], padding=phase_padding(phase))
                for phase in range(len(PHASES))
            ]
            out = blur(interleave_phases(phases), self.blur_kernel, UPSAMPLE_BLUR_PADDING, self.bias)
        noise = torch.add(self.noise_bias, feature, alpha=self.noise_weight)
        return [F.leaky_relu_(out, 0.2), F.leaky_relu_(noise, 0.2)]


class ToRGB(nn.Module):
    """Modulated 1x1 conv to RGB (no demodulation) + bias + the upsampled previous image, in fp32."""

    def __init__(
        self, reader: StateDictReader, prefix: str, parts: list[int], upsample: bool, placement: Placement
    ) -> None:
        super().__init__()
        self.conv = ModulatedWeight(
            reader.take(f"{prefix}.conv.weight"), ACTIVATION_GAIN, False, parts, phased=False, placement=placement
        )
        self.register_buffer("bias", placement.fp32(reader.take(f"{prefix}.bias")), persistent=False)
        kernel = depthwise(reader.take(f"{prefix}.upsample.kernel"), 3) if upsample else None
        self.register_buffer("upsample_kernel", None if kernel is None else placement.fp32(kernel), persistent=False)

    def forward(self, parts: list[torch.Tensor], style: torch.Tensor, skip: torch.Tensor | None = None) -> torch.Tensor:
        image = conv_sum(parts, [pieces[0] for pieces in self.conv(style)]).float().add_(self.bias)
        if skip is not None:
            image.add_(upsample2x(skip, self.upsample_kernel))
        return image


class DecoderLevel(nn.Module):
    """One resolution doubling: upsampling styled conv, styled conv, ToRGB."""

    def __init__(self, reader: StateDictReader, index: int, below: int, channels: int, placement: Placement) -> None:
        super().__init__()
        prefix = "generator.convs"
        self.up = StyledConv(reader, f"{prefix}.{2 * index}", [below, below], ACTIVATION_GAIN, True, placement)
        self.conv = StyledConv(reader, f"{prefix}.{2 * index + 1}", [channels] * 2, ACTIVATION_GAIN, False, placement)
        self.to_rgb = ToRGB(reader, f"generator.to_rgbs.{index}", [channels] * 2, True, placement)
        self.prefixes = [f"{prefix}.{2 * index}.conv", f"{prefix}.{2 * index + 1}.conv", f"generator.to_rgbs.{index}.conv"]

    def forward(
        self, parts: list[torch.Tensor], skip: torch.Tensor, styles: Iterator[torch.Tensor], feature: torch.Tensor
    ) -> tuple[list[torch.Tensor], torch.Tensor]:
        parts = self.up(parts, next(styles), feature)
        parts = self.conv(parts, next(styles), feature)
        return parts, self.to_rgb(parts, next(styles), skip)


class Decoder(nn.Module):
    """Constant input, ``conv1`` + ``to_rgb1`` at 4x4, then one :class:`DecoderLevel` per doubling."""

    def __init__(self, reader: StateDictReader, config: GPENConfig, placement: Placement) -> None:
        super().__init__()
        base = config.channels(4)
        self.register_buffer("constant", placement.compute(reader.take("generator.input.input")), persistent=False)
        self.conv1 = StyledConv(reader, "generator.conv1", [base], 1.0, False, placement)
        self.to_rgb1 = ToRGB(reader, "generator.to_rgb1", [base, base], False, placement)
        self.levels = nn.ModuleList(
            DecoderLevel(reader, level - 3, config.channels(2 ** (level - 1)), config.channels(2**level), placement)
            for level in range(3, config.log_size + 1)
        )
        prefixes = ["generator.conv1.conv", "generator.to_rgb1.conv"]
        prefixes += [prefix for level in self.levels for prefix in level.prefixes]
        self.modulation = StyleModulation(reader, prefixes, placement)

    def forward(self, features: list[torch.Tensor], styles: list[torch.Tensor]) -> torch.Tensor:
        """One sample: encoder ``features`` (full resolution first), one style per layer in order of use."""
        style_iter = iter(styles)
        parts = self.conv1([self.constant], next(style_iter), features[-1])
        skip = self.to_rgb1(parts, next(style_iter))
        for level, feature in zip(self.levels, reversed(features[:-1])):
            parts, skip = level(parts, skip, style_iter, feature)
        return skip
