"""The blend masks that decide how much of each restored face replaces the original.

Masks live in a fixed 512x512 frame over the aligned crop (whatever the model size), because
their shapes are defined relative to the face, as in GPEN, which builds them at 512.

* ``parsing``: GPEN's own mask. ParseNet labels the *restored* face; skin, features, hair and
  neck are kept, background, hat and clothes are not; a border is cleared and the result blurred
  (``face_enhancement.py``). It is multiplied by a disc inside the crop, so it always fades to zero
  well inside the crop: the crop's square edge, GPEN's visible rectangle (GPEN#108, #126), can
  never show.
* ``parsing-bisenet``: the same mask from facexlib's BiSeNet (``parsing_bisenet.pth``, what
  facexlib's ``init_parsing_model`` fetches by default) instead of ParseNet: a ResNet-18 network,
  about a tenth of ParseNet's cost, trained on the same 19 CelebAMask-HQ classes in another order
  and on ImageNet-normalised input; the same kept regions (``BISENET_KEEP``). Its borders are
  coarser (it predicts at 1/8 of the crop and upsamples), which the mask's blur mostly hides.
* ``feather``: the fallback when no parser can be had. A conservative face region drawn from
  the face's five landmarks in the aligned crop: an ellipse from above the brows to the chin and
  from cheek to cheek, at full weight inside and falling smoothly (smoothstep) to exactly zero on
  its outline, so nothing beyond the face (background, hair, ears, neck) is ever pasted, and the
  paste has no step anywhere. Hair, ears and the forehead's top are left as they were.

``auto`` is ``parsing`` when ParseNet's weights are on disk, else ``parsing-bisenet`` when only
BiSeNet's are, else ``parsing`` if ParseNet's can be downloaded (once, to the same folder as the
detector's), else ``feather``; that fallback is logged once per process and
``MASK_FALLBACK`` lets the WebUI show it once.
"""
from __future__ import annotations

import logging
import os
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import cv2
import numpy as np
import torch
import torch.nn.functional as F

from ..errors import DetectorError, GPENError
from . import facexlib_models
from .images import map_images

logger = logging.getLogger("gpen")

MASK_SIZE = 512
MASK_MODES = ("auto", "parsing", "parsing-bisenet", "feather")
# Radii of the disc that bounds the parsing mask, as fractions of half the crop: full weight inside, zero outside.
DISC_INNER = 0.62
DISC_OUTER = 0.96
# The landmark face region (``feather``), in units of the face's own geometry: ``across`` is the eye
# distance, ``down`` the distance from the eyes' midpoint to the mouth's. The outline reaches
# FACE_HALF_WIDTH x across to each side of the eyes-mouth axis (cheek to cheek), FACE_TOP x down above
# the eyes (above the brows) and FACE_BOTTOM x down below the mouth (the chin); weight is full inside
# FACE_FULL of that outline.
FACE_HALF_WIDTH = 1.0
FACE_TOP = 0.65
FACE_BOTTOM = 0.75
FACE_FULL = 0.65
# The fall-off is at least this many image pixels wide (inward), so a small face's paste has no visible step.
MIN_FEATHER_PX = 10.0
# GPEN's face_parsing.py MASK_COLORMAP: 0 background, 14 hat and 18 cloth are left out.
PARSING_CLASSES = 19
PARSING_KEEP = np.ones(PARSING_CLASSES, dtype=np.float32)
PARSING_KEEP[[0, 14, 18]] = 0
# BiSeNet's classes (facexlib, face-parsing.PyTorch's CelebAMask-HQ order): 0 background, 1 skin, 2-3 brows, 4-5 eyes,
# 6 glasses, 7-8 ears, 9 earring, 10 nose, 11 mouth, 12-13 lips, 14 neck, 15 necklace, 16 cloth, 17 hair, 18 hat:
# GPEN's kept regions are everything but 0 background, 16 cloth and 18 hat.
BISENET_KEEP = np.ones(PARSING_CLASSES, dtype=np.float32)
BISENET_KEEP[[0, 16, 18]] = 0
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)
# GPEN's mask_postprocess at 512: clear a 26 px border, then blur twice (101x101, sigma 4).
PARSING_BORDER = 26
PARSING_BLUR = ((101, 101), 4.0)


def smoothstep(t: np.ndarray) -> np.ndarray:
    """0 below 0, 1 above 1, and a curve with zero slope at both ends between (no visible edge)."""
    t = np.clip(t, 0.0, 1.0)
    return t * t * (3 - 2 * t)


@lru_cache(maxsize=1)
def crop_disc() -> np.ndarray:
    """The MASK_SIZE x MASK_SIZE disc that bounds every parsing mask, float32 in [0, 1] (read-only)."""
    centre = (MASK_SIZE - 1) / 2
    axis = (np.arange(MASK_SIZE, dtype=np.float32) - centre) / (MASK_SIZE / 2)
    radius = np.hypot(axis[np.newaxis, :], axis[:, np.newaxis])
    mask = smoothstep((DISC_OUTER - radius) / (DISC_OUTER - DISC_INNER))
    mask.flags.writeable = False
    return mask


