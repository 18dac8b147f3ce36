"""The photos the tone rules were chosen on, and their measures: ``python tests/measure_tone.py`` prints the table.

Real photos of tests/data (two black-and-white scans, a colour selfie), scikit-image's astronaut,
and prints made from it: grey (also as a JPEG), toned (sepia, cyanotype), a slight scan cast,
desaturated colour. ``test_tone.py`` checks each one's tone.
"""
from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
from skimage.data import astronaut

from gpen_ext.faces.tone import chroma_at, chroma_curve, photo_tone, thumbnail_lab

IMAGES = Path(__file__).resolve().parent / "data" / "test-images"


def read(name: str) -> np.ndarray:
    return np.ascontiguousarray(cv2.imread(str(IMAGES / name), cv2.IMREAD_COLOR)[..., ::-1])


def jpeg(rgb: np.ndarray, quality: int) -> np.ndarray:
    encoded = cv2.imencode(".jpg", rgb[..., ::-1], [cv2.IMWRITE_JPEG_QUALITY, quality])[1]
    return np.ascontiguousarray(cv2.imdecode(encoded, cv2.IMREAD_COLOR)[..., ::-1])


def toned(grey: np.ndarray, gains: tuple[float, float, float], offsets: tuple[float, float, float] = (0, 0, 0)) -> np.ndarray:
    return np.clip(grey[..., None] * np.array(gains) + np.array(offsets), 0, 255).astype(np.uint8)


def desaturated(rgb: np.ndarray, saturation: float) -> np.ndarray:
    hsv = cv2.cvtColor(rgb, cv2.COLOR_RGB2HSV)
    hsv[..., 1] = (hsv[..., 1] * saturation).astype(np.uint8)
    return cv2.cvtColor(hsv, cv2.COLOR_HSV2RGB)


def cases() -> dict[str, tuple[np.ndarray, str]]:
    """Photo name -> (RGB uint8 pixels, the tone it must get)."""
    colour = astronaut()
    grey = cv2.cvtColor(colour, cv2.COLOR_RGB2GRAY)
    sepia = toned(grey, (1.07, 0.74, 0.43), (0, 10, 20))
    return {
        "solvay_conference_1927.png (black-and-white scan)": (read("solvay_conference_1927.png"), "grey"),
        "portrait_small.jpg (black-and-white scan, warm cast)": (read("portrait_small.jpg"), "tinted"),
        "selfie_two_faces.jpg": (read("selfie_two_faces.jpg"), "colour"),
        "astronaut": (colour, "colour"),
        "astronaut grey, JPEG quality 40": (jpeg(toned(grey, (1, 1, 1)), 40), "grey"),
        "astronaut grey + (3, 1, -3) cast": (toned(grey, (1, 1, 1), (3, 1, -3)), "tinted"),
        "astronaut sepia": (sepia, "tinted"),
        "astronaut sepia, JPEG quality 60": (jpeg(sepia, 60), "tinted"),
        "astronaut cyanotype": (toned(grey, (0.6, 0.85, 1.0)), "tinted"),
        "astronaut at 10 % saturation": (desaturated(colour, 0.10), "colour"),
        "astronaut at 30 % saturation": (desaturated(colour, 0.30), "colour"),
    }


def measures(rgb: np.ndarray) -> tuple[float, float]:
    """(99th percentile of the thumbnail's chroma, 95th percentile of its distance from the lightness-chroma curve)."""
    lab = thumbnail_lab(rgb)
    residual = np.hypot(*(lab[:, 1:] - chroma_at(chroma_curve(lab), lab[:, 0])).T)
    return float(np.percentile(np.hypot(lab[:, 1], lab[:, 2]), 99)), float(np.percentile(residual, 95))


if __name__ == "__main__":
    print("| photo | chroma p99 | residual p95 | tone |\n|---|---|---|---|")
    for name, (rgb, _) in cases().items():
        chroma, residual = measures(rgb)
        print(f"| {name} | {chroma:.2f} | {residual:.2f} | {photo_tone(rgb).kind} |")
