"""GPEN-BFR checkpoints: finding them, reading their state dict, inferring and checking the configuration.

Checkpoints come as the official plain state dicts, ModelScope's copies, training checkpoints
(``g_ema``), BasicSR-style wrappers (``params_ema``), DataParallel copies (``module.``) and
fp16 re-saves. Rather than a list of special cases, every nested dict is flattened into dotted
keys and the GPEN generator is located by its own key names, wherever it sits. The configuration
is read from tensor shapes, never from the file name, since users rename files.
"""
from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import torch

from ..errors import CheckpointError
from .arch.config import GPENConfig, expected_state_dict
from .checkpoint_formats import DOWNLOAD_AGAIN, checkpoint_error, load_container
from .checkpoint_kinds import identify_model

ONNX_EXTENSION = ".onnx"
CHECKPOINT_EXTENSIONS = (".pth", ".pt", ".safetensors", ONNX_EXTENSION)
"""File types listed as models. Content decides how a .pth/.pt/.safetensors file is read, so any of them may
hold any container; .onnx files are run with onnxruntime (see ``loading.load_model``)."""

GPEN_ANCHORS = ("generator.style.1.weight", "generator.input.input", "ecd0.0.0.weight", "final_linear.0.weight")
"""Keys every GPEN generator has; two of them under one prefix locate the generator in a wrapped file."""

MIN_ANCHORS = 2
MAX_NESTING = 4
MAX_LOG_SIZE = 11  # the original channel table ends at 2048
LISTED_KEYS = 3

TO_RGB_KEY = re.compile(r"generator\.to_rgbs\.(\d+)\.conv\.weight")
STYLE_KEY = re.compile(r"generator\.style\.(\d+)\.weight")
INFERENCE_KEYS = {"generator.style.1.weight": 2, "generator.input.input": 4, "ecd0.0.0.weight": 4}
"""The tensors (and their number of dimensions) whose shapes give the configuration."""


def find_checkpoints(folder: str | Path) -> list[Path]:
    """Model files directly in ``folder`` (by extension, sorted by name); empty if the folder does not exist.

    Not recursive: the WebUI names models by file stem, which must stay unique in one folder.
    """
    folder = Path(folder)
    if not folder.is_dir():
        return []
    files = (path for path in folder.iterdir() if path.is_file() and path.suffix.lower() in CHECKPOINT_EXTENSIONS)
    return sorted(files, key=lambda path: path.name.lower())


def read_state_dict(path: str | Path) -> dict[str, torch.Tensor]:
    """The GPEN generator's tensors from any supported file, under the original key names, floats as fp32.

    Raises ``CheckpointError`` for anything that is not a GPEN generator, naming what it is instead.
    Tensors stored in fp32 stay memory-mapped (no copy) until the network is built from them.
    """
    path = Path(path)
    tensors = flatten_tensors(load_container(path), path)
    prefix = find_gpen_prefix(tensors)
    if prefix is None:
        raise _not_gpen_error(path, tensors)
    return {key[len(prefix):]: _as_float32(value) for key, value in tensors.items() if key.startswith(prefix)}


def flatten_tensors(content: Any, source: str | Path) -> dict[str, torch.Tensor]:
    """Every tensor in nested string-keyed dicts, keyed by its dotted path (``g_ema.generator.style.1.weight``)."""
    if isinstance(content, torch.Tensor):
        raise checkpoint_error(source, "it holds a single tensor, not a state dict", DOWNLOAD_AGAIN)
    if not isinstance(content, Mapping):
        raise checkpoint_error(source, f"it holds a {type(content).__name__}, not a state dict", DOWNLOAD_AGAIN)
    tensors: dict[str, torch.Tensor] = {}
    _collect_tensors(content, "", tensors, MAX_NESTING)
    if not tensors:
        raise checkpoint_error(
            source, f"it holds a dict without tensors (keys: {_listing(map(str, content))})", DOWNLOAD_AGAIN
        )
    return tensors


def find_gpen_prefix(keys: Iterable[str]) -> str | None:
    """The prefix under which a GPEN generator's keys sit ("" for a plain state dict), or None.

    Training files hold both the trained and the averaged generator (``g`` and ``g_ema``); the
    released weights are the average, so a prefix naming ``ema`` wins a tie, then the shortest.
    """
    hits: dict[str, int] = {}
    for key in keys:
        for anchor in GPEN_ANCHORS:
            prefix = key[: -len(anchor)]
            if key.endswith(anchor) and (prefix == "" or prefix.endswith(".")):
                hits[prefix] = hits.get(prefix, 0) + 1
    candidates = [prefix for prefix, count in hits.items() if count >= MIN_ANCHORS]
    if not candidates:
        return None
    return max(candidates, key=lambda prefix: (hits[prefix], "ema" in prefix, -len(prefix)))


