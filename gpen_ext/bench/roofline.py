"""The machine's roofline for GPEN: the original network's dense convolutions alone, each timed as one conv2d.

"How fast could this network run here" is answered on the *original* ``FullGenerator``'s layers, not
on ours, so no way of splitting or fusing our convolutions changes the yardstick: every dense conv of
the original at batch 1 is timed alone as one plain channels-last ``conv2d`` at the chosen dtype and
thread count, and the times are summed. A stride-2 transposed 3x3 conv (the decoder's upsampling) is
counted as the 3x3 conv of the same FLOPs at its input resolution; the 1-channel FIR blurs, the
activations and the style MLP are left out (they are the overhead the fraction measures). The shapes
are read from the original's state-dict layout for the configuration, so FLOPs are counted, not typed in.
"""
from __future__ import annotations

import statistics
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass

import torch
import torch.nn.functional as F

from ..model.arch.config import GPENConfig, expected_state_dict


@dataclass(frozen=True)
class DenseConv:
    """One dense convolution of the original, as the roofline times it (input resolution, no bias)."""

    kind: str  # "encoder", "decoder 3x3", "decoder upsampling", "to_rgb"
    in_channels: int
    out_channels: int
    kernel: int
    stride: int
    padding: int
    resolution: int  # of the conv2d's (square) input

    @property
    def output_resolution(self) -> int:
        return (self.resolution + 2 * self.padding - self.kernel) // self.stride + 1

    @property
    def flops(self) -> int:
        """2 x multiply-adds, at batch 1."""
        return 2 * self.output_resolution**2 * self.out_channels * self.in_channels * self.kernel**2


def dense_convs(config: GPENConfig) -> list[DenseConv]:
    """Every dense conv of the original ``FullGenerator`` for ``config``, from its state-dict layout."""
    convs = []
    for key, shape in expected_state_dict(config).items():
        parts = key.split(".")
        if key.startswith("generator.") and key.endswith(".conv.weight"):
            _, out_channels, in_channels, kernel, _ = shape
            layer = parts[1]
            if layer in ("conv1", "to_rgb1"):
                level, upsample = 2, False
            elif layer == "to_rgbs":
                level, upsample = int(parts[2]) + 3, False
            else:  # convs.{2i} upsamples from level i+2 to i+3; convs.{2i+1} stays at level i+3
                index = int(parts[2])
                level, upsample = index // 2 + 3, index % 2 == 0
            kind = "to_rgb" if layer.startswith("to_rgb") else "decoder upsampling" if upsample else "decoder 3x3"
            resolution = 2 ** (level - upsample)
            convs.append(DenseConv(kind, in_channels, out_channels, kernel, 1, kernel // 2, resolution))
        elif key == "ecd0.0.0.weight":
            out_channels, in_channels, kernel, _ = shape
            convs.append(DenseConv("encoder", in_channels, out_channels, kernel, 1, 0, config.size))
        elif key.startswith("ecd") and key.endswith(".0.1.weight"):
            # Blur (pad 2 + 2, 4 taps) makes an r x r map r+1 x r+1, then a 3x3 stride-2 conv without padding.
            out_channels, in_channels, kernel, _ = shape
            resolution = config.size // 2 ** (int(parts[0].removeprefix("ecd")) - 1) + 1
            convs.append(DenseConv("encoder", in_channels, out_channels, kernel, 2, 0, resolution))
    return convs


def time_conv(conv: DenseConv, dtype: torch.dtype, device: torch.device,
              synchronize: Callable[[torch.device], None]) -> float:
    """ms of ``conv`` as one channels-last conv2d on random data, after one warm-up run."""
    layout = torch.channels_last
    x = torch.randn(1, conv.in_channels, conv.resolution, conv.resolution, device=device, dtype=dtype)
    weight = torch.randn(conv.out_channels, conv.in_channels, conv.kernel, conv.kernel, device=device, dtype=dtype)
    x, weight = x.contiguous(memory_format=layout), weight.contiguous(memory_format=layout)
    with torch.inference_mode():
        F.conv2d(x, weight, stride=conv.stride, padding=conv.padding)
        synchronize(device)
        start = time.perf_counter()
        F.conv2d(x, weight, stride=conv.stride, padding=conv.padding)
        synchronize(device)
    return (time.perf_counter() - start) * 1000


def sweep(config: GPENConfig, dtype: torch.dtype, device: torch.device,
          synchronize: Callable[[torch.device], None]) -> dict[str, float]:
    """One timing of the roofline, in ms per kind; each distinct conv shape is timed once and counted as often as it occurs.

    The benchmark interleaves sweeps with forward passes of the network, so that both see the
    same load on a shared machine.
    """
    per_kind: Counter[str] = Counter()
    for conv, count in Counter(dense_convs(config)).items():
        per_kind[conv.kind] += count * time_conv(conv, dtype, device, synchronize)
    return dict(per_kind)


@dataclass
class Roofline:
    """Summed times of the original's dense convs (median over sweeps), per kind and in all."""

    gflop: float
    ms: float
    ms_per_kind: dict[str, float]

    @classmethod
    def from_sweeps(cls, config: GPENConfig, sweeps: list[dict[str, float]]) -> Roofline:
        gflop = sum(conv.flops for conv in dense_convs(config)) / 1e9
        per_kind = {kind: statistics.median(one[kind] for one in sweeps) for kind in sweeps[0]}
        return cls(gflop, statistics.median(sum(one.values()) for one in sweeps), per_kind)
