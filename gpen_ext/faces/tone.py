"""The photo's tone, kept by its restored faces: a grey photo gets grey faces, a toned print its own toning.

GPEN-BFR learnt from colour faces, so it paints skin colour into any face it is given: pasted into a
black-and-white photo, that is a pink face on a grey print. The photo is classified once, from a
64-pixel thumbnail (cheap, and small enough that JPEG's chroma noise at edges averages out), and
each restored face is brought to that tone before it is pasted:

- ``grey``: the photo's chroma (CIELAB) is under ``GREY_CHROMA`` on 99 % of the thumbnail. The
  face becomes its own luminance in every channel, so the pasted face adds no channel spread.
- ``tinted``: a monochrome print with a hue (sepia, cyanotype, a scan's slight warm cast): the
  chroma is a function of lightness, within ``TINT_RESIDUAL`` of a per-lightness curve on 95 % of
  the thumbnail. The face keeps its restored lightness and takes the photo's chroma for it.
- ``colour``: everything else; the face is left as the model made it.

Thresholds, from the 64-pixel thumbnails (``python tests/measure_tone.py`` prints the table that
``docs/tone.md`` shows): grey photos and grey JPEGs measure 0.12-0.13 chroma and the black-and-white
scan of the test photos, with its slight warm cast, 3.4: ``GREY_CHROMA`` = 1 keeps that cast (the scan
is ``tinted``, residual 1.1). Toned prints leave residuals of 0.6-0.7, 2.8 as a JPEG at quality 60;
a colour photo at 10 % saturation already 4.1, real colour photos 16-44: ``TINT_RESIDUAL`` = 3.5.
"""
from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from .images import from_unit_float, to_unit_float

THUMBNAIL_SIDE = 64
GREY_CHROMA = 1.0
"""CIELAB chroma (of ~100 for pure colours) a grey photo stays under on 99 % of its thumbnail."""
TINT_RESIDUAL = 3.5
"""CIELAB distance from the lightness-to-chroma curve a toned print stays under on 95 % of its thumbnail."""
LIGHTNESS_BINS = 20
TONES = ("colour", "grey", "tinted")


@dataclass(frozen=True)
class PhotoTone:
    """What a photo's colour is: ``kind`` is one of ``TONES``; ``chroma`` the (a, b) per lightness bin when tinted."""

    kind: str
    chroma: np.ndarray | None = None

    def apply(self, face: np.ndarray) -> np.ndarray:
        """``face`` (S x S x C pixels of any supported type) in this tone; a colour photo's face is returned as it is."""
        if self.kind == "colour" or face.shape[2] == 1:
            return face
        if self.kind == "grey":
            return luminance_in_all_channels(face)
        if face.dtype == np.uint8:
            return self._tint_8bit(face)
        lab = cv2.cvtColor(to_unit_float(face), cv2.COLOR_RGB2LAB)
        lab[..., 1:] = chroma_at(self.chroma, lab[..., 0])
        return from_unit_float(cv2.cvtColor(lab, cv2.COLOR_LAB2RGB), face.dtype)

    def _tint_8bit(self, face: np.ndarray) -> np.ndarray:
        """The tinted face through OpenCV's 8-bit CIELAB (L as 0-255, a and b offset by 128), the chroma a
        256-entry table of L: 51 ms at 2048 against 381 ms in float (2 busy EPYC cores); a and b to the nearest
        unit, so within 3 levels of the float path (0.45 on average, tested)."""
        lab = cv2.cvtColor(face, cv2.COLOR_RGB2LAB)
        tables = np.clip(np.rint(chroma_at(self.chroma, np.arange(256) * (100.0 / 255)) + 128), 0, 255).astype(np.uint8)
        lightness = lab[..., 0]
        lab = cv2.merge([lightness, cv2.LUT(lightness, tables[:, 0]), cv2.LUT(lightness, tables[:, 1])])
        return cv2.cvtColor(lab, cv2.COLOR_LAB2RGB)


def luminance_in_all_channels(face: np.ndarray) -> np.ndarray:
    """The BT.601 luminance of an RGB face, in all three channels (rounded once, so the channels are equal)."""
    grey = cv2.cvtColor(face, cv2.COLOR_RGB2GRAY)
    return np.repeat(grey[:, :, np.newaxis], 3, axis=2)


def bin_centres() -> np.ndarray:
    return (np.arange(LIGHTNESS_BINS) + 0.5) * (100.0 / LIGHTNESS_BINS)


def chroma_at(curve: np.ndarray, lightness: np.ndarray) -> np.ndarray:
    """The (a, b) the lightness-to-chroma ``curve`` gives each ``lightness`` (shape + (2,)), interpolated between bins."""
    centres = bin_centres()
    return np.stack([np.interp(lightness, centres, curve[:, k]) for k in (0, 1)], axis=-1).astype(np.float32)


def thumbnail_lab(color: np.ndarray) -> np.ndarray:
    """(N, 3) CIELAB pixels (L in [0, 100]) of the image's colour channels shrunk to at most THUMBNAIL_SIDE px."""
    scale = THUMBNAIL_SIDE / max(color.shape[:2])
    if scale < 1:
        size = (max(1, round(color.shape[1] * scale)), max(1, round(color.shape[0] * scale)))
        color = cv2.resize(color, size, interpolation=cv2.INTER_AREA)
    return cv2.cvtColor(to_unit_float(color).reshape(-1, 1, 3), cv2.COLOR_RGB2LAB).reshape(-1, 3)


def chroma_curve(lab: np.ndarray) -> np.ndarray:
    """(LIGHTNESS_BINS, 2): the median (a, b) of each lightness bin; an empty bin takes its neighbours' by interpolation."""
    bins = np.minimum((lab[:, 0] * (LIGHTNESS_BINS / 100.0)).astype(int), LIGHTNESS_BINS - 1)
    filled = np.unique(bins)
    medians = np.array([np.median(lab[bins == index, 1:], axis=0) for index in filled])
    centres = bin_centres()
    return np.stack([np.interp(centres, centres[filled], medians[:, k]) for k in (0, 1)], axis=1).astype(np.float32)


def photo_tone(color: np.ndarray) -> PhotoTone:
    """The tone of an image's colour channels (H x W x 1 or 3, any supported type): see the module's rules."""
    if color.shape[2] == 1:
        return PhotoTone("grey")
    lab = thumbnail_lab(color)
    if np.percentile(np.hypot(lab[:, 1], lab[:, 2]), 99) <= GREY_CHROMA:
        return PhotoTone("grey")
    curve = chroma_curve(lab)
    residual = np.hypot(*(lab[:, 1:] - chroma_at(curve, lab[:, 0])).T)
    if np.percentile(residual, 95) <= TINT_RESIDUAL:
        return PhotoTone("tinted", curve)
    return PhotoTone("colour")
