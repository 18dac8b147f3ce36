"""Pass 1 of the two-pass smoother: every frame's faces found, followed and smoothed before any is restored.

Where the whole sequence can be read twice (a video file, ``--sequence`` frames, a ``Sequence`` given
to ``restore_frames``), pass 1 detects and screens each frame's faces and runs ``FaceTracks``'s
association over them (track ids, scene cuts, bridges, jump restarts), keeping only each face's
report and its measured landmarks, never the frames: memory grows by a few hundred bytes a face
and frame. Then every track's landmarks are smoothed offline (``landmark_smoothing.py``: zero lag,
still runs held to the bit, bridged frames interpolated), the track split where the causal filter
restarted on a jump. Pass 2 gives each frame its planned reports (``restore_faces(..., planned=)``),
which restores them without detecting again.
"""
from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

import numpy as np

from .detection import FaceDetector
from .images import color_view, validate_image
from .landmark_smoothing import smooth_segment
from .pipeline import FaceReport, found_faces, points, tracked_reports
from .tracking import JUMP_FRAMES, FaceTracks


@dataclass
class TrackRecord:
    """One track's faces in pass 1: its reports, each one's frame, measured landmarks (None: bridged), and jumps."""

    reports: list[FaceReport] = field(default_factory=list)
    frames: list[int] = field(default_factory=list)
    measured: list[np.ndarray | None] = field(default_factory=list)
    jumps: list[int] = field(default_factory=list)
    """Frames a new segment starts at: the first of the JUMP_FRAMES far-off measurements that restarted a filter."""

    def segments(self) -> list[slice]:
        """The jump-free stretches of the track, as slices of its lists."""
        starts = [0, *(self.frames.index(frame) for frame in self.jumps if frame in self.frames[1:]), len(self.frames)]
        return [slice(start, stop) for start, stop in zip(starts, starts[1:]) if stop > start]

    def smooth(self) -> None:
        """Give every report of the track its smoothed landmarks."""
        frames = np.array(self.frames)
        for segment in self.segments():
            for report, landmarks in zip(self.reports[segment], smooth_segment(frames[segment], self.measured[segment])):
                report.landmarks = points(landmarks)


class FacePlanner:
    """Pass 1 over one sequence: give it every frame in order (``add``), then take ``plan()``; one object per sequence."""

    def __init__(self, detector: FaceDetector, confidence: float) -> None:
        self.detector, self.confidence = detector, confidence
        self.tracks = FaceTracks()
        self.frames: list[list[FaceReport]] = []
        self.records: dict[int, TrackRecord] = {}
        self.restarts: dict[int, int] = {}

    def add(self, image: np.ndarray) -> None:
        """Find, screen and follow the faces of the next frame (``image``: as ``restore_faces`` takes it)."""
        image = color_view(validate_image(image))
        found, reports = found_faces(image, self.detector, self.confidence, coarse_first=False)
        measured = [np.array(report.landmarks) for report in reports]
        reports = tracked_reports(self.tracks, image, found, reports)
        frame = len(self.frames)
        for report in reports:
            if report.track is not None:
                record = self.records.setdefault(report.track, TrackRecord())
                record.reports.append(report)
                record.frames.append(frame)
                record.measured.append(None if report.bridged else measured[report.index])
        for track in self.tracks.tracks:
            if track.filter.restarts > self.restarts.get(track.id, 0):
                self.records[track.id].jumps.append(frame - (JUMP_FRAMES - 1))
            self.restarts[track.id] = track.filter.restarts
        self.frames.append(reports)

    @property
    def faceless(self) -> bool:
        """Whether no frame has a face to restore (every detection screened out): the sequence can be copied as it is."""
        return all(report.reason for reports in self.frames for report in reports)

    def plan(self) -> list[list[FaceReport]]:
        """Each frame's reports, the tracked faces' landmarks smoothed: what ``restore_faces(..., planned=)`` takes."""
        for record in self.records.values():
            record.smooth()
        self.records = {}
        return self.frames


def plan_faces(frames: Iterable[np.ndarray], detector: FaceDetector, confidence: float,
               progress: Callable[[int], None] | None = None) -> FacePlanner:
    """Pass 1 over ``frames`` (read once, one at a time), planned: ``progress`` gets the frames done after each.

    Returns the planner: ``faceless`` says whether pass 2 is needed, ``plan()`` gives its faces.
    """
    planner = FacePlanner(detector, confidence)
    for done, frame in enumerate(frames, 1):
        planner.add(frame)
        if progress is not None:
            progress(done)
    return planner
