"""Pasting a restored face back: only where its mask can reach, blended in float there.

GPEN and facexlib warp every face and mask to the *whole* image and blend whole-image float
arrays, so time and memory grow with image area x faces (29 faces on an 8K scan would need
tens of GB). Here the restored crop and its mask are warped by a translated affine straight
into the small rectangle that the mask's non-zero part covers (within the crop's footprint);
pixels outside it, and pixels where the mask is zero, keep their exact values.

Where two faces' masks overlap, GPEN (``face_enhancement.py``) keeps, per pixel, the face with the
larger mask value and blends it with the *original* pixel; so does this module (``PastedWeights``),
without GPEN's whole-image arrays: each paste remembers only its own rectangle's weights.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import cv2
import numpy as np

from .alignment import FaceAlignment, Rect, bounding_rect, compose, warp
from .images import unit_scale
from .masks import MASK_SIZE

SMALL_FACE = 100
SMALL_FACE_TAP = 0.25
"""GPEN's small-face blur is the 3x3 kernel [0.25, 0.5, 0.25] x [0.25, 0.5, 0.25] (variance 0.5 px^2 per axis)."""


def translation(dx: float, dy: float) -> np.ndarray:
    """The 2x3 affine that moves points by (dx, dy)."""
    return np.array([[1.0, 0.0, dx], [0.0, 1.0, dy]])


def pixel_scale(factor: float) -> np.ndarray:
    """The 2x3 affine from a grid to one ``factor`` times finer, pixel centres kept aligned."""
    offset = 0.5 * factor - 0.5
    return np.array([[factor, 0.0, offset], [0.0, factor, offset]])


@dataclass
class PastedWeights:
    """The blend weights already pasted into one image, per face rectangle: where faces overlap, the larger wins."""

    pasted: list[tuple[Rect, np.ndarray]] = field(default_factory=list)

    def held(self, rect: Rect) -> np.ndarray | None:
        """The largest weight pasted so far on each pixel of ``rect`` (h x w x 1), or None where no face was pasted."""
        held = None
        for other, weight in self.pasted:
            both = rect.intersection(other)
            if both.empty:
                continue
            if held is None:
                held = np.zeros((rect.y1 - rect.y0, rect.x1 - rect.x0, 1), np.float32)
            mine = held[both.y0 - rect.y0 : both.y1 - rect.y0, both.x0 - rect.x0 : both.x1 - rect.x0]
            np.maximum(mine, weight[both.y0 - other.y0 : both.y1 - other.y0, both.x0 - other.x0 : both.x1 - other.x0], out=mine)
        return held


def support_rect(mask: np.ndarray, mask_to_image: np.ndarray, bounds: tuple[int, int]) -> Rect:
    """The image pixels (within ``bounds`` (h, w)) where ``mask`` warped bilinearly by ``mask_to_image`` can be non-zero.

    A bilinear sample is non-zero only within one mask pixel of a non-zero mask pixel, so a paste
    needs only this rectangle: every pixel outside it would get weight 0 and keep its value. A
    face mask covers a fraction of its crop's square (the feather mask of a frontal face about a
    quarter), and the paste's warps and blend cost that fraction of the whole footprint's.
    """
    rows, cols = np.flatnonzero(mask.any(axis=1)), np.flatnonzero(mask.any(axis=0))
    if rows.size == 0:
        return Rect(0, 0, 0, 0)
    around = compose(mask_to_image, translation(cols[0] - 1.0, rows[0] - 1.0))
    return bounding_rect(around, cols[-1] - cols[0] + 2.0, rows[-1] - rows[0] + 2.0, bounds)


