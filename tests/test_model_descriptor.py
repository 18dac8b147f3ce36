"""The network as a model descriptor: it says what it is, and torch's own ``.to``/``.half``/... move and cast it."""
from __future__ import annotations


import pytest
import torch

from gpen_ext.bench.recipe import recipe_input, recipe_state_dict
from gpen_ext.errors import GPENError
from gpen_ext.model.arch import build_generator
from gpen_ext.model.arch.config import RELEASED_CONFIGS

CONFIG = RELEASED_CONFIGS[256]


@pytest.fixture
def model() -> torch.nn.Module:
    return build_generator(CONFIG, recipe_state_dict(CONFIG), dtype=torch.float32)


def buffer_dtypes(model: torch.nn.Module) -> dict[str, torch.dtype]:
    return {name: buffer.dtype for name, buffer in model.named_buffers()}


def test_describes_itself(model: torch.nn.Module) -> None:
    assert (model.size, model.dtype, model.device) == (256, torch.float32, torch.device("cpu"))
    assert model.supports_half and model.supports_bf16


@pytest.mark.parametrize(("cast", "dtype"), [
    (lambda m: m.bfloat16(), torch.bfloat16),
    (lambda m: m.to(torch.bfloat16), torch.bfloat16),
    (lambda m: m.to("cpu", torch.float16), torch.float16),
    (lambda m: m.half(), torch.float16),
])
def test_cast_equals_building_in_that_precision(model: torch.nn.Module, cast, dtype: torch.dtype) -> None:
    """A cast model computes bit for bit what a model built in that precision computes, style maths still fp32."""
    built = build_generator(CONFIG, recipe_state_dict(CONFIG), dtype=dtype)
    assert cast(model) is model and model.dtype == dtype
    assert buffer_dtypes(model) == buffer_dtypes(built)
    assert {buffer_dtypes(model)[name] for name in ("mapping.weight1", "decoder.modulation.weight")} == {torch.float32}
    image = recipe_input(256)
    assert torch.equal(model(image), built(image))


def test_float_after_bf16_computes_in_fp32(model: torch.nn.Module) -> None:
    reference = model(recipe_input(256))
    model.bfloat16().float()
    assert model.dtype == torch.float32
    assert {dtype for dtype in buffer_dtypes(model).values()} == {torch.float32}
    # The bf16 rounding of the encoder weights stays (as for any module), the fp32 maths is back.
    assert 0 < (model(recipe_input(256)) - reference).abs().max() < 0.1


def test_move_takes_every_tensor_and_layer_along(model: torch.nn.Module) -> None:
    """``meta`` stands in for an accelerator: every tensor and every layer's placement must follow,
    or the layers would send their inputs to the old device."""
    assert model.to("meta") is model
    assert model.device == torch.device("meta") and model.dtype == torch.float32
    assert {buffer.device.type for buffer in model.buffers()} == {"meta"}
    assert {m.placement.device.type for m in model.modules() if hasattr(m, "placement")} == {"meta"}


@pytest.mark.parametrize("cast", [lambda m: m.double(), lambda m: m.to(torch.float64)])
def test_unsupported_precision_is_refused(model: torch.nn.Module, cast) -> None:
    with pytest.raises(GPENError, match="unsupported compute dtype"):
        cast(model)
    assert model.dtype == torch.float32


@pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device")
def test_cuda_round_trip(model: torch.nn.Module) -> None:
    reference = model(recipe_input(256))
    model.cuda()
    assert model.device.type == "cuda" and {buffer.device.type for buffer in model.buffers()} == {"cuda"}
    torch.testing.assert_close(model(recipe_input(256).cuda()).cpu(), reference, rtol=0, atol=1e-4)
    model.cpu()
    torch.testing.assert_close(model(recipe_input(256)), reference, rtol=0, atol=1e-6)
