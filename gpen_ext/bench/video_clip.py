"""Synthetic frame sequences with a known motion, for measuring temporal stability (``faces/tracking.py``).

A real photo is shown through a moving window: a still stretch, a slow pan with sub-pixel steps,
a still stretch again, optionally a hard cut to another photo. Each frame is resampled from the
photo with a cubic kernel (a sub-pixel shift really moves the content between pixels, as a camera
does) and gets its own seeded Gaussian sensor noise, so the detector's landmarks move from frame
to frame exactly as they do on a real still shot, while the true motion is known to the pixel.
Frames stay in memory: encoding is ``gpen_ext.video``'s business.
"""
from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np


@dataclass(frozen=True)
class Clip:
    """Frames and what is known about them.

    ``offsets[t]``: where a point of the first frame of its scene lies in frame ``t``, relative to
    that first frame (px, x then y). ``scenes[t]``: which photo frame ``t`` shows (0, or 1 after a cut).
    ``moving[t]``: the content moved between frame ``t - 1`` and frame ``t``.
    """

    frames: list[np.ndarray]
    offsets: np.ndarray
    scenes: np.ndarray
    moving: np.ndarray


def still_pan_still(still: int, pan: int, step: tuple[float, float]) -> np.ndarray:
    """(N, 2) offsets: ``still`` frames at rest, ``pan`` frames moving ``step`` px per frame, ``still`` at rest."""
    steps = np.zeros((2 * still + pan, 2))
    steps[still : still + pan] = step
    return np.cumsum(steps, axis=0)


def render(photo: np.ndarray, offset: np.ndarray, size: tuple[int, int], noise: float, rng: np.random.Generator) -> np.ndarray:
    """The ``size`` (w, h) window at the centre of ``photo``, its content moved by ``offset``, plus sensor noise (uint8)."""
    origin = (np.array(size) - np.array(photo.shape[1::-1])) / 2 + offset
    matrix = np.array([[1.0, 0, origin[0]], [0, 1.0, origin[1]]])
    frame = cv2.warpAffine(photo, matrix, size, flags=cv2.INTER_CUBIC, borderMode=cv2.BORDER_REFLECT101)
    noisy = frame.astype(np.float32) + rng.normal(0.0, noise, frame.shape).astype(np.float32)
    return np.clip(np.rint(noisy), 0, 255).astype(np.uint8)


def make_clip(
    photo: np.ndarray,
    *,
    size: tuple[int, int] | None = None,
    still: int = 20,
    pan: int = 40,
    step: tuple[float, float] = (0.45, 0.2),
    noise: float = 2.5,
    seed: int = 0,
    cut_to: np.ndarray | None = None,
    cut_frames: int = 10,
) -> Clip:
    """A still / pan / still clip of ``photo`` (HxWx3 uint8), ``size`` (w, h) defaulting to the photo's own.

    The pan's ``step`` is deliberately sub-pixel: that is where a crop fitted per frame shimmers
    most against the true motion. With ``cut_to`` the clip ends with ``cut_frames`` still frames
    of that photo (a scene cut: the tracker must start new tracks there).
    """
    size = size or (photo.shape[1], photo.shape[0])
    rng = np.random.default_rng(seed)
    offsets = still_pan_still(still, pan, step)
    frames = [render(photo, offset, size, noise, rng) for offset in offsets]
    scenes = np.zeros(len(offsets), int)
    if cut_to is not None:
        frames += [render(cut_to, np.zeros(2), size, noise, rng) for _ in range(cut_frames)]
        offsets = np.concatenate([offsets, np.zeros((cut_frames, 2))])
        scenes = np.concatenate([scenes, np.ones(cut_frames, int)])
    moving = np.concatenate([[False], (np.diff(offsets, axis=0) != 0).any(axis=1) & (np.diff(scenes) == 0)])
    return Clip(frames, offsets, scenes, moving)


def shrunk_to_width(photo: np.ndarray, width: int) -> np.ndarray:
    """``photo`` area-averaged to ``width`` px wide (a large photo made a small, fast test frame)."""
    height = round(photo.shape[0] * width / photo.shape[1])
    return cv2.resize(photo, (width, height), interpolation=cv2.INTER_AREA)
