"""Which floating-point precision the network computes in, per device.

Reduced precision is only worth it where the hardware computes it natively: emulated bf16 on
an older CPU is slower than fp32, and fp16 on a CPU has no fast convolution kernels at all.
"""
from __future__ import annotations

import torch

from ...errors import GPENError

SUPPORTED_DTYPES = (torch.float32, torch.bfloat16, torch.float16)


def cpu_has_native_bf16() -> bool:
    """True where oneDNN runs bf16 convolutions in hardware (AVX512-BF16 or AMX)."""
    return torch.backends.mkldnn.is_available() and bool(torch.ops.mkldnn._is_mkldnn_bf16_supported())


def auto_dtype(device: torch.device) -> torch.dtype:
    """The fastest precision that stays accurate (>= 40 dB PSNR against fp32) on ``device``.

    fp16 on CUDA (tensor cores), bf16 on CPUs with native bf16, fp32 everywhere else
    (MPS included: its bf16/fp16 convolution support varies by macOS version).
    """
    if device.type == "cuda":
        return torch.float16
    if device.type == "cpu" and cpu_has_native_bf16():
        return torch.bfloat16
    return torch.float32


def resolve_dtype(device: torch.device, dtype: torch.dtype | None) -> torch.dtype:
    """``dtype`` itself if given (checked), else :func:`auto_dtype`."""
    if dtype is None:
        return auto_dtype(device)
    if dtype not in SUPPORTED_DTYPES:
        raise GPENError(
            f"unsupported compute dtype {dtype}: use torch.float32, torch.bfloat16, torch.float16 or None (auto)"
        )
    return dtype
