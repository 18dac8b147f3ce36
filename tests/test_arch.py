"""The GPEN network against the original's golden outputs, in every precision and batch shape."""
from __future__ import annotations

import platform
from pathlib import Path

import pytest
import torch
from reference import MIN_PSNR_DB, assert_matches_golden, manifest_state_dict, psnr

from gpen_ext.bench.recipe import recipe_input, recipe_state_dict
from gpen_ext.errors import GPENError
from gpen_ext.model.arch import auto_dtype, build_generator, expected_state_dict, precision
from gpen_ext.model.arch import fused, resample
from gpen_ext.model.arch.bands import (
    ComputedRows, HaloWriter, RowChunks, band_height, downsampling_bands, upsampling_bands,
)
from gpen_ext.model.arch.decoder import DecoderLevel, Modulation
from gpen_ext.model.arch.config import RELEASED_CONFIGS as CONFIGS


@pytest.fixture(scope="module")
def fp32_outputs() -> dict[int, torch.Tensor]:
    """fp32 outputs per size, computed once: they are the reference for the other precisions."""
    return {}


def fp32_output(size: int, cache: dict[int, torch.Tensor]) -> torch.Tensor:
    if size not in cache:
        config = CONFIGS[size]
        cache[size] = build_generator(config, recipe_state_dict(config), dtype=torch.float32)(recipe_input(size))
    return cache[size]


@pytest.mark.parametrize("size", [256, 512])
def test_fp32_matches_original(size: int, reference_dir: Path, fp32_outputs: dict) -> None:
    assert_matches_golden(size, fp32_output(size, fp32_outputs), reference_dir)


@pytest.mark.slow
@pytest.mark.parametrize("size", [1024, 2048])
def test_fp32_matches_original_large(size: int, reference_dir: Path, fp32_outputs: dict) -> None:
    assert_matches_golden(size, fp32_output(size, fp32_outputs), reference_dir)


BF16_MIN_PSNR_DB = 60.0
"""bf16 (auto on CPUs with native bf16) must stay this close to fp32 (measured: 66-67 dB at 512 and 2048)."""


@pytest.mark.parametrize("size", [256, 512])
def test_bf16_within_60db_of_fp32(size: int, fp32_outputs: dict) -> None:
    config = CONFIGS[size]
    model = build_generator(config, recipe_state_dict(config), dtype=torch.bfloat16)
    assert model.dtype == torch.bfloat16
    output = model(recipe_input(size))
    assert output.dtype == torch.float32
    assert psnr(output, fp32_output(size, fp32_outputs)) >= BF16_MIN_PSNR_DB


def test_fp16_on_cpu_within_40db_of_fp32(fp32_outputs: dict) -> None:
    """fp16 is meant for CUDA; on a CPU it must still compute the same image (slowly)."""
    config = CONFIGS[256]
    output = build_generator(config, recipe_state_dict(config), dtype=torch.float16)(recipe_input(256))
    assert psnr(output, fp32_output(256, fp32_outputs)) >= MIN_PSNR_DB


def test_batch_equals_single_samples() -> None:
    config = CONFIGS[256]
    model = build_generator(config, recipe_state_dict(config), dtype=torch.float32)
    batch = torch.cat([recipe_input(256, seed=1), recipe_input(256, seed=2)])
    together = model(batch)
    separately = torch.cat([model(batch[:1]), model(batch[1:])])
    assert together.shape == (2, 3, 256, 256)
    torch.testing.assert_close(together, separately, rtol=0, atol=1e-5)
    assert (together[0] - together[1]).abs().max() > 0.01, "different faces must give different images"


