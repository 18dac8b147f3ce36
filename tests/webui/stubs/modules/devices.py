"""Mirrors ``modules/devices.py``: ``cpu``, ``device_codeformer`` (set in ``shared_init.initialize``), ``torch_gc``."""
import torch

cpu = torch.device("cpu")
device_codeformer = cpu
torch_gc_calls = 0
"""Test-only: how often ``torch_gc`` ran."""


def torch_gc() -> None:
    """Mirrors ``devices.torch_gc`` (empties the CUDA cache); counts calls here."""
    global torch_gc_calls
    torch_gc_calls += 1
