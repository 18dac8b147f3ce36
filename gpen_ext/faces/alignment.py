"""Face alignment with GPEN's own 5-point template, and warps that stay sharp and alias-free.

GPEN was trained on crops made by its ``align_faces.py``: five reference points for a 96x112
crop, made square, with an inner padding of 0.25, fitted to the detected landmarks by a
least-squares similarity transform. A different template (e.g. FFHQ's) shifts and scales the
face inside the crop and visibly degrades the result, so this module reproduces that template
exactly and scales it to the model's resolution: the crop is taken from the original image
straight at 2048x2048 for GPEN-BFR-2048, never upsampled from a smaller crop.
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import cv2
import numpy as np

# align_faces.py: eye centres, nose tip and mouth corners (image-left first) in a 96x112 crop.
REFERENCE_POINTS_96X112 = np.array(
    [
        [30.29459953, 51.69630051],
        [65.53179932, 51.50139999],
        [48.02519989, 71.73660278],
        [33.54930115, 92.3655014],
        [62.72990036, 92.20410156],
    ]
)
REFERENCE_CROP = np.array([96.0, 112.0])
INNER_PADDING = 0.25
# A warp that shrinks by more than this is first reduced by area averaging, down to this remaining
# shrink: detail is averaged instead of aliased, while the last 2x stays with the (sharp) cubic kernel.
MAX_DIRECT_SHRINK = 2.0


@lru_cache(maxsize=8)
def face_template(size: int) -> np.ndarray:
    """GPEN's five reference points for a ``size`` x ``size`` crop (read-only (5, 2) array)."""
    square = REFERENCE_CROP.max()
    points = REFERENCE_POINTS_96X112 + (square - REFERENCE_CROP) / 2  # centre in a 112x112 square
    padded = square * (1 + 2 * INNER_PADDING)
    points = (points + square * INNER_PADDING) * (size / padded)
    points.flags.writeable = False
    return points


def similarity_transform(source: np.ndarray, target: np.ndarray) -> np.ndarray:
    """The 2x3 rotation+scale+translation mapping ``source`` points onto ``target`` in least squares.

    Same optimum as the Umeyama estimate in GPEN's ``align_faces.py``, written as the linear
    least-squares problem it is in 2-D: x' = a*x - b*y + tx, y' = b*x + a*y + ty.
    """
    x, y = source[:, 0], source[:, 1]
    ones, zeros = np.ones_like(x), np.zeros_like(x)
    rows = np.concatenate([np.stack([x, -y, ones, zeros], 1), np.stack([y, x, zeros, ones], 1)])
    (a, b, tx, ty), *_ = np.linalg.lstsq(rows, np.concatenate([target[:, 0], target[:, 1]]), rcond=None)
    return np.array([[a, -b, tx], [b, a, ty]])


def compose(outer: np.ndarray, inner: np.ndarray) -> np.ndarray:
    """The 2x3 affine ``outer`` applied after ``inner``."""
    result = outer[:, :2] @ inner
    result[:, 2] += outer[:, 2]
    return result


def affine_scale(matrix: np.ndarray) -> float:
    """How much a 2x3 similarity magnifies lengths."""
    return float(np.sqrt(abs(np.linalg.det(matrix[:, :2]))))


@dataclass(frozen=True)
class Rect:
    """An integer pixel rectangle [x0, x1) x [y0, y1)."""

    x0: int
    y0: int
    x1: int
    y1: int

    @property
    def empty(self) -> bool:
        return self.x1 <= self.x0 or self.y1 <= self.y0

    @property
    def slices(self) -> tuple[slice, slice]:
        return slice(self.y0, self.y1), slice(self.x0, self.x1)

    def intersection(self, other: Rect) -> Rect:
        """The pixels in both rectangles (``empty`` when they do not meet)."""
        return Rect(max(self.x0, other.x0), max(self.y0, other.y0), min(self.x1, other.x1), min(self.y1, other.y1))


