"""The roofline's convolutions are the original network's dense convolutions, counted from the config."""
from __future__ import annotations

from pathlib import Path

import pytest
import torch
from torch.utils._python_dispatch import TorchDispatchMode

from gpen_ext.bench.recipe import recipe_input, recipe_state_dict
from gpen_ext.bench.roofline import dense_convs
from gpen_ext.model.arch import build_generator
from gpen_ext.model.arch.config import RELEASED_CONFIGS
from reference import manifest


class DenseConvFlops(TorchDispatchMode):
    """Counts 2 x multiply-adds of every ungrouped convolution actually run (transposed ones per input pixel)."""

    def __init__(self) -> None:
        super().__init__()
        self.flops = 0

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        out = func(*args, **(kwargs or {}))
        if func is torch.ops.aten.convolution.default and args[8] == 1:
            x, weight, transposed = args[0], args[1], args[6]
            pixels_times_channels = x.numel() if transposed else out.numel()  # weight: (in, out) or (out, in)
            taps = weight.shape[2] * weight.shape[3]
            self.flops += 2 * pixels_times_channels * weight.shape[1] * taps
        elif func is torch.ops.mkldnn._convolution_pointwise.default and args[6] == 1:  # conv + bias + activation
            weight = args[1]
            self.flops += 2 * out.numel() * weight.shape[1] * weight.shape[2] * weight.shape[3]
        elif func is torch.ops.mkldnn._convolution_pointwise_.binary and args[7] == 1:  # conv added into args[0]
            weight = args[2]
            self.flops += 2 * out.numel() * weight.shape[1] * weight.shape[2] * weight.shape[3]
        return out


def test_flops_are_what_the_network_computes() -> None:
    """Our network runs the same dense convs (on AVX2 CPUs the upsampling ones as phase convs, whose
    one extra border row and column cost ~1 % at 256): its counted FLOPs must match the roofline's."""
    config = RELEASED_CONFIGS[256]
    model = build_generator(config, recipe_state_dict(config), dtype=torch.float32)
    model.band_bytes = 2**40  # no band margins
    with DenseConvFlops() as counter:
        model(recipe_input(256))
    assert sum(conv.flops for conv in dense_convs(config)) == pytest.approx(counter.flops, rel=0.02)


@pytest.mark.parametrize("size", [256, 512, 1024, 2048])
def test_one_conv_per_conv_weight_of_the_original(size: int, reference_dir: Path) -> None:
    layout = manifest(reference_dir, size)["state_dict"]
    weights = {key: entry["shape"] for key, entry in layout.items() if key.endswith("conv.weight") or (key.startswith("ecd") and key.endswith("weight"))}
    convs = dense_convs(RELEASED_CONFIGS[size])
    assert len(convs) == len(weights)
    assert sorted((c.out_channels, c.in_channels, c.kernel) for c in convs) == sorted(
        (shape[-4], shape[-3], shape[-1]) for shape in weights.values())
    # The last decoder conv and the first encoder conv both run at full resolution.
    assert max(c.output_resolution for c in convs) == size
