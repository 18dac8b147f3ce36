"""Timing one model's forward passes, shared by the torch network benchmark (``network``) and the
onnxruntime one (``onnx_backend``): neither imports the other's module for it."""
from __future__ import annotations

import resource
import statistics
import sys
import time
from collections.abc import Callable

import torch


def peak_memory_mb(device: torch.device) -> float:
    """CUDA: peak allocated by torch. Otherwise the process's peak resident set (ru_maxrss)."""
    if device.type == "cuda":
        return torch.cuda.max_memory_allocated(device) / 2**20
    scale = 1 if sys.platform == "darwin" else 1024  # bytes on macOS, KiB on Linux
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * scale / 2**20


def synchronize(device: torch.device) -> None:
    """Wait for queued GPU work, so that a wall-clock interval covers the kernels it launched."""
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    elif device.type == "mps":
        torch.mps.synchronize()


def time_forward(model: Callable, image: torch.Tensor, repeat: int, device: torch.device,
                 between: Callable[[], None] | None = None) -> tuple[float, float, torch.Tensor]:
    """(median ms of ``repeat`` passes after one warm-up, peak memory, the first sample's output on the CPU).

    ``between`` runs before every timed pass but the first, whose end is when the peak is read:
    what it allocates does not count as the network's memory.
    """
    with torch.inference_mode():
        output = model(image)
        durations, peak = [], 0.0
        for index in range(repeat):
            if index and between is not None:
                between()
            synchronize(device)
            start = time.perf_counter()
            output = model(image)
            synchronize(device)
            durations.append((time.perf_counter() - start) * 1000)
            if index == 0:
                peak = peak_memory_mb(device)
    return statistics.median(durations), peak, output[0].float().cpu()
