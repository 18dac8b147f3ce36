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


@pytest.fixture
def releases(monkeypatch: pytest.MonkeyPatch) -> list[None]:
    """Each time the cache drops the facexlib detector/parser networks."""
    calls: list[None] = []
    monkeypatch.setattr(model_cache.facexlib_models, "release_networks", lambda: calls.append(None))
    return calls


def test_offload_of_cpu_models_keeps_them_and_the_detectors(recipe_checkpoint: Path, loads: list, releases: list) -> None:
    """On the CPU nothing is freed by parking: the model stays loaded and the detectors stay in memory."""
    cache = ModelCache()
    cpu = torch.device("cpu")
    model = cache.get(recipe_checkpoint, cpu, "fp32")
    image = torch.rand(1, 3, 256, 256) * 2 - 1
    before = model(image)
    cache.offload()
    assert releases == [] and model.device == cpu
    assert cache.get(recipe_checkpoint, cpu, "fp32") is model and len(loads) == 1
    assert torch.equal(model(image), before)


class AcceleratorModel:
    """The cache's contract with a model (torch or ONNX): ``.device`` and ``.to(device)`` returning itself."""

    def __init__(self, device: str) -> None:
        self.device = torch.device(device)
        self.moves: list[str] = []

    def to(self, device: str | torch.device) -> AcceleratorModel:
        self.device = torch.device(device)
        self.moves.append(self.device.type)
        return self


def test_offload_parks_accelerator_models_on_the_cpu(releases: list) -> None:
    """Models off the CPU are moved there, and the detector/parser networks are released once."""
    cache = ModelCache()
    models = [AcceleratorModel("cuda"), AcceleratorModel("cpu")]
    for index, model in enumerate(models):
        cache._models[("file", index, str(model.device), "auto")] = model
    cache.offload()
    assert releases == [None]
    assert [model.device.type for model in models] == ["cpu", "cpu"]