@pytest.mark.parametrize("band_bytes", [1, 3 * 2**20, 2**40])
def test_bands_give_the_same_image(band_bytes: int, fp32_outputs: dict) -> None:
    """4-row bands (the smallest, 1 byte asked), bands of 24-48 rows and no bands at all agree.

    A margin one input row short changes rows at band edges by ~0.01; 1e-6 allows only summation order.
    """
    config = CONFIGS[256]
    model = build_generator(config, recipe_state_dict(config), dtype=torch.float32)
    model.band_bytes = band_bytes
    torch.testing.assert_close(model(recipe_input(256)), fp32_output(256, fp32_outputs), rtol=0, atol=1e-6)


BAND_KINDS = {"upsampling": (upsampling_bands, 2), "downsampling": (downsampling_bands, 0.5)}


@pytest.mark.parametrize("kind", list(BAND_KINDS))
@pytest.mark.parametrize("input_rows, height", [(512, 256), (1024, 128), (128, 4), (8, 16)])
def test_bands_cover_every_output_row_once(kind: str, input_rows: int, height: int) -> None:
    split, scale = BAND_KINDS[kind]
    output_rows = int(input_rows * scale)
    bands = split(input_rows, height)
    assert [row for band in bands for row in range(output_rows)[band.rows]] == list(range(output_rows))
    for band in bands:
        assert 0 <= band.inputs.start < band.inputs.stop <= input_rows
        assert band.kept.stop - band.kept.start == band.rows.stop - band.rows.start
        assert band.kept.start >= 0 and band.kept.stop <= (band.inputs.stop - band.inputs.start) * scale


def test_band_height_is_even_and_bounded() -> None:
    assert band_height(2048, 2048 * 32 * 4, 64 * 2**20) == 256
    assert band_height(2048, 2048 * 32 * 4, 1) == 4
    assert band_height(64, 1, 2**30) == 64
    assert band_height(2048, 3000, 64 * 2**20) % 2 == 0


def test_row_chunks_read_across_pieces() -> None:
    whole = torch.arange(2 * 3 * 10 * 4.0).reshape(2, 3, 10, 4).contiguous(memory_format=torch.channels_last)
    chunks = RowChunks([whole[:, :, :3], whole[:, :, 3:7], whole[:, :, 7:]])
    assert chunks.shape == whole.shape
    for rows in (slice(0, 10), slice(2, 8), slice(4, 6), slice(6, 7), slice(9, 10)):
        assert torch.equal(chunks.read(rows), whole[:, :, rows])
        assert sum(view.shape[2] for view in chunks.views(rows)) == rows.stop - rows.start
    assert chunks.read(slice(2, 8)).is_contiguous(memory_format=torch.channels_last)
    assert chunks.read(slice(4, 6)).data_ptr() == whole[:, :, 4:6].data_ptr(), "rows inside one piece are a view"
    assert torch.equal(chunks.sample(1).whole(), whole[1:])


def test_row_chunks_release_the_pieces_above_a_row() -> None:
    whole = torch.arange(3 * 10 * 4.0).reshape(1, 3, 10, 4)
    chunks = RowChunks([whole[:, :, :3], whole[:, :, 3:7], whole[:, :, 7:]])
    chunks.release_above(6)  # the second piece ends at 7: still needed
    assert chunks.pieces[0] is None and chunks.pieces[1] is not None and chunks.shape == whole.shape
    assert torch.equal(chunks.read(slice(4, 9)), whole[:, :, 4:9])
    chunks.release_above(10)
    assert all(piece is None for piece in chunks.pieces)
    with pytest.raises(TypeError):
        chunks.read(slice(0, 2))  # a released row is an error, never stale data


