"""The [1, 3, 3, 1] FIR filtering of the original (``upfirdn2d``) as plain depthwise convolutions.

The original's portable path reshapes (N, C, H, W) to N*C one-channel images and runs a
one-channel conv over them; one grouped conv over all channels computes the same sums
without the reshapes, on any device and in any memory format.
"""
from __future__ import annotations

from collections.abc import Iterator

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


def phase_taps() -> Iterator[tuple[int, int, int, int, int]]:
    """(phase, tap row, tap col, row, col of the 3x3 weight) for every tap of the :func:`phase_kernels`."""
    for phase, (row, col) in enumerate(PHASES):
        for tap_row, source_row in enumerate(PARITY_TAPS[row]):
            for tap_col, source_col in enumerate(PARITY_TAPS[col]):
                yield phase, tap_row, tap_col, source_row, source_col


# AVX-512 CPUs in bf16/fp16: four phase convs beat oneDNN's transposed conv from this many output channels on.
PHASES_MIN_CHANNELS = 32
PHASES_DTYPES = (torch.bfloat16, torch.float16)


def upsampling_layout(device: torch.device, dtype: torch.dtype, out_channels: int) -> str:
    """How the decoder's stride-2 transposed convs run on ``device`` in ``dtype``: "phases" or "transposed".

    Measured per CPU class, each layer shape of GPEN alone: on AVX2 CPUs four ordinary phase convs
    beat oneDNN's transposed convolution by about 2x. On AVX-512/AMX CPUs in bf16 they take
    0.35-0.75x its time from 32 output channels on (1024 -> 256 at 64 px: 12 ms against 32 ms;
    GPEN-512 9 %, GPEN-2048 5 % faster in all, paired), while at 16 (GPEN-2048's top level) the
    transposed conv is faster (2.5 ms against 3.9 ms per band); in fp32 the two are within 10 %
    either way, so the transposed conv stays. CUDA and other devices use the transposed conv.
    """
    if device.type != "cpu":
        return "transposed"
    capability = torch.backends.cpu.get_cpu_capability()
    if capability in ("DEFAULT", "AVX2"):
        return "phases"
    splits = capability.startswith("AVX512") and dtype in PHASES_DTYPES and out_channels >= PHASES_MIN_CHANNELS
    return "phases" if splits else "transposed"


def upsampling_kernels(weight: torch.Tensor, layout: str) -> list[torch.Tensor]:
    """The kernels :func:`transposed_conv` runs for the (out, in, 3, 3) transposed-conv ``weight`` in ``layout``."""
    if layout == "phases":
        return phase_kernels(weight)
    return [weight.transpose(0, 1)]


def transposed_weight(kernels: list[torch.Tensor], layout: str) -> torch.Tensor:
    """The (in, out, 3, 3) ``conv_transpose2d`` weight that :func:`upsampling_kernels` made ``kernels`` from."""
    if layout == "transposed":
        return kernels[0]
    out_channels, in_channels = kernels[0].shape[:2]
    weight = kernels[0].new_zeros(out_channels, in_channels, 3, 3, dtype=torch.float32)
    for phase, tap_row, tap_col, row, col in phase_taps():
        weight[:, :, row, col] = kernels[phase][:, :, tap_row, tap_col].float()
    return weight.transpose(0, 1).contiguous()


def transposed_conv(x: torch.Tensor, kernels: list[torch.Tensor], layout: str) -> torch.Tensor:
    """``conv_transpose2d(x, w, stride=2)`` (size 2H+1) from the :func:`upsampling_kernels` of ``w``."""
    if layout == "phases":
        return transposed_conv_by_phases(x, kernels)
    return F.conv_transpose2d(x, kernels[0], stride=2)


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
