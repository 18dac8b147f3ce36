"""GPEN-BFR configuration and the exact state-dict layout of the original ``FullGenerator``.

The layout is derived here, not loaded from a file, so that checkpoints can be validated,
the configuration inferred from weights, and recipe weights generated without any reference data.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

BLUR_TAPS = (1.0, 3.0, 3.0, 1.0)


@dataclass(frozen=True)
class GPENConfig:
    """What distinguishes the released GPEN-BFR models: 256 uses (1, 0.5), the others (2, 1)."""

    size: int
    channel_multiplier: int = 2
    narrow: float = 1.0
    style_dim: int = 512
    n_mlp: int = 8

    @property
    def log_size(self) -> int:
        return int(math.log2(self.size))

    def channels(self, resolution: int) -> int:
        """Feature channels at a resolution, as the original ``channels`` table computes them."""
        if resolution <= 32:
            base = 512
        else:
            base = {64: 256, 128: 128, 256: 64, 512: 32, 1024: 16, 2048: 8}[resolution] * self.channel_multiplier
        return int(base * self.narrow)


def blur_kernel(gain: float = 1.0) -> list[list[float]]:
    """The normalised 2-D [1, 3, 3, 1] kernel times ``gain`` (4 where it follows a 2x upsampling)."""
    total = sum(BLUR_TAPS) ** 2
    return [[a * b / total * gain for b in BLUR_TAPS] for a in BLUR_TAPS]


def expected_state_dict(config: GPENConfig) -> dict[str, tuple[int, ...] | list[list[float]]]:
    """Every key of the original state dict, in the original order.

    Values are shapes, except the fixed blur buffers (``*.kernel``), whose values are given.
    """
    entries: dict[str, tuple[int, ...] | list[list[float]]] = {}
    style_dim = config.style_dim
    for index in range(1, config.n_mlp + 1):
        entries[f"generator.style.{index}.weight"] = (style_dim, style_dim)
        entries[f"generator.style.{index}.bias"] = (style_dim,)

    def styled_conv(prefix: str, in_channels: int, out_channels: int, upsample: bool) -> None:
        entries[f"{prefix}.conv.weight"] = (1, out_channels, in_channels, 3, 3)
        if upsample:
            entries[f"{prefix}.conv.blur.kernel"] = blur_kernel(gain=4.0)
        entries[f"{prefix}.conv.modulation.weight"] = (in_channels, style_dim)
        entries[f"{prefix}.conv.modulation.bias"] = (in_channels,)
        entries[f"{prefix}.noise.weight"] = (1,)
        entries[f"{prefix}.activate.bias"] = (2 * out_channels,)

    def to_rgb(prefix: str, in_channels: int, upsample: bool) -> None:
        entries[f"{prefix}.bias"] = (1, 3, 1, 1)
        if upsample:
            entries[f"{prefix}.upsample.kernel"] = blur_kernel(gain=4.0)
        entries[f"{prefix}.conv.weight"] = (1, 3, in_channels, 1, 1)
        entries[f"{prefix}.conv.modulation.weight"] = (in_channels, style_dim)
        entries[f"{prefix}.conv.modulation.bias"] = (in_channels,)

    base = config.channels(4)
    entries["generator.input.input"] = (1, base, 4, 4)
    styled_conv("generator.conv1", base, base, upsample=False)
    to_rgb("generator.to_rgb1", 2 * base, upsample=False)
    in_channels = base
    for level in range(3, config.log_size + 1):
        out_channels = config.channels(2**level)
        first = 2 * (level - 3)
        styled_conv(f"generator.convs.{first}", 2 * in_channels, out_channels, upsample=True)
        styled_conv(f"generator.convs.{first + 1}", 2 * out_channels, out_channels, upsample=False)
        in_channels = out_channels
    for level in range(3, config.log_size + 1):
        to_rgb(f"generator.to_rgbs.{level - 3}", 2 * config.channels(2**level), upsample=True)

    top = config.channels(config.size)
    entries["ecd0.0.0.weight"] = (top, 3, 1, 1)
    entries["ecd0.0.1.bias"] = (top,)
    in_channels = top
    for index, level in enumerate(range(config.log_size, 2, -1), start=1):
        out_channels = config.channels(2 ** (level - 1))
        entries[f"ecd{index}.0.0.kernel"] = blur_kernel()
        entries[f"ecd{index}.0.1.weight"] = (out_channels, in_channels, 3, 3)
        entries[f"ecd{index}.0.2.bias"] = (out_channels,)
        in_channels = out_channels
    entries["final_linear.0.weight"] = (style_dim, base * 16)
    entries["final_linear.0.bias"] = (style_dim,)
    return entries


RELEASED_CONFIGS = {
    256: GPENConfig(256, channel_multiplier=1, narrow=0.5),
    512: GPENConfig(512),
    1024: GPENConfig(1024),
    2048: GPENConfig(2048),
}
"""The configurations of the published GPEN-BFR models, by size (one per released checkpoint)."""