@pytest.mark.parametrize("rows, cuts, unusable", [(20, [0, 6, 12, 18, 20], []), (8, [0, 3, 4, 8], [0, 2])])
def test_halo_pieces_read_margins_as_views(rows: int, cuts: list[int], unusable: list[int]) -> None:
    """A map written band by band with 2-row halos: a read reaching at most 2 rows past one piece is a view into
    that piece's buffer, any other a copy, and every read is exact. A 1-row piece cannot fill its neighbours'
    halos: those buffers are then not used."""
    whole = torch.arange(3 * rows * 4.0).reshape(1, 3, rows, 4).contiguous(memory_format=torch.channels_last)
    writer = HaloWriter(rows, margin=2)
    for start, stop in zip(cuts, cuts[1:]):
        writer.piece(slice(start, stop), whole, 3).copy_(whole[:, :, start:stop])
        writer.written()
    chunks = writer.chunks()
    assert [index for index, held in enumerate(chunks.buffers) if held is None] == unusable
    usable = [(start, stop, held[0]) for (start, stop), held in zip(zip(cuts, cuts[1:]), chunks.buffers) if held]
    for first in range(rows):
        for last in range(first + 1, rows + 1):
            read = chunks.read(slice(first, last))
            assert torch.equal(read, whole[:, :, first:last]), (first, last)
            storage = read.untyped_storage().data_ptr()
            view = any(storage == buffer.untyped_storage().data_ptr() for _, _, buffer in usable)
            within = any(max(start - 2, 0) <= first and last <= min(stop + 2, rows) for start, stop, _ in usable)
            assert view == within, (first, last)


def test_first_encoder_map_is_computed_where_read_not_stored() -> None:
    """The 1x1 layer's map (the largest of the network) is handed on as rows computed on demand, equal to the layer
    applied to the whole image."""
    config = CONFIGS[256]
    model = build_generator(config, recipe_state_dict(config), dtype=torch.float32)
    image = model.placement.compute(recipe_input(256))
    features, _ = model.encoder(image, model.band_bytes)
    assert isinstance(features[0], ComputedRows) and features[0].shape == (1, config.channels(256), 256, 256)
    whole = model.encoder.layers[0].compute(image)
    torch.testing.assert_close(features[0].read(slice(100, 140)), whole[:, :, 100:140], rtol=0, atol=0)
    assert all(isinstance(feature, RowChunks) for feature in features[1:])


def test_decoder_levels_free_their_input_as_they_go(monkeypatch: pytest.MonkeyPatch) -> None:
    """With bands, every level has released each piece of its input map by the time it returns (the peak at 2048
    depends on it), and the image is still the golden one (see test_bands_give_the_same_image)."""
    config = CONFIGS[256]
    model = build_generator(config, recipe_state_dict(config), dtype=torch.float32)
    model.band_bytes = 2**16
    inputs: list[RowChunks] = []
    level_forward = DecoderLevel.forward

    def recording(self, x, *args, **kwargs):
        inputs.append(x)
        return level_forward(self, x, *args, **kwargs)

    monkeypatch.setattr(DecoderLevel, "forward", recording)
    model(recipe_input(256))
    assert len(inputs) == len(model.decoder.levels) and max(len(x.pieces) for x in inputs) > 2
    assert all(piece is None for x in inputs for piece in x.pieces)