def bounding_rect(matrix: np.ndarray, width: float, height: float, bounds: tuple[int, int], margin: int = 2) -> Rect:
    """Pixels that the ``width`` x ``height`` rectangle covers once mapped by ``matrix``, within ``bounds`` (h, w)."""
    corners = np.array([[0, 0, 1], [width, 0, 1], [0, height, 1], [width, height, 1]], dtype=np.float64)
    mapped = corners @ matrix.T
    x0, y0 = np.floor(mapped.min(axis=0)).astype(int) - margin
    x1, y1 = np.ceil(mapped.max(axis=0)).astype(int) + margin
    return Rect(max(x0, 0), max(y0, 0), min(x1, bounds[1]), min(y1, bounds[0]))


def warp(source: np.ndarray, matrix: np.ndarray, out_size: tuple[int, int], interpolation: int) -> np.ndarray:
    """``cv2.warpAffine`` of ``source`` (HxWxC) into ``out_size`` (w, h), HxWxC out, shrinking without aliasing.

    Only the part of ``source`` that the output sees is read, so warping a face out of an 8K
    photo costs the face, not the photo; OpenCV reads it as a view (rows apart, as in the photo),
    without a copy. Where the warp shrinks strongly that part is first reduced with area
    averaging (cv2.warpAffine has no area mode).
    """
    inverse = cv2.invertAffineTransform(matrix)
    region = bounding_rect(inverse, out_size[0], out_size[1], source.shape[:2], margin=3)
    if region.empty:
        return np.zeros((out_size[1], out_size[0], source.shape[2]), source.dtype)
    patch = source[region.slices]
    matrix = compose(matrix, np.array([[1.0, 0, region.x0], [0, 1.0, region.y0]]))
    shrink = 1 / affine_scale(matrix)
    if shrink > MAX_DIRECT_SHRINK:
        reduce = shrink / MAX_DIRECT_SHRINK
        target = (max(1, round(patch.shape[1] / reduce)), max(1, round(patch.shape[0] / reduce)))
        factors = (patch.shape[1] / target[0], patch.shape[0] / target[1])
        patch = cv2.resize(patch, target, interpolation=cv2.INTER_AREA)
        # pixel centres: x_small = (x + 0.5) / f - 0.5
        to_small = np.array([[1 / factors[0], 0, 0.5 / factors[0] - 0.5], [0, 1 / factors[1], 0.5 / factors[1] - 0.5]])
        matrix = compose(matrix, cv2.invertAffineTransform(to_small))
    warped = cv2.warpAffine(patch, matrix, out_size, flags=interpolation, borderMode=cv2.BORDER_CONSTANT)
    return warped.reshape(out_size[1], out_size[0], source.shape[2])


@dataclass(frozen=True)
class FaceAlignment:
    """Where one face's model-size crop sits in the image: ``matrix`` maps image to crop pixels."""

    matrix: np.ndarray
    size: int

    @classmethod
    def from_landmarks(cls, landmarks: np.ndarray, size: int) -> FaceAlignment:
        """Fit GPEN's template at ``size`` to five (x, y) landmarks in image pixels."""
        return cls(similarity_transform(np.asarray(landmarks, np.float64), face_template(size)), size)

    def to_crop(self, points: np.ndarray) -> np.ndarray:
        """(N, 2) image points in crop pixels."""
        return points @ self.matrix[:, :2].T + self.matrix[:, 2]

    @property
    def inverse(self) -> np.ndarray:
        """Crop pixels to image pixels."""
        return cv2.invertAffineTransform(self.matrix)

    def footprint(self, image_shape: tuple[int, ...]) -> Rect:
        """The image pixels the crop covers (clipped to the image): the only ones a paste may change."""
        return bounding_rect(self.inverse, self.size, self.size, image_shape[:2])

    def crop(self, pixels: np.ndarray) -> np.ndarray:
        """The aligned size x size crop of ``pixels`` (HxWxC, any supported dtype), bilinear as GPEN.

        GPEN warps with ``flags=3``: INTER_AREA, which ``cv2.warpAffine`` runs as INTER_LINEAR
        (a test checks OpenCV still does); bilinear is also 2x faster than bicubic on a 2048 crop.
        """
        return warp(pixels, self.matrix, (self.size, self.size), cv2.INTER_LINEAR)
