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


def blur(x: torch.Tensor, kernel: torch.Tensor, padding: int, bias: torch.Tensor | None = None) -> torch.Tensor:
    """``upfirdn2d(x, k, pad=(padding, padding))`` (+ ``bias``, per channel); ``kernel`` is the flipped ``k`` from :func:`depthwise`."""
    return F.conv2d(x, kernel, bias, padding=padding, groups=x.shape[1])


def upsample2x(x: torch.Tensor, kernel: torch.Tensor) -> torch.Tensor:
    """``upfirdn2d(x, k, up=2, pad=(2, 1))`` for a 4x4 ``k`` given by :func:`depthwise`.

    Zero insertion followed by the filter is exactly a stride-2 transposed convolution with the
    unflipped kernel; padding 1 crops the output to 2H x 2W as the original's pads do.
    """
    return F.conv_transpose2d(x, kernel, stride=2, padding=1, groups=x.shape[1])


# A stride-2 transposed conv with a 3-tap kernel w computes even outputs as x[m-1]*w[2] + x[m]*w[0]
# and odd outputs as x[m]*w[1]: per output parity, an ordinary conv with these taps (and padding).
PARITY_TAPS = ((2, 0), (1,))
PHASES = ((0, 0), (0, 1), (1, 0), (1, 1))


def phase_kernels(weight: torch.Tensor) -> list[torch.Tensor]:
    """The (out, in, 3, 3) weight of a stride-2 transposed conv as four ordinary conv kernels, one per phase."""
    return [weight[:, :, PARITY_TAPS[row]][:, :, :, PARITY_TAPS[col]] for row, col in PHASES]


def phase_padding(phase: int) -> tuple[int, int]:
    """Padding of the conv for ``PHASES[phase]``: the two-tap (even) direction reads x[-1] and x[H]."""
    row, col = PHASES[phase]
    return int(row == 0), int(col == 0)


def upsampling_by_phases(device: torch.device) -> bool:
    """Whether the decoder's stride-2 transposed convs run as four phase convs on ``device``.

    Measured per CPU class: on AVX2 CPUs four ordinary phase convs beat oneDNN's transposed
    convolution by about 2x; on AVX-512/AMX CPUs the transposed conv is 1.5-5x faster than the
    phases (fp32 and bf16), as one call with no interleaving copy. Elsewhere (CUDA, other CPUs)
    the single transposed conv is used.
    """
    return device.type == "cpu" and torch.backends.cpu.get_cpu_capability() in ("DEFAULT", "AVX2")


def transposed_conv(x: torch.Tensor, kernels: list[torch.Tensor]) -> torch.Tensor:
    """``conv_transpose2d(x, w, stride=2)`` (size 2H+1): ``kernels`` is ``[w]`` (in, out, 3, 3) or its four phases."""
    if len(kernels) == 1:
        return F.conv_transpose2d(x, kernels[0], stride=2)
    return transposed_conv_by_phases(x, kernels)


def transposed_conv_by_phases(x: torch.Tensor, kernels: list[torch.Tensor]) -> torch.Tensor:
    """``conv_transpose2d(x, w, stride=2)`` (size 2H+1) from the :func:`phase_kernels` of ``w``.

    Four ordinary convs, each written into its phase of the output as soon as it is computed:
    the same 9 taps per input pixel, with the kernels oneDNN runs fastest on AVX2.
    """
    batch, _, height, width = x.shape
    layout = torch.channels_last if x.is_contiguous(memory_format=torch.channels_last) else torch.contiguous_format
    out = torch.empty(
        (batch, kernels[0].shape[0], 2 * height + 1, 2 * width + 1), dtype=x.dtype, device=x.device,
        memory_format=layout,
    )
    for phase, ((row, col), kernel) in enumerate(zip(PHASES, kernels)):
        out[:, :, row::2, col::2] = F.conv2d(x, kernel, padding=phase_padding(phase))
    return out
