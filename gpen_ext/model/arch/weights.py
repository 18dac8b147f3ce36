"""Reading the original state dict into the effective tensors the forward pass uses.

The original stores "equalized learning rate" parameters and rescales them on every call;
here each scale (and the sqrt(2) gain of the preceding activation) is applied once, at load.
"""
from __future__ import annotations

import math

import torch

ACTIVATION_GAIN = math.sqrt(2.0)


class StateDictReader:
    """Hands out state-dict tensors by key and proves at the end that every key was used once."""

    def __init__(self, state_dict: dict[str, torch.Tensor]) -> None:
        self._remaining = dict(state_dict)

    def take(self, key: str) -> torch.Tensor:
        """An fp32 copy of the tensor, made now: copying all at once would hold a second 285 MB at load.

        Own copies: a tensor passed through unchanged (a bias, on CPU in fp32) would otherwise keep
        a memory-mapped checkpoint mapped for the model's lifetime: on Windows the file could not be
        replaced, on Linux truncating it in place would crash the process (SIGBUS) on the next use.
        """
        return self._remaining.pop(key).detach().to(torch.float32, copy=True)

    def finish(self) -> None:
        """Fail loudly if the network left a key unused: it would silently compute something else."""
        if self._remaining:
            raise KeyError(f"state-dict keys not used by the GPEN network: {sorted(self._remaining)}")


def equal_linear(reader: StateDictReader, prefix: str, lr_mul: float = 1.0) -> tuple[torch.Tensor, torch.Tensor]:
    """(weight, bias) of an ``EqualLinear`` with its run-time scales applied."""
    weight = reader.take(f"{prefix}.weight")
    scale = lr_mul / math.sqrt(weight.shape[1])
    return weight * scale, reader.take(f"{prefix}.bias") * lr_mul


def equal_conv_weight(weight: torch.Tensor, gain: float = 1.0) -> torch.Tensor:
    """An ``EqualConv2d``/``ModulatedConv2d`` weight (out, in, k, k) times 1/sqrt(fan_in) and ``gain``."""
    fan_in = weight.shape[1] * weight.shape[2] * weight.shape[3]
    return weight * (gain / math.sqrt(fan_in))


def flipped_kernel(reader: StateDictReader, key: str) -> torch.Tensor:
    """A blur buffer as a correlation kernel: ``upfirdn2d`` convolves, ``conv2d`` correlates."""
    return torch.flip(reader.take(key), [0, 1])
