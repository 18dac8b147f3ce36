"""Benchmark of the GPEN network on recipe weights: ``python -m gpen_ext.bench --size 2048``.

Each measurement runs in its own fresh process, so its peak memory is its own: our network, this
machine's roofline for the network (``roofline``: the original's dense convolutions alone, each
timed as one conv2d), and with ``--original PATH`` (a checkout of yangxy/GPEN) the original code on
the same weights and input, with how far our output is from it. Prints a readable summary, then
one JSON line with the numbers (the last line, for scripts).
"""
from __future__ import annotations

import argparse
import json
import multiprocessing
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import torch

from ..allocator import keep_freed_memory, release_freed_memory
from ..model.arch import GPENConfig, build_generator
from ..model.arch.config import RELEASED_CONFIGS
from ..model.loading import DTYPE_NAMES, parse_device, parse_dtype
from .profile import profile_forward
from .recipe import INPUT_SEED, recipe_input, recipe_state_dict
from .roofline import Roofline, sweep
from .timing import synchronize, time_forward


@dataclass
class Timing:
    """What one implementation measured in its own process."""

    ms_per_face: float
    peak_mb: float
    dtype: str
    malloc_tuned: bool
    ms_per_kind: dict[str, float] | None = None


def torch_model(args: argparse.Namespace, config: GPENConfig, device: torch.device) -> torch.nn.Module:
    """This project's PyTorch network (what ``--backend onnxruntime`` is compared with)."""
    return build_generator(config, recipe_state_dict(config), device, parse_dtype(args.dtype))


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m gpen_ext.bench", description=__doc__.split("\n")[0])
    parser.add_argument("--size", type=int, default=2048, choices=sorted(RELEASED_CONFIGS))
    parser.add_argument("--device", default="cpu", help="cpu, cuda, cuda:1, mps")
    parser.add_argument("--dtype", default="auto", choices=list(DTYPE_NAMES))
    parser.add_argument("--batch", type=int, default=1, help="faces per forward pass (times are per face)")
    parser.add_argument("--threads", type=int, default=None, help="torch CPU threads (default: torch's choice)")
    parser.add_argument("--repeat", type=int, default=3, help="timed forward passes after one warm-up (and as many roofline sweeps, interleaved)")
    parser.add_argument("--no-roofline", dest="roofline", action="store_false", help="skip the roofline")
    parser.add_argument("--profile", action="store_true", help="also report our time per kind of operation")
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


def bench_input(size: int, batch: int) -> torch.Tensor:
    """The recipe input, and further faces from the following seeds for a batch."""
    return torch.cat([recipe_input(size, seed=INPUT_SEED + index) for index in range(batch)])


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


def setup(args: argparse.Namespace) -> bool:
    """Per-process settings every measuring child shares; returns whether malloc was tuned."""
    tuned = not args.system_malloc and keep_freed_memory()
    if args.threads:
        torch.set_num_threads(args.threads)
    return tuned


def measure(args: argparse.Namespace, original: bool) -> tuple[Timing, torch.Tensor, Roofline | None]:
    """Runs in a child process: build, warm up, time; returns its timing, output image and roofline.

    The roofline (not for the original) is swept between our timed passes, ``repeat`` times in
    all, so that both see the same load on a shared machine; its fraction is ours against it.
    """
    tuned = setup(args)
    config = RELEASED_CONFIGS[args.size]
    device = torch.device("cpu") if original else parse_device(args.device)
    if original:
        model, dtype = OriginalImage(load_original(args.original, config)), torch.float32
    else:
        model = torch_model(args, config, device)
        dtype = model.dtype
    release_freed_memory()  # as the CLI does after loading
    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats(device)
    image = bench_input(config.size, args.batch).to(device)
    sweeps: list[dict[str, float]] = []

    def sweep_roofline() -> None:
        sweeps.append(sweep(config, dtype, device, synchronize))

    between = sweep_roofline if args.roofline and not original else None
    ms, peak, output = time_forward(model, image, args.repeat + 1 if between else args.repeat, device, between)
    timing = Timing(ms / args.batch, peak, str(dtype).removeprefix("torch."), tuned)
    if args.profile and not original:
        timing.ms_per_kind = profile_forward(model, image, device, synchronize)
    return timing, output, Roofline.from_sweeps(config, sweeps) if sweeps else None


def in_child(function: Callable, *arguments: object) -> object:
    """``function(*arguments)`` in a fresh process, so peak memory and allocator state are its own."""
    with multiprocessing.get_context("spawn").Pool(1) as pool:
        return pool.apply(function, arguments)


def report(args: argparse.Namespace, ours: Timing, output: torch.Tensor, bound: Roofline | None,
           original: tuple[Timing, torch.Tensor, None] | None) -> dict:
    """The JSON summary: ``size``, ``ms_per_face``, ``peak_rss_mb`` (``peak_cuda_mb``), ``roofline_fraction``..."""
    memory_key = "peak_cuda_mb" if args.device.startswith("cuda") else "peak_rss_mb"
    result = {
        "size": args.size,
        "device": args.device,
        "backend": args.backend,
        "dtype": ours.dtype,
        "batch": args.batch,
        "threads": args.threads or torch.get_num_threads(),
        "repeat": args.repeat,
        "ms_per_face": round(ours.ms_per_face, 1),
        memory_key: round(ours.peak_mb),
        "malloc_tuned": ours.malloc_tuned,
    }
    if bound is not None:
        result |= {
            "gflop": round(bound.gflop, 1),
            "roofline_ms": round(bound.ms, 1),
            "roofline_fraction": round(bound.ms / ours.ms_per_face, 3),
            "roofline_ms_per_kind": {kind: round(ms, 1) for kind, ms in bound.ms_per_kind.items()},
        }
    if ours.ms_per_kind is not None:
        result["ms_per_kind"] = {kind: round(ms, 1) for kind, ms in ours.ms_per_kind.items()}
    if original is not None:
        timing, original_output, _ = original
        result |= {
            "original_ms_per_face": round(timing.ms_per_face, 1),
            "original_peak_rss_mb": round(timing.peak_mb),
            "speedup": round(timing.ms_per_face / ours.ms_per_face, 2),
            "max_abs_vs_original": float((output - original_output).abs().max()),
        }
    return result


def run(argv: list[str] | None = None) -> dict:
    """Every measurement the arguments ask for, each in its own process; the JSON summary."""
    args = parse_args(argv)
    if args.backend == "onnxruntime":
        from . import onnx_backend  # only this backend needs the ONNX exporter

        args.dtype = onnx_backend.onnx_dtype(args)
    ours, output, bound = in_child(measure, args, False)
    original = in_child(measure, args, True) if args.original else None
    result = report(args, ours, output, bound, original)
    if args.backend == "onnxruntime":
        result |= onnx_backend.compare(args, ours.ms_per_face, output)
    return result


def main(argv: list[str] | None = None) -> None:
    result = run(argv)
    for key, value in result.items():
        print(f"{key:>22}: {value}")
    print(json.dumps(result))