@pytest.mark.skipif(not fused.cpu_fuses_post_ops(), reason="input-side modulation runs where oneDNN fuses (x86 CPUs)")
def test_small_maps_modulate_the_input_instead_of_the_weights() -> None:
    """Styled convs on maps smaller than their weights (GPEN-512: up to 64 x 64) keep fixed kernels, scale the input
    by the style and the output by the demodulation: the same function as the modulated kernels, in fp32."""
    config = CONFIGS[512]
    model = build_generator(config, recipe_state_dict(config), dtype=torch.float32)
    layers = [(model.decoder.conv1, 4)] + [
        (layer, 2 ** (index + 3) // (2 if layer is level.up else 1))
        for index, level in enumerate(model.decoder.levels) for layer in (level.up, level.conv)
    ]
    assert [resolution for layer, resolution in layers if layer.small_map] == [4, 4, 8, 8, 16, 16, 32, 32, 64]
    generator = torch.Generator().manual_seed(0)
    for layer, resolution in layers[:9]:
        channels = layer.conv.squares.shape[1]
        style = torch.randn(channels, generator=generator)
        x = torch.randn(1, channels, resolution, resolution, generator=generator).contiguous(memory_format=torch.channels_last)
        modulation = layer.modulation(style)
        assert modulation.input_scale is not None and modulation.kernels[0] is layer.conv.kernel0
        modulated = layer.convolve(x, Modulation(layer.conv(style), layer.bias))
        torch.testing.assert_close(layer.convolve(x, modulation), modulated, rtol=1e-4, atol=1e-4)


def test_noise_injection_is_used() -> None:
    """The recipe randomises the noise weights; zeroing them must change the image (wiring check)."""
    config = CONFIGS[256]
    state = recipe_state_dict(config)
    silenced = {key: torch.zeros_like(value) if key.endswith("noise.weight") else value for key, value in state.items()}
    image = recipe_input(256)
    difference = build_generator(config, state)(image) - build_generator(config, silenced)(image)
    assert difference.abs().max() > 0.05


@pytest.mark.parametrize("size", [256, 512, 1024, 2048])
def test_reads_exactly_the_manifest_keys(size: int, reference_dir: Path) -> None:
    """The network consumes every key of the released layout once: a missing or extra key is an error."""
    import json

    manifest = json.loads((reference_dir / f"gpen_bfr_{size}.manifest.json").read_text())
    config = CONFIGS[size]
    assert list(expected_state_dict(config)) == list(manifest["state_dict"])
    state = {key: torch.zeros(entry) if isinstance(entry, tuple) else torch.tensor(entry)
             for key, entry in expected_state_dict(config).items()}
    build_generator(config, state)
    with pytest.raises(KeyError, match="final_linear.0.bias"):
        build_generator(config, {key: value for key, value in state.items() if key != "final_linear.0.bias"})
    with pytest.raises(KeyError, match="not used"):
        build_generator(config, {**state, "generator.extra": torch.zeros(1)})


def test_module_contract(cpu_auto_dtype: torch.dtype) -> None:
    config = CONFIGS[256]
    model = build_generator(config, recipe_state_dict(config), device="cpu", dtype=None)
    assert (model.size, model.config, model.device) == (256, config, torch.device("cpu"))
    assert not model.training
    assert model.dtype == cpu_auto_dtype
    with pytest.raises(GPENError, match="unsupported compute dtype"):
        build_generator(config, recipe_state_dict(config), dtype=torch.float64)


@pytest.mark.parametrize(("device", "native_bf16", "dtype"), [
    ("cuda", False, torch.float16), ("cuda:1", True, torch.float16), ("mps", True, torch.float32),
    ("cpu", True, torch.bfloat16), ("cpu", False, torch.float32),
])
def test_auto_precision_per_device(device: str, native_bf16: bool, dtype: torch.dtype, monkeypatch) -> None:
    """fp16 on any CUDA device, bf16 only on a CPU that has it natively, fp32 elsewhere (no GPU needed: no tensor is made)."""
    monkeypatch.setattr(precision, "cpu_has_native_bf16", lambda: native_bf16)
    assert auto_dtype(torch.device(device)) == dtype


def test_cuda_matches_cpu(fp32_outputs: dict) -> None:
    if not torch.cuda.is_available():
        pytest.skip("no CUDA device")
    config = CONFIGS[256]
    for dtype in (torch.float32, torch.float16, torch.bfloat16):
        model = build_generator(config, recipe_state_dict(config), device="cuda", dtype=dtype)
        output = model(recipe_input(256).cuda()).cpu()
        assert psnr(output, fp32_output(256, fp32_outputs)) >= MIN_PSNR_DB, dtype


def test_recipe_weights_are_the_reference_readmes(reference_dir: Path) -> None:
    """The benchmarks' and tests' recipe weights are exactly what the reference data prescribes."""
    ours, reference = recipe_state_dict(CONFIGS[256]), manifest_state_dict(reference_dir, 256)
    assert list(ours) == list(reference)
    assert all(torch.equal(ours[key], reference[key]) for key in reference)


def test_upsampling_by_phases_computes_the_same_image(monkeypatch, reference_dir: Path) -> None:
    """The AVX2 layout of the upsampling convs (four phase convs) computes the original's image, like the
    one-call transposed conv (the golden tests): checked against the original, whatever this CPU's own layout."""
    monkeypatch.setattr(torch.backends.cpu, "get_cpu_capability", lambda: "AVX2")
    config = CONFIGS[256]
    model = build_generator(config, recipe_state_dict(config), dtype=torch.float32)
    assert model.decoder.levels[0].up.conv.count == 4
    assert_matches_golden(256, model(recipe_input(256)), reference_dir)


@pytest.mark.parametrize("capability, phases_dtypes, layout", [
    ("AVX512", resample.PHASES_DTYPES, "transposed"), ("AVX512", (torch.float32,), "phases"), ("AVX2", (), "phases"),
])
def test_every_upsampling_layout_computes_the_same_image(
    capability: str, phases_dtypes: tuple, layout: str, monkeypatch, reference_dir: Path,
) -> None:
    """AVX-512 CPUs run fp32 upsampling as one transposed conv and bf16 as four phase convs (forced here in fp32 to
    compare exactly), AVX2 CPUs always as phase convs: each against the original's golden output."""
    monkeypatch.setattr(torch.backends.cpu, "get_cpu_capability", lambda: capability)
    monkeypatch.setattr(resample, "PHASES_DTYPES", phases_dtypes)
    config = CONFIGS[512]
    model = build_generator(config, recipe_state_dict(config), dtype=torch.float32)
    assert {level.up.conv.layout for level in model.decoder.levels} == {layout}
    assert_matches_golden(512, model(recipe_input(512)), reference_dir)


def test_upsampling_layout_per_cpu_dtype_and_width(monkeypatch) -> None:
    """bf16 on AVX-512 splits into phases from 32 output channels (GPEN-2048's 16-channel top level keeps the
    transposed conv), fp32 keeps the transposed conv, AVX2 always splits, other devices never."""
    cpu, cuda = torch.device("cpu"), torch.device("cuda")
    monkeypatch.setattr(torch.backends.cpu, "get_cpu_capability", lambda: "AVX512")
    assert [resample.upsampling_layout(cpu, torch.bfloat16, width) for width in (16, 32, 512)] == [
        "transposed", "phases", "phases"]
    assert resample.upsampling_layout(cpu, torch.float32, 512) == "transposed"
    assert resample.upsampling_layout(cuda, torch.bfloat16, 512) == "transposed"
    model = build_generator(CONFIGS[512], recipe_state_dict(CONFIGS[512]), dtype=torch.bfloat16)
    assert {level.up.conv.layout for level in model.decoder.levels} == {"phases"}
    monkeypatch.setattr(torch.backends.cpu, "get_cpu_capability", lambda: "AVX2")
    assert resample.upsampling_layout(cpu, torch.float32, 16) == "phases"


def test_unfused_ops_compute_the_same_image(monkeypatch, reference_dir: Path) -> None:
    """Where oneDNN post-ops are not used (CUDA, MPS, ARM CPUs), plain conv, bias and leaky ReLU give the original's image."""
    monkeypatch.setattr(fused, "cpu_fuses_post_ops", lambda: False)
    config = CONFIGS[256]
    model = build_generator(config, recipe_state_dict(config), dtype=torch.float32)
    assert_matches_golden(256, model(recipe_input(256)), reference_dir)


@pytest.mark.skipif(platform.machine().lower() not in ("x86_64", "amd64"), reason="oneDNN post-ops are used on x86 only")
def test_x86_cpus_fuse_bias_and_activation_into_the_convs() -> None:
    """The fast path the speed figures rely on is the one taken on x86 (it is what the golden tests check there)."""
    assert fused.cpu_fuses_post_ops()
