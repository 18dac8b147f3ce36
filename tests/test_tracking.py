"""Temporal stability: faces followed over generated clips with the real (offline) detector.

The clips are real photos moved by a known sub-pixel motion with per-frame sensor noise
(``gpen_ext.bench.video_clip``), so the detector's landmarks wobble as on a real still shot and
the crops can be judged against the truth (``measure_temporal.py`` measures the same way).
"""
from __future__ import annotations

import cv2
import numpy as np
import pytest
from measure_temporal import (
    SETTLE,
    STILL,
    astronaut,
    clip_of,
    corner_tracks,
    detector,
    followed,
    measures,
    per_frame_detections,
    portrait,
    screened_faces,
    spread,
)
from pipeline_helpers import BrightenRestorer, box_slices

from gpen_ext.bench.video_clip import Clip, make_clip
from gpen_ext.cluster.replay import RecordingDetector
from gpen_ext.faces.alignment import FaceAlignment, face_template
from gpen_ext.faces.detection import COARSE_SIDE, Detection, FaceDetector
from gpen_ext.faces.pipeline import restore_faces, restore_frames
from gpen_ext.faces.tracking import BRIDGE_FRAMES, FaceTracks

OFFLINE = {"mask": "feather", "color_correction": "off"}


@pytest.fixture(scope="module")
def faces() -> FaceDetector:
    return detector()


@pytest.fixture(scope="module")
def clip() -> Clip:
    return clip_of(portrait())


@pytest.fixture(scope="module")
def detections(clip: Clip, faces: FaceDetector) -> list[list[Detection]]:
    return per_frame_detections(clip, faces)


def test_still_face_gets_still_crops(clip: Clip, detections: list[list[Detection]]) -> None:
    corners = corner_tracks(clip, list(followed(clip, detections)))
    raw = corner_tracks(clip, detections)
    assert spread(raw[SETTLE:STILL]) > 0.5  # the detector alone moves the crop
    assert spread(corners[SETTLE:STILL]) <= 0.1
    assert spread(corners[-(STILL - SETTLE) :]) <= 0.1


def test_tracking_lowers_jitter_3x_and_follows_the_pan_within_a_frame(clip: Clip, detections: list[list[Detection]]) -> None:
    off = measures(clip, detections, detections)
    on = measures(clip, list(followed(clip, detections)), detections)
    assert off.jitter_rms >= 3 * on.jitter_rms and off.pan_jitter_rms >= 3 * on.pan_jitter_rms
    # The detector's own landmarks trail the true motion (off.lag, ~0.8 frames): the filter may add little to it.
    assert on.filter_lag <= 1 and on.lag - off.lag <= 0.5


def test_one_track_through_still_pan_still(clip: Clip, detections: list[list[Detection]]) -> None:
    tracks = FaceTracks()
    ids = {face.track for frame, found in zip(clip.frames, detections) for face in tracks.follow(frame, found)}
    assert ids == {0}


def test_scene_cut_starts_new_tracks(faces: FaceDetector) -> None:
    photo = portrait()
    cut = make_clip(photo, still=3, pan=0, cut_to=astronaut(), cut_frames=3)
    tracks = FaceTracks()
    ids = [[face.track for face in tracks.follow(frame, screened_faces(frame, faces))] for frame in cut.frames]
    assert ids[:6] == [[0]] * 6 and ids[6:] == [[1]] * 3


def test_scene_cut_ends_a_track_even_where_the_face_stays_put(clip: Clip, detections: list[list[Detection]]) -> None:
    tracks = FaceTracks()
    tracks.follow(clip.frames[0], detections[0])
    (face,) = tracks.follow(255 - clip.frames[1], detections[1])
    assert face.track == 1 and not face.bridged


