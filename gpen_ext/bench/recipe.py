"""Deterministic "recipe" weights and input, as defined by the GPEN reference data.

Random weights drawn in the original state-dict order reproduce the golden outputs of the
original code; the benchmark and the tests use them where no real checkpoint is available.
"""
from __future__ import annotations

import torch

from ..model.arch.config import GPENConfig, expected_state_dict

WEIGHT_SEED = 20211
INPUT_SEED = 20212


def recipe_state_dict(config: GPENConfig, seed: int = WEIGHT_SEED) -> dict[str, torch.Tensor]:
    """Normal weights (biases scaled by 0.1) in the original key order; blur kernels exact."""
    generator = torch.Generator().manual_seed(seed)
    state: dict[str, torch.Tensor] = {}
    for key, entry in expected_state_dict(config).items():
        if key.endswith(".kernel"):
            state[key] = torch.tensor(entry, dtype=torch.float32)
            continue
        tensor = torch.randn(entry, generator=generator, dtype=torch.float32)
        state[key] = tensor * 0.1 if key.endswith(".bias") else tensor
    return state


def recipe_input(size: int, seed: int = INPUT_SEED) -> torch.Tensor:
    """A (1, 3, size, size) uniform input in [-1, 1]."""
    return torch.rand(1, 3, size, size, generator=torch.Generator().manual_seed(seed)) * 2 - 1
