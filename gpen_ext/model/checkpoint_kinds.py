"""Recognising the other models a WebUI user may drop into the GPEN folder by mistake.

Each kind is known by key names its architecture always has (taken from the original sources:
GFPGAN's gfpganv1(_clean)_arch.py, CodeFormer's codeformer_arch.py, basicsr's rrdbnet_arch.py, the
old ESRGAN ``model.N`` layout, RestoreFormer, GPEN's discriminator, facexlib, Stable Diffusion), so
the error can say what the file is and which WebUI folder it belongs in instead of "wrong keys".
"""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass


@dataclass(frozen=True)
class ModelKind:
    """A model family, the key fragments that identify it (all must occur), and what the user should do with it."""

    name: str
    markers: tuple[str, ...]
    advice: str


# Order matters where families share keys: CodeFormer and RestoreFormer both have a VQ codebook,
# and an SD VAE has RestoreFormer's encoder/decoder names without the codebook.
KNOWN_KINDS = (
    ModelKind(
        "GPEN discriminator (a GPEN-BFR-*-D file, used only for training)",
        ("convs.0.0.weight", "final_conv.0.weight"),
        "GPEN needs the generator file of the same name without '-D', e.g. GPEN-BFR-512.pth.",
    ),
    ModelKind("GFPGAN", ("conv_body_first", "stylegan_decoder."), "It belongs in the WebUI's models/GFPGAN folder."),
    ModelKind(
        "CodeFormer",
        ("position_emb", "ft_layers.", "quantize.embedding.weight"),
        "It belongs in the WebUI's models/Codeformer folder.",
    ),
    ModelKind(
        "RestoreFormer",
        ("encoder.conv_in.weight", "quantize.embedding.weight", "decoder.conv_out.weight"),
        "The WebUI has no RestoreFormer face restorer; it is used by GFPGAN's own inference script.",
    ),
    ModelKind(
        "Real-ESRGAN / ESRGAN upscaler (RRDBNet)",
        ("conv_first.weight", "body.0.rdb1.conv1.weight"),
        "It belongs in the WebUI's models/ESRGAN folder (or models/RealESRGAN).",
    ),
    ModelKind(
        "ESRGAN upscaler (old layout)",
        ("model.0.weight", "model.1.sub.0.RDB1."),
        "It belongs in the WebUI's models/ESRGAN folder.",
    ),
    ModelKind(
        "Stable Diffusion checkpoint",
        ("model.diffusion_model.",),
        "It belongs in the WebUI's models/Stable-diffusion folder.",
    ),
    ModelKind(
        "Stable Diffusion VAE",
        ("encoder.conv_in.weight", "decoder.conv_out.weight", "quant_conv.weight"),
        "It belongs in the WebUI's models/VAE folder.",
    ),
    ModelKind("LoRA", ("lora_",), "It belongs in the WebUI's models/Lora folder."),
    ModelKind(
        "RetinaFace face detector (facexlib)",
        ("ClassHead.0.", "LandmarkHead.0."),
        "It is a face detector for models/GFPGAN (the detection weights GPEN uses), not a face restorer.",
    ),
    ModelKind(
        "ParseNet face parser (facexlib)",
        ("encoder.0.conv2d.weight", "out_mask_conv."),
        "It is a face parser for models/GFPGAN (the parsing weights GPEN uses), not a face restorer.",
    ),
)


def identify_model(keys: Iterable[str]) -> ModelKind | None:
    """The known family whose every marker starts some key (possibly under a wrapper prefix), if any."""
    keys = list(keys)
    for kind in KNOWN_KINDS:
        if all(_has_key_part(keys, marker) for marker in kind.markers):
            return kind
    return None


def _has_key_part(keys: list[str], marker: str) -> bool:
    """True if a key starts with ``marker`` at a dotted-name boundary (``params_ema.`` or ``module.`` may precede)."""
    return any(key.startswith(marker) or f".{marker}" in key for key in keys)