def test_new_face_gets_new_track_id(clip: Clip, detections: list[list[Detection]]) -> None:
    tracks = FaceTracks()
    for frame, found in zip(clip.frames[:3], detections[:3]):
        tracks.follow(frame, found)
    (face,) = detections[3]
    newcomer = Detection(tuple(v + (150 if i % 2 == 0 else 0) for i, v in enumerate(face.box)), face.score,  # type: ignore[arg-type]
                         face.landmarks + [150, 0])
    followed_faces = tracks.follow(clip.frames[3], [newcomer, face])
    assert [(f.source, f.track) for f in followed_faces] == [(0, 1), (1, 0)]


def test_gap_longer_than_the_bridge_ends_the_track(clip: Clip, detections: list[list[Detection]]) -> None:
    tracks = FaceTracks()
    for frame, found in zip(clip.frames[:5], detections[:5]):
        tracks.follow(frame, found)
    gap = [tracks.follow(frame, []) for frame in clip.frames[5 : 6 + BRIDGE_FRAMES]]
    assert [len(faces) for faces in gap] == [1] * BRIDGE_FRAMES + [0]
    assert all(faces[0].bridged and faces[0].track == 0 for faces in gap[:BRIDGE_FRAMES])
    (face,) = tracks.follow(clip.frames[6 + BRIDGE_FRAMES], detections[6 + BRIDGE_FRAMES])
    assert face.track == 1


def test_missed_face_is_bridged_and_restored(clip: Clip, faces: FaceDetector, detections: list[list[Detection]]) -> None:
    """The face blanked out of one frame is restored there anyway, where its track puts it."""
    tracks = FaceTracks()
    for frame in clip.frames[:4]:
        restore_faces(frame, BrightenRestorer(), detector=faces, tracks=tracks, **OFFLINE)
    blank = clip.frames[4].copy()
    face_box = box_slices(detections[4][0].box)
    blank[face_box] = 128
    assert screened_faces(blank, faces) == []
    output, (report,) = restore_faces(blank, BrightenRestorer(), detector=faces, tracks=tracks, **OFFLINE)
    assert report.bridged and report.restored and report.track == 0 and report.crop_matrix is not None
    assert output[face_box].mean() > blank[face_box].mean() + 10
    _, (after,) = restore_faces(clip.frames[5], BrightenRestorer(), detector=faces, tracks=tracks, **OFFLINE)
    assert after.track == 0 and not after.bridged


def test_restore_frames_tracks_a_sequence(clip: Clip, faces: FaceDetector) -> None:
    frames = clip.frames[STILL - 2 : STILL + 2]
    results = list(restore_frames(frames, BrightenRestorer(), detector=faces, **OFFLINE))
    assert [[(r.track, r.restored) for r in reports] for _, reports in results] == [[(0, True)]] * len(frames)
    assert all(output.shape == frame.shape and not np.array_equal(output, frame) for (output, _), frame in zip(results, frames))


def test_without_tracks_the_pipeline_is_unchanged(clip: Clip, faces: FaceDetector) -> None:
    """tracks=None is the single-image pipeline; a track's first frame is its detection as it is, so the same."""
    frame = clip.frames[0]
    plain, plain_reports = restore_faces(frame, BrightenRestorer(), detector=faces, **OFFLINE)
    tracked, tracked_reports = restore_faces(frame, BrightenRestorer(), detector=faces, tracks=FaceTracks(), **OFFLINE)
    assert np.array_equal(plain, tracked)
    assert [(r.track, r.bridged) for r in plain_reports] == [(None, False)]
    assert [(r.track, r.bridged) for r in tracked_reports] == [(0, False)]
    assert plain_reports[0].landmarks == tracked_reports[0].landmarks