def paste_face(
    color: np.ndarray,
    original: np.ndarray,
    restored: np.ndarray,
    mask: np.ndarray,
    alignment: FaceAlignment,
    strength: float,
    weights: PastedWeights,
) -> None:
    """Blend ``restored`` (SxSxC pixels of ``color``'s dtype) over ``original`` into ``color`` (HxWxC, written in place).

    The weight is ``strength`` x ``mask`` (MASK_SIZE square over the crop); crop and mask are warped
    bilinearly, as GPEN's ``flags=3`` does (INTER_AREA, which ``warpAffine`` runs as INTER_LINEAR).
    On pixels where an earlier face of ``weights`` has a larger weight, that face stays.
    """
    mask_to_crop = pixel_scale(alignment.size / MASK_SIZE)
    support = support_rect(mask, compose(alignment.inverse, mask_to_crop), color.shape[:2])
    rect = alignment.footprint(color.shape).intersection(support)
    if rect.empty:
        return
    size = (rect.x1 - rect.x0, rect.y1 - rect.y0)
    crop_to_rect = compose(translation(-rect.x0, -rect.y0), alignment.inverse)
    face = warp(restored, crop_to_rect, size, cv2.INTER_LINEAR)
    mask_to_rect = compose(crop_to_rect, mask_to_crop)
    weight = warp(mask[:, :, np.newaxis], mask_to_rect, size, cv2.INTER_LINEAR) * np.float32(strength)
    held = weights.held(rect)
    weights.pasted.append((rect, weight))
    if held is None:
        blend_into(color[rect.slices], face, weight)
        return
    wins = (weight > held)[:, :, 0]
    region = original[rect.slices].copy()
    blend_into(region, face, weight)
    color[rect.slices][wins] = region[wins]


def blend_into(region: np.ndarray, face: np.ndarray, weight: np.ndarray) -> None:
    """region += weight * (face - region), in float32, written back in place.

    ``face`` has the region's dtype and channels. It is clipped to the valid range first (a
    float model output can overshoot), so the result is a convex combination of two
    valid values: where ``weight`` is 0 it is exactly the original value, and nothing needs a
    (slow, 5x) boolean-masked write. Integer results are rounded.

    8-bit pixels (the usual case) go through OpenCV's vectorised ``blendLinear``, 3x faster than
    the numpy passes: it divides by ``weight + (1 - weight) + 1e-5``, which moves a value by at
    most 0.003 levels, so weight-0 and weight-1 pixels still come out exact and the others differ
    from the numpy formula only where it lands within that of a half level (1 level; on the
    selfie 0.07 % of the blended values at visibility 1, 2 % at 0.7, where 0.7 x 5 = 3.5).
    """
    if region.dtype == np.uint8:
        weight = weight.reshape(weight.shape[:2])
        region[...] = cv2.blendLinear(face, region, weight, 1 - weight).reshape(region.shape)
        return
    blended = np.clip(face, 0, unit_scale(region.dtype), dtype=np.float32)
    base = region.astype(np.float32)
    blended -= base
    blended *= weight
    blended += base
    if np.issubdtype(region.dtype, np.integer):
        np.rint(blended, out=blended)
    region[...] = blended


def soften_small_face(face: np.ndarray, box: tuple[float, float, float, float], reference_size: int = 0) -> np.ndarray:
    """The restored crop, blurred 3x3 when its face box is under SMALL_FACE px on a side (GPEN's ``face_enhancement.py``).

    GPEN does it to keep a crop shrunk several times on pasting from aliasing. Our warp already
    area-averages strong shrinks, and the blur still helps: on a fixed noise crop shrunk 2.5-5x
    the paste with it is 1.3-2.3x closer (RMS) to an exact area downscale than without it.

    GPEN blurs by 3x3 crop pixels whatever the model size, so the same face is blurred 8x more
    (in image pixels) by GPEN-256 than by GPEN-2048. With ``reference_size`` (the largest model a
    per-face choice had: ``model_choice.py``) a smaller crop gets the blur the reference's crop
    would have had, in image pixels: the kernel's variance scaled by (size / reference)^2. At the
    reference size, or without one, it is GPEN's kernel exactly.
    """
    x0, y0, x1, y1 = box
    if min(x1 - x0, y1 - y0) >= SMALL_FACE:
        return face
    tap = SMALL_FACE_TAP * min(1.0, face.shape[0] / reference_size) ** 2 if reference_size else SMALL_FACE_TAP
    line = np.array([tap, 1 - 2 * tap, tap], np.float32)
    return cv2.filter2D(face, -1, np.outer(line, line)).reshape(face.shape)  # cv2 drops a single channel
