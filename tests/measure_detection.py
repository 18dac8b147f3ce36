"""What the detector's input costs on a 12 MP photo: ``python tests/measure_detection.py`` prints the table.

The selfie scaled to 12 MP (4000x3000, an integer shrink to 1000 px) and to 11.3 MP (a non-integer
one): one INTER_AREA resize against ``detection.shrunk``, and ``detect_faces`` in all with the
offline detector; median of 7 after a warm-up.
"""
from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

import cv2

from gpen_ext.bench.pipeline import resized
from gpen_ext.faces import detection
from gpen_ext.faces.image_files import read_image

SELFIE = Path(__file__).resolve().parent / "data" / "test-images" / "selfie_two_faces.jpg"


def median_ms(call: Callable[[], object], runs: int = 7) -> float:
    call()
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        call()
        times.append(time.perf_counter() - start)
    return 1000 * sorted(times)[runs // 2]


def main() -> None:
    detector = detection.get_detector("tiny_retinaface")
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


if __name__ == "__main__":
    main()
