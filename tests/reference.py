"""What ``tests/data/gpen-reference`` prescribes: weights built from its manifests, checks against its golden outputs.

A test that builds its expectation with the code's own ``expected_state_dict`` would agree with a
wrong layout; these come from the manifests measured on the original code, never from this package.
"""
from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

GOLDEN_TOLERANCE = 1e-4
MIN_PSNR_DB = 40.0

WEIGHT_SEED = 20211  # the README's recipe; gpen_ext.bench.recipe must reproduce it


def manifest(reference_dir: Path, size: int) -> dict:
    return json.loads((reference_dir / f"gpen_bfr_{size}.manifest.json").read_text())


def manifest_state_dict(reference_dir: Path, size: int) -> dict[str, torch.Tensor]:
    """The reference README's deterministic weights, in the manifest's (the original's) key order."""
    generator = torch.Generator().manual_seed(WEIGHT_SEED)
    state = {}
    for key, entry in manifest(reference_dir, size)["state_dict"].items():
        if "value" in entry:
            state[key] = torch.tensor(entry["value"], dtype=torch.float32)
        else:
            tensor = torch.randn(entry["shape"], generator=generator, dtype=torch.float32)
            state[key] = tensor * 0.1 if key.endswith(".bias") else tensor
    return state


def golden_summary(image: torch.Tensor) -> dict[str, np.ndarray]:
    """The arrays stored in ``gpen_bfr_<size>.golden.npz``, computed from one (3, S, S) image."""
    size, half = image.shape[-1], image.shape[-1] // 2
    summary = {
        "mean": image.mean(dim=(1, 2)),
        "std": image.std(dim=(1, 2)),
        "min": image.min(),
        "max": image.max(),
        "down64": F.avg_pool2d(image[None], size // 64)[0],
        "center64": image[:, half - 32 : half + 32, half - 32 : half + 32],
        "corner32": image[:, :32, :32],
    }
    return {name: value.numpy() for name, value in summary.items()}


def psnr(test: torch.Tensor, reference: torch.Tensor) -> float:
    """PSNR in dB over the [-1, 1] range (peak-to-peak 2)."""
    mse = (test.float() - reference.float()).square().mean().item()
    return 10 * math.log10(4.0 / mse)


def assert_matches_golden(size: int, output: torch.Tensor, reference_dir: Path) -> None:
    golden = np.load(reference_dir / f"gpen_bfr_{size}.golden.npz")
    assert output.shape == (1, 3, size, size) and output.dtype == torch.float32
    for name, ours in golden_summary(output[0]).items():
        error = np.abs(ours - golden[name]).max()
        assert error < GOLDEN_TOLERANCE, f"{name}: max abs error {error:.2e} against the original"