def landmark_mask(points: np.ndarray, min_feather: float = 0.0) -> np.ndarray:
    """The conservative face region of five landmarks given in the MASK_SIZE frame, float32 in [0, 1].

    An ellipse in the face's own frame (its axis through the eyes' and the mouth's midpoints, so
    a tilted or turned face gets a tilted region), full weight inside, zero on and beyond the
    outline; the fall-off is at least ``min_feather`` mask pixels wide across the face.
    """
    eyes, mouth = (points[0] + points[1]) / 2, (points[3] + points[4]) / 2
    down = mouth - eyes
    length = float(np.hypot(*down))
    unit_down = down / length
    unit_across = np.array([-unit_down[1], unit_down[0]])
    half_width = FACE_HALF_WIDTH * float(np.hypot(*(points[1] - points[0])))
    top, bottom = -FACE_TOP * length, length * (1 + FACE_BOTTOM)
    centre = eyes + unit_down * (top + bottom) / 2
    x = (np.arange(MASK_SIZE, dtype=np.float32) - np.float32(centre[0]))[np.newaxis, :]
    y = (np.arange(MASK_SIZE, dtype=np.float32) - np.float32(centre[1]))[:, np.newaxis]
    across, along = unit_across / half_width, unit_down / ((bottom - top) / 2)
    u = x * np.float32(across[0]) + y * np.float32(across[1])
    v = x * np.float32(along[0]) + y * np.float32(along[1])
    radius = np.sqrt(u * u + v * v)
    full = min(FACE_FULL, max(0.0, 1.0 - min_feather / half_width))
    return smoothstep((1.0 - radius) / (1.0 - full)).astype(np.float32)


def parsing_mask(labels: np.ndarray, keep: np.ndarray = PARSING_KEEP) -> np.ndarray:
    """GPEN's blend mask from a parser's labels (MASK_SIZE x MASK_SIZE ints; ``keep`` per class), limited to the crop disc."""
    mask = keep[labels]
    border = PARSING_BORDER
    mask[:border], mask[-border:], mask[:, :border], mask[:, -border:] = 0, 0, 0, 0
    for _ in range(2):
        mask = cv2.GaussianBlur(mask, *PARSING_BLUR)
    return mask * crop_disc()


def at_mask_size(faces: torch.Tensor) -> torch.Tensor:
    """(N, C, S, S) float32 faces resampled to MASK_SIZE: area-averaged down, bilinear up.

    A CPU tensor is shrunk by OpenCV's area resize in the layout it has, face by face where the
    memory is NHWC (GPEN's own output), else plane by plane (``images.map_images``): for a 2048 face
    2 ms against 8 ms for torch's ``area`` interpolation, which casting to bf16 or channels-last
    does not speed up; the same averages up to float32 rounding.
    """
    size = faces.shape[-1]
    if size > MASK_SIZE and faces.device.type == "cpu":
        def shrink(image: np.ndarray, result: np.ndarray) -> None:
            cv2.resize(image, (MASK_SIZE, MASK_SIZE), dst=result, interpolation=cv2.INTER_AREA)

        return torch.from_numpy(map_images(faces, shrink, MASK_SIZE, np.float32)).permute(0, 3, 1, 2)
    if size != MASK_SIZE:
        mode = "area" if size > MASK_SIZE else "bilinear"
        return F.interpolate(faces, size=(MASK_SIZE, MASK_SIZE), mode=mode)
    return faces


@dataclass(frozen=True)
class ParserKind:
    """One of facexlib's face parsers: its mask name, weights, loader, input scaling and kept classes.

    ``scale`` and ``offset`` take the model's [-1, 1] RGB to the input the parser was trained on.
    """

    mask: str
    weights: facexlib_models.WeightsFile
    load: Callable[[Path, torch.device, torch.dtype], torch.nn.Module]
    keep: np.ndarray
    scale: tuple[float, float, float] = (1.0, 1.0, 1.0)
    offset: tuple[float, float, float] = (0.0, 0.0, 0.0)


PARSENET = ParserKind("parsing", facexlib_models.PARSENET_WEIGHTS, facexlib_models.load_parsenet, PARSING_KEEP)
BISENET = ParserKind(
    "parsing-bisenet", facexlib_models.BISENET_WEIGHTS, facexlib_models.load_bisenet, BISENET_KEEP,
    # ((x + 1) / 2 - mean) / std
    scale=tuple(0.5 / std for std in IMAGENET_STD),
    offset=tuple((0.5 - mean) / std for mean, std in zip(IMAGENET_MEAN, IMAGENET_STD)),
)
PARSERS = {kind.mask: kind for kind in (PARSENET, BISENET)}


