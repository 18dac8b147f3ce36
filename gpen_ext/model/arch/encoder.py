"""GPEN's encoder: the degraded face down to a 4x4 feature and a 512-d code.

Every encoder output is also a decoder input (the "noise" of the styled convs), so all of them
are returned. They are returned *before* the sqrt(2) activation gain, which every consumer has
folded into its own weights: this saves one full-resolution multiply per feature.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from .bands import ComputedRows, RowChunks, Rows, band_height, downsampling_bands
from .config import GPENConfig
from .fused import conv_bias_leaky
from .placement import Placement
from .resample import blur, depthwise
from .style import scaled_leaky_relu
from .weights import ACTIVATION_GAIN, StateDictReader, equal_conv_weight, equal_linear, flipped_kernel

DOWNSAMPLE_BLUR_PADDING = 2


class EncoderLayer(nn.Module):
    """``ConvLayer``: [blur, stride-2] conv without bias, then bias + leaky ReLU (gain left out).

    The first layer is a 1x1 conv; every other one blurs and halves the resolution.
    """

    COMPUTE_BUFFERS = ("weight", "bias", "blur_kernel")  # in the compute dtype (see GPENGenerator._apply)

    def __init__(self, weight: torch.Tensor, bias: torch.Tensor, blur_kernel: torch.Tensor | None) -> None:
        super().__init__()
        self.register_buffer("weight", weight, persistent=False)
        self.register_buffer("bias", bias, persistent=False)
        self.register_buffer("blur_kernel", blur_kernel, persistent=False)
        self.stride = 1 if blur_kernel is None else 2

    def compute(self, x: torch.Tensor) -> torch.Tensor:
        """The layer on a whole map or on a band's slice of it."""
        if self.blur_kernel is not None:
            x = blur(x, self.blur_kernel, DOWNSAMPLE_BLUR_PADDING)
        return conv_bias_leaky(x, self.weight, self.bias, stride=self.stride)

    def forward(self, x: Rows, band_bytes: int) -> Rows:
        """The layer band by band (see ``bands``): each band's blurred slice is about ``band_bytes``.

        The first (1x1) layer's output is not computed here: its readers compute the rows they
        read (:class:`ComputedRows`).
        """
        if self.blur_kernel is None:
            return ComputedRows(x, self.compute, self.weight.shape[0])
        _, channels, rows, columns = x.shape
        element = self.weight.element_size()
        bands = downsampling_bands(rows, band_height(rows // 2, 2 * columns * channels * element, band_bytes))
        return RowChunks([self.compute(x.read(band.inputs))[:, :, band.kept] for band in bands])


class Encoder(nn.Module):
    """``ecd0`` .. ``ecd{log_size-2}`` and ``final_linear`` of the original ``FullGenerator``."""

    def __init__(self, reader: StateDictReader, config: GPENConfig, placement: Placement) -> None:
        super().__init__()
        weight = equal_conv_weight(reader.take("ecd0.0.0.weight"))
        layers = [EncoderLayer(placement.compute(weight), placement.compute(reader.take("ecd0.0.1.bias")), None)]
        for index in range(1, config.log_size - 1):
            weight = reader.take(f"ecd{index}.0.1.weight")
            kernel = depthwise(flipped_kernel(reader, f"ecd{index}.0.0.kernel"), weight.shape[1])
            layers.append(
                EncoderLayer(
                    placement.compute(equal_conv_weight(weight, gain=ACTIVATION_GAIN)),
                    placement.compute(reader.take(f"ecd{index}.0.2.bias")),
                    placement.compute(kernel),
                )
            )
        self.layers = nn.ModuleList(layers)
        weight, bias = equal_linear(reader, "final_linear.0")
        self.register_buffer("final_weight", placement.fp32(weight * ACTIVATION_GAIN), persistent=False)
        self.register_buffer("final_bias", placement.fp32(bias), persistent=False)

    def forward(self, image: torch.Tensor, band_bytes: int) -> tuple[list[Rows], torch.Tensor]:
        """(features from full resolution down to 4x4, the fp32 code that feeds the style mapping)."""
        features = []
        x = RowChunks([image])
        for layer in self.layers:
            x = layer(x, band_bytes)
            features.append(x)
        code = F.linear(x.whole().flatten(1).float(), self.final_weight)
        return features, scaled_leaky_relu(code, self.final_bias)
