"""Weights built from ``../shared/gpen-reference`` alone, as its README prescribes, never from this package's layout.

A test that builds its expectation with the code's own ``expected_state_dict`` would agree with a
wrong layout; these come from the manifests measured on the original code.
"""
from __future__ import annotations

import json
from pathlib import Path

import torch

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
