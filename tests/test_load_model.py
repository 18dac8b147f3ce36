"""``load_model`` end to end: a saved checkpoint computes the original GPEN output; bad arguments fail early."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

import gpen_ext
from gpen_ext.bench.recipe import recipe_input, recipe_state_dict
from gpen_ext.errors import CheckpointError, GPENError
from gpen_ext.model.arch import GPENConfig
from gpen_ext.model.loading import load_model, parse_device, parse_dtype

CONFIG_256 = GPENConfig(256, channel_multiplier=1, narrow=0.5)
GOLDEN_TOLERANCE = 1e-4


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The recipe weights as a training checkpoint (EMA generator under ``g_ema``), legacy serialisation."""
    path = tmp_path_factory.mktemp("models") / "GPEN-BFR-256.pth"
    torch.save({"g_ema": recipe_state_dict(CONFIG_256), "iteration": 1000}, path, _use_new_zipfile_serialization=False)
    return path


def test_loaded_model_computes_the_original_output(checkpoint: Path, reference_dir: Path) -> None:
    model = load_model(checkpoint, device="cpu", dtype="fp32")

    assert (model.size, model.config, model.dtype, model.device) == (256, CONFIG_256, torch.float32, torch.device("cpu"))
    assert not model.training
    with torch.no_grad():
        image = model(recipe_input(256))[0]
    golden = np.load(reference_dir / "gpen_bfr_256.golden.npz")
    crops = {"corner32": image[:, :32, :32], "center64": image[:, 96:160, 96:160], "max": image.max()}
    for name, ours in crops.items():
        assert np.abs(ours.numpy() - golden[name]).max() < GOLDEN_TOLERANCE, name


def test_precision_reaches_the_model(checkpoint: Path, cpu_auto_dtype: torch.dtype) -> None:
    model = load_model(checkpoint, device=torch.device("cpu"), dtype="BF16")
    assert model.dtype == torch.bfloat16
    assert load_model(checkpoint, dtype="auto").dtype == cpu_auto_dtype


@pytest.mark.parametrize(
    ("name", "dtype"),
    [(None, None), ("auto", None), ("fp32", torch.float32), ("bf16", torch.bfloat16), ("fp16", torch.float16),
     (torch.bfloat16, torch.bfloat16)],
)
def test_precision_names(name: str | torch.dtype | None, dtype: torch.dtype | None) -> None:
    assert parse_dtype(name) == dtype


@pytest.mark.parametrize("dtype", ["fp8", "float", torch.int8, 16])
def test_bad_precision_is_refused_before_reading(dtype: object, tmp_path: Path) -> None:
    with pytest.raises(GPENError, match="Unsupported precision .* auto, fp32, bf16, fp16") as caught:
        load_model(tmp_path / "missing.pth", dtype=dtype)
    assert not isinstance(caught.value, CheckpointError)


def test_bad_device_is_refused_before_reading(tmp_path: Path) -> None:
    with pytest.raises(GPENError, match="Unknown device 'gpu'.*use cpu") as caught:
        load_model(tmp_path / "missing.pth", device="gpu")
    assert not isinstance(caught.value, CheckpointError)


@pytest.mark.skipif(torch.cuda.is_available(), reason="needs a machine without CUDA")
def test_unavailable_device() -> None:
    with pytest.raises(GPENError, match="Device 'cuda:1' is not available on this machine: use cpu"):
        parse_device("cuda:1")


def test_bad_checkpoint_reaches_the_caller_as_one_checkpoint_error(checkpoint: Path, tmp_path: Path) -> None:
    state = torch.load(checkpoint, weights_only=True)["g_ema"]
    del state["final_linear.0.bias"]
    path = tmp_path / "GPEN-BFR-256.pth"
    torch.save(state, path)
    with pytest.raises(CheckpointError, match=r"GPEN-BFR-256\.pth: a GPEN-BFR-256 .* missing key\(s\) \(final_linear"):
        load_model(path)


def test_package_exports_load_model() -> None:
    assert gpen_ext.load_model is load_model
