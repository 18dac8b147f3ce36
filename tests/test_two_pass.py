"""The two-pass smoother (``face_plan.py``, ``landmark_smoothing.py``) on generated clips with the real detector.

As ``test_tracking.py``: real photos moved by a known sub-pixel motion with seeded sensor noise,
measured as ``measure_temporal.py`` measures them. The detector is wrapped to count its calls and
to give a frame it saw already its first answer (the untracked and the planned runs detect the
same frames: detected once, the test stays short).
"""
from __future__ import annotations

import numpy as np
import pytest
from measure_temporal import (
    STILL,
    RememberingDetector,
    astronaut,
    clip_of,
    detector,
    measures,
    per_frame_detections,
    portrait,
    smoothed,
    two_faces,
)
from pipeline_helpers import BrightenRestorer, box_slices

from gpen_ext.bench.video_clip import make_clip
from gpen_ext.errors import GPENError
from gpen_ext.faces.face_plan import plan_faces
from gpen_ext.faces.landmark_smoothing import smooth_segment
from gpen_ext.faces.pipeline import restore_frames

OFFLINE = {"mask": "feather", "color_correction": "off"}


@pytest.fixture(scope="module")
def faces() -> RememberingDetector:
    return RememberingDetector(detector())


@pytest.mark.parametrize("photo, face", [(portrait, 0), (astronaut, 0), (two_faces, 1)],
                         ids=["portrait", "astronaut, 34 px eye distance", "two faces, 44 px face"])
def test_two_passes_lower_jitter_3x_with_no_lag_and_hold_still_faces(faces: RememberingDetector, photo, face: int) -> None:
    clip = clip_of(photo())
    raw = per_frame_detections(clip, faces)
    off = measures(clip, raw, raw, face)
    on = measures(clip, smoothed(clip, faces), raw, face)
    assert off.jitter_rms >= 3 * on.jitter_rms and off.pan_jitter_rms >= 3 * on.pan_jitter_rms
    assert abs(on.filter_lag) <= 1 and abs(on.lag - off.lag) <= 0.5
    assert off.spreads[0] > 0.5 and max(on.spreads) <= 0.1


def test_a_missed_frame_is_interpolated_from_both_sides_and_restored(faces: RememberingDetector) -> None:
    clip = clip_of(portrait())
    frames = [frame.copy() for frame in clip.frames[STILL + 5 : STILL + 17]]  # panning
    (face,) = per_frame_detections(clip, faces)[STILL + 11]
    frames[6][box_slices(face.box)] = 128
    results = list(restore_frames(frames, BrightenRestorer(), detector=faces, **OFFLINE))
    assert [[(r.track, r.bridged, r.restored) for r in reports] for _, reports in results] == (
        [[(0, False, True)]] * 6 + [[(0, True, True)]] + [[(0, False, True)]] * 5)
    before, missed, after = (np.array(results[index][1][0].landmarks) for index in (5, 6, 7))
    assert np.abs(missed - (before + after) / 2).max() < 0.1  # on the line between its neighbours, not extrapolated
    assert results[6][0][box_slices(face.box)].mean() > frames[6][box_slices(face.box)].mean() + 10


def test_a_scene_cut_starts_a_new_track(faces: RememberingDetector) -> None:
    cut = make_clip(portrait(), still=3, pan=0, cut_to=astronaut(), cut_frames=3)
    plan = plan_faces(cut.frames, faces, 0.9).plan()
    assert [[report.track for report in reports] for reports in plan] == [[0]] * 6 + [[1]] * 3


def test_restore_frames_detects_each_frame_once_for_a_sequence_and_lazily_for_an_iterator(faces: RememberingDetector) -> None:
    frames = clip_of(portrait()).frames[STILL - 2 : STILL + 2]
    two_passes, causal = [4, 4, 4, 4], [1, 2, 3, 4]  # detector calls before each result: all first, or one by one
    for given, calls in ((frames, two_passes), (lambda: iter(frames), two_passes), (iter(frames), causal)):
        start = faces.calls
        seen = []
        for _, reports in restore_frames(given, BrightenRestorer(), detector=faces, **OFFLINE):
            assert [(r.track, r.restored) for r in reports] == [(0, True)]
            seen.append(faces.calls - start)
        assert seen == calls


def test_a_hold_stops_where_the_motion_starts_and_the_still_frames_are_one_crop() -> None:
    """Synthetic landmarks (eye distance 40 px, noise 0.3 px): 30 still frames, then a pan of 0.4 px a frame.

    The flat 17-frame windows reach into the pan; trimming gives those frames back to the motion.
    """
    template = np.array([[0, 0], [40, 0], [20, 20], [5, 40], [35, 40]], np.float64)
    motion = np.concatenate([np.zeros(30), 0.4 * np.arange(1, 31)])
    noise = np.random.default_rng(0).normal(0, 0.3, (60, 5, 2))
    measured = [template + [shift, 0] + jitter for shift, jitter in zip(motion, noise)]
    smoothed = smooth_segment(np.arange(60), measured)
    held = [index for index in range(1, 60) if np.array_equal(smoothed[index], smoothed[index - 1])]
    assert held == list(range(1, max(held) + 1)) and 28 <= max(held) <= 31  # held from the start to the pan's start
    moved = smoothed[:, :, 0].mean(axis=1) - template[:, 0].mean()
    assert np.abs(moved[36:] - motion[36:]).max() < 0.3  # followed, with no lag, once eased off the hold


def test_a_bad_option_fails_before_pass_1_looks_at_any_frame(faces: RememberingDetector) -> None:
    frames = clip_of(portrait()).frames[:3]
    start = faces.calls
    with pytest.raises(GPENError, match="confidence must be between 0.01 and 1, got 5"):
        next(restore_frames(frames, BrightenRestorer(), detector=faces, confidence=5, **OFFLINE))
    assert faces.calls == start