class FaceParser:
    """A facexlib face parser on restored faces: per-pixel face-part labels at 512x512, and GPEN's mask from them.

    It computes in its network's dtype (``get_parser`` chooses it): the faces are resized to
    MASK_SIZE and scaled to the parser's input in float32 and only then cast, so the cast touches
    a 512 image, not a 2048 one.
    """

    def __init__(self, network: torch.nn.Module, kind: ParserKind = PARSENET):
        self.network, self.kind = network, kind
        parameter = next(network.parameters())
        self.device, self.dtype = parameter.device, parameter.dtype

    def logits(self, faces: torch.Tensor) -> torch.Tensor:
        """(N, 3, S, S) RGB in [-1, 1] (the model's output) to (N, 19, 512, 512) class scores in the parser's dtype."""
        faces = at_mask_size(faces.to(self.device, torch.float32))
        if self.kind.scale != (1.0, 1.0, 1.0) or self.kind.offset != (0.0, 0.0, 0.0):
            scale, offset = (torch.tensor(v, device=self.device).view(1, 3, 1, 1) for v in (self.kind.scale, self.kind.offset))
            faces = faces * scale + offset
        with torch.inference_mode():
            return self.network(faces.to(self.dtype))[0]

    def labels(self, faces: torch.Tensor) -> np.ndarray:
        """(N, 3, S, S) RGB in [-1, 1] (the model's output) to (N, 512, 512) class labels.

        The argmax reads the scores in the parser's dtype: widening bf16 to fp32 is exact, so it
        would pick the same labels after one more pass over them.
        """
        return self.logits(faces).argmax(dim=1).cpu().numpy()

    def masks(self, faces: torch.Tensor) -> list[np.ndarray]:
        """One GPEN parsing mask per face."""
        return [parsing_mask(labels, self.kind.keep) for labels in self.labels(faces)]


class FallbackNotice:
    """That ``auto`` fell back to the landmark mask in this process: logged once, and handed once to the WebUI.

    The WebUI calls ``take()`` after a restoration and shows the message (once per start) where
    the user looks; scripts see it in the log. A failed download is not retried until a restart,
    so an offline WebUI does not wait for the network on every image.
    """

    def __init__(self) -> None:
        self.message = ""
        self.taken = False
        self.download_failed = False

    def record(self, message: str) -> None:
        if not self.message:
            self.message = message
            logger.warning(message)

    def take(self) -> str:
        """The fallback's message the first time it is asked for after a fallback; '' otherwise."""
        if not self.message or self.taken:
            return ""
        self.taken = True
        return self.message


MASK_FALLBACK = FallbackNotice()


def get_parser(
    mask: str,
    weights_dir: str | os.PathLike | None,
    device: torch.device,
    allow_download: bool,
    dtype: torch.dtype = torch.float32,
) -> FaceParser | None:
    """The parser that ``mask`` asks for, or None for the landmark mask (``feather``, or ``auto`` without a parser).

    A parser's weights are found or fetched like the detector's (the same folder, downloaded once
    when allowed); ``parsing`` or ``parsing-bisenet`` without them is a DetectorError naming
    ``feather``. ``dtype`` is the precision the parser computes in (``pipeline.parser_dtype``).
    """
    if mask not in MASK_MODES:
        raise GPENError(f"unknown mask {mask!r}: choose one of {', '.join(MASK_MODES)}")
    if mask == "feather":
        return None
    kind = PARSERS.get(mask) or auto_parser(weights_dir)
    fetch = allow_download and not (mask == "auto" and MASK_FALLBACK.download_failed)
    try:
        path = facexlib_models.resolve_weights(kind.weights, weights_dir, fetch)
        return FaceParser(kind.load(path, device, dtype), kind)
    except DetectorError as error:
        if mask != "auto":
            raise
        MASK_FALLBACK.download_failed |= fetch
        MASK_FALLBACK.record(
            f"GPEN: face parsing unavailable ({error}); faces are blended with the landmark face region "
            "(mask 'feather'), which leaves hair, ears and the top of the forehead as they were"
        )
        return None


def auto_parser(weights_dir: str | os.PathLike | None) -> ParserKind:
    """``auto``'s parser: GPEN's own ParseNet, unless only BiSeNet's weights are on disk (then that, with no download)."""
    on_disk = [kind for kind in (PARSENET, BISENET) if facexlib_models.weights_path(kind.weights, weights_dir).is_file()]
    return on_disk[0] if on_disk else PARSENET


def face_masks(
    parser: FaceParser | None, restored: torch.Tensor, landmarks: list[np.ndarray], image_scales: list[float]
) -> list[np.ndarray]:
    """The blend mask of each restored face: parsed when a parser is given, else the landmark face region.

    ``landmarks``: each face's five points in the MASK_SIZE frame over its crop; ``image_scales``:
    image pixels per mask pixel for each face.
    """
    if parser is None:
        return [landmark_mask(points, MIN_FEATHER_PX / scale) for points, scale in zip(landmarks, image_scales)]
    return parser.masks(restored)
