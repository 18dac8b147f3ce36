"""``python -m gpen_ext.bench --backend onnxruntime``: the exported ONNX model timed beside the torch network.

The recipe weights are exported once (``model/onnx/export``, not timed) to a temporary file, then
onnxruntime runs that file in a fresh process, on the same input, size, precision and threads as
the torch run, so the two timings and peak memories compare directly.
"""
from __future__ import annotations

import argparse
import math
import multiprocessing
import tempfile
from pathlib import Path

import torch

from ..allocator import keep_freed_memory
from ..errors import GPENError
from ..model.arch import build_generator
from ..model.arch.config import RELEASED_CONFIGS
from ..model.loading import parse_device
from ..model.onnx import ONNXGenerator, export_generator
from .recipe import recipe_input, recipe_state_dict
from .timing import peak_memory_mb, time_forward

ONNX_DTYPES = ("fp32", "fp16")


def onnx_dtype(args: argparse.Namespace) -> str:
    """The precision both backends run in: fp32 or fp16 (``auto``: fp16 on CUDA, else fp32).

    onnxruntime has no bf16 convolutions on the CPU, so ``auto`` does not pick bf16 here as the
    torch network would on a CPU with AMX.
    """
    if args.dtype == "auto":
        return "fp16" if args.device.startswith("cuda") else "fp32"
    if args.dtype not in ONNX_DTYPES:
        raise GPENError(f"--backend onnxruntime runs {' or '.join(ONNX_DTYPES)}, not {args.dtype}")
    return args.dtype


def export_recipe(args: argparse.Namespace, path: Path) -> float:
    """Runs in a child process: write the recipe model as ONNX; the export's seconds."""
    config = RELEASED_CONFIGS[args.size]
    dtype = torch.float16 if onnx_dtype(args) == "fp16" else torch.float32
    return export_generator(build_generator(config, recipe_state_dict(config), "cpu", dtype), path).seconds


def measure_onnx(args: argparse.Namespace, path: Path) -> tuple[float, float, torch.Tensor]:
    """Runs in a child process: (median ms per face, peak MB or NaN on CUDA, output) of onnxruntime on ``path``."""
    if not args.system_malloc:
        keep_freed_memory()  # as in the torch run
    if args.threads:
        torch.set_num_threads(args.threads)
    device = parse_device(args.device)
    model = ONNXGenerator(path, device)
    ms, _, output = time_forward(model, recipe_input(args.size).to(model.device), args.repeat, model.device)
    peak = peak_memory_mb(model.device) if model.device.type == "cpu" else float("nan")
    return ms, peak, output


def compare(args: argparse.Namespace, torch_ms: float, torch_output: torch.Tensor) -> dict:
    """The ``onnxruntime_*`` entries of the benchmark's JSON summary."""
    spawn = multiprocessing.get_context("spawn")
    with tempfile.TemporaryDirectory(prefix="gpen-bench-") as folder:
        path = Path(folder) / f"gpen_bfr_{args.size}.onnx"
        with spawn.Pool(1) as pool:
            export_seconds = pool.apply(export_recipe, (args, path))
        with spawn.Pool(1) as pool:
            ms, peak, output = pool.apply(measure_onnx, (args, path))
    return {
        "onnxruntime_ms_per_face": round(ms, 1),
        "onnxruntime_peak_mb": None if math.isnan(peak) else round(peak),
        "onnxruntime_time_vs_torch": round(ms / torch_ms, 2),
        "onnxruntime_max_abs_vs_torch": float((output - torch_output).abs().max()),
        "onnx_export_s": round(export_seconds, 1),
    }
