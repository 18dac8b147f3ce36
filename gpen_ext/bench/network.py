"""Benchmark of the GPEN network on recipe weights: ``python -m gpen_ext.bench --size 2048``.

Each implementation runs in its own fresh process, so its peak memory is its own. Prints a
readable summary, then one JSON line with the numbers (the last line, for scripts).
With ``--original PATH`` (a checkout of yangxy/GPEN) it also times the original code on the
same weights and input, and reports how far our output is from the original's.
"""
from __future__ import annotations

import argparse
import json
import multiprocessing
import resource
import statistics
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import torch

from ..allocator import keep_freed_memory
from ..model.arch import GPENConfig, build_generator
from ..model.arch.config import RELEASED_CONFIGS
from ..model.loading import DTYPE_NAMES, parse_device, parse_dtype
from .recipe import recipe_input, recipe_state_dict


@dataclass
class Timing:
    """What one implementation measured in its own process."""

    ms_per_face: float
    peak_mb: float
    dtype: str
    malloc_tuned: bool


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m gpen_ext.bench", description=__doc__.split("\n")[0])
    parser.add_argument("--size", type=int, default=2048, choices=sorted(RELEASED_CONFIGS))
    parser.add_argument("--device", default="cpu", help="cpu, cuda, cuda:1, mps")
    parser.add_argument("--dtype", default="auto", choices=list(DTYPE_NAMES))
    parser.add_argument("--threads", type=int, default=None, help="torch CPU threads (default: torch's choice)")
    parser.add_argument("--repeat", type=int, default=3, help="timed forward passes after one warm-up")
    parser.add_argument(
        "--original", type=Path, default=None,
        help="yangxy/GPEN checkout to time side by side on the CPU (where CUDA exists, it builds its CUDA ops)",
    )
    parser.add_argument(
        "--system-malloc", action="store_true", help="leave glibc malloc as it is (default: keep freed memory)"
    )
    parser.add_argument(
        "--backend", default="torch", choices=("torch", "onnxruntime"),
        help="onnxruntime: also time the exported ONNX model (same size, precision, threads)",
    )
    return parser.parse_args(argv)


def peak_memory_mb(device: torch.device) -> float:
    """CUDA: peak allocated by torch. Otherwise the process's peak resident set (ru_maxrss)."""
    if device.type == "cuda":
        return torch.cuda.max_memory_allocated(device) / 2**20
    scale = 1 if sys.platform == "darwin" else 1024  # bytes on macOS, KiB on Linux
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * scale / 2**20


def synchronize(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    elif device.type == "mps":
        torch.mps.synchronize()


def time_forward(model: torch.nn.Module, image: torch.Tensor, repeat: int, device: torch.device) -> tuple[float, torch.Tensor]:
    """(median ms of ``repeat`` passes after one warm-up, the output on the CPU)."""
    with torch.inference_mode():
        output = model(image)
        durations = []
        for _ in range(repeat):
            synchronize(device)
            start = time.perf_counter()
            output = model(image)
            synchronize(device)
            durations.append((time.perf_counter() - start) * 1000)
    return statistics.median(durations), output[0].float().cpu()


def load_original(checkout: Path, config: GPENConfig) -> torch.nn.Module:
    """The original ``FullGenerator`` from a yangxy/GPEN checkout, on the CPU (its portable ops)."""
    sys.path[:0] = [str(checkout / "face_model")]
    from gpen_model import FullGenerator  # noqa: PLC0415 (exists only in the checkout)

    model = FullGenerator(config.size, config.style_dim, config.n_mlp, config.channel_multiplier,
                          narrow=config.narrow, device="cpu")
    model.load_state_dict(recipe_state_dict(config))
    return model.eval()


class OriginalImage(torch.nn.Module):
    """The original returns (image, latents); the benchmark compares images."""

    def __init__(self, model: torch.nn.Module) -> None:
        super().__init__()
        self.model = model

    def forward(self, image: torch.Tensor) -> torch.Tensor:
        return self.model(image)[0]


def measure(args: argparse.Namespace, original: bool) -> tuple[Timing, torch.Tensor]:
    """Runs in a child process: build, warm up, time; returns its timing and output image."""
    tuned = not args.system_malloc and keep_freed_memory()
    if args.threads:
        torch.set_num_threads(args.threads)
    config = RELEASED_CONFIGS[args.size]
    device = torch.device("cpu") if original else parse_device(args.device)
    if original:
        model, dtype = OriginalImage(load_original(args.original, config)), torch.float32
    else:
        model = build_generator(config, recipe_state_dict(config), device, parse_dtype(args.dtype))
        dtype = model.dtype
    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats(device)
    ms, output = time_forward(model, recipe_input(config.size).to(device), args.repeat, device)
    return Timing(ms, peak_memory_mb(device), str(dtype).removeprefix("torch."), tuned), output


def measure_in_child(args: argparse.Namespace, original: bool) -> tuple[Timing, torch.Tensor]:
    """:func:`measure` in a fresh process, so peak memory and allocator state are its own."""
    with multiprocessing.get_context("spawn").Pool(1) as pool:
        return pool.apply(measure, (args, original))


def report(args: argparse.Namespace, ours: Timing, output: torch.Tensor,
           original: tuple[Timing, torch.Tensor] | None) -> dict:
    """The JSON summary: ``size``, ``ms_per_face``, ``peak_rss_mb`` (``peak_cuda_mb``), ``device``, ``dtype``..."""
    memory_key = "peak_cuda_mb" if args.device.startswith("cuda") else "peak_rss_mb"
    result = {
        "size": args.size,
        "device": args.device,
        "dtype": ours.dtype,
        "threads": args.threads or torch.get_num_threads(),
        "repeat": args.repeat,
        "ms_per_face": round(ours.ms_per_face, 1),
        memory_key: round(ours.peak_mb),
        "malloc_tuned": ours.malloc_tuned,
    }
    if original is not None:
        timing, original_output = original
        result |= {
            "original_ms_per_face": round(timing.ms_per_face, 1),
            "original_peak_rss_mb": round(timing.peak_mb),
            "speedup": round(timing.ms_per_face / ours.ms_per_face, 2),
            "max_abs_vs_original": float((output - original_output).abs().max()),
        }
    return result


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    if args.backend == "onnxruntime":
        from . import onnx_backend  # imports this module's timing helpers

        args.dtype = onnx_backend.onnx_dtype(args)
    ours, output = measure_in_child(args, original=False)
    original = measure_in_child(args, original=True) if args.original else None
    result = report(args, ours, output, original)
    if args.backend == "onnxruntime":
        result |= onnx_backend.compare(args, ours.ms_per_face, output)
    for key, value in result.items():
        print(f"{key:>22}: {value}")
    print(json.dumps(result))


