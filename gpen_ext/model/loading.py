"""``load_model``: from a file on disk to a ready GPEN network, in one call for the CLI, WebUI and API.

Arguments are checked before the file is read, so a typo in ``dtype`` costs nothing, not a
285 MB read followed by an error.
"""
from __future__ import annotations

from pathlib import Path

import torch
from torch import nn

from ..errors import GPENError
from .arch import build_generator
from .checkpoint import CHECKPOINT_EXTENSIONS, ONNX_EXTENSION, find_checkpoints, infer_config, read_state_dict
from .onnx import ONNXGenerator
from .onnx.model import read_gpen_onnx

__all__ = ["CHECKPOINT_EXTENSIONS", "DTYPE_NAMES", "ONNX_EXTENSION", "find_checkpoints", "load_model", "model_size", "parse_device", "parse_dtype"]

DTYPE_NAMES: dict[str, torch.dtype | None] = {
    "auto": None,
    "fp32": torch.float32,
    "bf16": torch.bfloat16,
    "fp16": torch.float16,
}
"""Precision names users type (CLI flags, WebUI settings); ``auto`` lets the network pick per device."""

DEVICE_AVAILABLE = {
    "cpu": lambda: True,
    "cuda": torch.cuda.is_available,
    "mps": torch.backends.mps.is_available,
}
"""Availability checks for the common device types; others (xpu, DirectML's privateuseone) pass unchecked."""


def load_model(
    path: str | Path, device: str | torch.device = "cpu", dtype: str | torch.dtype | None = None
) -> nn.Module | ONNXGenerator:
    """Read a GPEN-BFR checkpoint safely, infer its configuration from the weights and build the network.

    ``dtype`` is a torch dtype, None, or one of ``DTYPE_NAMES``. Raises ``CheckpointError`` for a bad
    file and ``GPENError`` for a bad ``device`` or ``dtype``. A ``.onnx`` file is run with onnxruntime
    in the graph's own precision (``dtype`` is checked, not applied: the file fixes it).
    """
    torch_device = parse_device(device)
    torch_dtype = parse_dtype(dtype)
    if Path(path).suffix.lower() == ONNX_EXTENSION:
        return ONNXGenerator(path, torch_device)
    state_dict = read_state_dict(path)
    config = infer_config(state_dict, source=path)
    return build_generator(config, state_dict, device=torch_device, dtype=torch_dtype)


def model_size(path: str | Path) -> int:
    """The GPEN size (crop side) of a model file without building the network: what per-face model choice needs
    of every file before it loads any (a zip ``.pth`` or ``.safetensors`` is memory-mapped, not read)."""
    path = Path(path)
    if path.suffix.lower() == ONNX_EXTENSION:
        return read_gpen_onnx(path)[2]
    return infer_config(read_state_dict(path), source=path).size


def parse_dtype(dtype: str | torch.dtype | None) -> torch.dtype | None:
    """The compute dtype for ``dtype`` (None = automatic), or a ``GPENError`` naming the allowed values."""
    if dtype is None or (isinstance(dtype, torch.dtype) and dtype in DTYPE_NAMES.values()):
        return dtype
    if isinstance(dtype, str) and dtype.lower() in DTYPE_NAMES:
        return DTYPE_NAMES[dtype.lower()]
    raise GPENError(
        f"Unsupported precision {dtype!r}: use one of {', '.join(DTYPE_NAMES)}, None, "
        "or torch.float32 / torch.bfloat16 / torch.float16."
    )


def parse_device(device: str | torch.device) -> torch.device:
    """``device`` as a torch.device that exists on this machine, or a ``GPENError`` saying which ones do."""
    try:
        torch_device = torch.device(device)
    except (RuntimeError, TypeError) as error:
        raise GPENError(f"Unknown device {device!r} ({error}): use {_device_hint()}.") from error
    is_available = DEVICE_AVAILABLE.get(torch_device.type, lambda: True)
    missing_gpu = torch_device.type == "cuda" and (torch_device.index or 0) >= torch.cuda.device_count()
    if not is_available() or missing_gpu:
        raise GPENError(f"Device {device!r} is not available on this machine: use {_device_hint()}.")
    return torch_device


def _device_hint() -> str:
    """The device names that work here, e.g. "cpu, cuda, cuda:0"."""
    available = [name for name, is_available in DEVICE_AVAILABLE.items() if is_available()]
    if torch.cuda.is_available():
        available += [f"cuda:{index}" for index in range(torch.cuda.device_count())]
    return ", ".join(available)
