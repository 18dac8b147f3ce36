"""The blend masks that decide how much of each restored face replaces the original.

Masks live in a fixed 512x512 frame over the aligned crop (whatever the model size), because
their shapes are defined relative to the face, as in GPEN, which builds them at 512.

* ``parsing``: GPEN's own mask. ParseNet labels the *restored* face; skin, features, hair and
  neck are kept, background, hat and clothes are not; a border is cleared and the result blurred
  (``face_enhancement.py``). It is multiplied by the feather mask, so it always fades to zero
  well inside the crop: the crop's square edge, GPEN's visible rectangle (GPEN#108, #126), can
  never show.
* ``feather``: used when the parser's weights are absent. A disc that covers the whole face
  and falls smoothly (smoothstep) to exactly zero before the crop edge, so the paste has no
  step anywhere, also for tiny faces whose crop covers only ~70 image pixels.
"""
from __future__ import annotations

import os
from functools import lru_cache

import cv2
import numpy as np
import torch
import torch.nn.functional as F

from ..errors import DetectorError, GPENError
from . import facexlib_models

MASK_SIZE = 512
MASK_MODES = ("auto", "parsing", "feather")
# Radii of the feather disc, as fractions of half the crop: full weight inside, zero outside.
FEATHER_INNER = 0.62
FEATHER_OUTER = 0.96
# GPEN's face_parsing.py MASK_COLORMAP: 0 background, 14 hat and 18 cloth are left out.
PARSING_CLASSES = 19
PARSING_KEEP = np.ones(PARSING_CLASSES, dtype=np.float32)
PARSING_KEEP[[0, 14, 18]] = 0
# GPEN's mask_postprocess at 512: clear a 26 px border, then blur twice (101x101, sigma 4).
PARSING_BORDER = 26
PARSING_BLUR = ((101, 101), 4.0)


@lru_cache(maxsize=1)
def feather_mask() -> np.ndarray:
    """The MASK_SIZE x MASK_SIZE feather disc, float32 in [0, 1] (read-only)."""
    centre = (MASK_SIZE - 1) / 2
    axis = (np.arange(MASK_SIZE, dtype=np.float32) - centre) / (MASK_SIZE / 2)
    radius = np.hypot(axis[np.newaxis, :], axis[:, np.newaxis])
    t = np.clip((FEATHER_OUTER - radius) / (FEATHER_OUTER - FEATHER_INNER), 0.0, 1.0)
    mask = t * t * (3 - 2 * t)
    mask.flags.writeable = False
    return mask


def parsing_mask(labels: np.ndarray) -> np.ndarray:
    """GPEN's blend mask from ParseNet labels (MASK_SIZE x MASK_SIZE ints), limited to the feather disc."""
    mask = PARSING_KEEP[labels]
    border = PARSING_BORDER
    mask[:border], mask[-border:], mask[:, :border], mask[:, -border:] = 0, 0, 0, 0
    for _ in range(2):
        mask = cv2.GaussianBlur(mask, *PARSING_BLUR)
    return mask * feather_mask()


class FaceParser:
    """facexlib's ParseNet on restored faces: per-pixel face-part labels at 512x512."""

    def __init__(self, network: torch.nn.Module):
        self.network = network
        self.device = next(network.parameters()).device

    def labels(self, faces: torch.Tensor) -> np.ndarray:
        """(N, 3, S, S) RGB in [-1, 1] (the model's output) to (N, 512, 512) class labels."""
        faces = faces.to(self.device, torch.float32)
        if faces.shape[-1] != MASK_SIZE:
            mode = "area" if faces.shape[-1] > MASK_SIZE else "bilinear"
            faces = F.interpolate(faces, size=(MASK_SIZE, MASK_SIZE), mode=mode)
        with torch.inference_mode():
            logits = self.network(faces)[0]
        return logits.argmax(dim=1).cpu().numpy()

    def masks(self, faces: torch.Tensor) -> list[np.ndarray]:
        """One GPEN parsing mask per face."""
        return [parsing_mask(labels) for labels in self.labels(faces)]


def get_parser(
    mask: str, weights_dir: str | os.PathLike | None, device: torch.device, allow_download: bool
) -> FaceParser | None:
    """The parser that ``mask`` asks for: None for ``feather``, or for ``auto`` when its weights are not on disk."""
    if mask not in MASK_MODES:
        raise GPENError(f"unknown mask {mask!r}: choose one of {', '.join(MASK_MODES)}")
    if mask == "feather":
        return None
    try:
        path = facexlib_models.resolve_weights(
            facexlib_models.PARSENET_WEIGHTS, weights_dir, allow_download and mask == "parsing"
        )
    except DetectorError:
        if mask == "auto":
            return None
        raise
    return FaceParser(facexlib_models.load_parsenet(path, device))


def face_masks(parser: FaceParser | None, restored: torch.Tensor) -> list[np.ndarray]:
    """The blend mask of each restored face: parsed when a parser is given, else the feather disc."""
    if parser is None:
        return [feather_mask()] * restored.shape[0]
    return parser.masks(restored)
