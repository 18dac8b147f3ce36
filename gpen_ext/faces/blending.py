"""Pasting a restored face back: only inside the face's footprint, blended in float there.

GPEN and facexlib warp every face and mask to the *whole* image and blend whole-image float
arrays, so time and memory grow with image area x faces (29 faces on an 8K scan would need
tens of GB). Here the restored crop and its mask are warped by a translated affine straight
into the small rectangle the crop covers; pixels outside it, and pixels where the mask is
zero, keep their exact values.
"""
from __future__ import annotations

import cv2
import numpy as np

from .alignment import FaceAlignment, compose, warp
from .images import unit_scale
from .masks import MASK_SIZE


def translation(dx: float, dy: float) -> np.ndarray:
    """The 2x3 affine that moves points by (dx, dy)."""
    return np.array([[1.0, 0.0, dx], [0.0, 1.0, dy]])


def pixel_scale(factor: float) -> np.ndarray:
    """The 2x3 affine from a grid to one ``factor`` times finer, pixel centres kept aligned."""
    offset = 0.5 * factor - 0.5
    return np.array([[factor, 0.0, offset], [0.0, factor, offset]])


def paste_face(
    color: np.ndarray, restored: np.ndarray, mask: np.ndarray, alignment: FaceAlignment, strength: float
) -> None:
    """Blend ``restored`` (SxSxC pixels of ``color``'s dtype) into ``color`` (HxWxC, written in place).

    The weight is ``strength`` x ``mask`` (MASK_SIZE square over the crop); the crop is warped
    bicubically (GPEN's flags=3), the smooth mask bilinearly.
    """
    rect = alignment.footprint(color.shape)
    if rect.empty:
        return
    size = (rect.x1 - rect.x0, rect.y1 - rect.y0)
    crop_to_rect = compose(translation(-rect.x0, -rect.y0), alignment.inverse)
    face = warp(restored, crop_to_rect, size, cv2.INTER_CUBIC)
    mask_to_rect = compose(crop_to_rect, pixel_scale(alignment.size / MASK_SIZE))
    weight = warp(mask[:, :, np.newaxis], mask_to_rect, size, cv2.INTER_LINEAR) * np.float32(strength)
    blend_into(color[rect.slices], face, weight)


def blend_into(region: np.ndarray, face: np.ndarray, weight: np.ndarray) -> None:
    """region += weight * (face - region), in float32, written back in place.

    ``face`` has the region's dtype and channels. It is clipped to the valid range first (a
    bicubic warp of float pixels can overshoot), so the result is a convex combination of two
    valid values: where ``weight`` is 0 it is exactly the original value, and nothing needs a
    (slow, 5x) boolean-masked write. Integer results are rounded.
    """
    blended = np.clip(face, 0, unit_scale(region.dtype), dtype=np.float32)
    base = region.astype(np.float32)
    blended -= base
    blended *= weight
    blended += base
    if np.issubdtype(region.dtype, np.integer):
        np.rint(blended, out=blended)
    region[...] = blended
