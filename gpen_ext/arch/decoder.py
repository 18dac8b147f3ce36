"""GPEN's decoder (the StyleGAN2 ``Generator`` with concatenated encoder "noise").

Rewrites of the original that keep its function but move work out of the hot path:

* The sqrt(2) gain of each leaky ReLU is folded into the weights of the layer that reads it.
* ``NoiseInjection`` + ``FusedLeakyReLU`` write the conv output (+ bias) and the scaled encoder
  feature (+ bias) straight into the two halves of one 2C-channel tensor, activated in place:
  no concatenation copy, and the next conv runs once over 2C channels.
* The upsampling transposed conv runs as four ordinary phase convs (see ``resample``).
* Each large tensor is released as soon as its last reader is done: at 2048 they are 256 MB each.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from .config import GPENConfig
from .placement import Placement
from .resample import blur, depthwise, phase_kernels, transposed_conv_by_phases, upsample2x
from .style import StyleModulation
from .weights import ACTIVATION_GAIN, StateDictReader, equal_conv_weight, flipped_kernel

UPSAMPLE_BLUR_PADDING = 1
DEMODULATION_EPS = 1e-8


class ModulatedWeight(nn.Module):
    """``ModulatedConv2d``'s per-sample weight: scaled by the style, optionally demodulated.

    Demodulation needs sum_{in,k} (w * s)^2 = (sum_k w^2) @ s^2; the sum over the kernel taps
    is fixed, so it is computed once here, and a forward costs one matvec plus one multiply.
    The weight is stored as the kernels the convolutions use (for an upsampling conv, one per
    output phase), in the compute layout, so the multiply writes the final weights directly.
    """

    def __init__(self, weight: torch.Tensor, gain: float, demodulate: bool, phased: bool, placement: Placement) -> None:
        super().__init__()
        scaled = equal_conv_weight(weight[0])
        squares = placement.fp32(scaled.square().sum(dim=(2, 3))) if demodulate else None
        self.register_buffer("squares", squares, persistent=False)
        self.placement = placement
        kernels = phase_kernels(scaled * gain) if phased else [scaled * gain]
        for index, kernel in enumerate(kernels):
            self.register_buffer(f"kernel{index}", placement.layout(kernel), persistent=False)
        self.count = len(kernels)

    def forward(self, style: torch.Tensor) -> list[torch.Tensor]:
        """The kernels modulated by ``style`` (in_channels,), in the compute dtype."""
        factors = style.unsqueeze(0)
        if self.squares is not None:
            factors = factors * torch.rsqrt(self.squares @ style.square() + DEMODULATION_EPS).unsqueeze(1)
        factors = factors[:, :, None, None]
        return [self.placement.compute(getattr(self, f"kernel{index}") * factors) for index in range(self.count)]


class StyledConv(nn.Module):
    """Modulated 3x3 conv (or 2x transposed conv + blur), then noise concat and fused leaky ReLU.

    Split in :meth:`forward` (the conv) and :meth:`activate` so that the decoder can drop the
    conv input before the activation allocates the output.
    """

    def __init__(self, reader: StateDictReader, prefix: str, gain: float, upsample: bool, placement: Placement) -> None:
        super().__init__()
        self.prefix = prefix
        self.placement = placement
        weight = reader.take(f"{prefix}.conv.weight")
        channels = weight.shape[1]
        self.conv = ModulatedWeight(weight, gain, demodulate=True, phased=upsample, placement=placement)
        bias = reader.take(f"{prefix}.activate.bias").view(1, -1, 1, 1)
        self.register_buffer("bias", placement.compute(bias[:, :channels]), persistent=False)
        self.register_buffer("noise_bias", placement.compute(bias[:, channels:]), persistent=False)
        # The encoder feature arrives without its activation gain.
        self.noise_weight = reader.take(f"{prefix}.noise.weight").item() * ACTIVATION_GAIN
        kernel = depthwise(flipped_kernel(reader, f"{prefix}.conv.blur.kernel"), channels) if upsample else None
        self.register_buffer("blur_kernel", None if kernel is None else placement.compute(kernel), persistent=False)

    def forward(self, x: torch.Tensor, style: torch.Tensor) -> torch.Tensor:
        """The modulated conv alone (C channels, before bias)."""
        kernels = self.conv(style)
        if self.blur_kernel is None:
            return F.conv2d(x, kernels[0], padding=1)
        return blur(transposed_conv_by_phases(x, kernels), self.blur_kernel, UPSAMPLE_BLUR_PADDING)

    def activate(self, conv: torch.Tensor, feature: torch.Tensor) -> torch.Tensor:
        """``FusedLeakyReLU(cat([conv, noise_weight * feature]))`` built in one 2C-channel tensor."""
        batch, channels, height, width = conv.shape
        out = torch.empty(
            (batch, 2 * channels, height, width), dtype=conv.dtype, device=conv.device,
            memory_format=self.placement.memory_format,
        )
        torch.add(conv, self.bias, out=out[:, :channels])
        torch.add(self.noise_bias, feature, alpha=self.noise_weight, out=out[:, channels:])
        return F.leaky_relu_(out, 0.2)


class ToRGB(nn.Module):
    """Modulated 1x1 conv to RGB (no demodulation) + bias + the upsampled previous image, in fp32."""

    def __init__(self, reader: StateDictReader, prefix: str, upsample: bool, placement: Placement) -> None:
        super().__init__()
        self.prefix = prefix
        weight = reader.take(f"{prefix}.conv.weight")
        self.conv = ModulatedWeight(weight, ACTIVATION_GAIN, demodulate=False, phased=False, placement=placement)
        self.register_buffer("bias", placement.fp32(reader.take(f"{prefix}.bias")), persistent=False)
        kernel = depthwise(reader.take(f"{prefix}.upsample.kernel"), 3) if upsample else None
        self.register_buffer("upsample_kernel", None if kernel is None else placement.fp32(kernel), persistent=False)

    def forward(self, x: torch.Tensor, style: torch.Tensor, skip: torch.Tensor | None = None) -> torch.Tensor:
        image = F.conv2d(x, self.conv(style)[0]).float().add_(self.bias)
        if skip is not None:
            image.add_(upsample2x(skip, self.upsample_kernel))
        return image


class DecoderLevel(nn.Module):
    """One resolution doubling: upsampling styled conv, styled conv, ToRGB."""

    def __init__(self, reader: StateDictReader, index: int, placement: Placement) -> None:
        super().__init__()
        self.up = StyledConv(reader, f"generator.convs.{2 * index}", ACTIVATION_GAIN, True, placement)
        self.conv = StyledConv(reader, f"generator.convs.{2 * index + 1}", ACTIVATION_GAIN, False, placement)
        self.to_rgb = ToRGB(reader, f"generator.to_rgbs.{index}", True, placement)


class Decoder(nn.Module):
    """Constant input, ``conv1`` + ``to_rgb1`` at 4x4, then one :class:`DecoderLevel` per doubling."""

    def __init__(self, reader: StateDictReader, config: GPENConfig, placement: Placement) -> None:
        super().__init__()
        self.register_buffer("constant", placement.compute(reader.take("generator.input.input")), persistent=False)
        self.conv1 = StyledConv(reader, "generator.conv1", 1.0, False, placement)
        self.to_rgb1 = ToRGB(reader, "generator.to_rgb1", False, placement)
        self.levels = nn.ModuleList(DecoderLevel(reader, level - 3, placement) for level in range(3, config.log_size + 1))
        styled = [self.conv1, self.to_rgb1] + [layer for level in self.levels for layer in level.children()]
        self.modulation = StyleModulation(reader, [f"{layer.prefix}.conv" for layer in styled], placement)

    def forward(self, features: list[torch.Tensor], styles: list[torch.Tensor]) -> torch.Tensor:
        """One sample. ``features`` (full resolution first) is consumed: each is freed after its level.

        ``styles`` holds one style per modulated layer, in the order of use.
        """
        style = iter(styles)
        feature = features.pop()
        x = self.conv1.activate(self.conv1(self.constant, next(style)), feature)
        skip = self.to_rgb1(x, next(style))
        for level in self.levels:
            feature = features.pop()
            # Rebinding x right after each step frees the previous tensor before the next allocates.
            x = level.up(x, next(style))
            x = level.up.activate(x, feature)
            x = level.conv(x, next(style))
            x = level.conv.activate(x, feature)
            skip = level.to_rgb(x, next(style), skip)
        return skip