def infer_config(state_dict: Mapping[str, torch.Tensor], source: str | Path = "the state dict") -> GPENConfig:
    """The GPENConfig these weights were trained with, from tensor shapes; then validated against its layout.

    Size comes from the number of decoder levels, ``narrow`` from the 4x4 input's channels and the
    channel multiplier from the encoder's first layer, which runs at full resolution.
    """
    _require_inference_keys(state_dict, source)
    levels = sum(1 for key in state_dict if TO_RGB_KEY.fullmatch(key))
    log_size = levels + 2
    if not 3 <= log_size <= MAX_LOG_SIZE:
        raise _layout_error(source, [f"{levels} decoder levels (a GPEN-BFR generator has 6 to 9)"])
    size = 2**log_size
    narrow = state_dict["generator.input.input"].shape[1] / GPENConfig(size, narrow=1.0).channels(4)
    config = GPENConfig(
        size=size,
        channel_multiplier=_channel_multiplier(size, narrow, state_dict["ecd0.0.0.weight"].shape[0]),
        narrow=narrow,
        style_dim=state_dict["generator.style.1.weight"].shape[0],
        n_mlp=sum(1 for key in state_dict if STYLE_KEY.fullmatch(key)),
    )
    validate_state_dict(state_dict, config, source)
    return config


def validate_state_dict(state_dict: Mapping[str, torch.Tensor], config: GPENConfig, source: str | Path) -> None:
    """Raise one ``CheckpointError`` listing every difference from the original layout of ``config``."""
    expected = expected_state_dict(config)
    missing = [key for key in expected if key not in state_dict]
    unexpected = [key for key in state_dict if key not in expected]
    mismatched = [_mismatch(key, state_dict[key], entry) for key, entry in expected.items() if key in state_dict]
    wrong = [problem for problem in mismatched if problem]
    _report(source, {"missing key(s)": missing, "unexpected key(s)": unexpected, "wrong tensor(s)": wrong}, config)


def describe_config(config: GPENConfig) -> str:
    """How users know the model: GPEN-BFR-<size>, with the architecture numbers that distinguish it."""
    return f"GPEN-BFR-{config.size} (channel_multiplier {config.channel_multiplier}, narrow {config.narrow:g})"


def _collect_tensors(content: Mapping, prefix: str, tensors: dict[str, torch.Tensor], depth: int) -> None:
    for key, value in content.items():
        if not isinstance(key, str):
            continue
        if isinstance(value, torch.Tensor):
            tensors[prefix + key] = value
        elif isinstance(value, Mapping) and depth > 0:
            _collect_tensors(value, f"{prefix}{key}.", tensors, depth - 1)


def _as_float32(tensor: torch.Tensor) -> torch.Tensor:
    """fp16/bf16 re-saves computed in fp32 like the originals; fp32 tensors are returned as they are (no copy)."""
    return tensor.float() if tensor.is_floating_point() else tensor


def _channel_multiplier(size: int, narrow: float, top_channels: int) -> int:
    """Solve channels(size) = base(size) * multiplier * narrow for the multiplier (1 where it has no effect)."""
    per_unit = GPENConfig(size, channel_multiplier=1, narrow=narrow).channels(size)
    return max(1, round(top_channels / per_unit)) if per_unit else 1


def _mismatch(key: str, tensor: torch.Tensor, entry: tuple[int, ...] | list[list[float]]) -> str:
    """Why ``tensor`` is not what the layout has at ``key`` ("" if it is)."""
    if not tensor.is_floating_point():
        return f"{key} is {tensor.dtype}, not floating point"
    if isinstance(entry, tuple):
        return "" if tuple(tensor.shape) == entry else f"{key} {tuple(tensor.shape)} instead of {entry}"
    kernel = torch.tensor(entry)
    if tensor.shape != kernel.shape or not torch.allclose(tensor.float(), kernel, atol=1e-6):
        return f"{key} is not the [1, 3, 3, 1] blur kernel"
    return ""


def _require_inference_keys(state_dict: Mapping[str, torch.Tensor], source: str | Path) -> None:
    """Fail with the layout message, not an IndexError, when the shapes the inference reads are absent."""
    missing = [key for key in INFERENCE_KEYS if key not in state_dict]
    malformed = [
        f"{key} {tuple(state_dict[key].shape)} is not {ndim}-D"
        for key, ndim in INFERENCE_KEYS.items()
        if key in state_dict and state_dict[key].dim() != ndim
    ]
    _report(source, {"missing key(s)": missing, "wrong tensor(s)": malformed})


def _report(source: str | Path, findings: dict[str, list[str]], config: GPENConfig | None = None) -> None:
    """Raise one layout error that lists every kind of difference found, if any was."""
    problems = [f"{len(items)} {label} ({_listing(items)})" for label, items in findings.items() if items]
    if problems:
        raise _layout_error(source, problems, config)


def _layout_error(source: str | Path, problems: list[str], config: GPENConfig | None = None) -> CheckpointError:
    found = f"a {describe_config(config)} state dict" if config else "a GPEN-like state dict"
    return checkpoint_error(
        source,
        f"{found} that does not match the original layout: {'; '.join(problems)}",
        "The file is incomplete or from a modified GPEN; use an official GPEN-BFR file.",
    )


def _not_gpen_error(path: Path, tensors: Mapping[str, torch.Tensor]) -> CheckpointError:
    kind = identify_model(tensors)
    if kind is not None:
        return checkpoint_error(path, f"it is a {kind.name} model, not GPEN", kind.advice)
    return checkpoint_error(
        path,
        f"it is a state dict of {len(tensors)} tensors that are not GPEN's (keys: {_listing(tensors)})",
        "Put only GPEN-BFR files in the GPEN models folder.",
    )


def _listing(items: Any) -> str:
    """The first few items and how many more: messages must stay readable for 200-key state dicts."""
    items = list(items)
    shown = ", ".join(items[:LISTED_KEYS])
    return shown if len(items) <= LISTED_KEYS else f"{shown}, ... and {len(items) - LISTED_KEYS} more"
