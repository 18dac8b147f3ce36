"""The network on a CUDA GPU: the original's golden output, reduced precisions, batches, offloading.

Skipped without CUDA. ``GPEN_TEST_DEVICE`` (default ``cuda``) runs them on another device:
``python -m gpen_ext.bench.gpu_check --device cpu --quick`` uses it to prove its plumbing on a CPU.
"""
from __future__ import annotations

import os
from pathlib import Path

import pytest
import torch
from reference import MIN_PSNR_DB, assert_matches_golden, psnr

from gpen_ext.bench.recipe import recipe_input, recipe_state_dict
from gpen_ext.model.arch import build_generator
from gpen_ext.model.arch.config import RELEASED_CONFIGS
from gpen_ext.webui import model_cache
from gpen_ext.webui.model_cache import ModelCache

DEVICE = torch.device(os.environ.get("GPEN_TEST_DEVICE", "cuda"))
pytestmark = pytest.mark.skipif(DEVICE.type == "cuda" and not torch.cuda.is_available(), reason="no CUDA device")


@pytest.fixture(autouse=True)
def full_fp32(monkeypatch: pytest.MonkeyPatch) -> None:
    """fp32 means fp32 here: cuDNN's default TF32 convolutions (10-bit mantissa) are ~1e-3 off the original.

    (TF32 matmuls, for the style maths, are off by default.)
    """
    monkeypatch.setattr(torch.backends.cudnn, "allow_tf32", False)


def restore(size: int, dtype: torch.dtype, image: torch.Tensor) -> torch.Tensor:
    config = RELEASED_CONFIGS[size]
    model = build_generator(config, recipe_state_dict(config), device=DEVICE, dtype=dtype)
    assert (model.device.type, model.dtype) == (DEVICE.type, dtype)
    return model(image.to(DEVICE)).cpu()


@pytest.fixture(scope="module")
def fp32_512() -> torch.Tensor:
    return restore(512, torch.float32, recipe_input(512))


@pytest.mark.parametrize("size", [512, 2048])
def test_fp32_matches_original(size: int, reference_dir: Path, fp32_512: torch.Tensor) -> None:
    output = fp32_512 if size == 512 else restore(size, torch.float32, recipe_input(size))
    assert_matches_golden(size, output, reference_dir)


@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16])
def test_reduced_precision_within_40db(dtype: torch.dtype, fp32_512: torch.Tensor) -> None:
    assert psnr(restore(512, dtype, recipe_input(512)), fp32_512) >= MIN_PSNR_DB


def test_batch_of_four_equals_four_single_faces() -> None:
    config = RELEASED_CONFIGS[512]
    model = build_generator(config, recipe_state_dict(config), device=DEVICE, dtype=torch.float32)
    batch = torch.cat([recipe_input(512, seed=seed) for seed in range(4)]).to(DEVICE)
    together = model(batch).cpu()
    separately = torch.cat([model(batch[index : index + 1]).cpu() for index in range(4)])
    # cuDNN may pick other algorithms for another batch size: equal up to summation order.
    torch.testing.assert_close(together, separately, rtol=0, atol=1e-4)


def test_offload_moves_the_network_off_the_device_and_back(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "GPEN-BFR-256.pth"
    torch.save(recipe_state_dict(RELEASED_CONFIGS[256]), path)
    monkeypatch.setattr(model_cache.facexlib_models, "release_networks", lambda: None)
    cache = ModelCache()
    model = cache.get(path, DEVICE, "fp32")
    image = recipe_input(256).to(DEVICE)
    before = model(image).cpu()
    cache.offload()
    assert model.device.type == "cpu" and {buffer.device.type for buffer in model.buffers()} == {"cpu"}
    assert cache.get(path, DEVICE, "fp32") is model and model.device.type == DEVICE.type
    torch.testing.assert_close(model(image).cpu(), before, rtol=0, atol=0)