@pytest.mark.parametrize("tracking", [False, True])
def test_report_crop_maps_the_landmarks_onto_the_template(clip: Clip, faces: FaceDetector, tracking: bool) -> None:
    tracks = FaceTracks() if tracking else None
    for frame in clip.frames[:3]:
        _, (report,) = restore_faces(frame, BrightenRestorer(), detector=faces, tracks=tracks, **OFFLINE)
    matrix = np.array(report.crop_matrix)
    mapped = np.array(report.landmarks) @ matrix[:, :2].T + matrix[:, 2]
    template = face_template(report.crop_size)
    assert report.crop_size == 512 and np.abs(mapped - template).max() < 0.03 * report.crop_size
    # the least-squares fit: its residual has no mean and no first moment left
    assert np.allclose((mapped - template).sum(axis=0), 0, atol=1e-6)
    rounded = FaceAlignment(np.array(report.to_dict()["crop_matrix"]), report.crop_size)
    exact = FaceAlignment(matrix, report.crop_size)
    corners = np.array([[0, 0, 1], [512, 0, 1], [0, 512, 1], [512, 512, 1]], np.float64)
    assert np.abs(corners @ rounded.inverse.T - corners @ exact.inverse.T).max() < 0.005


def test_a_sudden_move_is_taken_up_at_the_second_frame() -> None:
    """A face that jumps (or a detector that changes its mind) is not slid towards over tens of frames."""
    still = face_template(256) + [100.0, 80.0]  # eye distance ~64 px
    moved = still + [12.0, -5.0]  # ~0.2 eye distances
    tracks = FaceTracks()
    image = np.zeros((480, 480, 3), np.uint8)
    box = (60.0, 40.0, 260.0, 300.0)
    outputs = [tracks.follow(image, [Detection(box, 0.99, points)])[0] for points in [still] * 10 + [moved] * 5]
    assert np.array_equal(outputs[9].detection.landmarks, still)  # held
    assert np.allclose(outputs[11].detection.landmarks, moved) and {face.track for face in outputs} == {0}


@pytest.mark.parametrize("layout", ["uint8", "uint16", "float32", "grey"])
def test_scene_cuts_are_seen_in_any_image_layout(clip: Clip, layout: str) -> None:
    def as_layout(frame: np.ndarray) -> np.ndarray:
        if layout == "grey":
            return frame.mean(axis=2).astype(np.uint8)
        return {"uint8": frame, "uint16": frame.astype(np.uint16) * 257, "float32": frame.astype(np.float32) / 255}[layout]

    tracks = FaceTracks()
    cuts = [tracks.scene_cut(as_layout(frame)) for frame in (clip.frames[0], clip.frames[STILL + 10], 255 - clip.frames[0])]
    assert cuts == [False, False, True]


def test_a_face_found_too_far_from_its_track_is_not_also_bridged() -> None:
    """Beyond the match distance the face starts a new track; bridging the old one too would paste it twice."""
    start = face_template(256) + [100.0, 80.0]
    box = (60.0, 40.0, 260.0, 300.0)
    far = [50.0, 0.0]  # ~0.8 eye distances: no match, but the same face's box mostly
    tracks = FaceTracks()
    image = np.zeros((480, 480, 3), np.uint8)
    tracks.follow(image, [Detection(box, 0.99, start)])
    moved = Detection((box[0] + far[0], box[1], box[2] + far[0], box[3]), 0.99, start + far)
    assert [(face.track, face.bridged) for face in tracks.follow(image, [moved])] == [(1, False)]


def test_the_frames_of_a_sequence_are_detected_at_one_scale(faces: FaceDetector) -> None:
    """A single image may be taken from the detector's coarse look; a sequence's frames never are: a face near
    the coarse look's threshold would switch scales from frame to frame, and its crop would jump with them."""
    frame = cv2.resize(portrait(), None, fx=2, fy=2, interpolation=cv2.INTER_CUBIC)  # 836x1040
    single, sequence = RecordingDetector(faces), RecordingDetector(faces)
    restore_faces(frame, BrightenRestorer(), detector=single, **OFFLINE)
    restore_faces(frame, BrightenRestorer(), detector=sequence, tracks=FaceTracks(), **OFFLINE)
    assert [max(shape[:2]) for shape, _ in single.calls] == [COARSE_SIDE]
    assert [max(shape[:2]) for shape, _ in sequence.calls] == [max(frame.shape[:2])]
