"""Reading GPEN checkpoints in every format and wrapper, inferring their config, and refusing everything else.

Files are real: written with torch.save / safetensors from the recipe GPEN-BFR-256 weights, or
assembled from the key names of the other models' original sources.
"""
from __future__ import annotations

import json
import pickle
import shutil
import warnings
from collections.abc import Callable
from pathlib import Path

import pytest
import safetensors.torch
import torch

from gpen_ext.bench.recipe import recipe_state_dict
from gpen_ext.errors import CheckpointError
from gpen_ext.model.arch.config import GPENConfig
from gpen_ext.model.checkpoint import find_checkpoints, infer_config, read_state_dict
from reference import manifest, manifest_state_dict

CONFIG_256 = GPENConfig(256, channel_multiplier=1, narrow=0.5)
EXPECTED_PHRASE = "Expected a GPEN-BFR-256/512/1024/2048 state dict"

StateDict = dict[str, torch.Tensor]


@pytest.fixture(scope="module")
def weights(reference_dir: Path) -> StateDict:
    """The reference weights of GPEN-BFR-256, built from its manifest (not from this package's layout)."""
    return manifest_state_dict(reference_dir, 256)


@pytest.fixture(scope="module")
def plain_file(weights: StateDict, tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("plain") / "GPEN-BFR-256.pth"
    torch.save(weights, path)
    return path


def prefixed(state: StateDict, prefix: str) -> StateDict:
    return {prefix + key: value for key, value in state.items()}


def save_zip(obj: object, path: Path) -> None:
    torch.save(obj, path)


def save_legacy(obj: object, path: Path) -> None:
    torch.save(obj, path, _use_new_zipfile_serialization=False)


def save_safetensors(obj: StateDict, path: Path) -> None:
    safetensors.torch.save_file(obj, path)


def half(state: StateDict) -> StateDict:
    return {key: value.half() for key, value in state.items()}


def training_checkpoint(state: StateDict) -> dict:
    """The layout of GPEN's train_simple.py: generator, discriminator, EMA generator and optimizers."""
    trained = {key: value + 1 for key, value in state.items()}  # g differs from g_ema: the EMA must win
    optimizer = {"state": {}, "param_groups": [{"lr": 0.002, "params": [0, 1]}]}
    return {"g": trained, "d": {"final_linear.0.weight": torch.ones(1, 512)}, "g_ema": state,
            "g_optim": optimizer, "d_optim": optimizer}


def modelscope_module_state(state: StateDict) -> StateDict:
    """ModelScope's ImagePortraitEnhancement module: generator, g_ema and discriminator in one flat dict."""
    trained = {key: value + 1 for key, value in state.items()}
    discriminator = {"convs.0.0.weight": torch.ones(32, 3, 1, 1), "final_linear.0.weight": torch.ones(512, 8192)}
    return {**prefixed(trained, "generator."), **prefixed(state, "g_ema."), **prefixed(discriminator, "discriminator.")}


# (file name, writer, how the state dict is wrapped, whether stored in fp16)
LAYOUTS: dict[str, tuple[str, Callable, Callable[[StateDict], object], bool]] = {
    "official zip .pth": ("GPEN-BFR-256.pth", save_zip, dict, False),
    "modelscope .pt": ("pytorch_model.pt", save_zip, dict, False),
    "legacy serialisation": ("old.pth", save_legacy, dict, False),
    "safetensors": ("GPEN-BFR-256.safetensors", save_safetensors, dict, False),
    "fp16 copy": ("GPEN-BFR-256-fp16.pth", save_zip, half, True),
    "fp16 safetensors": ("GPEN-BFR-256-fp16.safetensors", save_safetensors, half, True),
    "training g_ema": ("000100.pth", save_zip, training_checkpoint, False),
    "params_ema + params": ("net_g.pth", save_zip, lambda s: {"params_ema": s, "params": half(s)}, False),
    "state_dict wrapper": ("wrapped.pt", save_legacy, lambda s: {"state_dict": s, "epoch": 3}, False),
    "DataParallel module.": ("dp.pth", save_zip, lambda s: prefixed(s, "module."), False),
    "modelscope module state": ("full.pt", save_zip, modelscope_module_state, False),
    "nested wrappers": ("deep.pth", save_zip, lambda s: {"model": {"state_dict": prefixed(s, "module.")}}, False),
}


@pytest.mark.parametrize("layout", LAYOUTS)
def test_every_format_and_wrapper_reads_the_original_weights(layout: str, weights: StateDict, tmp_path: Path) -> None:
    name, save, wrap, stored_fp16 = LAYOUTS[layout]
    path = tmp_path / name
    save(wrap(weights), path)

    state = read_state_dict(path)

    assert state.keys() == weights.keys()
    for key, original in weights.items():
        assert state[key].dtype == torch.float32, key
        expected = original.half().float() if stored_fp16 else original
        assert torch.equal(state[key], expected), key
    assert infer_config(state, path) == CONFIG_256


def test_config_comes_from_the_weights_not_the_file_name(weights: StateDict, tmp_path: Path) -> None:
    path = tmp_path / "GPEN-BFR-2048.pth"
    torch.save(weights, path)
    assert infer_config(read_state_dict(path)) == CONFIG_256


def manifest_layout(manifest: dict) -> StateDict:
    """Tensors of every released shape without the memory: zero-stride views of one zero, real blur kernels."""
    zero = torch.zeros(())
    return {
        key: torch.tensor(entry["value"]) if "value" in entry else zero.expand(entry["shape"])
        for key, entry in manifest["state_dict"].items()
    }


@pytest.mark.parametrize("size", [256, 512, 1024, 2048])
def test_config_of_each_released_layout(size: int, reference_dir: Path) -> None:
    manifest = json.loads((reference_dir / f"gpen_bfr_{size}.manifest.json").read_text())
    config = infer_config(manifest_layout(manifest))
    assert (config.size, config.channel_multiplier, config.narrow) == (
        manifest["size"], manifest["channel_multiplier"], manifest["narrow"])
    assert (config.style_dim, config.n_mlp) == (manifest["style_dim"], manifest["n_mlp"])


def test_a_nonstandard_but_consistent_config_is_inferred() -> None:
    config = GPENConfig(64, channel_multiplier=1, narrow=0.125, style_dim=64, n_mlp=4)
    assert infer_config(recipe_state_dict(config)) == config


def test_find_checkpoints_lists_model_files_sorted(tmp_path: Path) -> None:
    for name in ["b.safetensors", "A.pth", "c.PT", "notes.txt", "model.onnx", "sd.ckpt"]:
        (tmp_path / name).write_bytes(b"x")
    (tmp_path / "sub.pth").mkdir()
    assert [path.name for path in find_checkpoints(tmp_path)] == ["A.pth", "b.safetensors", "c.PT", "model.onnx"]
    assert find_checkpoints(tmp_path / "missing") == []


# ---- files that are not GPEN checkpoints: one CheckpointError each, saying what the file is ----

def assert_refused(path: Path, *phrases: str) -> str:
    with pytest.raises(CheckpointError) as caught:
        read_state_dict(path)
    message = str(caught.value)
    assert str(path) in message and EXPECTED_PHRASE in message
    for phrase in phrases:
        assert phrase in message, message
    return message


def test_missing_file(tmp_path: Path) -> None:
    assert_refused(tmp_path / "GPEN-BFR-2048.pth", "no such file", "GPEN models folder")


def test_directory(tmp_path: Path) -> None:
    folder = tmp_path / "GPEN-BFR-2048.pth"
    folder.mkdir()
    assert_refused(folder, "is a folder")


def test_empty_file(tmp_path: Path) -> None:
    path = tmp_path / "GPEN-BFR-2048.pth"
    path.touch()
    assert_refused(path, "empty (0 bytes)", "Download the model again")


@pytest.mark.parametrize("save", [save_zip, save_legacy, save_safetensors], ids=["zip", "legacy", "safetensors"])
def test_truncated_file(save: Callable, weights: StateDict, tmp_path: Path) -> None:
    whole = tmp_path / "whole.pth"
    save(weights, whole)
    truncated = tmp_path / "GPEN-BFR-256.pth"
    truncated.write_bytes(whole.read_bytes()[: whole.stat().st_size // 2])
    assert_refused(truncated, "damaged or incomplete", "Download the model again")


def test_jpeg_renamed_pth(test_images_dir: Path, tmp_path: Path) -> None:
    path = tmp_path / "GPEN-BFR-512.pth"
    shutil.copy(test_images_dir / "portrait_small.jpg", path)
    assert_refused(path, "a JPEG image", "not a PyTorch or safetensors file")


@pytest.mark.parametrize(
    ("content", "phrase"),
    [
        ("GPEN-BFR-2048 weights: see the README\n", "a text file"),
        ("<!DOCTYPE html><html><body>403 Forbidden</body></html>", "an HTML page"),
        ("version https://git-lfs.github.com/spec/v1\noid sha256:0\nsize 285\n", "a Git LFS pointer"),
    ],
    ids=["text", "html", "git-lfs"],
)
def test_text_instead_of_a_model(content: str, phrase: str, tmp_path: Path) -> None:
    path = tmp_path / "GPEN-BFR-2048.pth"
    path.write_text(content)
    assert_refused(path, phrase)


@pytest.mark.parametrize(
    ("content", "phrase"),
    [
        ([torch.ones(3)], "holds a list"),
        (torch.ones(3), "a single tensor"),
        ({"epoch": 3, "name": "gpen"}, "a dict without tensors (keys: epoch, name)"),
    ],
    ids=["list", "tensor", "dict-without-tensors"],
)
def test_not_a_state_dict(content: object, phrase: str, tmp_path: Path) -> None:
    path = tmp_path / "GPEN-BFR-2048.pth"
    torch.save(content, path)
    assert_refused(path, phrase)


class CreatesMarker:
    """A pickle payload: unpickling it would call Path.touch on the marker file."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return (Path.touch, (self.marker,))


@pytest.mark.parametrize("dump", ["torch.save", "pickle.dump"])
def test_pickle_payload_never_runs(dump: str, tmp_path: Path) -> None:
    marker = tmp_path / "payload-ran"
    path = tmp_path / "GPEN-BFR-2048.pth"
    payload = {"generator.input.input": torch.ones(1), "hook": CreatesMarker(marker)}
    if dump == "torch.save":
        torch.save(payload, path)
    else:
        path.write_bytes(pickle.dumps(payload, protocol=4))
    assert_refused(path, "was refused", "without running any code")
    assert not marker.exists()


def test_torchscript_archive(tmp_path: Path) -> None:
    path = tmp_path / "GPEN-BFR-512.pt"
    with warnings.catch_warnings():  # newer torch versions warn that TorchScript is deprecated, older ones do not
        warnings.simplefilter("ignore", FutureWarning)
        torch.jit.save(torch.jit.script(torch.nn.Linear(2, 2)), path)
    assert_refused(path, "TorchScript archive")


def zeros(*keys: str) -> StateDict:
    return {key: torch.zeros(2) for key in keys}


FOREIGN_MODELS = {
    "GFPGAN v1.4 (clean arch)": (
        {"params_ema": zeros("conv_body_first.weight", "conv_body_down.0.conv1.weight", "final_conv.weight",
                             "final_linear.weight", "stylegan_decoder.style_mlp.1.weight",
                             "stylegan_decoder.constant_input.weight", "toRGB.0.weight", "condition_scale.0.0.weight")},
        ("a GFPGAN model", "models/GFPGAN"),
    ),
    "GFPGAN v1 (original arch)": (
        zeros("conv_body_first.0.weight", "conv_body_down.0.conv1.0.weight", "stylegan_decoder.style_conv1.bias"),
        ("a GFPGAN model", "models/GFPGAN"),
    ),
    "CodeFormer": (
        {"params_ema": zeros("encoder.blocks.0.weight", "quantize.embedding.weight", "generator.blocks.0.weight",
                             "position_emb", "feat_emb.weight", "ft_layers.0.self_attn.in_proj_weight",
                             "idx_pred_layer.0.weight", "fuse_convs_dict.32.scale.0.weight")},
        ("a CodeFormer model", "models/Codeformer"),
    ),
    "RestoreFormer": (
        {"params_ema": zeros("encoder.conv_in.weight", "encoder.down.0.block.0.norm1.weight",
                             "quantize.embedding.weight", "quant_conv.weight", "post_quant_conv.weight",
                             "decoder.conv_in.weight", "decoder.mid.attn_1.q.weight", "decoder.conv_out.weight")},
        ("a RestoreFormer model", "no RestoreFormer face restorer"),
    ),
    "Real-ESRGAN x4plus (RRDBNet)": (
        {"params_ema": zeros("conv_first.weight", "body.0.rdb1.conv1.weight", "body.0.rdb3.conv5.bias",
                             "conv_body.weight", "conv_up1.weight", "conv_up2.weight", "conv_hr.weight",
                             "conv_last.weight")},
        ("Real-ESRGAN / ESRGAN upscaler", "models/ESRGAN"),
    ),
    "ESRGAN (old layout)": (
        zeros("model.0.weight", "model.1.sub.0.RDB1.conv1.0.weight", "model.1.sub.23.weight", "model.3.weight",
              "model.6.weight", "model.8.weight", "model.10.weight"),
        ("ESRGAN upscaler (old layout)", "models/ESRGAN"),
    ),
    "Stable Diffusion": (
        {"state_dict": zeros("model.diffusion_model.input_blocks.0.0.weight",
                             "first_stage_model.encoder.conv_in.weight", "first_stage_model.decoder.conv_out.weight",
                             "first_stage_model.quant_conv.weight",
                             "cond_stage_model.transformer.text_model.embeddings.token_embedding.weight")},
        ("a Stable Diffusion checkpoint", "models/Stable-diffusion"),
    ),
    "SD VAE": (
        zeros("encoder.conv_in.weight", "encoder.mid.attn_1.q.weight", "quant_conv.weight", "post_quant_conv.weight",
              "decoder.conv_out.weight"),
        ("a Stable Diffusion VAE", "models/VAE"),
    ),
    "LoRA": (
        zeros("lora_unet_down_blocks_0_attentions_0_proj_in.lora_down.weight",
              "lora_te_text_model_encoder_layers_0_mlp_fc1.alpha"),
        ("a LoRA model", "models/Lora"),
    ),
    "GPEN discriminator (GPEN-BFR-512-D.pth)": (
        zeros("convs.0.0.weight", "convs.0.1.bias", "convs.1.conv1.0.weight", "convs.1.skip.1.weight",
              "final_conv.0.weight", "final_conv.1.bias", "final_linear.0.weight", "final_linear.1.weight"),
        ("a GPEN discriminator", "GPEN-BFR-512.pth"),
    ),
}


@pytest.mark.parametrize("name", FOREIGN_MODELS)
def test_other_models_are_named_with_their_webui_folder(name: str, tmp_path: Path) -> None:
    content, phrases = FOREIGN_MODELS[name]
    path = tmp_path / "model.pth"
    torch.save(content, path)
    message = assert_refused(path, *phrases)
    assert "not GPEN" in message


def test_facexlib_weights_are_recognised(tmp_path: Path) -> None:
    """The detector and parser weights that live beside GPEN's in models/GFPGAN, from facexlib's own classes."""
    from facexlib.detection.retinaface import RetinaFace
    from facexlib.parsing.parsenet import ParseNet

    detector = RetinaFace(network_name="mobile0.25", half=False, phase="test", device="cpu")
    for model, phrase in [(detector, "RetinaFace face detector"), (ParseNet(512, 512, 32, 64, 19), "ParseNet")]:
        path = tmp_path / f"{phrase}.pth"
        torch.save(model.state_dict(), path)
        assert_refused(path, phrase, "not a face restorer")


def test_unknown_state_dict(tmp_path: Path) -> None:
    path = tmp_path / "model.pth"
    torch.save(torch.nn.Sequential(torch.nn.Conv2d(3, 8, 3), torch.nn.Conv2d(8, 3, 3)).state_dict(), path)
    assert_refused(path, "a state dict of 4 tensors that are not GPEN's (keys: 0.weight, 0.bias, 1.weight")


# ---- GPEN state dicts that do not match the layout ----

def assert_layout_refused(state: StateDict, tmp_path: Path, *phrases: str) -> None:
    path = tmp_path / "GPEN-BFR-256.pth"
    torch.save(state, path)
    with pytest.raises(CheckpointError) as caught:
        infer_config(read_state_dict(path), path)
    message = str(caught.value)
    assert str(path) in message and EXPECTED_PHRASE in message and "does not match the original layout" in message
    for phrase in phrases:
        assert phrase in message, message


def test_missing_keys(weights: StateDict, tmp_path: Path) -> None:
    state = {key: value for key, value in weights.items() if not key.startswith("ecd3.")}
    assert_layout_refused(state, tmp_path, "GPEN-BFR-256", "3 missing key(s) (ecd3.0.0.kernel, ecd3.0.1.weight")


def test_missing_key_needed_for_inference(weights: StateDict, tmp_path: Path) -> None:
    state = {key: value for key, value in weights.items() if key != "generator.input.input"}
    assert_layout_refused(state, tmp_path, "1 missing key(s) (generator.input.input)")


def test_inference_tensor_with_wrong_dimensions(weights: StateDict, tmp_path: Path) -> None:
    state = {**weights, "generator.input.input": torch.ones(256)}
    assert_layout_refused(state, tmp_path, "1 wrong tensor(s) (generator.input.input (256,) is not 4-D)")


def test_extra_keys(weights: StateDict, tmp_path: Path) -> None:
    state = {**weights, "ecd9.0.1.weight": torch.ones(1), "generator.noises.noise_0": torch.ones(1)}
    assert_layout_refused(state, tmp_path, "2 unexpected key(s) (ecd9.0.1.weight, generator.noises.noise_0)")


def test_wrong_shape(weights: StateDict, tmp_path: Path, reference_dir: Path) -> None:
    state = {**weights, "ecd1.0.2.bias": torch.zeros(65)}
    expected = tuple(manifest(reference_dir, 256)["state_dict"]["ecd1.0.2.bias"]["shape"])
    assert_layout_refused(state, tmp_path, f"ecd1.0.2.bias (65,) instead of {expected}")


def test_wrong_blur_kernel(weights: StateDict, tmp_path: Path) -> None:
    state = {**weights, "ecd1.0.0.kernel": torch.full((4, 4), 1 / 16)}
    assert_layout_refused(state, tmp_path, "ecd1.0.0.kernel is not the [1, 3, 3, 1] blur kernel")


def test_encoder_of_another_size(weights: StateDict, tmp_path: Path) -> None:
    """GPEN's FullGenerator_SR (encoder smaller than decoder) is not a BFR layout."""
    state = {key: value for key, value in weights.items() if not key.startswith("ecd")}
    state.update({key: value for key, value in recipe_state_dict(GPENConfig(128, 1, 0.5)).items()
                  if key.startswith("ecd")})
    assert_layout_refused(state, tmp_path, "GPEN-BFR-256", "wrong tensor(s)")
