"""Bit depth and channel handling: every supported image layout, seen as colour pixels plus untouched extras.

The pipeline never converts a whole image to float or to RGB: a huge 16-bit RGBA photo would cost
gigabytes. It works on *views* of the colour channels and converts only the small regions it
touches, so pixels outside the faces (and every alpha value) come back bit-identical.
"""
from __future__ import annotations

from collections.abc import Callable

import numpy as np
import torch

from ..errors import ImageError

SUPPORTED_DTYPES = (np.dtype(np.uint8), np.dtype(np.uint16), np.dtype(np.float32))
LUMA_WEIGHTS = np.array([0.299, 0.587, 0.114], dtype=np.float32)  # ITU-R BT.601, as OpenCV's RGB2GRAY


def validate_image(image: object) -> np.ndarray:
    """``image`` itself if the pipeline supports it, else an ImageError saying what is accepted."""
    if not isinstance(image, np.ndarray):
        raise ImageError(f"expected a numpy array, got {type(image).__name__}; convert it with numpy.asarray(image)")
    if image.dtype not in SUPPORTED_DTYPES:
        raise ImageError(
            f"unsupported pixel type {image.dtype}: use uint8, uint16 or float32 in [0, 1]"
        )
    channels_ok = image.ndim == 2 or (image.ndim == 3 and image.shape[2] in (1, 3, 4))
    if not channels_ok:
        raise ImageError(
            f"unsupported image shape {image.shape}: use HxW, HxWx1 (grey), HxWx3 (RGB) or HxWx4 (RGBA)"
        )
    if image.shape[0] == 0 or image.shape[1] == 0:
        raise ImageError(f"the image is empty (shape {image.shape}); nothing to restore")
    return image


def color_view(image: np.ndarray) -> np.ndarray:
    """An HxWxC view (C = 1 or 3) of the colour channels: writing to it writes the image, alpha excluded."""
    if image.ndim == 2:
        return image[:, :, np.newaxis]
    return image[:, :, :3] if image.shape[2] == 4 else image


def unit_scale(dtype: np.dtype) -> float:
    """The value that means "full intensity" for a pixel type (255, 65535 or 1.0)."""
    return float(np.iinfo(dtype).max) if np.issubdtype(dtype, np.integer) else 1.0


def to_unit_float(pixels: np.ndarray) -> np.ndarray:
    """Pixels of any supported type as float32 in [0, 1] (a copy)."""
    return pixels.astype(np.float32) * np.float32(1.0 / unit_scale(pixels.dtype))


def from_unit_float(values: np.ndarray, dtype: np.dtype) -> np.ndarray:
    """float32 in [0, 1] to ``dtype``, clipped (and rounded for integer types); ``values`` is overwritten."""
    scale = unit_scale(dtype)
    if scale != 1.0:
        values *= np.float32(scale)
        np.rint(values, out=values)
    np.clip(values, 0, scale, out=values)
    return values.astype(dtype, copy=False)


def as_rgb(pixels: np.ndarray) -> np.ndarray:
    """HxWx3 from HxWx1 (grey replicated: what a colour network expects) or HxWx3 (unchanged)."""
    return np.repeat(pixels, 3, axis=2) if pixels.shape[2] == 1 else pixels


def to_rgb8(pixels: np.ndarray) -> np.ndarray:
    """HxWx3 uint8 RGB of the colour pixels: what face detectors take."""
    rgb = as_rgb(pixels)
    if rgb.dtype == np.uint8:
        return np.ascontiguousarray(rgb)
    return from_unit_float(to_unit_float(rgb), np.dtype(np.uint8))


def map_images(
    faces: torch.Tensor, function: Callable[[np.ndarray, np.ndarray], object], size: int, dtype: type,
) -> np.ndarray:
    """``function(image, result)`` on each image of the CPU batch ``faces`` (N, C, S, S), as the memory holds it.

    NHWC memory (GPEN's output) gives whole S x S x C images, one call per face; other memory
    gives S x S planes, one call per plane: no layout copy of ``faces`` either way (for 3 channels
    one would cost more than the OpenCV pass). ``function`` writes its ``size`` x ``size`` result
    into ``result`` (OpenCV's ``dst``); the results come back as (N, size, size, C) pixels of ``dtype``.
    """
    nhwc = faces.is_contiguous(memory_format=torch.channels_last)
    images = faces.permute(0, 2, 3, 1).numpy() if nhwc else faces.contiguous().flatten(0, 1).numpy()
    results = np.empty((len(images), size, size, *images.shape[3:]), dtype)
    for image, result in zip(images, results):
        function(image, result)
    return results if nhwc else results.reshape(*faces.shape[:2], size, size).transpose(0, 2, 3, 1)
