"""The model cache: one load per file and precision, LRU bound, offload that really moves the network."""
from __future__ import annotations

import os
from pathlib import Path

import pytest
import torch

from gpen_ext.webui import model_cache
from gpen_ext.webui.model_cache import ModelCache


@pytest.fixture
def loads(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, str]]:
    """Each real load_model call the cache makes (file name, precision)."""
    calls: list[tuple[str, str]] = []
    real = model_cache.load_model

    def load_model(path, device, dtype):
        calls.append((Path(path).name, dtype))
        return real(path, device=device, dtype=dtype)

    monkeypatch.setattr(model_cache, "load_model", load_model)
    return calls


def test_loads_once_per_file_and_precision(recipe_checkpoint: Path, loads: list) -> None:
    cache = ModelCache()
    cpu = torch.device("cpu")
    first = cache.get(recipe_checkpoint, cpu)
    assert cache.get(recipe_checkpoint, cpu) is first
    assert cache.get(recipe_checkpoint, cpu, "fp32") is not first
    assert loads == [(recipe_checkpoint.name, "auto"), (recipe_checkpoint.name, "fp32")]
    assert first.size == 256 and first.device == cpu


def test_replaced_file_is_reloaded(recipe_checkpoint: Path, tmp_path: Path, loads: list) -> None:
    copy = tmp_path / recipe_checkpoint.name
    copy.write_bytes(recipe_checkpoint.read_bytes())
    cache = ModelCache()
    cache.get(copy, torch.device("cpu"))
    stat = copy.stat()
    os.utime(copy, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000_000))
    cache.get(copy, torch.device("cpu"))
    assert len(loads) == 2


def test_capacity_evicts_least_recently_used(recipe_checkpoint: Path, loads: list) -> None:
    cache = ModelCache(capacity=1)
    cpu = torch.device("cpu")
    cache.get(recipe_checkpoint, cpu, "fp32")
    cache.get(recipe_checkpoint, cpu, "bf16")
    cache.get(recipe_checkpoint, cpu, "fp32")
    assert len(cache) == 1 and len(loads) == 3


def test_offload_moves_tensors_and_placements(recipe_checkpoint: Path) -> None:
    """Moving to the ``meta`` device stands in for CUDA -> CPU here: every tensor and every layer's
    placement must follow, or the network would send its inputs to the old device."""
    cache = ModelCache()
    model = cache.get(recipe_checkpoint, torch.device("cpu"))
    model.move_to("meta")
    assert model.device == torch.device("meta")
    assert {buffer.device.type for buffer in model.buffers()} == {"meta"}
    assert {m.placement.device.type for m in model.modules() if hasattr(m, "placement")} == {"meta"}
