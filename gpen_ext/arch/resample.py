"""The [1, 3, 3, 1] FIR filtering of the original (``upfirdn2d``) as plain depthwise convolutions.

The original's portable path reshapes (N, C, H, W) to N*C one-channel images and runs a
one-channel conv over them; one grouped conv over all channels computes the same sums
without the reshapes, on any device and in any memory format.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F


def depthwise(kernel: torch.Tensor, channels: int) -> torch.Tensor:
    """A 2-D kernel repeated for a grouped conv over ``channels`` channels: (channels, 1, kh, kw)."""
    return kernel.expand(channels, 1, *kernel.shape).contiguous()


def blur(x: torch.Tensor, kernel: torch.Tensor, padding: int) -> torch.Tensor:
    """``upfirdn2d(x, k, pad=(padding, padding))``; ``kernel`` is the flipped ``k`` from :func:`depthwise`."""
    return F.conv2d(x, kernel, padding=padding, groups=x.shape[1])


def upsample2x(x: torch.Tensor, kernel: torch.Tensor) -> torch.Tensor:
    """``upfirdn2d(x, k, up=2, pad=(2, 1))`` for a 4x4 ``k`` given by :func:`depthwise`.

    Zero insertion followed by the filter is exactly a stride-2 transposed convolution with the
    unflipped kernel; padding 1 crops the output to 2H x 2W as the original's pads do.
    """
    return F.conv_transpose2d(x, kernel, stride=2, padding=1, groups=x.shape[1])
